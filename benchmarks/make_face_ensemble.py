"""Write one face model file that averages the probabilities of several trained face CNNs.

    python benchmarks/make_face_ensemble.py face runs/face_d --names S3 D --out runs/face_ensemble/model.safetensors --half

Each model is a bundled name (``face``), a model file or a run folder holding single ``face2d`` CNNs of one layout
and label set. The file holds them as the members of a ``FaceCNN2D`` with ``config.members = N``
(:meth:`emolab.models.FaceCNN2D.ensemble`): its output is the log of the members' mean softmax probabilities, so
evaluation, calibration, int8 (``bench_face_int8.py``) and the lesson pipeline read it like any face model. The
metadata names each member (name, weights sha256, the command that trained it) and carries the ensemble's FER2013
validation metrics when ``--fer2013`` is given (as ``emolab evaluate`` computes them). ``--half`` stores the weights in
float16 (half the file; computed in float32).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    from emolab.models import FaceCNN2D, load_model, save_model
    from emolab.recipes.inputs import resolve_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="bundled names, model files or run folders (at least two)")
    ap.add_argument("--names", nargs="*", default=None, help="a short name for each member")
    ap.add_argument("--out", required=True, type=Path, help="the ensemble's .safetensors file")
    ap.add_argument("--half", action="store_true", help="store the weights in float16")
    ap.add_argument("--fer2013", type=Path, default=None, help="FER2013 folder: store the ensemble's validation metrics")
    args = ap.parse_args(argv)
    names = args.names or [Path(m).stem for m in args.models]
    if len(names) != len(args.models) or len(set(names)) != len(names):
        raise SystemExit("give one distinct --names entry per model")
    models, metas = zip(*(load_model(resolve_model_path(m)) for m in args.models))
    if any(m["kind"] != "face2d" for m in metas) or len({tuple(m["labels"]) for m in metas}) != 1 \
            or len({repr(m["preprocessing"]) for m in metas}) != 1:
        raise SystemExit("the members must be face2d models with one label set and one preprocessing")
    ensemble = FaceCNN2D.ensemble(list(models), store_half=args.half).eval()
    members = [{"name": n, "sha256": m["sha256"], "trained_with": m.get("notes", ""),
                "fer2013_validation_accuracy": m.get("metrics", {}).get("accuracy")} for n, m in zip(names, metas)]
    notes = "probabilities averaged over " + "; ".join(f"{d['name']} ({d['trained_with'] or 'no command recorded'})" for d in members)
    metrics = {}
    save_model(args.out, ensemble, labels=tuple(metas[0]["labels"]), preprocessing={**metas[0]["preprocessing"], "members": members},
               notes=notes)
    if args.fer2013:
        from emolab.recipes.evaluate import evaluate_recipe

        ev = evaluate_recipe(str(args.out), "fer2013", args.fer2013, split="validation", progress=True)
        metrics = {**ev.metrics, "dataset": "fer2013", "split": "validation"}
        ensemble, _ = load_model(args.out)  # the stored (possibly float16-rounded) weights
        save_model(args.out, ensemble, labels=tuple(metas[0]["labels"]),
                   preprocessing={**metas[0]["preprocessing"], "members": members}, metrics=metrics, notes=notes)
        print(f"FER2013 validation: accuracy {metrics['accuracy']:.4f}, balanced {metrics['balanced_accuracy']:.4f}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
