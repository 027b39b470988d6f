"""BERT's uncased WordPiece tokenizer, for the MiniLM sentence encoder (:mod:`emolab.models.minilm`).

The rules of the reference tokenizer (``BertNormalizer`` + ``BertPreTokenizer`` + ``WordPiece``):
control characters dropped and whitespace unified; lower case; accents stripped (NFD, combining marks
removed); CJK ideographs split apart; words split at whitespace and at every punctuation character;
each word cut greedily into the longest pieces of the vocabulary (continuations prefixed ``##``), a word
with any unmatched part (or longer than 100 characters) becoming ``[UNK]``. A row is
``[CLS] pieces [SEP]`` cut to ``max_len`` ids and padded with ``[PAD]`` = 0, the id the text model
treats as padding. The vocabulary (30,522 pieces) is read from the installed encoder package, never
stored in a model file; :meth:`WordPiece.to_dict` keeps its digest so a model cannot silently meet
another vocabulary.

Like :class:`emolab.preprocessing.text.Vocabulary` it has ``transform(texts) -> [n, max_len]`` and
round-trips through ``to_dict``/``from_dict``; ``fit`` learns nothing (the vocabulary is the encoder's).
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Iterable, Sequence

import numpy as np

from ..errors import ModelError

MAX_WORD_CHARS = 100


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokens(text: str) -> list[str]:
    """Words and punctuation marks of ``text`` after BERT's normalisation (uncased, accents stripped)."""
    out = []
    for ch in str(text):
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        if ch in "\t\n\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out).lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    words = []
    for word in text.split():
        start = 0
        for i, ch in enumerate(word):
            if _is_punctuation(ch):
                if i > start:
                    words.append(word[start:i])
                words.append(ch)
                start = i + 1
        if start < len(word):
            words.append(word[start:])
    return words


class WordPiece:
    """WordPiece ids of texts, ``[CLS] ... [SEP]``, padded to ``max_len`` with 0.

    Parameters
    ----------
    max_len : int
        Ids per row including ``[CLS]`` and ``[SEP]``; longer texts are cut (their last pieces dropped).
    vocabulary : sequence of str, optional
        The pieces in id order; by default the bundled encoder's (:func:`emolab.models.minilm.vocabulary`).
    """

    kind = "wordpiece"

    def __init__(self, max_len: int = 64, vocabulary: Sequence[str] | None = None):
        if max_len < 3:
            raise ModelError(f"max_len must be >= 3 ([CLS], a piece, [SEP]), got {max_len}")
        self.max_len = int(max_len)
        if vocabulary is None:
            from ..models.minilm import vocabulary as encoder_vocabulary

            vocabulary = encoder_vocabulary()
        self.tokens = list(vocabulary)
        self.ids_ = {t: i for i, t in enumerate(self.tokens)}
        self.unk, self.cls, self.sep = (self.ids_[t] for t in ("[UNK]", "[CLS]", "[SEP]"))
        if self.ids_.get("[PAD]") != 0:
            raise ModelError("the WordPiece vocabulary's [PAD] must have id 0")

    def __repr__(self) -> str:
        return f"WordPiece(max_len={self.max_len}, vocabulary of {len(self.tokens)})"

    @property
    def size(self) -> int:
        """Number of ids."""
        return len(self.tokens)

    @property
    def digest(self) -> str:
        """SHA-256 of the vocabulary (one piece a line)."""
        return hashlib.sha256("\n".join(self.tokens).encode("utf-8")).hexdigest()

    def pieces(self, word: str) -> list[int]:
        """Ids of one normalised word: longest-match-first pieces, or ``[UNK]``."""
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        out, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids_:
                    found = self.ids_[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            out.append(found)
            start = end
        return out

    def ids(self, text: str) -> list[int]:
        """``[CLS]`` + the pieces of ``text`` + ``[SEP]``, cut to ``max_len`` (no padding)."""
        body = [i for w in basic_tokens(text) for i in self.pieces(w)][: self.max_len - 2]
        return [self.cls, *body, self.sep]

    def fit(self, texts: Iterable[str] = (), y=None) -> "WordPiece":
        """Nothing to learn: the vocabulary is the encoder's."""
        return self

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        """Padded ids.

        Returns
        -------
        np.ndarray [shape=(n, max_len), dtype=int64]
        """
        texts = list(texts)
        out = np.zeros((len(texts), self.max_len), np.int64)
        for i, t in enumerate(texts):
            ids = self.ids(t)
            out[i, : len(ids)] = ids
        return out

    def fit_transform(self, texts: Iterable[str], y=None) -> np.ndarray:
        return self.transform(texts)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "max_len": self.max_len, "size": self.size, "sha256": self.digest}

    @classmethod
    def from_dict(cls, data: dict, vocabulary: Sequence[str] | None = None) -> "WordPiece":
        w = cls(int(data["max_len"]), vocabulary)
        if data.get("sha256") and data["sha256"] != w.digest:
            raise ModelError("this text model was trained with another WordPiece vocabulary than the installed encoder's",
                             hint="install the encoder package version the model names (see docs/pretrained.md)")
        return w
