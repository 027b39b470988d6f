"""Speech emotion from a pretrained voice encoder (issue 22): Resemblyzer's LSTM layers + a linear classifier.

Resemblyzer (Apache-2.0, PyPI ``resemblyzer`` 0.1.4) ships a GE2E speaker encoder (3 LSTM layers of 256 over
40 mel bands, trained for speaker verification on public speech corpora) in its wheel as
``resemblyzer/pretrained.pt``. Its *second* layer's activations, pooled over a window (mean and standard
deviation over the active frames), carry emotion well across speakers. This script copies its first two layers
into an emolab speech model (``SpeechCNNConfig(encoder="voice")``, :class:`emolab.models.zoo.VoiceStats`),
measures the features of RAVDESS, and fits a linear head on actors 01-14 (logistic regression, or linear
discriminant analysis with a shrunk covariance: both are one linear layer over the standardised statistics).

Protocol, fixed before any test figure of this script was computed (the ``--grid`` choices):
  * features: the same centred 3-s window of 40 log-mel bands the lesson reads (``feature="logmel40"``);
  * head: standardised statistics, logistic regression (class-balanced) or, since session 13, shrinkage LDA
    (``--heads``); grid: room copies (0 or ``--copies`` noise-only ``room_augment`` copies of each training
    utterance) x head;
  * selection: leave-two-actors-out cross-validation on actors 01-14 (7 folds, 1+2 ... 13+14), scored on the
    held-out actors' clean utterances *and* on one room copy of them; the set-up with the best mean of the
    two accuracies is chosen, then trained on 01-14 and scored once on actors 15-18 (clean and through a
    room, seed 123), and on the 12 CREMA-D clips of ``shared/data/real_video`` when present.

Refit after selection (``--final-actors 18``, the default since session 17): the chosen set-up is then
estimated by leave-two-actors-out cross-validation over actors 01-18 (9 folds, the same clean and room
scores), its out-of-fold logits give the temperature (cross-fitted by actor halves) and the abstention curve,
and the shipped head is fitted on all 18 actors (plus their room copies). The figures on actors 15-18 above
are those of the 01-14 head, the last held-out figures of this set-up; the refit head has trained on those
actors, so ``emolab evaluate`` on them is in-sample (it says so). ``--final-actors 14`` keeps the 01-14 head.

Usage::

    pip download --no-deps resemblyzer==0.1.4 -d /tmp/rz      # the wheel (15.7 MB); nothing is downloaded at run time
    python benchmarks/train_speech_voice.py --shared ../shared --encoder /tmp/rz/Resemblyzer-0.1.4-py3-none-any.whl \\
        --out runs/speech_voice/model.safetensors             # ~20 min on 2 cores; results/speech_voice.json
    # then: --write-calibration stores the out-of-fold temperature in emolab/pretrained/calibration.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np

HEADS = {"lr": "logistic regression (class-balanced), C =", "lda": "linear discriminant analysis (lsqr), shrinkage"}
CREMAD = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral", "SAD": "sadness"}


def encoder_state(path: str) -> dict:
    """Resemblyzer's ``model_state`` from its wheel (``.whl``) or from ``pretrained.pt``."""
    import torch

    try:
        if path.endswith(".whl"):
            with zipfile.ZipFile(path) as z:
                raw = io.BytesIO(z.read("resemblyzer/pretrained.pt"))
        else:
            raw = path
        state = torch.load(raw, map_location="cpu", weights_only=False)["model_state"]
        if "lstm.weight_ih_l1" not in state:
            raise KeyError("lstm.weight_ih_l1")
        return state
    except Exception as exc:  # a wrong file fails here, with what to get instead
        raise SystemExit(f"--encoder {path}: not Resemblyzer 0.1.4's wheel or pretrained.pt ({exc.__class__.__name__}: {exc}); "
                         "get it with: pip download --no-deps resemblyzer==0.1.4 -d DIR")


