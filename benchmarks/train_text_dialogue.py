"""Give a text model dialogue context: a small head that re-reads each utterance's answer among its neighbours.

    python benchmarks/train_text_dialogue.py --meld PATH/meld [--text FILE] --out runs/text_dialogue/model.safetensors

The utterance model (default: the bundled ``text``, its dialogue head dropped if it has one) reads every MELD
train and dev utterance once (float32; cached on disk by the model's and the CSV's content). A
:class:`~emolab.models.dialogue.DialogueContext` head (bidirectional GRU over the utterance model's probabilities and
same-speaker flags, 64 units a direction) is then trained on MELD train dialogues with the utterance model frozen:
AdamW (lr 1e-3, weight decay 0.01), 15 epochs of 32 dialogues a batch, for each ``--seeds``. The epoch and seed
are chosen by weighted F1 on a tenth of the train dialogues held out (seed 0), never on dev. Dev (all 1,109
utterances, official split) is scored before and after: accuracy, weighted and macro F1, per-class recall, and
weighted F1 on the first utterances of dialogues (no context before them) and on the rest.

``--oof FILE`` (``oof_logits.npz`` of ``benchmarks/train_text_folds.py``): the train dialogues are read by models
that never saw them, instead of by the utterance model trained on them (dev is always read by the utterance model).

Writes the model file (the utterance model's weights unchanged plus the head, float16) atomically, then scores the
written file again, and ``benchmarks/results/text_dialogue[_TAG].json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import save  # noqa: E402

HIDDEN, EPOCHS, BATCH, LR, DECAY, HOLDOUT = 64, 15, 32, 1e-3, 1e-2, 0.1


def text_logits(model, meta: dict, texts) -> np.ndarray:
    """Logits [n, k] (float32) of a text model over ``texts``, each read alone (no dialogue head), batched by length."""
    import torch

    from emolab.preprocessing.text import text_tokenizer

    ids = text_tokenizer(meta["preprocessing"]["vocabulary"]).transform(list(texts))
    order = np.argsort((ids != 0).sum(1), kind="stable")  # similar lengths batched together
    out = np.empty((len(ids), len(meta["labels"])), np.float32)
    with torch.inference_mode():
        for a in range(0, len(ids), 128):
            rows = order[a:a + 128]
            out[rows] = model(torch.as_tensor(ids[rows], dtype=torch.long)).float().numpy()
    return out


def utterance_logits(model, meta: dict, m: pd.DataFrame, csvs: list[Path]) -> np.ndarray:
    """The utterance model's logits [n, k] of every row of ``m`` (float32, cached by content)."""
    from emolab.cache import FeatureCache, file_hash

    settings = {"model": meta["sha256"], "other_csvs": [file_hash(p) for p in csvs[1:]], "n": len(m)}
    return FeatureCache("text_logits").get_or_compute(csvs[0], settings, lambda: text_logits(model, meta, m["text"].astype(str)))


def dialogues(m: pd.DataFrame) -> list[np.ndarray]:
    """Row indices of each dialogue of ``m``, in utterance order."""
    return [g.sort_values("utterance").index.to_numpy() for _, g in m.groupby("group", sort=True)]


def batch(ds: list[np.ndarray], z: np.ndarray, y: np.ndarray, speakers: np.ndarray):
    import torch

    from emolab.models.dialogue import speaker_flags

    width = max(len(d) for d in ds)
    x = np.zeros((len(ds), width, z.shape[1]), np.float32)
    f = np.zeros((len(ds), width, 2), np.float32)
    t = np.full((len(ds), width), -100, np.int64)
    for j, d in enumerate(ds):
        x[j, :len(d)], t[j, :len(d)] = z[d], y[d]
        f[j, :len(d)] = speaker_flags(speakers[d].tolist(), len(d))
    return torch.from_numpy(x), torch.from_numpy(f), torch.tensor([len(d) for d in ds]), torch.from_numpy(t)


def weighted_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, average="weighted", labels=range(k), zero_division=0))


