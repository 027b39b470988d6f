"""A lesson as a multimodal torch ``Dataset``: one sample per person and time window.

:func:`lesson_windows` streams a lesson recording once (faces detected, tracked and cropped),
splits the audio into speaking turns (the transcript's cues, or speech activity), attributes each
turn to the visible person whose mouth follows the audio, and cuts, for every person and window
of ``window`` seconds in which they are seen or speak:

* ``face``: a clip of ``clip_frames`` grayscale crops centred on the window, uint8
  [1, T, S, S] (zeros when the person is not seen then);
* ``speech``: MFCC + deltas [1, 60, frames] of ``speech_seconds`` of audio centred on the window
  while the person speaks (zeros otherwise; stored only for the windows with speech);
* ``text``: token ids [max_len] of the utterance they speak then (with a ``vocab``; zeros otherwise);
* ``mask``: bool [3] over (face, speech, text) — what is really there;
* a label: from ``labels`` (a table ``person, start, end, label`` in the tracked ids), or from a
  synthetic lesson's ``truth.csv`` (tracked ids matched to the true people by box overlap), else -1.

The items are exactly what :class:`~emolab.models.FusedModel` takes, so a fused model can be
trained or fine-tuned on annotated lessons with the standard :class:`~emolab.training.Trainer`.
The expensive part (the video pass) is cached on disk keyed by the video's content and the
settings (:class:`~emolab.cache.FeatureCache`), so building the dataset again is quick.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..config import KEYFRAME_INTERVAL, Config
from ..taxonomy import EMOTIONS


@dataclass
class WindowConfig(Config):
    """Settings of :func:`lesson_windows`."""

    window: float = 1.0  # seconds per sample
    clip_frames: int = 8
    face_size: int = 48
    speech_seconds: float = 1.6
    sample_fps: float = 5.0
    keyframe_interval: float = KEYFRAME_INTERVAL  # seconds between full face detections (0: every sampled frame)
    max_side: int = 1280


class LessonWindows:
    """Per-person, per-window samples of a lesson (a map-style torch ``Dataset``).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per sample: ``person, start, end, label, has_face, has_speech, has_text, text``.
    face : np.ndarray [shape=(n, 1, T, S, S), dtype=uint8]
    speech_data : np.ndarray [shape=(k, 1, 60, frames), dtype=float32]
        Speech inputs of the k windows with speech only (stored compactly: most windows have none).
    speech_index : np.ndarray [shape=(n,), dtype=int64]
        Row of ``speech_data`` for each sample, -1 where the person does not speak.
    text : np.ndarray [shape=(n, max_len), dtype=int64] or None
    mask : np.ndarray [shape=(n, 3), dtype=bool] over (face, speech, text), the order of ``emolab.models.MODALITIES``
    labels : np.ndarray [shape=(n,), dtype=int64] class indices of ``EMOTIONS``, -1 when unknown
    """

    def __init__(self, table: pd.DataFrame, face: np.ndarray, speech_data: np.ndarray, speech_index: np.ndarray,
                 text: Optional[np.ndarray], mask: np.ndarray):
        self.table = table.reset_index(drop=True)
        self.face, self.speech_data, self.speech_index, self.text, self.mask = face, speech_data, speech_index, text, mask
        self.labels = self.table["label"].map(lambda s: EMOTIONS.index(s) if s in EMOTIONS else -1).to_numpy(np.int64)

    def __len__(self) -> int:
        return len(self.table)

    def speech(self, rows: np.ndarray) -> np.ndarray:
        """Dense speech inputs [len(rows), 1, 60, frames] (zeros where nobody speaks)."""
        rows = np.atleast_1d(rows)
        out = np.zeros((len(rows), *self.speech_data.shape[1:]), np.float32)
        k = self.speech_index[rows]
        out[k >= 0] = self.speech_data[k[k >= 0]]
        return out

    def __getitem__(self, i: int):
        import torch

        item = {"face": torch.from_numpy(self.face[i].astype(np.float32) / 255.0), "speech": torch.from_numpy(self.speech(i)[0]),
                "mask": torch.from_numpy(self.mask[i])}
        if self.text is not None:
            item["text"] = torch.from_numpy(self.text[i])
        return item, torch.tensor(self.labels[i])

    def inputs(self, rows: Optional[np.ndarray] = None) -> dict[str, np.ndarray]:
        """The arrays as a dict (fused-model input for :func:`~emolab.training.fit_arrays`), optionally some rows."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        out = {"face": self.face[rows], "speech": self.speech(rows), "mask": self.mask[rows]}
        if self.text is not None:
            out["text"] = self.text[rows]
        return out


