"""Dialogue context for an utterance-level text model: each utterance re-read among its neighbours.

An utterance model reads one utterance at a time. :class:`DialogueContext` takes its answers for a whole dialogue
and corrects each one from the answers around it: a bidirectional GRU reads, for every utterance in order, the
model's probabilities and whether the same person spoke just before and just after; a linear layer (zero at the
start of training, so the head starts as the identity) turns its state into a correction added to the utterance's
logits. It sees only the utterance model's seven probabilities, never the words again, so it is small (about 30 k
parameters) and cheap, and a lesson pays almost nothing for it.

:func:`in_dialogues` applies it to a table of utterances: a dialogue of up to :data:`WHOLE` utterances (MELD's
longest) is read whole; in a longer one (a lesson's transcript) each utterance is read with the
:data:`HALF_WINDOW` before and after it, so the head never reads a sequence longer than it was trained on.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

WHOLE = 24  # a dialogue up to this many utterances is read whole (MELD's longest has 24)
HALF_WINDOW = 12  # in a longer one, each utterance with this many before and after it


class DialogueContext(nn.Module):
    """A correction of utterance logits from the dialogue around each utterance.

    Parameters
    ----------
    n_classes : int
    hidden : int
        GRU units per direction.
    dropout : float
        On the GRU's output, in training.
    members : int
        Independent GRU-and-linear pairs whose corrections are averaged (:meth:`average` builds one from heads
        trained apart).
    """

    def __init__(self, n_classes: int, hidden: int = 64, dropout: float = 0.3, members: int = 1):
        super().__init__()
        if members < 1:
            raise ValueError(f"members must be >= 1, got {members}")
        self.grus = nn.ModuleList(nn.GRU(n_classes + 2, hidden, batch_first=True, bidirectional=True)
                                  for _ in range(members))
        self.drop = nn.Dropout(dropout)
        self.outs = nn.ModuleList(nn.Linear(2 * hidden, n_classes) for _ in range(members))
        for out in self.outs:
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)

    @classmethod
    def average(cls, heads: Sequence["DialogueContext"]) -> "DialogueContext":
        """One head whose correction is the mean of the corrections of ``heads`` (same shape each)."""
        first = heads[0]
        joint = cls(first.outs[0].out_features, first.grus[0].hidden_size, first.drop.p,
                    sum(len(h.grus) for h in heads))
        joint.grus.load_state_dict({f"{i}.{k}": v for i, g in enumerate(g for h in heads for g in h.grus)
                                    for k, v in g.state_dict().items()})
        joint.outs.load_state_dict({f"{i}.{k}": v for i, o in enumerate(o for h in heads for o in h.outs)
                                    for k, v in o.state_dict().items()})
        return joint

    def forward(self, logits: torch.Tensor, flags: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Corrected logits of padded dialogues.

        Parameters
        ----------
        logits : torch.Tensor [shape=(B, L, k)]
            The utterance model's logits (or log-probabilities: a constant per utterance changes nothing),
            dialogue by dialogue in order, padded after each dialogue's end.
        flags : torch.Tensor [shape=(B, L, 2)]
            1 where the utterance's speaker also spoke the utterance before / after it (:func:`speaker_flags`).
        lengths : torch.Tensor [shape=(B,)]
            Utterances in each dialogue (>= 1).

        Returns
        -------
        torch.Tensor [shape=(B, L, k)]
            ``logits`` plus the correction (padding: unchanged).
        """
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        x = torch.cat([torch.softmax(logits.float(), -1), flags.float()], -1)
        packed = pack_padded_sequence(x, lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False)
        correction = 0.0
        for gru, out in zip(self.grus, self.outs):
            h, _ = pad_packed_sequence(gru(packed)[0], batch_first=True, total_length=x.shape[1])
            correction = correction + out(self.drop(h))
        return logits.float() + correction / len(self.grus)


def speaker_flags(speakers: Optional[Sequence[str]], n: int) -> np.ndarray:
    """Whether each utterance's speaker also spoke the one before / after it: float32 [n, 2]; 0 where a speaker is
    unknown (``None`` or an empty name)."""
    f = np.zeros((n, 2), np.float32)
    if speakers is None or n < 2:
        return f
    s = np.asarray([str(v) if v is not None else "" for v in speakers], dtype=object)
    same = (s[1:] == s[:-1]) & (s[1:] != "")
    f[1:, 0], f[:-1, 1] = same, same
    return f


