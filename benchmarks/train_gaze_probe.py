"""Fit and measure the looking-down probe on the face CNN's embedding (``emolab.models.gaze``).

People marked where the eyes of 2,040 FER2013 faces look (``annotations/fer2013_gaze.csv``: 1,440 train faces,
one reader each; 600 validation faces, two readers each): ``down`` (at a desk or book), ``closed``, ``no`` (at the
camera, aside, up) or ``unsure``. This script

1. reads every annotated face with the face model at 48, 32, 24 and 16 px (shrunk with INTER_AREA and scaled back,
   as ``bench_face_readability.py`` does) and keeps its pooled embedding;
2. chooses the regularisation C by 5-fold cross-validation over the train faces (a face's four sizes in one fold),
   then fits the probe on all train faces marked ``down`` or ``no`` (every size);
3. scores it on the validation faces both readers marked alike (``down`` against ``no``): ROC area and average
   precision per size, and the precision-recall curve over all sizes, from which the threshold is the one with the
   highest F1 (the curve is written down in the results file);
4. measures what the threshold costs on all 3,589 FER2013 validation faces (share left out per class, accuracy of
   the faces kept) and, where ``../shared`` has the real classroom clips, what it does on the hand-read classroom
   faces of ``annotations/classroom_expressions.csv`` (their notes say which look down), in float32 and in the int8
   copy a lesson on this CPU runs;
5. with ``--write``, writes ``emolab/pretrained/face_gaze.json`` for the bundled face weights.

Usage::

    python benchmarks/train_gaze_probe.py --fer2013 ../shared/data/fer2013 [--write]

Figures go to ``benchmarks/results/gaze_probe.json``; ``docs/readability.md`` ("Looking down") gives them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import save  # noqa: E402
from bench_face_readability import degrade  # noqa: E402

ANNOTATIONS = HERE / "annotations" / "fer2013_gaze.csv"
SIZES = (48, 32, 24, 16)
GRID_C = (0.001, 0.003, 0.01, 0.03, 0.1)


def read_annotations(path: Path = ANNOTATIONS) -> pd.DataFrame:
    """The annotation table, one row per face and reader: ``split, file, fer_label, reader, gaze, note``."""
    ann = pd.read_csv(path, keep_default_na=False)
    bad = set(ann["gaze"]) - {"down", "closed", "no", "unsure"}
    if bad:
        raise ValueError(f"{path}: unknown gaze labels {sorted(bad)}")
    return ann


def face_labels(ann: pd.DataFrame) -> pd.DataFrame:
    """One row per face: ``split, file, fer_label``, ``gaze`` (the readers' label where they agree, else
    ``disagree``) and ``readers``."""
    g = ann.groupby(["split", "file", "fer_label"])["gaze"]
    out = g.agg(lambda s: s.iloc[0] if s.nunique() == 1 else "disagree").rename("gaze").to_frame()
    out["readers"] = g.size()
    return out.reset_index()


def embeddings(model, images: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits [n, 7] and embeddings [n, d] (float32 model) of 48x48 uint8 faces shrunk to ``size`` px and back."""
    import torch

    x = np.stack([degrade(im, size)[0] for im in images]).astype(np.float32) / 255.0
    out_z, out_e = [], []
    with torch.inference_mode():
        for a in range(0, len(x), 512):
            z, e = model.read(torch.from_numpy(x[a:a + 512])[:, None])
            out_z.append(z.numpy())
            out_e.append(e.numpy())
    return np.concatenate(out_z), np.concatenate(out_e)


def pr_curve(score: np.ndarray, y: np.ndarray) -> list[dict]:
    """Precision, recall and F1 at thresholds 0.05 ... 0.95."""
    rows = []
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2):
        hit = score >= t
        tp = int((hit & y).sum())
        p = tp / max(1, int(hit.sum()))
        r = tp / max(1, int(y.sum()))
        rows.append({"threshold": float(t), "precision": round(p, 4), "recall": round(r, 4),
                     "f1": round(2 * p * r / max(1e-12, p + r), 4), "flagged": int(hit.sum())})
    return rows


def cv_auc(X: np.ndarray, y: np.ndarray, groups: np.ndarray, C: float, folds: int = 5) -> float:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    from emolab.models.gaze import fit_gaze_probe

    score = np.zeros(len(y))
    for a, b in GroupKFold(folds).split(X, y, groups):
        score[b] = fit_gaze_probe(X[a], y[a], C=C).score(X[b])
    return float(roc_auc_score(y, score))


