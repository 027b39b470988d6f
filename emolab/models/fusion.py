"""The fused model: face clip + speech + text, tolerant of a modality missing for some samples.

Input is a dict batch::

    {"face": [B, 1, T, H, W], "speech": [B, 1, F, N], "text": [B, L] int64,
     "mask": [B, 3] bool}     # mask columns in MODALITIES order; absent key = all False

Two fusion modes (``FusedConfig.mode``):

* ``"feature"``: each branch's embedding is projected to ``hidden`` units, zeroed where the
  modality is missing, and the concatenation (plus the mask itself) goes through an MLP.
* ``"late"``: each branch predicts on its own; class probabilities are mixed with weights
  ``w_m`` (learned, or given in ``weights``) renormalised over the modalities present in each
  sample. ``forward`` returns the log of the mixed probabilities (usable with cross-entropy).

A sample with no modality at all gets the uniform distribution. :meth:`FusedModel.contributions`
tells how much each modality moved each prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from ..config import Config
from ..taxonomy import EMOTIONS
from .zoo import Face3DCNN, Face3DConfig, SpeechCNN, SpeechCNNConfig, TextLSTM, TextLSTMConfig

MODALITIES: tuple[str, ...] = ("face", "speech", "text")


@dataclass
class FusedConfig(Config):
    n_classes: int = len(EMOTIONS)
    modalities: tuple[str, ...] = MODALITIES
    mode: str = "feature"  # "feature" or "late"
    weights: Optional[tuple[float, ...]] = None  # late fusion: fixed weights per modality (None = learned)
    hidden: int = 64
    dropout: float = 0.3
    modality_dropout: float = 0.3  # training only: chance of masking each present modality (one always stays)
    face: Face3DConfig = field(default_factory=lambda: Face3DConfig(size=48, frames=16))
    speech: SpeechCNNConfig = field(default_factory=SpeechCNNConfig)
    text: TextLSTMConfig = field(default_factory=lambda: TextLSTMConfig(embedding=64, hidden=64))


class FusedModel(nn.Module):
    kind = "fused"

    def __init__(self, config: FusedConfig | None = None):
        super().__init__()
        self.config = c = config or FusedConfig()
        unknown = set(c.modalities) - set(MODALITIES)
        if unknown or not c.modalities:
            raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}")
        if c.mode not in ("feature", "late"):
            raise ValueError("mode must be 'feature' or 'late'")
        builders = {"face": lambda: Face3DCNN(c.face), "speech": lambda: SpeechCNN(c.speech), "text": lambda: TextLSTM(c.text)}
        self.branches = nn.ModuleDict({m: builders[m]() for m in c.modalities})
        if c.mode == "feature":
            self.project = nn.ModuleDict({m: nn.Sequential(nn.Linear(b.embed_dim, c.hidden), nn.ReLU(inplace=True))
                                          for m, b in self.branches.items()})
            n = len(c.modalities)
            self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(n * c.hidden + n, c.hidden), nn.ReLU(inplace=True),
                                      nn.Dropout(c.dropout), nn.Linear(c.hidden, c.n_classes))
        else:
            if c.weights is not None and len(c.weights) != len(c.modalities):
                raise ValueError("weights needs one value per modality")
            init = torch.log(torch.tensor(c.weights, dtype=torch.float32)) if c.weights else torch.zeros(len(c.modalities))
            self.log_weights = nn.Parameter(init, requires_grad=c.weights is None)

    def _mask(self, batch: dict) -> torch.Tensor:
        ref = next(v for k, v in batch.items() if k in MODALITIES)
        b = ref.shape[0]
        if "mask" in batch:
            full = batch["mask"].bool()
        else:
            full = torch.ones(b, len(MODALITIES), dtype=torch.bool, device=ref.device)
        cols = [full[:, MODALITIES.index(m)] & torch.tensor(m in batch, device=ref.device) for m in self.config.modalities]
        return torch.stack(cols, 1)

    def branch_logits(self, batch: dict) -> dict[str, torch.Tensor]:
        """Each present branch's own class logits [B, n_classes]."""
        return {m: br(batch[m]) for m, br in self.branches.items() if m in batch}

    def modality_weights(self) -> torch.Tensor:
        """Late fusion: the normalised weight of each modality [M] (before masking)."""
        return torch.softmax(self.log_weights, 0)

    def branch_embeddings(self, batch: dict) -> dict[str, torch.Tensor]:
        """Each present branch's embedding [B, embed_dim] (what :meth:`fuse` combines)."""
        return {m: br.embed(batch[m]) for m, br in self.branches.items() if m in batch}

    def fuse(self, embeddings: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Fused output from branch embeddings and a mask [B, M] over ``config.modalities``.

        Lets a long recording be processed in a streaming way: embeddings are computed as the
        video, audio and transcript are read, and fused per person and second afterwards.
        """
        c = self.config
        b = mask.shape[0]
        if c.mode == "feature":
            parts = []
            for i, m in enumerate(c.modalities):
                h = self.project[m](embeddings[m]) if m in embeddings else torch.zeros(b, c.hidden, device=mask.device)
                parts.append(h * mask[:, i:i + 1].to(h.dtype))
            logits = self.head(torch.cat(parts + [mask.float()], 1))
            none = ~mask.any(1, keepdim=True)
            return torch.where(none, torch.zeros_like(logits), logits)
        w = self.modality_weights().unsqueeze(0) * mask.float()
        total = w.sum(1, keepdim=True)
        w = torch.where(total > 0, w / total.clamp(min=1e-12), torch.zeros_like(w))
        probs = torch.zeros(b, c.n_classes, device=mask.device)
        for i, m in enumerate(c.modalities):
            if m in embeddings:
                probs = probs + w[:, i:i + 1] * F.softmax(self.branches[m].head(embeddings[m]), 1)
        probs = torch.where(total > 0, probs, torch.full_like(probs, 1.0 / c.n_classes))
        return torch.log(probs.clamp(min=1e-8))

    def forward(self, batch: dict) -> torch.Tensor:
        mask = self._mask(batch)
        if self.training and self.config.modality_dropout > 0:
            mask = _drop_modalities(mask, self.config.modality_dropout)
        return self.fuse(self.branch_embeddings(batch), mask)

    @torch.no_grad()
    def contributions(self, batch: dict) -> torch.Tensor:
        """How much each modality supports each prediction [B, M]: the drop in the probability of
        the predicted class when that modality is masked out (0 where it was missing anyway)."""
        was = self.training
        self.eval()
        p = F.softmax(self(batch), 1)
        pred = p.argmax(1, keepdim=True)
        base = p.gather(1, pred)[:, 0]
        mask = self._mask(batch)
        full = torch.zeros(mask.shape[0], len(MODALITIES), dtype=torch.bool, device=mask.device)
        for i, m in enumerate(self.config.modalities):
            full[:, MODALITIES.index(m)] = mask[:, i]
        out = []
        for i, m in enumerate(self.config.modalities):
            ablated = full.clone()
            ablated[:, MODALITIES.index(m)] = False
            q = F.softmax(self({**batch, "mask": ablated}), 1).gather(1, pred)[:, 0]
            out.append(torch.where(mask[:, i], base - q, torch.zeros_like(base)))
        self.train(was)
        return torch.stack(out, 1)


def _drop_modalities(mask: torch.Tensor, p: float) -> torch.Tensor:
    """Randomly mask present modalities with probability ``p`` each, keeping at least one per sample,
    so the model learns to predict from any subset (robust to modalities missing at test time)."""
    drop = (torch.rand(mask.shape, device=mask.device) < p) & mask
    kept = mask & ~drop
    empty = ~kept.any(1) & mask.any(1)
    if empty.any():  # restore one random present modality where all were dropped
        scores = torch.rand(mask[empty].shape, device=mask.device) * mask[empty]
        keep = torch.zeros_like(mask[empty])
        keep[torch.arange(keep.shape[0]), scores.argmax(1)] = True
        kept[empty] = keep
    return kept
