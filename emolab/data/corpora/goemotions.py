"""GoEmotions (Demszky et al., 2020): ``train.tsv``, ``dev.tsv``, ``test.tsv`` and ``labels.txt``.

Each TSV line is ``text <TAB> comma-separated label ids <TAB> comment id`` with no header. The
ids index ``labels.txt`` (28 labels in the original release, 7 in the Ekman grouping). The
manifest keeps every label (``raw_labels``, ``;``-joined; ``n_labels``) and takes as ``label``
the canonical emotion of the first; ``labels`` holds the ``;``-joined set of canonical emotions
for multi-label work. Comments have no author ids: ``subject_known`` is False.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import DataError
from ...taxonomy import EMOTIONS, GOEMOTIONS_LABELS, canonical_label
from ..manifest import make_manifest
from ._common import read_text_any, require_dir

EKMAN_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")


def read_goemotions(root: str | Path, splits: tuple[str, ...] = ("train", "dev", "test")) -> pd.DataFrame:
    """Read GoEmotions (original 28 labels or Ekman grouping) into a multi-label manifest.

    Parameters
    ----------
    root : path
        Folder holding the TSVs and, ideally, ``labels.txt``. Without it, 28 ids mean the
        original labels and at most 7 mean the Ekman grouping.
    """
    folder = require_dir(root, "GoEmotions", "point to the folder holding train.tsv, dev.tsv, labels.txt")
    labels_file = folder / "labels.txt"
    names = None
    if labels_file.is_file():
        names = [x.strip() for x in read_text_any(labels_file).splitlines() if x.strip()]
    rows = []
    found = False
    for split in splits:
        path = folder / f"{split}.tsv"
        if not path.is_file():
            continue
        found = True
        lines = read_text_any(path).splitlines()
        if names is None:
            max_id = max((int(i) for ln in lines if ln.count("\t") >= 1 for i in ln.split("\t")[1].split(",") if i.strip().isdigit()), default=0)
            names = list(EKMAN_LABELS) if max_id < 7 else list(GOEMOTIONS_LABELS)
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 3:
                raise DataError(f"line {n}: expected text, label ids and id separated by tabs", path=path)
            text, ids, cid = parts[0], parts[1], parts[2].strip()
            try:
                raw = [names[int(i)] for i in ids.split(",")]
            except (ValueError, IndexError):
                raise DataError(f"line {n}: label ids {ids!r} do not index labels.txt ({len(names)} labels)", path=path) from None
            canon = [canonical_label(r) for r in raw]
            uniq = [e for e in EMOTIONS if e in canon]
            rows.append({
                "sample_id": f"{split}/{cid}", "path": str(path), "text": text, "modalities": "text",
                "label": canon[0], "raw_label": raw[0], "raw_labels": ";".join(raw), "labels": ";".join(uniq),
                "n_labels": len(raw), "group": cid, "subject_known": False, "split": split,
            })
    if not found:
        raise DataError("no GoEmotions TSV found", path=folder, hint="expected train.tsv, dev.tsv or test.tsv")
    return make_manifest(rows, "goemotions")
