"""Transcripts into model inputs: tokens, a vocabulary, padded id arrays, TF-IDF.

:class:`Vocabulary` follows scikit-learn's estimator contract: ``fit`` on training texts only,
``transform`` any texts into a padded ``[n, max_len]`` int64 array (0 = padding, 1 = out of
vocabulary). It round-trips through ``to_dict``/``from_dict`` so a saved model carries it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

PAD, OOV = 0, 1
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; ``!`` and ``?`` are kept as tokens (they carry emotion).

    Curly apostrophes are normalised, so MELD's ``I’m`` and ``I'm`` give the same tokens.
    """
    t = str(text).lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u0092", "'")
    return _TOKEN.findall(t)


class Vocabulary(BaseEstimator, TransformerMixin):
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

    def fit(self, texts: Iterable[str], y=None) -> "Vocabulary":
        counts = Counter(tok for t in texts for tok in tokenize(t))
        kept = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= self.min_count]
        self.vocabulary_ = {w: i + 2 for i, w in enumerate(kept[: self.max_size - 2])}
        return self

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
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "vocabulary_")
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
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "vocabulary_")
        counts = Counter(tok for t in texts for tok in tokenize(t))
        new = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= self.min_count and w not in self.vocabulary_]
        v = Vocabulary(self.min_count, len(self.vocabulary_) + len(new) + 2, self.max_len)
        v.vocabulary_ = {**self.vocabulary_, **{w: len(self.vocabulary_) + 2 + i for i, w in enumerate(new)}}
        return v

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
