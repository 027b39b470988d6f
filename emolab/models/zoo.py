"""The model zoo: face (2D CNN, deep CNN, classroom CNN, CNN-LSTM, 3D-CNN), speech CNN, text LSTM.

Every model takes a config dataclass (so it can be saved and rebuilt without pickling), and has

* ``embed(x) -> [B, embed_dim]``: the features before the classifier (fusion uses them);
* ``forward(x) -> [B, n_classes]``: class logits in :data:`emolab.EMOTIONS` order by default.

Input shapes (B = batch):

=================  ===========================================  ==========================
model              input                                        notes
=================  ===========================================  ==========================
``face2d``         [B, 1, H, W] float in [0, 1]                  VGG-style, global pooling
``classroom_cnn``  [B, 1, H, W]                                  the classroom paper's CNN
``cnn_lstm``       [B, 1, T, H, W]                               2D CNN per frame -> BiLSTM
``face3d``         [B, 1, T, H, W]                               3D-CNN (time never pooled)
``speech``         [B, 1, F, N] (MFCC+deltas or log-mel)         F features x N frames
``text``           [B, L] int64 token ids (0 = padding)          BiLSTM + attention pooling
                                                                 (with ``context``: pooled over
                                                                 the tokens after ``<sep>``);
                                                                 ``encoder="minilm"``: MiniLM over
                                                                 WordPiece ids, mean-pooled
=================  ===========================================  ==========================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from ..config import Config
from ..device import run_rnn
from ..errors import EmolabError
from ..taxonomy import EMOTIONS
from .blocks import conv_stack, inflate_conv_stack, masked_mean


@dataclass
class FaceCNNConfig(Config):
    """2D face CNN. Defaults: four blocks 32->256, two convs each (the "deeper CNN" uses
    ``widths=(64, 128, 256, 512)``). ``members > 1``: that many such CNNs, trained apart, whose class
    probabilities are averaged (:func:`average_probabilities`)."""

    n_classes: int = len(EMOTIONS)
    widths: tuple[int, ...] = (32, 64, 128, 256)
    convs_per_block: int = 2
    dropout: float = 0.4
    size: int = 48
    members: int = 1
    store_half: bool = False  # store floating-point weights in float16 (file size; they are loaded into float32)


FaceCNN2DConfig = FaceCNNConfig
"""The same class under the name every other model's settings follow (``<Model>Config``)."""


def average_probabilities(logits: list[torch.Tensor]) -> torch.Tensor:
    """Log of the mean of several models' softmax probabilities, computed stably.

    Parameters
    ----------
    logits : list of torch.Tensor [shape=(B, C)]
        Each member model's class logits.

    Returns
    -------
    torch.Tensor [shape=(B, C), dtype=float32]
        ``log(mean_m softmax(logits_m))``: its softmax is the averaged probabilities, so it stands in for
        logits everywhere (temperature scaling divides it like any logits).
    """
    logp = torch.stack([torch.log_softmax(z.float(), dim=1) for z in logits])
    return torch.logsumexp(logp, dim=0) - math.log(len(logits))


