"""Class balancing with SMOTE and friends — inside training folds only.

:class:`Balancer` wraps imbalanced-learn's samplers behind one estimator:

========================  ==============================================================
``method``                what it does
========================  ==============================================================
``"smote"``               SMOTE over-sampling of the classes below the target
``"smote+under"``         SMOTE up to the target, then random under-sampling down to it
                          (the source method's "over- and under-sampling")
``"smote-enn"``           SMOTE, then Edited Nearest Neighbours cleaning
``"smote-tomek"``         SMOTE, then removal of Tomek links
``"random-over"``         random duplication up to the target
``"random-under"``        random removal down to the target
========================  ==============================================================

``target`` is ``"median"`` (every class towards the median class count, the source method's
choice), ``"max"`` (every class up to the largest) or an explicit ``{label: count}`` dict.

It works on feature matrices *and* on image / clip / sequence tensors: ``X`` of shape
``(n, ...)`` is flattened to ``(n, prod(...))`` for the neighbour search and reshaped back. With a
``groups`` vector (subject ids), synthetic rows inherit the group of their nearest real sample
of the same class, so a later group split still keeps every subject's information on one side.

**Never balance a validation or test set.** Use a ``Balancer`` inside an
``imblearn.pipeline.Pipeline`` (it resamples during ``fit`` only) or call ``fit_resample`` on the
training fold alone; :func:`emolab.audit.leakage_audit` shows what goes wrong otherwise.
"""

from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .errors import DataError

METHODS = ("smote", "smote+under", "smote-enn", "smote-tomek", "random-over", "random-under")


