"""Speaker normalisation of a linear speech head: each speaker's voice statistics centred, in logit space.

Voices differ more from each other than one voice differs between emotions, and a new corpus, language or
microphone shifts every statistic the same way for all of its speakers. A head trained on statistics from
which each training speaker's own mean was subtracted (``SpeechCNNConfig.speaker_shrink > 0``,
``benchmarks/train_speech_speaker.py``) reads a new speaker after the same subtraction. Few utterances give
a poor mean, and a speaker heard in one mood only would have that mood subtracted, so the mean is shrunk
toward the training speakers' mean: with ``n`` utterances of the speaker,

    m = (n * mean(s) + k * m_train) / (n + k),    k = ``shrink``.

The head is linear, so subtracting ``m`` from the statistics equals subtracting
``n / (n + k) * (mean(z) - b)`` from each utterance's logits ``z`` (read with the training mean subtracted),
where ``b`` is the head's bias: the adaptation needs the logits only, never the 1,536 statistics. It works
on log-probabilities too (a softmax ignores the constant each row's log-sum-exp adds), with ``b`` divided by
the temperature the probabilities were made with.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..errors import EmolabError


def speaker_adapt(log_proba: np.ndarray, groups: Sequence, *, bias: np.ndarray, shrink: float,
                  amount: Optional[np.ndarray] = None, temperature: float = 1.0) -> np.ndarray:
    """Probabilities of a speaker-normalised speech head after centring each speaker's readings.

    Parameters
    ----------
    log_proba : np.ndarray [shape=(n, n_classes)]
        Log-probabilities (or logits) of the head on each reading, the training speakers' mean subtracted
        (the model's plain output), at ``temperature``.
    groups : sequence [shape=(n,)]
        The speaker of each reading; ``None`` (or NaN) for a reading of no known speaker, which is left as it is.
    bias : np.ndarray [shape=(n_classes,)]
        The head's bias (the logits of the training speakers' mean statistics).
    shrink : float
        ``k``, in utterances (about 3 s of speech each): how many utterances' worth of the training
        speakers' mean is mixed into each speaker's. 0 centres on the speaker's own mean alone.
    amount : np.ndarray [shape=(n,)], optional
        How many utterances each reading is worth (default 1; a lesson's overlapping 3-s windows, one per
        second of speech, are worth 1/3 each).
    temperature : float
        The temperature ``log_proba`` was made with.

    Returns
    -------
    np.ndarray [shape=(n, n_classes)]
        Probabilities (rows sum to 1).

    Examples
    --------
    >>> z = np.log(np.array([[0.7, 0.3], [0.6, 0.4]]))
    >>> speaker_adapt(z, ["a", "a"], bias=np.zeros(2), shrink=0.0).argmax(1)   # the speaker's lean removed
    array([0, 1])
    """
    z = np.asarray(log_proba, np.float64)
    if z.ndim != 2 or len(z) != len(groups):
        raise EmolabError(f"log_proba must be [n, n_classes] with one group per row, got {z.shape} and {len(groups)} groups")
    if shrink < 0:
        raise EmolabError(f"shrink must be >= 0, got {shrink}")
    w = np.ones(len(z)) if amount is None else np.asarray(amount, np.float64)
    ref = np.asarray(bias, np.float64) / float(temperature)
    out = z.copy()
    keys = np.array([None if g is None or (isinstance(g, float) and np.isnan(g)) else str(g) for g in groups], object)
    for g in {k for k in keys if k is not None}:
        rows = keys == g
        n = float(w[rows].sum())
        mean = (w[rows, None] * z[rows]).sum(0) / n
        out[rows] -= n / (n + shrink) * (mean - ref)
    out -= out.max(1, keepdims=True)
    p = np.exp(out)
    return p / p.sum(1, keepdims=True)
