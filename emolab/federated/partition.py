"""Splitting a manifest into federated clients (one per school, classroom, dataset, speaker group).

* :func:`natural_partition`: one client per value of a column (``school``, ``corpus``, ``group``).
* :func:`dirichlet_partition`: a non-IID split — each client's class mix is drawn from a
  Dirichlet(``alpha``) distribution (small ``alpha``: very skewed clients); whole subject groups are
  assigned together, so a subject never sits on two clients.
* :func:`group_partition`: subject groups spread round-robin over ``n`` clients.

Every partition is checked: no empty client, and (``subject_wise``) no subject on two clients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, SplitError


def check_partition(manifest: pd.DataFrame, clients: list[np.ndarray], subject_wise: bool = True) -> list[np.ndarray]:
    """Raise on an empty client or (``subject_wise``) a subject group shared by two clients."""
    for i, idx in enumerate(clients):
        if len(idx) == 0:
            raise DataError(f"client {i} has no samples; use fewer clients or another partition")
    if subject_wise:
        seen: dict[str, int] = {}
        for i, idx in enumerate(clients):
            for g in set(manifest["group"].iloc[idx].astype(str)):
                if g in seen and seen[g] != i:
                    raise SplitError(f"subject group {g!r} is on clients {seen[g]} and {i}: the partition leaks a subject across clients")
                seen[g] = i
    return clients


def natural_partition(manifest: pd.DataFrame, column: str, subject_wise: bool = True) -> list[np.ndarray]:
    """One client per value of ``column`` (sorted)."""
    if column not in manifest.columns:
        raise DataError(f"the manifest has no column {column!r} to partition on")
    values = manifest[column].astype(str).to_numpy()
    clients = [np.flatnonzero(values == v) for v in sorted(set(values))]
    return check_partition(manifest, clients, subject_wise)


def group_partition(manifest: pd.DataFrame, n_clients: int, seed: int = 0) -> list[np.ndarray]:
    """Subject groups shuffled and dealt round-robin to ``n_clients`` clients."""
    groups = np.array(sorted(set(manifest["group"].astype(str))))
    if len(groups) < n_clients:
        raise DataError(f"{n_clients} clients need at least {n_clients} subject groups; the manifest has {len(groups)}")
    np.random.default_rng(seed).shuffle(groups)
    owner = {g: i % n_clients for i, g in enumerate(groups)}
    who = manifest["group"].astype(str).map(owner).to_numpy()
    return check_partition(manifest, [np.flatnonzero(who == i) for i in range(n_clients)])


def dirichlet_partition(manifest: pd.DataFrame, n_clients: int, alpha: float = 0.5, seed: int = 0) -> list[np.ndarray]:
    """Non-IID clients: subject groups assigned so that each client's label mix follows Dirichlet(alpha)."""
    if alpha <= 0:
        raise DataError("alpha must be positive")
    rng = np.random.default_rng(seed)
    labels = sorted(set(manifest["label"].astype(str)))
    mix = rng.dirichlet([alpha] * n_clients, size=len(labels))  # label -> share per client
    groups = manifest.groupby(manifest["group"].astype(str))["label"].agg(lambda s: s.astype(str).value_counts().index[0])
    if len(groups) < n_clients:
        raise DataError(f"{n_clients} clients need at least {n_clients} subject groups; the manifest has {len(groups)}")
    owner = {}
    order = rng.permutation(len(groups))
    for k, gi in enumerate(order):
        g, lab = groups.index[gi], groups.iloc[gi]
        owner[g] = k if k < n_clients else int(rng.choice(n_clients, p=mix[labels.index(lab)]))
    who = manifest["group"].astype(str).map(owner).to_numpy()
    return check_partition(manifest, [np.flatnonzero(who == i) for i in range(n_clients)])
