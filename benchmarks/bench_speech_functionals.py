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

    python benchmarks/bench_speech_functionals.py --shared ../shared --stage extract   # features, ~2 min on one core
    python benchmarks/bench_speech_functionals.py --shared ../shared --stage cv --grid 1   # grids 1, 2, 3: CV on 01-14 only
    python benchmarks/bench_speech_functionals.py --shared ../shared --stage test         # the CV choice on 15-18 and CREMA-D
    python benchmarks/bench_speech_functionals.py --shared ../shared --stage time         # CPU ms per second of audio

Writes ``benchmarks/results/speech_functionals.json`` (test) and ``speech_functionals_time.json``; features and
CV tables are cached in ``runs/speech_functionals`` (the CV tables of the write-up are gathered in
``benchmarks/results/speech_functionals_cv.json``). Results and decision: ``emolab/pretrained/speech.md``.
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


def extract(shared: Path, cache: Path, copies: int = 2, which: str = "blocks") -> dict:
    """Blocks of every utterance (cached): clean RAVDESS, augmented training copies, room 15-18, CREMA-D.
    ``which``: "blocks" (``all_blocks``) or "extra" (``extra_blocks``); both see the same augmented waves."""
    f = cache / f"{which}.npz"
    if f.is_file():
        z = np.load(f, allow_pickle=True)
        return {k: z[k].item() if z[k].dtype == object and z[k].shape == () else z[k] for k in z.files}
    import speech_functionals

    all_blocks = speech_functionals.all_blocks if which == "blocks" else speech_functionals.extra_blocks

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
    if spec["clf"] == "mlp":  # MLPClassifier has no class_weight: oversample every class to the largest one instead
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


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value of b against c discordant pairs."""
    from scipy.stats import binomtest

    return float(binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def test_stage(d: dict, sets: dict, names: list[str], shared: Path, cache: Path) -> dict:
    """Train on actors 01-14, score 15-18 (clean, room) and CREMA-D: the CV-chosen set-up, its neighbours, the CNN, an ensemble."""
    from _common import save

    from speech_functionals import EXTRA_BLOCKS

    v1 = tuple(b for b in sets["all-nomean"] if b != "delta_absmean")
    v2 = v1 + tuple(b for b in EXTRA_BLOCKS if b != "logmel_med")
    # the best cross-validated set-up of grids 1-3 (grid 1's and 2's winners are listed beside it)
    chosen = {"set": "v2-nomed", "blocks": v2, "clf": "logreg", "C": 0.03}
    others = [{"set": "v2-nomed", "blocks": v2, "clf": "logreg", "C": 0.1},
              {"set": "v2-nomed", "blocks": v2, "clf": "logreg", "C": 0.03, "aug": True},
              {"set": "v2-nomed", "blocks": v2, "clf": "rbf", "C": 10.0, "aug": True},
              {"set": "v1 (grid 2 winner)", "blocks": v1, "clf": "logreg", "C": 0.01},
              {"set": "v1", "blocks": v1, "clf": "rbf", "C": 10.0, "aug": True},
              {"set": "all-nomean", "blocks": sets["all-nomean"], "clf": "rbf", "C": 3.0, "aug": True},
              {"set": "map", "blocks": sets["map"], "clf": "rbf", "C": 10.0},
              {"set": "map", "blocks": sets["map"], "clf": "logreg", "C": 0.03},
              {"set": "map+prosody", "blocks": sets["map+prosody"], "clf": "logreg", "C": 0.01}]
    out = {"chosen_by_cv": {k: v for k, v in chosen.items() if k != "blocks"}, "rows": []}
    y, va, yc = d["y"], d["va"], d["yc"]
    cnn = cnn_logits(shared, cache)
    out["cnn"] = {"actors15_18": scores(cnn["clean"].argmax(1), y[va], names), "actors15_18_room": scores(cnn["room"].argmax(1), y[va], names),
                  "cremad": {**scores(cnn["crem"].argmax(1), yc, names),
                             "by_clip": [f"{f}: {names[int(p)]}" for f, p in zip(d["files"], cnn["crem"].argmax(1))]}}
    for i, s in enumerate([chosen] + others):
        r = {**{k: v for k, v in s.items() if k != "blocks"}, "chosen": i == 0, **cv_score(s, d), **test_score(s, d, names)}
        out["rows"].append(r)
        if i == 0:  # a priori equal-weight ensemble with the bundled CNN (log-probabilities averaged; no weight tuned)
            clf = fit(s, d, np.flatnonzero(d["actor"] <= 14))
            lp = {part: np.log(np.clip(clf.predict_proba(design(d, part, s["blocks"])[va] if part == "clean" else design(d, part, s["blocks"])), 1e-9, None))
                  for part in ("clean", "room", "crem")}
            ens = {part: (lp[part] + log_softmax(cnn[part])) / 2 for part in lp}
            right_e, right_c = ens["clean"].argmax(1) == y[va], cnn["clean"].argmax(1) == y[va]
            out["ensemble_cnn"] = {"actors15_18": scores(ens["clean"].argmax(1), y[va], names),
                                   "actors15_18_room": scores(ens["room"].argmax(1), y[va], names),
                                   "cremad": {**scores(ens["crem"].argmax(1), yc, names),
                                              "by_clip": [f"{f}: {names[int(p)]}" for f, p in zip(d["files"], ens["crem"].argmax(1))]},
                                   # paired with the CNN on actors 15-18: utterances only one of the two gets right, exact McNemar p
                                   "vs_cnn_only_ensemble_right": int((right_e & ~right_c).sum()),
                                   "vs_cnn_only_cnn_right": int((~right_e & right_c).sum()),
                                   "vs_cnn_mcnemar_p": mcnemar_p(int((right_e & ~right_c).sum()), int((~right_e & right_c).sum()))}
    for tag, r in [("CNN", out["cnn"])] + [(f"{r['set']} {r['clf']} C={r['C']} aug={bool(r.get('aug'))}", r) for r in out["rows"]] + [("ensemble", out["ensemble_cnn"])]:
        print(f"{tag:50s} CV {r.get('cv_accuracy', float('nan')):.3f}  15-18 {r['actors15_18']['accuracy']:.3f} (bal {r['actors15_18']['balanced_accuracy']:.3f})  "
              f"room {r['actors15_18_room']['accuracy']:.3f}  CREMA-D {r['cremad']['right']}/12 {r['cremad']['predicted']}")
    save("speech_functionals", out)
    return out


def time_stage(shared: Path) -> dict:
    """CPU time per second of audio of one 3-s window (one thread, fastest of 5): the bundled CNN and its MFCCs, the
    functional blocks as implemented here, and their parts (what a shared-STFT implementation could not avoid)."""
    import librosa
    import torch
    from speech_functionals import all_blocks, extra_blocks, map_blocks

    from _common import save
    from emolab.models import load_model
    from emolab.preprocessing.audio import fix_length, load_audio, mfcc_features
    from emolab.preprocessing.inputs import speech_input
    from emolab.recipes import resolve_model_path

    files = sorted(glob.glob(str(shared / "data/ravdess_speech/Actor_15/*.flac")))[:6]
    waves = [fix_length(load_audio(p), 48000) for p in files]

    def best(fn, reps=5):
        runs = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for w in waves:
                fn(w)
            runs.append((time.perf_counter() - t0) / len(waves) / 3.0 * 1000)
        return min(runs)

    model, _ = load_model(resolve_model_path("speech"))
    xb = torch.from_numpy(np.stack([speech_input(w) for w in waves] * 6)[:32])
    with torch.no_grad():
        model.eval()(xb)
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            model(xb)
            runs.append((time.perf_counter() - t0) / len(xb) / 3.0 * 1000)
    y8 = lambda w: librosa.resample(w, orig_sr=16000, target_sr=8000, res_type="polyphase")
    out = {"ms_per_audio_second": {
        "cnn_model": min(runs), "mfcc_map": best(speech_input),
        "functionals_all_blocks": best(all_blocks), "functionals_extra_blocks": best(extra_blocks),
        "part_map_blocks_from_mfcc": best(lambda w: map_blocks(mfcc_features(w))) - best(mfcc_features),
        "part_stft_512": best(lambda w: librosa.stft(w, n_fft=512, hop_length=160, win_length=400)),
        "part_yin_16k": best(lambda w: librosa.yin(w, fmin=60, fmax=600, sr=16000, frame_length=640, hop_length=160)),
        "part_yin_8k_with_resample": best(lambda w: librosa.yin(y8(w), fmin=60, fmax=600, sr=8000, frame_length=320, hop_length=80)),
    }, "threads": torch.get_num_threads(), "window_seconds": 3.0, "note": "fastest of 5 over 6 windows, CPU shared with other work"}
    for k, v in out["ms_per_audio_second"].items():
        print(f"{k:32s} {v:6.2f} ms per s of audio")
    save("speech_functionals_time", out)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared", help="the shared/ folder with data/ (default ../shared)")
    ap.add_argument("--cache", default="runs/speech_functionals", help="feature cache folder")
    ap.add_argument("--grid", type=int, default=1, help="cross-validation grid 1 or 2")
    ap.add_argument("--stage", choices=("extract", "cv", "test", "time"), default="all")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from speech_functionals import MAP_BLOCKS, WAVE_BLOCKS

    from emolab.taxonomy import EMOTIONS

    names = list(EMOTIONS)
    if a.stage == "time":
        return time_stage(Path(a.shared))
    d = extract(Path(a.shared), Path(a.cache))
    d.update({k: v for k, v in extract(Path(a.shared), Path(a.cache), which="extra").items() if "__" in k})
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
    elif a.grid == 3:  # grid 3: second-round blocks added to the grid-2 winner; logistic regression and RBF SVM, with and without augmentation
        from speech_functionals import EXTRA_BLOCKS

        base = tuple(b for b in sets["all-nomean"] if b != "delta_absmean")
        cands = {"v1": base, "v2": base + EXTRA_BLOCKS, "v2-nomed": base + tuple(b for b in EXTRA_BLOCKS if b != "logmel_med")}
        for b in EXTRA_BLOCKS:
            cands[f"v1+{b}"] = base + (b,)
        for name, blocks in cands.items():
            for C in (0.003, 0.01, 0.03):
                specs.append({"set": name, "blocks": blocks, "clf": "logreg", "C": C})
            if name.startswith("v2") or name == "v1":
                for C in (1.0, 3.0, 10.0):
                    specs.append({"set": name, "blocks": blocks, "clf": "rbf", "C": C})
                    specs.append({"set": name, "blocks": blocks, "clf": "rbf", "C": C, "aug": True})
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
    Path(a.cache, f"cv{a.grid}.json")  # gathered in benchmarks/results/speech_functionals_cv.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
