"""Models that ship with emolab (weights in this folder, a model card beside each; no download).

>>> import emolab
>>> model, meta = emolab.pretrained("synthetic")      # doctest: +SKIP

Names: ``face`` (2D CNN, FER2013), ``face3d`` (its I3D inflation), ``speech`` (RAVDESS),
``text`` (MELD), ``synthetic`` (the synthetic-domain fused model). ``available()`` lists what this
installation has; a missing one raises :class:`~emolab.errors.ModelError`.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "pretrained"


def available() -> dict[str, Path]:
    """Bundled model name -> weight file."""
    return {p.stem: p for p in sorted(FOLDER.glob("*.safetensors"))}


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
    p = FOLDER / f"{name}.md"
    return p.read_text(encoding="utf-8") if p.is_file() else ""
