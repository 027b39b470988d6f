"""A lesson recording in; per-student, per-second emotion timelines out.

:func:`analyze_lesson` streams the video once (frames sampled at ``sample_fps``): faces are
detected and tracked into pseudonymous identities, cropped, and cut into short clips whose
features the face branch computes on the fly (memory stays flat however long the lesson). The
audio is split into speaking turns (the transcript's cues, or energy-based speech activity),
each turn is attributed to the visible person whose mouth moves most during it, and the speech
branch reads windows of it. Transcript utterances go through the text branch and are attributed
to the turn's speaker. Finally, for every person and second, the features present (face seen?
speaking? an utterance?) are fused by the model — a missing modality simply does not contribute —
smoothed over time, and written as tidy tables.

The teacher is told apart as the person who speaks most (when one person clearly does).
"""

from __future__ import annotations

import os
import time
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..config import KEYFRAME_INTERVAL, Config
from ..errors import MediaError
from ..models import MODALITIES
from ..taxonomy import EMOTIONS, expected_valence
from .alerts import AlertConfig


@dataclass
class AnalysisConfig(Config):
    """Settings of :func:`analyze_lesson`."""

    model: str = "pretrained"  # "pretrained" (real models), "synthetic" (synthetic-domain fused), or a .safetensors path
    sample_fps: float = 5.0
    clip_stride: float = 1.0  # seconds between face clips of a person
    face_frame_step: int = 2  # per-frame face models classify every n-th frame of a clip (2: 3 of 5; 1: all)
    smoothing: str = "hmm"  # "none", "ema", "hmm"
    ema_alpha: float = 0.5
    hmm_stay: float = 0.9
    detector_tiles: str = "auto"
    keyframe_interval: float = KEYFRAME_INTERVAL  # seconds between full (tiled) face detections, template tracking between (0: every sampled frame)
    max_side: int = 1280  # frames larger than this are downscaled first (4K at HD cost)
    align_faces: bool = False  # rotate crops so the eyes are level (off: the bundled models were trained on unaligned crops)
    save_faces: bool = False  # write unblurred face crops (faces/<person>/<t>.png) to the output folder; off by default (privacy)
    use_transcript: bool = True
    teacher_share: float = 0.35  # a person with this share of all speech, and 1.5x the next, is the teacher
    weights: Optional[dict] = None  # late-fusion weights for the pretrained models
    device: str = "cpu"
    precision: str = "auto"  # model inference: "auto" (bf16 on CPUs with native bf16, fp16 on CUDA), "fp32", "bf16", "fp16"
    alerts: AlertConfig = field(default_factory=AlertConfig)


@dataclass
class LessonAnalysis:
    """All results of one lesson (tidy DataFrames; see ``docs/timelines.md`` for the columns)."""

    timeline: pd.DataFrame
    students: pd.DataFrame
    speech: pd.DataFrame
    utterances: pd.DataFrame
    alerts: pd.DataFrame
    faces: pd.DataFrame
    info: dict
    config: AnalysisConfig

    def write(self, out: str | os.PathLike, report: bool = True, thumbnails: Optional[dict] = None) -> Path:
        """Write the tables (and ``report.html``) to ``out``, each file atomically; returns ``out``."""
        from .io import write_analysis

        return write_analysis(self, out, report=report, thumbnails=thumbnails)


def mouth_openness(crops: np.ndarray) -> np.ndarray | float:
    """How open the mouth of grayscale face crops looks: minus the mean of the contrast-normalised
    mouth region (an open mouth shows a dark interior). Only changes over time matter, so it works
    for every skin tone once correlated with the audio (:func:`_attribute_turns`).

    Parameters
    ----------
    crops : np.ndarray [shape=(n, h, w) or (h, w), dtype=uint8]

    Returns
    -------
    np.ndarray [shape=(n,)], or a float for one crop
    """
    c = np.asarray(crops, np.float32)
    one = c.ndim == 2
    c = c[None] if one else c
    h, w = c.shape[1:3]
    mean = c.mean(axis=(1, 2))
    std = c.std(axis=(1, 2))
    region = c[:, int(0.54 * h):int(0.79 * h), int(0.33 * w):int(0.67 * w)]
    # mean of (c - mean) / std over the region == (region mean - mean) / std
    out = -(region.mean(axis=(1, 2)) - mean) / (std + 1e-6) if region[0].size else np.zeros(len(c), np.float32)
    return float(out[0]) if one else out.astype(np.float32)


