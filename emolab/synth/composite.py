"""Real-face composites: real face images pasted into a drawn classroom, with known identity, size and label.

Synthetic lessons (:mod:`emolab.synth.lesson`) draw their faces; the face model of a real analysis was trained on
photographs and does not read drawn faces. A composite keeps the one thing a drawn lesson gets right, exact truth
(who sits where, how large the face is, what it shows, at every frame), and takes the faces themselves from real
images the caller supplies (FER2013 crops, frames of a CREMA-D clip, ...). The package holds no corpus path.

:func:`composite_lesson` writes a lesson folder that :func:`emolab.timeline.analyze_lesson` reads:

``lesson.mp4``   the video (OpenCV ``mp4v``), no audio track
``truth.csv``    one row per frame and seat (:data:`COMPOSITE_TRUTH_COLUMNS`); score detections against the rows
                 with ``visible == 1`` (:func:`visible_truth`)
``lesson.json``  the settings, every seat's plan (size, degradation, segments, absences) and the faces by name

Each seat is one person with one identity: the sources of that identity (a still image, or a clip) follow one
another in segments of ``segment_seconds``, each with its own label. With FER2013, which has no identities, one
image is one identity unless the caller groups images under one identity on purpose.

``benchmarks/bench_composites.py`` builds composites from FER2013 and CREMA-D and scores an analysis against them
(``docs/readability.md``, "Real-face composites").
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from ..errors import EmolabError
from ..taxonomy import canonical_label

COMPOSITE_TRUTH_COLUMNS = ("t", "frame", "person", "role", "x", "y", "w", "h", "emotion", "visible", "present", "occluded",
                           "size", "pose", "blur", "jpeg", "light", "source")
"""Columns of a composite's ``truth.csv``. ``x, y, w, h``: the pasted face in video px (after a downward squash);
``visible``: the face is shown (0 when the seat is empty or only the top of the head shows); ``present``: someone
sits there; ``occluded`` = ``present and not visible`` (what :func:`emolab.scoring.tracking_scores` leaves out of
recall); ``size``: the seat's face size in px; ``pose``: ``frontal``, ``down`` (squashed and shifted down) or ``head``
(top of the head only), ``""`` when absent; ``blur`` (Gaussian sigma, px), ``jpeg`` (quality, 0 = none), ``light``
(gain): the seat's degradation; ``source``: the name of the face shown."""

DEGRADATIONS = ("blur", "jpeg", "dark")


@dataclass
class FaceSource:
    """One real face: a still image, or a short clip of one person showing one emotion.

    Attributes
    ----------
    frames : list of np.ndarray
        Each ``[h, w]`` grey or ``[h, w, 3]`` BGR uint8, the face filling most of the image (as a FER2013 crop).
    emotion : str
        Its label, any spelling :func:`emolab.taxonomy.canonical_label` knows.
    identity : str
        Who it is; the sources of one identity may share a seat, one after another.
    fps : float
        Frame rate of a clip (played in a loop); 0 for a still.
    name : str
        How ``truth.csv`` and ``lesson.json`` name it (e.g. the file name).
    """

    frames: list
    emotion: str
    identity: str
    fps: float = 0.0
    name: str = ""


@dataclass
class Seat:
    """The plan of one seat (see :func:`plan_seats`); times in seconds."""

    person: str
    size: int
    cx: float
    cy: float
    identity: str
    row: int = 0  # 0 = the back row
    segments: list = field(default_factory=list)  # (start, end, source index)
    blur: float = 0.0
    jpeg: int = 0
    light: float = 1.0
    poses: list = field(default_factory=list)  # (start, end, "down" | "head")
    absent: list = field(default_factory=list)  # (start, end)
    hair: tuple = (30, 30, 30)
    shirt: tuple = (120, 120, 120)


@dataclass
class CompositeResult:
    """Paths and plan of a written composite lesson."""

    folder: Path
    video: Path
    truth: Path
    seats: list


def _as_sources(faces: Sequence) -> list[FaceSource]:
    out = []
    for i, f in enumerate(faces):
        if not isinstance(f, FaceSource):
            image, emotion = f
            f = FaceSource([image], emotion, identity=f"face{i}", name=f"face{i}")
        if not f.frames:
            raise EmolabError(f"face source {f.name or i} has no frames")
        out.append(FaceSource(list(f.frames), canonical_label(f.emotion), f.identity, float(f.fps), f.name or f"face{i}"))
    return out


def _rows_of_seats(n: int, width: int, height: int) -> list[int]:
    cols = max(1, math.ceil(math.sqrt(n * width / height * 0.6)))
    rows = math.ceil(n / cols)
    return [min(cols, n - r * cols) for r in range(rows)]


