"""Speech emotion from utterance-level functionals: does it travel better than the CNN? (issue 22 part 3)

Protocol (fixed before any result was seen):

* features (``speech_functionals.py``) of the centred 3-s window of every RAVDESS utterance, of 2
  room-augmented copies of each training utterance (actors 01-14; babble from the other actor of the
  same cross-validation fold, so no fold hears its test actors), of actors 15-18 through a simulated
  room (noise only, seed 123, as ``bench_speech_travel.py``) and of the 12 CREMA-D clips;
* every choice (feature blocks, classifier, C, augmentation) by leave-two-actors-out cross-validation
  on actors 01-14 (7 folds: actors 1+2, 3+4, ..., 13+14; one man and one woman each), scored by
  balanced accuracy pooled over the folds;
* the chosen set-up trained on actors 01-14 and scored once on actors 15-18 and the CREMA-D clips,
  which are never used for a choice; the other set-ups' test figures are reported beside it only so
  the table is complete.

    flock /work/train.lock python benchmarks/bench_speech_functionals.py --shared ../shared

Writes ``benchmarks/results/speech_functionals.json``; features are cached in ``runs/speech_functionals``.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CREMAD = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral", "SAD": "sadness"}
FOLDS = [(a, a + 1) for a in range(1, 15, 2)]


def extract(shared: Path, cache: Path, copies: int = 2) -> dict:
    """Blocks of every utterance (cached): clean RAVDESS, augmented training copies, room 15-18, CREMA-D."""
    f = cache / "blocks.npz"
    if f.is_file():
        z = np.load(f, allow_pickle=True)
        return {k: z[k].item() if z[k].dtype == object and z[k].shape == () else z[k] for k in z.files}
    from speech_functionals import all_blocks

    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.augment import room_augment
    from emolab.recipes import read_labelled
    from emolab.taxonomy import EMOTIONS

    names = list(EMOTIONS)
    data = shared / "data"
    m = read_labelled("ravdess", data / "ravdess_speech").reset_index(drop=True)
    y = np.array([names.index(v) for v in m["label"]])
    actor = m["actor"].astype(int).to_numpy()
    t0 = time.perf_counter()
    waves = [load_audio(p) for p in m["path"]]
    clean = [all_blocks(w) for w in waves]
    t_clean = time.perf_counter() - t0
    print(f"clean: {len(clean)} in {t_clean:.0f} s", flush=True)
    rng = np.random.default_rng(0)
    aug, aug_idx = [], []
    for c in range(copies):
        for i in np.flatnonzero(actor <= 14):
            partner = actor[i] + 1 if actor[i] % 2 else actor[i] - 1
            pool = [waves[j] for j in np.flatnonzero(actor == partner)]
            aug.append(all_blocks(room_augment(waves[i], rng=rng, babble_pool=pool)))
            aug_idx.append(i)
    print(f"augmented: {len(aug)} in {time.perf_counter() - t0 - t_clean:.0f} s", flush=True)
    rng = np.random.default_rng(123)  # as bench_speech_travel.py: the same draws in the same order
    va = np.flatnonzero(actor >= 15)
    room = [all_blocks(room_augment(waves[i], rng=rng)) for i in va]
    files = sorted(glob.glob(str(data / "real_video/cremad_av/1001_DFA_*.flv"))) + sorted(glob.glob(str(data / "real_video/cremad_audio/1002_DFA_*.mp3")))
    cwaves = [load_audio(p) for p in files]
    crem = [all_blocks(w) for w in cwaves]
    yc = np.array([names.index(CREMAD[Path(p).name.split("_")[2]]) for p in files])
    keys = list(clean[0])
    stack = lambda rows: {k: np.stack([r[k] for r in rows]) for k in keys}
    out = {"y": y, "actor": actor, "aug_idx": np.array(aug_idx), "yc": yc, "files": np.array([Path(p).name for p in files]), "va": va,
           **{f"clean__{k}": v for k, v in stack(clean).items()}, **{f"aug__{k}": v for k, v in stack(aug).items()},
           **{f"room__{k}": v for k, v in stack(room).items()}, **{f"crem__{k}": v for k, v in stack(crem).items()}}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(f, **out)
    return out


def design(d: dict, part: str, blocks) -> np.ndarray:
    return np.concatenate([d[f"{part}__{b}"] for b in blocks], axis=1).astype(np.float64)


def make_clf(spec: dict):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    kind = spec["clf"]
    if kind == "logreg":
        c = LogisticRegression(C=spec["C"], class_weight="balanced", max_iter=3000)
    elif kind == "linsvm":
        c = SVC(kernel="linear", C=spec["C"], class_weight="balanced", probability=False)
    elif kind == "rbf":
        c = SVC(kernel="rbf", C=spec["C"], gamma="scale", class_weight="balanced")
    elif kind == "mlp":
        c = MLPClassifier(hidden_layer_sizes=(spec.get("hidden", 64),), alpha=spec["C"], max_iter=600, early_stopping=False,
                          random_state=0)
    else:
        raise ValueError(kind)
    return make_pipeline(StandardScaler(), c)


def fit(spec: dict, d: dict, train_idx: np.ndarray):
    """Fit on the clean utterances ``train_idx`` (and their augmented copies when ``spec['aug']``)."""
    X, y = design(d, "clean", spec["blocks"])[train_idx], d["y"][train_idx]
    if spec.get("aug"):
        k = np.isin(d["aug_idx"], train_idx)
        X = np.concatenate([X, design(d, "aug", spec["blocks"])[k]])
        y = np.concatenate([y, d["y"][d["aug_idx"][k]]])
    w = None
    if spec["clf"] == "mlp":  # no class_weight: balance by resampling weights is not supported; oversample instead
        counts = np.bincount(y, minlength=7)
        rep = np.concatenate([np.random.default_rng(0).choice(np.flatnonzero(y == c), counts.max(), replace=True) for c in range(7) if counts[c]])
        X, y = X[rep], y[rep]
    return make_clf(spec).fit(X, y)


def cv_score(spec: dict, d: dict) -> dict:
    from sklearn.metrics import balanced_accuracy_score

    actor, y = d["actor"], d["y"]
    pred = np.full(len(y), -1)
    for pair in FOLDS:
        te = np.flatnonzero(np.isin(actor, pair))
        tr = np.flatnonzero((actor <= 14) & ~np.isin(actor, pair))
        pred[te] = fit(spec, d, tr).predict(design(d, "clean", spec["blocks"])[te])
    k = actor <= 14
    per_fold = [float((pred[np.isin(actor, p)] == y[np.isin(actor, p)]).mean()) for p in FOLDS]
    return {"cv_accuracy": float((pred[k] == y[k]).mean()), "cv_balanced": float(balanced_accuracy_score(y[k], pred[k])),
            "cv_fold_accuracy": per_fold}


def scores(pred: np.ndarray, y: np.ndarray, names: list[str]) -> dict:
    from sklearn.metrics import balanced_accuracy_score

    return {"accuracy": float((pred == y).mean()), "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
            "right": int((pred == y).sum()),
            "recall": {n: float((pred[y == i] == i).mean()) for i, n in enumerate(names) if (y == i).any()},
            "predicted": {n: int((pred == i).sum()) for i, n in enumerate(names) if (pred == i).any()}}


def test_score(spec: dict, d: dict, names: list[str]) -> dict:
    actor, y = d["actor"], d["y"]
    clf = fit(spec, d, np.flatnonzero(actor <= 14))
    va = d["va"]
    return {"actors15_18": scores(clf.predict(design(d, "clean", spec["blocks"])[va]), y[va], names),
            "actors15_18_room": scores(clf.predict(design(d, "room", spec["blocks"])), y[va], names),
            "cremad": {**scores(pd_ := clf.predict(design(d, "crem", spec["blocks"])), d["yc"], names),
                       "by_clip": [f"{f}: {names[int(p)]}" for f, p in zip(d["files"], pd_)]}}


def cnn_logits(shared: Path, cache: Path) -> dict:
    """The bundled speech CNN's fp32 logits on actors 15-18 (clean, room) and the CREMA-D clips, cached."""
    f = cache / "cnn_logits.npz"
    if f.is_file():
        z = np.load(f)
        return {k: z[k] for k in z.files}
    import bench_speech_travel as bst

    from emolab.models import load_model
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.augment import room_augment
    from emolab.preprocessing.inputs import load_speech_inputs, speech_input
    from emolab.recipes import read_labelled, resolve_model_path

    data = shared / "data"
    m = read_labelled("ravdess", data / "ravdess_speech").reset_index(drop=True)
    sub = m[m["actor"].astype(int) >= 15].reset_index(drop=True)
    X = load_speech_inputs(sub, progress=False)
    rng = np.random.default_rng(123)
    Xroom = np.stack([speech_input(room_augment(load_audio(p), rng=rng)) for p in sub["path"]])
    files = sorted(glob.glob(str(data / "real_video/cremad_av/1001_DFA_*.flv"))) + sorted(glob.glob(str(data / "real_video/cremad_audio/1002_DFA_*.mp3")))
    Xc = np.stack([speech_input(load_audio(p)) for p in files])
    model, _ = load_model(resolve_model_path("speech"))
    out = {"clean": bst.logits_of(model, X), "room": bst.logits_of(model, Xroom), "crem": bst.logits_of(model, Xc)}
    np.savez(f, **out)
    return out


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def test_stage(d: dict, sets: dict, names: list[str], shared: Path, cache: Path) -> dict:
    """Train on actors 01-14, score 15-18 (clean, room) and CREMA-D: the CV-chosen set-up, its neighbours, the CNN, an ensemble."""
    from _common import save

    chosen = {"set": "all-nomean minus delta_absmean", "blocks": tuple(b for b in sets["all-nomean"] if b != "delta_absmean"),
              "clf": "logreg", "C": 0.01}
    others = [{"set": "all-nomean", "blocks": sets["all-nomean"], "clf": "logreg", "C": 0.01},
              {"set": "all-nomean", "blocks": sets["all-nomean"], "clf": "logreg", "C": 0.01, "aug": True},
              {"set": "all-nomean", "blocks": sets["all-nomean"], "clf": "rbf", "C": 3.0, "aug": True},
              {"set": "map", "blocks": sets["map"], "clf": "rbf", "C": 10.0},
              {"set": "map", "blocks": sets["map"], "clf": "logreg", "C": 0.03},
              {"set": "map+prosody", "blocks": sets["map+prosody"], "clf": "logreg", "C": 0.01}]
    out = {"chosen_by_cv": {k: v for k, v in chosen.items() if k != "blocks"}, "rows": []}
    y, va, yc = d["y"], d["va"], d["yc"]
    cnn = cnn_logits(shared, cache)
    out["cnn"] = {"actors15_18": scores(cnn["clean"].argmax(1), y[va], names), "actors15_18_room": scores(cnn["room"].argmax(1), y[va], names),
                  "cremad": scores(cnn["crem"].argmax(1), yc, names)}
    for i, s in enumerate([chosen] + others):
        r = {**{k: v for k, v in s.items() if k != "blocks"}, "chosen": i == 0, **cv_score(s, d), **test_score(s, d, names)}
        out["rows"].append(r)
        if i == 0:  # a priori equal-weight ensemble with the bundled CNN (log-probabilities averaged; no weight tuned)
            clf = fit(s, d, np.flatnonzero(d["actor"] <= 14))
            lp = {part: np.log(np.clip(clf.predict_proba(design(d, part, s["blocks"])[va] if part == "clean" else design(d, part, s["blocks"])), 1e-9, None))
                  for part in ("clean", "room", "crem")}
            ens = {part: (lp[part] + log_softmax(cnn[part])) / 2 for part in lp}
            out["ensemble_cnn"] = {"actors15_18": scores(ens["clean"].argmax(1), y[va], names),
                                   "actors15_18_room": scores(ens["room"].argmax(1), y[va], names),
                                   "cremad": scores(ens["crem"].argmax(1), yc, names)}
    for tag, r in [("CNN", out["cnn"])] + [(f"{r['set']} {r['clf']} C={r['C']} aug={bool(r.get('aug'))}", r) for r in out["rows"]] + [("ensemble", out["ensemble_cnn"])]:
        print(f"{tag:50s} CV {r.get('cv_accuracy', float('nan')):.3f}  15-18 {r['actors15_18']['accuracy']:.3f} (bal {r['actors15_18']['balanced_accuracy']:.3f})  "
              f"room {r['actors15_18_room']['accuracy']:.3f}  CREMA-D {r['cremad']['right']}/12 {r['cremad']['predicted']}")
    save("speech_functionals", out)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared", help="the shared/ folder with data/ (default ../shared)")
    ap.add_argument("--cache", default="runs/speech_functionals", help="feature cache folder")
    ap.add_argument("--grid", type=int, default=1, help="cross-validation grid 1 or 2")
    ap.add_argument("--stage", choices=("extract", "cv", "test"), default="all")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from speech_functionals import MAP_BLOCKS, WAVE_BLOCKS

    from emolab.taxonomy import EMOTIONS

    names = list(EMOTIONS)
    d = extract(Path(a.shared), Path(a.cache))
    if a.stage == "extract":
        return {}
    no_mean = tuple(b for b in MAP_BLOCKS if b != "mfcc_mean")
    sets = {"map": MAP_BLOCKS, "map-nomean": no_mean, "map+prosody": MAP_BLOCKS + ("loudness", "pitch"),
            "all": MAP_BLOCKS + WAVE_BLOCKS, "all-abs": MAP_BLOCKS + tuple(b for b in WAVE_BLOCKS if b != "pitch_abs"),
            "all-nomean": no_mean + WAVE_BLOCKS, "wave": WAVE_BLOCKS}
    if a.stage == "test":
        return test_stage(d, sets, names, Path(a.shared), Path(a.cache))
    specs = []
    if a.grid == 1:
        for sname, blocks in sets.items():
            for C in (0.01, 0.03, 0.1, 0.3):
                specs.append({"set": sname, "blocks": blocks, "clf": "logreg", "C": C})
            for C in (1.0, 3.0, 10.0):
                specs.append({"set": sname, "blocks": blocks, "clf": "rbf", "C": C})
    else:  # grid 2: around the best of grid 1 (all blocks, logistic regression): smaller C, augmentation, MLP, block ablation
        base = sets["all-nomean"]
        for C in (0.001, 0.003, 0.01):
            specs.append({"set": "all-nomean", "blocks": base, "clf": "logreg", "C": C})
            specs.append({"set": "all-nomean", "blocks": base, "clf": "logreg", "C": C, "aug": True})
            specs.append({"set": "all", "blocks": sets["all"], "clf": "logreg", "C": C, "aug": True})
        for C in (1.0, 3.0):
            specs.append({"set": "all-nomean", "blocks": base, "clf": "rbf", "C": C, "aug": True})
        for alpha in (1.0, 10.0):
            specs.append({"set": "all-nomean", "blocks": base, "clf": "mlp", "C": alpha})
            specs.append({"set": "all-nomean", "blocks": base, "clf": "mlp", "C": alpha, "aug": True})
        for b in base:
            specs.append({"set": f"all-nomean minus {b}", "blocks": tuple(x for x in base if x != b), "clf": "logreg", "C": 0.01})
    rows = []
    t0 = time.perf_counter()
    for s in specs:
        r = {**{k: v for k, v in s.items() if k != "blocks"}, **cv_score(s, d)}
        rows.append(r)
        print(f"{r['set']:12s} {r['clf']:7s} C={r['C']:<5g} aug={bool(s.get('aug'))}  CV acc {r['cv_accuracy']:.3f} bal {r['cv_balanced']:.3f}  "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    result = {"cv": rows}
    Path(a.cache, f"cv{a.grid}.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
