"""Synthetic lessons with per-frame ground truth.

:func:`plan_lesson` decides, from a seed, everything that happens in a lesson: who sits where,
what each person feels when (emotion episodes with onset -> apex -> offset), who speaks when and
says what, blinks, head motion, brief occlusions, lighting drift, and one student who leaves and
comes back. :func:`generate_lesson` renders that plan into

``lesson.mp4``  H.264 video with the AAC audio track muxed in
``lesson.wav``  16 kHz mono audio
``lesson.srt``  timed transcript (``Name: text`` cues)
``truth.csv``   one row per frame and visible person:
                ``t, person, role, x, y, w, h, emotion, speaking, occluded, frame``
``lesson.json`` the configuration that made it

Frames are rendered and encoded one at a time (never held in memory together), and the lesson is
written into a temporary folder that is renamed into place only when complete. The same seed
gives the same plan and byte-identical ``truth.csv``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import EmolabError
from ..taxonomy import EMOTIONS
from .faces import Identity, Pose, au_vector, render_face
from .text import make_sentence
from .voice import SAMPLE_RATE, Voice, synthesize_utterance

TRUTH_COLUMNS = ("t", "person", "role", "x", "y", "w", "h", "emotion", "speaking", "occluded", "frame")
NON_NEUTRAL = tuple(e for e in EMOTIONS if e != "neutral")


@dataclass
class LessonConfig(Config):
    """Settings of a synthetic lesson (see :func:`generate_lesson`)."""

    n_students: int = 8
    seconds: float = 60.0
    seed: int = 0
    layout: str = "gallery"  # "gallery" (online class grid) or "classroom" (seated rows)
    width: int = 640
    height: int = 360
    fps: float = 15.0
    sample_rate: int = SAMPLE_RATE
    leave_and_return: bool = True
    occlusions: bool = True
    lighting_drift: float = 0.12  # amplitude of the slow brightness change
    emotion_intensity: float = 1.0  # scales the action units at an episode's apex

    def validate(self) -> "LessonConfig":
        """Raise EmolabError on impossible settings; return self."""
        if int(self.n_students) < 1:
            raise EmolabError(f"a lesson needs at least one student (got {self.n_students})")
        if not self.seconds > 0:
            raise EmolabError(f"a lesson needs a positive duration (got {self.seconds} s)")
        if self.layout not in ("gallery", "classroom"):
            raise EmolabError(f"layout must be 'gallery' or 'classroom' (got {self.layout!r})")
        if self.width < 160 or self.height < 120 or not self.fps > 0:
            raise EmolabError("frame size must be at least 160x120 and fps positive")
        if self.n_students > 48:
            raise EmolabError("at most 48 students fit in one synthetic lesson")
        return self


@dataclass
class Episode:
    emotion: str
    start: float
    onset: float
    apex: float
    offset: float

    @property
    def end(self) -> float:
        return self.start + self.onset + self.apex + self.offset

    def intensity(self, t: np.ndarray) -> np.ndarray:
        """Envelope 0..1 at times ``t`` (smooth onset, plateau, smooth offset)."""
        u = np.asarray(t, float) - self.start
        rise = np.clip(u / self.onset, 0, 1)
        fall = np.clip((self.end - np.asarray(t, float)) / self.offset, 0, 1)
        env = np.minimum(rise, fall)
        return 0.5 - 0.5 * np.cos(np.pi * env)


@dataclass
class Utterance:
    person: str
    start: float
    end: float
    emotion: str
    text: str


@dataclass
class Person:
    person: str
    role: str
    identity: Identity
    voice: Voice
    cx: float
    cy: float
    face_height: float
    episodes: list[Episode] = field(default_factory=list)
    absent: list[tuple[float, float]] = field(default_factory=list)
    occlusions: list[tuple[float, float, int]] = field(default_factory=list)  # start, end, kind
    blinks: np.ndarray = field(default_factory=lambda: np.zeros(0))
    motion: np.ndarray = field(default_factory=lambda: np.zeros((4, 3, 2)))  # (dx,dy,roll,yaw) x 3 sines x (freq, phase)


@dataclass
class LessonPlan:
    config: LessonConfig
    people: list[Person]
    utterances: list[Utterance]
    background: np.ndarray


@dataclass
class LessonResult:
    """Paths of a generated lesson."""

    folder: Path
    video: Path
    audio: Path
    transcript: Path
    truth: Path
    config: LessonConfig


# ----------------------------------------------------------------------------- planning
def _layout(cfg: LessonConfig, rng: np.random.Generator) -> tuple[list[tuple[float, float, float]], np.ndarray]:
    """Seats (cx, cy, face height) for teacher + students, and the static background image."""
    W, H = cfg.width, cfg.height
    n = cfg.n_students + 1
    bg = np.zeros((H, W, 3), np.uint8)
    seats = []
    if cfg.layout == "gallery":
        def face_size(c: int) -> tuple[float, int]:
            r = math.ceil(n / c)
            return min(H / r * 0.52, W / c * 0.62), -(c * r - n)

        cols = max(range(1, n + 1), key=face_size)
        rows = math.ceil(n / cols)
        bg[:] = (45, 45, 48)
        tw, th = W / cols, H / rows
        for i in range(n):
            r, c = divmod(i, cols)
            x0, y0 = int(c * tw), int(r * th)
            x1, y1 = int((c + 1) * tw), int((r + 1) * th)
            wall = rng.integers(120, 225, 3)
            bg[y0:y1, x0:x1] = wall
            # a shelf or a picture in the room behind
            if rng.random() < 0.6:
                px, py = x0 + int(rng.uniform(0.05, 0.2) * tw), y0 + int(0.08 * th)
                bg[py:py + int(0.18 * th), px:px + int(0.2 * tw)] = rng.integers(40, 200, 3)
            bg[y0:y1, x0:x0 + 1] = 30
            bg[y0:y0 + 1, x0:x1] = 30
            face_h = min(th * 0.52, tw * 0.62)
            seats.append((x0 + tw / 2, y0 + th * 0.45, face_h))
    else:
        # a classroom seen from the front: wall, board, floor; teacher in front, students in rows
        bg[:] = (180, 190, 200)
        bg[int(0.62 * H):] = (90, 110, 130)
        bg[int(0.06 * H):int(0.3 * H), int(0.25 * W):int(0.75 * W)] = (60, 80, 50)
        rows = max(1, math.ceil(cfg.n_students / 6))
        per_row = math.ceil(cfg.n_students / rows)
        seats.append((W * 0.12, H * 0.3, H * 0.2))  # teacher
        k = 0
        for r in range(rows):  # back row first (smaller, higher)
            depth = (r + 1) / (rows + 1)
            y = H * (0.42 + 0.38 * depth)
            fh = H * (0.08 + 0.07 * depth)
            count = min(per_row, cfg.n_students - k)
            for j in range(count):
                x = W * (0.25 + 0.7 * (j + 0.5) / count)
                seats.append((x, y, fh))
                k += 1
    return seats, bg


def _episodes(seconds: float, rng: np.random.Generator, busy: float) -> list[Episode]:
    eps, t = [], float(rng.uniform(0.5, 4.0))
    while t < seconds:
        emo = NON_NEUTRAL[rng.integers(len(NON_NEUTRAL))]
        onset, apex, offset = rng.uniform(0.4, 1.0), rng.uniform(3.0, 9.0) * busy, rng.uniform(0.5, 1.2)
        ep = Episode(emo, t, onset, apex, offset)
        eps.append(ep)
        t = ep.end + rng.uniform(2.0, 7.0) / busy
    return eps


def plan_lesson(config: LessonConfig) -> LessonPlan:
    """Decide everything that happens in the lesson, deterministically from ``config.seed``."""
    cfg = config.validate()
    rng = np.random.default_rng(cfg.seed)
    seats, bg = _layout(cfg, rng)
    people = []
    for i, (cx, cy, fh) in enumerate(seats):
        role = "teacher" if i == 0 else "student"
        pid = "T" if i == 0 else f"S{i:02d}"
        ident = Identity.random(pid, rng)
        voice = Voice.random(rng, "adult_female" if (role == "teacher" and rng.random() < 0.5) else ("adult_male" if role == "teacher" else "child"))
        p = Person(pid, role, ident, voice, cx, cy, fh)
        p.episodes = _episodes(cfg.seconds, rng, busy=1.0)
        p.blinks = np.sort(rng.uniform(0, cfg.seconds, max(1, int(cfg.seconds / rng.uniform(2.5, 5.0)))))
        p.motion = np.stack([np.stack([rng.uniform(0.05, 0.35, 3), rng.uniform(0, 2 * np.pi, 3)], -1) for _ in range(4)])
        people.append(p)
    students = people[1:]
    if cfg.leave_and_return and cfg.seconds >= 20 and students:
        who = students[int(rng.integers(len(students)))]
        a = cfg.seconds * rng.uniform(0.3, 0.45)
        who.absent.append((a, a + max(5.0, cfg.seconds * rng.uniform(0.12, 0.2))))
    if cfg.occlusions and cfg.seconds >= 10:
        for p in students:
            if rng.random() < 0.35:
                a = float(rng.uniform(0, cfg.seconds - 2))
                p.occlusions.append((a, a + float(rng.uniform(0.8, 1.8)), int(rng.integers(2))))
    utterances = _plan_speech(cfg, people, rng)
    return LessonPlan(cfg, people, utterances, bg)


def emotion_at(person: Person, t: float) -> tuple[str, float]:
    """The person's emotion label and its intensity at time ``t`` (label neutral below 0.5)."""
    for ep in person.episodes:
        if ep.start <= t < ep.end:
            v = float(ep.intensity(t))
            return (ep.emotion if v >= 0.5 else "neutral"), v
    return "neutral", 0.0


