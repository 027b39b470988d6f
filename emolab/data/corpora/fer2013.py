"""FER2013 (Goodfellow et al., 2013): the original ``fer2013.csv`` or the folder-per-class layout.

* CSV: columns ``emotion`` (0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral),
  ``pixels`` (2304 space-separated grey levels, 48x48) and ``Usage`` (Training, PublicTest,
  PrivateTest -> split train, validation, test). The manifest keeps the CSV path and the ``row``
  number; :func:`load_fer2013_image` reads one row's pixels lazily.
* Folders: ``train|validation|test/<class>/*.jpg`` (the Kaggle re-packaging).

FER2013 has no subject ids: ``subject_known`` is False and ``group`` is per image, so use the
official split (validation = PublicTest), never a random one claimed subject-independent.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import DataError
from ...taxonomy import canonical_label
from ..manifest import make_manifest
from ._common import IMAGE_EXT, label_for, require_dir

CSV_CODES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGE = {"training": "train", "publictest": "validation", "privatetest": "test"}
FOLDER_SPLITS = {"train": "train", "training": "train", "validation": "validation", "val": "validation",
                 "publictest": "validation", "test": "test", "privatetest": "test"}


def read_fer2013(root: str | Path) -> pd.DataFrame:
    """Read FER2013 from ``fer2013.csv`` (file or folder holding it) or from class folders.

    Returns
    -------
    pandas.DataFrame
        Manifest; extra column ``row`` (CSV layout) giving the line's index among the samples.
    """
    p = Path(root).expanduser()
    csv_path = p if p.is_file() else p / "fer2013.csv"
    if csv_path.is_file():
        return _read_csv(csv_path)
    folder = require_dir(p, "FER2013", "give fer2013.csv or the folder holding train/ and validation/ (or test/)")
    rows = []
    for split_dir in sorted(os.scandir(folder), key=lambda e: e.name):
        split = FOLDER_SPLITS.get(split_dir.name.lower())
        if split is None or not split_dir.is_dir():
            continue
        for class_dir in sorted(os.scandir(split_dir.path), key=lambda e: e.name):
            if not class_dir.is_dir():
                continue
            label = label_for(class_dir.name, class_dir.path)
            for entry in sorted(os.scandir(class_dir.path), key=lambda e: e.name):
                if entry.name.lower().endswith(IMAGE_EXT):
                    sid = f"{split}/{class_dir.name}/{Path(entry.name).stem}"
                    rows.append((sid, entry.path, label, class_dir.name, sid, split))
    if not rows:
        raise DataError("no FER2013 images found", path=folder,
                        hint="expected train/<class>/*.jpg and validation/<class>/*.jpg, or fer2013.csv")
    frame = pd.DataFrame(rows, columns=["sample_id", "path", "label", "raw_label", "group", "split"])
    frame["modalities"] = "face"
    frame["subject_known"] = False
    return make_manifest(frame, "fer2013")


def _read_csv(path: Path) -> pd.DataFrame:
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        if not {"emotion", "pixels"} <= set(header):
            raise DataError("not a FER2013 CSV: expected columns emotion, pixels, Usage", path=path)
        ie, iu = header.index("emotion"), header.index("usage") if "usage" in header else None
        for n, line in enumerate(reader, start=2):
            if not line:
                continue
            try:
                code = int(line[ie])
                raw = CSV_CODES[code]
            except (ValueError, IndexError):
                raise DataError(f"line {n}: emotion code {line[ie] if len(line) > ie else ''!r} is not 0-6", path=path) from None
            usage = USAGE.get(line[iu].strip().lower(), line[iu].strip()) if iu is not None and len(line) > iu else ""
            idx = len(rows)
            rows.append((f"row{idx:05d}", str(path), canonical_label(raw), raw, f"row{idx:05d}", usage, idx))
    frame = pd.DataFrame(rows, columns=["sample_id", "path", "label", "raw_label", "group", "split", "row"])
    frame["modalities"] = "face"
    frame["subject_known"] = False
    return make_manifest(frame, "fer2013")


def load_fer2013_image(path: str | Path, row: int) -> np.ndarray:
    """Pixels of one sample of ``fer2013.csv``.

    Returns
    -------
    np.ndarray [shape=(48, 48), dtype=uint8]
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        ip = header.index("pixels")
        for i, line in enumerate(reader):
            if i == row:
                values = np.array(line[ip].split(), dtype=np.uint8)
                if values.size != 48 * 48:
                    raise DataError(f"line {row + 2}: expected 2304 pixels, found {values.size}", path=path)
                return values.reshape(48, 48)
    raise DataError(f"row {row} does not exist", path=path)
