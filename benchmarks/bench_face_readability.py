"""When can the bundled face model read a face? Accuracy and calibration against face size, blur and JPEG.

Every FER2013 validation face (3,589, the held-out split) is degraded the way a small face in a lesson
frame is: shrunk to ``size`` px with INTER_AREA (optionally blurred with a Gaussian of ``sigma`` px and
JPEG-compressed at ``quality``, both at that size), then scaled back to the model's 48 px with
INTER_LINEAR, as :func:`emolab.preprocessing.crops.crop_face` does with a crop smaller than 48 px.
The bundled face CNN (fp32) scores each condition; printed per condition: accuracy, balanced accuracy,
mean confidence, ECE (15 bins) raw, after the shipped temperature and after a temperature fitted for
that condition, accuracy/coverage when only confidences >= c are kept, and accuracy against three
sharpness measures (variance of the Laplacian of the degraded face at its own size, of the 48-px
model input, and the latter over the model input's grey-level variance). ``--box-ratio N`` also
measures the height of the lesson pipeline's detector box (mediapipe) on N FER2013 faces, to turn
the curve's px into face-box px.

Calibration honesty: temperatures are fitted on one half of validation and scored on the other
(two stratified halves, seed 0, each scored with the temperature of the other: "cross-fitted"); the
temperatures written by ``--write-calibration`` are fitted on all validation faces (48 px, and each size). The card's
figures are computed on the same split (it was also the model-selection split; the selected epoch
was the last one).

Usage::

    python benchmarks/bench_face_readability.py [--fer2013 ../shared/data/fer2013] [--limit N] [--box-ratio 500]  # ~17 min
    python benchmarks/bench_face_readability.py --markdown            # the tables of docs/readability.md
    python benchmarks/bench_face_readability.py --write-calibration   # the face temperatures into calibration.json
    python benchmarks/bench_face_readability.py --classroom CLIP.mp4 ...  # faces of real clips passing the rule
    python benchmarks/bench_face_readability.py --model runs/face_lowres --box-ratio 0   # a candidate model

The first writes ``benchmarks/results/face_readability.json`` (without ``--limit``); the other two read it.
``--model`` scores another face2d model file (default: the bundled ``face``); its results go to
``face_readability_<name>.json`` unless ``--results`` names the file (``--markdown`` and
``--write-calibration`` read the one ``--results`` names).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

SIZES = (12, 16, 20, 24, 32, 48)
BLURS = ((24, 0.5), (24, 1.0), (24, 1.5), (32, 0.5), (32, 1.0), (32, 1.5), (32, 2.0), (48, 0.5), (48, 1.0), (48, 1.5), (48, 2.0), (48, 3.0))
JPEGS = ((24, 50), (24, 30), (24, 15), (48, 50), (48, 30), (48, 15))
THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MEASURES = ("native", "model_input", "model_input_normalised")
NORMALISED_EDGES = [0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 1e9]


def auc(score: np.ndarray, right: np.ndarray) -> float:
    """ROC AUC of a sharpness measure for telling right answers from wrong ones (0.5: no use)."""
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(right, score)), 4)


def degrade(img, size: int, sigma: float = 0.0, quality: int | None = None):
    """``(model input 48x48, degraded face size x size)`` of one 48x48 uint8 face."""
    import cv2

    small = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA) if size != img.shape[0] else img.copy()
    if sigma > 0:
        small = cv2.GaussianBlur(small, (0, 0), sigma)
    if quality is not None:
        small = cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1], cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(small, (48, 48), interpolation=cv2.INTER_LINEAR) if size != 48 else small
    return big, small


def validation_faces(fer2013: str | Path, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """FER2013's validation faces ``(n, 48, 48)`` uint8 and their class indices ``(n,)`` in ``EMOTIONS`` order;
    ``limit``: a random sample of that many (seed 0)."""
    from emolab.data import read_corpus
    from emolab.preprocessing.inputs import load_face_images
    from emolab.taxonomy import EMOTIONS

    m = read_corpus("fer2013", fer2013)
    m = m[m["split"] == "validation"].reset_index(drop=True)
    if limit:
        m = m.sample(limit, random_state=0).reset_index(drop=True)
    return load_face_images(m, progress=False), np.array([EMOTIONS.index(v) for v in m["label"].astype(str)])


def sharpness(img) -> float:
    """Variance of the 3x3 Laplacian of a grayscale image (in grey levels squared)."""
    import cv2

    return float(cv2.Laplacian(img, cv2.CV_64F).var())


def sharpness_measures(big, small) -> tuple[float, float, float]:
    """Laplacian variance of the degraded face at its own size, of the 48-px model input, and the
    latter divided by the model input's grey-level variance (insensitive to contrast)."""
    s48 = sharpness(big)
    return sharpness(small), s48, s48 / max(float(big.astype(np.float64).var()), 1.0)


