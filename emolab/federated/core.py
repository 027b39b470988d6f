"""Federated training of emolab models on Flower.

Each client holds its own data (a file only it reads), splits it by subject into local training
and test parts, balances its *training* part with SMOTE if asked, trains the shared model for a
few local epochs and sends back **only the model parameters and scalar metrics** — never
samples, features or labels. The server aggregates with FedAvg or FedProx (Flower's strategies),
optionally behind Flower's server-side differential-privacy wrapper (clipping + Gaussian noise).

:func:`federate` runs a local simulation (Flower's simulation engine on Ray) and returns a tidy
history (per client and global, per round), the global model, and optionally the same model
trained centrally on the same data for comparison. :func:`run_server` / :func:`run_client` run
the same code as separate processes across institutions (see ``docs/federated.md``).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import DataError, EmolabError


@dataclass
class FederatedConfig(Config):
    kind: str = "fused"
    rounds: int = 2
    local_epochs: int = 1
    strategy: str = "fedavg"  # "fedavg" or "fedprox"
    proximal_mu: float = 0.01
    fraction_fit: float = 1.0
    batch_size: int = 16
    lr: float = 1e-3
    balance: Optional[str] = None  # SMOTE method applied locally (single-array inputs only)
    dp_noise: float = 0.0  # noise multiplier; > 0 turns differential privacy on
    dp_clip: float = 1.0  # clipping norm of each client's update
    test_share: float = 0.25  # part of each client's subject groups kept for its local test
    seed: int = 0
    model_config: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- client side
def _split_local(groups: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    uniq = np.array(sorted(set(groups)))
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    if len(uniq) >= 2:
        n_test = max(1, int(round(share * len(uniq))))
        test_groups = set(uniq[:n_test])
        te = np.flatnonzero(np.isin(groups, list(test_groups)))
        tr = np.flatnonzero(~np.isin(groups, list(test_groups)))
    else:  # a single subject: a random split is the best a lone client can do
        idx = rng.permutation(len(groups))
        cut = max(1, int(round(share * len(groups))))
        te, tr = np.sort(idx[:cut]), np.sort(idx[cut:])
    if len(tr) == 0:
        raise DataError("a client has too few samples to keep a local test part")
    return tr, te


def save_client_data(path: str | os.PathLike, X: Any, y: np.ndarray, groups: np.ndarray) -> Path:
    """Write one client's data (inputs, labels, subject groups) to a ``.npz`` only it will read."""
    arrays = {f"x_{k}": v for k, v in X.items()} if isinstance(X, dict) else {"x": X}
    from ..atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, y=np.asarray(y), groups=np.asarray(groups).astype(str), **arrays)
    return Path(path)


def load_client_data(path: str | os.PathLike) -> tuple[Any, np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        if "x" in f:
            X = f["x"]
        else:
            X = {k[2:]: f[k] for k in f.files if k.startswith("x_")}
        return X, f["y"], f["groups"]


def make_client(cid: int, data_file: str | os.PathLike, cfg: FederatedConfig):
    """A Flower NumPyClient training emolab's ``cfg.kind`` model on one client's local data."""
    import torch
    from flwr.client import NumPyClient

    from ..balancing import Balancer
    from ..models import build_model
    from ..training import TrainConfig, Trainer, make_dataset, take_rows

    X, y, groups = load_client_data(data_file)
    if len(y) == 0:
        raise DataError(f"client {cid} has no samples")
    tr, te = _split_local(groups, cfg.test_share, cfg.seed + cid)
    Xtr, ytr = take_rows(X, tr), y[tr]
    if cfg.balance and len(set(ytr)) > 1:
        if isinstance(Xtr, dict):
            raise EmolabError("local SMOTE needs single-array inputs; use class weights for the fused model")
        Xtr, ytr = Balancer(method=cfg.balance, target="max", random_state=cfg.seed).fit_resample(Xtr, ytr)
    train_ds, test_ds = make_dataset(Xtr, ytr), make_dataset(take_rows(X, te), y[te])
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.kind, **cfg.model_config)
    keys = list(model.state_dict().keys())

    def set_params(params: list[np.ndarray]) -> None:
        state = model.state_dict()
        model.load_state_dict({k: torch.as_tensor(p, dtype=state[k].dtype) for k, p in zip(keys, params)})

    class EmolabClient(NumPyClient):
        def get_parameters(self, config):
            return [v.detach().cpu().numpy() for v in model.state_dict().values()]

        def fit(self, parameters, config):
            set_params(parameters)
            mu = float(config.get("proximal_mu", 0.0))
            anchor = [p.detach().clone() for p in model.parameters()] if mu > 0 else None

            def proximal(m):  # FedProx: mu/2 * ||w - w_global||^2
                return 0.5 * mu * sum(((p - a) ** 2).sum() for p, a in zip(m.parameters(), anchor))

            penalty = proximal if mu > 0 else None

            trainer = Trainer(model, TrainConfig(epochs=cfg.local_epochs, batch_size=cfg.batch_size, lr=cfg.lr, patience=0,
                                                 seed=cfg.seed + cid, scheduler="none"), progress=False, penalty=penalty)
            hist = trainer.fit(train_ds)
            last = hist.iloc[-1]
            return self.get_parameters({}), len(train_ds), {"client": cid, "loss": float(last.train_loss),
                                                             "accuracy": float(last.train_accuracy)}

        def evaluate(self, parameters, config):
            from ..evaluation import balanced_accuracy

            set_params(parameters)
            if len(test_ds) == 0:
                return 0.0, 0, {"client": cid}
            proba, yy = Trainer(model, TrainConfig(), progress=False).predict_proba(test_ds, return_labels=True)
            loss = float(-np.log(np.clip(proba[np.arange(len(yy)), yy], 1e-8, None)).mean())
            pred = proba.argmax(1)
            return loss, len(yy), {"client": cid, "accuracy": float((pred == yy).mean()),
                                   "balanced_accuracy": balanced_accuracy(yy, pred)}

    return EmolabClient()


