"""Which rows a recipe trains on, selects models on, scores, or gives to each federated client.

Default splits are subject-independent where the corpus has subjects (RAVDESS actors 1-14 / 15-18,
MELD and GoEmotions official train/dev, FER2013 train/validation, synthetic identities held out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, EmolabError
from ..registry import SYNTHETIC_DATASETS


def default_split(manifest: pd.DataFrame, dataset: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The standard training / model-selection split of a corpus (subject-independent where possible)."""
    from ..data import group_holdout, split_by_column

    ds = dataset.lower()
    if ds in ("ravdess", "ravdess_speech"):
        actor = manifest["actor"].astype(int)
        tr, va = np.flatnonzero(actor <= 14), np.flatnonzero(actor >= 15)
        if len(tr) and len(va):
            return tr, va
    splits = set(manifest["split"].astype(str))
    for a, b in (("train", "validation"), ("train", "dev"), ("train", "test")):
        if {a, b} <= splits:
            return split_by_column(manifest, a, b)
    return group_holdout(manifest, test_size=0.25, seed=seed, allow_unknown_subjects=not manifest["subject_known"].all())


def rows_to_score(manifest: pd.DataFrame, dataset: str, split: str | None, trained_on: str | None,
                  refit: str | None = None, train_groups: list[str] | None = None) -> tuple[np.ndarray, dict]:
    """The manifest rows :func:`~emolab.recipes.evaluate_recipe` scores, and ``{"split", "reason"}`` saying why those.

    ``refit``: the model file's note when it was refit on its selection split after selection
    (``metrics["refit"]``); its ``val`` and ``all`` rows of its own corpus are then said to include training data.
    ``train_groups``: the subject groups the model was trained or selected on (``metrics["train_groups"]``); on its
    own corpus the default, and ``split="unseen"``, score the rows of the other subjects (RAVDESS actors 19-24 for a
    model trained on 01-18), when there are any.
    """
    from ..data import ALIASES

    corpus = lambda name: ALIASES.get(str(name).lower(), str(name).lower())
    own = trained_on is not None and (corpus(trained_on) == corpus(dataset) or {dataset, trained_on} <= set(SYNTHETIC_DATASETS))
    if split == "unseen" or (split is None and own and train_groups):
        unseen = np.flatnonzero(~manifest["group"].astype(str).isin(set(train_groups or ()))) if own and train_groups else np.array([], int)
        if len(unseen):
            k = manifest["group"].iloc[unseen].nunique()
            why = "asked for (split 'unseen')" if split == "unseen" else f"the model was trained on {trained_on}"
            return unseen, {"split": "unseen", "reason": f"{why}: the rows of the {k} subjects it was neither trained nor selected "
                                                         f"on (its file names the {len(train_groups)} it was)"}
        if split == "unseen":
            raise DataError("split 'unseen': every subject of this corpus was used to train or select the model"
                            if own and train_groups else "split 'unseen' needs a model trained on this corpus whose file names its subjects")
    if split is None:
        if trained_on is None:
            split, why = "val", "the model's file does not record its training corpus, so its model-selection split"
        elif own:
            split, why = "val", f"the model was trained on {trained_on}: its model-selection split" + ("" if refit else ", held out from training")
        else:
            split, why = "all", f"the model was trained on {trained_on}, not on {dataset}: every labelled row"
    else:
        why = f"asked for (split {split!r})"
    if refit and own and split in ("val", "actors15-18", "all"):
        why += f"; not a held-out figure, these rows include its training data: {refit}"
    if split == "all":
        return np.arange(len(manifest)), {"split": "all", "reason": why}
    if split in ("val", "actors15-18"):
        return default_split(manifest, dataset)[1], {"split": "val", "reason": why}
    rows = np.flatnonzero(manifest["split"].astype(str).to_numpy() == split)
    if not len(rows):
        known = sorted(set(manifest["split"].astype(str)) - {""}) + ["all", "val", "unseen"]
        raise DataError(f"split {split!r} not found; available: {', '.join(known)}")
    return rows, {"split": split, "reason": why}


def client_partition(manifest: pd.DataFrame, spec: str, n_clients: int, seed: int) -> list[np.ndarray]:
    """``groups`` (subject groups dealt round-robin), ``dirichlet:ALPHA`` (non-IID), or ``column:NAME``."""
    from ..federated import dirichlet_partition, group_partition, natural_partition

    if spec == "groups":
        return group_partition(manifest, n_clients, seed)
    if spec.startswith("dirichlet"):
        alpha = float(spec.split(":", 1)[1]) if ":" in spec else 0.5
        return dirichlet_partition(manifest, n_clients, alpha, seed)
    if spec.startswith("column:"):
        return natural_partition(manifest, spec.split(":", 1)[1])
    raise EmolabError(f"unknown partition {spec!r}; use groups, dirichlet:ALPHA or column:NAME")
