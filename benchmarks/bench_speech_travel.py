"""Does a speech emotion model travel? Two models side by side on held-out actors, other rooms and another corpus.

For each model (default: the bundled ``speech`` and a newly trained one):

* RAVDESS actors 15-18 (clean, n = 240): accuracy, balanced accuracy, recall per class;
* the same utterances through a simulated room (:func:`emolab.preprocessing.augment.room_augment`,
  noise only, fixed seed): how much is lost;
* the 12 CREMA-D clips in ``shared/data/real_video`` (actor 1001 from the video files, 1002 from
  the mp3s; six emotions each, no surprise): how many are right, and the predicted classes;
* calibration on actors 15-18: temperature fitted by NLL on all 240 and cross-fitted (actors
  15 + 17 vs 16 + 18), ECE (15 bins) before and after, accuracy by confidence bin and the
  coverage/accuracy curve of accepting only predictions at or above a confidence;
* CPU time of one 3-s window (model in a batch of 32, and its features; one thread, fastest of
  repeats), per second of audio: a lesson scoring a window every second of speech costs three times that.

A model whose head was refit on actors 01-18 after selection (its file's ``metrics["refit"]``) has trained
on actors 15-18: its figures there are marked in-sample; CREMA-D stays an outside test. All logits in fp32. ``python benchmarks/bench_speech_travel.py --shared ../shared --new runs/speech_room``
writes ``benchmarks/results/speech_travel.json``.
"""

from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path

import numpy as np

CREMAD = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral", "SAD": "sadness"}


def logits_of(model, X: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model.eval()(torch.from_numpy(np.asarray(X, np.float32))).numpy().astype(np.float64)


def _softmax(z: np.ndarray) -> np.ndarray:
    from emolab.calibration import apply_temperature

    return apply_temperature(z, 1.0)


def nll(z: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(_softmax(z)[np.arange(len(y)), y], 1e-12, None)).mean())


def by_confidence(p: np.ndarray, y: np.ndarray, edges=(0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)) -> list[dict]:
    conf, right = p.max(1), p.argmax(1) == y
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        k = (conf >= lo) & (conf < hi)
        rows.append({"bin": f"{lo:.1f}-{min(hi, 1):.1f}", "n": int(k.sum()), "accuracy": float(right[k].mean()) if k.any() else None})
    return rows


