"""The leakage lab: how much SMOTE-before-split and subject leakage inflate reported accuracy.

:func:`leakage_audit` trains the same model three ways on the same data, with 5-fold
cross-validation each:

(a) ``smote-then-split``: SMOTE on *all* data, then a random split — synthetic test samples are
    interpolated from training samples (and vice versa), so the model has seen them;
(b) ``random-split``: a random stratified split, SMOTE inside the training fold only — but the same
    subjects (actors, speakers) appear on both sides;
(c) ``subject-independent``: subjects never on both sides, SMOTE inside the training fold only —
    the honest protocol, the only one that estimates performance on new people.

The inflation is the difference to (c). See ``docs/leakage.md`` for figures on real RAVDESS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .balancing import Balancer
from .errors import DataError
from .evaluation import balanced_accuracy

PROTOCOLS = {
    "smote-then-split": "SMOTE on all data, then a random split (leaks synthetic neighbours into test)",
    "random-split": "random split with subjects on both sides, SMOTE in the training fold",
    "subject-independent": "subjects never on both sides, SMOTE in the training fold (honest)",
}


def make_baseline(model: str, kind: str, seed: int = 0):
    """An unfitted scikit-learn pipeline for a baseline ``model`` on features of ``kind``."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    if kind == "text":
        head = {"svm": LinearSVC(C=0.5, random_state=seed), "logreg": LogisticRegression(max_iter=2000),
                "forest": RandomForestClassifier(300, random_state=seed, n_jobs=-1)}[model]
        return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), head)
    head = {"svm": SVC(C=10.0, gamma="scale", random_state=seed), "logreg": LogisticRegression(max_iter=3000),
            "forest": RandomForestClassifier(300, random_state=seed, n_jobs=-1)}[model]
    return make_pipeline(StandardScaler(), head)


def _scores(y_true, y_pred) -> dict[str, float]:
    return {"accuracy": accuracy_score(y_true, y_pred), "balanced_accuracy": balanced_accuracy(y_true, y_pred),
            "macro_f1": f1_score(y_true, y_pred, average="macro")}


