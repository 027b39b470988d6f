"""Recipes: from a corpus manifest to model inputs, and the standard training/evaluation runs.

One place decides how each kind of model reads each kind of data:

* face images (FER2013, CK+48, folders) -> uint8 [n, 48, 48] -> ``face2d`` / ``classroom_cnn``,
  with augmentation (flip, small affine, brightness) during training;
* speech (RAVDESS, CREMA-D, TESS, Emo-DB) -> MFCC+deltas [n, 1, 60, frames] of a fixed-length
  centred window -> ``speech``;
* text (MELD, GoEmotions) -> token ids [n, max_len] with a vocabulary fitted on the training
  split only -> ``text``;
* synthetic training sets -> face clips, MFCCs and tokens -> ``face3d``, ``cnn_lstm``,
  ``speech``, ``text`` or ``fused``.

:func:`train_recipe` and :func:`evaluate_recipe` are what ``emolab train`` and
``emolab evaluate`` run. Default splits are subject-independent where the corpus has subjects
(RAVDESS actors 1-14 / 15-18, MELD and GoEmotions official train/dev, FER2013 train/validation,
synthetic identities held out).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, EmolabError
from .preprocessing.inputs import (SPEECH_SECONDS, load_face_images, load_speech_inputs, speech_input,  # noqa: F401
                                    speech_inputs_at, speech_inputs_from_waves)
from .registry import BUNDLED_MODELS, FRAME_FACE_KINDS, MODEL_KINDS, PRETRAINED_DIR, SYNTHETIC_DATASETS
from .taxonomy import EMOTIONS, label_to_index


class AugmentedFaces:
    """A torch Dataset of face images with training-time augmentation.

    Parameters
    ----------
    images : np.ndarray [shape=(n, H, W), dtype=uint8]
    labels : np.ndarray [shape=(n,)] class indices
    augment : bool
        Random horizontal flip, rotation (±10°), shift (±8 %), scale (±10 %), brightness and
        contrast (±20 %).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, augment: bool = True, seed: int = 0):
        self.images = images
        self.labels = np.asarray(labels, np.int64)
        self.augment = augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        import cv2
        import torch

        img = self.images[i]
        if self.augment:
            r = self.rng
            h, w = img.shape
            if r.random() < 0.5:
                img = img[:, ::-1]
            M = cv2.getRotationMatrix2D((w / 2, h / 2), r.uniform(-10, 10), r.uniform(0.9, 1.1))
            M[:, 2] += r.uniform(-0.08, 0.08, 2) * (w, h)
            img = cv2.warpAffine(np.ascontiguousarray(img), M, (w, h), borderMode=cv2.BORDER_REFLECT)
            x = img.astype(np.float32) / 255.0
            x = np.clip((x - 0.5) * r.uniform(0.8, 1.2) + 0.5 + r.uniform(-0.2, 0.2), 0, 1)
        else:
            x = img.astype(np.float32) / 255.0
        return torch.from_numpy(np.ascontiguousarray(x))[None], torch.tensor(self.labels[i])


