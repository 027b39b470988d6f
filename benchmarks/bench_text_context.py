"""Text models compared on all of MELD dev: encoders (LSTM, MiniLM), with and without dialogue context (issue #23).

For each model file: accuracy, weighted and macro F1, balanced accuracy, per-class recall, time per
utterance (float32, batches of 256, the threads torch chooses), the file's size, and
calibration (ECE, 15 bins, raw and with a temperature cross-fitted over two halves of the dev
dialogues, seed 0, as ``bench_calibration.py``); also weighted F1 on the first utterance of each
dialogue (no context to read) and on the rest.

Usage::

    python benchmarks/bench_text_context.py NAME=MODEL [NAME=MODEL ...] [--shared ../shared/data]

``MODEL``: a ``.safetensors`` file, a training output folder or a bundled model's name (``text``).
Writes ``benchmarks/results/text_context.json`` (results saved under other names are kept).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save  # noqa: E402
from bench_calibration import group_halves  # noqa: E402
from bench_face_readability import cross_fitted  # noqa: E402


def score(model_path: str, m) -> dict:
    import torch
    from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

    from emolab.calibration import apply_temperature, expected_calibration_error, fit_temperature
    from emolab.models import load_model
    from emolab.models.dialogue import with_dialogue
    from emolab.preprocessing.text import text_tokenizer
    from emolab.recipes.inputs import resolve_model_path, text_context_inputs
    from emolab.training import _tensor

    model, meta = load_model(resolve_model_path(model_path))
    vocab = text_tokenizer(meta["preprocessing"]["vocabulary"])
    k = int(getattr(model.config, "context", 0))
    x = text_context_inputs(vocab, m, k) if k else vocab.transform(m["text"].astype(str))
    t0 = time.perf_counter()
    with torch.inference_mode():
        z = np.concatenate([model(_tensor(x[a:a + 256])).float().numpy() for a in range(0, len(x), 256)]).astype(np.float64)
    z = with_dialogue(model, z, m)  # a dialogue head, where the model has one
    seconds = time.perf_counter() - t0
    labels = list(meta["labels"])
    y = np.array([labels.index(v) for v in m["label"].astype(str)])
    pred = z.argmax(1)
    half = group_halves(m["group"].astype(str).to_numpy())
    after, temps = cross_fitted(z, y, half)
    first = (m["utterance"].to_numpy() == m.groupby("group")["utterance"].transform("min").to_numpy())
    r = lambda v: round(float(v), 4)  # noqa: E731
    return {"model": str(model_path), "encoder": getattr(model.config, "encoder", "lstm"), "context": k, "dialogue": int(getattr(model.config, "dialogue", 0)),
            "ms_per_utterance": round(1000 * seconds / len(x), 3), "file_mb": round(Path(resolve_model_path(model_path)).stat().st_size / 1e6, 2), "packed": bool(getattr(model.config, "packed", False)), "n": int(len(y)),
            "accuracy": r((pred == y).mean()), "weighted_f1": r(f1_score(y, pred, average="weighted", labels=range(len(labels)))),
            "macro_f1": r(f1_score(y, pred, average="macro", labels=range(len(labels)))),
            "balanced_accuracy": r(balanced_accuracy_score(y, pred)),
            "recall": dict(zip(labels, (r(v) for v in recall_score(y, pred, average=None, labels=range(len(labels)), zero_division=0)))),
            "weighted_f1_first_utterances": r(f1_score(y[first], pred[first], average="weighted")), "n_first": int(first.sum()),
            "weighted_f1_later_utterances": r(f1_score(y[~first], pred[~first], average="weighted")),
            "mean_confidence": r(apply_temperature(z, 1.0).max(1).mean()),
            "ece": r(expected_calibration_error(apply_temperature(z, 1.0), y)),
            "temperature": r(fit_temperature(z, y)), "temperatures_of_the_halves": [r(t) for t in temps],
            "ece_cross_fitted": r(expected_calibration_error(after, y))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+", help="NAME=MODEL")
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"), help="the shared/data folder")
    args = ap.parse_args()
    from emolab.data import read_corpus

    meld = Path(args.shared) / "meld"
    if not meld.is_dir():
        print(f"bench_text_context: skipped — {meld} not found (give --shared)")
        return
    m = read_corpus("meld", meld)
    m = m[m["split"] == "dev"].reset_index(drop=True)  # whole dialogues: the context of a dev utterance is in dev
    out = {}
    for spec in args.models:
        name, _, path = spec.partition("=")
        out[name] = {**score(path or name, m), "machine": machine()}
        print(json.dumps({name: out[name]}), flush=True)
    # the names not run this time keep their saved results (each names the machine and date it ran on)
    path = Path(__file__).resolve().parent / "results" / "text_context.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    old_machine = saved.pop("machine", None)  # older files: one machine for the file
    for v in saved.values():
        v.setdefault("machine", old_machine)
    save("text_context", {**saved, **out})


if __name__ == "__main__":
    main()
