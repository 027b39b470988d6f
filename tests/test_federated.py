"""Federated training on Flower: partitions, what leaves a client, simulation, a real deployment on 127.0.0.1."""

import json
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from emolab.data import make_manifest
from emolab.errors import DataError, SplitError
from emolab.federated import (FederatedConfig, dirichlet_partition, federate, group_partition, make_client, natural_partition,
                              save_client_data)

SPEECH = {"widths": [4, 8], "seconds": 0.5}


def manifest(n_groups=9, per=10):
    rows = [{"path": f"{g}_{i}", "label": ["anger", "happiness", "sadness"][(g + i) % 3], "group": f"g{g}", "modalities": "audio",
             "school": f"school{g % 3}"} for g in range(n_groups) for i in range(per)]
    return make_manifest(rows, "toy")


def toy_arrays(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 7, n)
    X = rng.normal(0, 1, (n, 1, 60, 51)).astype(np.float32) + y[:, None, None, None] * 0.5
    return X, y


def test_partitions_keep_subjects_on_one_client():
    m = manifest()
    for clients in (natural_partition(m, "school"), group_partition(m, 3), dirichlet_partition(m, 3, alpha=0.3)):
        assert sum(len(c) for c in clients) == len(m)
        owners = [set(m.group.iloc[c]) for c in clients]
        assert all(not (a & b) for i, a in enumerate(owners) for b in owners[i + 1:])
    with pytest.raises(DataError, match="at least 12 subject groups"):
        group_partition(m, 12)
    leaky = m.copy()
    leaky.loc[0, "school"] = "school2"  # one sample of g0 (school0) filed under school2
    with pytest.raises(SplitError, match="leaks a subject"):
        natural_partition(leaky, "school")
    with pytest.raises(DataError, match="no column"):
        natural_partition(m, "district")


def test_only_parameters_and_scalar_metrics_leave_a_client(tmp_path):

    from emolab.models import build_model

    X, y = toy_arrays(40)
    groups = np.array([f"s{i % 4}" for i in range(40)])
    f = save_client_data(tmp_path / "c0.npz", X, y, groups)
    cfg = FederatedConfig(kind="speech", model_config=SPEECH, local_epochs=1)
    client = make_client(0, f, cfg)
    init = [v.numpy() for v in build_model("speech", **SPEECH).state_dict().values()]
    params, n, metrics = client.fit(init, {})
    assert [p.shape for p in params] == [p.shape for p in init]  # exactly the model's tensors, nothing more
    assert sum(p.size for p in params) == sum(p.size for p in init)
    assert all(isinstance(v, (int, float)) for v in metrics.values()) and set(metrics) == {"client", "loss", "accuracy"}
    assert n < 40  # the local test part stayed out of training
    payload = np.concatenate([p.ravel().astype(np.float64) for p in params])
    assert not any(np.isin(X[k].ravel()[:50].astype(np.float64), payload).all() for k in range(len(X)))  # no sample travels
    loss, n_test, m = client.evaluate(params, {})
    assert n + n_test == 40 and set(m) == {"client", "accuracy", "balanced_accuracy"}
    # a client missing most classes still trains
    f2 = save_client_data(tmp_path / "c1.npz", X[:12], np.zeros(12, int), groups[:12])
    make_client(1, f2, cfg).fit(init, {})
    f3 = save_client_data(tmp_path / "c2.npz", X[:0], y[:0], groups[:0])
    with pytest.raises(DataError, match="no samples"):
        make_client(2, f3, cfg)


@pytest.mark.slow
def test_simulation_with_fedprox_dp_and_centralized_baseline():
    X, y = toy_arrays(90, seed=1)
    groups = np.array([f"s{i % 9}" for i in range(90)])
    m = make_manifest([{"path": str(i), "label": "anger", "group": g, "modalities": "audio"} for i, g in enumerate(groups)], "toy")
    clients = group_partition(m, 3)
    cfg = FederatedConfig(kind="speech", rounds=2, strategy="fedprox", proximal_mu=0.1, dp_noise=0.01, dp_clip=5.0, model_config=SPEECH)
    res = federate(X, y, groups, clients, cfg, centralized=True)
    h = res.history
    assert set(h.phase) == {"train", "test"} and set(h["round"]) == {1, 2}
    assert {0, 1, 2, "global"} <= set(h.client)
    glob = h[(h.client == "global") & (h.phase == "test")]
    assert len(glob) == 2 and glob.accuracy.between(0, 1).all()
    assert res.centralized["n"] == int(h[(h.phase == "test") & (h.client != "global") & (h["round"] == 1)].n.sum())
    assert "mark" in res.chart().to_dict()
    assert sum(p.numel() for p in res.model.parameters()) > 0


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_real_deployment_with_processes_on_localhost(tmp_path):
    X, y = toy_arrays(40, seed=2)
    for i in range(2):
        save_client_data(tmp_path / f"client{i}.npz", X[i * 20:(i + 1) * 20], y[i * 20:(i + 1) * 20], np.array([f"s{i}{k % 3}" for k in range(20)]))
    (tmp_path / "mc.json").write_text(json.dumps(SPEECH))
    addr = f"127.0.0.1:{_port()}"
    em = [sys.executable, "-m", "emolab"]
    server = subprocess.Popen(em + ["federate-server", "--address", addr, "--clients", "2", "--rounds", "1", "--model", "speech",
                                    "--model-config-file", str(tmp_path / "mc.json"), "--out", str(tmp_path / "server")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(4)
    clients = [subprocess.Popen(em + ["federate-client", "--address", addr, "--cid", str(i), "--data", str(tmp_path / f"client{i}.npz"),
                                      "--model", "speech", "--model-config-file", str(tmp_path / "mc.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    try:
        out, _ = server.communicate(timeout=240)
    finally:
        for c in clients:
            c.wait(timeout=60) if c.poll() is None else None
    assert server.returncode == 0, out[-2000:]
    hist = pd.read_csv(tmp_path / "server" / "history.csv")
    assert set(hist.client) == {0, 1} and set(hist.phase) == {"train", "test"}
    assert (tmp_path / "server" / "model.safetensors").is_file()