class AugmentedSpectra:
    """A torch Dataset of speech features with SpecAugment-style training-time augmentation.

    Parameters
    ----------
    features : np.ndarray [shape=(n, 1, F, T), dtype=float32]
        E.g. MFCC + Δ + ΔΔ stacked (:func:`speech_input`).
    labels : np.ndarray [shape=(n,)] class indices
    blocks : int
        Number of equal row blocks in ``F`` (3 for MFCC + Δ + ΔΔ): a masked coefficient is masked in every block.
    shift : int
        Largest time shift in frames (±; 30 = 0.3 s at a 10 ms hop), edges repeated.
    time_masks, time_width : int
        Number of time masks and their largest width in frames.
    freq_masks, freq_width : int
        Number of coefficient masks and their largest width in rows (per block).
    seed : int

    Notes
    -----
    Masked cells are set to the utterance's mean of each row. Draws come from one generator in order,
    so a training run with ``num_workers=0`` is repeatable from its seed (a run resumed from a
    checkpoint continues with fresh draws: nothing is lost, but it is not bit-identical to an
    uninterrupted one).
    """

    def __init__(self, features: np.ndarray, labels: np.ndarray, blocks: int = 3, shift: int = 30, time_masks: int = 2,
                 time_width: int = 25, freq_masks: int = 2, freq_width: int = 3, seed: int = 0):
        self.features = features
        self.labels = np.asarray(labels, np.int64)
        self.blocks, self.shift = blocks, shift
        self.time_masks, self.time_width, self.freq_masks, self.freq_width = time_masks, time_width, freq_masks, freq_width
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        import torch

        r = self.rng
        x = np.array(self.features[i], np.float32)  # [1, F, T], a copy
        F, T = x.shape[-2:]
        if self.shift:
            k = int(r.integers(-self.shift, self.shift + 1))
            if k > 0:
                x[..., k:] = x[..., :-k].copy()
                x[..., :k] = x[..., k:k + 1]
            elif k < 0:
                x[..., :k] = x[..., -k:].copy()
                x[..., k:] = x[..., k - 1:k]
        fill = x.mean(axis=-1, keepdims=True)  # [1, F, 1]
        for _ in range(self.time_masks):
            w = int(r.integers(0, self.time_width + 1))
            a = int(r.integers(0, max(1, T - w)))
            x[..., a:a + w] = fill
        rows = F // max(1, self.blocks)
        for _ in range(self.freq_masks):
            w = int(r.integers(0, self.freq_width + 1))
            a = int(r.integers(0, max(1, rows - w)))
            for b in range(self.blocks):
                x[:, b * rows + a:b * rows + a + w] = fill[:, b * rows + a:b * rows + a + w]
        return torch.from_numpy(x), torch.tensor(self.labels[i])