def voice_model(state: dict, layers: int = 2, level_db: float = 0.0, pool: tuple[int, ...] = ()):
    """An untrained-head speech model whose encoder holds Resemblyzer's first ``layers`` LSTM layers, pooling
    the statistics of the layers ``pool`` (1-based; () = the last). With a third layer the weights are stored in
    float16: in float32 the file would be 5.5 MB, over issue 22's 5 MB."""
    import torch

    from emolab.models.zoo import SpeechCNN, SpeechCNNConfig

    model = SpeechCNN(SpeechCNNConfig(encoder="voice", feature="logmel40", n_features=40, dropout=0.0, voice_layers=layers,
                                      voice_pool=tuple(pool), level_db=float(level_db), store_half=layers > 2)).eval()
    first = model.voice.pool[0]
    with torch.no_grad():
        for k in range(layers):
            lstm, j = (model.voice.lstm, k) if k < first else (model.voice.upper[k - first], 0)
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(lstm, f"{w}_l{j}").copy_(state[f"lstm.{w}_l{k}"])
    return model


def pool_columns(pool: tuple[int, ...], hidden: int = 256) -> np.ndarray:
    """Columns of the statistics of layers ``pool`` within those of all three layers ([mean, std] per layer)."""
    return np.concatenate([np.arange(2 * hidden * (k - 1), 2 * hidden * k) for k in pool])


def statistics(model, X: np.ndarray, batch: int = 64) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(X), batch):
            out.append(model.voice.statistics(torch.from_numpy(X[i:i + batch])).numpy())
    return np.concatenate(out)


def level_of(X: np.ndarray, active_db: float = 35.0) -> np.ndarray:
    """Mean energy (dB) of each window's active frames: :meth:`VoiceStats.levels`' rule in numpy (float32 arrays),
    kept as it is because the shipped file's ``level_db`` was computed with it."""
    e = 10 * np.log10(np.power(10.0, X[:, 0] / 10).sum(1) + 1e-10)  # [n, frames]
    act = e >= e.max(1, keepdims=True) - active_db
    return (e * act).sum(1) / act.sum(1)


def set_head(model, sc, clf) -> None:
    """Write a fitted ``StandardScaler`` and linear classifier into the model's ``mean``/``scale`` buffers and last layer."""
    import torch

    with torch.no_grad():
        model.voice.mean.copy_(torch.from_numpy(sc.mean_).float())
        model.voice.scale.copy_(torch.from_numpy(sc.scale_).float())
        lin = model.head[-1]
        lin.weight.copy_(torch.from_numpy(clf.coef_).float())
        lin.bias.copy_(torch.from_numpy(clf.intercept_).float())


