"""What do face models give when their probabilities are averaged? The check before a distillation.

Every FER2013 validation face (3,589) is shrunk to 12 / 16 / 20 / 24 / 32 px and scaled back to 48 px exactly as
``bench_face_readability.py`` does (``degrade``), and each given face2d model scores every size in float32. Printed
and saved: each model's accuracy per size, then the accuracy of the softmax average of every subset of two or more
models (the teacher a ``emolab train --teacher A,B,...`` run distils from averages the same probabilities, at its
own temperature). Members that share their training agree too much to help each other (``RESULTS.md``, face,
sessions 14–17), so this is how a new teacher earns its place.

Usage::

    python benchmarks/bench_face_ensemble.py face runs/face_d STEP2.safetensors [--names S3 D step2] [--tag NAME]

Models are bundled names (``face``), model files or run folders. Writes ``benchmarks/results/face_ensemble[_TAG].json``
(without ``--limit``). About 20 s per model on 2 cores.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402
from bench_face_readability import degrade, logits_of, validation_faces  # noqa: E402

SIZES = (12, 16, 20, 24, 32, 48)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits ``(n, k)`` in float64."""
    z = z.astype(np.float64) - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def model_label(spec: str) -> str:
    """How a results file names a model: a bundled name, or a path relative to the repository; a file outside
    the repository by its file name only (its sha256 identifies it), so no machine's paths are saved."""
    p = Path(spec).resolve()
    repo = Path(__file__).resolve().parents[1]
    if not p.exists():
        return str(spec)
    return str(p.relative_to(repo)) if p.is_relative_to(repo) else p.name


def subset_table(probs: dict[str, dict[int, np.ndarray]], y: np.ndarray) -> list[dict]:
    """Accuracy per size of each model alone and of the mean probability of every subset of the models.

    ``probs[name][size]`` holds ``(n, k)`` probabilities; ``y`` the ``(n,)`` true class indices. One row per subset,
    in the order: single models, pairs, triples, ...; accuracies as fractions."""
    rows = []
    names = list(probs)
    for r in range(1, len(names) + 1):
        for members in itertools.combinations(names, r):
            row = {"models": " + ".join(members)}
            for s in SIZES:
                p = np.mean([probs[m][s] for m in members], axis=0)
                row[f"{s}px"] = round(float((p.argmax(1) == y).mean()), 4)
            rows.append(row)
    return rows


def main() -> None:
    import torch

    from emolab.models import load_model
    from emolab.recipes.inputs import resolve_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"
    ap.add_argument("models", nargs="*", default=["face"],
                    help="face2d models: bundled names, model files or run folders (default: the bundled face model)")
    ap.add_argument("--names", nargs="*", default=None, help="a short name for each model (default: file or folder names)")
    ap.add_argument("--fer2013", default=str(shared), help="FER2013 folder with validation/")
    ap.add_argument("--limit", type=int, default=None, help="use this many validation faces (default: all; nothing saved)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--tag", default=None, help="results file face_ensemble_TAG.json")
    args = ap.parse_args()
    names = args.names or [Path(m).parent.name if Path(m).suffix else Path(m).name for m in args.models]
    if len(names) != len(args.models) or len(set(names)) != len(names):
        ap.error("give one distinct name per model")
    if not Path(args.fer2013, "validation").is_dir():
        print(f"bench_face_ensemble: skipped — no FER2013 validation folder at {args.fer2013} (give --fer2013)")
        return
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    images, y = validation_faces(args.fer2013, args.limit)
    inputs = {s: np.stack([degrade(img, s)[0] for img in images]) for s in SIZES}
    probs, described = {}, {}
    for name, spec in zip(names, args.models):
        model, meta = load_model(resolve_model_path(spec))
        described[name] = {"model": model_label(spec), "sha256": meta.get("sha256")}
        model.eval()
        probs[name] = {s: softmax(logits_of(model, inputs[s])) for s in SIZES}
        print(f"{name}: " + ", ".join(f"{s} px {(probs[name][s].argmax(1) == y).mean():.1%}" for s in SIZES)
              + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    rows = subset_table(probs, y)
    width = max(len(r["models"]) for r in rows)
    print(f"{'models'.ljust(width)}  " + "  ".join(f"{s:>5} px" for s in SIZES))
    for r in rows:
        print(f"{r['models'].ljust(width)}  " + "  ".join(f"{100 * r[f'{s}px']:7.1f}%" for s in SIZES))
    if not args.limit:
        save("face_ensemble" + (f"_{args.tag}" if args.tag else ""),
             {"models": described, "images": int(len(y)), "split": "FER2013 validation (PublicTest)",
              "precision": "float32", "average": "mean of softmax probabilities", "accuracy": rows,
              "seconds": round(time.perf_counter() - t0, 1)})


if __name__ == "__main__":
    main()
