"""The names emolab knows, in one place: model kinds, corpora, bundled models, the pretrained folder.

Everything that lists model kinds or corpus names (the command line's choices, the dashboards'
menus, the recipes, the model zoo) reads them from here instead of keeping its own copy. This
module imports nothing heavy (no torch, no pandas), so ``emolab --help`` can use it.

>>> from emolab import registry
>>> registry.MODEL_KINDS["speech"]
'speech'
>>> "face2d" in registry.FRAME_FACE_KINDS
True
"""

from __future__ import annotations

from pathlib import Path

MODEL_KINDS: dict[str, str] = {
    "face2d": "face",
    "classroom_cnn": "face",
    "cnn_lstm": "face",
    "face3d": "face",
    "speech": "speech",
    "text": "text",
    "fused": "fused",
}
"""Model kind -> the modality it reads (``"fused"``: face clips, speech and text together)."""

FRAME_FACE_KINDS: tuple[str, ...] = ("face2d", "classroom_cnn")
"""Face models that read single frames (``[B, 1, H, W]``); the other face kinds read clips."""

CORPORA: dict[str, str] = {
    "meld": "text",
    "enterface": "video",
    "ravdess": "speech",
    "ckplus": "face",
    "fer2013": "face",
    "tess": "speech",
    "cremad": "speech",
    "emodb": "speech",
    "goemotions": "text",
    "folder": "any",
    "lesson": "lesson",
}
"""Corpus name (as ``emolab.data.read_corpus`` takes it) -> the modality the recipes train on it.

``"video"``: face video with speech; ``"any"``: a folder per class of images, audio or video;
``"lesson"``: a classroom recording (analysed, not trained on).
"""

TRAINABLE_CORPORA: tuple[str, ...] = tuple(c for c, m in CORPORA.items() if m in ("face", "speech", "text"))
"""Corpora whose samples a single-modality model is trained on by ``emolab train`` (face images, speech, text)."""

SYNTHETIC_DATASETS: tuple[str, ...] = ("synthetic", "trainset")
"""Dataset names that mean a synthetic training set folder (``emolab synth trainset``) rather than a corpus."""

PRETRAINED_DIR: Path = Path(__file__).resolve().parent / "pretrained"
"""The folder of the bundled model weights (``NAME.safetensors``) and their model cards (``NAME.md``)."""

BUNDLED_MODELS: dict[str, str] = {
    "face": "face2d CNN on FER2013 (7 emotions)",
    "speech": "speech emotion on RAVDESS (7 emotions): a pretrained voice encoder (Resemblyzer) and a linear head",
    "speech8": "speech CNN on RAVDESS's own 8 classes (calm apart from neutral)",
    "text": "text emotion: the MiniLM sentence encoder, its top layers fine-tuned on GoEmotions, then MELD",
    "synthetic": "fused model of the synthetic domain (synthetic lessons)",
}
"""Bundled model name -> what it is; the weights are ``PRETRAINED_DIR / f"{name}.safetensors"``."""

LESSON_MODELS: tuple[str, ...] = ("pretrained", "synthetic")
"""Names ``emolab analyze --model`` takes besides a ``.safetensors`` file: the bundled real models
(face, speech and text, late fusion) or the bundled synthetic-domain fused model."""

__all__ = ["BUNDLED_MODELS", "CORPORA", "FRAME_FACE_KINDS", "LESSON_MODELS", "MODEL_KINDS", "PRETRAINED_DIR",
           "SYNTHETIC_DATASETS", "TRAINABLE_CORPORA"]
