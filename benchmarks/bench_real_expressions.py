"""How the lesson pipeline's face reading compares with a person's reading of real classroom faces.

    python benchmarks/bench_real_expressions.py [--variants raw standardised] [--fer2013 PATH] [--face-model FILE] [--prior-em]

Reads the classroom clips from ``$EMOLAB_SHARED_DATA/real_video`` (default ``../shared/data`` beside the repo;
never copied into it) and ``benchmarks/annotations/classroom_expressions.csv``: one annotator's reading of the
visible faces of 13 keyframes (``neutral``, ``happiness`` where a smile shows, ``unsure``; see the annotations'
README). Every annotated face is found again with YuNet on its frame (IoU >= 0.3 with the annotated box), cut and
read as the lesson pipeline does (margin ``face_margin``, the bundled face model at the pipeline's precision, the
temperature for the face's size) and checked with the pipeline's readability rule. Printed per input variant:

* on the faces a person reads as neutral or happiness: how often the model agrees, how often it reads a neutral
  face as anger, disgust, fear or sadness, and how often it finds a smile; for all faces and for the ones the
  readability rule passes;
* a confidence-floor curve on the readable faces: the share kept and the agreement of the kept when answers
  below a calibrated confidence are withheld;
* as checks on labelled faces: frame accuracy on the six CREMA-D clips of ``real_video/cremad_av`` (every third
  frame, label from the file name) and, with ``--fer2013``, accuracy on FER2013 validation at 48 and 32 px.

``--face-model`` reads with another face2d model file instead of the bundled one (in float32, with the bundled
model's temperatures: answers are its own, confidences only roughly calibrated); ``--tag`` names the results file.
``--prior-em`` also scores the readable faces after re-estimating each clip's class mix from them (the EM of
``emolab.calibration.adapt_priors`` on the bias-corrected calibration; measured, not what lessons do). Input variants: ``raw`` (what the pipeline reads) and ``standardised`` (each 48-px crop's grey levels set to the
mean and standard deviation of a median FER2013 face, 128.7 and 74.6, before the model). Writes
``benchmarks/results/real_expressions[_TAG].json``. One annotator and 13 keyframes of two clips: a check of direction
and size, not a test set. Since session 23 lessons also leave unread the faces the gaze probe takes as looking down
(``emolab.models.gaze``); this script reads every readable face, as the face model alone does, and
``benchmarks/train_gaze_probe.py`` gives the same figures with and without that check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import save  # noqa: E402
from bench_face_readability import degrade, validation_faces  # noqa: E402
from bench_real_footage import read_keyframes, shared_data  # noqa: E402

ANNOTATIONS = ROOT / "benchmarks" / "annotations" / "classroom_expressions.csv"
NEGATIVE = ("anger", "disgust", "fear", "sadness")
FLOORS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7)
FER_MEAN, FER_STD = 128.7, 74.6  # per-image grey mean and standard deviation of a median FER2013 validation face


def standardise(crops: np.ndarray, mean: float = FER_MEAN, std: float = FER_STD) -> np.ndarray:
    """Grey crops uint8 [n, S, S] with each crop's mean and standard deviation set to ``mean`` and ``std``
    (a flat crop keeps its contrast: its deviation is taken as at least 1 grey level)."""
    f = crops.astype(np.float32)
    m = f.mean(axis=(1, 2), keepdims=True)
    s = np.maximum(f.std(axis=(1, 2), keepdims=True), 1.0)
    return np.clip((f - m) / s * std + mean, 0, 255).round().astype(np.uint8)


VARIANTS = {"raw": lambda c: c, "standardised": standardise}


def agreement(person: pd.Series, model: pd.Series) -> dict:
    """Agreement of model answers with a person's ``neutral`` / ``happiness`` readings (other readings ignored)."""
    keep = person.isin(["neutral", "happiness"]).to_numpy()
    p, m = person[keep].to_numpy(), model[keep].to_numpy()
    neutral, smile = p == "neutral", p == "happiness"
    return {"n": int(keep.sum()), "agree": _share(m == p), "n_neutral": int(neutral.sum()),
            "neutral_read_negative": _share(np.isin(m[neutral], NEGATIVE)), "neutral_read_neutral": _share(m[neutral] == "neutral"),
            "n_smile": int(smile.sum()), "smile_read_happiness": _share(m[smile] == "happiness")}


def floor_curve(person: pd.Series, model: pd.Series, confidence: pd.Series, floors=FLOORS) -> list[dict]:
    """Share kept and agreement of the kept when answers below each calibrated-confidence floor are withheld."""
    keep = person.isin(["neutral", "happiness"]).to_numpy()
    p, m, c = person[keep].to_numpy(), model[keep].to_numpy(), confidence[keep].to_numpy(float)
    out = []
    for f in floors:
        k = c >= f
        out.append({"floor": f, "kept": _share(k), "agree_of_kept": _share(m[k] == p[k]),
                    "neutral_read_negative_of_kept": _share(np.isin(m[k & (p == "neutral")], NEGATIVE))})
    return out