# ----------------------------------------------------------------------------- server side
class _Recorder:
    """Collects per-client metrics and the global parameters round by round (server process); with a
    ``checkpoint_dir`` it writes them atomically after every round so that an interrupted run resumes."""

    def __init__(self, checkpoint_dir: Optional[Path] = None, start_round: int = 0, rows: Optional[list] = None):
        self.rows: list[dict] = list(rows or [])
        self.parameters: Optional[list[np.ndarray]] = None
        self.checkpoint_dir = checkpoint_dir
        self.offset = start_round
        self._fit_round = start_round
        self._eval_round = start_round

    def fit_metrics(self, results):
        self._fit_round += 1
        for n, m in results:
            self.rows.append({"round": self._fit_round, "client": int(m.get("client", -1)), "phase": "train", "n": n,
                              "loss": m.get("loss"), "accuracy": m.get("accuracy")})
        return _weighted(results)

    def eval_metrics(self, results):
        self._eval_round += 1
        for n, m in results:
            self.rows.append({"round": self._eval_round, "client": int(m.get("client", -1)), "phase": "test", "n": n,
                              "accuracy": m.get("accuracy"), "balanced_accuracy": m.get("balanced_accuracy")})
        self._checkpoint()
        return _weighted(results)

    def keep(self, server_round, parameters, config):
        self.parameters = [np.array(p) for p in parameters]
        return None

    def _checkpoint(self) -> None:
        """After a round's federated evaluation: the global model and the complete history so far."""
        if self.checkpoint_dir is None or self.parameters is None:
            return
        from ..atomic import atomic_path, write_text

        with atomic_path(self.checkpoint_dir / "global.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, *self.parameters)
        write_text(self.checkpoint_dir / "state.json", json.dumps({"round": self._eval_round, "rows": self.rows}, default=float))


def _weighted(results) -> dict:
    total = sum(n for n, _ in results) or 1
    keys = {k for _, m in results for k, v in m.items() if isinstance(v, (int, float)) and k != "client"}
    return {k: float(sum(n * m.get(k, 0.0) for n, m in results) / total) for k in keys}


def make_strategy(cfg: FederatedConfig, n_clients: int, recorder: _Recorder, initial: list[np.ndarray]):
    """FedAvg or FedProx (Flower), wrapped in server-side DP clipping + noise when ``dp_noise > 0``."""
    from flwr.common import ndarrays_to_parameters
    from flwr.server.strategy import DifferentialPrivacyServerSideFixedClipping, FedAvg, FedProx

    n_fit = max(1, int(round(cfg.fraction_fit * n_clients)))
    common = dict(fraction_fit=cfg.fraction_fit, fraction_evaluate=1.0, min_fit_clients=n_fit, min_evaluate_clients=n_clients,
                  min_available_clients=n_clients, initial_parameters=ndarrays_to_parameters(initial),
                  fit_metrics_aggregation_fn=recorder.fit_metrics, evaluate_metrics_aggregation_fn=recorder.eval_metrics,
                  evaluate_fn=recorder.keep)
    if cfg.strategy == "fedprox":
        strategy = FedProx(proximal_mu=cfg.proximal_mu, **common)
    elif cfg.strategy == "fedavg":
        strategy = FedAvg(**common)
    else:
        raise EmolabError(f"strategy must be fedavg or fedprox (got {cfg.strategy!r})")
    if cfg.dp_noise > 0:
        strategy = DifferentialPrivacyServerSideFixedClipping(strategy, noise_multiplier=cfg.dp_noise, clipping_norm=cfg.dp_clip,
                                                              num_sampled_clients=n_fit)
    return strategy


@dataclass
class FederatedResult:
    history: pd.DataFrame  # round, client ("global" rows too), phase, n, loss, accuracy, balanced_accuracy
    model: Any
    config: FederatedConfig
    centralized: Optional[dict]
    seconds: float

    def chart(self):
        """Per-client and global test accuracy per round (the source method's Figs. 10-11)."""
        import altair as alt

        h = self.history[self.history.phase == "test"].copy()
        h["who"] = np.where(h["client"] == "global", "global", "client " + h["client"].astype(str))
        return alt.Chart(h).mark_line(point=True).encode(
            x=alt.X("round:O"), y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])), color="who:N",
            strokeDash=alt.condition("datum.who == 'global'", alt.value([1, 0]), alt.value([4, 3])),
            tooltip=["who", "round", alt.Tooltip("accuracy:Q", format=".3f")],
        ).properties(width=380, height=220, title="Federated test accuracy per round")


