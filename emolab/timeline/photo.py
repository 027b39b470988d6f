"""A class photo in; one row per face out, with its emotion, quality and (blurred) thumbnail.

The same tables as a lesson analysis (:class:`~emolab.timeline.result.LessonAnalysis`), with a
single time point ``t = 0``: ``faces`` has one row per detected face, ``timeline`` one row per
person (empty ``emotion`` with a ``reason`` where the face cannot be read), ``students`` the
usual summary; speech, utterances and alerts are empty.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MediaError
from .result import AnalysisConfig, LessonAnalysis

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
"""File endings read as photos by :func:`~emolab.timeline.analyze_lesson`."""


def is_photo(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an image file (by its ending)."""
    return Path(path).suffix.lower() in IMAGE_EXT


def analyze_photo(image: str | os.PathLike, *, config: AnalysisConfig | None = None, models=None,
                  out: str | os.PathLike | None = None, thumbnails: bool = True) -> LessonAnalysis:
    """Analyse one photo (jpg, png, webp, ...): every face, its emotion when readable.

    Parameters
    ----------
    image : path
    config : AnalysisConfig
        ``model``, ``max_side``, ``detector_tiles``, ``readability``, ``device`` and ``precision`` apply.
    models : LessonModels, optional
    out : path, optional
        Also write the tables and ``report.html`` there.
    thumbnails : bool
        Keep each face's crop in memory (blurred in the report).

    Returns
    -------
    LessonAnalysis
        With one time point, ``t = 0``.

    Raises
    ------
    MediaError
        When the file is not a readable image.
    """
    import cv2

    from ..models.gaze import gaze_threshold
    from ..models.lesson import load_lesson_models
    from ..preprocessing.crops import crop_face
    from ..preprocessing.detection import FaceDetector
    from ..preprocessing.quality import face_quality, unreadable_reason
    from .stages import Readings, fuse_seconds, lesson_tables, smooth_timeline
    from .summary import readability_summary

    cfg = (config or AnalysisConfig()).on_device()
    t0 = time.perf_counter()
    frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
    if frame is None:
        raise MediaError("cannot read this image (not an image, or a format OpenCV does not read)", path=image)
    H, W = frame.shape[:2]
    scale = max(1.0, max(H, W) / cfg.max_side)
    if scale > 1.0:
        frame = cv2.resize(frame, (int(round(W / scale)), int(round(H / scale))), interpolation=cv2.INTER_AREA)
    tiles = cfg.detector_tiles if cfg.detector_tiles == "auto" else int(cfg.detector_tiles)
    with FaceDetector(tiles=tiles) as detector:
        dets = sorted(detector.detect(frame), key=lambda d: (d.x, d.y))
    models = models or load_lesson_models(cfg.model, cfg.device, cfg.weights, cfg.precision, cfg.face_frame_step)
    quality = face_quality(frame, dets)
    people = [f"S{i + 1:02d}" for i in range(len(dets))]
    faces = pd.DataFrame({"frame": 0, "t": 0.0, "track": range(len(dets)), "x": [d.x * scale for d in dets],
                          "y": [d.y * scale for d in dets], "w": [d.w * scale for d in dets], "h": [d.h * scale for d in dets],
                          "score": [d.score for d in dets], "mouth": np.nan, "contrast": np.nan, **{c: quality[c].to_numpy() for c in quality},
                          "person": people})
    faces["unreadable"] = unreadable_reason(faces, cfg.readability)
    readings = Readings()
    ok = np.flatnonzero(faces["unreadable"].to_numpy() == "")
    if len(ok) and "face" in models.available:
        crops = np.stack([crop_face(frame, dets[i].box, size=models.face_size, margin=models.face_margin) for i in ok])
        clips = np.repeat(crops[:, None], models.clip_frames, axis=1)
        proba, _ = models.face_readings(clips, face_px=np.array([dets[i].h for i in ok]))
        down = np.isnan(proba).any(1)
        faces.loc[ok[down], "unreadable"] = "looking_down"
        readings = Readings(proba, {(people[i], 0): j for j, i in enumerate(ok) if not down[j]})
    turns = pd.DataFrame(columns=["start", "end", "person", "attribution", "speaker", "text"])
    timeline = smooth_timeline(fuse_seconds(models, faces, turns, {"face": readings}), method="none")
    result = lesson_tables(timeline, faces, turns, Readings(), Readings(), models, cfg, {p: "student" for p in people}, 0.0)
    result.info = {"video": Path(image).name, "transcript": "", "duration": 0.0, "fps": 0.0, "width": W, "height": H,
                   "frames_analyzed": 1, "model": models.name, "modalities_available": ["face"] if "face" in models.available else [],
                   "seconds": time.perf_counter() - t0, "detector_grid": detector.grid_, "n_people": len(people), "photo": True,
                   "readability": readability_summary(timeline, result.students),
                   "looking_down_threshold": gaze_threshold(models)}
    if thumbnails:
        result.thumbnails = {p: crop_face(frame, d.box, size=96, margin=0.3, gray=False) for p, d in zip(people, dets)}
    if out is not None:
        result.write(out)
    return result