def plan_seats(sources: Sequence[FaceSource], *, n_seats: int, sizes: Sequence[int], seconds: float, width: int, height: int,
               seed: int, segment_seconds: float = 5.0, degrade: float = 0.5, blur_sigma: float = 1.0, jpeg_quality: int = 30,
               dark_gain: float = 0.45, pose_share: float = 0.33, leave: int = 1) -> list[Seat]:
    """Decide every seat's person, size, position, faces over time and degradations, from ``seed``.

    Seat ``i`` gets ``sizes[i % len(sizes)]`` px; smaller faces sit in the back rows. Within one size, every
    second seat (and so ``degrade`` of them, rounded per size) gets one degradation, the kinds taking turns
    (Gaussian blur of ``blur_sigma`` px, JPEG at ``jpeg_quality``, lighting gain ``dark_gain``); ``pose_share``
    of the seats look down for 2-4 s (half of them so far that only the top of the head shows); ``leave`` seats are
    empty for 2-4 s.

    Returns
    -------
    list of Seat, in person order (``S01``, ``S02``, ...)
    """
    rng = np.random.default_rng(seed)
    by_identity: dict[str, list[int]] = {}
    for k, s in enumerate(sources):
        by_identity.setdefault(s.identity, []).append(k)
    identities = list(by_identity)
    if len(identities) < n_seats:
        raise EmolabError(f"{n_seats} seats need {n_seats} identities; the faces given have {len(identities)}")
    chosen = [identities[i] for i in rng.permutation(len(identities))[:n_seats]]
    seat_sizes = [int(sizes[i % len(sizes)]) for i in range(n_seats)]
    order = sorted(range(n_seats), key=lambda i: (seat_sizes[i], i))  # back row (smallest) first
    per_row = _rows_of_seats(n_seats, width, height)
    places: dict[int, tuple[float, float, int]] = {}
    k = 0
    for r, count in enumerate(per_row):
        depth = (r + 1) / (len(per_row) + 1)  # 0 back .. 1 front
        for j in range(count):
            i = order[k]
            s = seat_sizes[i]
            cx = width * (0.06 + 0.88 * (j + 0.5) / count) + rng.uniform(-0.2, 0.2) * s
            cy = height * (0.18 + 0.62 * depth) + rng.uniform(-0.1, 0.1) * s
            cx = float(np.clip(cx, 1.3 * s, width - 1.3 * s))
            cy = float(np.clip(cy, 0.8 * s, height - 2.2 * s))
            places[i] = (cx, cy, r)
            k += 1
    seats = []
    turn = 0
    rank: dict[int, int] = {}
    for i in range(n_seats):
        cx, cy, row = places[i]
        own = by_identity[chosen[i]]
        segments, t, prev = [], 0.0, None
        while t < seconds:
            options = [j for j in own if prev is None or sources[j].emotion != sources[prev].emotion] or own
            j = int(options[int(rng.integers(len(options)))])
            end = min(seconds, t + segment_seconds) if len(own) > 1 else seconds
            segments.append((round(t, 4), round(end, 4), j))
            t, prev = end, j
        seat = Seat(f"S{i + 1:02d}", seat_sizes[i], cx, cy, chosen[i], row, segments,
                    hair=tuple(int(v) for v in rng.integers(10, 70, 3)), shirt=tuple(int(v) for v in rng.integers(40, 220, 3)))
        nth = rank.get(seat.size, 0)
        rank[seat.size] = nth + 1
        if degrade > 0 and nth % max(1, round(1 / degrade)) == max(1, round(1 / degrade)) - 1:
            kind = DEGRADATIONS[turn % len(DEGRADATIONS)]
            turn += 1
            if kind == "blur":
                seat.blur = float(blur_sigma)
            elif kind == "jpeg":
                seat.jpeg = int(jpeg_quality)
            else:
                seat.light = float(dark_gain)
        seats.append(seat)
    n_pose = int(round(pose_share * n_seats))
    for k, i in enumerate(rng.permutation(n_seats)[:n_pose]):
        d = float(rng.uniform(2.0, 4.0))
        a = float(rng.uniform(0.5, max(0.6, seconds - d - 0.5)))
        seats[i].poses.append((round(a, 4), round(min(seconds, a + d), 4), "down" if k % 2 == 0 else "head"))
    for i in rng.permutation(n_seats)[:max(0, int(leave))]:
        d = float(rng.uniform(2.0, 4.0))
        a = float(rng.uniform(0.5, max(0.6, seconds - d - 0.5)))
        seats[i].absent.append((round(a, 4), round(min(seconds, a + d), 4)))
    return seats