def federate(X: Any, y: np.ndarray, groups: np.ndarray, clients: list[np.ndarray], config: FederatedConfig | None = None,
             centralized: bool = False, workdir: str | os.PathLike | None = None, progress: bool = False,
             checkpoint_dir: str | os.PathLike | None = None) -> FederatedResult:
    """Run a local Flower simulation of federated training.

    Parameters
    ----------
    X : array [n, ...] or dict of arrays
        Model inputs (see :func:`emolab.recipes.prepare`), row-aligned with ``y`` and ``groups``.
    y : np.ndarray [n] class indices; groups : np.ndarray [n] subject ids
    clients : list of index arrays
        The partition (see :mod:`emolab.federated.partition`).
    config : FederatedConfig
    centralized : bool
        Also train the same model centrally on the union of the clients' training parts and test
        it on the union of their test parts (a baseline; it pools data, so it is not federated).
    checkpoint_dir : path, optional
        Save the global model and history after every round; a later call with the same folder
        resumes after the last completed round.
    """
    import flwr
    import torch
    from flwr.client import ClientApp
    from flwr.server import ServerApp, ServerAppComponents, ServerConfig
    from flwr.simulation import run_simulation

    from ..models import build_model

    cfg = config or FederatedConfig()
    t0 = time.perf_counter()
    from ..training import take_rows

    work = Path(workdir or tempfile.mkdtemp(prefix="emolab-fl-"))
    files = [save_client_data(work / f"client{i}.npz", take_rows(X, idx), y[idx], groups[idx]) for i, idx in enumerate(clients)]
    torch.manual_seed(cfg.seed)
    initial = [v.detach().cpu().numpy() for v in build_model(cfg.kind, **cfg.model_config).state_dict().values()]
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    done, rows = 0, []
    if ckpt is not None and (ckpt / "state.json").is_file() and (ckpt / "global.npz").is_file():
        state = json.loads((ckpt / "state.json").read_text())
        done, rows = int(state["round"]), state["rows"]
        with np.load(ckpt / "global.npz") as f:
            initial = [f[f"arr_{i}"] for i in range(len(f.files))]
    recorder = _Recorder(ckpt, done, rows)
    remaining = cfg.rounds - done
    cfg_dict = cfg.to_dict()

    def client_fn(context):
        cid = int(context.node_config["partition-id"])
        return make_client(cid, files[cid], FederatedConfig.from_dict(cfg_dict)).to_client()

    def server_fn(context):
        return ServerAppComponents(strategy=make_strategy(cfg, len(clients), recorder, initial), config=ServerConfig(num_rounds=remaining))

    backend = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}, "init_args": {"include_dashboard": False, "log_to_driver": False}}
    if remaining > 0:
        run_simulation(ServerApp(server_fn=server_fn), ClientApp(client_fn=client_fn), num_supernodes=len(clients),
                       backend_config=backend, verbose_logging=False)
    elif recorder.parameters is None:
        recorder.parameters = initial
    hist = pd.DataFrame(recorder.rows)
    if hist.empty:
        raise EmolabError("the federated run produced no results (all clients failed); see the log above")
    rows = []
    for (rnd, phase), g in hist.groupby(["round", "phase"]):
        w = g["n"].clip(lower=1).astype(float)
        rec = {"round": rnd, "phase": phase, "n": int(g["n"].sum()), "client": "global"}
        for c in ("loss", "accuracy", "balanced_accuracy"):
            if c in g and g[c].notna().any():
                ok = g[c].notna()
                rec[c] = float(np.average(g.loc[ok, c].astype(float), weights=w[ok]))
        rows.append(rec)
    glob = pd.DataFrame(rows)
    history = pd.concat([hist.astype({"client": object}), glob], ignore_index=True)[
        ["round", "client", "phase", "n", "loss", "accuracy", "balanced_accuracy"]]
    model = build_model(cfg.kind, **cfg.model_config)
    if recorder.parameters is not None:
        state = model.state_dict()
        model.load_state_dict({k: torch.as_tensor(p, dtype=state[k].dtype) for k, p in zip(state.keys(), recorder.parameters)})
    central = _centralized(X, y, groups, clients, cfg) if centralized else None
    history.attrs["flwr_version"] = flwr.__version__
    return FederatedResult(history, model, cfg, central, time.perf_counter() - t0)


