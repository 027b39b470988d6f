"""Hand-crafted face-image features for the classic baselines (SVM)."""

from __future__ import annotations

import cv2
import numpy as np

_HOG = {}


def hog_features(gray: np.ndarray, size: int = 48) -> np.ndarray:
    """Histogram of oriented gradients of a grayscale face crop.

    Parameters
    ----------
    gray : np.ndarray [shape=(H, W) or (n, H, W), dtype=uint8]
        One crop or a batch; resized to ``size`` x ``size``.
    size : int
        Working size in pixels (a multiple of 8).

    Returns
    -------
    np.ndarray [shape=(d,) or (n, d), dtype=float32]
        8x8-pixel cells, 16x16 blocks with 8-pixel stride, 9 orientations
        (d = 900 at 48 px).
    """
    if gray.ndim == 3:
        return np.stack([hog_features(g, size) for g in gray])
    if size not in _HOG:
        _HOG[size] = cv2.HOGDescriptor((size, size), (16, 16), (8, 8), (8, 8), 9)
    img = gray if gray.shape == (size, size) else cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
    return _HOG[size].compute(np.ascontiguousarray(img, dtype=np.uint8)).reshape(-1).astype(np.float32)
