"""The canonical emotion taxonomy and the documented mapping of every corpus's labels onto it.

emolab speaks one label set everywhere: the seven basic emotions

    anger, disgust, fear, happiness, neutral, sadness, surprise

(alphabetical, which is also the column order of every probability table). Each corpus names its
labels differently (``"angry"``, ``"mad"``, ``"joy"``, RAVDESS's ``"calm"``, CK+'s ``"contempt"``,
Emo-DB's ``"boredom"``, ...). :func:`canonical_label` maps them, and :data:`LABEL_MAP` is the one
table that says how. The choices that are judgement calls are marked below and in ``docs/taxonomy.md``:

* ``calm`` (RAVDESS) -> ``neutral``: a low-arousal, neutral-valence state.
* ``contempt`` (CK+) -> ``disgust``: contempt has no canonical class; disgust is its nearest basic
  emotion (both "rejection" expressions). Readers keep the raw label, so a user can drop those rows.
* ``boredom`` (Emo-DB) -> ``neutral``: low arousal, no canonical class of its own.
* ``pleasant surprise`` (TESS) -> ``surprise``.
* GoEmotions' 28 labels follow the authors' own Ekman grouping (``ekman_mapping.json``).

Valence groups the emotions into the three levels used by the classroom studies that emolab
reproduces: ``positive`` (happiness, surprise), ``neutral`` (neutral) and ``negative`` (anger,
disgust, fear, sadness).
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from .errors import DataError

EMOTIONS: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "happiness",
    "neutral",
    "sadness",
    "surprise",
)
"""The canonical labels, in the fixed order used for class indices and probability columns."""

VALENCE: dict[str, str] = {
    "anger": "negative",
    "disgust": "negative",
    "fear": "negative",
    "happiness": "positive",
    "neutral": "neutral",
    "sadness": "negative",
    "surprise": "positive",
}
"""Valence group of each canonical emotion (positive / neutral / negative)."""

VALENCE_SCORE: dict[str, float] = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
"""Numeric valence of each group; the expected valence of a probability vector uses it."""

# Every known spelling of every label, lower-cased, with punctuation normalised to spaces.
# One table for all corpora: where a code is corpus-specific (Emo-DB's letters, CREMA-D's
# three-letter codes, eNTERFACE's folder names), the reader expands the code to a word first.
LABEL_MAP: dict[str, str] = {
    # anger
    "anger": "anger", "angry": "anger", "mad": "anger", "ang": "anger", "annoyance": "anger",
    "disapproval": "anger", "rage": "anger", "irritation": "anger", "frustration": "anger",
    # disgust (contempt: judgement call, see module docstring)
    "disgust": "disgust", "disgusted": "disgust", "dis": "disgust", "contempt": "disgust",
    # fear
    "fear": "fear", "fearful": "fear", "scared": "fear", "afraid": "fear", "fea": "fear",
    "nervousness": "fear", "anxiety": "fear", "anxious": "fear",
    # happiness (GoEmotions' positive labels follow the authors' Ekman grouping under "joy")
    "happiness": "happiness", "happy": "happiness", "joy": "happiness", "hap": "happiness",
    "admiration": "happiness", "amusement": "happiness", "approval": "happiness",
    "caring": "happiness", "desire": "happiness", "excitement": "happiness",
    "gratitude": "happiness", "love": "happiness", "optimism": "happiness", "pride": "happiness",
    "relief": "happiness", "pleased": "happiness", "positive": "happiness",
    # neutral (calm, boredom: judgement calls, see module docstring)
    "neutral": "neutral", "neu": "neutral", "calm": "neutral", "boredom": "neutral",
    "bored": "neutral",
    # sadness
    "sadness": "sadness", "sad": "sadness", "grief": "sadness", "remorse": "sadness",
    "disappointment": "sadness", "embarrassment": "sadness", "unhappy": "sadness",
    # surprise
    "surprise": "surprise", "surprised": "surprise", "sur": "surprise",
    "pleasant surprise": "surprise", "ps": "surprise", "confusion": "surprise",
    "curiosity": "surprise", "realization": "surprise",
}

GOEMOTIONS_LABELS: tuple[str, ...] = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride",
    "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)
"""GoEmotions' 28 labels in the order of its ``labels.txt`` (label id = position)."""


