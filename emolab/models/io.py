"""Saving and loading models without pickle.

A model file is a ``.safetensors`` file: the weights, plus a JSON metadata entry with the model
kind, its configuration, the label set, the preprocessing parameters (e.g. a text vocabulary or
the MFCC settings), metrics, the emolab version, and a SHA-256 digest of the weights. Loading
rebuilds the model from its configuration and checks the digest: a file from an incompatible
format, a truncated or tampered file, or an unknown kind gives a one-line
:class:`~emolab.errors.ModelError` — never an unpickled object.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import __version__
from ..atomic import atomic_path
from ..errors import ModelError
from ..taxonomy import EMOTIONS

FORMAT_VERSION = 1


def _digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        t = state[k].detach().cpu().contiguous()
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_model(path: str | os.PathLike, model: nn.Module, labels: tuple[str, ...] = EMOTIONS,
               preprocessing: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
               notes: str = "") -> Path:
    """Write ``model`` (a zoo model with ``kind`` and ``config``) to a ``.safetensors`` file, atomically.

    A model with a ``save_dtype`` attribute (the MiniLM text model: ``torch.float16``) has its floating-point
    weights stored in that type; loading copies them into the model's own (float32) parameters."""
    from safetensors.torch import save_file

    dtype = getattr(model, "save_dtype", None)  # a model may ask for its floating-point weights to be stored narrower
    state = {k: v.detach().cpu().to(dtype if dtype is not None and v.is_floating_point() else v.dtype).contiguous().clone()
             for k, v in model.state_dict().items()}
    meta = {"format_version": FORMAT_VERSION, "emolab_version": __version__, "kind": model.kind,
            "config": model.config.to_dict(), "labels": list(labels), "preprocessing": preprocessing or {},
            "metrics": metrics or {}, "notes": notes, "sha256": _digest(state)}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"emolab": json.dumps(meta)})
    return Path(path)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a model file, without loading its weights."""
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise ModelError("model file not found", path=p)
    try:
        with safe_open(str(p), framework="pt") as fh:
            raw = (fh.metadata() or {}).get("emolab")
    except Exception as exc:  # safetensors raises its own error types on a corrupt header
        raise ModelError(f"not a readable model file ({exc.__class__.__name__})", path=p) from None
    if raw is None:
        raise ModelError("not an emolab model file (no emolab metadata)", path=p)
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise ModelError("the model's metadata is corrupt", path=p) from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"model file format {meta.get('format_version')} is not supported by emolab {__version__} "
                         f"(expects {FORMAT_VERSION})", path=p, hint="re-train or re-export the model with this version")
    return meta


def load_model(path: str | os.PathLike, map_location: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved with :func:`save_model`.

    Returns
    -------
    model : torch.nn.Module (in eval mode)
    meta : dict
        The metadata (labels, preprocessing, metrics, ...).
    """
    from safetensors.torch import load_file

    from . import MODEL_KINDS

    meta = read_metadata(path)
    kind = meta.get("kind")
    if kind not in MODEL_KINDS:
        raise ModelError(f"unknown model kind {kind!r}", path=path)
    cls, cfg_cls = MODEL_KINDS[kind]
    try:
        state = load_file(str(path), device=map_location)
    except Exception as exc:
        raise ModelError(f"the model's weights cannot be read ({exc.__class__.__name__}); the file may be truncated", path=path) from None
    if _digest(state) != meta.get("sha256"):
        raise ModelError("the weights do not match their recorded checksum: the file was modified or damaged", path=path)
    model = cls(cfg_cls.from_dict(meta["config"]))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"the weights do not fit the model's configuration ({str(exc).splitlines()[0]})", path=path) from None
    model.to(map_location)  # load_state_dict copies into the parameters where they were built (the CPU)
    model.eval()
    return model, meta
