"""MELD (Poria et al., 2019): ``{train,dev,test}_sent_emo.csv`` and ``dia{D}_utt{U}.mp4`` clips.

The CSVs have columns ``Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID,
Utterance_ID, Season, Episode, StartTime, EndTime``. Clips live in ``train_splits/``,
``dev_splits_complete/`` and ``output_repeated_splits_test/`` (any depth below the root); rows whose
clip is absent are kept as text-only samples. ``group`` is the dialogue (split-prefixed, since
dialogue ids restart in each split), so a split never cuts a conversation.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ...errors import DataError

from ..manifest import make_manifest
from ._common import label_for, read_text_any, require_dir, walk_files

SPLIT_FILES = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}
REQUIRED = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")


def _timestamp(text: str) -> float:
    """Seconds of MELD's ``HH:MM:SS,mmm`` timestamps (NaN if malformed)."""
    try:
        hms, _, ms = text.strip().partition(",")
        h, m, s = (int(x) for x in hms.split(":"))
        return h * 3600 + m * 60 + s + int(ms or 0) / 1000.0
    except ValueError:
        return float("nan")


def read_meld(root: str | Path, splits: tuple[str, ...] = ("train", "dev", "test")) -> pd.DataFrame:
    """Read MELD's utterances (text, speaker, dialogue, times) and link their video clips.

    Parameters
    ----------
    root : path
        Folder holding the ``*_sent_emo.csv`` files (and optionally the clip folders).
    splits : tuple of str
        Which official splits to read; missing CSVs of requested splits are skipped.

    Returns
    -------
    pandas.DataFrame
        Manifest with extra columns ``speaker, dialogue, utterance, sentiment, start, end``.
    """
    folder = require_dir(root, "MELD", "point to the folder with train_sent_emo.csv, dev_sent_emo.csv, ...")
    clips = {p.stem: p for p in walk_files(folder, (".mp4",)) if p.stem.startswith("dia")}
    rows = []
    found = False
    for split in splits:
        csv_path = folder / SPLIT_FILES[split]
        if not csv_path.is_file():
            continue
        found = True
        reader = csv.DictReader(io.StringIO(read_text_any(csv_path)))
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"not a MELD CSV: missing column(s) {', '.join(missing)}", path=csv_path)
        for n, rec in enumerate(reader, start=2):
            try:
                dia, utt = int(rec["Dialogue_ID"]), int(rec["Utterance_ID"])
            except (TypeError, ValueError):
                raise DataError(f"line {n}: Dialogue_ID/Utterance_ID must be integers", path=csv_path) from None
            clip = clips.get(f"dia{dia}_utt{utt}")
            rows.append({
                "sample_id": f"{split}/dia{dia}_utt{utt}",
                "path": str(clip) if clip else "",
                "text": rec["Utterance"], "modalities": "face+audio+text" if clip else "text",
                "label": label_for(rec["Emotion"], f"{csv_path}, line {n}"), "raw_label": rec["Emotion"],
                "group": f"{split}_dia{dia}", "split": split, "speaker": rec["Speaker"],
                "dialogue": dia, "utterance": utt, "sentiment": rec.get("Sentiment", ""),
                "start": _timestamp(rec.get("StartTime", "") or ""), "end": _timestamp(rec.get("EndTime", "") or ""),
            })
    if not found:
        raise DataError("no MELD CSV found", path=folder, hint=f"expected one of {', '.join(SPLIT_FILES.values())}")
    return make_manifest(rows, "meld")
