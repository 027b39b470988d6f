"""The models a lesson analysis runs, behind one small interface.

:class:`LessonModels` turns face clips, speech windows and utterances into per-item features,
and fuses the features available for a person at a moment into emotion probabilities:

* ``"synthetic"`` (:class:`FusedLessonModels`): the fused model trained on synthetic lessons;
  features are its branch embeddings, fusion its own (feature-level) head with masks.
* ``"pretrained"`` (:class:`LateFusionLessonModels`): the real models shipped with emolab (face
  CNN on FER2013, speech CNN on RAVDESS, text LSTM on MELD); features are each model's class
  probabilities, fused by weighted late fusion (default weights face 0.5, speech 0.25, text 0.25,
  renormalised over the modalities present). A model that is not shipped is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..errors import ModelError
from ..models import MODALITIES, load_model
from ..taxonomy import EMOTIONS

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
DEFAULT_WEIGHTS = {"face": 0.5, "speech": 0.25, "text": 0.25}


class LessonModels:
    """Interface (see the module docstring). Attributes describe the inputs each branch wants."""

    name = "base"
    clip_frames: int = 8  # face frames per clip (1: single frames)
    face_size: int = 48
    speech_seconds: float = 1.6
    available: tuple[str, ...] = ()

    def face(self, clips: np.ndarray) -> np.ndarray:
        """Features of face clips uint8 [n, clip_frames, size, size] -> [n, d]."""
        raise NotImplementedError

    def speech(self, windows: np.ndarray) -> np.ndarray:
        """Features of 16 kHz waveforms [n, samples] -> [n, d]."""
        raise NotImplementedError

    def text(self, texts: list[str]) -> np.ndarray:
        """Features of utterances -> [n, d]."""
        raise NotImplementedError

    def fuse(self, features: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        """Probabilities [n, 7] from row-aligned features and a mask [n, 3] (face, speech, text)."""
        raise NotImplementedError


def _batches(n: int, size: int):
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


class FusedLessonModels(LessonModels):
    """A trained :class:`~emolab.models.FusedModel` (e.g. the synthetic-domain one)."""

    def __init__(self, path: str | Path, device: str = "cpu"):
        from ..preprocessing.text import Vocabulary

        self.model, self.meta = load_model(path, map_location=device)
        if self.meta["kind"] != "fused":
            raise ModelError("a lesson model must be a fused model", path=path)
        self.device = device
        c = self.model.config
        self.name = Path(path).stem
        self.available = tuple(c.modalities)
        self.clip_frames, self.face_size = c.face.frames, c.face.size
        self.speech_seconds = c.speech.seconds
        voc = self.meta["preprocessing"].get("vocabulary")
        self.vocab = Vocabulary.from_dict(voc) if voc else None

    @torch.no_grad()
    def _embed(self, branch: str, x: np.ndarray) -> np.ndarray:
        from ..training import _tensor

        br = self.model.branches[branch]
        out = [br.embed(_tensor(x[s]).to(self.device)).cpu().numpy() for s in _batches(len(x), 64)]
        return np.concatenate(out) if out else np.zeros((0, br.embed_dim), np.float32)

    def face(self, clips: np.ndarray) -> np.ndarray:
        return self._embed("face", clips[:, None])

    def speech(self, windows: np.ndarray) -> np.ndarray:
        from ..recipes import speech_inputs_from_waves

        if not len(windows):
            return np.zeros((0, self.model.branches["speech"].embed_dim), np.float32)
        return self._embed("speech", speech_inputs_from_waves(windows, self.speech_seconds, self.model.config.speech.feature))

    def text(self, texts: list[str]) -> np.ndarray:
        if self.vocab is None or "text" not in self.model.branches:
            raise ModelError("this fused model has no text branch")
        return self._embed("text", self.vocab.transform(texts))

    @torch.no_grad()
    def fuse(self, features: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        cols = [MODALITIES.index(m) for m in self.model.config.modalities]
        m = torch.as_tensor(mask[:, cols], dtype=torch.bool)
        out = []
        for s in _batches(len(mask), 512):
            emb = {k: torch.as_tensor(v[s], dtype=torch.float32) for k, v in features.items() if k in self.model.branches}
            out.append(torch.softmax(self.model.fuse(emb, m[s]), 1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)))


class LateFusionLessonModels(LessonModels):
    """The real pretrained face, speech and text models, fused late with given weights."""

    def __init__(self, weights: Optional[dict[str, float]] = None, folder: str | Path = PRETRAINED_DIR, device: str = "cpu"):
        from ..preprocessing.text import Vocabulary

        self.weights = dict(DEFAULT_WEIGHTS, **(weights or {}))
        self.device = device
        self.models, self.metas = {}, {}
        for m, name in (("face", "face"), ("speech", "speech"), ("text", "text")):
            p = Path(folder) / f"{name}.safetensors"
            if p.is_file():
                self.models[m], self.metas[m] = load_model(p, map_location=device)
        if not self.models:
            raise ModelError("no pretrained models are shipped in this installation", path=folder,
                             hint="use model='synthetic' or train them (see docs/pretrained.md)")
        self.name = "pretrained"
        self.available = tuple(self.models)
        face = self.models.get("face")
        self.clip_frames = 5 if face is None or face.kind != "face3d" else face.config.frames  # per-frame models: averaged over 1 s at 5 fps
        self.face_size = 48 if face is None else face.config.size
        sp = self.metas.get("speech")
        self.speech_seconds = float(sp["preprocessing"].get("seconds", 3.0)) if sp else 3.0
        tx = self.metas.get("text")
        self.vocab = Vocabulary.from_dict(tx["preprocessing"]["vocabulary"]) if tx else None

    @torch.no_grad()
    def _probs(self, m: str, x: np.ndarray) -> np.ndarray:
        from ..training import _tensor

        model = self.models[m]
        out = [torch.softmax(model(_tensor(x[s]).to(self.device)), 1).cpu().numpy() for s in _batches(len(x), 128)]
        return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)), np.float32)

    def face(self, clips: np.ndarray) -> np.ndarray:
        if "face" not in self.models:
            return np.zeros((len(clips), len(EMOTIONS)), np.float32)
        if self.models["face"].kind == "face3d":
            return self._probs("face", clips[:, None])
        frames = clips.reshape(-1, clips.shape[-2], clips.shape[-1])  # per-frame model: average over the clip
        p = self._probs("face", frames[:, None])
        return p.reshape(len(clips), -1, p.shape[-1]).mean(1)

    def speech(self, windows: np.ndarray) -> np.ndarray:
        from ..recipes import speech_inputs_from_waves

        if "speech" not in self.models or not len(windows):
            return np.zeros((len(windows), len(EMOTIONS)), np.float32)
        return self._probs("speech", speech_inputs_from_waves(windows, self.speech_seconds))

    def text(self, texts: list[str]) -> np.ndarray:
        if "text" not in self.models:
            return np.zeros((len(texts), len(EMOTIONS)), np.float32)
        return self._probs("text", self.vocab.transform(texts))

    def fuse(self, features: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        n = len(mask)
        w = np.array([self.weights.get(m, 0.0) if m in self.models else 0.0 for m in MODALITIES])[None, :] * mask
        total = w.sum(1, keepdims=True)
        probs = np.zeros((n, len(EMOTIONS)))
        for i, m in enumerate(MODALITIES):
            if m in features and m in self.models:
                probs += np.where(total > 0, w[:, i:i + 1] / np.maximum(total, 1e-12), 0) * features[m]
        probs[total[:, 0] == 0] = 1.0 / len(EMOTIONS)
        return probs


def load_lesson_models(name: str = "pretrained", device: str = "cpu", weights: Optional[dict[str, float]] = None) -> LessonModels:
    """``"synthetic"`` (bundled synthetic-domain fused model), ``"pretrained"`` (real models, late
    fusion), or a path to a fused ``.safetensors`` model."""
    if name == "pretrained":
        return LateFusionLessonModels(weights=weights, device=device)
    if name == "synthetic":
        p = PRETRAINED_DIR / "synthetic.safetensors"
        if not p.is_file():
            raise ModelError("the synthetic-domain model is not bundled in this installation", path=p)
        return FusedLessonModels(p, device)
    return FusedLessonModels(name, device)
