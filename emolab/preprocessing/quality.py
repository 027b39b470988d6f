"""Can a face be read? Quality of every face sighting, and the rule that says which are readable.

An emotion read from a 16-px face looking at a book is a guess, and a face model is most
overconfident exactly there. Every sighting therefore gets measurable qualities:

* ``face_px`` - face box height in the analysed frame, in pixels (what the model really gets);
* ``frontal`` - 1 for a face looking at the camera, towards 0 for a profile or a bowed head
  (from the detector's landmarks; NaN when the detector gives none);
* ``sharpness`` - variance of the Laplacian of the face region at its own resolution, divided by
  the region's variance (so contrast and lighting cancel out);
* ``score`` - the detector's confidence;

and :func:`unreadable_reason` turns them into ``""`` (readable) or the first reason that fails:
``too_small``, ``turned_away``, ``blurred``. The thresholds of :class:`ReadabilityRule` were chosen
from measured accuracy curves (``docs/readability.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from ..config import Config

REASONS = ("too_small", "turned_away", "blurred", "not_visible")
"""Why an emotion is not given: the face is too small, turned away, blurred, or not seen at all."""

QUALITY_COLUMNS = ("face_px", "frontal", "sharpness")


@dataclass
class ReadabilityRule(Config):
    """When a face sighting is readable (see ``docs/readability.md`` for the curves behind each value)."""

    min_face_px: float = 24.0  # face box height in the analysed frame, pixels
    min_frontal: float = 0.45  # 0 (profile / bowed) .. 1 (facing the camera); NaN (unknown) passes
    min_sharpness: float = 0.05  # normalised Laplacian variance; below: blurred


def frontalness(eyes: tuple[float, float, float, float] | None, box: tuple[float, float, float, float],
                nose: tuple[float, float] | None = None) -> float:
    """How much a face looks at the camera, 0 (profile) .. 1 (frontal), from its landmarks.

    With a nose point: 1 minus the nose's horizontal offset from the eyes' midpoint, in half
    inter-eye distances (a turned head moves the nose towards one eye). Eyes only: the inter-eye
    distance over 0.4 box widths (it shrinks as the head turns), capped at 1.

    Parameters
    ----------
    eyes : (x1, y1, x2, y2) or None
        Eye centres in pixels.
    box : (x, y, w, h)
        Face box in pixels.
    nose : (x, y), optional
        Nose tip in pixels.

    Returns
    -------
    float
        In [0, 1]; NaN without eyes.
    """
    if eyes is None:
        return float("nan")
    ex, ey = (eyes[0] + eyes[2]) / 2, (eyes[1] + eyes[3]) / 2
    dist = float(np.hypot(eyes[2] - eyes[0], eyes[3] - eyes[1]))
    if nose is not None and dist > 0:
        return float(np.clip(1.0 - abs(nose[0] - ex) / (0.5 * dist), 0.0, 1.0))
    return float(np.clip(dist / (0.4 * max(box[2], 1e-6)), 0.0, 1.0))


def sharpness(frame: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Normalised sharpness of a face region: var(Laplacian) / var(region), at the region's own size.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3) BGR or (H, W), dtype=uint8]
    box : (x, y, w, h)
        Face box in pixels of ``frame``.

    Returns
    -------
    float
        >= 0; NaN for an empty or flat region.
    """
    H, W = frame.shape[:2]
    x, y, w, h = box
    x0, y0, x1, y1 = int(max(0, x)), int(max(0, y)), int(min(W, x + w)), int(min(H, y + h))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return float("nan")
    patch = frame[y0:y1, x0:x1]
    g = (cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch).astype(np.float32)
    v = float(g.var())
    if v < 1e-6:
        return float("nan")
    return float(cv2.Laplacian(g, cv2.CV_32F).var() / v)


def face_quality(frame: np.ndarray, detections: list) -> pd.DataFrame:
    """The qualities of every detection on one frame.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8]
        The analysed (possibly downscaled) BGR frame.
    detections : list of Detection
        In ``frame`` pixels.

    Returns
    -------
    pandas.DataFrame
        :data:`QUALITY_COLUMNS`, one row per detection.
    """
    rows = []
    for d in detections:
        lm = getattr(d, "landmarks", None)
        nose = (float(lm[2][0]), float(lm[2][1])) if lm is not None and len(lm) >= 3 else None
        rows.append((float(d.h), frontalness(d.eyes, d.box, nose), sharpness(frame, d.box)))
    return pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))


def unreadable_reason(quality: pd.DataFrame, rule: ReadabilityRule | None = None) -> np.ndarray:
    """Why each sighting cannot be read, ``""`` where it can.

    Parameters
    ----------
    quality : pandas.DataFrame
        :data:`QUALITY_COLUMNS` (e.g. from :func:`face_quality`).
    rule : ReadabilityRule

    Returns
    -------
    np.ndarray [shape=(n,), dtype=object]
        ``""``, ``"too_small"``, ``"turned_away"`` or ``"blurred"`` (the first that applies, in that order).
    """
    r = rule or ReadabilityRule()
    out = np.full(len(quality), "", dtype=object)
    if not len(quality):
        return out
    px = quality["face_px"].to_numpy(float)
    fr = quality["frontal"].to_numpy(float)
    sh = quality["sharpness"].to_numpy(float)
    blurred = np.nan_to_num(sh, nan=0.0) < r.min_sharpness
    turned = ~np.isnan(fr) & (fr < r.min_frontal)
    small = px < r.min_face_px
    out[blurred] = "blurred"
    out[turned] = "turned_away"
    out[small] = "too_small"
    return out