class UnknownLabelError(DataError, KeyError):
    """A label that no mapping knows. Its message names the label and what is accepted.

    A :class:`~emolab.errors.DataError` (so the command line prints it as one line) and a
    ``KeyError`` (a lookup that failed)."""

    __str__ = DataError.__str__


def _normalise(raw: str) -> str:
    return " ".join(str(raw).strip().lower().replace("_", " ").replace("-", " ").split())


def canonical_label(raw: str, extra: Mapping[str, str] | None = None) -> str:
    """Map one corpus label to its canonical emotion.

    Parameters
    ----------
    raw : str
        The label as the corpus writes it (case, ``_`` and ``-`` are ignored), e.g. ``"Angry"``,
        ``"pleasant_surprise"``, ``"calm"``.
    extra : mapping of str to str, optional
        Additional ``raw -> canonical`` entries that take precedence (for a user's own labels).

    Returns
    -------
    str
        One of :data:`EMOTIONS`.

    Raises
    ------
    UnknownLabelError
        If the label is not known; the message lists the canonical labels.
    """
    key = _normalise(raw)
    if extra:
        norm_extra = {_normalise(k): v for k, v in extra.items()}
        if key in norm_extra:
            value = norm_extra[key]
            if value not in EMOTIONS:
                raise UnknownLabelError(
                    f"mapping for {raw!r} points to {value!r}, which is not one of {', '.join(EMOTIONS)}"
                )
            return value
    try:
        return LABEL_MAP[key]
    except KeyError:
        raise UnknownLabelError(
            f"unknown emotion label {raw!r}; known canonical labels are {', '.join(EMOTIONS)} "
            "(pass a label_map to map your own labels)"
        ) from None


def is_known_label(raw: str) -> bool:
    """Return True if :func:`canonical_label` can map ``raw``."""
    return _normalise(raw) in LABEL_MAP


def label_to_index(labels: Iterable[str]) -> np.ndarray:
    """Class indices (positions in :data:`EMOTIONS`) of canonical labels.

    Parameters
    ----------
    labels : iterable of str
        Canonical labels.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=int64]
    """
    lookup = {e: i for i, e in enumerate(EMOTIONS)}
    try:
        return np.fromiter((lookup[x] for x in labels), dtype=np.int64)
    except KeyError as exc:
        raise UnknownLabelError(f"{exc.args[0]!r} is not a canonical label ({', '.join(EMOTIONS)})") from None


def valence_of(label: str) -> str:
    """Valence group (``"positive"``, ``"neutral"`` or ``"negative"``) of a canonical label."""
    return VALENCE[canonical_label(label)]


def expected_valence(proba: np.ndarray) -> np.ndarray:
    """Expected valence score of probability vectors over :data:`EMOTIONS`.

    Parameters
    ----------
    proba : np.ndarray [shape=(..., 7)]
        Probabilities in :data:`EMOTIONS` order.

    Returns
    -------
    np.ndarray [shape=(...)]
        ``P(positive) - P(negative)``, in [-1, 1].
    """
    weights = np.array([VALENCE_SCORE[VALENCE[e]] for e in EMOTIONS])
    return np.asarray(proba, dtype=float) @ weights


def taxonomy_table():
    """The whole label mapping as a tidy DataFrame with columns ``raw, emotion, valence``."""
    import pandas as pd

    rows = [(raw, emo, VALENCE[emo]) for raw, emo in sorted(LABEL_MAP.items())]
    return pd.DataFrame(rows, columns=["raw", "emotion", "valence"])
