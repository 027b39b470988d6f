"""One trainer for every emolab model.

:class:`Trainer` trains a model on a torch ``Dataset`` whose items are ``(inputs, label_index)``
(``inputs`` a tensor, or a dict of tensors for the fused model). It picks the device (CUDA, then
MPS, else CPU), uses mixed precision on CUDA, weights classes by inverse frequency, schedules the
learning rate, stops early on the monitored validation metric, writes a checkpoint **atomically
after every epoch**, resumes from it after an interruption, calls callbacks (live plots in the
widgets), shows a tqdm bar, and returns the history as a DataFrame.

SMOTE plugs in per fold through :func:`fit_arrays` (``balancer=``): it resamples the *training*
arrays only.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .atomic import atomic_path
from .config import Config
from .device import choose_device, seed_everything
from .errors import EmolabError, ModelError
from .registry import FRAME_FACE_KINDS


@dataclass
class TrainConfig(Config):
    """Training settings."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    scheduler: str = "cosine"  # "cosine", "plateau" or "none"
    patience: int = 6  # epochs without improvement before stopping (0 = never stop early)
    monitor: str = "val_balanced_accuracy"  # or "val_loss", "val_accuracy", "val_macro_f1", "val_weighted_f1"
    class_weights: bool = True
    label_smoothing: float = 0.0
    mixup: float = 0.0  # alpha of mixup's Beta(alpha, alpha) mixing weight for image batches (0.2 is usual); 0 = off
    distill: float = 0.0  # weight (0 to 1) of a teacher's softened probabilities in the loss (knowledge distillation; needs a teacher)
    distill_temperature: float = 2.0  # softmax temperature of teacher and student in the distillation term
    precision: str = "auto"  # "auto" (fp16 on CUDA, bf16 on CPUs with native bf16, else fp32), "fp32", "bf16", "fp16"
    channels_last: bool = True  # memory layout for 4-D image inputs (faster convolutions on CPU)
    grad_clip: float = 5.0
    head_lr: float = 0.0  # learning rate of the model's classifier (its ``head``) where it differs from lr, as when fine-tuning a pretrained encoder; 0 = lr
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0


class Callback:
    """Hooks called by :class:`Trainer`; override what you need."""

    def on_epoch_end(self, trainer: "Trainer", record: dict) -> None: ...

    def on_batch_end(self, trainer: "Trainer", step: int, loss: float) -> None: ...

    def on_train_end(self, trainer: "Trainer", history: pd.DataFrame) -> None: ...


def _to(x: Any, device: str) -> Any:
    if isinstance(x, dict):
        return {k: _to(v, device) for k, v in x.items()}
    return x.to(device, non_blocking=True) if isinstance(x, torch.Tensor) else x


