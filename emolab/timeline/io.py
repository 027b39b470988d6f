"""Writing a lesson analysis: every file atomically, ``analysis.json`` last as the completion mark.

Nothing written names a place on the machine: ``analysis.json`` records the input files by name
and content hash (:func:`portable_info`), and a model file by its name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from ..atomic import write_csv, write_text
from ..errors import OutputError

OUTPUT_FILES = ("timeline.csv", "students.csv", "speech.csv", "utterances.csv", "alerts.csv", "faces.csv", "report.html", "analysis.json")


def write_analysis(analysis, out: str | os.PathLike, *, report: bool = True) -> Path:
    """Write the analysis tables, the report and ``analysis.json`` into ``out``.

    A previous run in ``out`` is replaced file by file; ``analysis.json`` is written last, so a
    folder holding it holds a complete analysis (batch runs use it to resume).
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror}", path=out) from None
    (out / "analysis.json").unlink(missing_ok=True)  # not complete until rewritten
    write_csv(out / "timeline.csv", analysis.timeline)
    write_csv(out / "students.csv", analysis.students)
    write_csv(out / "speech.csv", analysis.speech)
    write_csv(out / "utterances.csv", analysis.utterances)
    write_csv(out / "alerts.csv", analysis.alerts)
    write_csv(out / "faces.csv", analysis.faces)  # boxes and scores only, never pixels
    if report:
        from .report import render_report

        write_text(out / "report.html", render_report(analysis))
    meta = {**portable_info(analysis.info), "config": portable_config(analysis.config.to_dict()),
            "files": [f for f in OUTPUT_FILES if (out / f).exists() or f == "analysis.json"]}
    write_text(out / "analysis.json", json.dumps(meta, indent=2, default=str) + "\n")
    return out


def portable_info(info: dict) -> dict:
    """An analysis's ``info`` with its input files named, not located.

    Parameters
    ----------
    info : dict
        ``LessonAnalysis.info``; ``video`` and ``transcript`` hold paths (or ``""``).

    Returns
    -------
    dict
        A copy whose ``video`` and ``transcript`` are file names, with ``video_blake2b`` and
        ``transcript_blake2b``: the BLAKE2b hashes of the files' content (``""`` without a file; kept
        as they are when ``info`` has them already, e.g. from :func:`load_analysis`).
    """
    from ..cache import file_hash

    out = dict(info)
    for key in ("video", "transcript"):
        value = str(out.get(key) or "")
        if f"{key}_blake2b" not in out:
            out[f"{key}_blake2b"] = file_hash(value) if value and Path(value).is_file() else ""
        out[key] = Path(value).name if value else ""
    return out


def portable_config(config: dict) -> dict:
    """An ``AnalysisConfig.to_dict()`` whose ``model``, when a file, is named by its file name only."""
    from ..registry import LESSON_MODELS

    model = str(config.get("model", ""))
    return {**config, "model": model if model in LESSON_MODELS else Path(model).name}


def load_analysis(folder: str | os.PathLike):
    """Read an analysis written by :func:`write_analysis` back into a LessonAnalysis.

    Raises
    ------
    DataError
        If the folder holds no complete analysis (``analysis.json`` missing).
    """
    import pandas as pd

    from ..errors import DataError
    from .result import AnalysisConfig, LessonAnalysis

    folder = Path(folder)
    meta_file = folder / "analysis.json"
    if not meta_file.is_file():
        raise DataError("no complete analysis here (analysis.json is missing)", path=folder)
    meta = json.loads(meta_file.read_text())
    read = lambda name: pd.read_csv(folder / name, keep_default_na=True) if (folder / name).is_file() else pd.DataFrame()
    tables = {n: read(f"{n}.csv") for n in ("timeline", "students", "speech", "utterances", "alerts", "faces")}
    for k, cols in (("speech", ["person", "emotion", "reason"]), ("utterances", ["person"]), ("timeline", ["emotion", "reason", "modalities"]),
                    ("students", ["dominant_emotion", "unreadable_reason"]), ("faces", ["unreadable"])):
        for c in cols:
            if c in tables[k]:
                tables[k][c] = tables[k][c].fillna("")
    cfg = AnalysisConfig.from_dict(meta.pop("config", {}))
    meta.pop("files", None)
    meta.pop("fingerprint", None)
    return LessonAnalysis(info=meta, config=cfg, **tables)