def scores(z: np.ndarray, y: np.ndarray, names: list[str]) -> dict:
    from sklearn.metrics import balanced_accuracy_score

    pred = z.argmax(1)
    recall = {n: float((pred[y == i] == i).mean()) for i, n in enumerate(names) if (y == i).any()}
    return {"accuracy": float((pred == y).mean()), "balanced_accuracy": float(balanced_accuracy_score(y, pred)), "recall": recall,
            "predicted": {n: int((pred == i).sum()) for i, n in enumerate(names) if (pred == i).any()}}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared", help="the shared/ folder with data/ (default ../shared)")
    ap.add_argument("--old", default="speech", help="first model: a file, a training folder or a bundled name (default speech)")
    ap.add_argument("--new", required=True, help="second model: a file or a training folder")
    ap.add_argument("--out", default="speech_travel", help="results name under benchmarks/results (default speech_travel)")
    a = ap.parse_args(argv)

    import torch

    from _common import save
    from emolab.calibration import expected_calibration_error as ece
    from emolab.calibration import fit_temperature, selective_accuracy
    from emolab.models import load_model
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.augment import room_augment
    from emolab.preprocessing.inputs import load_speech_inputs, speech_input
    from emolab.recipes import default_split, read_labelled, resolve_model_path
    from emolab.taxonomy import EMOTIONS

    torch.set_num_threads(1)
    names = list(EMOTIONS)
    data = Path(a.shared) / "data"
    m = read_labelled("ravdess", data / "ravdess_speech")
    va = default_split(m, "ravdess")[1]
    sub = m.iloc[va].reset_index(drop=True)
    y = np.array([names.index(v) for v in sub["label"]])
    actor = sub["actor"].astype(int).to_numpy()
    files = sorted(glob.glob(str(data / "real_video/cremad_av/1001_DFA_*.flv"))) + sorted(glob.glob(str(data / "real_video/cremad_audio/1002_DFA_*.mp3")))
    yc = np.array([names.index(CREMAD[Path(f).name.split("_")[2]]) for f in files])
    waves = [load_audio(f) for f in files]
    rooms = {}

    def inputs(feature: str):
        """Actors 15-18 clean and through a room (noise only, seed 123), and the CREMA-D clips, in ``feature``."""
        if feature not in rooms:
            rng = np.random.default_rng(123)
            rooms[feature] = (load_speech_inputs(sub, feature=feature, progress=False),
                              np.stack([speech_input(room_augment(load_audio(p), rng=rng), feature=feature) for p in sub["path"]]),
                              np.stack([speech_input(w, feature=feature) for w in waves]))
        return rooms[feature]

    result = {"n_actors15_18": int(len(y)), "cremad_files": [Path(f).name for f in files], "models": {}}
    for tag, spec in (("old", a.old), ("new", a.new)):
        path = resolve_model_path(spec)
        model, meta = load_model(path)
        feature = meta["config"].get("feature", "mfcc")
        X, Xroom, Xc = inputs(feature)
        z, zr, zc = logits_of(model, X), logits_of(model, Xroom), logits_of(model, Xc)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):  # as a lesson runs it on CPU
            z16 = model.eval()(torch.from_numpy(X)).float().numpy().astype(np.float64)
        T = fit_temperature(z, y)
        half = np.isin(actor, (15, 17))
        Ta, Tb = fit_temperature(z[half], y[half]), fit_temperature(z[~half], y[~half])
        zx = np.where(half[:, None], z / Tb, z / Ta)  # each half calibrated with the other half's temperature
        pc = _softmax(zc / T)
        xb, runs = torch.from_numpy(X[:32]), []
        with torch.no_grad():
            model(xb)
            for _ in range(5):  # the fastest of 5: the CPU is shared with other work
                t0 = time.perf_counter()
                model(xb)
                runs.append((time.perf_counter() - t0) / len(xb) * 1000)
        model_ms, runs = min(runs), []
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for _ in range(5):
                t0 = time.perf_counter()
                model(xb)
                runs.append((time.perf_counter() - t0) / len(xb) * 1000)
        model_bf16_ms, runs = min(runs), []
        for _ in range(3):
            t0 = time.perf_counter()
            for w in waves[:6]:
                speech_input(w, feature=feature)
            runs.append((time.perf_counter() - t0) / 6 * 1000)
        feat_ms = min(runs)
        seconds = float(meta["config"].get("seconds", 3.0))
        result["models"][tag] = {
            "file": path.name, "bytes": path.stat().st_size, "config": meta["config"], "notes": meta.get("notes", ""),
            "actors15_18_in_training": bool(meta.get("metrics", {}).get("refit")),  # a head refit on 01-18: its 15-18 figures are in-sample
            "actors15_18": scores(z, y, names), "actors15_18_room": scores(zr, y, names),
            "cremad": {**scores(zc, yc, names), "right": int((zc.argmax(1) == yc).sum()),
                       "predictions": [{"file": Path(f).name, "true": names[t], "predicted": names[int(p)], "confidence": round(float(c), 3)}
                                       for f, t, p, c in zip(files, yc, pc.argmax(1), pc.max(1))]},
            "calibration": {"temperature": T, "temperature_15_17": Ta, "temperature_16_18": Tb,
                            "ece_raw": ece(_softmax(z), y), "ece_T": ece(_softmax(z / T), y), "ece_crossfit": ece(_softmax(zx), y),
                            "nll_raw": nll(z, y), "nll_T": nll(z / T, y), "nll_crossfit": nll(zx, y),
                            "mean_confidence_raw": float(_softmax(z).max(1).mean()), "mean_confidence_T": float(_softmax(z / T).max(1).mean()),
                            "bins_raw": by_confidence(_softmax(z), y), "bins_T": by_confidence(_softmax(z / T), y),
                            "coverage_T": selective_accuracy(_softmax(z / T), y).to_dict("records")},
            "bf16_autocast": {"accuracy": float((z16.argmax(1) == y).mean()), "agreement_with_fp32": float((z16.argmax(1) == z.argmax(1)).mean()),
                              "mean_abs_logit_difference": float(np.abs(z16 - z).mean())},
            "cpu_ms_per_audio_second": {"model": model_ms / seconds, "model_bf16_autocast": model_bf16_ms / seconds, "features": feat_ms / seconds, "threads": 1, "batch": len(xb)},
        }
        r = result["models"][tag]
        print(f"{tag}: actors 15-18{' (IN TRAINING: in-sample)' if r['actors15_18_in_training'] else ''} {r['actors15_18']['accuracy']:.3f} (bal {r['actors15_18']['balanced_accuracy']:.3f}), "
              f"room {r['actors15_18_room']['accuracy']:.3f}, CREMA-D {r['cremad']['right']}/12 {r['cremad']['predicted']}, "
              f"T {T:.2f}, ECE {r['calibration']['ece_raw']:.3f} -> {r['calibration']['ece_T']:.3f}, "
              f"{model_ms / seconds:.2f} + {feat_ms / seconds:.2f} ms per s", flush=True)
    save(a.out, result)
    return result


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
