"""Tracking faces into stable per-student identities across a whole recording.

:class:`FaceTracker` is fed the detections of each sampled frame (:meth:`FaceTracker.update`)
and assigns them to tracks by the Hungarian method on a cost that mixes box overlap (IoU) and an
appearance signature (colour histogram of the face with its hair and collar, which stays stable
through expressions, blinks and small head turns). A track that goes unseen (occlusion, head
turned away, the student leaves) becomes *lost*; a later detection that looks like it, near its
seat, revives it under the same identity. After the last frame, :meth:`FaceTracker.finish`
merges fragments that never overlap in time and look alike, drops tracks too short to be a
person (false detections), and names the identities pseudonymously ``S01``, ``S02``, ... in
order of first appearance (left to right among those appearing together).

Measured on synthetic lessons against their ground truth: see ``docs/tracking.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..config import KEYFRAME_INTERVAL, Config
from .detection import Detection, iou_matrix
from .quality import frontalness
from .video import Frame, bgr_of


@dataclass
class TrackerConfig(Config):
    iou_gate: float = 0.15  # below this IoU a detection cannot continue a track
    appearance_weight: float = 0.4  # share of appearance in the assignment cost
    max_missed: int = 5  # sampled frames a track may go unseen before it is lost
    revive_distance: float = 0.35  # appearance distance (0..1) under which a lost track is revived
    revive_radius: float = 2.5  # ... if within this many face heights of where it was last seen
    merge_distance: float = 0.25  # appearance distance under which non-overlapping fragments merge
    # Evidence an identity needs to be a person (else it is dropped as a false detection); chosen on the real
    # classroom clips and synthetic lessons (docs/tracking.md, "Nobody invented"):
    min_detections: int = 3  # sightings
    min_found: int = 2  # keyframes on which the detector itself found the face (not only followed it)
    min_seconds: float = 1.0  # span between first and last sighting (s)
    min_score: float = 0.7  # mean detector score of those keyframe findings
    min_frontal_found: int = 1  # keyframe findings that look at the camera (frontalness >= frontal_evidence; unknown counts)
    frontal_evidence: float = 0.4
    signature_momentum: float = 0.9


def appearance_signature(frame: "np.ndarray | Frame", box: tuple[float, float, float, float]) -> np.ndarray:
    """Normalised hue-saturation histogram (16 x 8 bins) of a face with its hair and collar in a BGR frame
    [H, W, 3] uint8 (or a :class:`~emolab.preprocessing.video.Frame`, whose colour is then made).

    Returns
    -------
    np.ndarray [shape=(128,), dtype=float32], sums to 1 (zeros if the region is empty)
    """
    x, y, w, h = box
    H, W = frame.shape[:2]
    frame = bgr_of(frame)
    x0, x1 = int(max(0, x - 0.25 * w)), int(min(W, x + 1.25 * w))
    y0, y1 = int(max(0, y - 0.3 * h)), int(min(H, y + 1.5 * h))
    if x1 <= x0 or y1 <= y0:
        return np.zeros(128, np.float32)
    hsv = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).reshape(-1)
    s = hist.sum()
    return (hist / s).astype(np.float32) if s > 0 else hist.astype(np.float32)


def appearance_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bhattacharyya (Hellinger) distances, 0 (same) .. 1 (disjoint), of every signature in ``a`` [n, 128]
    to every signature in ``b`` [m, 128]; shape (n, m)."""
    bc = np.sqrt(np.clip(np.asarray(a, np.float64), 0, None)) @ np.sqrt(np.clip(np.asarray(b, np.float64), 0, None)).T
    return np.sqrt(np.clip(1.0 - bc, 0.0, None))


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`appearance_distances` of two single signatures [128]."""
    return float(appearance_distances(np.atleast_2d(a), np.atleast_2d(b))[0, 0])


@dataclass
class _Track:
    tid: int
    box: tuple[float, float, float, float]
    signature: np.ndarray
    first: float
    last: float
    hits: int = 1
    missed: int = 0
    times: list = field(default_factory=list)
    found: int = 0  # detections by the detector itself (keyframes), not carried by template matching
    score: float = 0.0  # sum of the detector scores of those
    frontal: int = 0  # those that look at the camera (or whose frontalness is unknown)


class FaceTracker:
    """Online multi-face tracker with re-identification (see the module docstring).

    Typical use::

        tracker = FaceTracker()
        for index, t, frame in iter_frames(video):
            for track_id, det in tracker.update(frame, detector.detect(frame), t):
                ...                     # raw track ids, stable within the run
        names = tracker.finish()        # raw track id -> "S01", ... (merged); absent = dropped
    """

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.tracks: dict[int, _Track] = {}
        self._next = 0

    def update(self, frame: np.ndarray, detections: list[Detection], t: float) -> list[tuple[int, Detection]]:
        """Assign this frame's detections to tracks; returns ``(track_id, detection)`` pairs."""
        c = self.config
        # a face carried over by template matching (Detection.followed) is the face of the previous frame: its
        # appearance is measured only when needed (a new or revived track), which spares most signatures between keyframes
        sigs: list = [None if d.followed else appearance_signature(frame, d.box) for d in detections]

        def sig(k: int) -> np.ndarray:
            if sigs[k] is None:
                sigs[k] = appearance_signature(frame, detections[k].box)
            return sigs[k]

        active = [tr for tr in self.tracks.values() if tr.missed <= c.max_missed]
        assigned: dict[int, int] = {}
        if active and detections:
            ious = iou_matrix(np.array([tr.box for tr in active]), np.array([d.box for d in detections]))
            app = np.zeros(ious.shape)
            measured = [k for k, s_ in enumerate(sigs) if s_ is not None]
            if measured:
                app[:, measured] = appearance_distances(np.array([tr.signature for tr in active]), np.array([sigs[k] for k in measured]))
            cost = (1 - c.appearance_weight) * (1 - ious) + c.appearance_weight * app
            cost[ious < c.iou_gate] = 1e6
            rows, cols = linear_sum_assignment(cost)
            for r, k in zip(rows, cols):
                if cost[r, k] < 1e5:
                    assigned[k] = active[r].tid
        lost = [tr for tr in self.tracks.values() if tr.missed > c.max_missed]
        for k, d in enumerate(detections):
            if k in assigned:
                continue
            best, best_d = None, c.revive_distance
            for tr in lost:
                if tr.tid in assigned.values():
                    continue
                dist_px = np.hypot(tr.box[0] + tr.box[2] / 2 - d.x - d.w / 2, tr.box[1] + tr.box[3] / 2 - d.y - d.h / 2)
                if dist_px > c.revive_radius * max(tr.box[3], d.h):
                    continue
                dd = appearance_distance(tr.signature, sig(k))
                if dd < best_d:
                    best, best_d = tr, dd
            if best is not None:
                assigned[k] = best.tid
            else:
                tid = self._next
                self._next += 1
                self.tracks[tid] = _Track(tid, d.box, sig(k), t, t, hits=0)
                assigned[k] = tid
        seen = set()
        out = []
        for k, tid in assigned.items():
            tr = self.tracks[tid]
            d = detections[k]
            tr.box = d.box
            if tr.hits and sigs[k] is not None:
                tr.signature = c.signature_momentum * tr.signature + (1 - c.signature_momentum) * sigs[k]
            tr.hits += 1
            if not d.followed:
                tr.found += 1
                tr.score += d.score
                f = frontalness(d.landmarks, d.box, d.eyes)
                tr.frontal += int(not f < c.frontal_evidence)  # NaN (no landmarks) counts
            tr.missed = 0
            tr.last = t
            tr.times.append(t)
            seen.add(tid)
            out.append((tid, d))
        for tr in self.tracks.values():
            if tr.tid not in seen:
                tr.missed += 1
        return out

    def _evidence(self, members: list) -> bool:
        """Whether the fragments of one identity are enough evidence of a person (see :class:`TrackerConfig`)."""
        c = self.config
        found = sum(x.found for x in members)
        span = max(x.last for x in members) - min(x.first for x in members)
        return (sum(x.hits for x in members) >= c.min_detections and found >= c.min_found and span >= c.min_seconds - 1e-9
                and (not found or sum(x.score for x in members) / found >= c.min_score)
                and sum(x.frontal for x in members) >= c.min_frontal_found)

    def finish(self) -> dict[int, str]:
        """Merge fragments, drop short tracks, and name identities.

        Returns
        -------
        dict
            Raw track id -> pseudonymous person id (``"S01"``, ...). Dropped tracks are absent.
        """
        c = self.config
        tracks = sorted((tr for tr in self.tracks.values() if tr.hits), key=lambda tr: tr.first)
        parent = {tr.tid: tr.tid for tr in tracks}

        def root(t: int) -> int:
            while parent[t] != t:
                t = parent[t]
            return t

        groups: dict[int, list[_Track]] = {tr.tid: [tr] for tr in tracks}
        for tr in tracks:  # earliest first: attach each fragment to an earlier look-alike that never overlaps it
            best, best_d = None, c.merge_distance
            for g, members in groups.items():
                if g == tr.tid or root(g) != g or any(m.tid == tr.tid for m in members):
                    continue
                times = set(np.round(np.concatenate([m.times for m in members]), 4))
                if times & set(np.round(tr.times, 4)):
                    continue
                sig = np.mean([m.signature for m in members], axis=0)
                dd = appearance_distance(sig, tr.signature)
                if dd < best_d:
                    best, best_d = g, dd
            if best is not None and root(tr.tid) == tr.tid and len(groups.get(tr.tid, [])) == 1:
                parent[tr.tid] = best
                groups[best].append(tr)
                del groups[tr.tid]
        kept = [(g, m) for g, m in groups.items() if self._evidence(m)]
        kept.sort(key=lambda gm: (round(min(x.first for x in gm[1]), 1), min(x.box[0] for x in gm[1])))
        names = {g: f"S{i + 1:02d}" for i, (g, _) in enumerate(kept)}
        return {tr.tid: names[root(tr.tid)] for tr in tracks if root(tr.tid) in names}


