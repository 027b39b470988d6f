"""The perception pass: a recording streamed once into tracked, cropped face sightings.

Decoding, face detection (:class:`~emolab.preprocessing.detection.KeyframeDetector`), tracking
into pseudonymous identities (:class:`~emolab.preprocessing.tracking.FaceTracker`), cropping and
mouth measurement, in that order, frame by frame: memory stays flat however long the recording.
Both :func:`emolab.timeline.analyze_lesson` and :func:`emolab.preprocessing.lesson_windows` are
built on it; each consumes the :class:`Glimpse` of every sampled frame in its own way, then reads
the table of all sightings (:meth:`Perception.sightings`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import pandas as pd

from ..config import KEYFRAME_INTERVAL
from .video import Frame, luma_to_gray

SIGHTING_COLUMNS = ("frame", "t", "track", "x", "y", "w", "h", "score", "mouth", "contrast", "face_px", "frontal", "sharpness")
"""Columns of :meth:`Perception.sightings` (before ``person``): frame index, time (s), raw track id,
face box in original-video pixels (top-left ``x, y``, size ``w, h``), detector score, two mouth
measures (:func:`~emolab.preprocessing.speakers.mouth_openness` and ``mouth_contrast``),
and the face's qualities (:func:`~emolab.preprocessing.quality.face_quality`: height in analysed
pixels, frontalness, sharpness)."""


@dataclass
class Glimpse:
    """What the perception pass saw on one sampled frame.

    Attributes
    ----------
    index : int
        Frame index in the video.
    t : float
        Time in seconds.
    frame : Frame
        The frame, downscaled to ``max_side`` (:class:`~emolab.preprocessing.video.Frame`: ``frame.bgr`` its BGR
        image [H, W, 3] uint8, made on first use; ``frame.gray`` its grayscale image).
    scale : float
        Original width / frame width (multiply boxes by it for original pixels).
    faces : list of (int, Detection)
        Raw track id and detection (in ``frame`` pixels) of every face.
    crops : np.ndarray [shape=(n, S, S), dtype=uint8]
        Grayscale face crops, in the order of ``faces``.
    mouths : np.ndarray [shape=(n, 2), dtype=float32]
        :func:`~emolab.preprocessing.speakers.mouth_openness` and
        :func:`~emolab.preprocessing.speakers.mouth_contrast` of each crop.
    quality : dict of np.ndarray [shape=(n,)]
        The qualities of each face (:func:`~emolab.preprocessing.quality.quality_arrays`: ``face_px``,
        ``frontal``, ``sharpness``) and its detector ``score``: what
        :func:`~emolab.preprocessing.quality.unreadable_reason` reads.
    """

    index: int
    t: float
    frame: "Frame"
    scale: float
    faces: list
    crops: np.ndarray
    mouths: np.ndarray
    quality: pd.DataFrame


class Perception:
    """One streamed perception pass over a video (iterate it once; see the module docstring).

    Parameters
    ----------
    video : path
        Any container OpenCV reads.
    sample_fps : float
        Frames analysed per second of video.
    keyframe_interval : float
        Seconds between full (tiled) face detections, template tracking between (0: every frame).
    max_side : int
        Frames larger than this are downscaled first.
    tiles : int or "auto"
        Detector tile grid (:class:`~emolab.preprocessing.detection.FaceDetector`).
    face_size : int
        Side of the square grayscale crops in pixels.
    margin : float
        Crop margin around the face box (:func:`~emolab.preprocessing.crops.square_box`).
    align : bool
        Rotate crops so the eyes are level.
    tracker_config : TrackerConfig, optional
    progress : bool
        tqdm bar over the frames.
    desc : str
        Label of the bar.

    Attributes
    ----------
    names_ : dict
        After the pass: raw track id -> pseudonymous person id (``"S01"``, ...); dropped tracks absent.
    grid_ : int or None
        After the pass: the detector's tile grid.
    n_frames_ : int
        Frames analysed.

    Examples
    --------
    >>> p = Perception("lesson.mp4")                       # doctest: +SKIP
    >>> for g in p:                                        # doctest: +SKIP
    ...     use(g.crops)
    >>> faces = p.sightings()                              # doctest: +SKIP
    """

    def __init__(self, video: str | os.PathLike, *, sample_fps: float = 5.0, keyframe_interval: float = KEYFRAME_INTERVAL,
                 max_side: int = 1280, tiles: int | str = "auto", face_size: int = 48, margin: float = 0.2, align: bool = False,
                 tracker_config=None, progress: bool = False, desc: str = "faces"):
        self.video = video
        self.sample_fps = sample_fps
        self.keyframe_interval = keyframe_interval
        self.max_side = max_side
        self.tiles = tiles
        self.face_size = face_size
        self.margin = margin
        self.align = align
        self.tracker_config = tracker_config
        self.progress = progress
        self.desc = desc
        self._rows: list[tuple] = []
        self.names_: Optional[dict] = None
        self.grid_: Optional[int] = None
        self.n_frames_ = 0

    def __iter__(self) -> Iterator[Glimpse]:
        from .crops import crop_face
        from .detection import KeyframeDetector, keyframe_step
        from .quality import QUALITY_COLUMNS, QUALITY_MARGIN, quality_arrays
        from .speakers import mouth_measures
        from .tracking import FaceTracker, iter_tracked

        tiles = self.tiles if self.tiles == "auto" else int(self.tiles)
        detector = KeyframeDetector(every=keyframe_step(self.sample_fps, self.keyframe_interval), tiles=tiles)
        tracker = FaceTracker(self.tracker_config)
        S = self.face_size
        try:
            for index, t, frame, luma, scale, tracked in iter_tracked(self.video, detector, tracker, self.sample_fps, self.max_side,
                                                                      self.progress, self.desc):
                self.n_frames_ += 1
                # cut from the frame's luma and mapped to gray (the frame itself is never converted); aligned crops
                # rotate the colour frame; the quality crops are the same crops
                src = frame.bgr if self.align else luma
                crops = (np.stack([crop_face(src, d.box, size=S, margin=self.margin, eyes=d.eyes if self.align else None) for _, d in tracked])
                         if tracked else np.zeros((0, S, S), np.uint8))
                if not self.align:
                    crops = luma_to_gray(crops, frame.lut)
                mouths = mouth_measures(crops)
                same = (S, self.margin) == (48, QUALITY_MARGIN)
                quality = quality_arrays(luma if same else frame.gray, [d for _, d in tracked], crops if same else None)
                quality["score"] = np.array([d.score for _, d in tracked], float)
                self._rows += [(index, t, tid, d.x * scale, d.y * scale, d.w * scale, d.h * scale, d.score, float(m[0]), float(m[1]), *q)
                               for (tid, d), m, *q in zip(tracked, mouths, *(quality[c] for c in QUALITY_COLUMNS))]
                yield Glimpse(index, t, frame, scale, tracked, crops, mouths, quality)
        finally:
            self.grid_ = detector.grid_
            detector.close()
        self.names_ = tracker.finish()

    def sightings(self, *, keep_dropped: bool = False) -> pd.DataFrame:
        """Every face sighting of the pass, one row per face per sampled frame.

        Parameters
        ----------
        keep_dropped : bool
            Keep the sightings of tracks the tracker dropped (``person`` ""); default: drop them.

        Returns
        -------
        pandas.DataFrame
            :data:`SIGHTING_COLUMNS` plus ``person``.
        """
        if self.names_ is None:
            from ..errors import EmolabError

            raise EmolabError("the perception pass has not run to its end yet: iterate it first")
        faces = pd.DataFrame(self._rows, columns=list(SIGHTING_COLUMNS))
        faces["person"] = faces["track"].map(self.names_)
        if keep_dropped:
            faces["person"] = faces["person"].fillna("")
            return faces
        return faces.dropna(subset=["person"]).reset_index(drop=True)