# ----------------------------------------------------------------------------- splits
def default_split(manifest: pd.DataFrame, dataset: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The standard training / model-selection split of a corpus (subject-independent where possible)."""
    from .data import group_holdout, split_by_column

    ds = dataset.lower()
    if ds in ("ravdess", "ravdess_speech"):
        actor = manifest["actor"].astype(int)
        tr, va = np.flatnonzero(actor <= 14), np.flatnonzero(actor >= 15)
        if len(tr) and len(va):
            return tr, va
    splits = set(manifest["split"].astype(str))
    for a, b in (("train", "validation"), ("train", "dev"), ("train", "test")):
        if {a, b} <= splits:
            return split_by_column(manifest, a, b)
    return group_holdout(manifest, test_size=0.25, seed=seed, allow_unknown_subjects=not manifest["subject_known"].all())


# ----------------------------------------------------------------------------- training
def _read(dataset: str, path: str | os.PathLike) -> pd.DataFrame:
    from .data import read_corpus

    if dataset in SYNTHETIC_DATASETS:
        from .synth.trainset import load_trainset

        return load_trainset(path)[0]
    m = read_corpus(dataset, path)
    return m[m["label"].astype(str) != ""].reset_index(drop=True)


def synthetic_inputs(folder: str | os.PathLike, manifest: pd.DataFrame, vocab=None, feature: str = "mfcc") -> dict[str, np.ndarray]:
    """Face clips [n,1,T,S,S] uint8, speech inputs and token ids of a synthetic training set."""
    from .cache import FeatureCache
    from .synth.trainset import TrainsetConfig, load_trainset

    folder = Path(folder)
    _, faces, audio = load_trainset(folder)
    cfg = TrainsetConfig.load(folder / "trainset.json")
    idx = manifest["index"].to_numpy()
    speech = FeatureCache("synthetic_speech").get_or_compute(
        folder / "audio.npy", {"feature": feature, "seconds": cfg.audio_seconds, "version": 1},
        lambda: speech_inputs_from_waves(np.asarray(audio, np.float32), cfg.audio_seconds, feature))
    out = {"face": np.asarray(faces[idx])[:, None], "speech": speech[idx]}
    if vocab is not None:
        out["text"] = vocab.transform(manifest["text"].astype(str))
    return out


def prepare(kind: str, dataset: str, path: str | os.PathLike, manifest: pd.DataFrame, train_idx: np.ndarray,
            progress: bool = True, vocab=None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Inputs for ``kind`` of every manifest row, and the preprocessing parameters to save.

    Returns
    -------
    inputs : dict with ``"X"`` (array or dict of arrays, row-aligned with the manifest)
    preprocessing : dict (JSON-able), stored in the model file
    """
    from .preprocessing.text import Vocabulary

    if dataset in SYNTHETIC_DATASETS:
        if kind in ("text", "fused") and vocab is None:
            vocab = Vocabulary(min_count=1, max_len=24).fit(manifest["text"].iloc[train_idx])
        inp = synthetic_inputs(path, manifest, vocab)
        prep = {"source": "synthetic", "vocabulary": vocab.to_dict() if vocab is not None else None}
        if kind == "fused":
            return {"X": inp}, prep
        if kind in FRAME_FACE_KINDS:  # every frame for training (train_recipe), the middle one for validation
            return {"X": inp["face"][:, 0]}, prep
        if MODEL_KINDS.get(kind) in inp:  # the clip face kinds, speech, text: their modality's inputs
            return {"X": inp[MODEL_KINDS[kind]]}, prep
        raise EmolabError(f"model {kind!r} cannot be trained on a synthetic training set")
    if kind in FRAME_FACE_KINDS:
        return {"X": load_face_images(manifest, progress=progress)}, {"input": "gray48"}
    if kind == "speech":
        return {"X": load_speech_inputs(manifest, progress=progress)}, {"input": "mfcc+deltas", "seconds": SPEECH_SECONDS, "sample_rate": 16000}
    if kind == "text":
        vocab = vocab or Vocabulary(min_count=2, max_size=8000, max_len=50).fit(manifest["text"].iloc[train_idx])
        return {"X": vocab.transform(manifest["text"].astype(str))}, {"vocabulary": vocab.to_dict()}
    raise EmolabError(f"model {kind!r} cannot be trained on {dataset}; see 'emolab train --help'")


def model_config_for(kind: str, dataset: str, path: str | os.PathLike, prep: dict, X: Any, overrides: dict | None = None) -> dict:
    """Model settings that follow from the data (vocabulary size, speech window, clip shape), plus ``overrides``."""
    cfg = dict(overrides or {})
    if kind == "text":
        cfg.setdefault("vocab_size", len(prep["vocabulary"]["tokens"]) + 2)
    if dataset in SYNTHETIC_DATASETS and kind in ("fused", "speech"):  # the speech window the inputs were cut with
        from .synth.trainset import TrainsetConfig

        secs = TrainsetConfig.load(Path(path) / "trainset.json").audio_seconds
        if kind == "speech":
            cfg.setdefault("seconds", secs)
        else:
            cfg.setdefault("speech", {})
            cfg["speech"] = {**cfg["speech"], "seconds": secs}
    if kind == "fused" and prep.get("vocabulary"):
        cfg.setdefault("text", {"vocab_size": len(prep["vocabulary"]["tokens"]) + 2, "embedding": 64, "hidden": 64, "max_len": 24})
    if kind in ("face3d", "cnn_lstm") and isinstance(X, np.ndarray):
        cfg.setdefault("frames", X.shape[2])
        cfg.setdefault("size", X.shape[-1])
    return cfg


def train_recipe(kind: str, dataset: str, path: str | os.PathLike, out: str | os.PathLike, epochs: int = 20, batch_size: int = 64,
                 lr: float = 1e-3, seed: int = 0, resume: bool = False, progress: bool = True, balance: str | None = None,
                 model_config: dict | None = None, patience: int = 8, max_samples: int | None = None,
                 class_weights: bool = True, label_smoothing: float = 0.0, init: str | os.PathLike | None = None,
                 callbacks: tuple = (), monitor: str | None = None, labels: str = "canonical", augment: bool = False) -> dict[str, Any]:
    """Train ``kind`` on a corpus with its default split; write ``model.safetensors``, ``history.csv``
    and ``metrics.json`` to ``out`` (and checkpoints to ``out/checkpoints`` for ``resume``).

    Face models are always trained with image augmentation; ``augment=True`` adds SpecAugment-style
    augmentation to the speech model (:class:`AugmentedSpectra`).

    ``labels="canonical"`` trains on emolab's 7 emotions (``docs/taxonomy.md``); ``"native"`` on the
    corpus's own label set (e.g. RAVDESS's 8, with calm apart from neutral), stored in the model file.

    Returns
    -------
    dict
        The validation metrics (see :func:`emolab.evaluation.evaluate`) plus ``seconds``.
    """
    import torch

    from .atomic import write_csv, write_text
    from .balancing import Balancer
    from .device import seed_everything
    from .evaluation import evaluate
    from .models import build_model, save_model
    from .training import TrainConfig, Trainer, make_dataset, take_rows

    t0 = time.perf_counter()
    seed_everything(seed)  # before the model is built: its initial weights come from this seed (reproducible runs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    m = _read(dataset, path)
    if max_samples and len(m) > max_samples:
        m = m.sample(max_samples, random_state=seed).reset_index(drop=True)
    tr, va = default_split(m, dataset, seed)
    start = _text_init(init, m["text"].iloc[tr]) if init and kind == "text" else None
    data, prep = prepare(kind, dataset, path, m, tr, progress, vocab=start[1] if start else None)
    X = data["X"]
    label_col, names = _label_set(m, labels)
    y = np.array([names.index(v) for v in m[label_col].astype(str)], np.int64)
    if labels != "canonical":
        model_config = {**(model_config or {}), "n_classes": len(names)}
    if start:
        model_config = {**start[0].config.to_dict(), **(model_config or {}), "vocab_size": start[1].size}
    cfg = model_config_for(kind, dataset, path, prep, X, model_config)
    model = build_model(kind, **cfg)
    if start:
        _load_text_weights(model, start[0])
    elif init:
        _init_face_branch(model, init)
    Xtr, ytr = take_rows(X, tr), y[tr]
    Xva = take_rows(X, va)
    if kind in FRAME_FACE_KINDS and isinstance(Xtr, np.ndarray) and Xtr.ndim == 4:  # clips: frames as samples
        t = Xtr.shape[1]
        Xtr, ytr = Xtr.reshape(-1, *Xtr.shape[2:]), np.repeat(ytr, t)
        Xva = Xva[:, t // 2]
    if balance:
        Xtr, ytr = Balancer(method=balance, target="median", random_state=seed).fit_resample(Xtr, ytr)
    if kind in FRAME_FACE_KINDS:
        train_ds = AugmentedFaces(Xtr, ytr, augment=True, seed=seed)
        val_ds = AugmentedFaces(Xva, y[va], augment=False)
    elif kind == "speech" and augment:
        train_ds, val_ds = AugmentedSpectra(Xtr, ytr, seed=seed), make_dataset(Xva, y[va])
    else:
        train_ds, val_ds = make_dataset(Xtr, ytr), make_dataset(Xva, y[va])
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, patience=patience, class_weights=class_weights,
                       label_smoothing=label_smoothing,
                       monitor=monitor or ("val_accuracy" if not class_weights else "val_balanced_accuracy"))
    trainer = Trainer(model, tcfg, callbacks=callbacks, checkpoint_dir=out / "checkpoints", progress=progress)
    if progress:
        print(f"training {kind} on {dataset}: {len(tr)} train / {len(va)} validation samples, device {trainer.device}", flush=True)
    history = trainer.fit(train_ds, val_ds, resume=resume)
    proba = trainer.predict_proba(val_ds)
    ev = evaluate(m[label_col].iloc[va], proba=proba, labels=names)
    seconds = time.perf_counter() - t0
    metrics = {**ev.metrics, "seconds": seconds, "class_weights": class_weights, "label_smoothing": label_smoothing, "epochs_run": int(len(history)), "dataset": dataset, "kind": kind, "seed": seed,
               "n_train": int(len(tr)), "n_val": int(len(va)), "torch_threads": torch.get_num_threads(), "balance": balance,
               "per_class_accuracy": dict(zip(ev.per_class.label, ev.per_class.accuracy.round(4)))}
    if init:
        metrics["init"] = Path(str(init)).name  # a name, not a path of the machine it was trained on
    metrics["monitor"] = tcfg.monitor
    metrics["labels"] = labels
    if kind == "speech":
        metrics["augment"] = bool(augment)
    save_model(out / "model.safetensors", model.cpu(), labels=tuple(names), preprocessing=prep, metrics=metrics,
               notes=f"trained with: emolab train --model {kind} --dataset {dataset} PATH --epochs {epochs} --seed {seed}"
               + (" --augment" if augment and kind == "speech" else ""))
    write_csv(out / "history.csv", history)
    write_csv(out / "confusion.csv", ev.confusion)
    write_csv(out / "per_class.csv", ev.per_class)
    write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=float) + "\n")
    return metrics


