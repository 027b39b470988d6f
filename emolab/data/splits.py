"""Splits that cannot leak a subject across their sides.

All helpers take a manifest (or arrays) and return index arrays; each split is checked with
:func:`check_no_leak` before it is returned. Asking for a subject-independent split of a
corpus without subject ids (``subject_known`` False, e.g. FER2013) raises
:class:`~emolab.errors.SplitError`: use the corpus's official split instead, or pass
``allow_unknown_subjects=True`` if you accept the risk knowingly.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
from ..errors import SplitError


def check_no_leak(train_idx: np.ndarray, test_idx: np.ndarray, groups: np.ndarray | pd.Series) -> None:
    """Raise :class:`SplitError` if any group has samples on both sides of a split.

    Parameters
    ----------
    train_idx, test_idx : np.ndarray [shape=(n_train,), (n_test,)]
        Positional indices.
    groups : array-like [shape=(n_samples,)]
        Group (subject) id of every sample.
    """
    g = np.asarray(groups)
    shared = set(g[np.asarray(train_idx)]) & set(g[np.asarray(test_idx)])
    if shared:
        example = sorted(map(str, shared))[:3]
        raise SplitError(f"{len(shared)} subject group(s) appear in both train and test, e.g. {', '.join(example)}")
    if len(set(np.asarray(train_idx)) & set(np.asarray(test_idx))):
        raise SplitError("the same sample is in both train and test")


def _groups(manifest: pd.DataFrame, group_col: str, allow_unknown_subjects: bool) -> np.ndarray:
    if manifest.empty:
        raise SplitError("cannot split an empty manifest")
    if group_col not in manifest.columns:
        raise SplitError(f"the manifest has no {group_col!r} column to split on")
    if not allow_unknown_subjects and "subject_known" in manifest.columns and not manifest["subject_known"].astype(bool).all():
        corpora = sorted(manifest.loc[~manifest["subject_known"].astype(bool), "corpus"].unique()) if "corpus" in manifest else []
        raise SplitError(
            f"{', '.join(corpora) or 'this corpus'} has no subject ids, so no split of it can be guaranteed "
            "subject-independent; use its official split (split_by_column) or allow_unknown_subjects=True"
        )
    groups = manifest[group_col].astype(str).to_numpy()
    if len(np.unique(groups)) < 2:
        raise SplitError("a subject-independent split needs at least two subject groups")
    return groups


def group_holdout(manifest: pd.DataFrame, test_size: float = 0.2, seed: int = 0, group_col: str = "group",
                  allow_unknown_subjects: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One subject-independent train/test split.

    Parameters
    ----------
    test_size : float in (0, 1)
        Approximate fraction of *groups* held out.

    Returns
    -------
    train_idx, test_idx : np.ndarray of int
    """
    groups = _groups(manifest, group_col, allow_unknown_subjects)
    from sklearn.model_selection import GroupShuffleSplit  # imported here: reading a lesson needs no splitter

    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(np.zeros(len(groups)), groups=groups))
    check_no_leak(train, test, groups)
    return train, test


def group_kfold(manifest: pd.DataFrame, n_splits: int = 5, seed: int = 0, group_col: str = "group",
                stratify: bool = True, allow_unknown_subjects: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Subject-independent k-fold (stratified on ``label`` when ``stratify``).

    Yields
    ------
    train_idx, test_idx : np.ndarray of int
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = _groups(manifest, group_col, allow_unknown_subjects)
    n_groups = len(np.unique(groups))
    if n_splits > n_groups:
        raise SplitError(f"{n_splits} folds need at least {n_splits} subject groups; the manifest has {n_groups}")
    if stratify:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        it = splitter.split(np.zeros(len(groups)), manifest["label"].astype(str), groups)
    else:
        it = GroupKFold(n_splits=n_splits).split(np.zeros(len(groups)), groups=groups)
    for train, test in it:
        check_no_leak(train, test, groups)
        yield train, test


def leave_one_subject_out(manifest: pd.DataFrame, group_col: str = "group",
                          allow_unknown_subjects: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-subject-out: one fold per group, that group alone in test."""
    from sklearn.model_selection import LeaveOneGroupOut

    groups = _groups(manifest, group_col, allow_unknown_subjects)
    for train, test in LeaveOneGroupOut().split(np.zeros(len(groups)), groups=groups):
        check_no_leak(train, test, groups)
        yield train, test


def split_by_column(manifest: pd.DataFrame, train: str | list[str] = "train", test: str | list[str] = "test",
                    column: str = "split", check_groups: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Indices of an explicit split, e.g. a corpus's official one or ``actor`` ranges.

    Parameters
    ----------
    train, test : str or list of str
        Values of ``column`` on each side.
    check_groups : bool
        Verify no group is on both sides (skipped automatically where subjects are unknown).
    """
    values = manifest[column].astype(str)
    tr = np.flatnonzero(values.isin([train] if isinstance(train, str) else train).to_numpy())
    te = np.flatnonzero(values.isin([test] if isinstance(test, str) else test).to_numpy())
    if len(tr) == 0 or len(te) == 0:
        raise SplitError(f"split on {column!r} has an empty side (train={train!r}: {len(tr)}, test={test!r}: {len(te)})")
    subjects_known = "subject_known" not in manifest.columns or manifest["subject_known"].astype(bool).all()
    if check_groups and subjects_known:
        check_no_leak(tr, te, manifest["group"].astype(str).to_numpy())
    return tr, te