def prior_adapted(lm, crops: np.ndarray, clips: np.ndarray) -> tuple[np.ndarray, dict]:
    """(emotion names [n], estimated class mix per clip) when each clip's faces are re-weighted for that clip's class
    mix: the face model's logits through the stored bias-corrected calibration, then the EM of
    :func:`emolab.calibration.adapt_priors` over the clip's faces (``docs/readability.md``, "A lesson's class mix")."""
    from emolab.calibration import adapt_priors, apply_temperature, load_calibration
    from emolab.taxonomy import EMOTIONS

    bc = load_calibration()["face"]["bias_corrected"]
    p = apply_temperature(lm._logits("face", crops[:, None]), bc["temperature"], bias=np.asarray(bc["bias"]))
    out, mixes = p.copy(), {}
    for clip in np.unique(clips):
        rows = clips == clip
        out[rows], prior = adapt_priors(p[rows], train_prior=np.asarray(bc["train_prior"]))
        mixes[str(clip)] = {e: round(float(v), 3) for e, v in zip(EMOTIONS, prior)}
    return np.asarray(EMOTIONS)[out.argmax(1)], mixes


def _share(mask: np.ndarray) -> float:
    return round(float(np.mean(mask)), 4) if len(mask) else float("nan")


def read_faces(shared: Path, lm) -> pd.DataFrame:
    """Each annotated face matched to a YuNet detection, with its crop, quality and readability reason."""
    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.detection import FaceDetector, iou
    from emolab.preprocessing.quality import face_quality, unreadable_reason

    ann = pd.read_csv(ANNOTATIONS)
    frames = read_keyframes(shared / "real_video" / "classroom", ann)
    rows = []
    with FaceDetector("yunet", tiles=0) as det:
        found = {key: det.detect(f) for key, f in frames.items()}
    for r in ann.itertuples():
        frame, box = frames[(r.clip, int(r.frame))], (r.x, r.y, r.w, r.h)
        dets = found[(r.clip, int(r.frame))]
        best = max(dets, key=lambda d: iou(d.box, box), default=None)
        row = {"clip": r.clip, "t": r.t, "face_id": r.face_id, "person": r.expression, "found": False}
        if best is not None and iou(best.box, box) >= 0.3:
            q = face_quality(frame, [best])
            q["score"] = best.score
            row.update(found=True, face_px=float(best.h), reason=str(unreadable_reason(q)[0]),
                       crop=crop_face(frame, best.box, size=lm.face_size, margin=lm.face_margin))
        rows.append(row)
    return pd.DataFrame(rows)


