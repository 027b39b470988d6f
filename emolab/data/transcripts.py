"""Timed transcripts: SRT, WebVTT and CSV into one tidy table.

The table has columns ``start, end`` (seconds, float), ``speaker`` (str, may be empty) and
``text``, sorted by ``start``. A speaker given as a ``Name:`` prefix of the cue text, or a WebVTT
``<v Name>`` voice tag, is moved to ``speaker``.

Bad input: a timestamp that cannot be parsed, or a cue that ends before it starts, raises
:class:`~emolab.errors.DataError` naming the file and line. Overlapping cues are kept (people do
talk over each other) and flagged in an ``overlaps`` column. Files in another encoding than
UTF-8 (cp1252, latin-1) are decoded with a fallback.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .corpora._common import read_text_any

TRANSCRIPT_COLUMNS = ("start", "end", "speaker", "text", "overlaps")
_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")
_ARROW = re.compile(r"^\s*(\S+)\s*-->\s*(\S+)")
_VOICE = re.compile(r"^\s*<v\s+([^>]+)>")
_SPEAKER = re.compile(r"^\s*([A-Z][\w .'-]{0,30}):\s")


def parse_timestamp(text: str) -> float:
    """Seconds of ``HH:MM:SS,mmm``, ``HH:MM:SS.mmm``, ``MM:SS.mmm`` or a plain number of seconds.

    Raises
    ------
    ValueError
        If the text is none of these.
    """
    t = text.strip()
    try:
        value = float(t)
        if value >= 0 and np.isfinite(value):
            return value
    except ValueError:
        pass
    m = _TIME.match(t)
    if not m:
        raise ValueError(f"bad timestamp {text!r}")
    h, mnt, s, ms = m.groups()
    if int(mnt) >= 60 or int(s) >= 60:
        raise ValueError(f"bad timestamp {text!r}")
    return int(h or 0) * 3600 + int(mnt) * 60 + int(s) + (int(ms.ljust(3, "0")) / 1000.0 if ms else 0.0)


def read_transcript(path: str | Path) -> pd.DataFrame:
    """Read a timed transcript (``.srt``, ``.vtt`` or ``.csv``).

    A CSV needs columns ``start`` and ``end`` (seconds or timestamps) and ``text``; ``speaker``
    is optional.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRANSCRIPT_COLUMNS`, one row per cue, sorted by start time.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("transcript file not found", path=p)
    text = read_text_any(p)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        rows = _parse_csv(text, p)
    elif suffix in (".srt", ".vtt"):
        rows = _parse_cues(text, p)
    else:
        raise DataError("unsupported transcript type; use .srt, .vtt or .csv", path=p)
    frame = pd.DataFrame(rows, columns=["start", "end", "speaker", "text"])
    frame = frame.sort_values("start", kind="stable").reset_index(drop=True)
    ends = frame["end"].to_numpy()
    starts = frame["start"].to_numpy()
    prev_end = np.maximum.accumulate(np.r_[-np.inf, ends[:-1]]) if len(frame) else np.array([])
    frame["overlaps"] = starts < prev_end
    return frame


def _cue(start: str, end: str, body: list[str], path: Path, line: int) -> tuple[float, float, str, str]:
    try:
        s, e = parse_timestamp(start), parse_timestamp(end)
    except ValueError as exc:
        raise DataError(f"line {line}: {exc}", path=path) from None
    if e < s:
        raise DataError(f"line {line}: cue ends ({end}) before it starts ({start})", path=path)
    content = " ".join(x.strip() for x in body if x.strip())
    speaker = ""
    voice = _VOICE.match(content)
    if voice:
        speaker = voice.group(1).strip()
    content = re.sub(r"</?[^>]+>", "", content).strip()
    m = _SPEAKER.match(content)
    if m and not speaker:
        speaker = m.group(1).strip()
        content = content[m.end():].strip()
    return s, e, speaker, content


def _parse_cues(text: str, path: Path) -> list[tuple]:
    rows: list[tuple] = []
    lines = text.splitlines()
    i = 0
    found_arrow = False
    while i < len(lines):
        m = _ARROW.match(lines[i])
        if m:
            found_arrow = True
            start_line = i + 1
            body = []
            i += 1
            while i < len(lines) and lines[i].strip():
                body.append(lines[i])
                i += 1
            rows.append(_cue(m.group(1), m.group(2), body, path, start_line))
        elif "-->" in lines[i]:
            raise DataError(f"line {i + 1}: cannot read the timing line {lines[i].strip()!r}", path=path)
        i += 1
    if not found_arrow and text.strip():
        raise DataError("no timed cues found (expected lines like '00:00:01,000 --> 00:00:02,500')", path=path)
    return rows


def _parse_csv(text: str, path: Path) -> list[tuple]:
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
    missing = [c for c in ("start", "end", "text") if c not in cols]
    if missing:
        raise DataError(f"transcript CSV lacks column(s) {', '.join(missing)}", path=path)
    rows = []
    for n, rec in enumerate(reader, start=2):
        speaker = rec.get(cols.get("speaker", ""), "") or ""
        s, e, _, content = _cue(rec[cols["start"]] or "", rec[cols["end"]] or "", [rec[cols["text"]] or ""], path, n)
        rows.append((s, e, speaker.strip(), content))
    return rows


def write_srt(path: str | Path, transcript: pd.DataFrame) -> Path:
    """Write a transcript table (``start, end, text``, optional ``speaker``) as SRT, atomically."""
    from ..atomic import write_text

    def stamp(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = []
    for i, row in enumerate(transcript.itertuples(index=False), start=1):
        speaker = getattr(row, "speaker", "")
        text = f"{speaker}: {row.text}" if speaker else row.text
        blocks.append(f"{i}\n{stamp(row.start)} --> {stamp(row.end)}\n{text}\n")
    return write_text(path, "\n".join(blocks))