def track_faces(video: str, sample_fps: float = 5.0, detector=None, config: TrackerConfig | None = None,
                progress: bool = False, max_side: int | None = 1280, keyframe_interval: float = KEYFRAME_INTERVAL):
    """Detect and track every face of a video; a tidy table of face sightings.

    Parameters
    ----------
    video : path
    sample_fps : float
        Frames analysed per second of video.
    detector : FaceDetector or KeyframeDetector, optional
        Default: a :class:`~emolab.preprocessing.detection.KeyframeDetector` running the full
        (tiled) detection every ``keyframe_interval`` seconds and template tracking between.
    config : TrackerConfig
    progress : bool
    max_side : int
        Larger frames are downscaled first.
    keyframe_interval : float
        Seconds between full detections (0: on every sampled frame).

    Returns
    -------
    pandas.DataFrame
        One row per face per sampled frame: ``frame, t, person, x, y, w, h, score``.
    """
    import pandas as pd

    from .detection import KeyframeDetector, keyframe_step

    own = detector is None
    detector = detector or KeyframeDetector(every=keyframe_step(sample_fps, keyframe_interval))
    tracker = FaceTracker(config)
    rows = []
    try:
        for index, t, frame, _, scale, tracked in iter_tracked(video, detector, tracker, sample_fps, max_side, progress):
            for tid, d in tracked:
                rows.append((index, t, tid, d.x * scale, d.y * scale, d.w * scale, d.h * scale, d.score))
    finally:
        if own:
            detector.close()
    names = tracker.finish()
    faces = pd.DataFrame(rows, columns=["frame", "t", "track", "x", "y", "w", "h", "score"])
    faces["person"] = faces["track"].map(names)
    faces = faces.dropna(subset=["person"]).drop(columns="track")
    return faces[["frame", "t", "person", "x", "y", "w", "h", "score"]].reset_index(drop=True)