def real_faces(probe, threshold: float) -> dict:
    """The probe on the hand-read classroom faces (float32 and the lesson's int8), and what it changes there."""
    from sklearn.metrics import roc_auc_score

    from bench_real_expressions import read_faces
    from bench_real_footage import shared_data
    from emolab.models.lesson import load_lesson_models
    from emolab.taxonomy import EMOTIONS

    out = {}
    for precision in ("fp32", "auto"):
        lm = load_lesson_models("pretrained", precision=precision)
        faces = read_faces(shared_data(), lm)
        faces = faces[faces["found"]].reset_index(drop=True)
        crops = np.stack(faces["crop"].to_list())[:, None]
        logits, emb = lm._logits_embedding("face", crops)
        p = probe.score(emb)
        note = faces.merge(pd.read_csv(HERE / "annotations" / "classroom_expressions.csv"),
                           on=["clip", "t", "face_id"], how="left")["note"].fillna("")
        down = note.str.contains("looking down").to_numpy()
        readable = (faces["reason"].fillna("") == "").to_numpy()
        emotion = np.asarray(EMOTIONS)[logits.argmax(1)]
        person = faces["person"].to_numpy()
        neg = np.isin(emotion, ["anger", "disgust", "fear", "sadness"])
        flagged = p >= threshold
        sel = readable & np.isin(person, ["neutral", "happiness"])
        agree = lambda m: float(((emotion == person) & m).sum() / max(1, m.sum()))  # noqa: E731
        out[lm.precision["face"]] = {
            "faces": int(len(faces)), "readable": int(readable.sum()), "looking_down_noted": int(down.sum()),
            "roc_auc_all": round(float(roc_auc_score(down, p)), 4),
            "roc_auc_readable": round(float(roc_auc_score(down[readable], p[readable])), 4),
            "flagged_readable": {"looking_down": int((flagged & readable & down).sum()), "other": int((flagged & readable & ~down).sum())},
            "readable_down_not_flagged": int((readable & down & ~flagged).sum()),
            "neutral_or_smiling_readable": int(sel.sum()),
            "before": {"agreement": round(agree(sel), 4), "neutral_read_negative": int((sel & (person == "neutral") & neg).sum()),
                       "smiles_found": int((sel & (person == "happiness") & (emotion == "happiness")).sum()), "read": int(sel.sum())},
            "after": {"agreement": round(agree(sel & ~flagged), 4),
                      "neutral_read_negative": int((sel & ~flagged & (person == "neutral") & neg).sum()),
                      "smiles_found": int((sel & ~flagged & (person == "happiness") & (emotion == "happiness")).sum()),
                      "read": int((sel & ~flagged).sum())},
            "left_out_by_model_answer": pd.Series(emotion[sel & flagged]).value_counts().to_dict(),
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fer2013", required=True, help="FER2013 folder (train/ and validation/)")
    ap.add_argument("--write", action="store_true", help="write emolab/pretrained/face_gaze.json")
    ap.add_argument("--tag", default="gaze_probe")
    args = ap.parse_args(argv)

    import cv2
    import torch
    from sklearn.metrics import average_precision_score, cohen_kappa_score, roc_auc_score

    from bench_face_readability import validation_faces
    from emolab.models.gaze import GAZE_FILE, fit_gaze_probe, save_gaze_probe
    from emolab.models.io import load_model
    from emolab.registry import PRETRAINED_DIR

    t0 = time.perf_counter()
    torch.set_num_threads(2)
    root = Path(args.fer2013)
    model, meta = load_model(PRETRAINED_DIR / "face.safetensors")
    model.eval()
    ann = read_annotations()
    faces = face_labels(ann)
    missing = [f for f in faces["file"] if not (root / f).is_file()]
    images = [] if missing else [cv2.imread(str(root / f), cv2.IMREAD_GRAYSCALE) for f in faces["file"]]
    missing += [f for f, im in zip(faces["file"], images) if im is None or im.shape != (48, 48)]
    if missing:
        raise SystemExit(f"{len(missing)} annotated faces are missing or not 48x48 under {root} (first: {missing[0]}); "
                         "--fer2013 must be the FER2013 folder with train/ and validation/")
    images = np.stack(images)
    print(f"reading {len(images)} annotated faces at {', '.join(map(str, SIZES))} px", flush=True)
    feats = {s: embeddings(model, images, s)[1] for s in SIZES}
    res: dict = {"annotations": {"faces": int(len(faces)), "by_split": faces["split"].value_counts().to_dict(),
                                 "labels": faces.groupby("split")["gaze"].value_counts().unstack(fill_value=0).to_dict("index")}}

    # how FER2013's classes look: share of train faces marked down, per class
    tr = faces[(faces["split"] == "train") & faces["gaze"].isin(["down", "no"])]
    res["train_down_share_by_class"] = tr.groupby("fer_label")["gaze"].apply(lambda g: round(float((g == "down").mean()), 4)).to_dict()
    # two readers on the validation faces
    va_pairs = ann[ann["split"] == "validation"].pivot_table(index="file", columns=ann.groupby(["split", "file"]).cumcount(),
                                                            values="gaze", aggfunc="first").dropna()
    res["validation_readers"] = {"faces": int(len(va_pairs)), "agree": round(float((va_pairs[0] == va_pairs[1]).mean()), 4),
                                 "cohen_kappa_4_labels": round(float(cohen_kappa_score(va_pairs[0], va_pairs[1])), 4)}
    both = va_pairs[va_pairs[0].isin(["down", "no"]) & va_pairs[1].isin(["down", "no"])]
    res["validation_readers"]["kappa_down_vs_no"] = round(float(cohen_kappa_score(both[0], both[1])), 4)

    rows = np.flatnonzero(((faces["split"] == "train") & faces["gaze"].isin(["down", "no"])).to_numpy())
    X = np.concatenate([feats[s][rows] for s in SIZES])
    y = np.tile((faces["gaze"].to_numpy()[rows] == "down"), len(SIZES))
    groups = np.tile(rows, len(SIZES))
    res["cv_auc_by_C"] = {str(C): round(cv_auc(X, y, groups, C), 4) for C in GRID_C}
    C = float(max(GRID_C, key=lambda c: res["cv_auc_by_C"][str(c)]))
    probe = fit_gaze_probe(X, y, C=C, face_sha256=meta["sha256"])
    res["C"] = C

    vrows = np.flatnonzero(((faces["split"] == "validation") & faces["gaze"].isin(["down", "no"])).to_numpy())
    vy = faces["gaze"].to_numpy()[vrows] == "down"
    res["validation"] = {"faces": int(len(vrows)), "down": int(vy.sum()), "by_size": {}}
    scores = {s: probe.score(feats[s][vrows]) for s in SIZES}
    for s in SIZES:
        res["validation"]["by_size"][s] = {"roc_auc": round(float(roc_auc_score(vy, scores[s])), 4),
                                           "average_precision": round(float(average_precision_score(vy, scores[s])), 4)}
    pooled = np.concatenate([scores[s] for s in SIZES])
    curve = pr_curve(pooled, np.tile(vy, len(SIZES)))
    threshold = max(curve, key=lambda r: (r["f1"], -r["threshold"]))["threshold"]
    res["validation"]["pr_curve_all_sizes"] = curve
    res["threshold"] = threshold
    res["validation"]["at_threshold_by_size"] = {s: pr_curve(scores[s], vy)[int(round(threshold / 0.05)) - 1] for s in SIZES}
    # the closed-eyes faces: how often the probe takes them as down
    crows = np.flatnonzero(((faces["split"] == "validation") & (faces["gaze"] == "closed")).to_numpy())
    res["validation"]["closed_flagged_share"] = round(float(np.mean([probe.score(feats[s][crows]) >= threshold for s in SIZES])), 4)
    probe = type(probe)(probe.weight, probe.bias, threshold, probe.face_sha256)

    # the cost on all FER2013 validation faces
    print(f"probe fitted (C = {C}, threshold {threshold}); its cost on all FER2013 validation faces", flush=True)
    vimg, vlab = validation_faces(root)
    from emolab.taxonomy import EMOTIONS
    cost = {}
    for s in SIZES:
        z, e = embeddings(model, vimg, s)
        flag = probe.looking_down(e)
        right = z.argmax(1) == vlab
        cost[s] = {"flagged_share": round(float(flag.mean()), 4),
                   "flagged_share_by_class": {EMOTIONS[k]: round(float(flag[vlab == k].mean()), 4) for k in range(len(EMOTIONS))},
                   "answers_flagged_by_class": {EMOTIONS[k]: int((flag & (z.argmax(1) == k)).sum()) for k in range(len(EMOTIONS))},
                   "accuracy_all": round(float(right.mean()), 4), "accuracy_kept": round(float(right[~flag].mean()), 4),
                   "accuracy_flagged": round(float(right[flag].mean()), 4) if flag.any() else None}
    res["fer2013_validation_cost"] = cost
    print("the hand-read real classroom faces", flush=True)
    try:
        res["real_classroom_faces"] = real_faces(probe, threshold)
    except (FileNotFoundError, OSError, SystemExit) as exc:
        res["real_classroom_faces"] = f"not measured: {exc}"
    res["seconds"] = round(time.perf_counter() - t0, 1)
    if args.write:
        path = save_gaze_probe(PRETRAINED_DIR / GAZE_FILE, probe, made_by="python benchmarks/train_gaze_probe.py --fer2013 PATH --write",
                               data="benchmarks/annotations/fer2013_gaze.csv: FER2013 train faces marked down or no, at 48/32/24/16 px",
                               C=C, threshold_rule="highest F1 on validation faces two readers marked alike, all sizes pooled")
        res["written"] = str(path.relative_to(HERE.parent))
    save(args.tag, res)
    print({k: res[k] for k in ("C", "threshold", "cv_auc_by_C", "validation_readers", "seconds")})
    print("validation", res["validation"]["by_size"], res["validation"]["at_threshold_by_size"])
    print("cost", {s: (c["flagged_share"], c["accuracy_all"], c["accuracy_kept"]) for s, c in cost.items()})
    print("real", res["real_classroom_faces"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
