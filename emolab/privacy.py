"""Privacy helpers: what leaves emolab about a person is blurred first."""

from __future__ import annotations

import numpy as np


def blur_face(img: np.ndarray, strength: float = 0.25) -> np.ndarray:
    """Blur an image so that no face in it is recognisable (kernel = ``strength`` x its size)."""
    import cv2

    k = int(max(img.shape[:2]) * strength) | 1
    out = cv2.GaussianBlur(img, (k, k), 0)
    return cv2.GaussianBlur(out, (k, k), 0)