def face_rms(t: np.ndarray, y: Optional[np.ndarray], sample_fps: float, sr: int = 16000) -> np.ndarray:
    """Audio energy (RMS) just after each sighting time ``t`` (s), over a third of a sampling step;
    NaN everywhere without audio. Correlated with mouth opening to find who speaks."""
    if y is None or not len(t):
        return np.full(len(t), np.nan)
    hop = max(1, int(sr / sample_fps / 3))
    times, where = np.unique(np.asarray(t, float), return_inverse=True)  # one value per sampled frame, not per face
    a = np.clip((times * sr).astype(int), 0, max(0, len(y) - 1))
    rms = np.array([np.sqrt(np.mean(np.square(y[i:i + hop], dtype=np.float64))) for i in a])
    return rms[where]


def _load_track(path: str | os.PathLike) -> tuple[Optional[np.ndarray], Optional[MediaError]]:
    """The 16 kHz audio track, or the :class:`MediaError` that says why there is none.

    Runs in a thread beside the video pass; it also makes librosa's first call (which imports
    scipy.signal and friends, ~2 s) there, so the speech features after the pass start warm."""
    from ..preprocessing.audio import load_audio, mfcc_features

    try:
        y = load_audio(path)
    except MediaError as exc:
        return None, exc
    mfcc_features(np.zeros(4000, np.float32))
    return y, None


def _speech_turns(transcript: Optional[pd.DataFrame], audio: Optional[np.ndarray], duration: float) -> pd.DataFrame:
    from ..preprocessing.audio import speech_activity

    if transcript is not None and len(transcript):
        t = transcript[transcript["start"] < duration + 1.0].copy()
        if len(t) < len(transcript):
            warnings.warn(f"{len(transcript) - len(t)} transcript cue(s) start after the recording ends and were ignored", stacklevel=3)
        t["end"] = t["end"].clip(upper=duration)
        return t.reset_index(drop=True)
    if audio is None:
        return pd.DataFrame(columns=["start", "end", "speaker", "text", "overlaps"])
    rows = [(a, b, "", "", False) for a, b in speech_activity(audio)]
    return pd.DataFrame(rows, columns=["start", "end", "speaker", "text", "overlaps"])