class Trainer:
    """Train and apply a model.

    Parameters
    ----------
    model : torch.nn.Module
    config : TrainConfig, optional
    callbacks : iterable of Callback (or callables ``f(trainer, record)`` called per epoch)
    checkpoint_dir : path, optional
        Where ``last.pt`` (every epoch) and ``best.pt`` go; enables :meth:`fit` ``resume=True``.
    progress : bool
        tqdm bars.
    penalty : callable, optional
        ``penalty(model) -> scalar tensor`` added to every batch's loss (e.g. FedProx's proximal term).
    teacher : torch.nn.Module or sequence of them, optional
        Trained models with the student's classes, for knowledge distillation (``config.distill`` > 0):
        each batch's loss becomes ``(1 - d) * CE + d * T**2 * KL(p_teacher || p_student)``, both softened
        by ``T = config.distill_temperature``, ``p_teacher`` the mean of the teachers' softened probabilities
        on the same (augmented, mixed) images. Teachers are never trained.
    """

    def __init__(self, model: nn.Module, config: TrainConfig | None = None, callbacks: Iterable = (),
                 checkpoint_dir: str | os.PathLike | None = None, progress: bool = True, penalty: Callable | None = None,
                 teacher: nn.Module | Iterable[nn.Module] | None = None):
        self.model = model
        self.config = config or TrainConfig()
        self.teachers = [] if teacher is None else [teacher] if isinstance(teacher, nn.Module) else list(teacher)
        d = self.config.distill
        if not 0.0 <= d <= 1.0 or self.config.distill_temperature <= 0:
            raise EmolabError(f"distill = {d}, distill_temperature = {self.config.distill_temperature} out of range",
                              hint="distill is a weight from 0 to 1, the temperature > 0")
        if d > 0 and not self.teachers:
            raise EmolabError("distillation (distill > 0) needs a teacher model", hint="pass teacher=... (CLI: --teacher MODEL)")
        self.callbacks = list(callbacks)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.progress = progress
        self.penalty = penalty
        self.device = choose_device(None if self.config.device == "auto" else self.config.device)
        self.history: list[dict] = []
        self._stop = False

    def stop(self) -> None:
        """Ask the running :meth:`fit` to stop after the current batch (the widgets' stop button)."""
        self._stop = True

    # ------------------------------------------------------------------ fitting
    def fit(self, train: Dataset, val: Dataset | None = None, resume: bool = False) -> pd.DataFrame:
        """Train; returns the history (one row per epoch). With ``resume`` continue from ``last.pt``."""
        c = self.config
        seed_everything(c.seed)
        model = self.model.to(self.device)
        labels = _labels_of(train)
        self._train_labels = labels
        n_classes = _n_classes(model)
        weight = None
        if c.class_weights:
            counts = np.bincount(labels, minlength=n_classes).astype(float)
            weight = torch.tensor(np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0), dtype=torch.float32,
                                  device=self.device)
        loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=c.label_smoothing)
        opt = torch.optim.AdamW(_param_groups(model, c), lr=c.lr, weight_decay=c.weight_decay)
        if c.scheduler == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, c.epochs))
        elif c.scheduler == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max" if "loss" not in c.monitor else "min", patience=2)
        else:
            sched = None
        amp_dtype = resolve_precision(c.precision, self.device)
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16 and device_type == "cuda")
        if c.channels_last and _is_image_model(model):
            model = model.to(memory_format=torch.channels_last)
        teachers = [t.to(self.device).eval() for t in self.teachers] if c.distill > 0 else []
        for t in teachers:
            if _n_classes(t) != n_classes:
                raise ModelError(f"a teacher has {_n_classes(t)} classes, the student {n_classes}", hint="distil between models of one label set")
            t.requires_grad_(False)
        gen = torch.Generator().manual_seed(c.seed)
        loader = DataLoader(train, batch_size=c.batch_size, shuffle=True, generator=gen, num_workers=c.num_workers,
                            drop_last=len(train) > c.batch_size and len(train) % c.batch_size == 1)
        start_epoch, best, best_state, stale = 0, None, None, 0
        if resume:
            state = self._load_checkpoint()
            if state is not None:
                model.load_state_dict(state["model"])
                opt.load_state_dict(state["optimizer"])
                if sched is not None and state.get("scheduler"):
                    sched.load_state_dict(state["scheduler"])
                self.history = list(state["history"])
                start_epoch, best, stale = state["epoch"] + 1, state["best"], state["stale"]
                torch.set_rng_state(state["rng"])
                gen.manual_seed(c.seed + start_epoch)
                best_file = self.checkpoint_dir / "best.pt"
                if best_file.is_file():
                    best_state = torch.load(best_file, map_location="cpu", weights_only=True)
        from tqdm.auto import tqdm

        self._stop = False
        for epoch in range(start_epoch, c.epochs):
            t0 = time.perf_counter()
            model.train()
            total, n_seen, correct = 0.0, 0, 0
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{c.epochs}", unit="batch", disable=not self.progress, leave=False)
            for step, (x, y) in enumerate(bar):
                x, y = _to(x, self.device), y.to(self.device)
                if c.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                opt.zero_grad(set_to_none=True)
                mix = c.mixup > 0 and isinstance(x, torch.Tensor) and len(y) > 1
                if mix:  # mixup: convex pairs of images and of their losses
                    lam = float(np.random.beta(c.mixup, c.mixup))
                    perm = torch.randperm(len(y), device=y.device)
                    x = lam * x + (1 - lam) * x[perm]
                with torch.autocast(device_type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                    out = model(x)
                    loss = loss_fn(out.float(), y)
                    if mix:
                        loss = lam * loss + (1 - lam) * loss_fn(out.float(), y[perm])
                    if teachers:
                        loss = (1 - c.distill) * loss + c.distill * _distillation(out.float(), teachers, x, c.distill_temperature)
                if self.penalty is not None:
                    loss = loss + self.penalty(model)
                if not torch.isfinite(loss):
                    raise EmolabError(f"training diverged at epoch {epoch + 1} (loss {loss.item()}); lower the learning rate")
                scaler.scale(loss).backward()
                if c.grad_clip:
                    scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
                scaler.step(opt)
                scaler.update()
                total += loss.item() * len(y)
                n_seen += len(y)
                correct += (out.argmax(1) == y).sum().item()
                bar.set_postfix(loss=f"{total / n_seen:.3f}")
                for cb in self.callbacks:
                    if hasattr(cb, "on_batch_end"):
                        cb.on_batch_end(self, step, loss.item())
                if self._stop:
                    break
            record = {"epoch": epoch + 1, "train_loss": total / max(n_seen, 1), "train_accuracy": correct / max(n_seen, 1),
                      "lr": opt.param_groups[0]["lr"]}
            if val is not None and len(val):
                record.update(self._validate(val, loss_fn))
            record["seconds"] = time.perf_counter() - t0
            score = record.get(c.monitor, -record["train_loss"])
            better = best is None or (score < best if "loss" in c.monitor else score > best)
            if better:
                best, stale = score, 0
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                if self.checkpoint_dir:
                    with atomic_path(self.checkpoint_dir / "best.pt") as tmp:
                        torch.save(best_state, tmp)
            else:
                stale += 1
            if sched is not None:
                sched.step(score) if c.scheduler == "plateau" else sched.step()
            self.history.append(record)
            if self.checkpoint_dir:
                self._save_checkpoint(epoch, opt, sched, best, stale)
            for cb in self.callbacks:
                if hasattr(cb, "on_epoch_end"):
                    cb.on_epoch_end(self, record)
                elif callable(cb):
                    cb(self, record)
            if self._stop or (c.patience and stale >= c.patience):
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        history = pd.DataFrame(self.history)
        for cb in self.callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(self, history)
        return history

    def _validate(self, val: Dataset, loss_fn) -> dict:
        from sklearn.metrics import f1_score

        from .evaluation import balanced_accuracy

        proba, y = self.predict_proba(val, return_labels=True)
        with torch.no_grad():
            logp = torch.log(torch.tensor(proba).clamp(min=1e-8))
            loss = nn.functional.nll_loss(logp, torch.tensor(y), weight=loss_fn.weight.cpu() if loss_fn.weight is not None else None).item()
        pred = proba.argmax(1)
        return {"val_loss": loss, "val_accuracy": float((pred == y).mean()), "val_balanced_accuracy": balanced_accuracy(y, pred),
                "val_macro_f1": float(f1_score(y, pred, average="macro")),
                "val_weighted_f1": float(f1_score(y, pred, average="weighted"))}

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def predict_proba(self, data: Dataset, batch_size: int | None = None, return_labels: bool = False):
        """Class probabilities [n, n_classes] (and the labels when ``return_labels``)."""
        model = self.model.to(self.device)
        was = model.training
        model.eval()
        loader = DataLoader(data, batch_size=batch_size or max(64, self.config.batch_size), shuffle=False)
        out, ys = [], []
        amp_dtype = resolve_precision(self.config.precision, self.device)
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        for x, y in loader:
            with torch.autocast(device_type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = model(_to(x, self.device))
            out.append(torch.softmax(logits.float(), 1).cpu().numpy())
            ys.append(y.numpy())
        model.train(was)
        proba = np.concatenate(out) if out else np.zeros((0, _n_classes(model)))
        return (proba, np.concatenate(ys)) if return_labels else proba

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, epoch: int, opt, sched, best, stale) -> None:
        state = {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()}, "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict() if sched is not None else None, "history": self.history, "epoch": epoch,
                 "best": best, "stale": stale, "rng": torch.get_rng_state(), "config": self.config.to_dict()}
        with atomic_path(self.checkpoint_dir / "last.pt") as tmp:
            torch.save(state, tmp)

    def _load_checkpoint(self) -> Optional[dict]:
        if not self.checkpoint_dir:
            raise EmolabError("resume=True needs a checkpoint_dir")
        path = self.checkpoint_dir / "last.pt"
        if not path.is_file():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelError(f"the checkpoint cannot be read ({exc.__class__.__name__}); delete it to start afresh", path=path) from None


