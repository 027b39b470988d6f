"""Face-video and face-image corpora: eNTERFACE'05 and CK+ (full sequences and CK+48 crops).

* **eNTERFACE'05**: ``subject N/<emotion>/sentence K/sN_<code>_K.avi`` (subject 6 has no sentence
  folders); codes an, di, fe, ha, sa, su. ``group`` = subject.
* **CK+** (Lucey et al., 2010): ``cohn-kanade-images/S005/001/S005_001_00000001.png`` image
  sequences (neutral -> apex) and ``Emotion/S005/001/S005_001_000000NN_emotion.txt`` holding one
  code (0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise). One
  row per *labelled* sequence; ``path`` is the apex (last) frame, ``sequence_dir`` the folder.
* **CK+48**: ``CK+48/<class>/S010_004_00000017.png`` crops; subject from the file name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from ...errors import DataError
from ...taxonomy import canonical_label
from ..manifest import make_manifest
from ._common import IMAGE_EXT, VIDEO_EXT, label_for, require_dir, walk_files

ENTERFACE_CODES = {"an": "anger", "di": "disgust", "fe": "fear", "ha": "happiness", "sa": "sadness", "su": "surprise"}
CKPLUS_CODES = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy", 6: "sadness", 7: "surprise"}
_ENTER = re.compile(r"^s_?(\d+)_([a-z]{2})_?(\d+)", re.IGNORECASE)
_CK_FILE = re.compile(r"^(S\d{3})_(\d{3})_(\d+)")


def read_enterface(root: str | Path) -> pd.DataFrame:
    """Read eNTERFACE'05 audio-visual clips (extra columns ``subject, sentence``)."""
    folder = require_dir(root, "eNTERFACE'05", "point to the folder holding 'subject 1' ... 'subject 44'")
    rows = []
    for path in walk_files(folder, VIDEO_EXT):
        m = _ENTER.match(path.stem)
        parents = [p.lower() for p in path.relative_to(folder).parts[:-1]]
        subj = next((re.sub(r"\D", "", p) for p in parents if p.startswith("subject")), None)
        emo = next((p for p in parents if p in ENTERFACE_CODES.values()), None)
        if m:
            subj = subj or m.group(1)
            emo = ENTERFACE_CODES.get(m.group(2).lower(), emo)
        if not subj or not emo:
            continue
        sentence = int(m.group(3)) if m else int(next((re.sub(r"\D", "", p) for p in parents if p.startswith("sentence")), "0") or 0)
        rows.append({"sample_id": path.relative_to(folder).as_posix(), "path": str(path), "modalities": "face+audio",
                     "label": canonical_label(emo), "raw_label": emo, "group": f"subject{int(subj):02d}",
                     "subject": int(subj), "sentence": sentence})
    if not rows:
        raise DataError("no eNTERFACE'05 clips found", path=folder, hint="expected 'subject N/<emotion>/sentence K/sN_xx_K.avi'")
    return make_manifest(rows, "enterface")


def read_ckplus(root: str | Path) -> pd.DataFrame:
    """Read CK+ image sequences with their ``Emotion/`` label files, or the CK+48 class folders.

    Returns
    -------
    pandas.DataFrame
        Full CK+: one row per labelled sequence, extra columns ``subject, sequence,
        sequence_dir, n_frames, neutral_path``. CK+48: one row per image, ``subject``.
    """
    folder = require_dir(root, "CK+", "point to the folder holding cohn-kanade-images/ and Emotion/, or CK+48/")
    images_dir = next((folder / d for d in ("cohn-kanade-images", "cohn-kanade") if (folder / d).is_dir()), None)
    emotion_dir = folder / "Emotion"
    if images_dir is not None and emotion_dir.is_dir():
        return _read_ckplus_sequences(images_dir, emotion_dir)
    rows = []
    for path in walk_files(folder, IMAGE_EXT):
        m = _CK_FILE.match(path.stem)
        if not m:
            continue
        raw = path.parent.name
        rows.append({"sample_id": path.stem, "path": str(path), "modalities": "face", "label": label_for(raw, path),
                     "raw_label": raw, "group": m.group(1), "subject": m.group(1), "sequence": m.group(2)})
    if not rows:
        raise DataError("no CK+ data found", path=folder, hint="expected cohn-kanade-images/ + Emotion/, or CK+48/<class>/S010_004_*.png")
    return make_manifest(rows, "ckplus")


def _read_ckplus_sequences(images_dir: Path, emotion_dir: Path) -> pd.DataFrame:
    rows = []
    for label_file in walk_files(emotion_dir, (".txt",)):
        m = _CK_FILE.match(label_file.stem)
        if not m:
            continue
        subject, seq = m.group(1), m.group(2)
        text = label_file.read_text(errors="replace").strip()
        try:
            code = int(float(text))
            raw = CKPLUS_CODES[code]
        except (ValueError, KeyError):
            raise DataError(f"label file holds {text!r}, not a CK+ emotion code 0-7", path=label_file) from None
        seq_dir = images_dir / subject / seq
        frames = sorted(e.path for e in os.scandir(seq_dir) if e.name.lower().endswith(IMAGE_EXT)) if seq_dir.is_dir() else []
        if not frames:
            raise DataError("label file has no image sequence beside it", path=label_file, hint=f"expected images in {seq_dir}")
        rows.append({"sample_id": f"{subject}_{seq}", "path": frames[-1], "modalities": "face", "label": canonical_label(raw),
                     "raw_label": raw, "group": subject, "subject": subject, "sequence": seq,
                     "sequence_dir": str(seq_dir), "n_frames": len(frames), "neutral_path": frames[0]})
    if not rows:
        raise DataError("no CK+ emotion label files found", path=emotion_dir)
    return make_manifest(rows, "ckplus")