def _centralized(X, y, groups, clients, cfg: FederatedConfig) -> dict:
    import torch
    from ..evaluation import balanced_accuracy

    from ..models import build_model
    from ..training import TrainConfig, Trainer, make_dataset, take_rows

    trs, tes = [], []
    for i, idx in enumerate(clients):
        tr, te = _split_local(groups[idx].astype(str), cfg.test_share, cfg.seed + i)
        trs.append(idx[tr])
        tes.append(idx[te])
    tr, te = np.concatenate(trs), np.concatenate(tes)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.kind, **cfg.model_config)
    trainer = Trainer(model, TrainConfig(epochs=cfg.rounds * cfg.local_epochs, batch_size=cfg.batch_size, lr=cfg.lr, patience=0,
                                         scheduler="none", seed=cfg.seed), progress=False)
    trainer.fit(make_dataset(take_rows(X, tr), y[tr]))
    proba, yy = trainer.predict_proba(make_dataset(take_rows(X, te), y[te]), return_labels=True)
    pred = proba.argmax(1)
    return {"accuracy": float((pred == yy).mean()), "balanced_accuracy": balanced_accuracy(yy, pred), "n": int(len(yy)),
            "epochs": cfg.rounds * cfg.local_epochs}


# ----------------------------------------------------------------------------- deployment
def run_server(address: str, n_clients: int, config: FederatedConfig, initial_model_config: dict | None = None) -> FederatedResult:
    """A Flower server process (one institution coordinates); blocks until ``config.rounds`` are done."""
    import flwr
    import torch

    from ..models import build_model

    torch.manual_seed(config.seed)
    initial = [v.detach().cpu().numpy() for v in build_model(config.kind, **config.model_config).state_dict().values()]
    recorder = _Recorder()
    strategy = make_strategy(config, n_clients, recorder, initial)
    flwr.server.start_server(server_address=address, config=flwr.server.ServerConfig(num_rounds=config.rounds), strategy=strategy)
    hist = pd.DataFrame(recorder.rows)
    model = build_model(config.kind, **config.model_config)
    if recorder.parameters is not None:
        state = model.state_dict()
        model.load_state_dict({k: torch.as_tensor(p, dtype=state[k].dtype) for k, p in zip(state.keys(), recorder.parameters)})
    return FederatedResult(hist, model, config, None, 0.0)


def run_client(address: str, cid: int, data_file: str | os.PathLike, config: FederatedConfig) -> None:
    """A Flower client process at one institution: its data file never leaves this process."""
    import flwr

    flwr.client.start_client(server_address=address, client=make_client(cid, data_file, config).to_client())


