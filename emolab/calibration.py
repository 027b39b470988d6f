"""Calibrated confidences: temperature scaling, expected calibration error, reliability tables.

A classifier is *calibrated* when, among the predictions it makes with confidence 0.7, 70 % are
right. The bundled models are not always: the face CNN keeps a mean confidence of 0.44-0.56 on
faces of 12-20 px where it is right 29-44 % of the time (``docs/readability.md``). Temperature scaling
(Guo et al., 2017) divides the logits by one number ``T`` fitted on held-out data; ``T > 1`` softens
overconfident predictions, and the arg-max (hence accuracy) never changes.

* :func:`fit_temperature` / :func:`apply_temperature` — fit and apply ``T``;
* :func:`fit_bias_corrected_temperature` and :func:`adapt_priors` — ``T`` plus per-class biases,
  and the EM re-weighting of Saerens et al. (2002) for a lesson whose class mix differs from the
  training data's;
* :func:`expected_calibration_error` and :func:`reliability_table` — measure calibration;
* :func:`selective_accuracy` — accuracy and coverage when only predictions with confidence
  ``>= c`` are accepted;
* :func:`temperature_for` — the temperature fitted for a bundled model (for faces, by face size),
  read from ``emolab/pretrained/calibration.json`` (1.0 when none was fitted);
  :func:`load_calibration` / :func:`record_calibration` read and write that file.

Logits and log-probabilities are interchangeable here: ``softmax(log(p) / T)`` equals
``softmax(z / T)`` when ``p = softmax(z)``, so a caller that only has probabilities passes
``np.log(p)``. Everything is numpy and scipy (no torch).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

CALIBRATION_FILE = Path(__file__).resolve().parent / "pretrained" / "calibration.json"


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _check(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if scores.ndim != 2 or y.shape != (len(scores),):
        raise ValueError(f"need scores [n, k] and labels [n], got {scores.shape} and {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= scores.shape[1]):
        raise ValueError(f"labels must be class indices in [0, {scores.shape[1]})")
    return scores, y


def apply_temperature(logits: np.ndarray, temperature: float | np.ndarray, *, bias: np.ndarray | None = None) -> np.ndarray:
    """Probabilities ``softmax(logits / temperature + bias)``.

    Parameters
    ----------
    logits : np.ndarray [shape=(n, k)]
        Logits, or log-probabilities (``np.log(proba)``: the result is the same).
    temperature : float > 0, or np.ndarray [shape=(n,)] of them
        1.0 leaves the probabilities unchanged; above 1 softens them, below 1 sharpens them. An
        array gives each row its own (e.g. ``temperature_for("face", face_px=heights)``).
    bias : np.ndarray [shape=(k,)], optional
        Per-class offsets of :func:`fit_bias_corrected_temperature`.

    Returns
    -------
    np.ndarray [shape=(n, k), dtype=float64]
        Rows sum to 1; without ``bias`` the arg-max of every row is that of ``logits``.
    """
    t = np.asarray(temperature, dtype=np.float64)
    if not (t > 0).all():
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / (t[:, None] if t.ndim else t)
    return np.exp(_log_softmax(z if bias is None else z + np.asarray(bias, dtype=np.float64)))


def fit_temperature(logits: np.ndarray, y: np.ndarray, *, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature that minimises the negative log-likelihood of ``y`` (Guo et al., 2017).

    Parameters
    ----------
    logits : np.ndarray [shape=(n, k)]
        Held-out logits or log-probabilities (not the data the model was trained on).
    y : np.ndarray [shape=(n,), dtype=int]
        True class indices.
    bounds : (float, float)
        Search range of the temperature; the optimum is searched on ``log T``.

    Returns
    -------
    float
        ``T``; 1.0 for an empty set.
    """
    from scipy.optimize import minimize_scalar

    z, y = _check(logits, y)
    if not len(y):
        return 1.0
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-_log_softmax(z / np.exp(log_t))[rows, y].mean())

    res = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-5})
    return float(np.exp(res.x))


