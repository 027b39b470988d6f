"""A generic folder-per-class layout: ``root/<label>/<file>`` (images, audio or video).

Useful for a user's own data. Labels are mapped through the taxonomy (``label_map`` for your
own names). Groups come from a regular expression on the file name (``group_pattern``, its
first capture group), else from a sub-folder level, else each file is its own group (and
``subject_known`` is False).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from ...errors import DataError

from ..manifest import make_manifest
from ._common import AUDIO_EXT, IMAGE_EXT, VIDEO_EXT, label_for, require_dir, walk_files


def read_folder(root: str | Path, label_map: Mapping[str, str] | None = None, group_pattern: str | None = None,
                corpus: str = "folder") -> pd.DataFrame:
    """Read ``root/<label>/...`` into a manifest.

    Parameters
    ----------
    root : path
        Folder whose sub-folders are class names (an optional ``train``/``test`` level above them
        becomes ``split``).
    label_map : mapping, optional
        Your folder names -> canonical emotions, for names the taxonomy does not know.
    group_pattern : str, optional
        Regex whose first group, searched in the file name, is the subject id.
    corpus : str
        Name written to the manifest.
    """
    folder = require_dir(root, corpus, "expected <root>/<label>/<files>")
    pattern = re.compile(group_pattern) if group_pattern else None
    splits = {"train", "training", "val", "validation", "dev", "test"}
    rows = []
    for path in walk_files(folder, IMAGE_EXT + AUDIO_EXT + VIDEO_EXT):
        parts = path.relative_to(folder).parts
        if len(parts) < 2:
            continue
        split = parts[0].lower() if parts[0].lower() in splits and len(parts) >= 3 else ""
        raw = parts[1] if split else parts[0]
        ext = path.suffix.lower()
        mods = "face" if ext in IMAGE_EXT else "audio" if ext in AUDIO_EXT else "face+audio"
        group, known = None, False
        if pattern:
            m = pattern.search(path.name)
            if m is None:
                raise DataError(f"group_pattern {group_pattern!r} does not match the file name", path=path)
            group, known = m.group(1) if m.groups() else m.group(0), True
        rows.append({"sample_id": path.relative_to(folder).as_posix(), "path": str(path), "modalities": mods,
                     "label": label_for(raw, path, label_map), "raw_label": raw,
                     "group": group if group is not None else path.relative_to(folder).as_posix(),
                     "subject_known": known, "split": {"training": "train", "val": "validation"}.get(split, split)})
    if not rows:
        raise DataError("no labelled files found", path=folder, hint="expected <root>/<label>/<files>")
    return make_manifest(rows, corpus)
