"""Shared helper of the speech benchmarks: RAVDESS read through the bundled speech model's voice encoder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class VoiceData:
    """RAVDESS speech and the bundled voice encoder's statistics of it (:func:`ravdess_voice`)."""

    model: object  # the bundled speech model (its encoder, pooled layers and level are what the benchmarks use)
    shrinkage: float  # the bundled head's LDA shrinkage
    y: np.ndarray  # [n] class index into EMOTIONS
    actor: np.ndarray  # [n] RAVDESS actor number
    waves: list  # n mono 16 kHz waveforms
    S: np.ndarray  # [n, d] encoder statistics of the clean utterances
    copies: list = field(default_factory=list)  # [n, d] statistics of each noise-only room copy (room_augment, seed 0)
    paths: list = field(default_factory=list)  # [n] the files read

    def stats(self, waves) -> np.ndarray:
        """Encoder statistics [len(waves), d] of 16 kHz waveforms, each read in a centred 3-s window of 40 log-mel bands."""
        from emolab.preprocessing.inputs import speech_input

        return self.statistics(np.stack([speech_input(w, feature="logmel40") for w in waves]))

    def statistics(self, X: np.ndarray) -> np.ndarray:
        """Encoder statistics [m, d] of model inputs ``X`` [m, 1, 40, frames] (windows of 40 log-mel bands)."""
        import torch

        with torch.inference_mode():
            return np.concatenate([self.model.voice.statistics(torch.from_numpy(X[i:i + 64])).numpy() for i in range(0, len(X), 64)])

    def fit_head(self, train: np.ndarray, shrinkage: float | None = None):
        """The bundled set-up's head on the utterances ``train`` (a boolean mask [n]) and their room copies:
        (``StandardScaler``, ``LinearDiscriminantAnalysis``), LDA with ``shrinkage`` (default: the bundled head's)."""
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.preprocessing import StandardScaler

        Xt = np.concatenate([self.S[train]] + [c[train] for c in self.copies])
        sc = StandardScaler().fit(Xt)
        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=self.shrinkage if shrinkage is None else shrinkage)
        return sc, lda.fit(sc.transform(Xt), np.tile(self.y[train], 1 + len(self.copies)))


def centred(F: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``F`` [n, d] with each group's own mean subtracted."""
    out = F.astype(np.float64).copy()
    for g in np.unique(groups):
        out[groups == g] -= out[groups == g].mean(0)
    return out


def fit_speaker_head(d: VoiceData, rows: np.ndarray, centre: bool = True, shrinkage: float | None = None):
    """(mean, scale, LDA) of the speaker-normalised set-up (``train_speech_speaker.py``) on utterances ``rows``:
    the clean statistics and each room copy, each actor's mean moved onto the training mean when ``centre``;
    read a window's statistics ``F`` with ``lda.decision_function((F - mean) / scale)``."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    parts = [F.astype(np.float64)[rows] for F in (d.S, *d.copies)]
    pop = np.concatenate(parts).mean(0)
    if centre:
        parts = [centred(P, d.actor[rows]) + pop for P in parts]  # each actor's mean moved onto the training mean
    X = np.concatenate(parts)
    scale = X.std(0) + 1e-12
    lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=d.shrinkage if shrinkage is None else shrinkage)
    return pop, scale, lda.fit((X - pop) / scale, np.tile(d.y[rows], len(parts)))


def ravdess_folder(shared: str, script: str) -> Path | None:
    """``shared/data/ravdess_speech``, or None after saying that ``script`` is skipped without it."""
    folder = Path(shared) / "data" / "ravdess_speech"
    if not folder.is_dir():
        print(f"{script}: skipped — {folder} not found (give --shared)")
        return None
    return folder


def ravdess_voice(folder: Path, copies: int = 2, model: str = "speech", split_seeds: bool = False) -> VoiceData:
    """Read RAVDESS speech under ``folder`` and measure a speech model's encoder statistics of it and of
    ``copies`` noise-only room copies of every utterance (``room_augment``, one generator seeded 0; with
    ``split_seeds``, as ``train_speech_voice.py`` draws them: actors 01-14 from a generator seeded 0, 15-18 from
    one seeded 1). ``model``: a voice speech model's file or bundled name (default: the bundled one)."""
    from tqdm.auto import tqdm

    from emolab.models import load_model
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.augment import room_augment
    from emolab.recipes import read_labelled
    from emolab.recipes.inputs import resolve_model_path
    from emolab.taxonomy import EMOTIONS

    name = model
    model, meta = load_model(resolve_model_path(name))
    if getattr(model.config, "encoder", "") != "voice":
        raise SystemExit(f"{name!r} is not a voice speech model (encoder='voice')")
    m = read_labelled("ravdess", folder)
    names = list(EMOTIONS)
    d = VoiceData(model=model, shrinkage=float(meta["metrics"].get("head_value", 0.2)),
                  y=np.array([names.index(v) for v in m["label"]]), actor=m["actor"].astype(int).to_numpy(),
                  waves=[load_audio(f) for f in tqdm(m["path"], desc="reading RAVDESS", unit="file")], S=np.empty(0),
                  paths=list(m["path"]))
    d.S = d.stats(d.waves)
    groups = [d.actor <= 14, d.actor > 14] if split_seeds else [np.ones(len(d.y), bool)]
    d.copies = [np.empty_like(d.S) for _ in range(copies)]
    for seed, rows in enumerate(groups):
        rng = np.random.default_rng(seed)
        for k, c in enumerate(d.copies):
            c[rows] = d.stats([room_augment(d.waves[i], rng=rng) for i in tqdm(np.flatnonzero(rows), desc=f"room copy {k + 1}", unit="file")])
    return d


def voice_for_heads(shared: str, script: str) -> VoiceData | None:
    """RAVDESS 01-18 through the bundled speech model, with the room copies ``train_speech_speaker.py`` draws, for
    heads of its set-up fitted out of fold (:func:`fit_speaker_head`); None, after saying ``script`` is skipped,
    without the corpus. Sets torch to 2 threads."""
    import torch

    folder = ravdess_folder(shared, script)
    if folder is None:
        return None
    torch.set_num_threads(2)
    return ravdess_voice(folder, copies=2, model="speech", split_seeds=True)
