"""Fixed-length features of every sample of a manifest, for the classic baselines.

* speech (``audio`` modality): :func:`emolab.preprocessing.audio.summary_features` (142-d);
* face images: HOG of the 48x48 grayscale image (900-d);
* text: the raw strings (vectorised by TF-IDF inside each training fold, never before).

Audio features are cached on disk by file content (:class:`emolab.cache.FeatureCache`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import FeatureCache
from ..errors import DataError, MediaError

AUDIO_SETTINGS = {"feature": "summary", "version": 1, "sr": 16000}


def feature_kind(manifest: pd.DataFrame) -> str:
    """``"audio"``, ``"image"`` or ``"text"``: what the baseline features of this manifest are."""
    mods = set(manifest["modalities"].astype(str))
    if mods <= {"text"} or (manifest["path"].astype(str).str.endswith((".tsv", ".csv")).all() and manifest["text"].astype(bool).all()):
        return "text"
    if mods <= {"audio"}:
        return "audio"
    if mods <= {"face"}:
        return "image"
    raise DataError(f"no baseline features for modalities {sorted(mods)}; use a single-modality manifest")


def baseline_features(manifest: pd.DataFrame, kind: str | None = None, cache: FeatureCache | None = None,
                      progress: bool = True) -> np.ndarray:
    """Feature matrix of a manifest's samples.

    Returns
    -------
    np.ndarray
        [shape=(n, 142)] float32 for audio, [shape=(n, 900)] float32 for images, or an object
        array of strings [shape=(n,)] for text.
    """
    from tqdm.auto import tqdm

    kind = kind or feature_kind(manifest)
    if kind == "text":
        return manifest["text"].astype(str).to_numpy(dtype=object)
    if kind == "audio":
        from .audio import load_audio, summary_features

        cache = cache or FeatureCache("summary")
        out = np.empty((len(manifest), 142), np.float32)
        for i, path in enumerate(tqdm(manifest["path"], desc="speech features", unit="file", disable=not progress, leave=False)):
            out[i] = cache.get_or_compute(path, AUDIO_SETTINGS, lambda p=path: summary_features(load_audio(p)))
        return out
    if kind == "image":
        import cv2

        from .image_features import hog_features

        out = np.empty((len(manifest), 900), np.float32)
        rows = manifest["row"] if "row" in manifest.columns else pd.Series([np.nan] * len(manifest))
        for i, (path, row) in enumerate(tqdm(list(zip(manifest["path"], rows)), desc="HOG features", unit="img",
                                             disable=not progress, leave=False)):
            if Path(path).suffix.lower() == ".csv" and not pd.isna(row):
                from ..data import load_fer2013_image

                img = load_fer2013_image(path, int(row))
            else:
                img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
                if img is None:
                    raise MediaError("cannot read image", path=path)
            out[i] = hog_features(img)
        return out
    raise DataError(f"unknown feature kind {kind!r}")
