"""Transcripts into model inputs: tokens, a vocabulary, padded id arrays, TF-IDF.

:class:`Vocabulary` follows scikit-learn's estimator contract: ``fit`` on training texts only,
``transform`` any texts into a padded ``[n, max_len]`` int64 array (0 = padding, 1 = out of
vocabulary). It round-trips through ``to_dict``/``from_dict`` so a saved model carries it. It
implements the contract (``get_params``/``set_params``/``fit_transform``, ``clone`` works) without
inheriting scikit-learn's base classes: importing those imports scikit-learn and most of SciPy, 1.1 s of
CPU that every lesson analysis with a transcript paid for nothing (measured with ``python -X importtime``).

Dialogue context (:func:`context_transform`): each utterance's row holds the ``k`` utterances
before it in its dialogue (or lesson), oldest first, each prefixed with a speaker marker —
``<same>`` when the target's speaker said it, ``<other>`` otherwise — then ``<sep>`` and the
utterance itself::

    <other> we ' re late ! <same> come on <sep> i can ' t find my keys

The first utterance of a dialogue has no context: its row is ``<sep>`` and the utterance. The
marker tokens are appended to a vocabulary by :meth:`Vocabulary.with_context_tokens` (the
tokenizer never produces them from text, so they cannot collide with words).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import numpy as np

PAD, OOV = 0, 1
SAME, OTHER, SEP = "<same>", "<other>", "<sep>"
CONTEXT_TOKENS = (SAME, OTHER, SEP)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; ``!`` and ``?`` are kept as tokens (they carry emotion).

    Curly apostrophes are normalised, so MELD's ``I’m`` and ``I'm`` give the same tokens.
    """
    t = str(text).lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u0092", "'")
    return _TOKEN.findall(t)