def _present(person: Person, t: float) -> bool:
    return not any(a <= t < b for a, b in person.absent)


def _plan_speech(cfg: LessonConfig, people: list[Person], rng: np.random.Generator) -> list[Utterance]:
    out: list[Utterance] = []
    t = float(rng.uniform(0.3, 1.0))
    teacher, students = people[0], people[1:]
    while t < cfg.seconds - 1.0:
        if rng.random() < 0.35 and students:
            speaker = students[int(rng.integers(len(students)))]
            dur = float(rng.uniform(1.2, 2.8))
        else:
            speaker, dur = teacher, float(rng.uniform(1.8, 4.0))
        dur = min(dur, cfg.seconds - t - 0.2)
        if dur < 0.6:
            break
        if _present(speaker, t) and _present(speaker, t + dur):
            emo, _ = emotion_at(speaker, t + dur / 2)
            out.append(Utterance(speaker.person, t, t + dur, emo, make_sentence(speaker.role, emo, rng)))
        t += dur + float(rng.uniform(0.4, 1.4))
    return out


# ----------------------------------------------------------------------------- rendering
def render_audio(plan: LessonPlan) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The lesson's waveform and, per speaker, a frame-rate speech envelope (mouth opening).

    Returns
    -------
    audio : np.ndarray [shape=(round(seconds * sr),), dtype=float32]
    envelopes : dict person -> np.ndarray [shape=(n_frames,)], 0..1
    """
    cfg = plan.config
    sr = cfg.sample_rate
    n = int(round(cfg.seconds * sr))
    audio = np.zeros(n, np.float32)
    rng = np.random.default_rng(cfg.seed + 7919)
    n_frames = int(math.floor(cfg.seconds * cfg.fps))
    hop = sr / cfg.fps
    env = {p.person: np.zeros(n_frames, np.float32) for p in plan.people}
    voices = {p.person: p.voice for p in plan.people}
    for u in plan.utterances:
        wave = synthesize_utterance(voices[u.person], u.emotion, u.end - u.start, rng, sr)
        a = int(round(u.start * sr))
        b = min(n, a + len(wave))
        audio[a:b] += wave[: b - a]
        # frame-rate amplitude envelope of this utterance drives the speaker's mouth
        f0, f1 = int(math.ceil(u.start * cfg.fps)), min(n_frames, int(math.floor(u.end * cfg.fps)))
        for f in range(f0, f1):
            s = int(f * hop) - a
            seg = wave[max(0, s): max(0, s) + int(hop)]
            if seg.size:
                env[u.person][f] = max(env[u.person][f], float(np.sqrt(np.mean(seg**2))))
    audio += np.random.default_rng(cfg.seed + 1).normal(0, 0.002, n).astype(np.float32)  # room noise
    for k in env:
        m = env[k].max()
        if m > 0:
            env[k] = np.clip(env[k] / (0.6 * m), 0, 1)
    return np.clip(audio, -1, 1), env


def iter_frames(plan: LessonPlan, envelopes: dict[str, np.ndarray]) -> Iterator[tuple[int, float, np.ndarray, list[tuple]]]:
    """Render the lesson frame by frame.

    Yields
    ------
    index : int
    t : float, seconds
    frame : np.ndarray [shape=(height, width, 3), dtype=uint8], BGR
    truth : list of tuples in :data:`TRUTH_COLUMNS` order (one per visible person)
    """
    cfg = plan.config
    n_frames = int(math.floor(cfg.seconds * cfg.fps))
    speaking_spans = {}
    for u in plan.utterances:
        speaking_spans.setdefault(u.person, []).append((u.start, u.end))
    drift_phase = np.random.default_rng(cfg.seed + 3).uniform(0, 2 * np.pi)
    for f in range(n_frames):
        t = f / cfg.fps
        frame = plan.background.copy()
        rows = []
        for p in plan.people:
            if not _present(p, t):
                continue
            emo, inten = emotion_at(p, t)
            aus = np.zeros(14, np.float32)
            for ep in p.episodes:
                if ep.start <= t < ep.end:
                    aus = au_vector(ep.emotion, float(ep.intensity(t)) * cfg.emotion_intensity)
            m = p.motion
            wob = [float(np.sum(np.sin(2 * np.pi * m[k, :, 0] * t + m[k, :, 1]))) / 3 for k in range(4)]
            blink = np.min(np.abs(p.blinks - t)) if p.blinks.size else 9.0
            eye_open = float(np.clip(blink / 0.08, 0, 1)) if blink < 0.08 else 1.0
            pose = Pose(dx=0.04 * wob[0], dy=0.03 * wob[1], roll=6.0 * wob[2], yaw=0.5 * wob[3], eye_open=eye_open,
                        mouth_open=float(envelopes[p.person][f]))
            x, y, w, h = render_face(frame, p.cx, p.cy, p.face_height, p.identity, aus, pose)
            occluded = 0
            for a, b, kind in p.occlusions:
                if a <= t < b:
                    occluded = 1
                    _draw_occluder(frame, x, y, w, h, kind, p.identity)
            speaking = int(any(a <= t < b for a, b in speaking_spans.get(p.person, ())))
            rows.append((round(t, 4), p.person, p.role, x, y, w, h, emo, speaking, occluded, f))
        if cfg.lighting_drift:
            gain = 1.0 + cfg.lighting_drift * math.sin(2 * math.pi * t / max(cfg.seconds, 20.0) + drift_phase)
            frame = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        yield f, t, frame, rows


def _draw_occluder(frame: np.ndarray, x: int, y: int, w: int, h: int, kind: int, ident: Identity) -> None:
    import cv2

    if kind == 0:  # a hand over the mouth and chin
        cv2.ellipse(frame, (x + w // 2, y + int(0.8 * h)), (int(0.4 * w), int(0.22 * h)), 0, 0, 360, ident.skin, -1, cv2.LINE_AA)
    else:  # a book held up over half the face
        cv2.rectangle(frame, (x + w // 2, y + int(0.2 * h)), (x + int(1.15 * w), y + int(1.2 * h)), (40, 60, 160), -1)


# ----------------------------------------------------------------------------- writing
def write_video(path: Path, frames: Iterator[np.ndarray], audio: Optional[np.ndarray], fps: float, sample_rate: int,
                width: int, height: int) -> None:
    """Encode BGR frames (H.264) and, optionally, mono float audio (AAC) into an mp4, streaming."""
    import av

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        vs = container.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"preset": "veryfast", "crf": "23"}
        astream = None
        if audio is not None:
            astream = container.add_stream("aac", rate=sample_rate, layout="mono")
        apos, chunk = 0, 1024
        for i, img in enumerate(frames):
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                container.mux(packet)
            if astream is not None:
                until = min(len(audio), int((i + 1) / fps * sample_rate))
                while apos + chunk <= until:
                    apos = _mux_audio(container, astream, audio, apos, chunk, sample_rate)
        for packet in vs.encode():
            container.mux(packet)
        if astream is not None:
            while apos < len(audio):
                apos = _mux_audio(container, astream, audio, apos, chunk, sample_rate)
            for packet in astream.encode():
                container.mux(packet)


def _mux_audio(container, stream, audio: np.ndarray, pos: int, chunk: int, sr: int) -> int:
    import av

    piece = audio[pos:pos + chunk]
    if len(piece) < chunk:
        piece = np.pad(piece, (0, chunk - len(piece)))
    frame = av.AudioFrame.from_ndarray(piece.astype(np.float32)[None, :], format="fltp", layout="mono")
    frame.sample_rate = sr
    frame.pts = pos
    for packet in stream.encode(frame):
        container.mux(packet)
    return pos + chunk


def generate_lesson(outdir: str | os.PathLike, config: LessonConfig | None = None, overwrite: bool = False,
                    progress: bool = True) -> LessonResult:
    """Render a synthetic lesson into ``outdir`` (see the module docstring for the files).

    Parameters
    ----------
    outdir : path
        Folder to create; must be absent or empty unless ``overwrite``.
    config : LessonConfig, optional
        Defaults: 8 students, 60 s, 640x360, 15 fps, seed 0.
    overwrite : bool
        Replace a previous lesson in ``outdir``.
    progress : bool
        Show a tqdm progress bar.

    Raises
    ------
    EmolabError
        On impossible settings; :class:`OutputError` if ``outdir`` is not empty or not writable.
    """
    import soundfile as sf
    from tqdm.auto import tqdm

    from ..atomic import write_text
    from ..data.transcripts import write_srt

    from ..atomic import atomic_folder

    cfg = (config or LessonConfig()).validate()
    out = Path(outdir)
    with atomic_folder(out, overwrite) as tmp:
        plan = plan_lesson(cfg)
        audio, envelopes = render_audio(plan)
        sf.write(tmp / "lesson.wav", audio, cfg.sample_rate, subtype="PCM_16")
        truth_rows: list[tuple] = []

        def frames() -> Iterator[np.ndarray]:
            it = iter_frames(plan, envelopes)
            total = int(math.floor(cfg.seconds * cfg.fps))
            for _, _, frame, rows in tqdm(it, total=total, desc="rendering lesson", unit="frame", disable=not progress, leave=False):
                truth_rows.extend(rows)
                yield frame

        write_video(tmp / "lesson.mp4", frames(), audio, cfg.fps, cfg.sample_rate, cfg.width, cfg.height)
        names = {p.person: p.person for p in plan.people}
        transcript = pd.DataFrame([(u.start, u.end, names[u.person], u.text) for u in plan.utterances],
                                  columns=["start", "end", "speaker", "text"])
        write_srt(tmp / "lesson.srt", transcript)
        truth = pd.DataFrame(truth_rows, columns=list(TRUTH_COLUMNS))
        truth.to_csv(tmp / "truth.csv", index=False, float_format="%.4f")
        write_text(tmp / "lesson.json", cfg.to_json() + "\n")
    return LessonResult(out, out / "lesson.mp4", out / "lesson.wav", out / "lesson.srt", out / "truth.csv", cfg)


def read_truth(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``truth.csv`` written by :func:`generate_lesson`."""
    return pd.read_csv(path)


__all__ = ["LessonConfig", "LessonPlan", "LessonResult", "TRUTH_COLUMNS", "Episode", "Utterance", "Person",
           "plan_lesson", "render_audio", "iter_frames", "generate_lesson", "write_video", "emotion_at", "read_truth"]

_ = dataclasses  # re-exported names stay stable
