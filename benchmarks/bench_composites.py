"""Real-face composites: detection, identities and emotion accuracy per face size, against exact truth.

    python benchmarks/bench_composites.py [--lessons 4] [--seconds 15] [--keep DIR] [--markdown]

Reads FER2013 validation faces and the CREMA-D actor-1001 clips from ``$EMOLAB_SHARED_DATA`` (default
``../shared/data`` beside the repo; never copied into it). Each lesson pastes 11 FER2013 faces (one image per seat,
classes taking turns) and the CREMA-D actor (his six clips in 5-s segments) into a drawn 1280x720 classroom at
16/24/32/48/64/96 px (:func:`emolab.synth.composite.composite_lesson`: half the seats of each size blurred, JPEG-compressed
or dimmed, a third looking down for 2-4 s, one leaving). Each lesson is analysed twice with the real models
(``AnalysisConfig(model="pretrained")``): with the default readability rule, and with the rule off (every face read),
which gives the accuracy the face model would have had on the person-seconds the rule leaves unread.
Writes ``benchmarks/results/composites.json``; ``--markdown`` prints its tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from emolab.scoring import match_to_truth  # noqa: E402
from emolab.synth.composite import FaceSource, composite_lesson, iter_composite, visible_truth  # noqa: E402
from emolab.taxonomy import EMOTIONS  # noqa: E402

SIZES = (16, 24, 32, 48, 64, 96)
FER_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
CREMAD_CODES = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral", "SAD": "sadness"}
FER_BOX = 0.887  # a FER2013 image side is the detector's face box / 0.887 (docs/readability.md)


def shared_data() -> Path:
    return Path(os.environ.get("EMOLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


def fer_faces(root: Path, n: int, seed: int) -> list[FaceSource]:
    """``n`` FER2013 validation images, the 7 classes taking turns, each its own identity."""
    import cv2

    rng = np.random.default_rng(seed)
    files = {c: sorted((root / c).glob("*.jpg")) for c in FER_CLASSES}
    out = []
    for k in range(n):
        c = FER_CLASSES[k % 7]
        f = files[c].pop(int(rng.integers(len(files[c]))))
        out.append(FaceSource([cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)], c, identity=f"fer:{c}/{f.name}", name=f"fer:{c}/{f.name}"))
    return out


def cremad_faces(folder: Path) -> list[FaceSource]:
    """Actor 1001's six clips, every frame cut to FER2013's framing around YuNet's box on the clip's middle frame."""
    import cv2

    from emolab.preprocessing.detection import FaceDetector
    from emolab.preprocessing.video import iter_frames, video_info

    out = []
    with FaceDetector() as det:
        for path in sorted(folder.glob("1001_DFA_*_XX.flv")):
            fps = video_info(path).fps
            frames = [fr for _, _, fr in iter_frames(path, sample_fps=None)]
            dets = det.detect(frames[len(frames) // 2])
            if not dets:
                raise SystemExit(f"{path.name}: no face found on the middle frame")
            x, y, w, h = max(dets, key=lambda d: d.score).box
            side = h / FER_BOX
            cx, cy = x + w / 2, y + h / 2
            x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
            s = int(round(side))
            crops = [cv2.resize(np.pad(fr, ((s, s), (s, s), (0, 0)), mode="edge")[y0 + s:y0 + 2 * s, x0 + s:x0 + 2 * s], (96, 96),
                                interpolation=cv2.INTER_AREA) for fr in frames]
            code = path.stem.split("_")[2]
            out.append(FaceSource(crops, CREMAD_CODES[code], identity="cremad:1001", fps=fps, name=f"cremad:{path.stem}"))
    return out


def person_seconds(truth: pd.DataFrame) -> pd.DataFrame:
    """Per seat and second: its size, the majority label over the second's visible frames, the condition."""
    tr = visible_truth(truth).assign(s=lambda d: np.floor(d["t"]).astype(int))
    cond = np.where(tr["blur"] > 0, "blur", np.where(tr["jpeg"] > 0, "jpeg", np.where(tr["light"] < 1, "dark", "clean")))
    tr = tr.assign(condition=cond, down=(tr["pose"] != "frontal").astype(int), cremad=tr["source"].str.startswith("cremad").astype(int))
    g = tr.groupby(["person", "s"])
    majority = lambda s: s.value_counts().index[0]  # noqa: E731
    return pd.DataFrame({"size": g["size"].first(), "source": g["source"].agg(majority), "truth": g["emotion"].agg(majority),
                         "condition": g["condition"].first(), "down": g["down"].max(), "cremad": g["cremad"].first()}).reset_index()