def read_model(lm, crops: np.ndarray, face_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(emotion names [n], calibrated confidence [n]) of single-frame crops [n, S, S]."""
    from emolab.taxonomy import EMOTIONS

    p = lm.face(crops[:, None], face_px=face_px)
    return np.asarray(EMOTIONS)[p.argmax(1)], p.max(1)


def cremad_frames(shared: Path, every: int = 3):
    """(crops [n, 48, 48], face heights [n], labels [n]) of every ``every``-th frame of the CREMA-D clips with a face."""
    import cv2

    from emolab.data.corpora.speech import CREMAD_EMOTIONS
    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.detection import FaceDetector
    from emolab.taxonomy import canonical_label

    crops, px, labels = [], [], []
    with FaceDetector("yunet", tiles=0) as det:
        for path in sorted((shared / "real_video" / "cremad_av").glob("*.flv")):
            cap, i = cv2.VideoCapture(str(path)), 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if i % every == 0:
                    d = det.detect(frame)
                    if d:
                        crops.append(crop_face(frame, d[0].box, size=48, margin=0.06))
                        px.append(d[0].h)
                        labels.append(canonical_label(CREMAD_EMOTIONS[path.stem.split("_")[2]]))
                i += 1
            cap.release()
    return np.stack(crops), np.asarray(px, float), np.asarray(labels)


def _model_name(path: Path | None) -> dict:
    """The bundled model, or a file named by its name and its weights' sha256 (as ``bench_face_ensemble.py`` names
    them; never a machine's path)."""
    from emolab.models.io import read_metadata

    if path is None:
        return {"model": "face (bundled)", "sha256": read_metadata(ROOT / "emolab" / "pretrained" / "face.safetensors")["sha256"]}
    return {"model": path.name, "sha256": read_metadata(path)["sha256"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--fer2013", type=Path, help="FER2013 folder (with validation/): also score the variants there")
    ap.add_argument("--face-model", type=Path, help="a face2d .safetensors file to read with instead of the bundled model")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    ap.add_argument("--prior-em", action="store_true",
                    help="also score the readable faces re-weighted for each clip's class mix (EM, bias-corrected calibration)")
    args = ap.parse_args(argv)
    from emolab.models.lesson import load_lesson_models
    from emolab.taxonomy import EMOTIONS

    shared = shared_data()
    if not (shared / "real_video" / "classroom").is_dir():
        print(f"skipped: no real classroom clips under {shared / 'real_video'} (set EMOLAB_SHARED_DATA)")
        return 0
    lm = load_lesson_models("pretrained", precision="fp32" if args.face_model else "auto")
    if args.face_model:
        from emolab.models.io import load_model

        model, _ = load_model(args.face_model)
        if getattr(model, "kind", "") != "face2d":
            raise SystemExit(f"{args.face_model}: not a face2d model")
        lm.models["face"] = lm._run.prepare(model)
    faces = read_faces(shared, lm)
    seen = faces[faces["found"]].reset_index(drop=True)
    crops = np.stack(seen["crop"].to_list())
    print(f"{len(faces)} annotated faces, {len(seen)} found by YuNet, {int((seen['reason'] == '').sum())} readable by the rule; "
          f"person's readings {faces['person'].value_counts().to_dict()}")
    cr = cremad_frames(shared)
    fer = None
    if args.fer2013:
        x, y = validation_faces(args.fer2013)
        fer = (x, np.asarray(EMOTIONS)[y])
    results = {"annotations": str(ANNOTATIONS.relative_to(ROOT)), "face_model": _model_name(args.face_model), "precision": lm.precision["face"],
               "faces": len(faces), "found": len(seen),
               "readable": int((seen["reason"] == "").sum()), "variants": {}}
    for name in args.variants:
        f = VARIANTS[name]
        emo, conf = read_model(lm, f(crops), seen["face_px"].to_numpy(float))
        res = {"all_found": agreement(seen["person"], pd.Series(emo)),
               "readable": agreement(seen["person"][seen["reason"] == ""], pd.Series(emo[seen["reason"] == ""])),
               "floor_curve_readable": floor_curve(seen["person"][seen["reason"] == ""], pd.Series(emo[seen["reason"] == ""]),
                                                   pd.Series(conf[seen["reason"] == ""])),
               "answers_readable": pd.Series(emo[seen["reason"] == ""]).value_counts().to_dict()}
        ce, _ = read_model(lm, f(cr[0]), cr[1])
        res["cremad_frames"] = {"n": len(ce), "accuracy": _share(ce == cr[2]), "answers": pd.Series(ce).value_counts().to_dict()}
        if fer is not None:
            for size in (48, 32):
                x = np.stack([degrade(i, size)[0] for i in fer[0]])
                fe, _ = read_model(lm, f(x), np.full(len(x), size * 0.887))
                res[f"fer2013_validation_{size}px"] = _share(fe == fer[1])
        if args.prior_em:  # the lesson's class mix estimated from the readable faces of each clip, then re-weighted
            ok = (seen["reason"] == "").to_numpy()
            em, mixes = prior_adapted(lm, f(crops)[ok], seen["clip"].to_numpy()[ok])
            res["prior_em_readable"] = {**agreement(seen["person"][ok], pd.Series(em)), "estimated_mix": mixes}
            e = res["prior_em_readable"]
            print(f"  with each clip's class mix estimated by EM (readable): agree {e['agree']:.1%}, neutral read negative "
                  f"{e['neutral_read_negative']:.1%}, smiles found {e['smile_read_happiness']:.1%}; mixes {mixes}")
        results["variants"][name] = res
        a, r = res["all_found"], res["readable"]
        print(f"\n{name}: all found (n={a['n']}) agree {a['agree']:.1%}, neutral read negative {a['neutral_read_negative']:.1%}, "
              f"smiles found {a['smile_read_happiness']:.1%}")
        print(f"  readable (n={r['n']}) agree {r['agree']:.1%}, neutral read negative {r['neutral_read_negative']:.1%} "
              f"({r['n_neutral']} neutral), smiles found {r['smile_read_happiness']:.1%} ({r['n_smile']}); answers {res['answers_readable']}")
        for c in res["floor_curve_readable"]:
            print(f"  floor {c['floor']:.1f}: kept {c['kept']:.1%}, agree {c['agree_of_kept']:.1%}, "
                  f"neutral read negative {c['neutral_read_negative_of_kept']:.1%}")
        print(f"  CREMA-D frames (n={len(ce)}): accuracy {res['cremad_frames']['accuracy']:.1%}; answers {res['cremad_frames']['answers']}")
        if fer is not None:
            print(f"  FER2013 validation: {res['fer2013_validation_48px']:.1%} at 48 px, {res['fer2013_validation_32px']:.1%} at 32 px")
    save("real_expressions" + (f"_{args.tag}" if args.tag else ""), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
