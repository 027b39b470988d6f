"""The federated recipes: simulate clients on one machine (``emolab federate``), or write each
client's data file for a real deployment (``emolab federate-split``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..taxonomy import label_to_index
from .inputs import model_config_for, prepare, read_labelled
from .splits import client_partition


def federate_recipe(kind: str, dataset: str, path: str | os.PathLike, out: str | os.PathLike | None = None, *, n_clients: int = 3,
                    rounds: int = 2, partition: str = "groups", centralized: bool = False, progress: bool = False, **settings: Any):
    """Federated training of ``kind`` on a corpus split into clients; writes ``history.csv``,
    ``model.safetensors`` and ``federated.json`` to ``out`` when given.

    Parameters
    ----------
    kind, dataset, path : str, str, path
        Model kind, corpus name and the folder it was unpacked in.
    out : path, optional
        Output folder (default: write nothing).
    n_clients, rounds : int
    partition : str
        ``groups`` (subject groups dealt round-robin), ``dirichlet:ALPHA`` (non-IID) or ``column:NAME``.
    centralized : bool
        Also train centrally on the same data, for comparison.
    **settings
        Fields of :class:`~emolab.federated.FederatedConfig` (``local_epochs``, ``strategy``, ``seed``,
        ``dp_noise``, ...) and ``model_config`` (model settings).

    Returns
    -------
    FederatedResult
    """
    from ..atomic import write_csv, write_text
    from ..federated import FederatedConfig, federate
    from ..models import save_model

    m = read_labelled(dataset, path, kind)
    clients = client_partition(m, partition, n_clients, settings.get("seed", 0))
    overrides = settings.pop("model_config", None)
    encoder = str((overrides or {}).get("encoder", "lstm")) if kind == "text" else "lstm"  # MiniLM: its WordPiece ids
    # a vocabulary is agreed from the first client's texts (the MiniLM encoder's is fixed)
    data, prep = prepare(kind, dataset, path, m, clients[0], progress, encoder=encoder)
    cfg = FederatedConfig(kind=kind, rounds=rounds, model_config=model_config_for(kind, dataset, path, prep, data["X"], overrides), **settings)
    res = federate(data["X"], label_to_index(m["label"]), m["group"].astype(str).to_numpy(), clients, cfg, centralized=centralized)
    if out is not None:
        out = Path(out)
        write_csv(out / "history.csv", res.history)
        save_model(out / "model.safetensors", res.model, preprocessing=prep, metrics={"federated": cfg.to_dict()})
        final = res.history[(res.history.client == "global") & (res.history.phase == "test")].iloc[-1]
        summary = {"config": cfg.to_dict(), "clients": [int(len(c)) for c in clients], "partition": partition,
                   "final_global_accuracy": float(final["accuracy"]), "final_global_balanced_accuracy": float(final["balanced_accuracy"]),
                   "centralized": res.centralized, "seconds": res.seconds,
                   "differential_privacy": {"noise_multiplier": cfg.dp_noise, "clipping_norm": cfg.dp_clip} if cfg.dp_noise > 0 else None}
        write_text(out / "federated.json", json.dumps(summary, indent=2) + "\n")
    return res


def split_clients_recipe(kind: str, dataset: str, path: str | os.PathLike, out: str | os.PathLike, *, n_clients: int = 3,
                         partition: str = "groups", seed: int = 0) -> list[Path]:
    """Write each client's prepared data to ``out/client{i}.npz`` (for a deployment demo on one machine;
    in a real consortium each institution prepares its own file from its own recordings), and the
    model settings to ``out/model_config.json``. Returns the client files."""
    from ..atomic import write_text
    from ..federated import save_client_data
    from ..training import take_rows

    m = read_labelled(dataset, path, kind)
    clients = client_partition(m, partition, n_clients, seed)
    data, prep = prepare(kind, dataset, path, m, clients[0], progress=False)
    X = data["X"]
    y, g = label_to_index(m["label"]), m["group"].astype(str).to_numpy()
    out = Path(out)
    files = [save_client_data(out / f"client{i}.npz", take_rows(X, idx), y[idx], g[idx]) for i, idx in enumerate(clients)]
    write_text(out / "model_config.json", json.dumps(model_config_for(kind, dataset, path, prep, X)) + "\n")
    return files
