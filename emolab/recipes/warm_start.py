"""Starting a training run from a trained model (``emolab train --init``).

* a text model to fine-tune, its vocabulary extended with the new training texts;
* a 2D face CNN inflated into a 3D face model or a fused model's face branch (I3D inflation);
* a 2D face CNN fine-tuned as it is (same kind and layout: its weights copied), e.g. the bundled
  ``face`` model with low-resolution augmentation.
"""

from __future__ import annotations

import os

import pandas as pd

from ..errors import EmolabError
from .inputs import resolve_model_path


def text_start(path: str | os.PathLike, train_texts: pd.Series):
    """A trained text model to fine-tune, and its vocabulary extended with the new training texts (a
    MiniLM text model's WordPiece vocabulary is fixed: returned as it is)."""
    from ..models import load_model
    from ..preprocessing.text import text_tokenizer

    start, meta = load_model(resolve_model_path(path))
    if meta["kind"] != "text" or not meta.get("preprocessing", {}).get("vocabulary"):
        raise EmolabError(f"init for a text model needs a trained text model with its vocabulary, got {meta['kind']!r}")
    vocab = text_tokenizer(meta["preprocessing"]["vocabulary"])
    return start, vocab if start.config.encoder == "minilm" else vocab.extend(train_texts.astype(str))


def load_text_weights(model, start) -> None:
    """Copy a trained text model's weights into ``model`` (whose vocabulary extends the trained one)."""
    import torch

    state = model.state_dict()
    for name, value in start.state_dict().items():
        if name == "embedding.weight":
            with torch.no_grad():
                state[name][: value.shape[0]] = value
        elif name not in state:
            raise EmolabError(f"cannot start from that text model: it has {name}, this model does not (another encoder?)")
        elif state[name].shape == value.shape:
            state[name] = value
        else:
            raise EmolabError(f"cannot start from that text model: {name} has shape {tuple(value.shape)}, need {tuple(state[name].shape)}")
    model.load_state_dict(state)


def _single(face2d):
    """A single face CNN: the model itself, or the first member of an ensemble (whose averaged probabilities no one
    network computes)."""
    return face2d.members[0] if getattr(face2d.config, "members", 1) > 1 else face2d


def inflate_face_branch(model, path: str | os.PathLike) -> None:
    """Start a 3D face model (or a fused model's face branch) from a trained 2D face CNN (I3D inflation); from an
    ensemble of face CNNs (``FaceCNN2D.ensemble``), its first member."""
    from ..models import Face3DCNN, load_model

    face2d, meta = load_model(resolve_model_path(path))
    if meta["kind"] != "face2d":
        raise EmolabError(f"init needs a face2d model, got {meta['kind']!r}")
    face2d = _single(face2d)
    target = model.branches["face"] if getattr(model, "kind", "") == "fused" else model
    if getattr(target, "kind", "") != "face3d":
        raise EmolabError("init inflates a face2d model into a face3d model or a fused model's face branch")
    inflated = Face3DCNN.inflate(face2d, frames=target.config.frames, temporal_kernel=target.config.temporal_kernel)
    if inflated.config.widths != target.config.widths or inflated.config.convs_per_block != target.config.convs_per_block:
        raise EmolabError(f"the 2D model's layout {face2d.config.widths}x{face2d.config.convs_per_block} does not match the 3D "
                          f"branch's {target.config.widths}x{target.config.convs_per_block}")
    target.load_state_dict(inflated.state_dict())


def face_start(model, path: str | os.PathLike) -> None:
    """Start a face model from a trained 2D face CNN: a model of the same kind and layout (``face2d`` from
    ``face2d``) gets its weights copied (a single CNN from an ensemble: its first member); a 3D face model or a fused
    model's face branch is inflated (:func:`inflate_face_branch`)."""
    from ..models import load_model

    if getattr(model, "kind", "") not in ("face3d", "fused"):
        start, meta = load_model(resolve_model_path(path))
        if meta["kind"] != getattr(model, "kind", ""):
            raise EmolabError(f"init for a {getattr(model, 'kind', '?')!r} model needs a model of that kind (or a face2d model "
                              f"to inflate into a face3d or fused model), got {meta['kind']!r}")
        if meta["kind"] == "face2d" and getattr(model.config, "members", 1) == 1:
            start = _single(start)
        state, new = model.state_dict(), start.state_dict()
        wrong = [f"{k}: {tuple(new[k].shape) if k in new else 'missing'}, need {tuple(v.shape)}" for k, v in state.items()
                 if k not in new or new[k].shape != v.shape]
        if wrong or set(new) - set(state):
            raise EmolabError("cannot start from that face model, its layout differs: " + "; ".join(wrong[:3] or sorted(set(new) - set(state))[:3]))
        model.load_state_dict(new)
        return
    inflate_face_branch(model, path)
