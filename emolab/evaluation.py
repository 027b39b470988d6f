"""Evaluation: the metrics the field reports, as tidy tables and Altair charts.

:func:`evaluate` returns an :class:`Evaluation` with

* ``metrics``: accuracy, balanced accuracy (UAR), macro and weighted precision/recall/F1,
  macro one-vs-rest ROC AUC (when probabilities are given), ``n``;
* ``per_class``: one row per class — support, accuracy (= recall, the source method's Table I),
  precision, F1, AUC;
* ``confusion``: tidy confusion matrix (``true, predicted, count, share`` of the true class);
* ``roc``: one-vs-rest ROC curves (``label, fpr, tpr``), the source method's Fig. 13.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .taxonomy import EMOTIONS


@dataclass
class Evaluation:
    metrics: dict
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    roc: pd.DataFrame
    scored: dict = field(default_factory=dict)
    """Which rows were scored and why (``split, n, of, reason``), when :func:`emolab.recipes.evaluate_recipe` made it."""
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per scored sample (:func:`emolab.recipes.evaluate.prediction_table`), when ``evaluate_recipe`` made it."""

    def confusion_chart(self):
        """Altair heat map of the confusion matrix (row-normalised)."""
        import altair as alt

        return alt.Chart(self.confusion).mark_rect().encode(
            x=alt.X("predicted:N", sort=list(self.per_class.label)), y=alt.Y("true:N", sort=list(self.per_class.label)),
            color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="share of true class"),
            tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".2f")],
        ).properties(title="Confusion matrix", width=260, height=260)

    def roc_chart(self):
        """Altair one-vs-rest ROC curves."""
        import altair as alt

        if self.roc.empty:
            raise ValueError("no probabilities were given, so there are no ROC curves")
        return alt.Chart(self.roc).mark_line().encode(
            x=alt.X("fpr:Q", title="false positive rate"), y=alt.Y("tpr:Q", title="true positive rate"),
            color="label:N", tooltip=["label"],
        ).properties(title="One-vs-rest ROC", width=280, height=260)

    def per_class_chart(self):
        import altair as alt

        return alt.Chart(self.per_class).mark_bar().encode(
            x=alt.X("label:N", title="emotion"), y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
            tooltip=["label", "support", alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("f1:Q", format=".3f")],
        ).properties(title="Per-class accuracy", width=300, height=200)


def balanced_accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """Mean recall over the classes present in ``y_true`` (UAR), as scikit-learn computes it, without its warning
    when ``y_pred`` holds a class ``y_true`` lacks (expected: a model's seven answers on a split without one class)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(skm.balanced_accuracy_score(y_true, y_pred))


def evaluate(y_true: Sequence, y_pred: Sequence | None = None, proba: np.ndarray | None = None,
             labels: Sequence[str] = EMOTIONS) -> Evaluation:
    """Score predictions.

    Parameters
    ----------
    y_true : sequence of str [shape=(n,)]
    y_pred : sequence of str [shape=(n,)], optional
        Derived from ``proba`` when omitted.
    proba : np.ndarray [shape=(n, len(labels))], optional
        Class probabilities in ``labels`` order.
    labels : sequence of str
    """
    labels = list(labels)
    y_true = np.asarray(y_true).astype(str)
    if y_pred is None:
        if proba is None:
            raise ValueError("give y_pred or proba")
        y_pred = np.asarray(labels)[np.asarray(proba).argmax(1)]
    y_pred = np.asarray(y_pred).astype(str)
    present = [l for l in labels if l in set(y_true) | set(y_pred)]
    m = {
        "n": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
    }
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, labels=present, average=avg, zero_division=0)
        m.update({f"{avg}_precision": float(p), f"{avg}_recall": float(r), f"{avg}_f1": float(f)})
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0)
    per = pd.DataFrame({"label": labels, "support": s.astype(int), "accuracy": r, "precision": p, "f1": f})
    cm = skm.confusion_matrix(y_true, y_pred, labels=labels)
    conf = pd.DataFrame([(labels[i], labels[j], int(cm[i, j])) for i in range(len(labels)) for j in range(len(labels))],
                        columns=["true", "predicted", "count"])
    totals = conf.groupby("true")["count"].transform("sum")
    conf["share"] = np.where(totals > 0, conf["count"] / totals.clip(lower=1), 0.0)
    roc_rows = []
    per["auc"] = np.nan
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        aucs = []
        for k, lab in enumerate(labels):
            pos = y_true == lab
            if pos.any() and (~pos).any():
                fpr, tpr, _ = skm.roc_curve(pos, proba[:, k])
                auc = skm.auc(fpr, tpr)
                aucs.append(auc)
                per.loc[per.label == lab, "auc"] = auc
                roc_rows += [(lab, a, b) for a, b in zip(fpr, tpr)]
        m["macro_auc"] = float(np.mean(aucs)) if aucs else float("nan")
    return Evaluation(m, per, conf, pd.DataFrame(roc_rows, columns=["label", "fpr", "tpr"]))