def read48(images: list[np.ndarray]) -> list[str]:
    """The bundled face model (fp32) on grey images scaled to 48 px: the label it gives each."""
    import cv2
    import torch

    from emolab.bundled import pretrained

    model, _ = pretrained("face")
    x = []
    for img in images:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
        x.append(cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA if img.shape[0] > 48 else cv2.INTER_LINEAR))
    with torch.inference_mode():
        z = model(torch.from_numpy(np.stack(x).astype(np.float32) / 255.0)[:, None]).float().numpy()
    return [EMOTIONS[int(k)] for k in z.argmax(1)]


def direct_readings(sources: list[FaceSource]) -> dict[str, str]:
    """What the face model reads on each source itself, unpasted (a clip: its middle frame)."""
    return dict(zip([s.name for s in sources], read48([np.asarray(s.frames[len(s.frames) // 2]) for s in sources])))


CROPS = {"pasted square, before video coding": (1.0, 0.0), "pasted square": (1.0, 0.0),
         "detector-like box, margin 0.2 (the pipeline's crop)": (FER_BOX, 0.2),
         "detector-like box, margin 0.06": (FER_BOX, 0.06)}


def crop_readings(video: Path, truth: pd.DataFrame, rendered: dict[int, np.ndarray]) -> pd.DataFrame:
    """The face model on crops cut from the composite at the truth box, one frontal frame per seat (its first).

    Separates what pasting costs (``pasted square, before video coding``: the pasted face cut from the rendered frame),
    what the video coding adds (``pasted square``: the same from the decoded video) and what the pipeline's crop framing
    costs (a box of 0.887 x the pasted side, as a detector draws on a FER face, cut with a margin). ``rendered``: frame
    index -> the frame before coding."""
    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.video import iter_frames

    pick = first_frontal(truth)
    frames = {i: f for i, _, f in iter_frames(video, sample_fps=None) if i in set(pick["frame"])}
    rows = []
    for name, (shrink, margin) in CROPS.items():
        crops = []
        for r in pick.itertuples():
            side = r.w * shrink
            box = (r.x + (r.w - side) / 2, r.y + (r.h - side) / 2, side, side)
            crops.append(crop_face((rendered if "before" in name else frames)[r.frame], box, size=48, margin=margin))
        clean = ((pick["blur"] == 0) & (pick["jpeg"] == 0) & (pick["light"] == 1)).to_numpy()
        rows.append(pick.assign(crop=name, read=read48(crops), clean=clean)[["person", "size", "source", "emotion", "crop", "read", "clean"]])
    return pd.concat(rows)


def first_frontal(truth: pd.DataFrame) -> pd.DataFrame:
    """Each seat's first truth row with its face shown frontally."""
    pick = visible_truth(truth)
    return pick[pick["pose"] == "frontal"].groupby("person").first().reset_index()


def score_lesson(truth: pd.DataFrame, faces: pd.DataFrame, timeline: pd.DataFrame, timeline_all: pd.DataFrame | None,
                 direct: dict[str, str], crops: pd.DataFrame) -> dict:
    """Detections, identities and per-second readings of one analysed composite, as tidy tables to pool."""
    vis = visible_truth(truth)
    frames = set(faces["frame"])
    sampled = vis[vis["frame"].isin(frames)]
    m = match_to_truth(faces, sampled)
    hidden = truth[(truth["present"] == 1) & (truth["visible"] == 0) & truth["frame"].isin(frames)]
    rest = m[m["truth_person"] == ""]
    on_head = match_to_truth(rest, hidden) if len(rest) and len(hidden) else rest.assign(truth_person="")
    size_of = truth.groupby("person")["size"].first()
    hit = m[m["truth_person"] != ""]
    dup = hit.duplicated(["frame", "truth_person"])
    det = pd.DataFrame({"size": hit["truth_person"].map(size_of).to_numpy(), "duplicate": dup.to_numpy().astype(int)})
    found = set(zip(hit["frame"], hit["truth_person"]))
    recall = sampled.assign(found=[int((f, p) in found) for f, p in zip(sampled["frame"], sampled["person"])])[["person", "size", "pose", "found"]]
    identity = hit.groupby("person")["truth_person"].agg(lambda s: s.value_counts().index[0])
    majority_none = m.groupby("person")["truth_person"].agg(lambda s: (s == "").mean() > 0.5)
    ids = hit.groupby("truth_person")["person"].nunique().reindex(size_of.index, fill_value=0)
    ps = person_seconds(truth)

    def read(tl: pd.DataFrame) -> pd.DataFrame:  # per truth person-second: the analysis' emotion ("" unread, NaN unseen)
        tl = tl[tl["person"].isin(identity.index)].assign(truth_person=lambda d: d["person"].map(identity), s=lambda d: d["t"].astype(int))
        tl = tl.sort_values("emotion", ascending=False)  # a readable row first where two identities cover one seat
        return tl.groupby(["truth_person", "s"])["emotion"].first()

    got = read(timeline)
    keys = list(zip(ps["person"], ps["s"]))
    ps["emotion"] = [got.get(k, np.nan) for k in keys]
    ps["direct"] = ps["source"].map(direct)
    if timeline_all is not None:
        got_all = read(timeline_all)
        ps["emotion_rule_off"] = [got_all.get(k, np.nan) for k in keys]
    return {"detections": det, "recall": recall, "seconds": ps, "crops": crops.assign(direct=crops["source"].map(direct)),
            "ids": pd.DataFrame({"person": ids.index, "size": size_of.reindex(ids.index).to_numpy(), "ids": ids.to_numpy()}),
            "n_detections": len(m), "false": int(len(rest)), "on_hidden_head": int((on_head["truth_person"] != "").sum()),
            "phantom_boxes": int((on_head["truth_person"] == "").sum()), "identities": int(faces["person"].nunique()),
            "phantom_identities": int(majority_none.sum()), "people": int(truth["person"].nunique())}


def summarise(scored: list[dict]) -> dict:
    det = pd.concat([s["detections"] for s in scored])
    rec = pd.concat([s["recall"] for s in scored])
    sec = pd.concat([s["seconds"] for s in scored])
    ids = pd.concat([s["ids"] for s in scored])
    rows = []

    def acc(pred: pd.Series, truth: pd.Series) -> float | None:
        ok = pred.notna() & (pred != "")
        return round(float((pred[ok] == truth[ok]).mean()), 4) if ok.any() else None

    for size in SIZES + ("all",):
        pick = (lambda d: d) if size == "all" else (lambda d: d[d["size"] == size])
        d, r, s, i = pick(det), pick(rec), pick(sec), pick(ids)
        seen = s[s["emotion"].notna()]
        readable = seen[seen["emotion"] != ""]
        unread = s[s["emotion"].isna() | (s["emotion"] == "")]
        row = {"size": size, "face_frames": int(len(r)), "recall": round(float(r["found"].mean()), 4),
               "precision_on_faces": round(float(1 - d["duplicate"].mean()), 4) if len(d) else None,
               "seats": int(len(i)), "seats_found": int((i["ids"] > 0).sum()), "ids_per_person": round(float(i["ids"].mean()), 3),
               "ids_per_found_seat": round(float(i["ids"][i["ids"] > 0].mean()), 3) if (i["ids"] > 0).any() else None,
               "person_seconds": int(len(s)), "readable_share": round(len(readable) / max(1, len(s)), 4),
               "accuracy_readable": acc(readable["emotion"], readable["truth"]), "n_readable": int(len(readable)),
               "accuracy_unpasted": acc(s["direct"], s["truth"])}
        if "emotion_rule_off" in s:
            row["accuracy_unread_rule_off"] = acc(unread["emotion_rule_off"], unread["truth"])
            row["n_unread_read_rule_off"] = int((unread["emotion_rule_off"].notna() & (unread["emotion_rule_off"] != "")).sum())
            row["accuracy_all_rule_off"] = acc(s["emotion_rule_off"], s["truth"])
        rows.append(row)
    by_cond = []
    groups = [(f"degradation: {c}", g) for c, g in sec.groupby("condition")]
    groups += [("looking down (some frames of the second)", sec[sec["down"] == 1]), ("frontal", sec[sec["down"] == 0])]
    groups += [("FER2013 stills", sec[sec["cremad"] == 0]), ("CREMA-D actor (clips, label changes every 5 s)", sec[sec["cremad"] == 1])]
    for cond, s in groups:
        readable = s[s["emotion"].notna() & (s["emotion"] != "")]
        by_cond.append({"condition": cond, "person_seconds": int(len(s)), "readable_share": round(len(readable) / max(1, len(s)), 4),
                        "accuracy_readable": acc(readable["emotion"], readable["truth"]),
                        "accuracy_unpasted": acc(s["direct"], s["truth"]),
                        "accuracy_all_rule_off": acc(s["emotion_rule_off"], s["truth"]) if "emotion_rule_off" in s else None})
    cr = pd.concat([s["crops"] for s in scored])
    crop_rows = []
    for size in SIZES + ("all", "all, clean seats only"):
        c = cr if size == "all" else cr[cr["clean"]] if size != "all" and not isinstance(size, int) else cr[cr["size"] == size]
        one = c[c["crop"] == next(iter(CROPS))]
        crop_rows.append({"size": size, "seats": int(len(one)), "unpasted": acc(one["direct"], one["emotion"]),
                          **{name: acc(g["read"], g["emotion"]) for name, g in c.groupby("crop", sort=False)}})
    recall_pose = {str(k): round(float(v), 4) for k, v in rec.groupby("pose")["found"].mean().items()}
    totals = {k: int(sum(s[k] for s in scored)) for k in ("n_detections", "false", "on_hidden_head", "phantom_boxes", "identities",
                                                         "phantom_identities", "people")}
    tp = int((det["duplicate"] == 0).sum())
    totals["precision"] = round(tp / max(1, totals["n_detections"]), 4)
    return {"per_size": rows, "per_condition": by_cond, "per_size_crops": crop_rows, "recall_by_pose": recall_pose, "totals": totals}


def score_curve(sec: pd.DataFrame) -> list[dict]:
    """Readable share and accuracy of the read person-seconds at each detector-score bar, all sizes and >= 32 px."""
    rows = []
    for bar, g in sec.groupby("min_score"):
        for label, d in (("all", g), (">= 32 px", g[g["size"] >= 32])):
            ok = d["emotion"].notna() & (d["emotion"] != "")
            rows.append({"min_score": float(bar), "sizes": label, "person_seconds": int(len(d)),
                         "readable_share": round(float(ok.mean()), 4) if len(d) else None, "n_readable": int(ok.sum()),
                         "accuracy_readable": round(float((d["emotion"][ok] == d["truth"][ok]).mean()), 4) if ok.any() else None})
    return rows


def markdown(res: dict) -> str:
    head = ("| face size (px) | recall of face-frames | seats found | identities per found seat | readable person-seconds "
            "| accuracy of the read | accuracy the rule left unread (read anyway) | accuracy, rule off | same faces unpasted, 48 px |\n"
            "|---|---|---|---|---|---|---|---|---|")
    pct = lambda v: "–" if v is None else f"{100 * v:.1f} %"
    lines = [head]
    for r in res["per_size"]:
        ids = "–" if r["ids_per_found_seat"] is None else f"{r['ids_per_found_seat']:.2f}"
        lines.append(f"| {r['size']} | {pct(r['recall'])} of {r['face_frames']} | {r['seats_found']} / {r['seats']} | {ids} "
                     f"| {pct(r['readable_share'])} of {r['person_seconds']} | {pct(r['accuracy_readable'])} ({r['n_readable']}) "
                     f"| {pct(r.get('accuracy_unread_rule_off'))} ({r.get('n_unread_read_rule_off', 0)}) "
                     f"| {pct(r.get('accuracy_all_rule_off'))} | {pct(r['accuracy_unpasted'])} |")
    lines += ["", "| condition | person-seconds | readable | accuracy of the read | accuracy, rule off | same faces unpasted, 48 px |",
              "|---|---|---|---|---|---|"]
    for r in res["per_condition"]:
        lines.append(f"| {r['condition']} | {r['person_seconds']} | {pct(r['readable_share'])} | {pct(r['accuracy_readable'])} "
                     f"| {pct(r['accuracy_all_rule_off'])} | {pct(r['accuracy_unpasted'])} |")
    if "per_size_crops" in res:
        names = list(CROPS)
        lines += ["", "| face size (px) | seats | unpasted, 48 px | " + " | ".join(names) + " |", "|---" * (3 + len(names)) + "|"]
        for r in res["per_size_crops"]:
            lines.append(f"| {r['size']} | {r['seats']} | {pct(r['unpasted'])} | " + " | ".join(pct(r.get(n)) for n in names) + " |")
    t = res["totals"]
    lines += ["", f"Detections {t['n_detections']}, precision {pct(t['precision'])}; false boxes {t['false']} "
                  f"({t['on_hidden_head']} on a bowed head, {t['phantom_boxes']} on no one); identities {t['identities']} for "
                  f"{t['people']} seats, {t['phantom_identities']} phantom identities (most sightings on no visible face). "
                  f"Recall by pose: " + ", ".join(f"{k} {pct(v)}" for k, v in res["recall_by_pose"].items()) + "."]
    if res.get("score_curve"):
        lines += ["", "| detector-score bar (min_score) | sizes | readable person-seconds | accuracy of the read (n) |", "|---|---|---|---|"]
        for r in res["score_curve"]:
            lines.append(f"| {r['min_score']:g} | {r['sizes']} | {pct(r['readable_share'])} of {r['person_seconds']} "
                         f"| {pct(r['accuracy_readable'])} ({r['n_readable']}) |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lessons", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--keep", help="write the composite lessons and analyses here (else a temporary folder)")
    ap.add_argument("--no-rule-off", action="store_true", help="skip the second analysis with the readability rule off")
    ap.add_argument("--face-frame-step", type=int, default=None,
                    help="read every k-th frame of each 1-s face clip (AnalysisConfig.face_frame_step; default: the config's)")
    ap.add_argument("--precision", default="auto", help="model inference precision (AnalysisConfig.precision: auto, int8, bf16, fp32)")
    ap.add_argument("--tag", default="", help="suffix of the JSON file (results/composites[_TAG].json)")
    ap.add_argument("--markdown", action="store_true", help="print the tables of benchmarks/results/composites.json and exit")
    ap.add_argument("--score-curve", type=float, nargs="*", default=[],
                    help="also analyse each lesson with the default rule at these detector-score bars (min_score) and report "
                         "readable share and accuracy of the read for each (the curve behind the bar)")
    args = ap.parse_args()
    from _common import OUT, save

    if args.markdown:
        import json

        print(markdown(json.loads((OUT / "composites.json").read_text())))
        return
    data = shared_data()
    fer, cremad = data / "fer2013" / "validation", data / "real_video" / "cremad_av"
    if not fer.is_dir() or not cremad.is_dir():
        raise SystemExit(f"needs FER2013 validation and the CREMA-D clips under {data} (set EMOLAB_SHARED_DATA); not found")
    import warnings

    import torch

    from emolab.models.lesson import load_lesson_models
    from emolab.preprocessing.quality import ReadabilityRule
    from emolab.timeline import AnalysisConfig, analyze_lesson

    torch.set_num_threads(2)
    warnings.filterwarnings("ignore", message="no usable audio")  # composites have no audio track
    actor = cremad_faces(cremad)
    cfg = AnalysisConfig(model="pretrained", precision=args.precision, **({"face_frame_step": args.face_frame_step} if args.face_frame_step else {}))
    cfg_off = AnalysisConfig(model="pretrained", readability=ReadabilityRule(min_face_px=0, min_frontal=0, min_sharpness=0, min_score=0),
                             min_readable_share=0.0)
    models = load_lesson_models(cfg.model, cfg.device, cfg.weights, cfg.precision, cfg.face_frame_step)
    keep = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="composites-"))
    scored, runs, curve = [], [], []
    for seed in range(args.lessons):
        faces = fer_faces(fer, 11, seed) + actor
        direct = direct_readings(faces)
        folder = keep / f"composite_{seed}"
        t0 = time.perf_counter()
        made = composite_lesson(folder, faces, seconds=args.seconds, fps=args.fps, width=1280, height=720, sizes=SIZES, n_seats=12,
                         seed=seed, overwrite=True)
        t1 = time.perf_counter()
        res = analyze_lesson(folder, config=cfg, progress=False, models=models, thumbnails=False)
        t2 = time.perf_counter()
        res_off = None if args.no_rule_off else analyze_lesson(folder, config=cfg_off, progress=False, models=models, thumbnails=False)
        t3 = time.perf_counter()
        truth = pd.read_csv(folder / "truth.csv", keep_default_na=False)
        want = set(first_frontal(truth)["frame"])
        rendered = {i: f for i, _, f, _ in iter_composite(made.seats, faces, seconds=args.seconds, fps=args.fps, width=1280, height=720,
                                                          seed=seed) if i in want}
        crops = crop_readings(folder / "lesson.mp4", truth, rendered)
        s = score_lesson(truth, res.faces, res.timeline, None if res_off is None else res_off.timeline, direct, crops)
        for bar in args.score_curve:  # the same faces (readability does not touch tracking), a different bar
            res_bar = analyze_lesson(folder, config=AnalysisConfig(model="pretrained", readability=ReadabilityRule(min_score=bar)),
                                     progress=False, models=models, thumbnails=False)
            sec = score_lesson(truth, res.faces, res_bar.timeline, None, direct, crops)["seconds"]
            curve.append(sec[["size", "emotion", "truth"]].assign(min_score=bar))
        scored.append(s)
        runs.append({"seed": seed, "generate_s": round(t1 - t0, 1), "analyse_s": round(t2 - t1, 1), "analyse_rule_off_s": round(t3 - t2, 1),
                     "identities": s["identities"], "phantom_identities": s["phantom_identities"]})
        print(runs[-1], flush=True)
    out = summarise(scored)
    if curve:
        out["score_curve"] = score_curve(pd.concat(curve))
    payload = {"command": "python benchmarks/bench_composites.py " + " ".join(sys.argv[1:]),
               "settings": {"lessons": args.lessons, "seconds": args.seconds, "fps": args.fps, "width": 1280, "height": 720,
                            "sizes": list(SIZES), "seats": 12, "face_frame_step": cfg.face_frame_step, "precision": models.precision if hasattr(models, "precision") else cfg.precision, "faces": "11 FER2013 validation images (classes in turn) + CREMA-D actor 1001",
                            "model": "pretrained", "degradations": "per size, every second seat: blur sigma 1 / JPEG 30 / gain 0.45 in turn; "
                                                                     "a third of seats look down 2-4 s; one seat empty 2-4 s"},
               "runs": runs, **out}
    save("composites" + (f"_{args.tag}" if args.tag else ""), payload)
    print(markdown(payload))


if __name__ == "__main__":
    main()
