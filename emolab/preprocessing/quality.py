"""Can a face be read? Quality of every face sighting, and the rule that says which are readable.

An emotion read from a 16-px face looking at a book is a guess, and a face model is most
overconfident exactly there. Every sighting therefore gets measurable qualities:

* ``face_px`` - face box height in the analysed frame, in pixels (what the model really gets);
* ``frontal`` - 1 for a face looking at the camera, towards 0 for a profile or a bowed head
  (from the detector's five landmarks, :func:`frontalness`; NaN when the detector gives none);
* ``sharpness`` - variance of the Laplacian of the 48-px grayscale crop in FER2013's framing
  (:func:`sharpness`, margin :data:`QUALITY_MARGIN`): it falls with blur and with size, as the
  model's accuracy does;

and :func:`unreadable_reason` turns them into ``""`` (readable) or the first reason that fails:
``too_small``, ``turned_away``, ``blurred``, ``unclear``. The thresholds of :class:`ReadabilityRule` were chosen
from measured curves: the face model's accuracy on degraded FER2013 faces, and a person's
readability calls on real classroom frames (``docs/readability.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from ..config import Config

REASONS = ("too_small", "turned_away", "blurred", "unclear", "looking_down", "too_brief", "no_face_model", "not_visible")
"""Why an emotion is not given: the face is too small, turned away, blurred, unclear to the detector
(low detector confidence: often a partly hidden or shadowed face), looking down (eyes cast down, as in
reading or writing: the face model's gaze probe, :mod:`emolab.models.gaze`, decides after the rule),
seen too briefly (fewer readable frames in a row than a face clip needs: 5 frames, 1 s, for the bundled
face CNN; a face that appears for a moment, or between unreadable stretches), readable but with no face model
loaded (weights without a face branch), or not seen at all."""

QUALITY_COLUMNS = ("face_px", "frontal", "sharpness")
QUALITY_MARGIN = 0.06
"""Crop margin of the 48-px crop whose sharpness is measured (FER2013's framing, where the threshold was measured)."""


@dataclass
class ReadabilityRule(Config):
    """When a face sighting is readable (see ``docs/readability.md`` for the curves behind each value)."""

    min_face_px: float = 24.0  # face box height in the analysed frame, px (FER curve: >= 45 % accuracy from ~18 px; annotator: < ~24 px too small)
    min_frontal: float = 0.4  # 0 (profile / bowed) .. 1 (facing the camera); NaN (unknown) passes
    min_sharpness: float = 100.0  # Laplacian variance of the 48-px crop (margin 0.06); below: blurred (annotated real frames)
    min_score: float = 0.85  # detector confidence; below: unclear (annotated real frames: AUC 0.90 for readable)


def frontalness(landmarks: np.ndarray | None = None, box: tuple[float, float, float, float] | None = None,
                eyes: tuple[float, float, float, float] | None = None) -> float:
    """How much a face looks at the camera, 0 (profile, bowed) .. 1 (frontal), from its landmarks.

    With five landmarks (eyes, nose tip, mouth corners, as YuNet gives them) it is the smallest of
    three scores, each 1 on a frontal face:

    * eye spacing: the distance between the eyes over 0.4 box widths (it shrinks as the head
      turns), capped at 1;
    * yaw: 1 minus the nose tip's distance from the eye-mouth axis, in eye distances;
    * pitch: 1 minus the distance of the nose tip's position along the eye-mouth axis from 0.55
      (frontal faces: 0.52-0.63 on CREMA-D), in units of 0.2 (a bowed or raised head moves it).

    With eyes only, the eye-spacing score.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(5, 2)] or None
        Right eye, left eye, nose tip, right and left mouth corner, in pixels.
    box : (x, y, w, h)
        Face box in pixels.
    eyes : (x1, y1, x2, y2), optional
        Eye centres in pixels, used when there are no landmarks.

    Returns
    -------
    float
        In [0, 1]; NaN when neither landmarks nor eyes are known.
    """
    if landmarks is not None:
        marks = np.asarray(landmarks, float)[None, :5]
        w = float(box[2]) if box is not None else float(np.hypot(*(marks[0, 1] - marks[0, 0]))) / 0.4  # no box: spacing 1
        return float(_frontal_many(marks, np.array([w]))[0])
    if eyes is None:
        return float("nan")
    re_, le = np.array(eyes[:2], float), np.array(eyes[2:4], float)
    dist = float(np.hypot(*(le - re_)))
    w = max(float(box[2]) if box is not None else dist / 0.4, 1e-6)
    return float(np.clip(min(1.0, dist / (0.4 * w)), 0.0, 1.0))


def sharpness(crop: np.ndarray) -> float:
    """Sharpness of a face crop: the variance of its Laplacian.

    Measured on the 48-px grayscale crop the face model reads (:func:`~emolab.preprocessing.crops.crop_face`;
    other sizes are resized to 48 px first), so it falls both with blur and with the face's size
    in the frame, as the model's accuracy does (``docs/readability.md``).

    Parameters
    ----------
    crop : np.ndarray [shape=(S, S) or (S, S, 3), dtype=uint8]

    Returns
    -------
    float
        >= 0 (0 for a flat crop).
    """
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    if g.shape[:2] != (48, 48):
        g = cv2.resize(g, (48, 48), interpolation=cv2.INTER_AREA if g.shape[0] > 48 else cv2.INTER_LINEAR)
    return float(_sharpness_many(g[None])[0])


def _sharpness_many(crops: np.ndarray) -> np.ndarray:
    """:func:`sharpness` of a stack of 48-px grayscale crops [n, 48, 48] at once: the variance of OpenCV's
    ``Laplacian`` (3x3 kernel, reflect-101 border) for the whole stack: exact in 16-bit integers (|value| <= 1020),
    its variance in float64."""
    c = np.asarray(crops, np.uint8)
    n, h, w = c.shape
    g = np.empty((n, h + 2, w + 2), np.int16)  # reflect-101 border, written directly (np.pad is several times slower)
    g[:, 1:-1, 1:-1] = c
    g[:, 0, 1:-1], g[:, -1, 1:-1] = c[:, 1], c[:, -2]
    g[:, :, 0], g[:, :, -1] = g[:, :, 2], g[:, :, -3]
    lap = g[:, :-2, 1:-1] + g[:, 2:, 1:-1] + g[:, 1:-1, :-2] + g[:, 1:-1, 2:] - 4 * g[:, 1:-1, 1:-1]
    return lap.reshape(n, -1).astype(np.float64).var(axis=1)


def _frontal_many(landmarks: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """:func:`frontalness` of faces with five landmarks each ([n, 5, 2] px; box widths [n] px), for many at once."""
    re_, le, nose, rm, lm = (landmarks[:, k].astype(float) for k in range(5))
    dist = np.hypot(*(le - re_).T)
    w = np.maximum(widths.astype(float), 1e-6)
    spacing = np.minimum(1.0, dist / (0.4 * w))
    em, mm = (re_ + le) / 2, (rm + lm) / 2
    axis = mm - em
    length = np.maximum(np.hypot(*axis.T), 1e-6)
    u = axis / length[:, None]
    rel = nose - em
    with np.errstate(divide="ignore", invalid="ignore"):
        yaw = 1.0 - np.abs(u[:, 0] * rel[:, 1] - u[:, 1] * rel[:, 0]) / dist
        pitch = 1.0 - np.abs((rel[:, 0] * u[:, 0] + rel[:, 1] * u[:, 1]) / length - 0.55) / 0.2
    out = np.clip(np.minimum(spacing, np.minimum(yaw, pitch)), 0.0, 1.0)
    return np.where(dist > 0, out, np.clip(spacing, 0.0, 1.0))


def face_quality(frame: np.ndarray, detections: list, crops: np.ndarray | None = None) -> pd.DataFrame:
    """The qualities of every detection on one frame.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8]
        The analysed (possibly downscaled) BGR frame.
    detections : list of Detection
        In ``frame`` pixels.
    crops : np.ndarray [shape=(n, 48, 48), dtype=uint8], optional
        The grayscale 48-px crops of the detections at margin :data:`QUALITY_MARGIN`, when already
        cut; else they are cut here.

    Returns
    -------
    pandas.DataFrame
        :data:`QUALITY_COLUMNS`, one row per detection.
    """
    return pd.DataFrame(quality_arrays(frame, detections, crops))


def quality_arrays(frame: np.ndarray, detections: list, crops: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """:func:`face_quality` as a dict of arrays [n] (no table: the perception pass calls it on every frame).

    ``frame`` may be the BGR frame or its grayscale version [H, W] (the same crops, without converting each one)."""
    from .crops import crop_face

    n = len(detections)
    if not n:
        return {c: np.zeros(0) for c in QUALITY_COLUMNS}
    if crops is None:
        crops = np.stack([crop_face(frame, d.box, size=48, margin=QUALITY_MARGIN) for d in detections])
    marks = [getattr(d, "landmarks", None) for d in detections]
    if all(m is not None and len(m) >= 5 for m in marks):
        frontal = _frontal_many(np.stack([np.asarray(m, float)[:5] for m in marks]), np.array([d.w for d in detections], float))
    else:
        frontal = np.array([frontalness(m, d.box, d.eyes) for m, d in zip(marks, detections)], float)
    return {"face_px": np.array([float(d.h) for d in detections]), "frontal": frontal,
            "sharpness": _sharpness_many(np.asarray(crops))}


def unreadable_reason(quality: pd.DataFrame, rule: ReadabilityRule | None = None) -> np.ndarray:
    """Why each sighting cannot be read, ``""`` where it can.

    Parameters
    ----------
    quality : pandas.DataFrame or dict of arrays
        :data:`QUALITY_COLUMNS` (e.g. from :func:`face_quality`), and ``score`` (detector confidence)
        when known.
    rule : ReadabilityRule

    Returns
    -------
    np.ndarray [shape=(n,), dtype=object]
        ``""``, ``"too_small"``, ``"turned_away"``, ``"blurred"`` or ``"unclear"`` (the first that
        applies, in that order).
    """
    r = rule or ReadabilityRule()
    px = np.asarray(quality["face_px"], float)
    out = np.full(len(px), "", dtype=object)
    if not len(px):
        return out
    fr = np.asarray(quality["frontal"], float)
    sh = np.asarray(quality["sharpness"], float)
    sc = np.asarray(quality["score"], float) if "score" in quality else np.ones(len(px))
    out[np.nan_to_num(sc, nan=1.0) < r.min_score] = "unclear"
    out[np.nan_to_num(sh, nan=0.0) < r.min_sharpness] = "blurred"
    out[~np.isnan(fr) & (fr < r.min_frontal)] = "turned_away"
    out[px < r.min_face_px] = "too_small"
    return out