def _label_set(manifest: pd.DataFrame, labels: str) -> tuple[str, list[str]]:
    """The label column and class names: emolab's 7 emotions, or the corpus's own (``raw_label``), sorted."""
    if labels == "canonical":
        return "label", list(EMOTIONS)
    if labels != "native":
        raise EmolabError(f"labels must be 'canonical' or 'native', got {labels!r}")
    if "raw_label" not in manifest.columns or (manifest["raw_label"].astype(str) == "").any():
        raise DataError("this corpus's manifest has no native labels (raw_label) for every sample; use labels='canonical'")
    return "raw_label", sorted(set(manifest["raw_label"].astype(str)))


def _text_init(path: str | os.PathLike, train_texts: pd.Series):
    """A trained text model to fine-tune, and its vocabulary extended with the new training texts."""
    from .models import load_model
    from .preprocessing.text import Vocabulary

    start, meta = load_model(resolve_model_path(path))
    if meta["kind"] != "text" or not meta.get("preprocessing", {}).get("vocabulary"):
        raise EmolabError(f"init for a text model needs a trained text model with its vocabulary, got {meta['kind']!r}")
    return start, Vocabulary.from_dict(meta["preprocessing"]["vocabulary"]).extend(train_texts.astype(str))


def _load_text_weights(model, start) -> None:
    """Copy a trained text model's weights into ``model`` (whose vocabulary extends the trained one)."""
    import torch

    state = model.state_dict()
    for name, value in start.state_dict().items():
        if name == "embedding.weight":
            with torch.no_grad():
                state[name][: value.shape[0]] = value
        elif state[name].shape == value.shape:
            state[name] = value
        else:
            raise EmolabError(f"cannot start from that text model: {name} has shape {tuple(value.shape)}, need {tuple(state[name].shape)}")
    model.load_state_dict(state)


