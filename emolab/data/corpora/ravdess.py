"""RAVDESS (Livingstone & Russo, 2018): ``Actor_NN/MM-VV-EE-II-SS-RR-AA.ext``.

Fields of the file name: modality (01 audio-video, 02 video-only, 03 audio-only), vocal channel
(01 speech, 02 song), emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful,
07 disgust, 08 surprised), intensity (01 normal, 02 strong), statement (01 "Kids are talking by
the door", 02 "Dogs are sitting by the door"), repetition, actor (odd = male, even = female).
Subject-independent splits use ``group`` = actor.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from ...taxonomy import canonical_label
from ..manifest import make_manifest
from ._common import AUDIO_EXT, VIDEO_EXT, require_dir, walk_files

EMOTION_CODES = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                 "06": "fearful", "07": "disgust", "08": "surprised"}
MODALITY_CODES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
CHANNEL_CODES = {"01": "speech", "02": "song"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")


def parse_ravdess_name(name: str) -> dict | None:
    """Fields of a RAVDESS file stem such as ``"03-01-05-02-01-01-12"``, or None if not one."""
    m = _NAME.match(name)
    if not m or m.group(3) not in EMOTION_CODES or m.group(1) not in MODALITY_CODES:
        return None
    mod, chan, emo, inten, stmt, rep, actor = m.groups()
    return {
        "modality": MODALITY_CODES[mod], "vocal_channel": CHANNEL_CODES.get(chan, chan),
        "raw_label": EMOTION_CODES[emo], "intensity": "strong" if inten == "02" else "normal",
        "statement": STATEMENTS.get(stmt, stmt), "repetition": int(rep), "actor": int(actor),
        "gender": "male" if int(actor) % 2 else "female",
    }


def read_ravdess(root: str | Path, vocal_channel: str | None = None) -> pd.DataFrame:
    """Read RAVDESS (audio-only and/or audio-visual files) into a manifest.

    Parameters
    ----------
    root : path
        Folder holding the ``Actor_NN`` folders (any depth).
    vocal_channel : {"speech", "song"}, optional
        Keep only one vocal channel.

    Returns
    -------
    pandas.DataFrame
        Manifest with extra columns ``modality, vocal_channel, intensity, statement, repetition,
        actor, gender``. ``group`` is the actor; RAVDESS has no official split.
    """
    folder = require_dir(root, "RAVDESS", "point to the folder that holds Actor_01 ... Actor_24")
    rows, skipped = [], []
    for path in walk_files(folder, AUDIO_EXT + VIDEO_EXT):
        fields = parse_ravdess_name(path.stem)
        if fields is None:
            skipped.append(path.name)
            continue
        if vocal_channel and fields["vocal_channel"] != vocal_channel:
            continue
        mods = {"audio-video": "face+audio", "video-only": "face", "audio-only": "audio"}[fields["modality"]]
        rows.append({
            "sample_id": path.stem, "path": str(path), "modalities": mods,
            "text": fields["statement"], "label": canonical_label(fields["raw_label"]),
            "group": f"actor{fields['actor']:02d}", **fields,
        })
    if skipped:
        warnings.warn(f"RAVDESS: skipped {len(skipped)} file(s) whose names are not RAVDESS codes, e.g. {skipped[0]}", stacklevel=2)
    return make_manifest(rows, "ravdess")
