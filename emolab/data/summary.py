"""Counts per label, split and subject of a manifest (``emolab data summary``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..taxonomy import EMOTIONS
from .manifest import validate_manifest


def summarize(manifest: pd.DataFrame) -> dict[str, Any]:
    """A JSON-able summary of a manifest.

    Returns
    -------
    dict
        ``n_samples``, ``labels`` (canonical label -> count, in :data:`EMOTIONS` order, plus
        ``"unlabelled"`` if any), ``raw_labels``, ``n_groups``, ``subject_known``, ``splits``
        (split -> {label: count}), ``modalities`` and ``corpora`` counts.
    """
    m = validate_manifest(manifest)
    counts = m["label"].value_counts()
    labels = {e: int(counts[e]) for e in EMOTIONS if e in counts}
    if "" in counts:
        labels["unlabelled"] = int(counts[""])
    splits = {}
    for split, part in m.groupby(m["split"].astype(str).replace("", "(none)"), sort=True):
        c = part["label"].value_counts()
        splits[split] = {"n_samples": int(len(part)), "labels": {e: int(c[e]) for e in EMOTIONS if e in c}}
    per_group = m.groupby("group").size()
    return {
        "n_samples": int(len(m)),
        "labels": labels,
        "raw_labels": {str(k): int(v) for k, v in m["raw_label"].value_counts().sort_index().items()},
        "n_groups": int(m["group"].nunique()),
        "subject_known": bool(m["subject_known"].astype(bool).all()),
        "samples_per_group": {"min": int(per_group.min()), "median": float(per_group.median()), "max": int(per_group.max())},
        "splits": splits,
        "modalities": {str(k): int(v) for k, v in m["modalities"].value_counts().items()},
        "corpora": {str(k): int(v) for k, v in m["corpus"].value_counts().items()},
    }


def label_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Tidy counts: one row per (split, label) with columns ``split, label, count, share``."""
    m = validate_manifest(manifest)
    t = m.groupby([m["split"].astype(str), "label"]).size().rename("count").reset_index()
    t["share"] = t["count"] / t.groupby("split")["count"].transform("sum")
    return t


def format_summary(summary: dict[str, Any]) -> str:
    """Plain-text rendering of :func:`summarize` for the terminal."""
    lines = [f"{summary['n_samples']} samples, {summary['n_groups']} groups "
             f"({'subject ids known' if summary['subject_known'] else 'NO subject ids: use the official split'})"]
    lines.append("labels:")
    total = summary["n_samples"]
    for label, n in summary["labels"].items():
        lines.append(f"  {label:<12} {n:>7}  {100 * n / total:5.1f}%")
    lines.append("splits:")
    for split, info in summary["splits"].items():
        lines.append(f"  {split:<12} {info['n_samples']:>7}")
    g = summary["samples_per_group"]
    lines.append(f"samples per group: min {g['min']}, median {g['median']:g}, max {g['max']}")
    lines.append("modalities: " + ", ".join(f"{k} {v}" for k, v in summary["modalities"].items()))
    return "\n".join(lines)