class Balancer(BaseEstimator):
    """Re-balance classes (see the module docstring).

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    target : {"median", "max"} or dict
        Class counts to aim for.
    k_neighbors : int
        SMOTE's neighbours.
    on_small_class : {"adapt", "raise"}
        A class with fewer than ``k_neighbors + 1`` samples: lower ``k`` for all (with a warning),
        or raise :class:`~emolab.errors.DataError`. A class of a single sample is duplicated
        randomly in ``"adapt"`` mode (SMOTE cannot interpolate from one point).
    random_state : int, optional

    Attributes
    ----------
    counts_before_, counts_after_ : dict
        Class counts seen by the last ``fit_resample``.
    k_used_ : int
        The ``k_neighbors`` actually used.
    """

    def __init__(self, method: str = "smote", target: str | Mapping = "median", k_neighbors: int = 5,
                 on_small_class: str = "adapt", random_state: int | None = 0):
        self.method = method
        self.target = target
        self.k_neighbors = k_neighbors
        self.on_small_class = on_small_class
        self.random_state = random_state

    # imblearn's Pipeline calls fit_resample(X, y) during fit only
    def fit_resample(self, X, y):
        """Resample ``X`` and ``y``.

        Parameters
        ----------
        X : array-like [shape=(n, ...)]
            Samples of any shape (feature vectors, images, clips).
        y : array-like [shape=(n,)]
            Labels.

        Returns
        -------
        X_res : np.ndarray [shape=(n_res, ...)]
        y_res : np.ndarray [shape=(n_res,)]
        """
        return self._fit_resample(X, y)[:2]

    def fit_resample_groups(self, X, y, groups):
        """:meth:`fit_resample`, also carrying each sample's group (subject) to the resampled rows.

        A synthetic sample takes the group of the original it was made from (the nearest original
        of its class), so subject-independent splits stay possible after balancing.

        Returns
        -------
        X_res : np.ndarray [shape=(n_res, ...)]
        y_res : np.ndarray [shape=(n_res,)]
        groups_res : np.ndarray [shape=(n_res,)]
        """
        return self._fit_resample(X, y, np.asarray(groups))

    def _fit_resample(self, X, y, groups=None):
        X = np.asarray(X)
        y = np.asarray(y)
        if self.method not in METHODS:
            raise DataError(f"unknown balancing method {self.method!r}; choose one of {', '.join(METHODS)}")
        if X.ndim < 2 or len(X) != len(y):
            raise DataError(f"X must be (n_samples, ...) with one label per sample (X {X.shape}, y {y.shape})")
        shape = X.shape[1:]
        flat = X.reshape(len(X), -1)
        if np.issubdtype(flat.dtype, np.number) and not np.isfinite(flat).all():
            raise DataError("the features contain NaN or infinite values; clean or impute them before balancing")
        labels, counts = np.unique(y, return_counts=True)
        if len(labels) < 2:
            raise DataError(f"balancing needs at least two classes; the training data has only {labels.tolist()}")
        self.counts_before_ = {_py(k): int(v) for k, v in zip(labels, counts)}
        over, under = self._targets(dict(zip(labels, counts)))
        k = self._choose_k(dict(zip(labels, counts)), over)
        self.k_used_ = k
        in_dtype = flat.dtype
        work = flat.astype(np.float32) if not np.issubdtype(in_dtype, np.floating) else flat
        Xr, yr = self._resample(work, y, over, under, k)
        if not np.issubdtype(in_dtype, np.floating):
            Xr = np.clip(np.rint(Xr), np.iinfo(in_dtype).min if np.issubdtype(in_dtype, np.integer) else Xr.min(),
                         np.iinfo(in_dtype).max if np.issubdtype(in_dtype, np.integer) else Xr.max()).astype(in_dtype)
        labels_after, counts_after = np.unique(yr, return_counts=True)
        self.counts_after_ = {_py(k): int(v) for k, v in zip(labels_after, counts_after)}
        out = Xr.reshape((len(Xr),) + shape)
        return out, yr, (None if groups is None else self._carry_groups(work, y, groups, Xr, yr))

    def _targets(self, counts: dict) -> tuple[dict, dict]:
        if isinstance(self.target, Mapping):
            unknown = set(self.target) - set(counts)
            if unknown:
                raise DataError(f"target names classes absent from the training data: {sorted(map(str, unknown))}")
            want = {c: int(self.target.get(c, n)) for c, n in counts.items()}
        elif self.target == "median":
            m = int(np.median(list(counts.values())))
            want = {c: m for c in counts}
        elif self.target == "max":
            m = max(counts.values())
            want = {c: m for c in counts}
        else:
            raise DataError(f"target must be 'median', 'max' or a dict of counts (got {self.target!r})")
        over = {c: want[c] for c, n in counts.items() if want[c] > n}
        under = {c: want[c] for c, n in counts.items() if want[c] < n}
        if self.method in ("smote", "smote-enn", "smote-tomek", "random-over"):
            under = {}
        if self.method == "random-under":
            over = {}
        return over, under

    def _choose_k(self, counts: dict, over: dict) -> int:
        if not over or self.method == "random-over" or self.method == "random-under":
            return self.k_neighbors
        smallest = min(counts[c] for c in over)
        if smallest > self.k_neighbors:
            return self.k_neighbors
        if self.on_small_class != "adapt":
            raise DataError(f"a class to over-sample has {smallest} sample(s), fewer than k_neighbors + 1 = {self.k_neighbors + 1}")
        k = max(1, smallest - 1)
        warnings.warn(f"SMOTE: smallest class has {smallest} sample(s); using k_neighbors={k} instead of {self.k_neighbors}", stacklevel=3)
        return k

    def _resample(self, X, y, over, under, k):
        from imblearn.combine import SMOTEENN, SMOTETomek
        from imblearn.over_sampling import SMOTE, RandomOverSampler
        from imblearn.under_sampling import RandomUnderSampler

        rs = self.random_state
        if over:
            counts = dict(zip(*np.unique(y, return_counts=True)))
            singles = [c for c in over if counts[c] < 2]
            if singles and self.method != "random-over":  # SMOTE cannot interpolate from one point
                X, y = RandomOverSampler(sampling_strategy={c: 2 for c in singles}, random_state=rs).fit_resample(X, y)
                over = {c: n for c, n in over.items() if n > 2 or c not in singles}
        if over:
            if self.method == "random-over":
                X, y = RandomOverSampler(sampling_strategy=over, random_state=rs).fit_resample(X, y)
            else:
                smote = SMOTE(sampling_strategy=over, k_neighbors=k, random_state=rs)
                if self.method == "smote-enn":
                    X, y = SMOTEENN(smote=smote, random_state=rs).fit_resample(X, y)
                elif self.method == "smote-tomek":
                    X, y = SMOTETomek(smote=smote, random_state=rs).fit_resample(X, y)
                else:
                    X, y = smote.fit_resample(X, y)
        if under:
            X, y = RandomUnderSampler(sampling_strategy=under, random_state=rs).fit_resample(X, y)
        return X, y

    def _carry_groups(self, X0, y0, g0, Xr, yr) -> np.ndarray:
        """Group of each resampled row: exact match to an original row, else nearest same-class original."""
        from sklearn.neighbors import NearestNeighbors

        out = np.empty(len(Xr), dtype=g0.dtype if g0.dtype != object else object)
        for c in np.unique(yr):
            idx0 = np.flatnonzero(y0 == c)
            idxr = np.flatnonzero(yr == c)
            nn = NearestNeighbors(n_neighbors=1).fit(X0[idx0])
            _, j = nn.kneighbors(Xr[idxr])
            out[idxr] = g0[idx0[j[:, 0]]]
        return out


def _py(v):
    return v.item() if hasattr(v, "item") else v


def class_counts(y_before, y_after) -> pd.DataFrame:
    """Tidy before/after counts: columns ``label, stage, count`` (stage ``before``/``after``)."""
    b = pd.Series(np.asarray(y_before)).value_counts().sort_index()
    a = pd.Series(np.asarray(y_after)).value_counts().sort_index()
    rows = [(str(k), "before", int(v)) for k, v in b.items()] + [(str(k), "after", int(v)) for k, v in a.items()]
    return pd.DataFrame(rows, columns=["label", "stage", "count"])


def class_counts_chart(table: pd.DataFrame):
    """Altair grouped bar chart of :func:`class_counts` (the source method's Figs. 8-9)."""
    import altair as alt

    return alt.Chart(table).mark_bar().encode(
        x=alt.X("label:N", title="emotion"),
        xOffset=alt.XOffset("stage:N", sort=["before", "after"]),
        y=alt.Y("count:Q", title="samples"),
        color=alt.Color("stage:N", sort=["before", "after"], title=""),
        tooltip=["label", "stage", "count"],
    ).properties(title="Class counts before and after balancing", width=360, height=220)