def analyze_lesson(video: str | os.PathLike, transcript: str | os.PathLike | None = None, audio: str | os.PathLike | None = None,
                   config: AnalysisConfig | None = None, out: str | os.PathLike | None = None, progress: bool = True,
                   models=None, callback=None, thumbnails: bool = True) -> LessonAnalysis:
    """Analyse one lesson recording.

    Parameters
    ----------
    video : path
        The recording (any container OpenCV reads), or a lesson folder.
    transcript : path, optional
        SRT/VTT/CSV transcript; by default one beside the video with the same name, if any.
    audio : path, optional
        Separate audio; by default the video's own track.
    config : AnalysisConfig
    out : path, optional
        Also write the results there (see :meth:`LessonAnalysis.write`).
    progress : bool
        tqdm progress bar.
    models : LessonModels, optional
        Already loaded models (else ``config.model`` is loaded).
    callback : callable, optional
        ``callback(stage, fraction)`` for progress widgets.

    Returns
    -------
    LessonAnalysis
    """
    from ..data.corpora.lesson import find_lesson_files
    from ..data.transcripts import read_transcript
    from ..preprocessing.crops import crop_face
    from ..preprocessing.detection import KeyframeDetector, keyframe_step
    from ..preprocessing.tracking import FaceTracker, iter_tracked
    from ..preprocessing.video import video_info
    import torch

    from .models import load_lesson_models

    cfg = config or AnalysisConfig()
    t_start = time.perf_counter()
    files = find_lesson_files(video)
    video_path = files.video
    if transcript is None and cfg.use_transcript:
        transcript = files.transcript
    if audio is None:
        audio = files.audio if Path(video).is_dir() else None
    info = video_info(video_path)
    tr_table = read_transcript(transcript) if transcript else None  # a bad transcript fails now, not after the video pass
    # the audio track loads in a thread beside the video pass (decoding and resampling release the GIL)
    audio_pool = ThreadPoolExecutor(1, thread_name_prefix="emolab-audio")
    audio_job = audio_pool.submit(_load_track, audio or video_path)
    models = models or load_lesson_models(cfg.model, cfg.device, cfg.weights, cfg.precision, cfg.face_frame_step)
    report = (lambda stage, frac: callback(stage, frac)) if callback else (lambda stage, frac: None)

    # ---------------------------------------------------------------- video pass (streamed)
    T = models.clip_frames
    stride = cfg.clip_stride
    tracker = FaceTracker()
    buffers: dict[int, deque] = {}
    last_clip: dict[int, float] = {}
    pending: list[tuple[int, float, np.ndarray]] = []
    clip_rows: list[tuple[int, float]] = []
    clip_feats: list[np.ndarray] = []
    sightings: list[tuple] = []
    thumbs: dict[int, tuple[float, np.ndarray]] = {}
    saved_crops: list[tuple[int, float, np.ndarray]] = []

    # the face model reads batches of clips in its own thread, beside the video pass (torch releases the GIL);
    # at most 3 batches wait, so memory stays flat when it falls behind
    face_pool = ThreadPoolExecutor(1, thread_name_prefix="emolab-face")
    face_jobs: deque = deque()

    def flush(final: bool = False):
        if pending and "face" in models.available:
            face_jobs.append(([(tid, tc) for tid, tc, _ in pending], face_pool.submit(models.face, np.stack([c for _, _, c in pending]))))
        pending.clear()
        while face_jobs and (final or len(face_jobs) > 3 or face_jobs[0][1].done()):
            rows, job = face_jobs.popleft()
            clip_feats.append(job.result())
            clip_rows.extend(rows)

    total = max(1, int(info.duration * cfg.sample_fps))
    detector = KeyframeDetector(every=keyframe_step(cfg.sample_fps, cfg.keyframe_interval),
                                tiles=cfg.detector_tiles if cfg.detector_tiles == "auto" else int(cfg.detector_tiles))
    n_frames = 0
    # one torch thread on CPU during the pass: decoding, detection and tracking keep the cores busy in their own
    # threads, and more torch threads would only compete with them (and spin); set back afterwards
    threads = torch.get_num_threads()
    if cfg.device == "cpu":
        torch.set_num_threads(1)
    try:
        for index, t, frame, scale, tracked in iter_tracked(video_path, detector, tracker, cfg.sample_fps, cfg.max_side, progress, "faces"):
            n_frames += 1
            crops = [crop_face(frame, d.box, size=models.face_size, eyes=d.eyes if cfg.align_faces else None) for _, d in tracked]
            mouths = mouth_openness(np.stack(crops)) if crops else []
            for (tid, d), crop, mouth in zip(tracked, crops, mouths):
                sightings.append((index, t, tid, d.x * scale, d.y * scale, d.w * scale, d.h * scale, d.score, float(mouth)))
                if thumbnails and d.score > thumbs.get(tid, (0.0,))[0]:
                    thumbs[tid] = (d.score, crop_face(frame, d.box, size=96, margin=0.3, gray=False))
                if cfg.save_faces:
                    saved_crops.append((tid, t, crop_face(frame, d.box, size=96, margin=0.3, gray=False)))
                buf = buffers.setdefault(tid, deque(maxlen=T))
                if buf and t - buf[-1][0] > 2.5 / cfg.sample_fps:
                    buf.clear()  # a gap: do not join crops across it
                buf.append((t, crop))
                if len(buf) == T and t - last_clip.get(tid, -1e9) >= stride - 1e-6:
                    pending.append((tid, float(np.mean([b[0] for b in buf])), np.stack([b[1] for b in buf])))
                    last_clip[tid] = t
            if len(pending) >= 64:
                flush()
            if n_frames % 25 == 0:
                report("faces", min(1.0, n_frames / total))
        flush(final=True)
    finally:
        detector.close()
        face_pool.shutdown(wait=True, cancel_futures=True)
        audio_pool.shutdown(wait=False, cancel_futures=True)
        torch.set_num_threads(threads)
    names = tracker.finish()
    faces = pd.DataFrame(sightings, columns=["frame", "t", "track", "x", "y", "w", "h", "score", "mouth"])
    faces["person"] = faces["track"].map(names)
    faces = faces.dropna(subset=["person"]).reset_index(drop=True)
    report("faces", 1.0)

    # ---------------------------------------------------------------- audio and transcript
    y, audio_error = audio_job.result()
    if audio_error is not None:
        warnings.warn(f"no usable audio ({audio_error}); the analysis uses faces{' and the transcript' if transcript else ''} only", stacklevel=2)
    if tr_table is not None:
        if len(tr_table) and tr_table["end"].max() > info.duration + 5:
            warnings.warn(f"the transcript runs to {tr_table['end'].max():.0f} s but the video lasts {info.duration:.0f} s; "
                          "later cues are ignored", stacklevel=2)
    turns = _speech_turns(tr_table, y, info.duration)
    faces["rms"] = face_rms(faces["t"].to_numpy(), y, cfg.sample_fps)
    turns = _attribute_turns(turns, faces)
    report("speech", 0.5)

    # speech windows around every second of every attributed turn
    sr = 16000
    speech_rows, starts = [], []
    if y is not None and "speech" in models.available:
        for i, r in turns.iterrows():
            if not r["person"]:
                continue
            centers = np.arange(np.floor(r["start"]) + 0.5, r["end"], 1.0)
            centers = centers[(centers >= r["start"]) | (len(centers) == 1)]
            if not len(centers):
                centers = np.array([(r["start"] + r["end"]) / 2])
            for c in centers:
                starts.append(int(max(0, (c - models.speech_seconds / 2) * sr)))
                speech_rows.append((r["person"], float(c), i))
    # in chunks: memory stays flat however long the lesson; overlapping windows share their feature work
    speech_chunks = [models.speech_at(y, np.array(starts[a:a + 256])) for a in range(0, len(starts), 256)]
    speech_feats = np.concatenate(speech_chunks) if speech_chunks else None

    text_feats, text_rows = None, []
    if tr_table is not None and len(turns) and "text" in models.available and turns["text"].astype(bool).any():
        has_text = turns[turns["text"].astype(bool)]
        text_feats = models.text(has_text["text"].astype(str).tolist())
        text_rows = list(has_text.index)
    report("speech", 1.0)

    # ---------------------------------------------------------------- per person and second
    timeline, per_modality = _fuse_seconds(models, faces, clip_rows, clip_feats, names, speech_rows, speech_feats, text_rows, text_feats, turns)
    timeline = _smooth(timeline, cfg)
    roles = _roles(faces, turns, cfg)
    rename = {p: ("T" if roles.get(p) == "teacher" else p) for p in faces["person"].unique()}
    for df in (timeline, faces):
        df["person"] = df["person"].map(rename)
    turns["person"] = turns["person"].map(lambda p: rename.get(p, p))
    roles = {rename[p]: r for p, r in roles.items()}

    from .alerts import find_alerts
    from .summary import student_table

    students = student_table(timeline, faces, turns, roles)
    speech_table, utter_table = _speech_tables(turns, speech_rows, speech_feats, text_rows, text_feats, models, rename)
    alerts = find_alerts(timeline, students, cfg.alerts, duration=info.duration)
    meta = {"video": str(video_path), "transcript": str(transcript) if transcript else "", "duration": info.duration,
            "fps": info.fps, "width": info.width, "height": info.height, "frames_analysed": n_frames, "model": models.name,
            "modalities_available": list(models.available), "seconds": time.perf_counter() - t_start,
            "detector_grid": detector.grid_, "n_people": int(faces["person"].nunique())}
    result = LessonAnalysis(timeline, students, speech_table, utter_table, alerts, faces.drop(columns=["track"]), meta, cfg)
    result._thumbnails = {rename.get(names.get(tid), None): img for tid, (_, img) in thumbs.items() if names.get(tid)}
    result._per_modality = per_modality
    if out is not None:
        result.write(out, thumbnails=result._thumbnails)
        if cfg.save_faces:  # only when asked: these are identifiable images of people
            _save_faces(Path(out), [(rename.get(names.get(tid)), t, img) for tid, t, img in saved_crops if names.get(tid)])
    report("done", 1.0)
    return result


