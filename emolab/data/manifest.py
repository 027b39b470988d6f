"""The manifest: one tidy table of samples, whatever the corpus.

Every reader returns a :class:`pandas.DataFrame` with one row per sample and at least these
columns (:data:`MANIFEST_COLUMNS`):

=================  ==========================================================================
``sample_id``      unique id within the manifest (str)
``corpus``         corpus name (``"ravdess"``, ``"fer2013"``, ...)
``path``           the sample's main file (video, image, audio or CSV for in-file corpora)
``audio_path``     separate audio file, or empty
``text``           transcript text, or empty
``modalities``     ``+``-joined subset of ``face``, ``audio``, ``text`` (e.g. ``"face+audio"``)
``label``          canonical emotion (one of :data:`emolab.EMOTIONS`), or empty if unlabelled
``raw_label``      the label as the corpus writes it
``group``          the id whose samples must stay on one side of a split (subject, speaker,
                   dialogue); prefixed with the corpus name so corpora can be pooled
``subject_known``  False when the corpus has no subject ids (FER2013, GoEmotions): ``group``
                   is then per sample and a split on it is *not* subject-independent
``split``          the corpus's official split (``train``, ``dev``, ``test``), or empty
=================  ==========================================================================

Readers add corpus-specific columns after these (``speaker``, ``gender``, ``intensity``,
``start``, ``end``, ``dialogue``, ``row``, ...). Pixels and waveforms are never loaded into the
manifest: a 30k-image corpus is a table of paths, read in seconds.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd

from ..errors import DataError
from ..taxonomy import EMOTIONS

MANIFEST_COLUMNS: tuple[str, ...] = (
    "sample_id", "corpus", "path", "audio_path", "text", "modalities", "label", "raw_label",
    "group", "subject_known", "split",
)

_DEFAULTS = {"audio_path": "", "text": "", "raw_label": "", "split": "", "subject_known": True}


def make_manifest(rows: Iterable[Mapping] | pd.DataFrame, corpus: str) -> pd.DataFrame:
    """Assemble and check a manifest from reader rows.

    Parameters
    ----------
    rows : iterable of mappings, or DataFrame
        One per sample; must hold ``path``, ``label``, ``group`` and ``modalities``, may hold the
        other :data:`MANIFEST_COLUMNS` and any corpus-specific fields.
    corpus : str
        Corpus name, written to ``corpus`` and used to prefix ``group`` and ``sample_id``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MANIFEST_COLUMNS` first, then the extra fields, in reader order.

    Raises
    ------
    DataError
        If no rows were found, or the rows lack a required field.
    """
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty:
        raise DataError(f"no {corpus} samples were found")
    missing = [c for c in ("path", "label", "group", "modalities") if c not in frame.columns]
    if missing:
        raise DataError(f"{corpus} reader rows lack {', '.join(missing)}")
    frame["corpus"] = corpus
    for col, default in _DEFAULTS.items():
        if col not in frame.columns:
            frame[col] = default
    frame["group"] = corpus + ":" + frame["group"].astype(str)
    if "sample_id" not in frame.columns:
        frame["sample_id"] = [f"{corpus}:{i:06d}" for i in range(len(frame))]
    else:
        frame["sample_id"] = corpus + ":" + frame["sample_id"].astype(str)
    frame["label"] = frame["label"].fillna("").astype(str)
    bad = sorted(set(frame["label"]) - set(EMOTIONS) - {""})
    if bad:
        raise DataError(f"{corpus} reader produced non-canonical labels {bad}")
    if frame["sample_id"].duplicated().any():
        dup = frame.loc[frame["sample_id"].duplicated(), "sample_id"].iloc[0]
        raise DataError(f"{corpus}: duplicate sample id {dup!r}")
    extra = [c for c in frame.columns if c not in MANIFEST_COLUMNS]
    return frame[list(MANIFEST_COLUMNS) + extra].reset_index(drop=True)


def validate_manifest(manifest: pd.DataFrame) -> pd.DataFrame:
    """Check that a table is a manifest (columns, canonical labels, unique ids); return it.

    Raises
    ------
    DataError
        Naming the first problem found (an empty manifest is one).
    """
    if not isinstance(manifest, pd.DataFrame):
        raise DataError("a manifest must be a pandas DataFrame")
    if manifest.empty:
        raise DataError("the manifest is empty: no samples to work on")
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise DataError(f"the manifest lacks the column(s) {', '.join(missing)}")
    bad = sorted(set(manifest["label"].astype(str)) - set(EMOTIONS) - {""})
    if bad:
        raise DataError(f"the manifest has non-canonical labels {bad}")
    if manifest["sample_id"].duplicated().any():
        raise DataError("the manifest has duplicate sample ids")
    return manifest


def concat_manifests(manifests: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Pool several corpora into one manifest (groups stay distinct thanks to their prefix)."""
    frames = [validate_manifest(m) for m in manifests]
    if not frames:
        raise DataError("no manifests to combine")
    out = pd.concat(frames, ignore_index=True, sort=False)
    return validate_manifest(out)
