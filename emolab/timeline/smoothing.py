"""Smoothing per-second emotion probabilities over time.

* :func:`ema`: exponential moving average (causal), ``alpha`` weight of the new second.
* :func:`hmm_smooth`: forward-backward posteriors of a hidden Markov model whose hidden state is
  the emotion and whose observations are the per-second probabilities (treated as scaled
  likelihoods), with a "sticky" transition matrix (stay with ``p_stay``, else switch uniformly).
  Emotions persist for seconds, so isolated one-second flips are suppressed while real changes
  pass. The Viterbi path of the same model is :func:`viterbi`.

All take ``proba`` [T, K] (rows sum to 1) and return arrays of the same shape (or [T] labels).
"""

from __future__ import annotations

import numpy as np


def ema(proba: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Exponential moving average over rows."""
    p = np.asarray(proba, float)
    out = np.empty_like(p)
    acc = p[0] if len(p) else None
    for i, row in enumerate(p):
        acc = row if i == 0 else alpha * row + (1 - alpha) * acc
        out[i] = acc
    return out


def _transition(k: int, p_stay: float) -> np.ndarray:
    A = np.full((k, k), (1 - p_stay) / (k - 1))
    np.fill_diagonal(A, p_stay)
    return A


def hmm_smooth(proba: np.ndarray, p_stay: float = 0.9) -> np.ndarray:
    """Forward-backward posterior probabilities [T, K]."""
    p = np.clip(np.asarray(proba, float), 1e-6, None)
    T, K = p.shape
    if T == 0:
        return p
    A = _transition(K, p_stay)
    alpha = np.empty((T, K))
    a = p[0] / K
    alpha[0] = a / a.sum()
    for t in range(1, T):
        a = (alpha[t - 1] @ A) * p[t]
        alpha[t] = a / a.sum()
    beta = np.ones((T, K))
    for t in range(T - 2, -1, -1):
        b = A @ (p[t + 1] * beta[t + 1])
        beta[t] = b / b.sum()
    post = alpha * beta
    return post / post.sum(1, keepdims=True)


def viterbi(proba: np.ndarray, p_stay: float = 0.9) -> np.ndarray:
    """Most likely label sequence [T] (indices) under the sticky HMM."""
    p = np.log(np.clip(np.asarray(proba, float), 1e-9, None))
    T, K = p.shape
    logA = np.log(_transition(K, p_stay))
    score = p[0] - np.log(K)
    back = np.zeros((T, K), int)
    for t in range(1, T):
        cand = score[:, None] + logA
        back[t] = cand.argmax(0)
        score = cand.max(0) + p[t]
    path = np.empty(T, int)
    path[-1] = int(score.argmax())
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def smooth(proba: np.ndarray, method: str = "hmm", alpha: float = 0.5, p_stay: float = 0.9) -> np.ndarray:
    """Dispatch: ``"none"``, ``"ema"`` or ``"hmm"``."""
    if method == "none" or len(proba) == 0:
        return np.asarray(proba, float)
    if method == "ema":
        return ema(proba, alpha)
    if method == "hmm":
        return hmm_smooth(proba, p_stay)
    raise ValueError(f"smoothing must be none, ema or hmm (got {method!r})")