def windows(n: int) -> list[tuple[int, int, int]]:
    """(start, stop, position of the utterance in it) of the span read for each of ``n`` utterances of one dialogue:
    all of it up to :data:`WHOLE`, else the :data:`HALF_WINDOW` utterances each side (shifted at the ends)."""
    if n <= WHOLE:
        return [(0, n, i) for i in range(n)]
    span = 2 * HALF_WINDOW + 1
    out = []
    for i in range(n):
        a = min(max(0, i - HALF_WINDOW), n - span)
        out.append((a, a + span, i - a))
    return out


def in_dialogues(head: DialogueContext, logits: np.ndarray, groups: Optional[Sequence] = None,
                 order: Optional[Sequence[float]] = None, speakers: Optional[Sequence[str]] = None,
                 batch_size: int = 256) -> np.ndarray:
    """Utterance logits corrected by :class:`DialogueContext`, each utterance among its dialogue's.

    Parameters
    ----------
    head : DialogueContext
    logits : np.ndarray [shape=(n, k)]
        The utterance model's logits or log-probabilities.
    groups : sequence [n], optional
        Dialogue of each row (default: all rows one dialogue, e.g. one lesson).
    order : sequence of float [n], optional
        Position in the dialogue (utterance number, start time); default: row order.
    speakers : sequence of str [n], optional
        Who said each utterance ("" or None: unknown).
    batch_size : int

    Returns
    -------
    np.ndarray [shape=(n, k), dtype=float64]
        Corrected logits, row-aligned with ``logits``.
    """
    z = np.asarray(logits, np.float64)
    n = len(z)
    if n == 0:
        return z.copy()
    g = np.zeros(n, int) if groups is None else np.unique(np.asarray(groups).astype(str), return_inverse=True)[1]
    o = np.arange(n, dtype=float) if order is None else np.asarray(order, float)
    rows, spans = [], []  # per dialogue: its rows in order; per utterance: (dialogue, start, stop, position)
    for d in np.unique(g):
        idx = np.flatnonzero(g == d)
        idx = idx[np.argsort(o[idx], kind="stable")]
        rows.append(idx)
        spans += [(len(rows) - 1, a, b, p) for a, b, p in windows(len(idx))]
    flags = [speaker_flags(None if speakers is None else [speakers[i] for i in idx], len(idx)) for idx in rows]
    out = np.empty_like(z)
    targets = np.concatenate(rows)
    head.eval()
    with torch.inference_mode():
        for s in range(0, len(spans), batch_size):
            chunk = spans[s:s + batch_size]
            width = max(b - a for _, a, b, _ in chunk)
            x = np.zeros((len(chunk), width, z.shape[1]), np.float32)
            f = np.zeros((len(chunk), width, 2), np.float32)
            for j, (d, a, b, _) in enumerate(chunk):
                x[j, :b - a], f[j, :b - a] = z[rows[d][a:b]], flags[d][a:b]
            lengths = torch.tensor([b - a for _, a, b, _ in chunk])
            y = head(torch.from_numpy(x), torch.from_numpy(f), lengths).numpy()
            out[targets[s:s + len(chunk)]] = y[np.arange(len(chunk)), [p for *_, p in chunk]]
    return out


def with_dialogue(model: nn.Module, logits: np.ndarray, manifest=None, *, groups: Optional[Sequence] = None,
                  order: Optional[Sequence[float]] = None, speakers: Optional[Sequence[str]] = None) -> np.ndarray:
    """A text model's utterance logits [n, k], corrected by its dialogue head where it has one (else unchanged).

    The dialogues come from ``manifest`` (a corpus table: ``group``, ``utterance`` and ``speaker`` columns, as
    MELD's; a table without ``group`` is of lone texts, each its own dialogue) or from ``groups`` / ``order`` /
    ``speakers`` (:func:`in_dialogues`; none given: the rows are one dialogue in order, as a lesson)."""
    head = getattr(model, "dialogue", None)
    if head is None:
        return np.asarray(logits)
    if manifest is not None:
        n = len(manifest)
        groups = manifest["group"].astype(str).to_numpy() if "group" in manifest.columns else np.arange(n)
        order = manifest["utterance"].to_numpy(float) if "utterance" in manifest.columns else None
        speakers = manifest["speaker"].fillna("").astype(str).tolist() if "speaker" in manifest.columns else None
    return in_dialogues(head, logits, groups, order, speakers)