def _param_groups(model: nn.Module, c: TrainConfig) -> list[dict]:
    """The trainable parameters as AdamW groups: the classifier (``model.head``) at ``c.head_lr`` when set, the rest at ``c.lr``."""
    head = getattr(model, "head", None)
    ids = {id(p) for p in head.parameters()} if c.head_lr > 0 and isinstance(head, nn.Module) else set()
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    groups = [{"params": rest}] if rest else []
    if ids:
        groups.append({"params": [p for p in head.parameters() if p.requires_grad], "lr": c.head_lr})
    return groups


def _distillation(student_logits: torch.Tensor, teachers: list, x: Any, temperature: float) -> torch.Tensor:
    """``T**2 * KL(p_teacher || p_student)`` per sample, averaged; ``p`` softened by ``T``, ``p_teacher`` the
    mean of the teachers' softened probabilities (Hinton et al. 2015's scaling keeps gradients comparable across T)."""
    with torch.no_grad():
        p_t = torch.stack([torch.softmax(t(x).float() / temperature, 1) for t in teachers]).mean(0)
    log_p_s = torch.log_softmax(student_logits / temperature, 1)
    return nn.functional.kl_div(log_p_s, p_t, reduction="batchmean") * temperature ** 2


def resolve_precision(precision: str, device: str) -> Optional[torch.dtype]:
    """The autocast dtype for a precision setting on a device (None = plain fp32)."""
    if precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise EmolabError(f"precision must be auto, fp32, bf16 or fp16 (got {precision!r})")
    if device.startswith("cuda"):
        return torch.float16
    if device == "cpu":
        try:
            return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() and torch.cpu._is_avx512_bf16_supported() else None
        except (AttributeError, RuntimeError):
            return None
    return None