# ----------------------------------------------------------------------------- drawing
def classroom_background(width: int, height: int, seed: int) -> np.ndarray:
    """A drawn, empty classroom: walls (vertical gradient), floor, board, posters with lines of "text", a clock.

    Returns
    -------
    np.ndarray [shape=(height, width, 3), dtype=uint8], BGR
    """
    import cv2

    rng = np.random.default_rng(seed + 101)
    H, W = height, width
    wall_top, wall_bottom = rng.integers(170, 230, 3).astype(np.float32), rng.integers(110, 170, 3).astype(np.float32)
    u = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    back = np.broadcast_to((1 - u) * wall_top + u * wall_bottom, (H, W, 3)).astype(np.uint8).copy()
    back[int(0.55 * H):] = (rng.integers(60, 110, 3)).astype(np.uint8)  # floor
    cv2.rectangle(back, (int(0.3 * W), int(0.03 * H)), (int(0.7 * W), int(0.16 * H)), (50, 70, 45), -1)  # board, high up
    for _ in range(3):  # posters
        px, py = int(rng.uniform(0.02, 0.9) * W), int(rng.uniform(0.02, 0.12) * H)
        pw, ph = int(rng.uniform(0.04, 0.08) * W), int(rng.uniform(0.06, 0.1) * H)
        cv2.rectangle(back, (px, py), (px + pw, py + ph), tuple(int(v) for v in rng.integers(60, 250, 3)), -1)
        for k in range(3):
            y = py + int((k + 1) * ph / 4)
            cv2.line(back, (px + pw // 8, y), (px + pw - pw // 8, y), (30, 30, 30), max(1, ph // 20))
    cx, cy, r = int(0.88 * W), int(0.07 * H), max(6, int(0.03 * H))  # a clock
    cv2.circle(back, (cx, cy), r, (240, 240, 240), -1)
    cv2.circle(back, (cx, cy), r, (20, 20, 20), max(1, r // 8))
    cv2.line(back, (cx, cy), (cx, cy - int(0.7 * r)), (20, 20, 20), max(1, r // 10))
    return back


def desks(width: int, height: int, seats: Sequence[Seat], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each row's desks, and a school bag beside some of them, drawn in front of that row's students.

    Returns
    -------
    list of (layer, mask), one per row, back row first
        ``layer`` [height, width, 3] uint8 BGR, drawn where ``mask`` [height, width] bool.
    """
    import cv2

    rng = np.random.default_rng(seed + 202)
    H = height
    colour = tuple(int(v) for v in rng.integers(60, 150, 3))
    out = []
    for row in range(max(s.row for s in seats) + 1):
        layer, mask = np.zeros((height, width, 3), np.uint8), np.zeros((height, width), np.uint8)
        for s in (s for s in seats if s.row == row):
            top = int(s.cy + 1.6 * s.size)
            x0, x1 = int(s.cx - 1.3 * s.size), int(s.cx + 1.3 * s.size)
            for img, c in ((layer, colour), (mask, 1)):
                cv2.rectangle(img, (x0, top), (x1, min(H - 1, top + int(0.7 * s.size))), c, -1)
            if rng.random() < 0.5:
                bw, bh = int(0.6 * s.size), int(0.7 * s.size)
                bx, by = x1 + int(0.05 * s.size), min(H - bh - 1, top + int(0.2 * s.size))
                bag = tuple(int(v) for v in rng.integers(20, 200, 3))
                for img, c in ((layer, bag), (mask, 1)):
                    cv2.rectangle(img, (bx, by), (bx + bw, by + bh), c, -1)
        out.append((layer, mask.astype(bool)))
    return out


def _face_image(src: FaceSource, t: float) -> np.ndarray:
    k = int(t * src.fps) % len(src.frames) if src.fps > 0 else 0
    img = np.asarray(src.frames[k])
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)


def degrade_face(face: np.ndarray, size: int, *, blur: float = 0.0, jpeg: int = 0, light: float = 1.0,
                 height: int | None = None) -> np.ndarray:
    """Resize a BGR face to ``size`` px wide (``height`` px high, default ``size``), then darken, blur and compress it.

    Parameters
    ----------
    face : np.ndarray [shape=(h, w, 3), dtype=uint8]
    size : int, px
    blur : float
        Gaussian sigma in px of the resized face (0: none).
    jpeg : int
        JPEG quality 1-100 (0: none).
    light : float
        Gain on the grey levels (1: unchanged).

    Returns
    -------
    np.ndarray [shape=(height, size, 3), dtype=uint8]
    """
    import cv2

    h = int(height or size)
    interp = cv2.INTER_AREA if face.shape[0] > h else cv2.INTER_LINEAR
    out = cv2.resize(face, (int(size), h), interpolation=interp)
    if light != 1.0:
        out = np.clip(out.astype(np.float32) * light, 0, 255).astype(np.uint8)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg)])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def _soft_mask(w: int, h: int) -> np.ndarray:
    """A [h, w] float32 mask: 1 inside a rounded square (a superellipse of power 4) filling the box, falling to 0 over
    its outer tenth. A plain ellipse (falling over the outer 18 %) cost the face model 4.9 points on 350 FER2013
    faces pasted at 48 px (61.7 % unpasted, 56.9 %); this one 1.4 (60.3 %)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = (np.abs((xx + 0.5 - w / 2) / (0.5 * w)) ** 4 + np.abs((yy + 0.5 - h / 2) / (0.5 * h)) ** 4) ** 0.25
    return np.clip((1.0 - r) / 0.1, 0, 1).astype(np.float32)


def _paste(frame: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    h, w = patch.shape[:2]
    H, W = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    m = _soft_mask(w, h)[y0 - y:y1 - y, x0 - x:x1 - x, None]
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (m * patch[y0 - y:y1 - y, x0 - x:x1 - x] + (1 - m) * roi).astype(np.uint8)


def _during(spans, t: float):
    return next((s for s in spans if s[0] <= t < s[1]), None)


def draw_seat(frame: np.ndarray, seat: Seat, sources: Sequence[FaceSource], t: float) -> tuple:
    """Draw one seat at time ``t`` into ``frame`` (BGR, in place).

    Returns
    -------
    tuple
        ``(x, y, w, h, emotion, visible, present, pose, source)`` of the face (the nominal box when absent).
    """
    import cv2

    s = seat.size
    x, y = int(round(seat.cx - s / 2)), int(round(seat.cy - s / 2))
    seg = _during(seat.segments, t) or seat.segments[-1]
    src = sources[seg[2]]
    if _during(seat.absent, t):
        return x, y, s, s, "", 0, 0, "", ""
    body = (int(seat.cx), int(seat.cy + 1.55 * s))
    cv2.ellipse(frame, body, (int(0.85 * s), int(0.9 * s)), 0, 180, 360, seat.shirt, -1, cv2.LINE_AA)
    cv2.rectangle(frame, (int(seat.cx - 0.85 * s), body[1]), (int(seat.cx + 0.85 * s), int(seat.cy + 2.2 * s)), seat.shirt, -1)
    pose = _during(seat.poses, t)
    kind = pose[2] if pose else "frontal"
    hair_c = (int(seat.cx), int(seat.cy - 0.08 * s))
    if kind == "head":  # bowed so far that only the top of the head shows
        cv2.ellipse(frame, (int(seat.cx), int(seat.cy + 0.1 * s)), (int(0.55 * s), int(0.55 * s)), 0, 0, 360, seat.hair, -1, cv2.LINE_AA)
        return x, y, s, s, src.emotion, 0, 1, kind, src.name
    cv2.ellipse(frame, hair_c, (int(0.6 * s), int(0.62 * s)), 0, 0, 360, seat.hair, -1, cv2.LINE_AA)
    h = s if kind == "frontal" else max(4, int(round(0.65 * s)))
    patch = degrade_face(_face_image(src, t - seg[0]), s, blur=seat.blur, jpeg=seat.jpeg, light=seat.light, height=h)
    y += s - h  # looking down: the face is foreshortened and its top moves down
    _paste(frame, patch, x, y)
    return x, y, s, h, src.emotion, 1, 1, kind, src.name


def iter_composite(seats: Sequence[Seat], sources: Sequence[FaceSource], *, seconds: float, fps: float, width: int, height: int,
                   seed: int) -> Iterator[tuple[int, float, np.ndarray, list[tuple]]]:
    """Render a composite frame by frame.

    Yields
    ------
    index : int
    t : float, seconds
    frame : np.ndarray [shape=(height, width, 3), dtype=uint8], BGR
    truth : list of tuples in :data:`COMPOSITE_TRUTH_COLUMNS` order, one per seat
    """
    back, layers = classroom_background(width, height, seed), desks(width, height, seats, seed)
    for f in range(int(math.floor(seconds * fps))):
        t = f / fps
        frame = back.copy()
        rows = {}
        for row, (layer, mask) in enumerate(layers):  # back to front: a row's desks hide its students' bodies
            for seat in (s for s in seats if s.row == row):
                x, y, w, h, emo, vis, present, pose, name = draw_seat(frame, seat, sources, t)
                rows[seat.person] = (round(t, 4), f, seat.person, "student", x, y, w, h, emo, vis, present, int(present and not vis),
                                     seat.size, pose, seat.blur, seat.jpeg, seat.light, name)
            frame[mask] = layer[mask]
        yield f, t, frame, [rows[s.person] for s in seats]


def composite_lesson(out: str | os.PathLike, faces: Sequence, *, seconds: float = 15.0, fps: float = 10.0, width: int = 1280,
                     height: int = 720, sizes: Sequence[int] = (16, 24, 32, 48, 64, 96), n_seats: int = 12, seed: int = 0,
                     segment_seconds: float = 5.0, degrade: float = 0.5, blur_sigma: float = 1.0, jpeg_quality: int = 30,
                     dark_gain: float = 0.45, pose_share: float = 0.33, leave: int = 1, overwrite: bool = False) -> CompositeResult:
    """Paste real faces into a drawn classroom and write the lesson folder (see the module docstring).

    Parameters
    ----------
    out : path
        Folder to create; must be absent or empty unless ``overwrite``.
    faces : sequence of FaceSource, or of ``(image, emotion)`` pairs
        The real faces (an ``(image, emotion)`` pair is a still with an identity of its own). At least ``n_seats``
        identities.
    seconds, fps : float
        Duration (s) and frame rate; ``floor(seconds * fps)`` frames.
    width, height : int, px
    sizes : sequence of int, px
        Face sizes, given to the seats in turn (seat ``i``: ``sizes[i % len(sizes)]``).
    n_seats : int
    seed : int
        Decides identities, places, segments, degradations, poses and absences; same seed, same lesson.
    segment_seconds : float
        How long one source of an identity with several is shown before the next.
    degrade, blur_sigma, jpeg_quality, dark_gain, pose_share, leave
        Degradations, see :func:`plan_seats`.

    Returns
    -------
    CompositeResult
    """
    import cv2

    from ..atomic import atomic_folder, write_text

    sources = _as_sources(faces)
    if not seconds > 0 or not fps > 0 or width < 160 or height < 120:
        raise EmolabError("a composite needs a positive duration and frame rate and at least 160x120 px")
    if not sizes or min(sizes) < 4 or 2.6 * max(sizes) > width or 3.2 * max(sizes) > height:
        raise EmolabError(f"face sizes {list(sizes)} do not fit a {width}x{height} frame")
    settings = dict(seconds=seconds, fps=fps, width=width, height=height, sizes=[int(s) for s in sizes], n_seats=n_seats,
                    seed=seed, segment_seconds=segment_seconds, degrade=degrade, blur_sigma=blur_sigma,
                    jpeg_quality=jpeg_quality, dark_gain=dark_gain, pose_share=pose_share, leave=leave)
    seats = plan_seats(sources, **{k: v for k, v in settings.items() if k != "fps"})
    folder = Path(out)
    with atomic_folder(folder, overwrite) as tmp:
        writer = cv2.VideoWriter(str(tmp / "lesson.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height))
        if not writer.isOpened():
            raise EmolabError("OpenCV cannot write an mp4v video here")
        rows: list[tuple] = []
        try:
            for _, _, frame, truth in iter_composite(seats, sources, seconds=seconds, fps=fps, width=width, height=height, seed=seed):
                writer.write(frame)
                rows.extend(truth)
        finally:
            writer.release()
        pd.DataFrame(rows, columns=list(COMPOSITE_TRUTH_COLUMNS)).to_csv(tmp / "truth.csv", index=False, float_format="%.4f")
        plan = {"kind": "composite", **settings,
                "seats": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(s).items()} for s in seats],
                "faces": [{"name": s.name, "identity": s.identity, "emotion": s.emotion, "frames": len(s.frames), "fps": s.fps}
                          for s in sources]}
        write_text(tmp / "lesson.json", json.dumps(plan, indent=1) + "\n")
    return CompositeResult(folder, folder / "lesson.mp4", folder / "truth.csv", seats)


def visible_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """The rows of a composite's ``truth.csv`` whose face is shown: what detections are scored against."""
    return truth[truth["visible"] == 1]


__all__ = ["COMPOSITE_TRUTH_COLUMNS", "CompositeResult", "FaceSource", "Seat", "classroom_background", "composite_lesson",
           "degrade_face", "desks", "draw_seat", "iter_composite", "plan_seats", "visible_truth"]
