"""Out-of-fold utterance models for MELD train: what the text model answers on dialogues it never saw.

    python benchmarks/train_text_folds.py --meld PATH/meld --init runs/text_minilm_go/model.safetensors --out runs/text_folds

The dialogue head (``benchmarks/train_text_dialogue.py``) learns to correct the utterance model's answers from
their neighbours. Trained on the utterance model's answers for its own training dialogues, it sees answers more
confident and more often right than the ones it corrects at run time. This script makes honest answers for every
MELD train utterance: the train dialogues are cut into ``--folds`` parts (seeded, whole dialogues); for each part
the utterance model's MELD step is run again (``emolab train``'s recipe with the bundled model's settings:
MiniLM, top 2 layers, batch 32, lr 1e-4, head lr 1e-3, the epoch chosen by weighted F1) from ``--init`` (the
GoEmotions step) on the other parts, the part itself in the role of MELD dev. Each fold's model then reads its own
part. The bundled model ran a 6-epoch cosine schedule and kept epoch 4; a fold runs a 4-epoch schedule, to fit the
five of them in an hour on 2 CPU cores.

Writes ``OUT/fold{k}/`` (the fold's ``emolab train`` output), ``OUT/folds.json`` (dialogue -> fold) and
``OUT/oof_logits.npz`` (``sample_id`` and ``logits`` [n, 7], float32, in ``read_meld(..., ("train",))`` order),
each atomically. A fold whose model exists is not trained again, and an interrupted fold resumes from its last
epoch, so the command can be stopped and re-run. About an hour on 2 CPU cores without AVX-512 (5 folds).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CONFIG = {"encoder": "minilm", "train_layers": 2, "dropout": 0.1}
SETTINGS = dict(epochs=4, patience=4, batch_size=32, lr=1e-4, head_lr=1e-3, class_weights=False, monitor="val_weighted_f1", seed=0)


def fold_of_dialogues(dialogues: list[int], folds: int, seed: int = 0) -> dict[int, int]:
    """Each MELD train dialogue id -> its fold (0 .. folds - 1), a seeded shuffle cut into near-equal parts."""
    order = np.random.default_rng(seed).permutation(sorted(dialogues))
    return {int(d): int(i % folds) for i, d in enumerate(order)}


def write_fold_corpus(train_csv: Path, fold: dict[int, int], k: int, dest: Path) -> None:
    """A MELD folder whose train CSV holds the dialogues outside fold ``k`` and whose dev CSV holds fold ``k``."""
    from emolab.atomic import write_text
    from emolab.data.corpora._common import read_text_any

    reader = csv.DictReader(io.StringIO(read_text_any(train_csv)))
    parts = {"train_sent_emo.csv": io.StringIO(), "dev_sent_emo.csv": io.StringIO()}
    writers = {name: csv.DictWriter(buf, fieldnames=reader.fieldnames) for name, buf in parts.items()}
    for w in writers.values():
        w.writeheader()
    for rec in reader:
        name = "dev_sent_emo.csv" if fold[int(rec["Dialogue_ID"])] == k else "train_sent_emo.csv"
        writers[name].writerow(rec)
    dest.mkdir(parents=True, exist_ok=True)
    for name, buf in parts.items():
        write_text(dest / name, buf.getvalue())


def fold_logits(model_path: Path, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Logits [n, k] (float32) of a text model file (its dialogue head, if any, not applied) and its labels."""
    from emolab.models import load_model
    from train_text_dialogue import text_logits

    model, meta = load_model(model_path)
    return text_logits(model.eval(), meta, texts), list(meta["labels"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meld", type=Path, required=True, help="MELD folder with train_sent_emo.csv")
    ap.add_argument("--init", type=Path, required=True, help="the GoEmotions step's model file (see emolab/pretrained/text.md)")
    ap.add_argument("--out", type=Path, required=True, help="working folder (fold models, folds.json, oof_logits.npz)")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    from emolab.atomic import atomic_open, write_text
    from emolab.data.corpora.meld import SPLIT_FILES, read_meld
    from emolab.recipes.train import train_recipe

    if args.folds < 2:
        raise SystemExit("--folds must be at least 2")
    if not args.init.is_file():
        raise SystemExit(f"{args.init}: no such model file (run the GoEmotions step of emolab/pretrained/text.md first)")
    t0 = time.perf_counter()
    m = read_meld(args.meld, ("train",)).reset_index(drop=True)
    fold = fold_of_dialogues(m["dialogue"].unique().tolist(), args.folds)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "folds.json", json.dumps({"folds": args.folds, "dialogue_fold": {str(d): f for d, f in sorted(fold.items())}}) + "\n")
    rows_fold = m["dialogue"].map(fold).to_numpy()
    logits = None
    seconds = {}
    for k in range(args.folds):
        dest = args.out / f"fold{k}"
        model_file = dest / "model.safetensors"
        if not model_file.is_file():
            write_fold_corpus(args.meld / SPLIT_FILES["train"], fold, k, dest / "corpus")
            print(f"fold {k + 1}/{args.folds}: training on {int((rows_fold != k).sum())} utterances, "
                  f"{int((rows_fold == k).sum())} held out", flush=True)
            t = time.perf_counter()
            train_recipe("text", "meld", dest / "corpus", dest, model_config=CONFIG, init=args.init,
                         resume=(dest / "checkpoints").is_dir(), **SETTINGS)
            seconds[f"fold{k}"] = round(time.perf_counter() - t, 1)
        rows = np.flatnonzero(rows_fold == k)
        z, labels = fold_logits(model_file, m["text"].iloc[rows].astype(str).tolist())
        if logits is None:
            logits = np.full((len(m), z.shape[1]), np.nan, np.float32)
        logits[rows] = z
    with atomic_open(args.out / "oof_logits.npz", "wb", encoding=None) as fh:
        np.savez(fh, sample_id=m["sample_id"].to_numpy(str), logits=logits, labels=np.array(labels))
    y = m["label"].astype(str).to_numpy()
    from sklearn.metrics import f1_score

    pred = np.array(labels)[logits.argmax(1)]
    print(f"out-of-fold on MELD train ({len(m)} utterances): accuracy {np.mean(pred == y):.4f}, "
          f"weighted F1 {f1_score(y, pred, average='weighted'):.4f} ({time.perf_counter() - t0:.0f} s; folds trained: {seconds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