def _save_faces(out: Path, crops: list) -> None:
    import cv2

    from ..atomic import write_bytes

    for person, t, img in crops:
        ok, buf = cv2.imencode(".png", img)
        if ok:
            write_bytes(out / "faces" / person / f"{t:09.3f}.png", buf.tobytes())


def _attribute_turns(turns: pd.DataFrame, faces: pd.DataFrame, min_corr: float = 0.2) -> pd.DataFrame:
    """Who speaks in each turn: the visible person whose mouth opening follows the audio envelope
    best (Pearson correlation over the turn's sampled frames, at least ``min_corr``)."""
    turns = turns.copy()
    turns["person"] = ""
    turns["attribution"] = 0.0
    if faces.empty or turns.empty or faces["rms"].isna().all():
        return turns
    t = faces["t"].to_numpy()
    for i, r in turns.iterrows():
        seg = faces[(t >= r["start"] - 0.2) & (t <= r["end"] + 0.2)]
        scores = {}
        for p, g in seg.groupby("person"):
            if len(g) >= 4 and g["mouth"].std() > 0 and g["rms"].std() > 0:
                scores[p] = float(np.corrcoef(g["mouth"], g["rms"])[0, 1])
        if not scores:
            continue
        best = max(scores, key=scores.get)
        if scores[best] >= min_corr:
            turns.at[i, "person"] = best
            turns.at[i, "attribution"] = scores[best]
    return turns


