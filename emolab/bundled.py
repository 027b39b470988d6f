"""Models that ship with emolab (weights in ``emolab/pretrained``, a model card beside each; no download).

>>> import emolab
>>> model, meta = emolab.pretrained("synthetic")      # doctest: +SKIP

Names (:data:`emolab.registry.BUNDLED_MODELS`): ``face`` (2D CNN, FER2013), ``speech`` (RAVDESS,
7 emotions), ``speech8`` (RAVDESS's own 8 classes), ``text`` (GoEmotions, then MELD), ``synthetic``
(the synthetic-domain fused model). The weights live in :data:`emolab.registry.PRETRAINED_DIR`.
``available()`` lists what this installation has; a missing one raises
:class:`~emolab.errors.ModelError`.
"""

from __future__ import annotations

from pathlib import Path

from .registry import PRETRAINED_DIR


def available() -> dict[str, Path]:
    """Bundled model name -> weight file (companion files such as ``face.int8.safetensors``, the face
    CNN's int8 copy, are not models of their own)."""
    return {p.stem: p for p in sorted(PRETRAINED_DIR.glob("*.safetensors")) if "." not in p.stem}


def pretrained(name: str, device: str = "cpu"):
    """Load a bundled model (safetensors, no pickle); returns ``(model, metadata)``."""
    from .errors import ModelError
    from .models import load_model

    models = available()
    if name not in models:
        raise ModelError(f"no bundled model named {name!r}; this installation has {', '.join(models) or 'none'}")
    return load_model(models[name], map_location=device)


def model_card(name: str) -> str:
    """The model card (Markdown) of a bundled model."""
    p = PRETRAINED_DIR / f"{name}.md"
    return p.read_text(encoding="utf-8") if p.is_file() else ""
