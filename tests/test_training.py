"""The trainer: history, early stopping, atomic checkpoints, resume after interruption, callbacks, SMOTE per fold."""

import numpy as np
import pandas as pd
import pytest
import torch

from emolab.balancing import Balancer
from emolab.errors import ModelError
from emolab.models.zoo import SpeechCNN, SpeechCNNConfig
from emolab.training import Callback, TrainConfig, Trainer, fit_arrays, make_dataset


def toy(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 1, (n, 1, 12, 10)).astype(np.float32)
    X += 1.5 * y[:, None, None, None]  # a per-class level shift: learnable through global pooling
    return X, y


def model():
    torch.manual_seed(0)
    return SpeechCNN(SpeechCNNConfig(n_classes=3, widths=(8, 16)))


def test_fit_returns_history_and_learns(tmp_path):
    X, y = toy()
    tr = Trainer(model(), TrainConfig(epochs=6, batch_size=16, lr=3e-3, patience=0), checkpoint_dir=tmp_path, progress=False)
    hist = tr.fit(make_dataset(X[:90], y[:90]), make_dataset(X[90:], y[90:]))
    assert isinstance(hist, pd.DataFrame) and len(hist) == 6
    assert {"epoch", "train_loss", "val_loss", "val_accuracy", "val_balanced_accuracy", "val_macro_f1", "lr", "seconds"} <= set(hist.columns)
    assert hist.val_accuracy.max() > 0.8
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    assert not list(tmp_path.glob(".tmp-*"))
    proba = tr.predict_proba(make_dataset(X[90:], y[90:]))
    assert proba.shape == (30, 3) and np.allclose(proba.sum(1), 1, atol=1e-3)


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    X, y = toy()
    train, val = make_dataset(X[:90], y[:90]), make_dataset(X[90:], y[90:])

    class KillAfter(Callback):
        def on_epoch_end(self, trainer, record):
            if record["epoch"] == 2:
                raise KeyboardInterrupt  # the run is killed after epoch 2's checkpoint

    cfg = TrainConfig(epochs=5, batch_size=16, patience=0)
    with pytest.raises(KeyboardInterrupt):
        Trainer(model(), cfg, callbacks=[KillAfter()], checkpoint_dir=tmp_path, progress=False).fit(train, val)
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and len(state["history"]) == 2
    resumed = Trainer(model(), cfg, checkpoint_dir=tmp_path, progress=False)
    hist = resumed.fit(train, val, resume=True)
    assert list(hist.epoch) == [1, 2, 3, 4, 5]
    fresh = Trainer(model(), cfg, progress=False).fit(train, val)
    assert len(fresh) == 5


def test_early_stopping_stop_button_and_callbacks(tmp_path):
    X, y = toy()
    seen = []
    cfg = TrainConfig(epochs=50, batch_size=16, patience=2, lr=1e-6)  # too small to improve: stops early
    hist = Trainer(model(), cfg, callbacks=[lambda tr, rec: seen.append(rec["epoch"])], progress=False).fit(make_dataset(X, y), make_dataset(X, y))
    assert len(hist) < 50 and seen == list(hist.epoch)

    class StopNow(Callback):
        def on_batch_end(self, trainer, step, loss):
            trainer.stop()

    hist = Trainer(model(), TrainConfig(epochs=10), callbacks=[StopNow()], progress=False).fit(make_dataset(X, y))
    assert len(hist) == 1


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    X, y = toy()
    (tmp_path / "last.pt").write_bytes(b"half a checkpoint")
    with pytest.raises(ModelError, match="checkpoint cannot be read"):
        Trainer(model(), TrainConfig(epochs=1), checkpoint_dir=tmp_path, progress=False).fit(make_dataset(X, y), resume=True)


def test_smote_applies_to_the_training_arrays_only():
    X, y = toy(150)
    y = np.where(np.arange(150) < 20, 2, y % 2)  # class 2 rare in training
    calls = []

    class Spy(Balancer):
        def fit_resample(self, X, y):
            out = super().fit_resample(X, y)
            calls.append((len(X), len(out[0])))
            return out

    seen = {}

    class Size(Callback):
        def on_train_end(self, trainer, history):
            seen["labels"] = np.bincount(trainer._train_labels, minlength=3)

    trainer, hist = fit_arrays(model(), X[:100], y[:100], X[100:], y[100:], TrainConfig(epochs=1), balancer=Spy(target="max"),
                               callbacks=[Size()], progress=False)
    assert len(calls) == 1 and calls[0][0] == 100 and calls[0][1] > 100  # only the 100 training rows were resampled
    assert len(set(seen["labels"])) == 1  # the trainer saw balanced classes
    assert trainer.predict_proba(make_dataset(X[100:], y[100:])).shape == (50, 3)  # validation untouched


def test_same_seed_same_result():
    X, y = toy()
    a = Trainer(model(), TrainConfig(epochs=2, seed=3, precision="fp32"), progress=False).fit(make_dataset(X, y))
    b = Trainer(model(), TrainConfig(epochs=2, seed=3, precision="fp32"), progress=False).fit(make_dataset(X, y))
    assert np.allclose(a.train_loss, b.train_loss)