def fit_bias_corrected_temperature(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Temperature and per-class biases that minimise the negative log-likelihood of ``y``
    ("bias-corrected temperature scaling", Alexandari et al., 2020).

    Use it before :func:`adapt_priors`: prior adaptation needs probabilities calibrated class by
    class, which one temperature does not give (measured in ``docs/readability.md``).

    Parameters
    ----------
    logits : np.ndarray [shape=(n, k)]
        Held-out logits or log-probabilities.
    y : np.ndarray [shape=(n,), dtype=int]
        True class indices.

    Returns
    -------
    temperature : float
    bias : np.ndarray [shape=(k,)]
        Centred on 0 (a constant added to every class changes nothing).
    """
    from scipy.optimize import minimize

    z, y = _check(logits, y)
    rows = np.arange(len(y))

    def nll(theta: np.ndarray) -> float:
        return float(-_log_softmax(z / np.exp(theta[0]) + theta[1:])[rows, y].mean())

    theta = minimize(nll, np.zeros(z.shape[1] + 1), method="L-BFGS-B",
                     bounds=[(np.log(0.05), np.log(20.0))] + [(None, None)] * z.shape[1]).x
    return float(np.exp(theta[0])), theta[1:] - theta[1:].mean()


def adapt_priors(proba: np.ndarray, *, train_prior: np.ndarray, max_iter: int = 200,
                 tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """Re-weight probabilities for a set (e.g. one lesson) whose class mix differs from training
    (label shift): the EM algorithm of Saerens, Latinne and Decaestecker (2002).

    Parameters
    ----------
    proba : np.ndarray [shape=(n, k)]
        Probabilities calibrated class by class under the training class mix
        (:func:`fit_bias_corrected_temperature`); with a single temperature the estimate can run
        off to a corner (measured in ``docs/readability.md``).
    train_prior : np.ndarray [shape=(k,)]
        Class shares of the training data.
    max_iter : int
    tol : float
        Stop when no class share moves by more than this.

    Returns
    -------
    proba : np.ndarray [shape=(n, k)]
        The re-weighted probabilities.
    prior : np.ndarray [shape=(k,)]
        The estimated class mix of the set.
    """
    p = np.asarray(proba, dtype=np.float64)
    base = np.asarray(train_prior, dtype=np.float64)
    base = base / base.sum()
    if p.ndim != 2 or base.shape != (p.shape[1],):
        raise ValueError(f"need proba [n, k] and train_prior [k], got {p.shape} and {base.shape}")
    prior, q = base.copy(), p
    for _ in range(max_iter):
        q = p * (prior / base)
        q /= q.sum(axis=1, keepdims=True)
        new = q.mean(axis=0)
        done = np.abs(new - prior).max() < tol
        prior = new
        if done:
            break
    return q, prior


def _confidence(proba: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, y = _check(proba, y)
    return p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)


def reliability_table(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 10) -> pd.DataFrame:
    """Accuracy against confidence in equal-width confidence bins (a reliability diagram as a table).

    Parameters
    ----------
    proba : np.ndarray [shape=(n, k)]
        Class probabilities.
    y : np.ndarray [shape=(n,), dtype=int]
        True class indices.
    n_bins : int
        Bins of equal width over [0, 1]; the last one includes 1.0.

    Returns
    -------
    pd.DataFrame
        One row per bin: ``bin_lo``, ``bin_hi``, ``n`` (predictions whose confidence falls in the
        bin), ``confidence`` (their mean top probability) and ``accuracy`` (share right); NaN for
        an empty bin.
    """
    conf, right = _confidence(proba, y)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    n = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / n
        acc = np.bincount(idx, weights=right, minlength=n_bins) / n
    return pd.DataFrame({"bin_lo": edges[:-1], "bin_hi": edges[1:], "n": n.astype(int),
                         "confidence": mean_conf, "accuracy": acc})


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 15) -> float:
    """Top-label expected calibration error: the count-weighted mean ``|accuracy - confidence|``
    over equal-width confidence bins (Naeini et al., 2015; Guo et al., 2017).

    Parameters
    ----------
    proba, y : np.ndarray [shape=(n, k)], np.ndarray [shape=(n,), dtype=int]
        Class probabilities and true class indices, as in :func:`reliability_table`.
    n_bins : int
        Equal-width bins over [0, 1] (15 as in Guo et al.).

    Returns
    -------
    float
        In [0, 1]; 0 for a perfectly calibrated model (and for an empty set).
    """
    t = reliability_table(proba, y, n_bins=n_bins)
    t = t[t.n > 0]
    if not len(t):
        return 0.0
    return float((t.n * (t.accuracy - t.confidence).abs()).sum() / t.n.sum())


def selective_accuracy(proba: np.ndarray, y: np.ndarray, thresholds=(0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> pd.DataFrame:
    """Accuracy and coverage when only predictions with confidence ``>= c`` are accepted.

    Parameters
    ----------
    proba : np.ndarray [shape=(n, k)]
        Class probabilities (calibrated ones, for thresholds that mean the same across models).
    y : np.ndarray [shape=(n,), dtype=int]
        True class indices.
    thresholds : sequence of float
        Confidence thresholds ``c``.

    Returns
    -------
    pd.DataFrame
        One row per threshold: ``threshold``, ``n`` (accepted), ``coverage`` (accepted share of
        all) and ``accuracy`` (of the accepted; NaN when none is).
    """
    conf, right = _confidence(proba, y)
    rows = []
    for c in thresholds:
        keep = conf >= c
        rows.append((float(c), int(keep.sum()), float(keep.mean()) if len(keep) else float("nan"),
                     float(right[keep].mean()) if keep.any() else float("nan")))
    return pd.DataFrame(rows, columns=["threshold", "n", "coverage", "accuracy"])


def load_calibration() -> dict:
    """Everything ``emolab/pretrained/calibration.json`` stores: bundled model name -> its entry
    (``temperature``, how it was fitted, and for ``face`` also ``by_size_px`` and
    ``bias_corrected``: the temperature, per-class ``bias`` and ``train_prior`` that
    :func:`adapt_priors` needs); an empty dict when the file is absent."""
    if not CALIBRATION_FILE.is_file():
        return {}
    return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))


def temperature_for(name: str, *, face_px: float | np.ndarray | None = None) -> float | np.ndarray:
    """The temperature fitted for a bundled model (``face``, ``speech``, ``text``), 1.0 when none was.

    Parameters
    ----------
    name : str
        Bundled model name.
    face_px : float or np.ndarray [shape=(n,)], optional
        Face model only: height in pixels of the face box in the frame the crop is cut from (the
        frame after downscaling to ``max_side``). Small faces get the larger temperature fitted
        on FER2013 faces shrunk to that size (``by_size_px`` in the file; the box height is turned
        into FER2013 image px with the measured ``box_h_over_fer_side``, then interpolated
        linearly between the fitted sizes and clamped at both ends). Without it: the 48-px fit.

    Returns
    -------
    float, or np.ndarray [shape=(n,)] for an array ``face_px``
        Read from ``emolab/pretrained/calibration.json`` (written by
        ``benchmarks/bench_face_readability.py`` and ``benchmarks/bench_calibration.py``, which
        also record where each temperature was fitted). Use it as
        ``apply_temperature(np.log(proba), T)`` on each frame's probabilities, before averaging
        frames or fusing modalities.
    """
    entry = load_calibration().get(name) or {"temperature": 1.0}
    table = entry.get("by_size_px")
    if face_px is None or not table:
        t = float(entry["temperature"])
        return t if face_px is None or np.ndim(face_px) == 0 else np.full(np.shape(face_px), t)
    size = np.asarray(face_px, dtype=np.float64) / float(entry.get("box_h_over_fer_side", 1.0))
    xs = sorted(table, key=float)
    t = np.interp(size, [float(x) for x in xs], [float(table[x]) for x in xs])
    return float(t) if t.ndim == 0 else t


def record_calibration(name: str, **fields) -> Path:
    """Store calibration facts of bundled model ``name`` in ``emolab/pretrained/calibration.json``,
    atomically: ``fields`` replace those of the same name in its entry, the rest of the file is kept.

    Parameters
    ----------
    name : str
        Bundled model name (``face``, ``speech``, ``text``).
    **fields
        JSON-serialisable: ``temperature`` (float > 0, read by :func:`temperature_for`) and where and
        how it was fitted (``fitted_on``, ``command``, ECE before and after, ...).
    """
    from .atomic import write_text

    if "temperature" in fields:
        if not fields["temperature"] > 0:
            raise ValueError(f"temperature must be > 0, got {fields['temperature']}")
        fields["temperature"] = round(float(fields["temperature"]), 4)
    table = load_calibration()
    table[name] = {**table.get(name, {}), **fields}
    return write_text(CALIBRATION_FILE, json.dumps(dict(sorted(table.items())), indent=2) + "\n")
