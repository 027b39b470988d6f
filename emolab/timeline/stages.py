"""The stages of a lesson analysis, each a function of the stage before.

:func:`~emolab.timeline.analyze_lesson` calls them in order:

1. :func:`read_faces` - the perception pass (:class:`~emolab.preprocessing.perception.Perception`)
   with the face model reading each person's clips in a worker thread;
2. turns from :mod:`emolab.preprocessing.speakers` (cut, attributed);
3. :func:`read_speech` and :func:`read_text` - the speech and text models on the attributed turns;
4. :func:`fuse_seconds` - one row per person and second, the modalities present fused;
5. :func:`smooth_timeline` - smoothing over time, emotion and valence;
6. :func:`speech_tables` - per-turn speech emotion and per-utterance text emotion.

Each modality's output is a :class:`Readings`: features, and the person and second they are for.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pandas as pd

from ..models import MODALITIES
from ..preprocessing.speakers import OFF_CAMERA
from ..taxonomy import EMOTIONS, expected_valence

TIMELINE_COLUMNS = ("person", "t", *EMOTIONS, "emotion", "confidence", "valence", "modalities", "visible", "speaking", "reason")
"""Columns of the timeline: ``emotion`` is "" (and the probabilities NaN) where nothing readable was
seen or heard; ``reason`` then says why (:data:`~emolab.preprocessing.quality.REASONS`)."""


@dataclass
class Readings:
    """Features of one modality and what they are about.

    Attributes
    ----------
    features : np.ndarray [shape=(n, d)] or None
        One row per reading (a face clip, a speech window, an utterance); None: no reading.
    at : dict
        ``(person, second)`` -> row of ``features`` that stands for that person then (the first one).
    turn : np.ndarray [shape=(n,)] or None
        For speech and text: the turn (row of the turns table) each reading belongs to.
    """

    features: Optional[np.ndarray] = None
    at: dict = field(default_factory=dict)
    turn: Optional[np.ndarray] = None


@dataclass
class FaceReadings(Readings):
    """:class:`Readings` of the face model, plus what the perception pass saw.

    Attributes
    ----------
    sightings : pandas.DataFrame
        :meth:`~emolab.preprocessing.perception.Perception.sightings` (tracked people only).
    thumbnails : dict
        Person -> colour crop uint8 [96, 96, 3] of their best-scored sighting (when asked for).
    crops : list of (str, float, np.ndarray)
        ``(person, t, colour crop)`` of every sighting, only when ``save_faces`` asked for them.
    n_frames : int
        Frames analysed.
    grid : int or None
        The detector's tile grid.
    """

    sightings: pd.DataFrame = field(default_factory=pd.DataFrame)
    thumbnails: dict = field(default_factory=dict)
    crops: list = field(default_factory=list)
    n_frames: int = 0
    grid: Optional[int] = None


def read_faces(video, models, cfg, *, progress: bool = False, thumbnails: bool = True,
               report: Callable[[str, float], None] = lambda stage, frac: None, duration: float = 0.0) -> FaceReadings:
    """Stream the video once: faces tracked and cropped, clips of each person read by the face model.

    Every ``cfg.clip_stride`` seconds a person's last ``models.clip_frames`` crops (no gap longer
    than 2.5 sampling steps) form a clip. A clip stands for its second only when at least
    ``cfg.min_readable_share`` of its frames are readable (:func:`~emolab.preprocessing.quality.unreadable_reason`
    with ``cfg.readability``), and a per-frame face model then reads only its readable frames
    (:func:`~emolab.models.lesson.read_frames`); a clip whose read frames look down (the model's gaze probe,
    :meth:`~emolab.models.lesson.LessonModels.face_readings`) stands for nothing. The sightings table gets the
    ``unreadable`` reason of each sighting (``looking_down`` for the readable frames of such a clip). The face
    model reads batches of clips in its own thread beside the pass (torch releases the GIL); at most 3 batches wait, so memory stays flat. On
    CPU, torch runs with one thread during the pass (decoding, detection and tracking keep the
    cores busy) and is set back afterwards.

    Parameters
    ----------
    video : path
    models : LessonModels
    cfg : AnalysisConfig
    progress : bool
        tqdm bar.
    thumbnails : bool
        Keep each person's best crop in memory (for the blurred report thumbnails).
    report : callable
        ``report(stage, fraction)`` for progress widgets.
    duration : float
        Length of the video in seconds (for the progress fraction).

    Returns
    -------
    FaceReadings
    """
    import torch

    from ..preprocessing.crops import crop_face
    from ..preprocessing.perception import Perception
    from ..preprocessing.quality import unreadable_reason

    T, stride = models.clip_frames, cfg.clip_stride
    perception = Perception(video, sample_fps=cfg.sample_fps, keyframe_interval=cfg.keyframe_interval, max_side=cfg.max_side,
                            tiles=cfg.detector_tiles, face_size=models.face_size, margin=models.face_margin,
                            align=cfg.align_faces, progress=progress)
    buffers: dict[int, deque] = {}
    last_clip: dict[int, float] = {}
    pending: list[tuple] = []  # (track, clip time, face px, clip, frames readable, frame times): readable clips only
    clip_rows: list[tuple[int, float]] = []
    clip_read: list[np.ndarray] = []  # times of each clip's readable frames (the seconds it can stand for)
    down: set[tuple[int, float]] = set()  # (track, t) of readable sightings taken as looking down
    clip_feats: list[np.ndarray] = []
    thumbs: dict[int, tuple[float, np.ndarray]] = {}
    saved: list[tuple[int, float, np.ndarray]] = []
    pool = ThreadPoolExecutor(1, thread_name_prefix="emolab-face")
    jobs: deque = deque()

    def flush(final: bool = False) -> None:
        if pending and "face" in models.available:
            job = pool.submit(models.face_readings, np.stack([r[3] for r in pending]), face_px=np.array([r[2] for r in pending]),
                              readable=np.array([r[4] for r in pending]))
            jobs.append(([(r[0], r[1], r[4], r[5]) for r in pending], job))
        pending.clear()
        while jobs and (final or len(jobs) > 3 or jobs[0][1].done()):
            rows, job = jobs.popleft()
            feats, looked_down = job.result()
            for (tid, tc, ok, times), d in zip(rows, looked_down):
                if d.any():  # a clip that looks down stands for nothing, and all its readable frames say so
                    down.update((tid, float(t)) for t in times[ok])
            clip_feats.append(feats)
            clip_rows.extend((tid, tc) for tid, tc, _, _ in rows)
            clip_read.extend(times[ok] for _, _, ok, times in rows)

    total = max(1, int(duration * cfg.sample_fps))
    threads = torch.get_num_threads()
    if cfg.device == "cpu":
        torch.set_num_threads(1)
    try:
        for g in perception:
            readable = unreadable_reason(g.quality, cfg.readability) == ""
            for (tid, d), crop, ok in zip(g.faces, g.crops, readable):
                if thumbnails and d.score > thumbs.get(tid, (0.0,))[0]:
                    thumbs[tid] = (d.score, crop_face(g.frame.bgr, d.box, size=96, margin=0.3, gray=False))
                if cfg.save_faces:
                    saved.append((tid, g.t, crop_face(g.frame.bgr, d.box, size=96, margin=0.3, gray=False)))
                buf = buffers.setdefault(tid, deque(maxlen=T))
                if buf and g.t - buf[-1][0] > 2.5 / cfg.sample_fps:
                    buf.clear()  # a gap: do not join crops across it
                buf.append((g.t, crop, ok, d.h))
                if len(buf) == T and g.t - last_clip.get(tid, -1e9) >= stride - 1e-6:
                    if np.mean([b[2] for b in buf]) >= cfg.min_readable_share:  # an unreadable clip is never read
                        pending.append((tid, float(np.mean([b[0] for b in buf])), float(np.median([b[3] for b in buf])),
                                        np.stack([b[1] for b in buf]), np.array([b[2] for b in buf], bool),
                                        np.array([b[0] for b in buf], float)))
                    last_clip[tid] = g.t
            if len(pending) >= 64:
                flush()
            if perception.n_frames_ % 25 == 0:
                report("faces", min(1.0, perception.n_frames_ / total))
        flush(final=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads)
    names = perception.names_
    features = np.concatenate(clip_feats) if clip_feats else None
    sightings = perception.sightings()
    sightings["unreadable"] = unreadable_reason(sightings, cfg.readability)
    if down:
        hit = np.array([(tid, t) in down for tid, t in zip(sightings["track"], sightings["t"].astype(float))], bool)
        sightings.loc[hit & (sightings["unreadable"] == ""), "unreadable"] = "looking_down"
    looked_down = set(zip(sightings.loc[sightings["unreadable"] == "looking_down", "person"],
                          np.floor(sightings.loc[sightings["unreadable"] == "looking_down", "t"]).astype(int).tolist()))
    at = clip_seconds(clip_rows, clip_read, features, names, skip=looked_down)
    return FaceReadings(features=features, at=at, sightings=sightings,
                        thumbnails={names[tid]: img for tid, (_, img) in thumbs.items() if tid in names},
                        crops=[(names[tid], t, img) for tid, t, img in saved if tid in names],
                        n_frames=perception.n_frames_, grid=perception.grid_)


def clip_seconds(clip_rows: list, clip_read: list, features: Optional[np.ndarray], names: dict, *,
                 skip: set = frozenset()) -> dict:
    """Which face clip stands for each ``(person, second)``.

    A clip stands for the second of its mean frame time (the first such clip of a person and second).
    A second left without one takes the clip whose readable frames fall in it most often (ties: the
    clip centred nearest the middle of the second): a clip spans ``clip_frames`` sampling steps
    (1 s for the bundled face CNN at 5 fps), so the first second of a track and seconds that no clip's
    mean time falls in are read from frames that are really in them. Clips with no reading (NaN features: looking down) stand for
    nothing, and no second in ``skip`` (seconds with sightings taken as looking down) is filled.

    Parameters
    ----------
    clip_rows : list of (track, float)
        Each read clip's track and mean frame time (s).
    clip_read : list of np.ndarray
        Each clip's readable frame times (s).
    features : np.ndarray [shape=(n_clips, d)] or None
    names : dict
        Track -> person id (tracks without one stand for nobody).
    skip : set of (person, int)

    Returns
    -------
    dict
        ``(person, second) -> clip index``.
    """
    at: dict = {}
    if features is None:
        return at
    ok = [tid in names and not np.isnan(features[j]).any() for j, (tid, _) in enumerate(clip_rows)]
    for j, (tid, tc) in enumerate(clip_rows):
        if ok[j]:
            at.setdefault((names[tid], int(np.floor(tc))), j)
    fill: dict = {}
    for j, (tid, tc) in enumerate(clip_rows):
        if not ok[j] or not len(clip_read[j]):
            continue
        seconds, counts = np.unique(np.floor(clip_read[j]).astype(int), return_counts=True)
        for sec, c in zip(seconds.tolist(), counts.tolist()):
            key = (names[tid], sec)
            if key in at or key in skip:
                continue
            score = (c, -abs(tc - (sec + 0.5)))
            if key not in fill or score > fill[key][0]:
                fill[key] = (score, j)
    at.update({k: j for k, (_, j) in fill.items()})
    return at


def speech_windows(turns: pd.DataFrame, models, *, sr: int = 16000) -> tuple[np.ndarray, list, np.ndarray]:
    """Where the speech model reads a lesson: a window of ``models.speech_seconds`` centred on each second of each turn.

    Turns whose ``person`` is empty are left out (a table without the column: none is).

    Returns
    -------
    starts : np.ndarray [shape=(n,), dtype=int64]
        First sample of each window.
    seconds : list of (person, int)
        The person (``None`` without the column) and the second each window stands for.
    turn : np.ndarray [shape=(n,), dtype=int]
        The turn (index label of ``turns``) of each window.
    """
    starts, seconds, turn = [], [], []
    has_person = "person" in turns
    persons = turns["person"] if has_person else [None] * len(turns)
    for i, start, end, person in zip(turns.index, turns["start"].to_numpy(float), turns["end"].to_numpy(float), persons):
        if has_person and not person:
            continue
        centers = np.arange(np.floor(start) + 0.5, end, 1.0)
        centers = centers[(centers >= start) | (len(centers) == 1)]
        if not len(centers):
            centers = np.array([(start + end) / 2])
        for c in centers:
            starts.append(int(max(0, (c - models.speech_seconds / 2) * sr)))
            seconds.append((person, int(np.floor(c))))
            turn.append(i)
    return np.array(starts, np.int64), seconds, np.array(turn, int)


def speech_features(y: np.ndarray, starts: np.ndarray, models) -> Optional[np.ndarray]:
    """The speech model on the windows of a 16 kHz track ``y`` that begin at ``starts`` (samples) -> [n, d], None for none.

    In chunks of 256 windows: memory stays flat however long the lesson; overlapping windows share their feature work."""
    chunks = [models.speech_at(y, starts[a:a + 256]) for a in range(0, len(starts), 256)]
    return np.concatenate(chunks) if chunks else None


def read_speech(turns: pd.DataFrame, y: Optional[np.ndarray], models, *, sr: int = 16000,
                early: Optional[tuple[np.ndarray, Optional[np.ndarray]]] = None) -> Readings:
    """The speech model on a window around every second of every speaking turn.

    Off-camera turns are read too (their emotion goes to ``speech.csv``), but stand for no person
    of the timeline; nor do turns shorter than ``models.speech_min_seconds``.

    Parameters
    ----------
    turns : pandas.DataFrame
        Attributed turns (:func:`~emolab.preprocessing.speakers.attribute_turns`).
    y : np.ndarray [shape=(samples,)] or None
        The 16 kHz track.
    models : LessonModels
    sr : int
        Sample rate of ``y`` in Hz.
    early : (starts, features), optional
        The model already run on :func:`speech_windows` ``starts`` (of the turns before attribution, beside the
        video pass): used where the windows are the same, else read again.

    Returns
    -------
    Readings
        One row per window (``models.speech_seconds`` long, centred on each second of the turn).
    """
    if y is None or "speech" not in models.available:
        return Readings()
    starts, seconds, turn = speech_windows(turns, models, sr=sr)
    long_enough = (turns["end"] - turns["start"]).to_numpy(float) >= models.speech_min_seconds
    long_enough = dict(zip(turns.index, long_enough))
    at: dict = {}
    for k, (person, second) in enumerate(seconds):
        if person != OFF_CAMERA and long_enough[turn[k]]:  # too short a turn: its speech cannot be told (speech_min_seconds)
            at.setdefault((person, second), k)
    same = early is not None and np.array_equal(early[0], starts)
    features = early[1] if same else speech_features(y, starts, models)
    if features is not None:  # a speaker-normalised head: each speaker's windows read against their own mean
        features = models.speech_by_speaker(features, [person for person, _ in seconds])
    return Readings(features, at, turn)


def read_text(turns: pd.DataFrame, models) -> Readings:
    """The text model on every turn with transcript text; it stands for each second of its turn.

    The turns are given in time order with their speaker (the transcript's label, else the
    attributed person), so a text model with dialogue context reads each after the ones before it."""
    if not len(turns) or "text" not in models.available or not turns["text"].astype(bool).any():
        return Readings()
    has_text = turns[turns["text"].astype(bool)]
    has_text = has_text.iloc[np.argsort(has_text["start"].to_numpy(float), kind="stable")] if "start" in has_text else has_text
    said = has_text["speaker"] if "speaker" in has_text else pd.Series("", index=has_text.index)
    speakers = [s if isinstance(s, str) and s else (p if isinstance(p, str) and p != OFF_CAMERA else "")
                for s, p in zip(said, has_text["person"])]
    at: dict = {}
    for j, (_, r) in enumerate(has_text.iterrows()):
        if r["person"] and r["person"] != OFF_CAMERA:
            for s in range(int(np.floor(r["start"])), int(np.ceil(r["end"]))):
                at.setdefault((r["person"], s), j)
    return Readings(models.text(has_text["text"].astype(str).tolist(), speakers), at, has_text.index.to_numpy())


def fuse_seconds(models, faces: pd.DataFrame, turns: pd.DataFrame, readings: dict[str, Readings]) -> pd.DataFrame:
    """One row per person and second with something to read, the modalities present fused.

    Parameters
    ----------
    models : LessonModels
    faces : pandas.DataFrame
        Sightings (``person, t``): the seconds a person is visible.
    turns : pandas.DataFrame
        Attributed turns: the seconds a person speaks.
    readings : dict
        Modality name -> :class:`Readings`.

    Returns
    -------
    pandas.DataFrame
        ``person, t`` (s, whole seconds), one probability column per emotion, ``modalities``
        (e.g. ``"face+speech"``), ``visible``, ``speaking``, ``reason``; not yet smoothed. Every
        second in which a person is seen has a row: one in which nothing was read has NaN
        probabilities, no modality, and the reason (:func:`_second_reasons`).
    """
    visible = set(zip(faces["person"], np.floor(faces["t"]).astype(int)))
    speaking = {(r.person, s) for r in turns.itertuples() if r.person and r.person != OFF_CAMERA
                for s in range(int(np.floor(r.start)), int(np.ceil(r.end)))}
    keys = sorted(visible.union(*(r.at.keys() for r in readings.values())))
    n = len(keys)
    mask = np.zeros((n, len(MODALITIES)), bool)
    feats = {}
    for m, r in readings.items():
        if r.features is None or not len(r.features):
            continue
        idx = np.array([r.at.get(k, -1) for k in keys], int)
        mask[:, MODALITIES.index(m)] = idx >= 0
        f = np.zeros((n, r.features.shape[1]), np.float32)
        f[idx >= 0] = r.features[idx[idx >= 0]]
        feats[m] = f
    why = _second_reasons(faces)  # seconds seen, but with nothing read: why not
    if "face" not in getattr(models, "available", ("face",)):  # no face model: a readable face is unread for that reason
        why = {k: ("no_face_model" if r == "too_brief" else r) for k, r in why.items()}
    keep = mask.any(1) | np.array([k in why for k in keys], bool)
    keys = [k for k, ok in zip(keys, keep) if ok]
    mask = mask[keep]
    some = mask.any(1)
    proba = np.full((len(keys), len(EMOTIONS)), np.nan)
    if some.any():
        proba[some] = models.fuse({m: f[keep][some] for m, f in feats.items()}, mask[some])
    tl = pd.DataFrame(proba, columns=list(EMOTIONS))
    tl.insert(0, "person", [k[0] for k in keys])
    tl.insert(1, "t", [float(k[1]) for k in keys])
    tl["modalities"] = ["+".join(m for m, on in zip(MODALITIES, row) if on) for row in mask]
    tl["visible"] = [k in visible for k in keys]
    tl["speaking"] = [k in speaking for k in keys]
    tl["reason"] = ["" if ok else why[k] for k, ok in zip(keys, some)]
    return tl


def _second_reasons(faces: pd.DataFrame) -> dict:
    """``(person, second)`` -> why that second's sightings may stand for no reading.

    The most frequent ``unreadable`` reason of the second's unreadable sightings (ties: the reason
    seen first); ``"too_brief"`` when all of them are readable (they stand for nothing only when no face
    clip holds them: the person was seen for fewer readable frames in a row than a clip needs). Used
    for the seconds without a reading."""
    if faces.empty:
        return {}
    why = faces["unreadable"].astype(str).to_numpy() if "unreadable" in faces else np.full(len(faces), "")
    df = pd.DataFrame({"person": faces["person"].to_numpy(), "s": np.floor(faces["t"].to_numpy()).astype(int),
                       "why": why, "order": np.arange(len(faces))})
    df = df[df["person"].astype(str) != ""]
    out = {k: "too_brief" for k in zip(df["person"], df["s"].tolist())}
    df = df[df["why"] != ""]
    if df.empty:
        return out
    n = df.groupby(["person", "s", "why"], sort=False).agg(n=("order", "size"), first=("order", "min")).reset_index()
    n = n.sort_values(["person", "s", "n", "first"], ascending=[True, True, False, True], kind="stable")
    n = n.drop_duplicates(["person", "s"])
    out.update(zip(zip(n["person"], n["s"].astype(int).tolist()), n["why"]))
    return out


def smooth_timeline(tl: pd.DataFrame, *, method: str = "hmm", ema_alpha: float = 0.5, hmm_stay: float = 0.9) -> pd.DataFrame:
    """Smooth each person's probabilities over time (gaps over 1.5 s, and seconds without readable
    evidence, break the sequence), then read off ``emotion`` (argmax; "" without evidence),
    ``confidence`` (its probability) and ``valence``.

    Returns
    -------
    pandas.DataFrame
        :data:`TIMELINE_COLUMNS`, sorted by person and time.
    """
    from .smoothing import smooth

    cols = list(EMOTIONS)
    if tl.empty:
        return pd.DataFrame(columns=list(TIMELINE_COLUMNS))
    tl = tl.sort_values(["person", "t"]).reset_index(drop=True)
    out = tl[cols].to_numpy(float).copy()
    ts = tl["t"].to_numpy()
    seen = ~np.isnan(out).any(1)
    for _, idx in tl[seen].groupby("person").indices.items():
        idx = np.flatnonzero(seen)[idx]
        for run in np.split(idx, np.flatnonzero(np.diff(ts[idx]) > 1.5) + 1):
            out[run] = smooth(out[run], method, ema_alpha, hmm_stay)
    tl[cols] = out
    tl["emotion"] = np.where(seen, np.asarray(EMOTIONS)[np.nan_to_num(out, nan=-1).argmax(1)], "")
    tl["confidence"] = np.where(seen, np.nan_to_num(out, nan=0).max(1), np.nan)
    tl["valence"] = np.where(seen, expected_valence(np.nan_to_num(out)), np.nan)
    if "reason" not in tl:
        tl["reason"] = ""
    return tl[list(TIMELINE_COLUMNS)]


def speech_tables(turns: pd.DataFrame, speech: Readings, text: Readings, models) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-turn speech emotion (``speech.csv``) and per-utterance text emotion (``utterances.csv``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Per turn: ``start, end, person`` (a person id, ``"off-camera"`` or ""), ``attribution``
        (mouth-audio correlation), ``margin`` (its lead over the next face), ``speaker_label``,
        ``emotion, confidence`` (the mean of its speech windows; the emotion is left empty below
        ``models.speech_abstain`` or for a turn shorter than ``models.speech_min_seconds``, where the speech
        model is near chance), ``reason`` (why the emotion is empty: ``"shorter than 1.5 s"``,
        ``"confidence below 0.5"``, ``"not read"``; else ""). Per utterance: ``start, end,
        person, speaker_label, text, emotion, confidence, valence`` of the words, and
        ``speech_emotion, speech_confidence`` of the voice saying them, so a reader sees where the
        two disagree.
    """
    cols = list(EMOTIONS)
    sp = turns[["start", "end", "person", "attribution"]].copy()
    sp["margin"] = turns["margin"] if "margin" in turns else np.nan
    sp["speaker_label"] = turns.get("speaker", "")
    sp["emotion"] = ""
    sp["confidence"] = np.nan
    sp["reason"] = "not read"
    if speech.features is not None and len(speech.features):
        proba = _alone(models, "speech", speech.features)
        by_turn = pd.DataFrame(proba, columns=cols)
        by_turn["turn"] = speech.turn
        for i, row in by_turn.groupby("turn")[cols].mean().iterrows():
            sp.at[i, "confidence"] = float(row.max())
            if sp.at[i, "end"] - sp.at[i, "start"] < models.speech_min_seconds:
                sp.at[i, "reason"] = f"shorter than {models.speech_min_seconds:g} s"
            elif row.max() < models.speech_abstain:
                sp.at[i, "reason"] = f"confidence below {models.speech_abstain:g}"
            else:
                sp.at[i, "emotion"] = cols[int(np.argmax(row.to_numpy()))]
                sp.at[i, "reason"] = ""
    ut = pd.DataFrame(columns=["start", "end", "person", "speaker_label", "text", "emotion", "confidence", "valence",
                               "speech_emotion", "speech_confidence"])
    if text.features is not None and len(text.features):
        proba = _alone(models, "text", text.features)
        sub = turns.loc[text.turn]
        ut = pd.DataFrame({"start": sub["start"].to_numpy(), "end": sub["end"].to_numpy(), "person": sub["person"].to_numpy(),
                           "speaker_label": sub.get("speaker", pd.Series([""] * len(sub))).to_numpy(), "text": sub["text"].to_numpy(),
                           "emotion": np.asarray(cols)[proba.argmax(1)], "confidence": proba.max(1), "valence": expected_valence(proba),
                           "speech_emotion": sp.loc[text.turn, "emotion"].to_numpy(),
                           "speech_confidence": sp.loc[text.turn, "confidence"].to_numpy()})
    return sp.reset_index(drop=True), ut.reset_index(drop=True)


def lesson_tables(timeline: pd.DataFrame, faces: pd.DataFrame, turns: pd.DataFrame, speech: Readings, text: Readings, models, cfg,
                  roles: dict, duration: float):
    """The result of a lesson analysis from its smoothed timeline, sightings and attributed turns.

    Builds the students table, ``speech.csv`` and ``utterances.csv`` (:func:`speech_tables`) and the
    alerts; ``info`` is left empty for the caller to fill.

    Returns
    -------
    LessonAnalysis
    """
    from .alerts import find_alerts
    from .result import LessonAnalysis
    from .summary import student_table

    students = student_table(timeline, faces, turns, roles)
    speech_table, utter_table = speech_tables(turns, speech, text, models)
    alerts = find_alerts(timeline, students, cfg.alerts, duration=duration)
    return LessonAnalysis(timeline, students, speech_table, utter_table, alerts, faces.drop(columns=["track"]), {}, cfg)


def _alone(models, modality: str, features: np.ndarray) -> np.ndarray:
    """Probabilities [n, 7] of one modality's features on their own."""
    mask = np.zeros((len(features), len(MODALITIES)), bool)
    mask[:, MODALITIES.index(modality)] = True
    return models.fuse({modality: features}, mask)
