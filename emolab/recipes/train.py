"""The training recipe: train one model kind on a corpus with its default split (``emolab train``)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import EmolabError
from ..evaluation import Evaluation
from ..registry import FRAME_FACE_KINDS
from .inputs import label_set, model_config_for, prepare, read_labelled, vocabulary_size
from .splits import default_split
from .warm_start import face_start, load_text_weights, text_start

if TYPE_CHECKING:
    from ..training import TrainConfig


@dataclass
class TrainResult:
    """What :func:`train_recipe` made: the model file, its validation scores and how it learned.

    Attributes
    ----------
    model_path : Path
        The saved model (``out/model.safetensors``).
    evaluation : Evaluation
        Scores on the validation split (metrics, per-class table, confusion matrix, ROC curves).
    history : pd.DataFrame
        One row per epoch (``epoch``, ``loss``, ``val_*``, ...), as ``history.csv``.
    metrics : dict
        What ``metrics.json`` holds: the validation metrics plus the run's settings and sizes
        (``n_train``, ``n_val``, ``epochs_run``, ``seconds``, ...).
    model_config : dict
        The settings the model was built with.
    train_config : TrainConfig
        The trainer's settings.
    seconds : float
        Wall-clock time of the whole recipe, in seconds.
    """

    model_path: Path
    evaluation: Evaluation
    history: pd.DataFrame
    metrics: dict = field(default_factory=dict)
    model_config: dict = field(default_factory=dict)
    train_config: TrainConfig | None = None
    seconds: float = 0.0


def train_recipe(kind: str, dataset: str, path: str | os.PathLike, out: str | os.PathLike, *, epochs: int = 20, batch_size: int = 64,
                 lr: float = 1e-3, seed: int = 0, resume: bool = False, progress: bool = True, balance: str | None = None,
                 model_config: dict | None = None, patience: int = 8, max_samples: int | None = None,
                 class_weights: bool = True, label_smoothing: float = 0.0, init: str | os.PathLike | None = None,
                 callbacks: tuple = (), monitor: str | None = None, labels: str = "canonical", augment: bool = False,
                 lowres: float = 0.0, mixup: float = 0.0, teacher: str | os.PathLike | list | tuple | None = None,
                 distill: float = 0.5, distill_temperature: float = 2.0, head_lr: float = 0.0) -> TrainResult:
    """Train ``kind`` on a corpus with its default split; write ``model.safetensors``, ``history.csv``,
    ``metrics.json``, ``confusion.csv`` and ``per_class.csv`` to ``out`` (and checkpoints to
    ``out/checkpoints`` for ``resume``).

    Face models are always trained with image augmentation; ``augment=True`` adds SpecAugment-style
    augmentation to the speech model (:class:`~emolab.augmentation.AugmentedSpectra`).

    ``lowres`` (face models, probability 0 to 1): the share of training faces also shrunk to 12-48 px and
    scaled back, some blurred and JPEG-compressed (:class:`~emolab.augmentation.AugmentedFaces`), so small
    classroom faces are read better. ``mixup`` (image models, Beta alpha; 0.2 is usual, 0 off): train on
    convex mixtures of pairs of images and of their losses (:class:`~emolab.training.TrainConfig`).
    ``head_lr`` (> 0): the classifier's own learning rate, ``lr`` then the encoder's (the MiniLM text
    model: ``model_config={"encoder": "minilm"}``, encoder 1e-4, head 1e-3).

    ``teacher`` (one model or a list: paths or bundled names such as ``"face"``): knowledge distillation,
    the loss mixing the labels with weight ``1 - distill`` and the teachers' mean probabilities, softened by
    ``distill_temperature``, with weight ``distill`` (:class:`~emolab.training.Trainer`). Teachers must
    have the student's kind of input and its labels; ``distill`` is ignored without a teacher.

    ``labels="canonical"`` trains on emolab's 7 emotions (``docs/taxonomy.md``); ``"native"`` on the
    corpus's own label set (e.g. RAVDESS's 8, with calm apart from neutral), stored in the model file.

    Returns
    -------
    TrainResult
        The model's path, its validation :class:`~emolab.evaluation.Evaluation`, the training history
        and ``metrics`` (the validation metrics plus ``seconds`` and the run's settings).
    """
    import torch

    from ..atomic import write_csv, write_text
    from ..augmentation import AugmentedFaces, AugmentedSpectra
    from ..balancing import Balancer
    from ..device import seed_everything
    from ..evaluation import evaluate
    from ..models import build_model, save_model
    from ..training import TrainConfig, Trainer, make_dataset, take_rows

    for name, value, ok in (("lowres", lowres, 0.0 <= lowres <= 1.0), ("label_smoothing", label_smoothing, 0.0 <= label_smoothing < 1.0),
                            ("mixup", mixup, mixup >= 0.0), ("distill", distill, 0.0 <= distill <= 1.0),
                            ("distill_temperature", distill_temperature, distill_temperature > 0), ("head_lr", head_lr, head_lr >= 0.0)):
        if not ok:  # before any corpus is read: a bad setting fails in a second, not after the data is loaded
            raise EmolabError(f"{name} = {value} is out of range",
                              hint="lowres is a probability (0 to 1), label_smoothing 0 to below 1, mixup an alpha >= 0 (0: off), "
                              "distill a weight from 0 to 1, distill_temperature > 0, head_lr >= 0 (0: lr)")
    teachers = _load_teachers(teacher, kind)  # before the corpus too: a wrong teacher fails at once
    t0 = time.perf_counter()
    seed_everything(seed)  # before the model is built: its initial weights come from this seed (reproducible runs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    left: dict = {}
    m = read_labelled(dataset, path, kind, report=left)
    if max_samples and len(m) > max_samples:
        m = m.sample(max_samples, random_state=seed).reset_index(drop=True)
    tr, va = default_split(m, dataset, seed)
    start = text_start(init, m["text"].iloc[tr]) if init and kind == "text" else None
    context = int((model_config or {}).get("context", start[0].config.context if start else 0)) if kind == "text" else 0
    encoder = str((model_config or {}).get("encoder", start[0].config.encoder if start else "lstm")) if kind == "text" else "lstm"
    data, prep = prepare(kind, dataset, path, m, tr, progress, vocab=start[1] if start else None, context=context, encoder=encoder)
    X = data["X"]
    label_col, names = label_set(m, labels)
    y = np.array([names.index(v) for v in m[label_col].astype(str)], np.int64)
    if labels != "canonical":
        model_config = {**(model_config or {}), "n_classes": len(names)}
    if start:  # the trained model's settings, the given ones over them; a model given context reads it packed (unless told)
        given = dict(model_config or {})
        if context and not start[0].config.context and "packed" not in given:
            given["packed"] = True
        model_config = {**start[0].config.to_dict(), **given, "vocab_size": vocabulary_size(prep["vocabulary"])}
    cfg = model_config_for(kind, dataset, path, prep, X, model_config)
    model = build_model(kind, **cfg)
    if start:
        load_text_weights(model, start[0])
    elif init:
        face_start(model, init)
    Xtr, ytr = take_rows(X, tr), y[tr]
    Xva = take_rows(X, va)
    if kind in FRAME_FACE_KINDS and isinstance(Xtr, np.ndarray) and Xtr.ndim == 4:  # clips: frames as samples
        t = Xtr.shape[1]
        Xtr, ytr = Xtr.reshape(-1, *Xtr.shape[2:]), np.repeat(ytr, t)
        Xva = Xva[:, t // 2]
    if balance:
        Xtr, ytr = Balancer(method=balance, target="median", random_state=seed).fit_resample(Xtr, ytr)
    if kind in FRAME_FACE_KINDS:
        train_ds = AugmentedFaces(Xtr, ytr, augment=True, seed=seed, lowres=lowres)
        val_ds = AugmentedFaces(Xva, y[va], augment=False)
    elif kind == "speech" and augment:
        train_ds, val_ds = AugmentedSpectra(Xtr, ytr, seed=seed), make_dataset(Xva, y[va])
    else:
        train_ds, val_ds = make_dataset(Xtr, ytr), make_dataset(Xva, y[va])
    for name_, _, labels_ in teachers:
        if tuple(labels_) != tuple(names):
            raise EmolabError(f"the teacher {name_} has the labels {list(labels_)}, the student {list(names)}",
                              hint="distil between models of one label set")
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, patience=patience, class_weights=class_weights,
                       label_smoothing=label_smoothing, mixup=mixup, distill=distill if teachers else 0.0,
                       distill_temperature=distill_temperature, head_lr=head_lr,
                       monitor=monitor or ("val_accuracy" if not class_weights else "val_balanced_accuracy"))
    trainer = Trainer(model, tcfg, callbacks=callbacks, checkpoint_dir=out / "checkpoints", progress=progress,
                      teacher=[t for _, t, _ in teachers] or None)
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
    groups = used_groups(m, np.concatenate([tr, va]))
    if groups is not None:  # who it learnt from or was selected on: emolab evaluate scores the others by default
        metrics["train_groups"] = groups
    if left.get("left_out"):
        metrics["left_out"] = left["left_out"]  # rows of the corpus this kind cannot read (sung or silent RAVDESS files)
    metrics["monitor"] = tcfg.monitor
    metrics["labels"] = labels
    if kind == "speech":
        metrics["augment"] = bool(augment)
    if kind in FRAME_FACE_KINDS:
        metrics["lowres"] = float(lowres)
    if mixup:
        metrics["mixup"] = float(mixup)
    if teachers:
        metrics["teachers"] = [n for n, _, _ in teachers]  # names, not paths of the machine it was trained on
        metrics["distill"], metrics["distill_temperature"] = float(distill), float(distill_temperature)
    save_model(out / "model.safetensors", model.cpu(), labels=tuple(names), preprocessing=prep, metrics=metrics,
               notes=f"trained with: emolab train --model {kind} --dataset {dataset} PATH --epochs {epochs} --seed {seed}"
               + (" --augment" if augment and kind == "speech" else "") + (f" --lowres {lowres:g}" if lowres and kind in FRAME_FACE_KINDS else "")
               + (f" --mixup {mixup:g}" if mixup else "") + (f" --init {Path(str(init)).name}" if init else "")
               + (f" --teacher {','.join(n for n, _, _ in teachers)} --distill {distill:g} --distill-temperature {distill_temperature:g}"
                  if teachers else ""))
    write_csv(out / "history.csv", history)
    write_csv(out / "confusion.csv", ev.confusion)
    write_csv(out / "per_class.csv", ev.per_class)
    write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=float) + "\n")
    return TrainResult(model_path=out / "model.safetensors", evaluation=ev, history=history, metrics=metrics, model_config=cfg,
                       train_config=tcfg, seconds=seconds)


def used_groups(manifest: pd.DataFrame, rows: np.ndarray, limit: int = 5000) -> list[str] | None:
    """The sorted subject groups (``group``) of a manifest's ``rows``, as a model file records those it was trained
    or selected on; None when the corpus has no subject ids (``subject_known``) or more than ``limit`` groups."""
    sub = manifest.iloc[np.asarray(rows, int)]
    if "group" not in sub or ("subject_known" in sub and not sub["subject_known"].all()):
        return None
    groups = sorted(set(sub["group"].astype(str)))
    return groups if len(groups) <= limit else None


def _load_teachers(teacher, kind: str) -> list:
    """``[(name, model, labels)]`` of the teacher models (none for ``None``): paths or bundled names, one or a
    list (a comma-separated string too). Each must be of the student's kind (so it reads the same input)."""
    if teacher is None or teacher == "" or teacher == []:
        return []
    from ..models import load_model
    from .inputs import resolve_model_path

    items = [t for t in str(teacher).split(",") if t] if isinstance(teacher, (str, os.PathLike)) else list(teacher)
    out = []
    for item in items:
        path = resolve_model_path(item)
        model, meta = load_model(path)
        if getattr(model, "kind", "") != kind:
            raise EmolabError(f"the teacher {Path(str(item)).name} is a {getattr(model, 'kind', '?')} model; the student is {kind}",
                              hint="a teacher must read the same input as the student")
        out.append((Path(str(item)).name, model, tuple(meta.get("labels", ()))))  # as given: "face", "face_b", "model.safetensors"
    return out
