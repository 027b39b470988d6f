"""Train the speech CNN with room/channel augmentation (issue 22 part 3, "speech emotion that travels").

RAVDESS actors 01-14 train, actors 15-18 select (the epoch with the best balanced accuracy on the
clean utterances). Each training utterance is used clean and in ``--copies`` augmented versions
(:func:`emolab.preprocessing.augment.room_augment`: noise or babble of *training* actors at 0-20 dB
SNR, reverberation RT60 0.2-0.8 s, 300-3400 Hz band-limiting, mu-law / low-bit quantisation, gain,
speed), drawn once from ``--seed`` before training, features computed as at inference
(:func:`emolab.preprocessing.inputs.speech_input`). The model normalises each utterance's features
(CMVN) and pools over time by attention (``--pooling``).

    python benchmarks/train_speech_room.py PATH/ravdess_speech --out runs/speech_room

Writes ``model.safetensors`` (loadable as any emolab speech model), ``history.csv`` and ``metrics.json``
to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def augmented_inputs(waves: list[np.ndarray], copies: int, pool: list[np.ndarray], seed: int) -> np.ndarray:
    """Speech inputs [copies * n, 1, 60, 301] of ``copies`` room-augmented versions of each wave (copy-major order)."""
    from emolab.preprocessing.augment import room_augment
    from emolab.preprocessing.inputs import speech_input

    rng = np.random.default_rng(seed)
    if copies == 0 or not waves:
        return np.zeros((0, 1, 60, 301), np.float32)
    return np.stack([speech_input(room_augment(w, rng=rng, babble_pool=pool)) for _ in range(copies) for w in waves])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="RAVDESS speech folder (Actor_NN/*.wav or *.flac)")
    ap.add_argument("--out", default="runs/speech_room", help="output folder (default runs/speech_room)")
    ap.add_argument("--copies", type=int, default=3, help="augmented copies of each training utterance, besides the clean one (default 3)")
    ap.add_argument("--epochs", type=int, default=30, help="training epochs, all run; the best on actors 15-18 is kept (default 30)")
    ap.add_argument("--batch-size", type=int, default=32, help="utterances per batch (default 32)")
    ap.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate, cosine schedule (default 1e-3)")
    ap.add_argument("--pooling", choices=("mean", "attention"), default="attention", help="pooling over time (default attention)")
    ap.add_argument("--cmvn", choices=("none", "mean", "meanvar"), default="meanvar",
                    help="per-utterance normalisation of each feature row: none, mean (subtract), meanvar (and divide by std) (default meanvar)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of weights, batches and augmentation draws (default 0)")
    a = ap.parse_args(argv)

    import torch

    from emolab.atomic import write_csv, write_text
    from emolab.device import seed_everything
    from emolab.evaluation import evaluate
    from emolab.models import build_model, save_model
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.inputs import SPEECH_SECONDS, load_speech_inputs
    from emolab.recipes import default_split, read_labelled
    from emolab.taxonomy import EMOTIONS
    from emolab.training import TrainConfig, Trainer, make_dataset

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    seed_everything(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    m = read_labelled("ravdess", a.path)
    tr, va = default_split(m, "ravdess")
    y = np.array([EMOTIONS.index(v) for v in m["label"].astype(str)], np.int64)
    X = load_speech_inputs(m, progress=False)  # clean inputs, cached
    waves = [load_audio(p) for p in m["path"].iloc[tr]]
    t_feat = time.perf_counter()
    Xaug = augmented_inputs(waves, a.copies, waves, a.seed)  # babble from training actors only
    t_feat = time.perf_counter() - t_feat
    Xtr = np.concatenate([X[tr], Xaug])
    ytr = np.tile(y[tr], a.copies + 1)
    print(f"{len(ytr)} training inputs ({a.copies} augmented copies, {t_feat:.0f} s of features), {len(va)} validation", flush=True)

    model = build_model("speech", cmvn=a.cmvn, pooling=a.pooling)
    tcfg = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed, patience=0, monitor="val_balanced_accuracy")
    trainer = Trainer(model, tcfg, progress=False,
                      callbacks=[lambda t, r: print(f"epoch {r['epoch']}: train {r['train_accuracy']:.3f}  val {r['val_accuracy']:.3f} "
                                                    f"bal {r['val_balanced_accuracy']:.3f}  {r['seconds']:.0f} s", flush=True)])
    val = make_dataset(X[va], y[va])
    history = trainer.fit(make_dataset(Xtr, ytr), val)
    proba = trainer.predict_proba(val)
    ev = evaluate(m["label"].iloc[va], proba=proba, labels=list(EMOTIONS))
    seconds = time.perf_counter() - t0
    best = int(history["epoch"].iloc[history["val_balanced_accuracy"].to_numpy().argmax()])
    cmd = (f"python benchmarks/train_speech_room.py PATH --copies {a.copies} --epochs {a.epochs} --batch-size {a.batch_size} "
           f"--lr {a.lr:g} --pooling {a.pooling} --cmvn {a.cmvn} --seed {a.seed}")
    metrics = {**ev.metrics, "seconds": seconds, "feature_seconds": t_feat, "dataset": "ravdess", "kind": "speech", "seed": a.seed,
               "n_train": int(len(tr)), "n_train_inputs": int(len(ytr)), "n_val": int(len(va)), "torch_threads": torch.get_num_threads(),
               "augment": "room", "copies": a.copies, "best_epoch": best, "epochs_run": int(len(history)), "labels": "canonical",
               "monitor": tcfg.monitor, "per_class_accuracy": dict(zip(ev.per_class.label, ev.per_class.accuracy.round(4)))}
    prep = {"input": "mfcc+deltas", "seconds": SPEECH_SECONDS, "sample_rate": 16000}
    save_model(out / "model.safetensors", model.cpu(), labels=tuple(EMOTIONS), preprocessing=prep, metrics=metrics,
               notes=f"trained with: {cmd}")
    write_csv(out / "history.csv", history)
    write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=float) + "\n")
    print(f"actors 15-18: accuracy {ev.metrics['accuracy']:.3f}, balanced {ev.metrics['balanced_accuracy']:.3f} (epoch {best}); {seconds:.0f} s")
    return metrics


if __name__ == "__main__":
    main()