def iter_tracked(video, detector, tracker: FaceTracker, sample_fps: float | None = 5.0, max_side: int | None = 1280,
                 progress: bool = False, desc: str = "tracking faces"):
    """Stream a video through a face detector and a tracker (frames decoded ahead in a background thread;
    a :class:`KeyframeDetector` also runs its keyframe detections ahead in another, see its ``stream``).

    Yields
    ------
    (index, t, frame, luma, scale, tracked) per sampled frame: the frame index and time (s), the frame
    (downscaled to ``max_side``; a :class:`~emolab.preprocessing.video.Frame`, ``frame.bgr`` its colour) and its luma
    [H, W] uint8 (``frame.gray`` before the map ``frame.lut``: apply it to crops with ``luma_to_gray``), ``scale`` (original width / frame width: multiply boxes by it for
    original pixels) and the ``(track_id, Detection)`` pairs of :meth:`FaceTracker.update`.
    """
    from tqdm.auto import tqdm

    from .video import iter_decoded, prefetch, video_info

    info = video_info(video)
    total = int(info.duration * sample_fps) if sample_fps else info.n_frames
    # face templates are matched in each frame's luma and crops cut from it (nothing converted: the decoder's plane);
    # its colour is made only where something asks for it (the detector on keyframes, the appearance of a face found there)
    decoded = ((i, t, f, f.luma) for i, t, f in iter_decoded(video, sample_fps, max_side=max_side, threads=1))
    frames = tqdm(prefetch(decoded), total=total, desc=desc, unit="frame", disable=not progress, leave=False)
    stream = (detector.stream(frames, gray=True) if hasattr(detector, "stream")
              else ((item, detector.detect(item[-2].bgr)) for item in frames))
    for (index, t, frame, gray), dets in stream:
        yield index, t, frame, gray, info.width / frame.shape[1], tracker.update(frame, dets, t)