def refit_head(fit, best: dict, rows: np.ndarray, features, pos: dict, y: np.ndarray, actor: np.ndarray,
               names: list) -> tuple[dict, dict]:
    """Leave-two-actors-out CV of the chosen set-up over ``rows`` (actors 01-18: 9 folds), with out-of-fold logits.

    Returns the results (accuracy clean and through a room, per-class recall, the temperature fitted on the
    out-of-fold logits and cross-fitted by actor halves, reliability and abstention tables) and the metrics the
    refit model's file records (the out-of-fold figures; its training rows are ``rows``).
    """
    from emolab.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability_table
    from emolab.evaluation import evaluate

    z, zr = np.zeros((len(y), len(names))), np.zeros((len(y), len(names)))
    S, S_copies = features(best)
    pairs = sorted(set(actor[rows].tolist()))
    folds = [pairs[k:k + 2] for k in range(0, len(pairs), 2)]
    for held_actors in folds:
        held = rows[np.isin(actor[rows], held_actors)]
        sc, clf = fit(rows[~np.isin(actor[rows], held_actors)], best)
        z[held] = clf.decision_function(sc.transform(S[held]))
        zr[held] = clf.decision_function(sc.transform(S_copies[0][[pos[int(i)] for i in held]]))
    z, zr, yy = z[rows], zr[rows], y[rows]
    acc = lambda logits: float(np.mean(logits.argmax(1) == yy))  # noqa: E731
    fold_acc = [float(np.mean(z[np.isin(actor[rows], f)].argmax(1) == yy[np.isin(actor[rows], f)])) for f in folds]
    # temperature: fitted on all out-of-fold logits; ECE "after" cross-fitted between two halves of the actors
    half = np.isin(actor[rows], np.random.default_rng(0).permutation(pairs)[: len(pairs) // 2])
    t_all, t_a, t_b = fit_temperature(z, yy), fit_temperature(z[half], yy[half]), fit_temperature(z[~half], yy[~half])
    after = np.empty_like(z)
    after[half], after[~half] = apply_temperature(z[half], t_b), apply_temperature(z[~half], t_a)
    raw = apply_temperature(z, 1.0)
    ece_before, ece_after = expected_calibration_error(raw, yy), expected_calibration_error(after, yy)
    conf, right = after.max(1), after.argmax(1) == yy
    abstain = [{"threshold": t, "coverage": float(np.mean(conf >= t)), "accuracy": float(np.mean(right[conf >= t])) if np.any(conf >= t) else None}
               for t in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)]
    ev = evaluate([names[k] for k in yy], proba=after, labels=names)
    r = lambda v: round(float(v), 4)  # noqa: E731
    res = {"protocol": f"leave-two-actors-out CV over actors {min(pairs):02d}-{max(pairs):02d} ({len(folds)} folds), the chosen set-up; "
                       "then the head shipped is fitted on all of them",
           "cv_clean": acc(z), "cv_room": acc(zr), "cv_clean_folds": fold_acc, "metrics": ev.metrics,
           "recall": {c: float(np.mean(z.argmax(1)[yy == k] == k)) for k, c in enumerate(names) if np.any(yy == k)},
           "calibration": {"temperature": r(t_all), "temperatures_of_the_halves": [r(t_a), r(t_b)], "ece_before": r(ece_before),
                           "ece_after_cross_fitted": r(ece_after), "kept": bool(ece_after < ece_before),
                           "fitted_on": f"out-of-fold logits of leave-two-actors-out CV over RAVDESS actors {min(pairs):02d}-{max(pairs):02d} "
                                        f"({len(yy)} utterances; the shipped head is refit on all of them)",
                           "mean_confidence_before": r(raw.max(1).mean()), "mean_confidence_after": r(conf.mean()),
                           "reliability_after_cross_fitted": [b for b in reliability_table(after, yy, n_bins=10).round(4).to_dict("records") if b["n"]]},
           "abstention_after_cross_fitted": abstain}
    metrics = {**ev.metrics, "dataset": "ravdess", "kind": "speech", "n_train": int(len(rows)), "n_val": 0,
               "per_class_accuracy": res["recall"], "selection": f"leave-two-actors-out CV on actors {min(pairs):02d}-{max(pairs):02d}",
               "refit": f"after selection, the head was refit on actors {min(pairs):02d}-{max(pairs):02d}; the metrics are "
                        f"out-of-fold ({len(folds)}-fold leave-two-actors-out CV over them)",
               "room_copies": best["room_copies"], "head": best["head"], "head_value": best["value"], "pool": list(best["pool"])}
    return res, metrics


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", default="../shared")
    p.add_argument("--encoder", required=True, help="Resemblyzer's wheel (.whl) or its pretrained.pt")
    p.add_argument("--out", default="runs/speech_voice/model.safetensors")
    p.add_argument("--copies", type=int, default=2)
    p.add_argument("--heads", default="lda:0.1,lda:0.2,lda:0.3,lda:0.5",
                   help="heads to choose from: lr:C (logistic regression, class-balanced) or lda:SHRINKAGE (LDA, lsqr); "
                        "until session 18 the default grid also had lr:0.003,lr:0.01,lr:0.03,lr:0.1 (never chosen since session 13)")
    p.add_argument("--pools", default="2,2+3,1+2+3",
                   help="encoder layers whose statistics the head reads, to choose from (comma-separated; 2 = layer 2 alone, "
                        "the set-up of sessions 11-17)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--final-actors", type=int, choices=(14, 18), default=18,
                   help="fit the shipped head on actors 01-14 (the selection fit) or refit it on 01-18 after selection")
    p.add_argument("--write-calibration", action="store_true",
                   help="with --final-actors 18: store the out-of-fold temperature in emolab/pretrained/calibration.json")
    p.add_argument("--results", default=str(Path(__file__).parent / "results" / "speech_voice.json"))
    a = p.parse_args()
    try:  # a wrong --heads fails before the features are measured
        heads = [(kind, float(value)) for kind, value in (h.split(":") for h in a.heads.split(","))]
    except ValueError:
        heads = []
    if not heads or any(kind not in ("lr", "lda") or value <= 0 for kind, value in heads):
        raise SystemExit(f"--heads: lr:C or lda:SHRINKAGE (> 0), comma-separated (got {a.heads!r})")
    try:
        pools = [tuple(sorted({int(k) for k in p.split("+")})) for p in a.pools.split(",")]
    except ValueError:
        pools = []
    if not pools or any(p[0] < 1 or p[-1] > 3 for p in pools):
        raise SystemExit(f"--pools: layers 1-3 joined by +, comma-separated, e.g. 2,2+3 (got {a.pools!r})")
    if a.write_calibration and a.final_actors != 18:  # the 01-14 head's temperature is fitted on actors 15-18 by bench_calibration.py
        raise SystemExit("--write-calibration needs --final-actors 18; for the 01-14 head use benchmarks/bench_calibration.py --models speech --write-calibration")

    import torch
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from tqdm.auto import tqdm

    from emolab.atomic import write_text
    from emolab.evaluation import evaluate
    from emolab.models.io import save_model
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.augment import room_augment
    from emolab.preprocessing.inputs import speech_input
    from emolab.recipes import default_split, read_labelled
    from emolab.taxonomy import EMOTIONS

    torch.set_num_threads(1)
    encoder = encoder_state(a.encoder)  # a wrong --encoder fails before a minute of features
    t0 = time.perf_counter()
    names = list(EMOTIONS)
    data = Path(a.shared) / "data"
    m = read_labelled("ravdess", data / "ravdess_speech")
    tr, va = default_split(m, "ravdess")
    y = np.array([names.index(v) for v in m["label"]])
    actor = m["actor"].astype(int).to_numpy()
    waves = [load_audio(f) for f in tqdm(m["path"], desc="reading RAVDESS", unit="file")]
    X = np.stack([speech_input(w, feature="logmel40") for w in waves])
    rng = np.random.default_rng(a.seed)
    copies = [np.stack([speech_input(room_augment(waves[i], rng=rng), feature="logmel40") for i in tqdm(tr, desc=f"room copy {k + 1}", unit="file")])
              for k in range(a.copies)]
    refit = a.final_actors == 18
    rng = np.random.default_rng(a.seed + 1)  # copies of actors 15-18 for the refit (01-14's copies stay as they were)
    copies_va = [np.stack([speech_input(room_augment(waves[i], rng=rng), feature="logmel40") for i in tqdm(va, desc=f"room copy {k + 1}, 15-18", unit="file")])
                 for k in range(a.copies if refit else 0)]
    rng = np.random.default_rng(123)  # the room test of bench_speech_travel.py: noise only, seed 123
    X_room = np.stack([speech_input(room_augment(waves[i], rng=rng), feature="logmel40") for i in va])
    print(f"features: {time.perf_counter() - t0:.0f} s", flush=True)

    # the level the encoder is fed at: training utterances as Resemblyzer normalises them (-30 dBFS RMS)
    ref = np.stack([speech_input(waves[i] * (10 ** (-30 / 20) / (np.sqrt(np.mean(waves[i] ** 2)) + 1e-9)), feature="logmel40")
                    for i in tr])
    level_db = float(np.median(level_of(ref)))
    full = voice_model(encoder, 3, level_db, pool=(1, 2, 3))  # every layer's statistics once; each set-up reads its columns
    S = statistics(full, X)
    S_copies = [statistics(full, c) for c in copies]
    S_copies_va = [statistics(full, c) for c in copies_va]
    print(f"encoder statistics: {time.perf_counter() - t0:.0f} s", flush=True)

    pos = {int(i): k for k, i in enumerate(tr)}  # manifest row -> row of the room copies
    pos.update({int(i): len(tr) + k for k, i in enumerate(va)})
    S_copies = [np.concatenate([c, cv]) for c, cv in zip(S_copies, S_copies_va)] if refit else S_copies

    by_pool: dict = {}  # the nested CV asks for the same few slices thousands of times

    def features(cfg: dict) -> tuple[np.ndarray, list]:
        pool = tuple(cfg["pool"])
        if pool not in by_pool:
            cols = pool_columns(pool)
            by_pool[pool] = S[:, cols], [c[:, cols] for c in S_copies]
        return by_pool[pool]

    def fit(rows: np.ndarray, cfg: dict):
        F, F_copies = features(cfg)
        Xt, yt = [F[rows]], [y[rows]]
        if cfg["room_copies"]:
            Xt += [Fc[[pos[int(i)] for i in rows]] for Fc in F_copies]
            yt += [y[rows]] * len(F_copies)
        sc = StandardScaler().fit(np.concatenate(Xt))
        clf = (LogisticRegression(C=cfg["value"], max_iter=5000, class_weight="balanced") if cfg["head"] == "lr"
               else LinearDiscriminantAnalysis(solver="lsqr", shrinkage=cfg["value"]))  # predict_proba = softmax(coef x + intercept)
        return sc, clf.fit(sc.transform(np.concatenate(Xt)), np.concatenate(yt))

    configs = [{"room_copies": c, "pool": pool, "head": kind, "value": value}
               for c in ((0, a.copies) if a.copies else (0,)) for pool in pools for kind, value in heads]

    def cv(rows: np.ndarray, cfg: dict) -> tuple[list, list]:
        """Leave-two-actors-out accuracies (clean, room copy 1) of ``cfg`` over the actor pairs of ``rows``."""
        clean, room = [], []
        acts = sorted(set(actor[rows].tolist()))
        for pair in (acts[k:k + 2] for k in range(0, len(acts), 2)):
            held = rows[np.isin(actor[rows], pair)]
            sc, clf = fit(rows[~np.isin(actor[rows], pair)], cfg)
            F, F_copies = features(cfg)
            clean.append(float(np.mean(clf.predict(sc.transform(F[held])) == y[held])))
            room.append(float(np.mean(clf.predict(sc.transform(F_copies[0][[pos[int(i)] for i in held]])) == y[held]))
                        if F_copies else float("nan"))
        return clean, room

    def select(rows: np.ndarray, verbose: bool = False) -> tuple[list, dict]:
        """Every set-up's CV over ``rows`` and the one with the best mean of clean and room accuracy."""
        grid = []
        for cfg in configs:
            clean, room = cv(rows, cfg)
            row = {**cfg, "pool": list(cfg["pool"]), "cv_clean": float(np.mean(clean)), "cv_room": float(np.nanmean(room)),
                   "cv_clean_folds": clean, "cv_room_folds": room}
            row["criterion"] = float(np.nanmean([row["cv_clean"], row["cv_room"]]))
            grid.append(row)
            if verbose:
                print(f"copies {row['room_copies']} layers {'+'.join(map(str, cfg['pool'])):<6} {cfg['head']} {cfg['value']:<6} "
                      f"CV clean {row['cv_clean']:.3f} room {row['cv_room']:.3f}", flush=True)
        best = max(grid, key=lambda r: r["criterion"])
        return grid, {k: (tuple(v) if k == "pool" else v) for k, v in best.items() if k in configs[0]}

    grid, best = select(tr, verbose=True)
    model = voice_model(encoder, max(best["pool"]), level_db, pool=best["pool"])
    sc, clf = fit(tr, best)
    set_head(model, sc, clf)

    def proba(Xin: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(model(torch.from_numpy(Xin)), 1).numpy()

    pv, pr = proba(X[va]), proba(X_room)
    files = sorted(glob.glob(str(data / "real_video/cremad_av/1001_DFA_*.flv"))) + sorted(glob.glob(str(data / "real_video/cremad_audio/1002_DFA_*.mp3")))
    yc = np.array([names.index(CREMAD[Path(f).name.split("_")[2]]) for f in files])
    ev = evaluate(m["label"].iloc[va].reset_index(drop=True), proba=pv, labels=names)
    result = {"encoder": "resemblyzer 0.1.4 pretrained.pt, LSTM layers 1-3", "level_db": level_db, "grid": grid, "chosen": best,
              "actors15_18": {"accuracy": float(np.mean(pv.argmax(1) == y[va])), "metrics": ev.metrics,
                              "recall": {c: float(np.mean(pv.argmax(1)[y[va] == k] == k)) for k, c in enumerate(names) if np.any(y[va] == k)},
                              "predicted": np.bincount(pv.argmax(1), minlength=len(names)).tolist()},
              "actors15_18_room": {"accuracy": float(np.mean(pr.argmax(1) == y[va]))}}
    if files:
        pc = proba(np.stack([speech_input(load_audio(f), feature="logmel40") for f in files])).argmax(1)
        result["cremad"] = {"files": [Path(f).name for f in files], "right": int((pc == yc).sum()), "of": len(files),
                            "predicted": [names[k] for k in pc], "truth": [names[k] for k in yc]}
    metrics = {**ev.metrics, "dataset": "ravdess", "kind": "speech", "n_train": int(len(tr)), "n_val": int(len(va)),
               "per_class_accuracy": result["actors15_18"]["recall"], "selection": "leave-two-actors-out CV on actors 01-14",
               "room_copies": best["room_copies"], "head": best["head"], "head_value": best["value"], "pool": list(best["pool"])}
    if refit:
        # the same selection on all 18 actors; its honest estimate is nested: for each actor pair, the selection run
        # on the other 8 pairs and the chosen set-up scored on the pair it never saw
        everyone = np.concatenate([tr, va])
        nested = []
        for pair in tqdm([(k, k + 1) for k in range(1, 19, 2)], desc="nested CV over 01-18", unit="pair"):
            held = np.isin(actor[everyone], pair)
            chosen = select(everyone[~held])[1]
            F, F_copies = features(chosen)
            sc, clf = fit(everyone[~held], chosen)
            rows = everyone[held]
            nested.append({"held_out": list(pair), "chosen": {**chosen, "pool": list(chosen["pool"])},
                           "clean": float(np.mean(clf.predict(sc.transform(F[rows])) == y[rows])),
                           "room": float(np.mean(clf.predict(sc.transform(F_copies[0][[pos[int(i)] for i in rows]])) == y[rows]))})
        grid18, best = select(everyone)
        result["refit_selection"] = {"protocol": "leave-two-actors-out CV over actors 01-18 (9 folds), best mean of clean and room accuracy",
                                     "grid": grid18, "chosen": {**best, "pool": list(best["pool"])},
                                     "nested": {"pairs": nested, "clean": float(np.mean([r["clean"] for r in nested])),
                                                "room": float(np.mean([r["room"] for r in nested]))}}
        print(f"nested CV over 01-18 (the selection's estimate): clean {result['refit_selection']['nested']['clean']:.3f}, "
              f"room {result['refit_selection']['nested']['room']:.3f}; chosen on 01-18: {best}", flush=True)
        result["refit"], metrics = refit_head(fit, best, everyone, features, pos, y, actor, names)
        metrics["nested_cv_accuracy"] = result["refit_selection"]["nested"]["clean"]
        metrics["nested_cv_accuracy_room"] = result["refit_selection"]["nested"]["room"]
        model = voice_model(encoder, max(best["pool"]), level_db, pool=best["pool"])
        sc, clf = fit(everyone, best)
        set_head(model, sc, clf)
        if files:
            pc = proba(np.stack([speech_input(load_audio(f), feature="logmel40") for f in files])).argmax(1)
            result["refit"]["cremad"] = {"right": int((pc == yc).sum()), "of": len(files), "predicted": [names[k] for k in pc]}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    save_model(a.out, model, labels=EMOTIONS, metrics=metrics,
               preprocessing={"input": "logmel40", "seconds": 3.0, "sample_rate": 16000},
               notes=f"voice encoder: Resemblyzer 0.1.4 (Apache-2.0) LSTM layers 1-{max(best['pool'])}, statistics of layers "
                     f"{'+'.join(map(str, best['pool']))}; head: {HEADS[best['head']]} {best['value']}, "
                     f"{best['room_copies']} room copies; fitted on RAVDESS actors 01-{a.final_actors:02d}; "
                     f"trained with benchmarks/train_speech_voice.py --seed {a.seed} --final-actors {a.final_actors}")
    if refit and a.write_calibration:  # after the model file is written
        from emolab.calibration import record_calibration

        cal = result["refit"]["calibration"]
        record_calibration("speech", temperature=cal["temperature"] if cal["kept"] else 1.0, fitted_on=cal["fitted_on"],
                           fitted_temperature=cal["temperature"], kept=cal["kept"],
                           rule="kept when the cross-fitted ECE is below the raw ECE; otherwise 1.0",
                           command="python benchmarks/train_speech_voice.py --shared ../shared --encoder WHEEL --out FILE --write-calibration",
                           ece_before=cal["ece_before"], ece_after_cross_fitted=cal["ece_after_cross_fitted"],
                           temperatures_of_the_two_halves=cal["temperatures_of_the_halves"])
    Path(a.results).parent.mkdir(parents=True, exist_ok=True)
    write_text(a.results, json.dumps(result, indent=1))  # atomically: a stopped run leaves the old file whole
    print(json.dumps({k: v for k, v in result.items() if k != "grid"}, indent=1, default=str))


if __name__ == "__main__":
    main()