def _check_fitted(vocab) -> None:
    """Raise scikit-learn's ``NotFittedError`` (imported only then) when ``vocab`` has no ``vocabulary_``."""
    if not hasattr(vocab, "vocabulary_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"This {type(vocab).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                             "arguments before using this estimator.")


class Vocabulary:
    """Token -> id mapping with a minimum count and a maximum size.

    Parameters
    ----------
    min_count : int
        Tokens seen fewer times in the training texts map to OOV.
    max_size : int
        At most this many ids in all (including PAD and OOV).
    max_len : int
        Length of the padded output rows (longer texts are cut at the end).

    Attributes
    ----------
    vocabulary_ : dict[str, int]
    """

    def __init__(self, min_count: int = 2, max_size: int = 5000, max_len: int = 50):
        self.min_count = min_count
        self.max_size = max_size
        self.max_len = max_len

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters (scikit-learn's contract: ``clone``, grid searches)."""
        return {"min_count": self.min_count, "max_size": self.max_size, "max_len": self.max_len}

    def set_params(self, **params) -> "Vocabulary":
        """Set constructor parameters by name; an unknown name raises ``ValueError``."""
        for name, value in params.items():
            if name not in self.get_params():
                raise ValueError(f"invalid parameter {name!r} for Vocabulary; valid: {sorted(self.get_params())}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"Vocabulary(min_count={self.min_count}, max_size={self.max_size}, max_len={self.max_len})"

    def __sklearn_is_fitted__(self) -> bool:
        """Whether :meth:`fit` has run (what scikit-learn's ``check_is_fitted`` asks)."""
        return hasattr(self, "vocabulary_")

    def fit(self, texts: Iterable[str], y=None) -> "Vocabulary":
        counts = Counter(tok for t in texts for tok in tokenize(t))
        kept = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= self.min_count]
        self.vocabulary_ = {w: i + 2 for i, w in enumerate(kept[: self.max_size - 2])}
        return self

    def fit_transform(self, texts: Iterable[str], y=None) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same texts."""
        texts = list(texts)
        return self.fit(texts).transform(texts)

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        """Padded ids.

        Returns
        -------
        np.ndarray [shape=(n, max_len), dtype=int64]

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        _check_fitted(self)
        texts = list(texts)
        out = np.zeros((len(texts), self.max_len), np.int64)
        for i, t in enumerate(texts):
            ids = [self.vocabulary_.get(tok, OOV) for tok in tokenize(t)][: self.max_len]
            out[i, : len(ids)] = ids
        return out

    def extend(self, texts: Iterable[str]) -> "Vocabulary":
        """A new vocabulary with every id of this one unchanged and the tokens of ``texts`` it lacks
        (seen at least ``min_count`` times) appended — for fine-tuning a trained text model on a
        new corpus (rows of its embedding keep their meaning; new rows start fresh).
        """
        _check_fitted(self)
        counts = Counter(tok for t in texts for tok in tokenize(t))
        new = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= self.min_count and w not in self.vocabulary_]
        v = Vocabulary(self.min_count, len(self.vocabulary_) + len(new) + 2, self.max_len)
        v.vocabulary_ = {**self.vocabulary_, **{w: len(self.vocabulary_) + 2 + i for i, w in enumerate(new)}}
        return v

    def with_context_tokens(self) -> "Vocabulary":
        """This vocabulary with the dialogue-context markers (:data:`CONTEXT_TOKENS`) appended (every
        other id unchanged); itself if it has them already."""
        _check_fitted(self)
        new = [t for t in CONTEXT_TOKENS if t not in self.vocabulary_]
        if not new:
            return self
        v = Vocabulary(self.min_count, max(self.max_size, self.size + len(new)), self.max_len)
        v.vocabulary_ = {**self.vocabulary_, **{t: self.size + i for i, t in enumerate(new)}}
        return v

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, cut at ``max_len`` (no padding)."""
        return [self.vocabulary_.get(tok, OOV) for tok in tokenize(text)][: self.max_len]

    @property
    def size(self) -> int:
        """Number of ids including PAD and OOV."""
        return len(self.vocabulary_) + 2

    def to_dict(self) -> dict:
        return {"min_count": self.min_count, "max_size": self.max_size, "max_len": self.max_len, "tokens": list(self.vocabulary_)}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        v = cls(data["min_count"], data["max_size"], data["max_len"])
        v.vocabulary_ = {w: i + 2 for i, w in enumerate(data["tokens"])}
        return v


def text_tokenizer(data: dict):
    """The tokenizer a text model was saved with (its ``preprocessing["vocabulary"]``): a
    :class:`Vocabulary`, or for the MiniLM text model a :class:`~emolab.preprocessing.wordpiece.WordPiece`
    (``{"kind": "wordpiece", ...}``). Both have ``transform(texts) -> [n, max_len]`` int64 ids."""
    if data.get("kind") == "wordpiece":
        from .wordpiece import WordPiece

        return WordPiece.from_dict(data)
    return Vocabulary.from_dict(data)


def context_rows(groups, order=None, k: int = 2) -> list[list[int]]:
    """For each row, the rows of at most ``k`` utterances before it in its group, oldest first.

    Parameters
    ----------
    groups : sequence
        Dialogue (or lesson) of each row; context never crosses a group.
    order : sequence of numbers, optional
        Position of each row in its group (e.g. MELD's ``Utterance_ID``, a turn's start time);
        default: row order. Ties keep row order.
    k : int
        Utterances of context at most.
    """
    groups = np.asarray(groups, dtype=object)
    n = len(groups)
    order = np.arange(n) if order is None else np.asarray(order, dtype=float)
    out: list[list[int]] = [[] for _ in range(n)]
    if k <= 0 or not n:
        return out
    by_group: dict = {}
    for i in np.lexsort((np.arange(n), order)):  # by order, then by row
        by_group.setdefault(groups[i], []).append(int(i))
    for rows in by_group.values():
        for j, i in enumerate(rows):
            out[i] = rows[max(0, j - k):j]
    return out


def context_transform(vocab: Vocabulary, texts, speakers=None, groups=None, order=None, k: int = 2) -> np.ndarray:
    """Padded ids of each utterance with its dialogue context (see the module docstring).

    Parameters
    ----------
    vocab : Vocabulary
        Fitted, with the context markers (:meth:`Vocabulary.with_context_tokens`).
    texts : sequence of str
    speakers : sequence of str, optional
        Speaker of each utterance; a context utterance is ``<same>`` when its speaker equals the
        target's and both are known (non-empty), else ``<other>``. Default: all unknown.
    groups : sequence, optional
        Dialogue of each utterance (context never crosses one). Default: one group (a lesson).
    order : sequence of numbers, optional
        Position in the group (default: row order).
    k : int
        Previous utterances of context.

    Returns
    -------
    np.ndarray [shape=(n, (k + 1) * (max_len + 1)), dtype=int64]
        Left-aligned ids, zero-padded.
    """
    _check_fitted(vocab)
    missing = [t for t in CONTEXT_TOKENS if t not in vocab.vocabulary_]
    if missing:
        raise ValueError(f"the vocabulary lacks the context tokens {missing}; use Vocabulary.with_context_tokens()")
    texts = [str(t) for t in texts]
    n = len(texts)
    speakers = [""] * n if speakers is None else ["" if s is None or (isinstance(s, float) and s != s) else str(s) for s in speakers]
    groups = [0] * n if groups is None else list(groups)
    ids = [vocab.ids(t) for t in texts]
    same, other, sep = (vocab.vocabulary_[t] for t in CONTEXT_TOKENS)
    out = np.zeros((n, (k + 1) * (vocab.max_len + 1)), np.int64)
    for i, prev in enumerate(context_rows(groups, order, k)):
        row: list[int] = []
        for j in prev:
            row.append(same if speakers[i] and speakers[j] == speakers[i] else other)
            row.extend(ids[j])
        row.append(sep)
        row.extend(ids[i])
        out[i, : len(row)] = row
    return out