def _fuse_seconds(models, faces, clip_rows, clip_feats, names, speech_rows, speech_feats, text_rows, text_feats, turns):
    cols = list(EMOTIONS)
    if faces.empty and not speech_rows:
        empty = pd.DataFrame(columns=["person", "t", *cols, "emotion", "confidence", "valence", "modalities", "visible", "speaking"])
        return empty, {}
    clips = pd.DataFrame(clip_rows, columns=["track", "tc"])
    clips["person"] = clips["track"].map(names)
    feats_face = np.concatenate(clip_feats) if clip_feats else np.zeros((0, 1), np.float32)
    keys = set()
    visible = set(zip(faces["person"], np.floor(faces["t"]).astype(int)))
    keys |= visible
    face_at: dict[tuple, int] = {}
    for j, (p, tc) in enumerate(zip(clips["person"], clips["tc"])):
        if isinstance(p, str):
            k = (p, int(np.floor(tc)))
            face_at.setdefault(k, j)
            keys.add(k)
    speech_at: dict[tuple, int] = {}
    for j, (p, c, _) in enumerate(speech_rows):
        k = (p, int(np.floor(c)))
        speech_at.setdefault(k, j)
        keys.add(k)
    text_at: dict[tuple, int] = {}
    speaking = set()
    for j, i in enumerate(text_rows):
        r = turns.loc[i]
        if r["person"]:
            for s in range(int(np.floor(r["start"])), int(np.ceil(r["end"]))):
                text_at.setdefault((r["person"], s), j)
                keys.add((r["person"], s))
    for r in turns.itertuples():
        if r.person:
            for s in range(int(np.floor(r.start)), int(np.ceil(r.end))):
                speaking.add((r.person, s))
    keys = sorted(keys)
    n = len(keys)
    mask = np.zeros((n, 3), bool)
    feats = {}
    for m, table, at in (("face", feats_face, face_at), ("speech", speech_feats, speech_at), ("text", text_feats, text_at)):
        if table is None or not len(table):
            continue
        idx = np.array([at.get(k, -1) for k in keys])
        mask[:, MODALITIES.index(m)] = idx >= 0
        f = np.zeros((n, table.shape[1]), np.float32)
        f[idx >= 0] = table[idx[idx >= 0]]
        feats[m] = f
    keep = mask.any(1)
    keys = [k for k, ok in zip(keys, keep) if ok]
    mask = mask[keep]
    feats = {m: f[keep] for m, f in feats.items()}
    proba = models.fuse(feats, mask) if len(keys) else np.zeros((0, 7))
    per_modality = {}
    for i, m in enumerate(MODALITIES):
        if m in feats:
            only = np.zeros_like(mask)
            only[:, i] = mask[:, i]
            pm = models.fuse(feats, only)
            pm[~mask[:, i]] = np.nan
            per_modality[m] = pm
    tl = pd.DataFrame(proba, columns=cols)
    tl.insert(0, "person", [k[0] for k in keys])
    tl.insert(1, "t", [float(k[1]) for k in keys])
    tl["modalities"] = ["+".join(m for m, on in zip(MODALITIES, row) if on) for row in mask]
    tl["visible"] = [k in visible for k in keys]
    tl["speaking"] = [k in speaking for k in keys]
    return tl, per_modality


