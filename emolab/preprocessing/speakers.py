"""Who speaks when, with the evidence for it: speech turns, their speakers, and the teacher.

* :func:`speech_turns`: the transcript's cues when there is one, else the speech regions that
  :func:`emolab.preprocessing.vad.speech_segments` finds (noise, music and silence give none).
* :func:`mouth_openness`, :func:`mouth_contrast` and :func:`face_rms`: per face sighting, how the
  mouth looks and how loud the audio is right then.
* :func:`attribute_turns`: a turn goes to a visible person only when that person's mouth follows
  the audio well enough (correlation at least ``min_corr``, and not by chance over the frames
  seen) **and** clearly better than anyone else's on screen (by ``min_margin``); otherwise it is ``"off-camera"``: spoken by someone not
  visible, or by nobody the video can tell.
* :func:`assign_roles`: the teacher is named only when one visible person holds a clear share of
  the confidently attributed speech; the result says why (or why not).

The thresholds are measured on synthetic lessons (``benchmarks/bench_speakers.py``), with the
figures in ``docs/speech.md``.
"""

from __future__ import annotations

from functools import lru_cache

import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
import pandas as pd

from .vad import THRESHOLD

OFF_CAMERA = "off-camera"
"""The ``person`` of a turn that no visible person's mouth explains."""

TURN_COLUMNS = ("start", "end", "speaker", "text", "overlaps", "probability")
ATTRIBUTED_COLUMNS = TURN_COLUMNS + ("person", "attribution", "margin")
ROLE_COLUMNS = ("person", "role", "speech_seconds", "turns", "share", "mean_attribution", "mean_margin", "reason")

MIN_CORR = 0.3
"""Default least correlation between a person's mouth opening and the audio energy in a turn."""
MIN_MARGIN = 0.3
"""Default least lead of the best visible person's correlation over the second best's."""
MIN_Z = 3.0
"""Default least Fisher z of the best correlation (``atanh(r) * sqrt(frames - 3)``)."""


def mouth_openness(crops: np.ndarray) -> np.ndarray | float:
    """How open the mouth of grayscale face crops looks: minus the mean of the contrast-normalised
    mouth region (an open mouth shows a dark interior). Only changes over time matter, so it works
    for every skin tone once correlated with the audio (:func:`attribute_turns`).

    Parameters
    ----------
    crops : np.ndarray [shape=(n, h, w) or (h, w), dtype=uint8]

    Returns
    -------
    np.ndarray [shape=(n,)], or a float for one crop
    """
    c, one = _as_stack(crops)
    out = _openness(c, c.std(axis=(1, 2)))
    return float(out[0]) if one else out


def mouth_contrast(crops: np.ndarray) -> np.ndarray | float:
    """How much is going on in the mouth region of grayscale face crops: the standard deviation of
    the mouth region over that of the whole crop. An open mouth adds a dark interior and often
    bright teeth, so it rises whichever is darker than the skin; :func:`mouth_openness` (a mean)
    can fall instead of rise when lips or teeth are brighter than the face.

    The region is soft: pixels are weighted by a Gaussian centred on the mouth (66.5 % down the
    crop, in the middle; standard deviations 10 % of the height and 14 % of the width). Measured in
    whole lesson analyses of 13 generated lessons against the hard region of the same extent (rows
    54-79 %, columns 33-67 %, used until 2026-12-01): recall of speaking seconds 0.62 against 0.51,
    precision 0.97 against 0.99, the teacher named in 9 lessons against 6 (``docs/speech.md``).

    Parameters
    ----------
    crops : np.ndarray [shape=(n, h, w) or (h, w), dtype=uint8]

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32], or a float for one crop
    """
    c, one = _as_stack(crops)
    out = _contrast(c, c.std(axis=(1, 2)))
    return float(out[0]) if one else out


def mouth_measures(crops: np.ndarray) -> np.ndarray:
    """:func:`mouth_openness` and :func:`mouth_contrast` of a stack of crops at once (the float conversion and
    each crop's standard deviation shared; the same numbers).

    Parameters
    ----------
    crops : np.ndarray [shape=(n, h, w), dtype=uint8]

    Returns
    -------
    np.ndarray [shape=(n, 2), dtype=float32]
        Openness, contrast.
    """
    c, _ = _as_stack(crops)
    if not len(c):
        return np.zeros((0, 2), np.float32)
    std = c.std(axis=(1, 2))
    return np.column_stack([_openness(c, std), _contrast(c, std)])