def logits_of(model, x) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for a in range(0, len(x), 512):
            t = torch.from_numpy(x[a:a + 512].astype(np.float32) / 255.0)[:, None]
            out.append(model(t).float().numpy())
    return np.concatenate(out)


def halves(y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Boolean mask of half A of a stratified split into two halves."""
    rng = np.random.default_rng(seed)
    a = np.zeros(len(y), bool)
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        a[idx[: len(idx) // 2]] = True
    return a


def cross_fitted(z: np.ndarray, y: np.ndarray, a: np.ndarray, fit_z: np.ndarray | None = None, fit_y: np.ndarray | None = None):
    """Probabilities of every row with a temperature fitted on the other half; and the two temperatures.
    ``fit_z``/``fit_y`` (row-aligned with ``z``): fit on those instead (e.g. the clean 48-px faces)."""
    from emolab.calibration import apply_temperature, fit_temperature

    fz, fy = (z, y) if fit_z is None else (fit_z, fit_y)
    t_a, t_b = fit_temperature(fz[a], fy[a]), fit_temperature(fz[~a], fy[~a])
    p = np.empty_like(z, dtype=np.float64)
    p[a], p[~a] = apply_temperature(z[a], t_b), apply_temperature(z[~a], t_a)
    return p, (t_a, t_b)


def condition_row(name: str, z, y, a, z48, sharp) -> dict:
    from sklearn.metrics import balanced_accuracy_score

    from emolab.calibration import apply_temperature, expected_calibration_error, fit_temperature, selective_accuracy

    raw = apply_temperature(z, 1.0)
    p_glob, t_glob = cross_fitted(z, y, a, z48, y)
    p_band, t_band = cross_fitted(z, y, a)
    pred = raw.argmax(1)
    r = lambda v: round(float(v), 4)  # noqa: E731
    return {
        "condition": name, "n": int(len(y)), "accuracy": r((pred == y).mean()), "balanced_accuracy": r(balanced_accuracy_score(y, pred)),
        "mean_confidence": r(raw.max(1).mean()), "ece": r(expected_calibration_error(raw, y)),
        "mean_confidence_shipped_t": r(p_glob.max(1).mean()), "ece_shipped_t": r(expected_calibration_error(p_glob, y)),
        "t_condition": r(fit_temperature(z, y)), "t_condition_halves": [r(t) for t in t_band],
        "mean_confidence_condition_t": r(p_band.max(1).mean()), "ece_condition_t": r(expected_calibration_error(p_band, y)),
        "sharpness_median": r(np.median(sharp)),
        "selective_shipped_t": selective_accuracy(p_glob, y, THRESHOLDS).round(4).to_dict("records"),
        "selective_condition_t": selective_accuracy(p_band, y, THRESHOLDS).round(4).to_dict("records"),
    }


def sharpness_table(sharp: np.ndarray, right: np.ndarray, sizes: np.ndarray, edges) -> list[dict]:
    """Accuracy of the predictions in each sharpness bin, all given conditions pooled and per size."""
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (sharp >= lo) & (sharp < hi)
        row = {"sharpness_lo": float(lo), "sharpness_hi": float(hi), "n": int(m.sum()),
               "accuracy": round(float(right[m].mean()), 4) if m.any() else None}
        for s in np.unique(sizes):
            ms = m & (sizes == s)
            row[f"n_{s}px"], row[f"accuracy_{s}px"] = int(ms.sum()), round(float(right[ms].mean()), 4) if ms.sum() >= 30 else None
        rows.append(row)
    return rows


def rule_summary(z: dict, sharp: dict, y: np.ndarray, a: np.ndarray, ratio: float, min_box: float = 20.0,
                 min_sharpness: float = 200.0) -> dict:
    """The recommended rule (box >= ``min_box`` px, i.e. FER size >= min_box / ratio, and Laplacian variance of the
    model input >= ``min_sharpness``) over every condition: share kept, accuracy and ECE of what is kept, raw and
    with the temperature of the face's size (fitted on the plain faces of that size, cross-fitted)."""
    from emolab.calibration import apply_temperature, expected_calibration_error

    per, kept_p, kept_raw, kept_y = [], [], [], []
    for name, zc in z.items():
        size = int(name.split("px")[0])
        p_size, _ = cross_fitted(zc, y, a, z[f"{size}px"], y)
        keep = (size * ratio >= min_box) & (sharp[name][:, 1] >= min_sharpness)
        raw = apply_temperature(zc, 1.0)
        per.append({"condition": name, "kept": round(float(keep.mean()), 4),
                    "accuracy_kept": round(float((raw[keep].argmax(1) == y[keep]).mean()), 4) if keep.any() else None,
                    "accuracy_dropped": round(float((raw[~keep].argmax(1) == y[~keep]).mean()), 4) if (~keep).any() else None})
        kept_p.append(p_size[keep]), kept_raw.append(raw[keep]), kept_y.append(y[keep])
    pk, rk, yk = np.concatenate(kept_p), np.concatenate(kept_raw), np.concatenate(kept_y)
    n_all = len(y) * len(z)
    return {"min_box_px": min_box, "min_sharpness_model_input": min_sharpness, "box_h_over_fer_side": ratio,
            "all_conditions": {"faces": n_all, "kept": round(len(yk) / n_all, 4), "accuracy_kept": round(float((rk.argmax(1) == yk).mean()), 4),
                               "ece_kept_raw": round(expected_calibration_error(rk, yk), 4),
                               "ece_kept_size_t": round(expected_calibration_error(pk, yk), 4)},
            "per_condition": per}


def box_ratio(images: np.ndarray, n: int) -> dict:
    """Height of mediapipe's face box (the lesson pipeline's detector) on FER2013 faces, as a share of the image side.

    Each face is scaled to 144 px and pasted in the middle of a 432 px grey canvas (the detector does not
    find faces that fill the whole image)."""
    import cv2

    from emolab.preprocessing.detection import FaceDetector

    hs, ws, found = [], [], 0
    with FaceDetector(model="full", tiles=0) as det:
        for img in images[:n]:
            canvas = np.full((432, 432), int(np.median(img)), np.uint8)
            canvas[144:288, 144:288] = cv2.resize(img, (144, 144), interpolation=cv2.INTER_LINEAR)
            d = det.detect(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR))
            if d:
                found += 1
                hs.append(d[0].h / 144)
                ws.append(d[0].w / 144)
    q = lambda v: [round(float(x), 3) for x in np.percentile(v, [10, 25, 50, 75, 90])] if v else None  # noqa: E731
    return {"images": int(min(n, len(images))), "detected": found, "box_h_over_side_p10_25_50_75_90": q(hs),
            "box_w_over_side_p10_25_50_75_90": q(ws)}


