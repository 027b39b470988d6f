"""Face crops: a detected box into the fixed-size grayscale patch the face models read."""

from __future__ import annotations

import cv2
import numpy as np


def square_box(box: tuple[float, float, float, float], margin: float = 0.2) -> tuple[int, int, int]:
    """The square ``(x, y, side)`` centred on a face box and enlarged by ``margin`` on each side.

    Parameters
    ----------
    box : (x, y, w, h)
        Face box in pixels.
    margin : float
        Fraction of the box's larger side added on every side.
    """
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), max(1, int(round(side)))


def _region(frame: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
    H, W = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + side), min(H, y + side)
    patch = frame[y0:y1, x0:x1]
    return cv2.copyMakeBorder(patch, y0 - y, y + side - y1, x0 - x, x + side - x1, cv2.BORDER_REPLICATE)


def crop_face(frame: np.ndarray, box: tuple[float, float, float, float], size: int = 96, margin: float = 0.2,
              gray: bool = True, eyes: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Cut a face out of a frame as a square patch, padding with the edge where it leaves the frame.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3) BGR or (H, W) gray, dtype=uint8]
    box : (x, y, w, h)
        Face box in pixels.
    size : int
        Side of the output patch in pixels (96 as in the source method; 48 or 64 for speed).
    margin : float
        See :func:`square_box`.
    gray : bool
        Convert to grayscale (the models' input) or keep BGR.
    eyes : (x1, y1, x2, y2), optional
        Eye centres in pixels; when given, the face is rotated about the box centre so that the
        eyes are level (alignment) before cropping.

    Returns
    -------
    np.ndarray [shape=(size, size) if gray else (size, size, 3), dtype=uint8]
    """
    if eyes is not None:
        angle = float(np.degrees(np.arctan2(eyes[3] - eyes[1], eyes[2] - eyes[0])))
        if abs(angle) > 90:
            angle -= 180 * np.sign(angle)
        if abs(angle) > 1.0:
            bx, by, bw, bh = box
            sx, sy, side = square_box(box, margin + 0.25)
            patch = _region(frame, sx, sy, side)
            M = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
            patch = cv2.warpAffine(patch, M, (side, side), borderMode=cv2.BORDER_REPLICATE)
            inner = (side / 2 - bw / 2, side / 2 - bh / 2, bw, bh)
            return crop_face(patch, inner, size, margin, gray)
    x, y, side = square_box(box, margin)
    H, W = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + side), min(H, y + side)
    if x1 <= x0 or y1 <= y0:
        shape = (size, size) if gray or frame.ndim == 2 else (size, size, 3)
        return np.zeros(shape, np.uint8)
    patch = frame[y0:y1, x0:x1]
    if (x0, y0, x1, y1) != (x, y, x + side, y + side):
        patch = cv2.copyMakeBorder(patch, y0 - y, y + side - y1, x0 - x, x + side - x1, cv2.BORDER_REPLICATE)
    if gray and patch.ndim == 3:
        patch = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)