class FaceCNN2D(nn.Module):
    """VGG-style 2D CNN over one grayscale face with global average pooling.

    With ``config.members > 1`` it holds that many CNNs of the same layout (``self.members``) and returns
    the log of their averaged probabilities (:func:`average_probabilities`); ``embed`` is then their
    embeddings side by side. Such an ensemble is built from trained single CNNs with :meth:`ensemble`."""

    kind = "face2d"

    def __init__(self, config: FaceCNNConfig | None = None):
        super().__init__()
        self.config = config or FaceCNNConfig()
        c = self.config
        if c.store_half:
            self.save_dtype = torch.float16  # save_model stores the weights in half precision
        if c.members < 1:
            raise EmolabError(f"members must be >= 1, got {c.members}")
        if c.members > 1:
            one = replace(c, members=1, store_half=False)
            self.members = nn.ModuleList(FaceCNN2D(one) for _ in range(c.members))
            self.embed_dim = c.members * c.widths[-1]
            return
        self.features = conv_stack(1, c.widths, c.convs_per_block, dims=2)
        self.embed_dim = c.widths[-1]
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(self.embed_dim, c.n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.members > 1:
            return torch.cat([m.embed(x) for m in self.members], dim=1)
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.members > 1:
            return average_probabilities([m(x) for m in self.members])
        return self.head(self.embed(x))

    def read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[B, n_classes]`` and embedding ``[B, embed_dim]`` of one pass (an ensemble: two)."""
        if self.config.members > 1:
            return self(x), self.embed(x)
        e = self.embed(x)
        return self.head(e), e

    @classmethod
    def ensemble(cls, models: list["FaceCNN2D"], store_half: bool = False) -> "FaceCNN2D":
        """One model averaging the probabilities of trained single face CNNs of the same layout (weights copied).

        Parameters
        ----------
        models : list of FaceCNN2D
            At least two single CNNs (``members == 1``) with equal widths, convolutions per block, size and classes.
        store_half : bool
            Save the weights in float16 (half the file; computed in float32).
        """
        if len(models) < 2 or any(m.config.members != 1 for m in models):
            raise EmolabError("an ensemble needs at least two single face CNNs")
        c0 = models[0].config
        if any(replace(m.config, dropout=c0.dropout, store_half=False) != replace(c0, store_half=False) for m in models):
            raise EmolabError("the face CNNs of an ensemble must share widths, convolutions per block, size and classes")
        out = cls(replace(c0, members=len(models), store_half=store_half))
        for dst, src in zip(out.members, models):
            dst.load_state_dict(src.state_dict())
        return out


@dataclass
class ClassroomCNNConfig(Config):
    """The classroom paper's CNN: conv 32 -> two blocks of two convs at 64 + max-pool ->
    two dense layers with dropout 0.5."""

    n_classes: int = len(EMOTIONS)
    size: int = 48
    dense: int = 256


class ClassroomCNN(nn.Module):
    kind = "classroom_cnn"

    def __init__(self, config: ClassroomCNNConfig | None = None):
        super().__init__()
        self.config = c = config or ClassroomCNNConfig()
        r = nn.ReLU(inplace=True)
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), r,
            nn.Conv2d(32, 64, 3, padding=1), r, nn.Conv2d(64, 64, 3, padding=1), r, nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), r, nn.Conv2d(64, 64, 3, padding=1), r, nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        )
        self.dense = nn.Sequential(nn.Linear(64 * 36, c.dense), nn.ReLU(inplace=True), nn.Dropout(0.5))
        self.embed_dim = c.dense
        self.head = nn.Sequential(nn.Linear(c.dense, c.dense // 2), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                  nn.Linear(c.dense // 2, c.n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


@dataclass
class Face3DConfig(Config):
    """3D-CNN over face clips [B, 1, T, H, W]; works at 48-96 px. Same layout parameters as
    :class:`FaceCNNConfig`, so a 2D model can be inflated into it."""

    n_classes: int = len(EMOTIONS)
    widths: tuple[int, ...] = (8, 16, 32, 64)
    convs_per_block: int = 1
    temporal_kernel: int = 3
    dropout: float = 0.4
    frames: int = 16
    size: int = 96


Face3DCNNConfig = Face3DConfig
"""The same class under the name every other model's settings follow (``<Model>Config``)."""


class Face3DCNN(nn.Module):
    """3D-CNN: spatio-temporal conv blocks (time padded by replication, never pooled), global
    average pooling over time and space, dropout, linear classifier."""

    kind = "face3d"

    def __init__(self, config: Face3DConfig | None = None):
        super().__init__()
        self.config = c = config or Face3DConfig()
        self.features = conv_stack(1, c.widths, c.convs_per_block, dims=3, temporal_kernel=c.temporal_kernel)
        self.embed_dim = c.widths[-1]
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(self.embed_dim, c.n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    @classmethod
    def inflate(cls, face2d: FaceCNN2D, frames: int = 16, temporal_kernel: int = 3) -> "Face3DCNN":
        """A 3D-CNN initialised from a trained 2D face CNN (I3D inflation).

        On a clip of identical frames the result equals the 2D model's output.
        """
        c2 = face2d.config
        if c2.members > 1:
            raise EmolabError("an ensemble of face CNNs cannot be inflated into one 3D-CNN",
                              hint="inflate one of its members (model.members[i])")
        model = cls(Face3DConfig(n_classes=c2.n_classes, widths=tuple(c2.widths), convs_per_block=c2.convs_per_block,
                                 temporal_kernel=temporal_kernel, dropout=c2.dropout, frames=frames, size=c2.size))
        inflate_conv_stack(face2d.features, model.features)
        model.head.load_state_dict(face2d.head.state_dict())
        return model


@dataclass
class CNNLSTMConfig(Config):
    """2D CNN per frame -> bidirectional LSTM over time."""

    n_classes: int = len(EMOTIONS)
    cnn: FaceCNNConfig = field(default_factory=lambda: FaceCNNConfig(widths=(16, 32, 64), convs_per_block=1))
    hidden: int = 64
    dropout: float = 0.3
    frames: int = 16
    size: int = 48


class CNNLSTM(nn.Module):
    kind = "cnn_lstm"

    def __init__(self, config: CNNLSTMConfig | None = None):
        super().__init__()
        self.config = c = config or CNNLSTMConfig()
        self.cnn = FaceCNN2D(c.cnn)
        self.lstm = nn.LSTM(self.cnn.embed_dim, c.hidden, batch_first=True, bidirectional=True)
        self.embed_dim = 2 * c.hidden
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(self.embed_dim, c.n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, 1, h, w)
        seq = self.cnn.embed(frames).reshape(b, t, -1)
        out, _ = run_rnn(self.lstm, seq)
        return out.mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


@dataclass
class SpeechCNNConfig(Config):
    """CNN over an MFCC(+deltas) or log-mel map [B, 1, F, N]."""

    n_classes: int = len(EMOTIONS)
    widths: tuple[int, ...] = (16, 32, 64, 128)
    convs_per_block: int = 1
    dropout: float = 0.3
    n_features: int = 60
    feature: str = "mfcc"  # "mfcc" (MFCC + deltas), "logmel" (64 mels) or "logmel40" (40 mels)
    seconds: float = 3.0
    cmvn: str = "none"  # per-utterance normalisation of each feature row over time: "none", "mean" (subtract), "meanvar" (and divide by std)
    pooling: str = "mean"  # "mean" (global average) or "attention" (learned weights over time)
    encoder: str = "cnn"  # "cnn" (the layers above) or "voice" (a pretrained LSTM voice encoder, :class:`VoiceStats`)
    hidden: int = 256  # voice: LSTM width
    voice_layers: int = 2  # voice: LSTM layers
    level_db: float = 0.0  # voice: mean energy of the active frames the encoder is fed at (dB of mel power)
    active_db: float = 35.0  # voice: frames within this many dB of the loudest are active (statistics over them)
    voice_pool: tuple[int, ...] = ()  # voice: the layers (1-based, ascending) whose statistics are pooled; () = the last one
    store_half: bool = False  # store floating-point weights in float16 (file size; they are loaded into float32)
    speaker_shrink: float = 0.0  # voice: > 0 = a speaker-normalised head; k of :func:`emolab.models.speaker_adapt.speaker_adapt`


def utterance_cmvn(x: torch.Tensor, variance: bool = True, eps: float = 1e-5) -> torch.Tensor:
    """Cepstral mean (and variance) normalisation of each utterance: every feature row of ``x``
    [..., F, N] minus its mean over the N frames, and with ``variance`` divided by its standard
    deviation (+ ``eps``)."""
    x = x - x.mean(dim=-1, keepdim=True)
    return x / (x.std(dim=-1, keepdim=True, unbiased=False) + eps) if variance else x


class VoiceStats(nn.Module):
    """A pretrained LSTM voice encoder's lower layers and statistics pooling over the active frames.

    Input [B, 1, F, N]: log-mel power in dB (``feature="logmel40"``: 40 mels, 25 ms windows, 10 ms hop).
    Each window's level is set so its active frames (within ``active_db`` of its loudest) have mean energy
    ``level_db``; the mel power (not its log: what the encoder was trained on) runs through the LSTM; the
    output is the mean and standard deviation of the pooled layers (the last by default) over the active frames, standardised by
    the stored ``mean`` and ``scale`` [2 * hidden * len(pool)]. Everything but the LSTM runs in float32; the LSTM follows
    the caller's autocast (a lesson's bf16 on CPU: on RAVDESS actors 15-18 the same answers as float32).
    ``pool`` names the layers (1-based) whose statistics are concatenated, [mean, std] per layer in order:
    ``(2,)`` for a two-layer encoder read at its last layer, ``(2, 3)`` for layers 2 and 3 of three.
    """

    def __init__(self, n_mels: int = 40, hidden: int = 256, layers: int = 2, level_db: float = 0.0, active_db: float = 35.0,
                 pool: tuple[int, ...] = ()):
        super().__init__()
        self.pool = tuple(int(k) for k in pool) or (int(layers),)
        if list(self.pool) != sorted(set(self.pool)) or self.pool[0] < 1 or self.pool[-1] != layers:
            raise EmolabError(f"voice_pool must be ascending layers in 1..{layers} ending with the last ({layers}), got {pool!r}")
        self.level_db, self.active_db = float(level_db), float(active_db)
        # layers 1..pool[0] as one LSTM (the file layout of a one-layer pool), each later layer on its own so it can be pooled
        self.lstm = nn.LSTM(n_mels, hidden, self.pool[0], batch_first=True)
        self.upper = nn.ModuleList(nn.LSTM(hidden, hidden, 1, batch_first=True) for _ in range(layers - self.pool[0]))
        self.register_buffer("mean", torch.zeros(2 * hidden * len(self.pool)))
        self.register_buffer("scale", torch.ones(2 * hidden * len(self.pool)))

    @staticmethod
    def levels(db: torch.Tensor, active_db: float = 35.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Active frames [B, N] (1.0 within ``active_db`` of the loudest frame, else 0.0) and their mean energy
        [B] (dB) of log-mel maps ``db`` [B, N, F] (dB)."""
        energy = 10 * torch.log10(torch.pow(10.0, db / 10).sum(-1) + 1e-10)  # [B, N] dB
        active = (energy >= energy.amax(1, keepdim=True) - active_db).float()
        return active, (energy * active).sum(1) / active.sum(1).clamp(min=1.0)

    def statistics(self, x: torch.Tensor) -> torch.Tensor:
        """Unstandardised statistics [B, 2 * hidden] of input [B, 1, F, N]."""
        with torch.autocast(x.device.type, enabled=False):
            db = x.float()[:, 0].transpose(1, 2)  # [B, N, F]
            active, level = self.levels(db, self.active_db)
            n = active.sum(1).clamp(min=1.0)
            power = torch.pow(10.0, (db + (self.level_db - level)[:, None, None]) / 10)
        h, _ = run_rnn(self.lstm, power)  # in the caller's precision: bf16 under CPU autocast (the lesson), else float32
        outputs = [h]
        for layer in self.upper:
            h, _ = run_rnn(layer, h)
            outputs.append(h)
        out, w = [], active[..., None]
        with torch.autocast(x.device.type, enabled=False):
            for k, h in zip(range(self.pool[0], self.pool[-1] + 1), outputs):
                if k in self.pool:
                    h = h.float()
                    mu = (h * w).sum(1) / n[:, None]
                    out += [mu, torch.sqrt((((h - mu[:, None]) ** 2) * w).sum(1) / n[:, None])]
            return torch.cat(out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.statistics(x)
        with torch.autocast(x.device.type, enabled=False):
            return (s - self.mean) / self.scale


class SpeechCNN(nn.Module):
    """CNN over [B, 1, F, N] speech features; optionally per-utterance CMVN first and attention
    pooling over time last (``SpeechCNNConfig.cmvn`` / ``pooling``; the defaults are the original model).
    With ``encoder="voice"`` the CNN is replaced by :class:`VoiceStats` (a pretrained voice encoder's
    statistics) and the head is a linear classifier over them."""

    kind = "speech"

    def __init__(self, config: SpeechCNNConfig | None = None):
        super().__init__()
        self.config = c = config or SpeechCNNConfig()
        if c.encoder not in ("cnn", "voice"):
            raise EmolabError(f"encoder must be 'cnn' or 'voice', got {c.encoder!r}")
        if c.encoder == "voice":
            self.voice = VoiceStats(c.n_features, c.hidden, c.voice_layers, c.level_db, c.active_db, c.voice_pool)
            self.embed_dim = 2 * c.hidden * len(self.voice.pool)
            if c.store_half:
                self.save_dtype = torch.float16  # save_model stores the weights in half precision
            self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(self.embed_dim, c.n_classes))
            return
        if c.cmvn not in ("none", "mean", "meanvar"):
            raise EmolabError(f"cmvn must be 'none', 'mean' or 'meanvar', got {c.cmvn!r}")
        if c.pooling not in ("mean", "attention"):
            raise EmolabError(f"pooling must be 'mean' or 'attention', got {c.pooling!r}")
        self.norm = nn.BatchNorm2d(1)
        self.features = conv_stack(1, c.widths, c.convs_per_block, dims=2)
        self.embed_dim = c.widths[-1]
        if c.pooling == "attention":
            self.attn = nn.Conv1d(self.embed_dim, 1, 1)
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(self.embed_dim, c.n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.encoder == "voice":
            return self.voice(x)
        if self.config.cmvn != "none":
            x = utterance_cmvn(x, variance=self.config.cmvn == "meanvar")
        h = self.features(self.norm(x))
        if self.config.pooling == "mean":
            return h.mean(dim=(2, 3))
        h = h.mean(dim=2)  # [B, C, N']: features pooled over frequency
        w = torch.softmax(self.attn(h).float(), dim=-1).to(h.dtype)  # [B, 1, N'] weights over time
        return (h * w).sum(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.encoder == "voice":  # the head in float32 whatever the caller's precision
            e = self.embed(x)
            with torch.autocast(x.device.type, enabled=False):
                return self.head(e)
        return self.head(self.embed(x))


@dataclass
class TextLSTMConfig(Config):
    """Embedding -> bidirectional LSTM -> attention pooling -> classifier.

    ``context`` > 0: the input rows hold that many previous utterances of the dialogue before the
    utterance (:func:`emolab.preprocessing.text.context_transform`); the LSTM reads them all and
    the attention pools only the utterance's tokens (those after the last ``sep_id``), so the
    context reaches the classifier through the forward LSTM state. ``packed``: the LSTM skips the
    padding (a packed sequence) instead of reading it; ``context`` models are trained with it.
    ``context_pool="all"``: the attention pools the context's tokens too. The defaults (0, False) are
    the original model."""

    n_classes: int = len(EMOTIONS)
    vocab_size: int = 5000
    embedding: int = 128
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.3
    max_len: int = 50
    context: int = 0
    sep_id: int = 0
    packed: bool = False
    context_pool: str = "utterance"  # with context: attention over the utterance's tokens ("utterance") or every token ("all")
    encoder: str = "lstm"  # "lstm" (the layers above) or "minilm" (the pretrained MiniLM sentence encoder, WordPiece ids)
    train_layers: int = 2  # minilm: its top layers fine-tuned and saved (float16); the rest read from its package
    dialogue: int = 0  # > 0: a dialogue-context head of this many GRU units per direction (emolab.models.dialogue)
    dialogue_members: int = 1  # its independently trained GRUs, corrections averaged


class TextLSTM(nn.Module):
    kind = "text"

    def __init__(self, config: TextLSTMConfig | None = None):
        super().__init__()
        self.config = c = config or TextLSTMConfig()
        if c.context_pool not in ("utterance", "all"):
            raise EmolabError(f"context_pool must be 'utterance' or 'all', got {c.context_pool!r}")
        if int(c.context) < 0:
            raise EmolabError(f"context is a number of previous utterances (>= 0), got {c.context}")
        if c.encoder not in ("lstm", "minilm"):
            raise EmolabError(f"encoder must be 'lstm' or 'minilm', got {c.encoder!r}")
        if c.encoder == "minilm":
            from .minilm import MiniLMEncoder

            if c.context:
                raise EmolabError("the MiniLM text encoder reads utterances alone (context = 0)")
            self.minilm = MiniLMEncoder(c.train_layers)
            self.save_dtype = torch.float16  # the fine-tuned layers are stored in half precision (save_model)
            self.drop = nn.Dropout(c.dropout)
            self.embed_dim = MiniLMEncoder.dim
            self.head = nn.Linear(self.embed_dim, c.n_classes)
            self.dialogue = self._dialogue_head(c)
            return
        self.minilm = None
        self.embedding = nn.Embedding(c.vocab_size, c.embedding, padding_idx=0)
        self.lstm = nn.LSTM(c.embedding, c.hidden, num_layers=c.layers, batch_first=True, bidirectional=True,
                            dropout=c.dropout if c.layers > 1 else 0.0)
        self.attn = nn.Linear(2 * c.hidden, 1)
        self.drop = nn.Dropout(c.dropout)
        self.embed_dim = 2 * c.hidden
        self.head = nn.Linear(self.embed_dim, c.n_classes)
        self.dialogue = self._dialogue_head(c)

    @staticmethod
    def _dialogue_head(c: "TextLSTMConfig"):
        """The dialogue-context head (:class:`~emolab.models.dialogue.DialogueContext`) where ``c.dialogue`` > 0, else None.
        ``forward`` stays utterance by utterance; :func:`~emolab.models.dialogue.in_dialogues` applies the head."""
        if int(c.dialogue) < 0:
            raise EmolabError(f"dialogue is a number of GRU units (>= 0), got {c.dialogue}")
        if not c.dialogue:
            return None
        from .dialogue import DialogueContext

        return DialogueContext(c.n_classes, int(c.dialogue), members=int(c.dialogue_members))

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.minilm is not None:
            return self.minilm(tokens)
        mask = tokens != 0
        x = self.drop(self.embedding(tokens))
        if self.config.packed:
            from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

            lengths = mask.sum(1).clamp(min=1).cpu()
            out, _ = run_rnn(self.lstm, pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        else:
            out, _ = run_rnn(self.lstm, x)
        if self.config.context and self.config.sep_id and self.config.context_pool != "all":
            sep = tokens == self.config.sep_id
            target = mask & ~sep & (sep.long().cumsum(1) == sep.long().sum(1, keepdim=True))  # after the last <sep> (all: none)
            mask = torch.where(target.any(1, keepdim=True), target, mask)
        score = self.attn(out).squeeze(-1).masked_fill(~mask, float("-inf"))
        empty = ~mask.any(1)
        score = torch.where(empty.unsqueeze(1), torch.zeros_like(score), score)
        w = torch.softmax(score, dim=1)
        pooled = (out * w.unsqueeze(-1)).sum(1)
        return torch.where(empty.unsqueeze(1), masked_mean(out, mask), pooled)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed(tokens)))
