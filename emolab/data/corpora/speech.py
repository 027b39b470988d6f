"""Acted speech corpora whose labels live in file names: TESS, CREMA-D and Emo-DB.

* **TESS** (Toronto emotional speech set): ``OAF_<word>_<emotion>.wav`` / ``YAF_...``, in class
  folders; 2 speakers (OAF older, YAF younger, both female); ``ps`` = pleasant surprise.
* **CREMA-D**: ``AudioWAV/1001_DFA_ANG_XX.wav`` = actor _ sentence _ emotion (ANG, DIS, FEA, HAP,
  NEU, SAD) _ level (LO, MD, HI, XX unspecified); optional ``VideoDemographics.csv`` adds sex/age.
* **Emo-DB** (Berlin): ``wav/03a01Fa.wav`` = speaker (03..16), text (a01..b10), emotion letter
  (W anger, L boredom, E disgust, A fear, F happiness, T sadness, N neutral), version.

``group`` is the speaker in all three.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import pandas as pd

from ...taxonomy import canonical_label
from ..manifest import make_manifest
from ._common import AUDIO_EXT, VIDEO_EXT, read_text_any, require_dir, walk_files

TESS_EMOTIONS = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
                 "neutral": "neutral", "ps": "pleasant surprise", "sad": "sad"}
CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified", "X": "unspecified"}
EMODB_EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness", "N": "neutral"}
EMODB_MALE = {"03", "10", "11", "12", "15"}
_EMODB = re.compile(r"^(\d{2})([ab]\d{2})([WLEAFTN])([a-z])$")
_CREMAD = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})$")


def _warn_skipped(corpus: str, skipped: list[str]) -> None:
    if skipped:
        warnings.warn(f"{corpus}: skipped {len(skipped)} file(s) with names outside the corpus's scheme, e.g. {skipped[0]}", stacklevel=3)


def read_tess(root: str | Path) -> pd.DataFrame:
    """Read TESS into a manifest (extra columns ``speaker, word``)."""
    folder = require_dir(root, "TESS", "point to the folder holding OAF_*/YAF_* class folders or wav files")
    rows, skipped = [], []
    for path in walk_files(folder, AUDIO_EXT):
        parts = path.stem.split("_")
        if len(parts) < 3 or parts[0].upper() not in ("OAF", "YAF") or parts[-1].lower() not in TESS_EMOTIONS:
            skipped.append(path.name)
            continue
        raw = TESS_EMOTIONS[parts[-1].lower()]
        speaker = parts[0].upper()
        rows.append({"sample_id": path.stem, "path": str(path), "modalities": "audio", "text": "_".join(parts[1:-1]),
                     "label": canonical_label(raw), "raw_label": raw, "group": speaker, "speaker": speaker,
                     "word": "_".join(parts[1:-1]), "gender": "female"})
    _warn_skipped("TESS", skipped)
    return make_manifest(rows, "tess")


def read_cremad(root: str | Path) -> pd.DataFrame:
    """Read CREMA-D audio (``AudioWAV``) and/or video (``VideoFlash``, ``VideoMP4``) clips."""
    folder = require_dir(root, "CREMA-D", "point to the CREMA-D folder holding AudioWAV/")
    demo = {}
    demo_file = next(iter(walk_files(folder, (".csv",))), None)
    if demo_file is not None and demo_file.name.lower() == "videodemographics.csv":
        for rec in csv.DictReader(io.StringIO(read_text_any(demo_file))):
            demo[str(rec.get("ActorID", "")).strip()] = rec
    rows, skipped = [], []
    for path in walk_files(folder, AUDIO_EXT + VIDEO_EXT):
        m = _CREMAD.match(path.stem)
        if not m or m.group(3) not in CREMAD_EMOTIONS:
            skipped.append(path.name)
            continue
        actor, sentence, emo, level = m.groups()
        is_audio = path.suffix.lower() in AUDIO_EXT
        info = demo.get(actor, {})
        rows.append({"sample_id": f"{path.stem}{path.suffix.lower()}", "path": str(path),
                     "modalities": "audio" if is_audio else "face+audio", "label": canonical_label(CREMAD_EMOTIONS[emo]),
                     "raw_label": emo, "group": f"actor{actor}", "speaker": actor, "sentence": sentence,
                     "intensity": CREMAD_LEVELS.get(level, level), "gender": str(info.get("Sex", "")).lower(),
                     "age": info.get("Age", "")})
    _warn_skipped("CREMA-D", skipped)
    return make_manifest(rows, "cremad")


def read_emodb(root: str | Path) -> pd.DataFrame:
    """Read Emo-DB (Berlin Database of Emotional Speech) into a manifest."""
    folder = require_dir(root, "Emo-DB", "point to the Emo-DB folder (with wav/)")
    rows, skipped = [], []
    for path in walk_files(folder, AUDIO_EXT):
        m = _EMODB.match(path.stem)
        if not m:
            skipped.append(path.name)
            continue
        spk, text, emo, version = m.groups()
        raw = EMODB_EMOTIONS[emo]
        rows.append({"sample_id": path.stem, "path": str(path), "modalities": "audio", "label": canonical_label(raw),
                     "raw_label": raw, "group": f"speaker{spk}", "speaker": spk, "text_code": text,
                     "version": version, "gender": "male" if spk in EMODB_MALE else "female"})
    _warn_skipped("Emo-DB", skipped)
    return make_manifest(rows, "emodb")