def _smooth(tl: pd.DataFrame, cfg: AnalysisConfig) -> pd.DataFrame:
    from .smoothing import smooth

    cols = list(EMOTIONS)
    if tl.empty:
        return tl
    tl = tl.sort_values(["person", "t"]).reset_index(drop=True)
    out = tl[cols].to_numpy(float).copy()
    for _, idx in tl.groupby("person").indices.items():
        ts = tl["t"].to_numpy()[idx]
        runs = np.split(idx, np.flatnonzero(np.diff(ts) > 1.5) + 1)  # gaps break the sequence
        for run in runs:
            out[run] = smooth(out[run], cfg.smoothing, cfg.ema_alpha, cfg.hmm_stay)
    tl[cols] = out
    tl["emotion"] = np.asarray(EMOTIONS)[out.argmax(1)]
    tl["confidence"] = out.max(1)
    tl["valence"] = expected_valence(out)
    order = ["person", "t", *cols, "emotion", "confidence", "valence", "modalities", "visible", "speaking"]
    return tl[order]


def _roles(faces: pd.DataFrame, turns: pd.DataFrame, cfg: AnalysisConfig) -> dict[str, str]:
    people = sorted(faces["person"].unique())
    roles = {p: "student" for p in people}
    if turns.empty or not turns["person"].astype(bool).any():
        return roles
    dur = (turns["end"] - turns["start"]).groupby(turns["person"]).sum()
    dur = dur[dur.index != ""].sort_values(ascending=False)
    if len(dur) and dur.iloc[0] >= cfg.teacher_share * dur.sum() and (len(dur) == 1 or dur.iloc[0] >= 1.5 * dur.iloc[1]):
        roles[dur.index[0]] = "teacher"
    return roles


def _speech_tables(turns, speech_rows, speech_feats, text_rows, text_feats, models, rename):
    cols = list(EMOTIONS)
    sp = turns[["start", "end", "person", "attribution"]].copy()
    sp["speaker_label"] = turns.get("speaker", "")
    sp["emotion"] = ""
    sp["confidence"] = np.nan
    if speech_feats is not None and len(speech_rows):
        mask = np.zeros((len(speech_rows), 3), bool)
        mask[:, MODALITIES.index("speech")] = True
        proba = models.fuse({"speech": speech_feats}, mask)
        by_turn = pd.DataFrame(proba, columns=cols)
        by_turn["turn"] = [r[2] for r in speech_rows]
        mean = by_turn.groupby("turn")[cols].mean()
        for i, row in mean.iterrows():
            sp.at[i, "emotion"] = cols[int(np.argmax(row.to_numpy()))]
            sp.at[i, "confidence"] = float(row.max())
    ut = pd.DataFrame(columns=["start", "end", "person", "speaker_label", "text", "emotion", "confidence", "valence"])
    if text_feats is not None and len(text_rows):
        mask = np.zeros((len(text_rows), 3), bool)
        mask[:, MODALITIES.index("text")] = True
        proba = models.fuse({"text": text_feats}, mask)
        sub = turns.loc[text_rows]
        ut = pd.DataFrame({"start": sub["start"].to_numpy(), "end": sub["end"].to_numpy(), "person": sub["person"].to_numpy(),
                           "speaker_label": sub.get("speaker", pd.Series([""] * len(sub))).to_numpy(), "text": sub["text"].to_numpy(),
                           "emotion": np.asarray(cols)[proba.argmax(1)], "confidence": proba.max(1), "valence": expected_valence(proba)})
    return sp.reset_index(drop=True), ut.reset_index(drop=True)