def _init_face_branch(model, path: str | os.PathLike) -> None:
    """Start a 3D face model (or a fused model's face branch) from a trained 2D face CNN (I3D inflation)."""
    from .models import Face3DCNN, load_model

    face2d, meta = load_model(resolve_model_path(path))
    if meta["kind"] != "face2d":
        raise EmolabError(f"init needs a face2d model, got {meta['kind']!r}")
    target = model.branches["face"] if getattr(model, "kind", "") == "fused" else model
    if getattr(target, "kind", "") != "face3d":
        raise EmolabError("init inflates a face2d model into a face3d model or a fused model's face branch")
    inflated = Face3DCNN.inflate(face2d, frames=target.config.frames, temporal_kernel=target.config.temporal_kernel)
    if inflated.config.widths != target.config.widths or inflated.config.convs_per_block != target.config.convs_per_block:
        raise EmolabError(f"the 2D model's layout {face2d.config.widths}x{face2d.config.convs_per_block} does not match the 3D "
                          f"branch's {target.config.widths}x{target.config.convs_per_block}")
    target.load_state_dict(inflated.state_dict())


def evaluate_recipe(model_path: str | os.PathLike, dataset: str, path: str | os.PathLike, split: str | None = None,
                    progress: bool = True, max_samples: int | None = None):
    """Evaluate a saved or bundled model on a corpus; ``scored`` of the result says which rows and why.

    Parameters
    ----------
    model_path : path or str
        A ``.safetensors`` file, a training output folder, or a bundled model's name.
    dataset : str
        Corpus name (or ``"synthetic"``), read from ``path``.
    split : str, optional
        ``"all"``: every labelled row; ``"val"`` (or ``"actors15-18"``): the split the recipes select
        models on; else an official split name of the corpus (``validation``, ``dev``, ``test``, ...).
        Default: the model-selection split when the model was trained on this corpus (its file
        records the corpus), otherwise every labelled row.
    progress : bool
    max_samples : int, optional
        Score a random subsample (seed 0) of at most this many of the chosen rows.

    Returns
    -------
    Evaluation
        Metrics over the scored rows; ``scored`` is ``{"split", "n", "of", "reason"}``: the split's
        name, how many rows were scored, of how many labelled rows, and why these.
    """
    from .evaluation import evaluate
    from .models import load_model
    from .preprocessing.text import Vocabulary
    from .training import Trainer, TrainConfig, make_dataset

    model, meta = load_model(resolve_model_path(model_path))
    m = _read(dataset, path)
    rows, scored = _rows_to_score(m, dataset, split, meta.get("metrics", {}).get("dataset"))
    if max_samples and len(rows) > max_samples:
        scored["reason"] += f"; a random {max_samples} of its {len(rows)} rows (max_samples)"
        rows = np.random.default_rng(0).choice(rows, max_samples, replace=False)
    sub = m.iloc[rows].reset_index(drop=True)
    vocab = Vocabulary.from_dict(meta["preprocessing"]["vocabulary"]) if meta["preprocessing"].get("vocabulary") else None
    data, _ = prepare(meta["kind"], dataset, path, sub, np.arange(len(sub)), progress, vocab=vocab)
    X = data["X"]
    labels = list(meta.get("labels") or EMOTIONS)
    col = "label" if labels == list(EMOTIONS) else "raw_label"  # a model trained on the corpus's own labels
    if col not in sub.columns or not set(sub[col].astype(str)) <= set(labels):
        raise DataError(f"this model predicts {labels}, which the {dataset} labels do not match")
    y = np.array([labels.index(v) for v in sub[col].astype(str)], np.int64)
    if meta["kind"] in FRAME_FACE_KINDS:
        if X.ndim == 4:  # synthetic clips: the middle frame
            X = X[:, X.shape[1] // 2]
        ds = AugmentedFaces(X, y, augment=False)
    else:
        ds = make_dataset(X, y)
    proba = Trainer(model, TrainConfig(), progress=False).predict_proba(ds)
    result = evaluate(sub[col], proba=proba, labels=labels)
    result.scored = {**scored, "n": int(len(sub)), "of": int(len(m))}
    return result


def _rows_to_score(manifest: pd.DataFrame, dataset: str, split: str | None, trained_on: str | None) -> tuple[np.ndarray, dict]:
    """The manifest rows :func:`evaluate_recipe` scores, and ``{"split", "reason"}`` saying why those."""
    from .data import ALIASES

    corpus = lambda name: ALIASES.get(str(name).lower(), str(name).lower())
    if split is None:
        if trained_on is None:
            split, why = "val", "the model's file does not record its training corpus, so its model-selection split"
        elif corpus(trained_on) == corpus(dataset) or {dataset, trained_on} <= set(SYNTHETIC_DATASETS):
            split, why = "val", f"the model was trained on {trained_on}: its model-selection split, held out from training"
        else:
            split, why = "all", f"the model was trained on {trained_on}, not on {dataset}: every labelled row"
    else:
        why = f"asked for (split {split!r})"
    if split == "all":
        return np.arange(len(manifest)), {"split": "all", "reason": why}
    if split in ("val", "actors15-18"):
        return default_split(manifest, dataset)[1], {"split": "val", "reason": why}
    rows = np.flatnonzero(manifest["split"].astype(str).to_numpy() == split)
    if not len(rows):
        known = sorted(set(manifest["split"].astype(str)) - {""}) + ["all", "val"]
        raise DataError(f"split {split!r} not found; available: {', '.join(known)}")
    return rows, {"split": split, "reason": why}


def resolve_model_path(name: str | os.PathLike) -> Path:
    """A model file from a path, or a bundled pretrained model's name (``face``, ``speech``, ...)."""
    p = Path(name)
    if p.is_file():
        return p
    if p.is_dir() and (p / "model.safetensors").is_file():
        return p / "model.safetensors"
    bundled = PRETRAINED_DIR / f"{name}.safetensors"
    if bundled.is_file():
        return bundled
    from .errors import ModelError

    raise ModelError(f"no model file or bundled model named {str(name)!r}", hint=f"give a .safetensors path or one of {', '.join(BUNDLED_MODELS)}")


def _partition(manifest: pd.DataFrame, spec: str, n_clients: int, seed: int) -> list[np.ndarray]:
    """``groups`` (subject groups dealt round-robin), ``dirichlet:ALPHA`` (non-IID), or ``column:NAME``."""
    from .federated import dirichlet_partition, group_partition, natural_partition

    if spec == "groups":
        return group_partition(manifest, n_clients, seed)
    if spec.startswith("dirichlet"):
        alpha = float(spec.split(":", 1)[1]) if ":" in spec else 0.5
        return dirichlet_partition(manifest, n_clients, alpha, seed)
    if spec.startswith("column:"):
        return natural_partition(manifest, spec.split(":", 1)[1])
    raise EmolabError(f"unknown partition {spec!r}; use groups, dirichlet:ALPHA or column:NAME")


def federate_recipe(kind: str, dataset: str, path: str | os.PathLike, n_clients: int = 3, rounds: int = 2, partition: str = "groups",
                    out: str | os.PathLike | None = None, centralized: bool = False, progress: bool = False, **settings: Any):
    """Federated training of ``kind`` on a corpus split into clients; writes ``history.csv``,
    ``model.safetensors`` and ``federated.json`` to ``out`` when given."""
    from .atomic import write_csv, write_text
    from .federated import FederatedConfig, federate
    from .models import save_model

    m = _read(dataset, path)
    clients = _partition(m, partition, n_clients, settings.get("seed", 0))
    data, prep = prepare(kind, dataset, path, m, clients[0], progress)  # a vocabulary is agreed from the first client's texts
    overrides = settings.pop("model_config", None)
    cfg = FederatedConfig(kind=kind, rounds=rounds, model_config=model_config_for(kind, dataset, path, prep, data["X"], overrides), **settings)
    res = federate(data["X"], label_to_index(m["label"]), m["group"].astype(str).to_numpy(), clients, cfg, centralized=centralized)
    if out is not None:
        out = Path(out)
        write_csv(out / "history.csv", res.history)
        save_model(out / "model.safetensors", res.model, preprocessing=prep, metrics={"federated": cfg.to_dict()})
        final = res.history[(res.history.client == "global") & (res.history.phase == "test")].iloc[-1]
        summary = {"config": cfg.to_dict(), "clients": [int(len(c)) for c in clients], "partition": partition,
                   "final_global_accuracy": float(final["accuracy"]), "final_global_balanced_accuracy": float(final["balanced_accuracy"]),
                   "centralized": res.centralized, "seconds": res.seconds,
                   "differential_privacy": {"noise_multiplier": cfg.dp_noise, "clipping_norm": cfg.dp_clip} if cfg.dp_noise > 0 else None}
        write_text(out / "federated.json", json.dumps(summary, indent=2) + "\n")
    return res


def split_clients_recipe(kind: str, dataset: str, path: str | os.PathLike, n_clients: int, out: str | os.PathLike,
                         partition: str = "groups", seed: int = 0) -> list[Path]:
    """Write each client's prepared data to ``out/client{i}.npz`` (for a deployment demo on one machine;
    in a real consortium each institution prepares its own file from its own recordings)."""
    from .federated import save_client_data

    m = _read(dataset, path)
    clients = _partition(m, partition, n_clients, seed)
    data, prep = prepare(kind, dataset, path, m, clients[0], progress=False)
    X = data["X"]
    from .training import take_rows

    y, g = label_to_index(m["label"]), m["group"].astype(str).to_numpy()
    out = Path(out)
    files = [save_client_data(out / f"client{i}.npz", take_rows(X, idx), y[idx], g[idx]) for i, idx in enumerate(clients)]
    from .atomic import write_text

    write_text(out / "model_config.json", json.dumps(model_config_for(kind, dataset, path, prep, X)) + "\n")
    return files