def leakage_audit_arrays(X, y, groups, model: str = "svm", kind: str = "audio", seed: int = 0, n_splits: int = 5,
                         balancer: Balancer | None = None) -> pd.DataFrame:
    """The three protocols on given features (``X`` numeric [n, d], or strings for ``kind="text"``).

    Returns
    -------
    pandas.DataFrame
        One row per protocol: ``protocol, description, accuracy, balanced_accuracy, macro_f1``
        (means over folds), their ``*_std``, ``inflation_accuracy`` (vs subject-independent),
        ``n_samples, n_groups, n_splits``.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    if len(np.unique(groups)) < n_splits:
        raise DataError(f"the leakage audit needs at least {n_splits} subject groups; found {len(np.unique(groups))}")
    balancer = balancer or Balancer(method="smote", target="max", random_state=seed)
    text = kind == "text"
    rows = []

    def fit_eval(Xtr, ytr, Xte, yte, resample: bool):
        if resample:
            if text:  # SMOTE on TF-IDF vectors inside the fold
                from sklearn.feature_extraction.text import TfidfVectorizer
                from sklearn.svm import LinearSVC

                vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(Xtr)
                A, yb = balancer.fit_resample(vec.transform(Xtr).toarray().astype(np.float32), ytr)
                clf = LinearSVC(C=0.5, random_state=seed).fit(A, yb)
                return _scores(yte, clf.predict(vec.transform(Xte).toarray()))
            Xtr, ytr = balancer.fit_resample(Xtr, ytr)
        clf = make_baseline(model, kind, seed).fit(Xtr, ytr)
        return _scores(yte, clf.predict(Xte))

    # (a) SMOTE on everything first
    if text:
        from sklearn.feature_extraction.text import TfidfVectorizer

        Xa = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(X).toarray().astype(np.float32)
        Xa, ya = balancer.fit_resample(Xa, y)
        kind_a = "dense"
    else:
        Xa, ya = balancer.fit_resample(X, y)
        kind_a = kind
    folds = []
    for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(Xa, ya):
        clf = make_baseline(model, "audio" if kind_a == "dense" else kind_a, seed).fit(Xa[tr], ya[tr])
        folds.append(_scores(ya[te], clf.predict(Xa[te])))
    rows.append(("smote-then-split", folds))
    # (b) random split, SMOTE in fold
    folds = [fit_eval(X[tr], y[tr], X[te], y[te], True) for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y)]
    rows.append(("random-split", folds))
    # (c) subject-independent, SMOTE in fold
    sgkf = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
    folds = []
    for tr, te in sgkf.split(X, y, groups):
        assert not set(groups[tr]) & set(groups[te])
        folds.append(fit_eval(X[tr], y[tr], X[te], y[te], True))
    rows.append(("subject-independent", folds))

    out = []
    for name, folds in rows:
        f = pd.DataFrame(folds)
        rec = {"protocol": name, "description": PROTOCOLS[name]}
        for col in ("accuracy", "balanced_accuracy", "macro_f1"):
            rec[col] = float(f[col].mean())
            rec[col + "_std"] = float(f[col].std(ddof=0))
        out.append(rec)
    table = pd.DataFrame(out)
    honest = table.loc[table.protocol == "subject-independent", "accuracy"].iloc[0]
    table["inflation_accuracy"] = table["accuracy"] - honest
    table["n_samples"], table["n_groups"], table["n_splits"] = len(y), len(np.unique(groups)), n_splits
    return table


def leakage_audit(dataset: str, path: str | Path, model: str = "svm", seed: int = 0, max_samples: int | None = None,
                  n_splits: int = 5, progress: bool = True, manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run the leakage lab on a corpus read from ``path`` (or on a given ``manifest``).

    The corpus must have subject ids (``subject_known``); FER2013 and GoEmotions do not, and are
    refused with a clear error. ``max_samples`` takes a stratified subsample for a quick run.
    """
    from .data import read_corpus
    from .preprocessing.baseline_features import baseline_features, feature_kind

    m = manifest if manifest is not None else read_corpus(dataset, path)
    m = m[m["label"].astype(str) != ""]
    if not m["subject_known"].astype(bool).all():
        raise DataError(f"{dataset} has no subject ids, so no subject-independent protocol exists for it; "
                        "the leakage audit needs a corpus with speakers/subjects (RAVDESS, CREMA-D, TESS, Emo-DB, eNTERFACE, CK+, MELD)")
    if max_samples and len(m) > max_samples:
        from sklearn.model_selection import train_test_split

        m, _ = train_test_split(m, train_size=max_samples, stratify=m["label"], random_state=seed)
    m = m.reset_index(drop=True)
    kind = feature_kind(m)
    X = baseline_features(m, kind, progress=progress)
    table = leakage_audit_arrays(X, m["label"].to_numpy(), m["group"].to_numpy(), model=model, kind=kind, seed=seed, n_splits=n_splits)
    table.insert(0, "dataset", dataset)
    table.insert(1, "model", model)
    return table


def format_leakage(table: pd.DataFrame) -> str:
    """Plain-text table of :func:`leakage_audit` for the terminal."""
    lines = [f"{'protocol':<21} {'accuracy':>14} {'balanced acc':>14} {'macro-F1':>14} {'inflation':>10}"]
    for r in table.itertuples():
        lines.append(f"{r.protocol:<21} {r.accuracy:>8.3f}±{r.accuracy_std:.3f} {r.balanced_accuracy:>8.3f}±{r.balanced_accuracy_std:.3f}"
                     f" {r.macro_f1:>8.3f}±{r.macro_f1_std:.3f} {r.inflation_accuracy:>+10.3f}")
    r0 = table.iloc[0]
    lines.append(f"{int(r0.n_samples)} samples, {int(r0.n_groups)} subjects, {int(r0.n_splits)}-fold CV; "
                 "inflation = accuracy minus the subject-independent accuracy")
    return "\n".join(lines)