def train_head(z: np.ndarray, y: np.ndarray, speakers: np.ndarray, train: list, holdout: list, seed: int):
    """(best head, its epoch, its hold-out weighted F1, curve) of one seed."""
    import copy

    import torch

    from emolab.models.dialogue import DialogueContext

    torch.manual_seed(seed)
    k = z.shape[1]
    head = DialogueContext(k, HIDDEN)
    opt = torch.optim.AdamW(head.parameters(), lr=LR, weight_decay=DECAY)
    hx = batch(holdout, z, y, speakers)
    best, curve = (-1.0, 0, None), []
    for epoch in range(1, EPOCHS + 1):
        head.train()
        order = np.random.default_rng(1000 * seed + epoch).permutation(len(train))
        for a in range(0, len(train), BATCH):
            x, f, n, t = batch([train[i] for i in order[a:a + BATCH]], z, y, speakers)
            loss = torch.nn.functional.cross_entropy(head(x, f, n).reshape(-1, k), t.reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            opt.step()
        head.eval()
        with torch.inference_mode():
            out = head(*hx[:3])
        mask = hx[3] >= 0
        score = weighted_f1(hx[3][mask].numpy(), out[mask].argmax(-1).numpy(), k)
        curve.append(round(score, 4))
        if score > best[0]:
            best = (score, epoch, copy.deepcopy(head.state_dict()))
    head.load_state_dict(best[2])
    return head, best[1], best[0], curve


def dev_scores(z: np.ndarray, y: np.ndarray, first: np.ndarray, labels: list[str]) -> dict:
    from sklearn.metrics import f1_score, recall_score

    k, pred = len(labels), z.argmax(1)
    r = lambda v: round(float(v), 4)  # noqa: E731
    rec = recall_score(y, pred, average=None, labels=range(k), zero_division=0)
    return {"n": int(len(y)), "accuracy": r((pred == y).mean()), "weighted_f1": r(weighted_f1(y, pred, k)),
            "macro_f1": r(f1_score(y, pred, average="macro", labels=range(k), zero_division=0)),
            "weighted_f1_first_utterances": r(weighted_f1(y[first], pred[first], k)),
            "weighted_f1_later_utterances": r(weighted_f1(y[~first], pred[~first], k)),
            "recall": {lab: r(v) for lab, v in zip(labels, rec)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meld", type=Path, required=True, help="MELD folder with train_sent_emo.csv and dev_sent_emo.csv")
    ap.add_argument("--text", default="text", help="utterance model: a .safetensors file or a bundled name (default: text)")
    ap.add_argument("--out", type=Path, required=True, help="model file to write")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--oof", type=Path, default=None,
                    help="oof_logits.npz of benchmarks/train_text_folds.py: train the head on out-of-fold answers for the "
                    "train dialogues instead of the utterance model's answers for its own training data")
    ap.add_argument("--tag", default="", help="results file benchmarks/results/text_dialogue[_TAG].json")
    args = ap.parse_args(argv)
    from emolab.data.corpora.meld import SPLIT_FILES, read_meld
    from emolab.models import load_model, save_model
    from emolab.models.dialogue import in_dialogues, with_dialogue
    from emolab.models.zoo import TextLSTM, TextLSTMConfig
    from emolab.recipes.inputs import resolve_model_path

    t0 = time.perf_counter()
    base_path = resolve_model_path(args.text)
    base, meta = load_model(base_path)
    if meta["kind"] != "text":
        raise SystemExit(f"{args.text}: not a text model")
    config = TextLSTMConfig.from_dict({**meta["config"], "dialogue": 0})
    utterance = TextLSTM(config)
    utterance.load_state_dict({k: v for k, v in base.state_dict().items() if not k.startswith("dialogue.")})
    utterance.eval()
    m = read_meld(args.meld, ("train", "dev")).reset_index(drop=True)
    labels = list(meta["labels"])
    y = np.array([labels.index(v) for v in m["label"].astype(str)])
    print(f"utterance model {Path(base_path).name}: reading {len(m)} MELD utterances")
    z = utterance_logits(utterance, meta, m, [args.meld / SPLIT_FILES[s] for s in ("train", "dev")]).astype(np.float64)
    source = "out-of-fold" if args.oof is not None else "in-sample"  # what the train dialogues' answers are
    if args.oof is not None:  # the train rows read by models that never saw their dialogue (dev: the utterance model)
        oof = np.load(args.oof)
        if list(oof["labels"]) != labels:
            raise SystemExit(f"{args.oof}: labels {list(oof['labels'])}, the utterance model's {labels}")
        where = dict(zip(oof["sample_id"].tolist(), range(len(oof["sample_id"]))))
        train_rows = np.flatnonzero((m["split"] == "train").to_numpy())
        missing = [s for s in m["sample_id"].iloc[train_rows] if s not in where]
        if missing:
            raise SystemExit(f"{args.oof}: no out-of-fold logits for {len(missing)} MELD train utterances, e.g. {missing[0]}")
        z[train_rows] = oof["logits"][[where[s] for s in m["sample_id"].iloc[train_rows]]]
        print(f"train dialogues: out-of-fold logits from {args.oof.name}")
    speakers = m["speaker"].fillna("").astype(str).to_numpy(object)
    train_all = dialogues(m[m["split"] == "train"])
    perm = np.random.default_rng(0).permutation(len(train_all))
    n_hold = int(round(HOLDOUT * len(train_all)))
    holdout = [train_all[i] for i in perm[:n_hold]]
    train = [train_all[i] for i in perm[n_hold:]]
    runs = []
    for seed in args.seeds:
        head, epoch, score, curve = train_head(z, y, speakers, train, holdout, seed)
        runs.append({"seed": seed, "epoch": epoch, "holdout_weighted_f1": round(score, 4), "curve": curve, "head": head})
        print(f"seed {seed}: best epoch {epoch}, held-out train dialogues weighted F1 {score:.4f}")
    hold_rows = np.concatenate(holdout)
    no_context_hold = weighted_f1(y[hold_rows], z[hold_rows].argmax(1), len(labels))
    if len(runs) > 1:  # the seeds' corrections averaged, a candidate like each seed
        from emolab.models.dialogue import DialogueContext

        joint = DialogueContext.average([r["head"] for r in runs])
        zh = in_dialogues(joint, z[hold_rows], m["group"].to_numpy()[hold_rows], m["utterance"].to_numpy(float)[hold_rows],
                          speakers[hold_rows].tolist())
        runs.append({"seed": "average of the seeds", "epoch": [r["epoch"] for r in runs],
                     "holdout_weighted_f1": round(weighted_f1(y[hold_rows], zh.argmax(1), len(labels)), 4), "curve": [], "head": joint})
        print(f"the {len(runs) - 1} seeds averaged: held-out train dialogues weighted F1 {runs[-1]['holdout_weighted_f1']:.4f}")
    chosen = max(runs, key=lambda r: r["holdout_weighted_f1"])
    dev = (m["split"] == "dev").to_numpy()
    md = m[dev]
    first = (md["utterance"].to_numpy() == md.groupby("group")["utterance"].transform("min").to_numpy())
    before = dev_scores(z[dev], y[dev], first, labels)
    for r in runs:  # every seed's dev figure, for the spread (the choice above never looked at dev)
        zc = in_dialogues(r["head"], z[dev], md["group"].to_numpy(), md["utterance"].to_numpy(float), speakers[dev].tolist())
        r["dev_weighted_f1"] = dev_scores(zc, y[dev], first, labels)["weighted_f1"]
    model = TextLSTM(TextLSTMConfig.from_dict({**meta["config"], "dialogue": HIDDEN, "dialogue_members": len(chosen["head"].grus)}))
    model.load_state_dict({**utterance.state_dict(), **{f"dialogue.{k}": v for k, v in chosen["head"].state_dict().items()}})
    metrics = {**meta.get("metrics", {}), "dialogue": {
        "trained_on": f"MELD train dialogues ({len(train)}; {n_hold} held out to choose the epoch and seed)",
        "seed": chosen["seed"], "epoch": chosen["epoch"], "train_logits": source,
        "command": "python benchmarks/train_text_dialogue.py --meld PATH/meld --out FILE" + (" --oof OOF" if args.oof is not None else "")}}
    save_model(args.out, model, tuple(labels), meta["preprocessing"], metrics,
               notes=(meta.get("notes", "") + " Dialogue context head: benchmarks/train_text_dialogue.py.").strip())
    written, _ = load_model(args.out)  # the file as written (its head in float16), scored again
    after = dev_scores(with_dialogue(written, z[dev], md), y[dev], first, labels)
    print(f"MELD dev weighted F1 {before['weighted_f1']:.4f} -> {after['weighted_f1']:.4f}, macro F1 {before['macro_f1']:.4f} -> "
          f"{after['macro_f1']:.4f}, accuracy {before['accuracy']:.4f} -> {after['accuracy']:.4f} (seeds' dev weighted F1: "
          f"{', '.join(str(r['dev_weighted_f1']) for r in runs)})")
    save("text_dialogue" + (f"_{args.tag}" if args.tag else ""), {
        "utterance_model": {"model": Path(base_path).name, "sha256": meta["sha256"]}, "hidden": HIDDEN, "epochs": EPOCHS,
        "batch_dialogues": BATCH, "lr": LR, "weight_decay": DECAY, "holdout_dialogues": n_hold, "train_dialogues": len(train),
        "train_logits": source,
        "holdout_weighted_f1_without_context": round(no_context_hold, 4),
        "seeds": [{k: v for k, v in r.items() if k != "head"} for r in runs], "chosen_seed": chosen["seed"],
        "dev_without_context": before, "dev_with_context": after, "seconds": round(time.perf_counter() - t0, 1)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