def _video_pass(video: Path, cfg: WindowConfig, progress: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Tracked face sightings (``t, person, mouth, contrast``) and their crops uint8 [n, S, S]."""
    from .perception import Perception

    perception = Perception(video, sample_fps=cfg.sample_fps, keyframe_interval=cfg.keyframe_interval, max_side=cfg.max_side,
                            face_size=cfg.face_size, progress=progress, desc="tracking faces")
    crops = [g.crops for g in perception]
    faces = perception.sightings(keep_dropped=True)
    arr = np.concatenate(crops) if crops else np.zeros((0, cfg.face_size, cfg.face_size), np.uint8)
    return faces[["frame", "t", "x", "y", "w", "h", "mouth", "contrast", "person"]], arr


def _cached_video_pass(video: Path, cfg: WindowConfig, progress: bool, cache: bool) -> tuple[pd.DataFrame, np.ndarray]:
    from ..cache import FeatureCache

    fc = FeatureCache("lesson_windows", enabled=cache)
    settings = {k: getattr(cfg, k) for k in ("face_size", "sample_fps", "keyframe_interval", "max_side")} | {"version": 2}
    store: dict = {}

    def table() -> np.ndarray:
        store["faces"], store["crops"] = _video_pass(video, cfg, progress)
        f = store["faces"]
        return np.column_stack([f["frame"], f["t"], f["x"], f["y"], f["w"], f["h"], f["mouth"], f["contrast"],
                                f["person"].map(lambda p: int(p[1:]) if p else 0)]).astype(np.float64)

    tab = fc.get_or_compute(video, {**settings, "part": "table"}, table)
    crops = fc.get_or_compute(video, {**settings, "part": "crops"}, lambda: store["crops"] if "crops" in store else _video_pass(video, cfg, progress)[1])
    faces = pd.DataFrame(tab[:, :8], columns=["frame", "t", "x", "y", "w", "h", "mouth", "contrast"])
    faces["frame"] = faces["frame"].astype(int)
    faces["person"] = [f"S{int(k):02d}" if k else "" for k in tab[:, 8]]
    return faces, crops


def lesson_windows(lesson: str | os.PathLike, config: WindowConfig | None = None, vocab=None, labels: Optional[pd.DataFrame] = None,
                   transcript: str | os.PathLike | None = None, cache: bool = True, progress: bool = False) -> LessonWindows:
    """Cut a lesson recording into per-person, per-window multimodal samples (see the module docstring).

    Parameters
    ----------
    lesson : path
        A lesson folder (video + optional audio, transcript, truth) or a video file.
    config : WindowConfig
    vocab : Vocabulary, optional
        Fitted vocabulary for the ``text`` input (without one there is no text input).
    labels : pandas.DataFrame, optional
        ``person, start, end, label`` annotations in the tracked ids (``S01``, ...).
    transcript : path, optional
        SRT/VTT/CSV transcript (default: the one found beside the video).
    cache : bool
        Reuse / store the video pass in the feature cache.
    progress : bool
        tqdm bar over the video.

    Returns
    -------
    LessonWindows
    """
    from ..data.corpora.lesson import find_lesson_files
    from ..data.transcripts import read_transcript
    from ..errors import DataError, MediaError
    from ..taxonomy import canonical_label
    from .audio import load_audio
    from .inputs import speech_inputs_at
    from .speakers import OFF_CAMERA, attribute_turns, face_rms, speech_turns
    from .video import video_info

    cfg = config or WindowConfig()
    files = find_lesson_files(lesson)
    info = video_info(files.video)
    faces, crops = _cached_video_pass(Path(files.video), cfg, progress, cache)
    sightings = faces["person"] != ""
    if labels is not None:
        missing = {"person", "start", "end", "label"} - set(labels.columns)
        if missing:
            raise DataError(f"the labels table lacks column(s) {sorted(missing)}; expected person, start, end, label")
        labels = labels.assign(label=[canonical_label(str(v)) for v in labels["label"]])  # unknown labels: a clear error
    try:
        y = load_audio(files.audio or files.video)
    except MediaError as exc:
        warnings.warn(f"no usable audio ({exc}); the windows have faces{' and text' if vocab is not None else ''} only", stacklevel=2)
        y = None
    transcript = transcript or files.transcript
    tr = read_transcript(transcript) if transcript else None
    turns = speech_turns(tr, y, info.duration)
    faces["rms"] = face_rms(faces["t"].to_numpy(), y, cfg.sample_fps)
    turns = attribute_turns(turns, faces[sightings])

    w = cfg.window
    keys = set(zip(faces.loc[sightings, "person"], np.floor(faces.loc[sightings, "t"] / w).astype(int)))
    for _, r in turns[~turns["person"].isin(["", OFF_CAMERA])].iterrows():
        keys |= {(r["person"], k) for k in range(int(r["start"] // w), int(np.ceil(r["end"] / w)))}
    keys = sorted(keys)
    n, T, S = len(keys), cfg.clip_frames, cfg.face_size
    face = np.zeros((n, 1, T, S, S), np.uint8)
    sr = 16000
    starts: list[int] = []
    texts = [""] * n
    has = np.zeros((n, 3), bool)
    by_person = {p: g.index.to_numpy() for p, g in faces[sightings].groupby("person")}
    t_all = faces["t"].to_numpy()
    for i, (p, k) in enumerate(keys):
        a, b = k * w, (k + 1) * w
        idx = by_person.get(p, np.zeros(0, int))
        inside = idx[(t_all[idx] >= a) & (t_all[idx] < b)]
        if len(inside):
            c = (a + b) / 2
            near = idx[np.argsort(np.abs(t_all[idx] - c))[:T]]
            near = near[np.argsort(t_all[near])]
            face[i, 0] = crops[near[np.round(np.linspace(0, len(near) - 1, T)).astype(int)]]
            has[i, 0] = True
        speaking = turns[(turns["person"] == p) & (turns["start"] < b) & (turns["end"] > a)]
        if len(speaking) and y is not None:
            c = float(np.clip((a + b) / 2, speaking["start"].min(), speaking["end"].max()))
            starts.append(int(max(0, (c - cfg.speech_seconds / 2) * sr)))
            has[i, 1] = True
            txt = " ".join(str(t) for t in speaking.get("text", pd.Series(dtype=str)) if str(t))
            texts[i] = txt
            has[i, 2] = bool(txt) and vocab is not None
    chunks = [speech_inputs_at(y, np.array(starts[a:a + 256]), cfg.speech_seconds) for a in range(0, len(starts), 256)]
    speech = np.concatenate(chunks) if chunks else np.zeros((0, 1, 60, 1), np.float32)
    speech_index = np.full(n, -1, np.int64)
    speech_index[has[:, 1]] = np.arange(int(has[:, 1].sum()))
    table = pd.DataFrame({"person": [p for p, _ in keys], "start": [k * w for _, k in keys], "end": [(k + 1) * w for _, k in keys],
                          "has_face": has[:, 0], "has_speech": has[:, 1], "has_text": has[:, 2], "text": texts})
    table["label"] = _window_labels(table, labels, Path(files.video).parent / "truth.csv", faces[sightings])
    text = vocab.transform(texts) if vocab is not None else None
    if text is not None:
        text[~has[:, 2]] = 0
    return LessonWindows(table, face, speech, speech_index, text, has)


def _window_labels(table: pd.DataFrame, labels: Optional[pd.DataFrame], truth_path: Path, faces: pd.DataFrame) -> list[str]:
    """The label of every window: given annotations, else a synthetic lesson's truth, else ""."""
    out = [""] * len(table)
    if labels is not None:
        for i, r in enumerate(table.itertuples()):
            hit = labels[(labels["person"] == r.person) & (labels["start"] < r.end) & (labels["end"] > r.start)]
            if len(hit):
                out[i] = str(hit["label"].mode().iloc[0])
        return out
    if not truth_path.is_file():
        return out
    from ..scoring import match_to_truth

    truth = pd.read_csv(truth_path)
    m = match_to_truth(faces, truth)
    m = m[m["truth_person"] != ""]
    who = m.groupby("person")["truth_person"].agg(lambda s: s.value_counts().index[0]).to_dict()
    tt = truth["t"].to_numpy()
    for i, r in enumerate(table.itertuples()):
        tp = who.get(r.person)
        if tp is None:
            continue
        rows = truth[(truth["person"] == tp) & (tt >= r.start) & (tt < r.end)]
        if len(rows):
            out[i] = str(rows["emotion"].mode().iloc[0])
    return out
