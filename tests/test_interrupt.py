"""Nothing is lost when a long run is killed: it resumes where it stopped."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def trainset(tmp_path_factory):
    from emolab.synth import TrainsetConfig, generate_trainset

    out = tmp_path_factory.mktemp("ts") / "ts"
    generate_trainset(out, TrainsetConfig(n_identities=4, clips_per_emotion=2, n_frames=4, audio_seconds=0.5, seed=9), progress=False)
    return out


def test_training_killed_with_sigkill_resumes(trainset, tmp_path):
    import torch

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "emolab", "train", "--model", "speech", "--dataset", "synthetic", str(trainset), "--out", str(out),
           "--epochs", "40", "--patience", "0", "--batch-size", "8", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = out / "checkpoints" / "last.pt"
    deadline = time.time() + 240
    epoch = -1
    while time.time() < deadline and proc.poll() is None:
        if ckpt.is_file():
            try:
                epoch = torch.load(ckpt, weights_only=True)["epoch"]
            except Exception:
                epoch = -1  # cannot happen with atomic writes, but never trust a read mid-write
            if epoch >= 1:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "model.safetensors").exists()  # no half result that looks complete
    killed_at = torch.load(ckpt, weights_only=True)["epoch"]
    res = subprocess.run(cmd[:-5] + ["--epochs", "40", "--patience", "0", "--batch-size", "8", "--resume", "--quiet"], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    hist = pd.read_csv(out / "history.csv")
    assert list(hist.epoch) == list(range(1, 41)) and killed_at >= 1
    assert not list(out.rglob(".tmp-*"))


@pytest.mark.slow
def test_federated_run_resumes_after_the_last_round(tmp_path):
    import numpy as np

    from emolab.data import make_manifest
    from emolab.federated import FederatedConfig, federate, group_partition

    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (60, 1, 60, 21)).astype(np.float32)
    y = rng.integers(0, 7, 60)
    groups = np.array([f"s{i % 6}" for i in range(60)])
    m = make_manifest([{"path": str(i), "label": "anger", "group": g, "modalities": "audio"} for i, g in enumerate(groups)], "toy")
    clients = group_partition(m, 2)
    cfg = FederatedConfig(kind="speech", rounds=1, model_config={"widths": [4, 8], "seconds": 0.2})
    first = federate(X, y, groups, clients, cfg, checkpoint_dir=tmp_path / "ck")
    assert set(first.history["round"]) == {1}
    second = federate(X, y, groups, clients, cfg.replace(rounds=2), checkpoint_dir=tmp_path / "ck")
    assert set(second.history["round"]) == {1, 2}  # round 1 kept, only round 2 run again
    assert len(second.history[(second.history["round"] == 1) & (second.history.client != "global")]) == len(
        first.history[first.history.client != "global"])