def markdown(payload: dict) -> str:
    """The tables of ``docs/readability.md`` from a results payload."""
    rows = {r["condition"]: r for r in payload["conditions"]}
    ratio = (payload.get("detector_box_on_fer2013") or {}).get("box_h_over_side_p10_25_50_75_90")
    pct = lambda v: f"{100 * v:.1f} %" if v is not None and v == v else "–"  # noqa: E731
    out = ["| face (FER px) | detector box (px) | accuracy | balanced acc. | mean conf. | ECE raw | ECE shipped T | T fitted at this size | ECE that T |",
           "|---|---|---|---|---|---|---|---|---|"]
    for s in SIZES:
        r = rows[f"{s}px"]
        box = f"{s * ratio[2]:.0f}" if ratio else "–"
        out.append(f"| {s} | {box} | {pct(r['accuracy'])} | {pct(r['balanced_accuracy'])} | {r['mean_confidence']:.3f} | {r['ece']:.3f} | "
                   f"{r['ece_shipped_t']:.3f} | {r['t_condition']:.2f} | {r['ece_condition_t']:.3f} |")
    for key, title in (("selective_condition_t", "size's own T"), ("selective_shipped_t", "shipped 48-px T")):
        out += ["", f"Accuracy / coverage when only confidences >= c are kept ({title}, cross-fitted):", "",
                "| face (FER px) | " + " | ".join(f"c={c:g}" for c in THRESHOLDS) + " |", "|---" * (len(THRESHOLDS) + 1) + "|"]
        for s in SIZES:
            cells = [f"{pct(x['accuracy'])} / {100 * x['coverage']:.0f} %" for x in rows[f"{s}px"][key]]
            out.append(f"| {s} | " + " | ".join(cells) + " |")
    out += ["", "| condition | accuracy | balanced acc. | mean conf. | ECE raw | ECE shipped T | T fitted | ECE that T |", "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        if "blur" in name or "jpeg" in name:
            out.append(f"| {name} | {pct(r['accuracy'])} | {pct(r['balanced_accuracy'])} | {r['mean_confidence']:.3f} | {r['ece']:.3f} | "
                       f"{r['ece_shipped_t']:.3f} | {r['t_condition']:.2f} | {r['ece_condition_t']:.3f} |")
    for measure, res in payload["sharpness"].items():
        auc_ = res["auc_for_a_right_answer"]
        sizes = sorted({int(k.split("_")[1][:-2]) for r in res["size_and_blur"] for k in r if k.startswith("accuracy_")})
        out += ["", f"Sharpness `{measure}` (AUC for a right answer: size sweep {auc_['size_sweep']}, sizes and blur {auc_['size_and_blur']}); "
                "accuracy per bin, sizes and blur pooled (n), then per size (only bins with >= 30 faces):", "",
                "| sharpness | n | accuracy | " + " | ".join(f"{s} px" for s in sizes) + " |", "|---" * (len(sizes) + 3) + "|"]
        for r in res["size_and_blur"]:
            hi = "∞" if r["sharpness_hi"] >= 1e8 else f"{r['sharpness_hi']:g}"
            out.append(f"| {r['sharpness_lo']:g}–{hi} | {r['n']} | {pct(r['accuracy'])} | "
                       + " | ".join(pct(r.get(f"accuracy_{s}px")) for s in sizes) + " |")
    rule = payload.get("rule")
    if rule:
        al = rule["all_conditions"]
        out += ["", f"The rule (box >= {rule['min_box_px']:g} px = FER size >= {rule['min_box_px'] / rule['box_h_over_fer_side']:.1f} px, "
                f"model-input sharpness >= {rule['min_sharpness_model_input']:g}) over all {al['faces']:,} degraded faces: "
                f"{pct(al['kept'])} kept at {pct(al['accuracy_kept'])} accuracy; ECE of the kept {al['ece_kept_raw']:.3f} raw, "
                f"{al['ece_kept_size_t']:.3f} with the size's temperature (cross-fitted).", "",
                "| condition | kept | accuracy of the kept | accuracy of the dropped |", "|---|---|---|---|"]
        for r in rule["per_condition"]:  # an accuracy only where it is over >= 30 faces
            n_kept = round(r["kept"] * payload["images"])
            acc = lambda v, n: pct(v) if n >= 30 else "–"  # noqa: E731
            out.append(f"| {r['condition']} | {pct(r['kept'])} | {acc(r['accuracy_kept'], n_kept)} | "
                       f"{acc(r['accuracy_dropped'], payload['images'] - n_kept)} |")
    return "\n".join(out)


def classroom(videos: list[str], sample_fps: float = 1.0, max_side: int = 1280) -> list[dict]:
    """How many detected faces in real classroom clips pass the readability rule of docs/readability.md
    (box height >= 20 px and Laplacian variance of the 48-px crop >= 200; or the normalised variance >= 0.05),
    as the lesson pass cuts them (mediapipe with tiles on every sampled frame)."""
    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.detection import FaceDetector
    from emolab.preprocessing.video import iter_frames

    out = []
    for video in videos:
        h, lap, norm = [], [], []
        with FaceDetector() as det:
            for _, _, frame in iter_frames(video, sample_fps=sample_fps, max_side=max_side):
                for d in det.detect(frame):
                    h.append(d.h)
                    crop = crop_face(frame, (d.x, d.y, d.w, d.h), size=48)
                    lap.append(sharpness_measures(crop, crop)[1])
                    norm.append(sharpness_measures(crop, crop)[2])
        h, lap, norm = np.array(h), np.array(lap), np.array(norm)
        q = lambda v: [round(float(x), 1) for x in np.percentile(v, [10, 50, 90])] if len(v) else None  # noqa: E731
        out.append({"video": Path(video).name, "faces": int(len(h)), "box_h_p10_50_90": q(h), "sharpness_p10_50_90": q(lap),
                    "share_box_ge_20": round(float((h >= 20).mean()), 3) if len(h) else None,
                    "share_sharpness_ge_200": round(float((lap >= 200).mean()), 3) if len(h) else None,
                    "share_both": round(float(((h >= 20) & (lap >= 200)).mean()), 3) if len(h) else None,
                    "share_normalised_ge_0.05": round(float((norm >= 0.05).mean()), 3) if len(h) else None})
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    import torch

    from emolab.bundled import pretrained
    from emolab.calibration import fit_temperature

    ap = argparse.ArgumentParser()
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"
    ap.add_argument("--fer2013", default=str(shared), help="FER2013 folder with train/ and validation/")
    ap.add_argument("--limit", type=int, default=None, help="use this many validation images (default: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--box-ratio", type=int, default=500, help="measure the detector's box on this many faces (mediapipe; 0: skip)")
    ap.add_argument("--classroom", nargs="*", default=None, metavar="VIDEO",
                    help="only count the detected faces of these clips (1 frame/s) that pass the readability rule, and stop")
    ap.add_argument("--markdown", action="store_true", help="print the tables of docs/readability.md from the saved results and stop")
    ap.add_argument("--model", default="face", help="face2d model file or folder, or a bundled model's name (default: %(default)s)")
    ap.add_argument("--results", default=None, metavar="NAME",
                    help="results file benchmarks/results/NAME.json to write or read (default: face_readability for the "
                    "bundled face model, else face_readability_<model file's folder or stem>)")
    ap.add_argument("--write-calibration", action="store_true",
                    help="store the temperatures of the saved results in emolab/pretrained/calibration.json and stop")
    args = ap.parse_args()
    if args.results is None:
        mp = Path(args.model)
        args.results = "face_readability" if args.model == "face" else f"face_readability_{mp.parent.name if mp.suffix else mp.name}"
    if args.classroom:
        classroom(args.classroom)
        return
    if args.markdown or args.write_calibration:
        saved = json.loads((Path(__file__).resolve().parent / "results" / f"{args.results}.json").read_text())
        print(markdown(saved)) if args.markdown else write_calibration(saved)
        return
    if not Path(args.fer2013, "validation").is_dir():
        print(f"bench_face_readability: skipped — no FER2013 validation folder at {args.fer2013} (give --fer2013)")
        return
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    images, y = validation_faces(args.fer2013, args.limit)
    a = halves(y)
    if args.model == "face":
        model, _ = pretrained("face")
    else:
        from emolab.models import load_model
        from emolab.recipes.inputs import resolve_model_path

        model, _ = load_model(resolve_model_path(args.model))
    model.eval()

    conditions = [(f"{s}px", s, 0.0, None) for s in SIZES]
    conditions += [(f"{s}px blur{g:g}", s, g, None) for s, g in BLURS]
    conditions += [(f"{s}px jpeg{q}", s, 0.0, q) for s, q in JPEGS]
    z, sharp = {}, {}
    for name, s, g, q in conditions:
        pairs = [degrade(img, s, g, q) for img in images]
        z[name] = logits_of(model, np.stack([p[0] for p in pairs]))
        sharp[name] = np.array([sharpness_measures(*p) for p in pairs])
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    z48 = z["48px"]
    rows = [condition_row(name, z[name], y, a, z48, sharp[name][:, 0]) for name, *_ in conditions]
    for r in rows:
        print(json.dumps({k: v for k, v in r.items() if not k.startswith("selective")}), flush=True)

    right = {k: (v.argmax(1) == y) for k, v in z.items()}
    edges = [0, 50, 100, 200, 400, 800, 1600, 3200, 1e9]
    plain = [f"{s}px" for s in SIZES]
    blurred = [n for n, *_ in conditions if "jpeg" not in n]
    sizes_of = lambda names: np.concatenate([np.full(len(y), int(n.split("px")[0])) for n in names])  # noqa: E731
    cat = lambda d, names: np.concatenate([d[n] for n in names])  # noqa: E731
    sharp_rows = {}
    for j, measure in enumerate(MEASURES):
        e = edges if j < 2 else NORMALISED_EDGES
        sharp_rows[measure] = {
            "auc_for_a_right_answer": {"size_sweep": auc(cat(sharp, plain)[:, j], cat(right, plain)),
                                       "size_and_blur": auc(cat(sharp, blurred)[:, j], cat(right, blurred))},
            "size_sweep": sharpness_table(cat(sharp, plain)[:, j], cat(right, plain), sizes_of(plain), e),
            "size_and_blur": sharpness_table(cat(sharp, blurred)[:, j], cat(right, blurred), sizes_of(blurred), e)}
        print(measure, json.dumps(sharp_rows[measure]["auc_for_a_right_answer"]))

    t48 = fit_temperature(z48, y)
    payload = {"model": args.model, "images": int(len(y)), "split": "FER2013 validation (PublicTest)", "halves": "stratified by class, seed 0",
               "shipped_temperature_48px_all": round(t48, 4), "conditions": rows, "sharpness": sharp_rows,
               "sharpness_definitions": {"native": "variance of cv2.Laplacian (3x3, CV_64F) of the degraded face at its degraded size",
                                         "model_input": "the same on the 48-px model input (the crop crop_face returns)",
                                         "model_input_normalised": "model_input divided by the grey-level variance of the model input"},
               "seconds": round(time.perf_counter() - t0, 1)}
    if args.box_ratio:
        payload["detector_box_on_fer2013"] = box_ratio(images, args.box_ratio)
        print(json.dumps(payload["detector_box_on_fer2013"]))
        ratio = payload["detector_box_on_fer2013"]["box_h_over_side_p10_25_50_75_90"][2]
        payload["rule"] = rule_summary(z, sharp, y, a, ratio)
        print(json.dumps(payload["rule"]["all_conditions"]))
    if not args.limit:
        save(args.results, payload)
    print(f"{time.perf_counter() - t0:.0f} s")


def write_calibration(payload: dict) -> None:
    """Store the face model's temperatures from a full run's results in ``emolab/pretrained/calibration.json``."""
    from emolab.calibration import record_calibration

    rows = {r["condition"]: r for r in payload["conditions"]}
    r48 = rows["48px"]
    box = (payload.get("detector_box_on_fer2013") or {}).get("box_h_over_side_p10_25_50_75_90")
    record_calibration("face", temperature=payload["shipped_temperature_48px_all"],
                       fitted_on=f"FER2013 validation, all {payload['images']:,} faces at 48 px (the split the card reports on)",
                       command="python benchmarks/bench_face_readability.py && "
                               "python benchmarks/bench_face_readability.py --write-calibration",
                       ece_before=r48["ece"], ece_after_cross_fitted=r48["ece_shipped_t"],
                       temperatures_of_the_two_halves=r48["t_condition_halves"],
                       by_size_px={str(s): rows[f"{s}px"]["t_condition"] for s in SIZES},
                       by_size_note="fitted on all validation faces shrunk to that size (INTER_AREA) and scaled back to 48 px",
                       **({"box_h_over_fer_side": box[2], "box_note": "median height of mediapipe's box on FER2013 faces / image side"}
                          if box else {}))
    print(f"face temperature {payload['shipped_temperature_48px_all']} written")


if __name__ == "__main__":
    main()