def _is_image_model(model: nn.Module) -> bool:
    return getattr(model, "kind", "") in FRAME_FACE_KINDS


def _labels_of(data: Dataset) -> np.ndarray:
    if isinstance(data, TensorDataset):
        return data.tensors[-1].numpy()
    if hasattr(data, "labels"):
        return np.asarray(data.labels)
    return np.array([int(data[i][1]) for i in range(len(data))])


def _n_classes(model: nn.Module) -> int:
    return int(getattr(model.config, "n_classes", 7))


class DictDataset(Dataset):
    """Items ``({name: tensor[i]}, label[i])`` from a dict of aligned tensors (fused model input)."""

    def __init__(self, inputs: dict[str, torch.Tensor], labels: torch.Tensor):
        n = len(labels)
        for k, v in inputs.items():
            if len(v) != n:
                raise ValueError(f"input {k!r} has {len(v)} rows, labels have {n}")
        self.inputs, self.labels_t = inputs, labels
        self.labels = labels.numpy()

    def __len__(self) -> int:
        return len(self.labels_t)

    def __getitem__(self, i: int):
        return {k: v[i] for k, v in self.inputs.items()}, self.labels_t[i]


def take_rows(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of an array, or of every array in a dict of row-aligned arrays (fused-model inputs)."""
    return {k: v[idx] for k, v in X.items()} if isinstance(X, dict) else X[idx]


def make_dataset(X: Any, y: np.ndarray) -> Dataset:
    """A Dataset of float inputs (array, or dict of arrays) and int64 labels."""
    yt = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    if isinstance(X, dict):
        return DictDataset({k: _tensor(v) for k, v in X.items()}, yt)
    return TensorDataset(_tensor(X), yt)


def _tensor(a: Any) -> torch.Tensor:
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return torch.from_numpy(a.astype(np.float32) / 255.0)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        return torch.from_numpy(a.astype(np.int64) if a.dtype != bool else a)
    return torch.from_numpy(a.astype(np.float32))


def fit_arrays(model: nn.Module, X_train: Any, y_train: np.ndarray, X_val: Any = None, y_val: np.ndarray | None = None,
               config: TrainConfig | None = None, balancer=None, **trainer_kwargs) -> tuple[Trainer, pd.DataFrame]:
    """Train on arrays; with ``balancer`` (e.g. ``Balancer("smote")``) resample the training arrays only.

    ``X`` may be an array or, for the fused model, a dict of arrays (the balancer then needs a
    single array and is refused). ``y`` are class indices.
    """
    if balancer is not None:
        if isinstance(X_train, dict):
            raise EmolabError("SMOTE on a dict of modalities is not supported; balance one modality's features or use class weights")
        X_train, y_train = balancer.fit_resample(X_train, y_train)
    trainer = Trainer(model, config, **trainer_kwargs)
    val = make_dataset(X_val, y_val) if X_val is not None else None
    history = trainer.fit(make_dataset(X_train, y_train), val)
    return trainer, history