def _as_stack(crops: np.ndarray) -> tuple[np.ndarray, bool]:
    """Crops as float32 [n, h, w], and whether a single crop [h, w] was given."""
    c = np.asarray(crops, np.float32)
    return (c[None], True) if c.ndim == 2 else (c, False)


def _openness(c: np.ndarray, std: np.ndarray) -> np.ndarray:
    h, w = c.shape[1:3]
    region = c[:, int(0.54 * h):int(0.79 * h), int(0.33 * w):int(0.67 * w)]
    if not region[0].size:
        return np.zeros(len(c), np.float32)
    # mean of (c - mean) / std over the region == (region mean - mean) / std
    return (-(region.mean(axis=(1, 2)) - c.mean(axis=(1, 2))) / (std + 1e-6)).astype(np.float32)


def _contrast(c: np.ndarray, std: np.ndarray) -> np.ndarray:
    g = _mouth_weights(*c.shape[1:3])
    mean = np.einsum("nij,ij->n", c, g)
    var = np.einsum("nij,ij->n", c * c, g) - mean * mean
    return (np.sqrt(np.maximum(var, 0.0)) / (std + 1e-6)).astype(np.float32)


@lru_cache(maxsize=8)
def _mouth_weights(h: int, w: int) -> np.ndarray:
    """Gaussian weights [h, w] of :func:`mouth_contrast`'s soft mouth region, summing to 1."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    g = np.exp(-((yy - 0.665 * h) ** 2 / (2 * (0.10 * h) ** 2) + (xx - 0.5 * w) ** 2 / (2 * (0.14 * w) ** 2)))
    out = (g / g.sum()).astype(np.float32)
    out.flags.writeable = False
    return out


def face_rms(t: np.ndarray, y: Optional[np.ndarray], sample_fps: float, sr: int = 16000) -> np.ndarray:
    """Audio energy (RMS) just after each sighting time ``t`` (s), over a third of a sampling step;
    NaN everywhere without audio. Correlated with mouth opening to find who speaks.

    Parameters
    ----------
    t : np.ndarray [shape=(n,)]
        Sighting times in seconds (several faces may share one time).
    y : np.ndarray [shape=(m,)] or None
        Mono audio at ``sr`` Hz.
    sample_fps : float > 0
        Frames per second at which the video was sampled.
    sr : int
        Sample rate of ``y`` in Hz.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
    """
    if y is None or not len(t):
        return np.full(len(t), np.nan)
    hop = max(1, int(sr / sample_fps / 3))
    times, where = np.unique(np.asarray(t, float), return_inverse=True)  # one value per sampled frame, not per face
    a = np.clip((times * sr).astype(int), 0, max(0, len(y) - 1))
    rms = np.array([np.sqrt(np.mean(np.square(y[i:i + hop], dtype=np.float64))) for i in a])
    return rms[where]


def speech_turns(transcript: Optional[pd.DataFrame], audio: Optional[np.ndarray], duration: float, *,
                 vad: Union[str, Callable[[np.ndarray, int], pd.DataFrame]] = "silero", sr: int = 16000,
                 threshold: float = THRESHOLD, min_speech: float = 0.25, min_silence: float = 0.3, warn: bool = True) -> pd.DataFrame:
    """The speaking turns of a recording.

    Parameters
    ----------
    transcript : pd.DataFrame or None
        A table of :func:`emolab.data.transcripts.read_transcript` (``start, end, speaker, text,
        overlaps``); when it has rows, its cues are the turns (cues starting after ``duration`` + 1 s
        are dropped with a warning, ends are clipped to ``duration``).
    audio : np.ndarray [shape=(n,)] or None
        Mono audio at ``sr`` Hz, used when there is no transcript.
    duration : float
        Length of the recording in seconds.
    vad : "silero", "energy" or callable
        How speech is found in ``audio``: ``"silero"`` (:func:`emolab.preprocessing.vad.speech_segments`),
        ``"energy"`` (the old loudness rule :func:`emolab.preprocessing.audio.speech_activity`, which
        calls any loud noise speech; kept for comparison), or ``vad(audio, sr)`` returning a table
        with ``start`` and ``end`` in seconds (and optionally ``probability``).
    sr : int
        Sample rate of ``audio`` in Hz.
    threshold, min_speech, min_silence : float
        Passed to :func:`~emolab.preprocessing.vad.speech_segments` (``"silero"`` only).
    warn : bool
        Warn when transcript cues start after the recording (off for a second call on the same input).

    Returns
    -------
    pd.DataFrame
        Columns ``start, end`` (seconds), ``speaker`` (transcript label or ""), ``text`` (or ""),
        ``overlaps`` (bool), ``probability`` (mean speech probability of a detected region; NaN for
        transcript cues and the energy rule). No speech gives no rows.
    """
    if transcript is not None and len(transcript):
        t = transcript[transcript["start"] < duration + 1.0].copy()
        if len(t) < len(transcript) and warn:
            warnings.warn(f"{len(transcript) - len(t)} transcript cue(s) start after the recording ends and were ignored", stacklevel=3)
        t["end"] = t["end"].clip(upper=duration)
        if "probability" not in t:
            t["probability"] = np.nan
        return t.reset_index(drop=True)
    if audio is None or not len(audio):
        return pd.DataFrame(columns=list(TURN_COLUMNS))
    if vad == "silero":
        from .vad import speech_segments

        seg = speech_segments(audio, sr, threshold=threshold, min_speech=min_speech, min_silence=min_silence)
    elif vad == "energy":
        from .audio import speech_activity

        seg = pd.DataFrame(speech_activity(audio, sr), columns=["start", "end"])
    elif callable(vad):
        seg = pd.DataFrame(vad(audio, sr))
    else:
        raise ValueError(f"vad must be 'silero', 'energy' or a callable (got {vad!r})")
    prob = seg["probability"] if "probability" in seg else np.full(len(seg), np.nan)
    out = pd.DataFrame({"start": np.asarray(seg["start"], float), "end": np.minimum(np.asarray(seg["end"], float), duration),
                        "speaker": "", "text": "", "overlaps": False, "probability": np.asarray(prob, float)})
    return out[out["end"] > out["start"]].reset_index(drop=True)


def turn_correlations(turn: tuple[float, float], faces: pd.DataFrame, *, mouth: str = "contrast", min_frames: int = 4,
                      pad: float = 0.2) -> pd.DataFrame:
    """Pearson correlation of each visible person's mouth measure with the audio energy during a turn.

    Parameters
    ----------
    turn : (start, end), seconds
    faces : pd.DataFrame
        Sightings with columns ``t`` (s), ``person``, ``rms`` (:func:`face_rms`) and the mouth measure.
    mouth : str
        The column of ``faces`` holding the mouth measure (:func:`mouth_openness` or :func:`mouth_contrast`).
    min_frames : int
        A person needs this many sightings inside the turn (widened by ``pad`` seconds each side).
    pad : float, seconds

    Returns
    -------
    pd.DataFrame
        Columns ``person``, ``correlation`` (in [-1, 1]), ``frames`` (sightings used), best first.
        People without enough sightings, or whose mouth or the audio did not change, are left out.
    """
    return _Sightings(faces, mouth).scores(turn, min_frames=min_frames, pad=pad)


class _Sightings:
    """Sightings sorted by time once, so that scoring each of many turns costs a binary search
    (:func:`attribute_turns`; the same numbers as filtering and grouping the table per turn)."""

    def __init__(self, faces: pd.DataFrame, mouth: str):
        t = faces["t"].to_numpy(float)
        self.order = np.argsort(t, kind="stable")
        self.t = t[self.order]
        self.person = faces["person"].to_numpy()
        self.mouth = faces[mouth].to_numpy(float)
        self.rms = faces["rms"].to_numpy(float)

    def scores(self, turn: tuple[float, float], min_frames: int = 4, pad: float = 0.2) -> pd.DataFrame:
        a = np.searchsorted(self.t, turn[0] - pad, side="left")
        b = np.searchsorted(self.t, turn[1] + pad, side="right")
        idx = np.sort(self.order[a:b])  # the table's own row order, as a boolean mask keeps it
        rows = []
        if len(idx):
            people = self.person[idx]
            for p in np.unique(people):  # sorted, as groupby sorts its keys
                sel = idx[people == p]
                m, r = self.mouth[sel], self.rms[sel]
                if len(sel) >= max(min_frames, 2) and m.std(ddof=1) > 0 and r.std(ddof=1) > 0:
                    rows.append((p, float(np.corrcoef(m, r)[0, 1]), len(sel)))
        out = pd.DataFrame(rows, columns=["person", "correlation", "frames"])
        return out.sort_values("correlation", ascending=False, kind="stable").reset_index(drop=True)


def attribute_turns(turns: pd.DataFrame, faces: pd.DataFrame, *, min_corr: float = MIN_CORR, min_margin: float = MIN_MARGIN,
                    min_z: float = MIN_Z, mouth: str = "contrast", min_frames: int = 4) -> pd.DataFrame:
    """Give each turn to the visible person whose mouth moves with it, or to ``"off-camera"``.

    For every person seen during a turn, the correlation between the mouth measure and the audio
    energy over the turn's sampled frames is computed (:func:`turn_correlations`). The best person
    gets the turn when all three hold: the correlation is at least ``min_corr``; it leads the
    second-best visible person's by at least ``min_margin`` (alone on screen, the lead is over 0);
    and it is unlikely by chance over that many frames, ``atanh(r) * sqrt(frames - 3) >= min_z``
    (Fisher's z; a still face's mouth measure still jitters with camera noise, and over a few
    frames that jitter correlates with anything). Otherwise the turn is ``"off-camera"``: its
    speaker is not visible, or the video cannot tell who it is.

    Parameters
    ----------
    turns : pd.DataFrame
        From :func:`speech_turns` (at least ``start``, ``end`` in seconds).
    faces : pd.DataFrame
        Sightings with ``t``, ``person``, ``rms`` and the mouth measure (see :func:`turn_correlations`).
    min_corr : float in [-1, 1]
    min_margin : float >= 0
    min_z : float >= 0
        Least Fisher z of the best correlation (0 turns the test off).
    mouth : str
        Column of ``faces`` with the mouth measure: ``"contrast"`` (:func:`mouth_contrast`, the
        default, measured far better on synthetic lessons) or ``"mouth"`` (:func:`mouth_openness`).
    min_frames : int
        Sightings a person needs inside a turn to be scored.

    Returns
    -------
    pd.DataFrame
        ``turns`` with three columns added: ``person`` (a person id or ``"off-camera"``),
        ``attribution`` (the best visible person's correlation, also when it was not enough; NaN
        when nobody could be scored), ``margin`` (its lead over the second best; NaN likewise).
    """
    turns = turns.copy()
    turns["person"] = OFF_CAMERA
    turns["attribution"] = np.nan
    turns["margin"] = np.nan
    if faces.empty or turns.empty or faces["rms"].isna().all():
        return turns
    seen = _Sightings(faces, mouth)
    for i, r in turns.iterrows():
        scores = seen.scores((r["start"], r["end"]), min_frames=min_frames)
        if scores.empty:
            continue
        best, corr, frames = scores.iloc[0]
        margin = corr - max(float(scores["correlation"].iloc[1]) if len(scores) > 1 else 0.0, 0.0)
        z = float(np.arctanh(np.clip(corr, -0.999999, 0.999999)) * np.sqrt(max(frames - 3, 1)))
        turns.at[i, "attribution"] = corr
        turns.at[i, "margin"] = margin
        if corr >= min_corr and margin >= min_margin and z >= min_z:
            turns.at[i, "person"] = best
    return turns


@dataclass
class RoleAssignment:
    """Result of :func:`assign_roles`.

    Attributes
    ----------
    roles : dict person -> "teacher" or "student"
        Every visible person (never ``"off-camera"``).
    teacher : str or None
        The teacher's person id, or None when the evidence did not name one.
    reason : str
        One sentence for the report: who the teacher is and why, or "teacher not identified: ...".
    evidence : pd.DataFrame
        One row per visible person, and one for ``"off-camera"`` speech: ``person``, ``role``
        ("teacher", "student" or "off-camera"), ``speech_seconds`` (attributed speech), ``turns``,
        ``share`` (of all speech in ``turns``, off-camera included), ``mean_attribution`` and
        ``mean_margin`` (duration-weighted over the attributed turns; NaN without any), ``reason``.
    """

    roles: dict
    teacher: Optional[str]
    reason: str
    evidence: pd.DataFrame


def assign_roles(faces: pd.DataFrame, turns: pd.DataFrame, *, teacher_share: float = 0.35, teacher_ratio: float = 1.5,
                 min_seconds: float = 5.0, min_turns: int = 2) -> RoleAssignment:
    """Tell the teacher apart from the students, only on evidence.

    The visible person with the most attributed speech is the teacher when all hold: at least
    ``min_seconds`` of speech in at least ``min_turns`` turns attributed to them (each already
    passed :func:`attribute_turns`' correlation and margin), at least ``teacher_share`` of *all*
    speech (off-camera speech counts in the total, so a teacher who is not in the picture does not
    hand the role to the student who talks most), and ``teacher_ratio`` times the next visible
    person's speech. Otherwise nobody is named and :attr:`RoleAssignment.reason` says which test
    failed.

    Parameters
    ----------
    faces : pd.DataFrame
        Sightings with a ``person`` column (everyone visible gets a role).
    turns : pd.DataFrame
        From :func:`attribute_turns` (``start``, ``end``, ``person``, ``attribution``, ``margin``).
    teacher_share : float in (0, 1]
    teacher_ratio : float >= 1
    min_seconds : float, seconds
    min_turns : int

    Returns
    -------
    RoleAssignment
    """
    people = sorted(str(p) for p in faces["person"].dropna().unique() if p != OFF_CAMERA)
    rows = []
    dur = (turns["end"] - turns["start"]).clip(lower=0) if len(turns) else pd.Series(dtype=float)
    total = float(dur.sum())
    for p in [*people, OFF_CAMERA]:
        mine = turns["person"] == p if len(turns) else pd.Series(dtype=bool)
        d = dur[mine] if len(turns) else dur
        secs = float(d.sum())
        w = d.to_numpy() if secs > 0 else None
        mean_a = float(np.average(turns.loc[mine, "attribution"], weights=w)) if secs > 0 and p != OFF_CAMERA else np.nan
        mean_m = float(np.average(turns.loc[mine, "margin"], weights=w)) if secs > 0 and p != OFF_CAMERA else np.nan
        rows.append([p, "off-camera" if p == OFF_CAMERA else "student", secs, int(mine.sum()) if len(turns) else 0,
                     secs / total if total > 0 else 0.0, mean_a, mean_m, ""])
    ev = pd.DataFrame(rows, columns=list(ROLE_COLUMNS))
    visible = ev[ev["person"] != OFF_CAMERA].sort_values("speech_seconds", ascending=False, kind="stable")
    off = ev[ev["person"] == OFF_CAMERA].iloc[0]
    teacher, why = None, ""
    if total <= 0:
        why = "teacher not identified: no speech was detected"
    elif visible.empty or visible["speech_seconds"].iloc[0] <= 0:
        why = f"teacher not identified: none of the {total:.1f} s of speech was attributed to a visible person"
    else:
        top = visible.iloc[0]
        nxt = float(visible["speech_seconds"].iloc[1]) if len(visible) > 1 else 0.0
        who = f"the most speaking visible person, {top['person']} ({top['speech_seconds']:.1f} s in {top['turns']} turn(s), {top['share']:.0%} of all speech"
        if top["speech_seconds"] < min_seconds or top["turns"] < min_turns:
            why = f"teacher not identified: {who}) has too little attributed speech (needs {min_seconds:g} s in {min_turns} turns)"
        elif top["share"] < teacher_share:
            why = (f"teacher not identified: {who}) holds less than {teacher_share:.0%} of the speech; "
                   f"{off['share']:.0%} is off-camera")
        elif top["speech_seconds"] < teacher_ratio * nxt:
            why = f"teacher not identified: {who}) does not speak {teacher_ratio:g}x more than the next ({nxt:.1f} s)"
        else:
            teacher = str(top["person"])
            why = (f"teacher: {teacher} speaks {top['share']:.0%} of all speech ({top['speech_seconds']:.1f} s in {top['turns']} turns, "
                   f"mouth-audio correlation {top['mean_attribution']:.2f}, lead {top['mean_margin']:.2f} over the next face), "
                   + (f"{top['speech_seconds'] / nxt:.1f}x the next visible person" if nxt > 0 else "nobody else visible speaks"))
    for i, r in ev.iterrows():
        if r["person"] == OFF_CAMERA:
            ev.at[i, "reason"] = f"speech no visible mouth explains: {r['speech_seconds']:.1f} s"
        elif r["person"] == teacher:
            ev.at[i, "role"] = "teacher"
            ev.at[i, "reason"] = why
        else:
            ev.at[i, "reason"] = f"{r['speech_seconds']:.1f} s of attributed speech"
    roles = {p: ("teacher" if p == teacher else "student") for p in people}
    return RoleAssignment(roles, teacher, why, ev)


__all__ = ["OFF_CAMERA", "TURN_COLUMNS", "ATTRIBUTED_COLUMNS", "ROLE_COLUMNS", "MIN_CORR", "MIN_MARGIN", "MIN_Z", "RoleAssignment",
           "mouth_openness", "mouth_contrast", "mouth_measures", "face_rms", "speech_turns", "turn_correlations", "attribute_turns", "assign_roles"]
