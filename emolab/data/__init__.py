"""Data: corpus readers into one tidy manifest, transcripts, and splits that cannot leak.

>>> from emolab.data import read_corpus, group_kfold          # doctest: +SKIP
>>> manifest = read_corpus("ravdess", "~/corpora/RAVDESS")   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from .corpora import ALIASES, READERS, LessonFiles, find_lesson_files, load_fer2013_image, read_annotations
from .manifest import MANIFEST_COLUMNS, concat_manifests, make_manifest, validate_manifest
from .splits import check_no_leak, group_holdout, group_kfold, leave_one_subject_out, split_by_column
from .summary import label_table, summarize
from .transcripts import read_transcript, write_srt


def read_corpus(name: str, path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """Read a corpus by name from the folder where the user unpacked it.

    Parameters
    ----------
    name : str
        One of ``meld, enterface, ravdess, ckplus, fer2013, tess, cremad, emodb, goemotions,
        folder, lesson`` (aliases such as ``crema-d``, ``emo-db``, ``ck+`` work).
    path : path
        The corpus's root folder (or file, for ``fer2013.csv`` and a lesson video).
    **kwargs
        Passed to the reader (e.g. ``vocal_channel="speech"`` for RAVDESS).

    Returns
    -------
    pandas.DataFrame
        The manifest (see :mod:`emolab.data.manifest`).
    """
    key = ALIASES.get(name.lower(), name.lower())
    if key not in READERS:
        raise DataError(f"unknown corpus {name!r}; known: {', '.join(sorted(READERS))}")
    return READERS[key](path, **kwargs)


def available_corpora() -> dict[str, str]:
    """Corpus name -> first line of its reader's docstring."""
    return {k: (f.__doc__ or "").strip().splitlines()[0] for k, f in READERS.items()}


__all__ = [
    "MANIFEST_COLUMNS", "READERS", "LessonFiles", "available_corpora", "check_no_leak", "concat_manifests",
    "find_lesson_files", "group_holdout", "group_kfold", "label_table", "leave_one_subject_out",
    "load_fer2013_image", "make_manifest", "read_annotations", "read_corpus", "read_transcript", "split_by_column",
    "summarize", "validate_manifest", "write_srt",
]
