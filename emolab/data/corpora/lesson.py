"""A classroom lesson: a video, optional separate audio, optional timed transcript, optional
annotations.

Layout: a folder holding one video (``lesson.mp4`` preferred), optionally ``*.wav``/``*.flac``
audio, a transcript (``*.srt``, ``*.vtt`` or ``transcript.csv``) and an annotation CSV
(``truth.csv`` as written by :mod:`emolab.synth`, or ``annotations.csv``). Annotations are either
per frame (``t, person, emotion``, ...) or per segment (``start, end, person, emotion``).

The manifest has one row per annotated segment of a person (consecutive frames with one emotion
become one segment, with ``start``/``end`` in seconds), so lessons can be pooled with corpora;
``group`` is the person within the lesson. Without annotations it has one unlabelled row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ...errors import DataError
from ...taxonomy import canonical_label
from ..manifest import make_manifest
from ._common import AUDIO_EXT, VIDEO_EXT


@dataclass(frozen=True)
class LessonFiles:
    """The files that make up one lesson recording (absent ones are None)."""

    video: Path
    audio: Optional[Path] = None
    transcript: Optional[Path] = None
    annotations: Optional[Path] = None


def find_lesson_files(path: str | Path) -> LessonFiles:
    """Locate a lesson's files from its folder or its video file.

    Raises
    ------
    DataError
        If there is no video.
    """
    p = Path(path).expanduser()
    if p.is_file():
        folder, video = p.parent, p
        if p.suffix.lower() not in VIDEO_EXT:
            raise DataError(f"not a video file (expected one of {', '.join(VIDEO_EXT)})", path=p)
    elif p.is_dir():
        folder = p
        videos = sorted(f for f in folder.iterdir() if f.suffix.lower() in VIDEO_EXT and not f.name.startswith("."))
        if not videos:
            raise DataError("no video found in the lesson folder", path=p, hint=f"expected one of {', '.join(VIDEO_EXT)}")
        video = next((v for v in videos if v.stem == "lesson"), videos[0])
    else:
        raise DataError("no such lesson file or folder", path=p)

    def first(cands):
        return next((c for c in cands if c.is_file()), None)

    stem = video.stem
    audio = first([folder / f"{stem}{e}" for e in AUDIO_EXT] + sorted(f for f in folder.iterdir() if f.suffix.lower() in AUDIO_EXT))
    transcript = first([folder / f"{stem}{e}" for e in (".srt", ".vtt")] + [folder / "transcript.csv"]
                       + sorted(f for f in folder.iterdir() if f.suffix.lower() in (".srt", ".vtt")))
    annotations = first([folder / "truth.csv", folder / "annotations.csv"])
    return LessonFiles(video=video, audio=audio, transcript=transcript, annotations=annotations)


def read_annotations(path: str | Path) -> pd.DataFrame:
    """Per-person emotion segments (``person, role, start, end, emotion``) from an annotation CSV."""
    p = Path(path)
    try:
        table = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read annotation CSV: {exc}", path=p) from None
    cols = set(table.columns)
    if {"person", "emotion"} - cols or not ({"t"} <= cols or {"start", "end"} <= cols):
        raise DataError("annotation CSV needs person, emotion and t (per frame) or start, end (per segment)", path=p)
    table["emotion"] = [canonical_label(e) for e in table["emotion"].astype(str)]
    if "role" not in cols:
        table["role"] = ""
    if {"start", "end"} <= cols:
        return table[["person", "role", "start", "end", "emotion"]].sort_values(["person", "start"]).reset_index(drop=True)
    times = np.sort(table["t"].unique())
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    table = table.sort_values(["person", "t"], kind="stable")
    change = (table["emotion"] != table.groupby("person")["emotion"].shift()) | (table["t"].diff() > 1.5 * dt)
    table["segment"] = change.cumsum()
    seg = table.groupby("segment").agg(person=("person", "first"), role=("role", "first"), start=("t", "min"),
                                       end=("t", "max"), emotion=("emotion", "first"))
    seg["end"] = seg["end"] + dt
    return seg.reset_index(drop=True)


def read_lesson(path: str | Path) -> pd.DataFrame:
    """Read a lesson into a manifest (one row per annotated person-segment)."""
    files = find_lesson_files(path)
    base = {"path": str(files.video), "audio_path": str(files.audio or ""), "transcript_path": str(files.transcript or ""),
            "modalities": "face+audio" + ("+text" if files.transcript else "")}
    lesson_id = files.video.parent.name or files.video.stem
    if files.annotations is None:
        rows = [{**base, "sample_id": lesson_id, "label": "", "raw_label": "", "group": f"{lesson_id}/all",
                 "subject_known": False, "start": 0.0, "end": float("nan"), "person": ""}]
    else:
        seg = read_annotations(files.annotations)
        rows = [{**base, "sample_id": f"{lesson_id}/{r.person}/{i:05d}", "label": r.emotion, "raw_label": r.emotion,
                 "group": f"{lesson_id}/{r.person}", "person": r.person, "role": r.role, "start": float(r.start),
                 "end": float(r.end)} for i, r in enumerate(seg.itertuples(index=False))]
    return make_manifest(rows, "lesson")
