"""Training-time augmentation: torch Datasets that perturb each sample as it is drawn.

* :class:`AugmentedFaces` - face images (flip, small affine, brightness and contrast; optionally the
  low resolution, blur and JPEG loss of a small face in a classroom frame);
* :class:`AugmentedSpectra` - speech features (SpecAugment-style time shift and masks).

Used by the training recipes (:func:`emolab.recipes.train_recipe`); torch and OpenCV are imported
when a sample is drawn, so importing this module stays cheap.
"""

from __future__ import annotations

import numpy as np


class AugmentedFaces:
    """A torch Dataset of face images with training-time augmentation.

    Parameters
    ----------
    images : np.ndarray [shape=(n, H, W), dtype=uint8]
    labels : np.ndarray [shape=(n,)] class indices
    augment : bool
        Random horizontal flip, rotation (±10°), shift (±8 %), scale (±10 %), brightness and
        contrast (±20 %).
    seed : int
    lowres : float
        Probability (0 to 1) that a face is also made to look like a small face of a classroom frame
        (only with ``augment``): shrunk to a random height of ``lowres_px`` pixels (uniform, aspect kept,
        ``cv2.INTER_AREA``), with probability ``blur_p`` blurred with a Gaussian of sigma uniform in
        0 to ``max_sigma`` pixels *of the H-pixel image* (applied at the small size, scaled by its
        ratio), with probability ``jpeg_p`` JPEG re-compressed at a quality uniform in ``jpeg_quality``,
        then scaled back to ``H x W`` with ``cv2.INTER_LINEAR``, as
        :func:`emolab.preprocessing.crops.crop_face` scales a small crop. 0 (default): off.
    lowres_px : tuple of int
        Smallest and largest height in pixels (inclusive) of the shrunk face; default 12 to 48.
    max_sigma : float
        Largest blur sigma in pixels at the full ``H``-pixel scale; default 1.5.
    jpeg_quality : tuple of int
        Lowest and highest JPEG quality (1 to 100, inclusive); default 30 to 90.
    blur_p, jpeg_p : float
        Probabilities (0 to 1) of the blur and of the JPEG step within a low-resolution draw; default 0.5 each.

    Notes
    -----
    The low-resolution step costs two resizes of a 48-px face (and a JPEG encode/decode when drawn), a
    few tens of microseconds per face; it runs on the uint8 image after the geometric and before the
    brightness/contrast augmentation. Draws come from one generator in order, so a run with
    ``num_workers=0`` is repeatable from its seed.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, augment: bool = True, seed: int = 0, lowres: float = 0.0,
                 lowres_px: tuple[int, int] = (12, 48), max_sigma: float = 1.5, jpeg_quality: tuple[int, int] = (30, 90),
                 blur_p: float = 0.5, jpeg_p: float = 0.5):
        if not 0.0 <= lowres <= 1.0:
            raise ValueError(f"lowres is a probability from 0 to 1, got {lowres}")
        self.images = images
        self.labels = np.asarray(labels, np.int64)
        self.augment = augment
        self.lowres, self.lowres_px, self.max_sigma = float(lowres), (int(lowres_px[0]), int(lowres_px[1])), float(max_sigma)
        self.jpeg_quality, self.blur_p, self.jpeg_p = (int(jpeg_quality[0]), int(jpeg_quality[1])), float(blur_p), float(jpeg_p)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def degrade(self, img: np.ndarray) -> np.ndarray:
        """One random low-resolution draw of a uint8 ``[H, W]`` face (see ``lowres``); returns ``[H, W]`` uint8."""
        import cv2

        r = self.rng
        h, w = img.shape
        size = int(r.integers(self.lowres_px[0], self.lowres_px[1] + 1))
        small = img if size >= h else cv2.resize(img, (max(1, round(size * w / h)), size), interpolation=cv2.INTER_AREA)
        if self.max_sigma > 0 and r.random() < self.blur_p:
            sigma = r.uniform(0.0, self.max_sigma) * min(size, h) / h
            if sigma > 0.1:
                small = cv2.GaussianBlur(small, (0, 0), sigma)
        if r.random() < self.jpeg_p:
            q = int(r.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
            small = cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_GRAYSCALE)
        return small if small.shape == img.shape else cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)

    def __getitem__(self, i: int):
        import cv2
        import torch

        img = self.images[i]
        if self.augment:
            r = self.rng
            h, w = img.shape
            if r.random() < 0.5:
                img = img[:, ::-1]
            M = cv2.getRotationMatrix2D((w / 2, h / 2), r.uniform(-10, 10), r.uniform(0.9, 1.1))
            M[:, 2] += r.uniform(-0.08, 0.08, 2) * (w, h)
            img = cv2.warpAffine(np.ascontiguousarray(img), M, (w, h), borderMode=cv2.BORDER_REFLECT)
            if self.lowres and r.random() < self.lowres:
                img = self.degrade(img)
            x = img.astype(np.float32) / 255.0
            x = np.clip((x - 0.5) * r.uniform(0.8, 1.2) + 0.5 + r.uniform(-0.2, 0.2), 0, 1)
        else:
            x = img.astype(np.float32) / 255.0
        return torch.from_numpy(np.ascontiguousarray(x))[None], torch.tensor(self.labels[i])


class AugmentedSpectra:
    """A torch Dataset of speech features with SpecAugment-style training-time augmentation.

    Parameters
    ----------
    features : np.ndarray [shape=(n, 1, F, T), dtype=float32]
        E.g. MFCC + Δ + ΔΔ stacked (:func:`emolab.preprocessing.inputs.speech_input`).
    labels : np.ndarray [shape=(n,)] class indices
    blocks : int
        Number of equal row blocks in ``F`` (3 for MFCC + Δ + ΔΔ): a masked coefficient is masked in every block.
    shift : int
        Largest time shift in frames (±; 30 = 0.3 s at a 10 ms hop), edges repeated.
    time_masks, time_width : int
        Number of time masks and their largest width in frames.
    freq_masks, freq_width : int
        Number of coefficient masks and their largest width in rows (per block).
    seed : int

    Notes
    -----
    Masked cells are set to the utterance's mean of each row. Draws come from one generator in order,
    so a training run with ``num_workers=0`` is repeatable from its seed (a run resumed from a
    checkpoint continues with fresh draws: nothing is lost, but it is not bit-identical to an
    uninterrupted one).
    """

    def __init__(self, features: np.ndarray, labels: np.ndarray, blocks: int = 3, shift: int = 30, time_masks: int = 2,
                 time_width: int = 25, freq_masks: int = 2, freq_width: int = 3, seed: int = 0):
        self.features = features
        self.labels = np.asarray(labels, np.int64)
        self.blocks, self.shift = blocks, shift
        self.time_masks, self.time_width, self.freq_masks, self.freq_width = time_masks, time_width, freq_masks, freq_width
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        import torch

        r = self.rng
        x = np.array(self.features[i], np.float32)  # [1, F, T], a copy
        F, T = x.shape[-2:]
        if self.shift:
            k = int(r.integers(-self.shift, self.shift + 1))
            if k > 0:
                x[..., k:] = x[..., :-k].copy()
                x[..., :k] = x[..., k:k + 1]
            elif k < 0:
                x[..., :k] = x[..., -k:].copy()
                x[..., k:] = x[..., k - 1:k]
        fill = x.mean(axis=-1, keepdims=True)  # [1, F, 1]
        for _ in range(self.time_masks):
            w = int(r.integers(0, self.time_width + 1))
            a = int(r.integers(0, max(1, T - w)))
            x[..., a:a + w] = fill
        rows = F // max(1, self.blocks)
        for _ in range(self.freq_masks):
            w = int(r.integers(0, self.freq_width + 1))
            a = int(r.integers(0, max(1, rows - w)))
            for b in range(self.blocks):
                x[:, b * rows + a:b * rows + a + w] = fill[:, b * rows + a:b * rows + a + w]
        return torch.from_numpy(x), torch.tensor(self.labels[i])
