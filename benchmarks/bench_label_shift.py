"""Does prior adaptation help when a lesson's emotions are not FER2013's mix? (Saerens et al. 2002 EM.)

Lessons are mostly neutral; FER2013 is 25 % happiness. Sets of ``n`` FER2013 validation faces are drawn
with a target class mix (40 draws each), and the face model's probabilities are re-weighted with
:func:`emolab.calibration.adapt_priors` (train prior: FER2013 train's class shares). Two calibrations,
both cross-fitted on two class-stratified halves of validation: one temperature, and a temperature
with per-class biases (:func:`emolab.calibration.fit_bias_corrected_temperature`). Printed: accuracy,
negative log-likelihood, ECE and the error of the estimated class mix (total variation distance;
"before" = the mean of the probabilities), at 48 px and at 24 px.

Usage::

    python benchmarks/bench_label_shift.py [--fer2013 ../shared/data/fer2013] [--draws 40] [--write-calibration]

Writes ``benchmarks/results/label_shift.json``; with ``--write-calibration`` also the face model's
bias-corrected temperature (fitted on all 48-px validation faces) and FER2013 train's class shares
into ``emolab/pretrained/calibration.json`` (``bias_corrected``), for :func:`emolab.calibration.adapt_priors`.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402
from bench_face_readability import degrade, halves, logits_of  # noqa: E402

TARGETS = {"FER2013 validation's own mix": None,
           "neutral 60 %": (0.05, 0.01, 0.05, 0.15, 0.60, 0.09, 0.05),
           "neutral 45 %, happiness 40 %": (0.03, 0.01, 0.03, 0.40, 0.45, 0.05, 0.03),
           "uniform": (1 / 7,) * 7}


def cross_fit(z: np.ndarray, y: np.ndarray, a: np.ndarray, biased: bool) -> np.ndarray:
    from emolab.calibration import apply_temperature, fit_bias_corrected_temperature, fit_temperature

    p = np.empty_like(z, dtype=np.float64)
    for fit, use in ((a, ~a), (~a, a)):
        if biased:
            t, b = fit_bias_corrected_temperature(z[fit], y[fit])
            p[use] = apply_temperature(z[use], t, bias=b)
        else:
            p[use] = apply_temperature(z[use], fit_temperature(z[fit], y[fit]))
    return p


def main() -> None:
    import torch

    from emolab.bundled import pretrained
    from emolab.calibration import adapt_priors, expected_calibration_error, fit_bias_corrected_temperature, record_calibration
    from emolab.data import read_corpus
    from emolab.preprocessing.inputs import load_face_images
    from emolab.taxonomy import EMOTIONS

    ap = argparse.ArgumentParser()
    ap.add_argument("--fer2013", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"))
    ap.add_argument("--draws", type=int, default=40)
    ap.add_argument("--write-calibration", action="store_true", help="store the face model's bias-corrected temperature")
    args = ap.parse_args()
    if not Path(args.fer2013, "validation").is_dir():
        print(f"bench_label_shift: skipped — no FER2013 at {args.fer2013} (give --fer2013)")
        return
    torch.set_num_threads(1)
    m = read_corpus("fer2013", args.fer2013)
    train = m[m["split"] == "train"]["label"].astype(str)
    train_prior = np.array([(train == e).mean() for e in EMOTIONS])
    v = m[m["split"] == "validation"].reset_index(drop=True)
    images = load_face_images(v, progress=False)
    y = np.array([EMOTIONS.index(e) for e in v["label"].astype(str)])
    a = halves(y)
    model, _ = pretrained("face")
    rng = np.random.default_rng(0)
    rows = []
    for size in (48, 24):
        z = logits_of(model, np.stack([degrade(img, size)[0] for img in images]))
        if size == 48 and args.write_calibration:
            t, b = fit_bias_corrected_temperature(z, y)
            record_calibration("face", bias_corrected={
                "temperature": round(t, 4), "bias": [round(float(x), 4) for x in b], "labels": list(EMOTIONS),
                "train_prior": [round(float(x), 5) for x in train_prior],
                "fitted_on": f"FER2013 validation, all {len(y):,} faces at 48 px", "command": "python benchmarks/bench_label_shift.py --write-calibration",
                "use": "adapt_priors(apply_temperature(logits, temperature, bias=bias), train_prior=train_prior); see docs/readability.md"})
        for calib, biased in (("temperature", False), ("temperature + class biases", True)):
            p = cross_fit(z, y, a, biased)
            for target, mix in TARGETS.items():
                for n in (200, 1000):
                    acc = []
                    for _ in range(args.draws):
                        if mix is None:
                            idx = rng.choice(len(y), n)
                        else:
                            idx = np.array([rng.choice(np.flatnonzero(y == c)) for c in rng.choice(7, n, p=mix)])
                        pp, yy = p[idx], y[idx]
                        q, prior = adapt_priors(pp, train_prior=train_prior)
                        true, r = np.bincount(yy, minlength=7) / n, np.arange(n)
                        acc.append([(pp.argmax(1) == yy).mean(), (q.argmax(1) == yy).mean(), -np.log(pp[r, yy]).mean(),
                                    -np.log(q[r, yy]).mean(), expected_calibration_error(pp, yy), expected_calibration_error(q, yy),
                                    np.abs(pp.mean(0) - true).sum() / 2, np.abs(prior - true).sum() / 2])
                    mean = np.mean(acc, axis=0).round(4)
                    row = {"size_px": size, "calibration": calib, "class_mix": target, "n": n, "draws": args.draws,
                           **dict(zip(["accuracy", "accuracy_em", "nll", "nll_em", "ece", "ece_em", "mix_error", "mix_error_em"],
                                      map(float, mean)))}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    save("label_shift", {"train_prior": dict(zip(EMOTIONS, train_prior.round(4).tolist())), "rows": rows})


if __name__ == "__main__":
    main()
