"""Who speaks when: speaking turns, their attribution to visible faces, and roles.

The speech side of a lesson, shared by :func:`emolab.timeline.analyze_lesson` and
:func:`emolab.preprocessing.lesson_windows`:

* :func:`mouth_openness` and :func:`face_rms` measure, for every face sighting, how open the
  mouth looks and how loud the room is at that moment;
* :func:`speech_turns` cuts the audio into speaking turns (the transcript's cues when there is a
  transcript, else speech activity);
* :func:`attribute_turns` gives each turn to the visible person whose mouth follows the audio;
* :func:`assign_roles` tells the teacher apart.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import pandas as pd

TURN_COLUMNS = ("start", "end", "speaker", "text", "overlaps")


def mouth_openness(crops: np.ndarray) -> np.ndarray | float:
    """How open the mouth of grayscale face crops looks.

    Minus the mean of the contrast-normalised mouth region (an open mouth shows a dark interior).
    Only changes over time matter, so it works for every skin tone once correlated with the audio
    (:func:`attribute_turns`).

    Parameters
    ----------
    crops : np.ndarray [shape=(n, h, w) or (h, w), dtype=uint8]

    Returns
    -------
    np.ndarray [shape=(n,)], or a float for one crop
    """
    c = np.asarray(crops, np.float32)
    one = c.ndim == 2
    c = c[None] if one else c
    h, w = c.shape[1:3]
    mean = c.mean(axis=(1, 2))
    std = c.std(axis=(1, 2))
    region = c[:, int(0.54 * h):int(0.79 * h), int(0.33 * w):int(0.67 * w)]
    # mean of (c - mean) / std over the region == (region mean - mean) / std
    out = -(region.mean(axis=(1, 2)) - mean) / (std + 1e-6) if region[0].size else np.zeros(len(c), np.float32)
    return float(out[0]) if one else out.astype(np.float32)


def face_rms(t: np.ndarray, y: Optional[np.ndarray], sample_fps: float, sr: int = 16000) -> np.ndarray:
    """Audio energy just after each sighting time.

    Parameters
    ----------
    t : np.ndarray [shape=(n,)]
        Sighting times in seconds.
    y : np.ndarray [shape=(samples,)] or None
        The mono track at ``sr`` Hz; None: no audio.
    sample_fps : float
        Frames sampled per second; the RMS is taken over a third of a sampling step.
    sr : int
        Sample rate of ``y`` in Hz.

    Returns
    -------
    np.ndarray [shape=(n,)]
        RMS amplitude; NaN everywhere without audio.
    """
    if y is None or not len(t):
        return np.full(len(t), np.nan)
    hop = max(1, int(sr / sample_fps / 3))
    times, where = np.unique(np.asarray(t, float), return_inverse=True)  # one value per sampled frame, not per face
    a = np.clip((times * sr).astype(int), 0, max(0, len(y) - 1))
    rms = np.array([np.sqrt(np.mean(np.square(y[i:i + hop], dtype=np.float64))) for i in a])
    return rms[where]


def speech_turns(transcript: Optional[pd.DataFrame], audio: Optional[np.ndarray], duration: float) -> pd.DataFrame:
    """Speaking turns of a recording.

    Parameters
    ----------
    transcript : pandas.DataFrame or None
        Timed cues (``start, end, speaker, text, ...`` in seconds, see
        :func:`emolab.data.transcripts.read_transcript`); used when given.
    audio : np.ndarray [shape=(samples,)] or None
        The 16 kHz track; without a transcript its speech activity gives the turns.
    duration : float
        Length of the recording in seconds: cues starting after it are dropped (with a warning),
        cues running past it are cut.

    Returns
    -------
    pandas.DataFrame
        One row per turn: ``start, end`` (s), ``speaker`` (the transcript's label or ""),
        ``text`` ("" without transcript), ``overlaps``.
    """
    from .audio import speech_activity

    if transcript is not None and len(transcript):
        t = transcript[transcript["start"] < duration + 1.0].copy()
        if len(t) < len(transcript):
            warnings.warn(f"{len(transcript) - len(t)} transcript cue(s) start after the recording ends and were ignored", stacklevel=3)
        t["end"] = t["end"].clip(upper=duration)
        return t.reset_index(drop=True)
    if audio is None:
        return pd.DataFrame(columns=list(TURN_COLUMNS))
    rows = [(a, b, "", "", False) for a, b in speech_activity(audio)]
    return pd.DataFrame(rows, columns=list(TURN_COLUMNS))


def attribute_turns(turns: pd.DataFrame, faces: pd.DataFrame, *, min_corr: float = 0.2) -> pd.DataFrame:
    """Who speaks in each turn: the visible person whose mouth follows the audio envelope best.

    Parameters
    ----------
    turns : pandas.DataFrame
        :func:`speech_turns`.
    faces : pandas.DataFrame
        Face sightings with ``t`` (s), ``person``, ``mouth`` (:func:`mouth_openness`) and ``rms``
        (:func:`face_rms`).
    min_corr : float
        Lowest Pearson correlation of mouth opening and audio energy over the turn's sampled
        frames (at least 4) for a person to be given the turn.

    Returns
    -------
    pandas.DataFrame
        ``turns`` with ``person`` ("" when nobody qualifies) and ``attribution`` (the correlation).
    """
    turns = turns.copy()
    turns["person"] = ""
    turns["attribution"] = 0.0
    if faces.empty or turns.empty or faces["rms"].isna().all():
        return turns
    t = faces["t"].to_numpy()
    for i, r in turns.iterrows():
        seg = faces[(t >= r["start"] - 0.2) & (t <= r["end"] + 0.2)]
        scores = {}
        for p, g in seg.groupby("person"):
            if len(g) >= 4 and g["mouth"].std() > 0 and g["rms"].std() > 0:
                scores[p] = float(np.corrcoef(g["mouth"], g["rms"])[0, 1])
        if not scores:
            continue
        best = max(scores, key=scores.get)
        if scores[best] >= min_corr:
            turns.at[i, "person"] = best
            turns.at[i, "attribution"] = scores[best]
    return turns


def assign_roles(people: list[str], turns: pd.DataFrame, *, teacher_share: float = 0.35) -> dict[str, str]:
    """The role of every person: ``"teacher"`` for the one who clearly speaks most, else ``"student"``.

    Parameters
    ----------
    people : list of str
        Everyone seen.
    turns : pandas.DataFrame
        :func:`attribute_turns`.
    teacher_share : float
        A person with at least this share of all attributed speech time, and 1.5 times the next
        person's, is the teacher.

    Returns
    -------
    dict
        person -> role.
    """
    roles = {p: "student" for p in sorted(people)}
    if turns.empty or not turns["person"].astype(bool).any():
        return roles
    dur = (turns["end"] - turns["start"]).groupby(turns["person"]).sum()
    dur = dur[dur.index != ""].sort_values(ascending=False)
    if len(dur) and dur.iloc[0] >= teacher_share * dur.sum() and (len(dur) == 1 or dur.iloc[0] >= 1.5 * dur.iloc[1]):
        roles[dur.index[0]] = "teacher"
    return roles
