"""Which detected faces can be read? The readability rule against a person's judgement on real frames.

For every face a person annotated on the real classroom keyframes (``benchmarks/annotations``), the
default detector's matching box (IoU >= 0.3) is measured as the lesson pipeline measures it
(:func:`emolab.preprocessing.quality.face_quality`: box height, frontalness, sharpness of the 48-px
crop) and compared with the annotator's ``readable`` call. Prints, per measure, the ROC area and the
share of readable / unreadable faces kept at each threshold, and how the shipped rule agrees
with the annotator; writes ``benchmarks/results/readability_rule.json``.

Reads the clips from ``$EMOLAB_SHARED_DATA/real_video`` (default ``../shared/data``); exits with a
message when they are absent.

    python benchmarks/bench_readability_rule.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from bench_real_footage import read_keyframes, shared_data  # noqa: E402

from emolab.preprocessing.detection import FaceDetector, iou_matrix  # noqa: E402
from emolab.preprocessing.quality import ReadabilityRule, face_quality, unreadable_reason  # noqa: E402


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a readable face scores higher than an unreadable one), ties counted half."""
    pos, neg = pos[~np.isnan(pos)], neg[~np.isnan(neg)]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg)))


def main() -> None:
    clips = shared_data() / "real_video" / "classroom"
    if not clips.is_dir():
        print(f"skipped: the real clips are not at {clips} (set EMOLAB_SHARED_DATA)")
        return
    truth = pd.read_csv(ROOT / "benchmarks" / "annotations" / "classroom_faces.csv")
    truth = truth[truth["face_visible"] == "yes"]
    frames = read_keyframes(clips, truth)
    rows = []
    with FaceDetector() as det:
        for (clip, index), frame in frames.items():
            t = truth[(truth["clip"] == clip) & (truth["frame"] == index)]
            dets = det.detect(frame)
            if not dets:
                continue
            q = face_quality(frame, dets)
            m = iou_matrix(t[["x", "y", "w", "h"]].to_numpy(float), np.array([d.box for d in dets]))
            for i, (_, r) in enumerate(t.iterrows()):
                j = int(np.argmax(m[i]))
                if m[i, j] >= 0.3:
                    rows.append({"clip": clip, "frame": index, "face_id": r["face_id"], "readable": r["readable"] == "yes",
                                 "reason": r["reason"] if isinstance(r["reason"], str) else "", "score": dets[j].score,
                                 **q.iloc[j].to_dict()})
    df = pd.DataFrame(rows)
    pos, neg = df[df.readable], df[~df.readable]
    print(f"{len(df)} annotated faces found by the detector: {len(pos)} readable, {len(neg)} not "
          f"({neg['reason'].value_counts().to_dict()})")
    out = {"faces": len(df), "readable": int(len(pos)), "measures": {}}
    grids = {"face_px": [14, 16, 18, 20, 22, 24, 26, 28, 32, 36, 40], "frontal": [0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8],
             "sharpness": [50, 100, 150, 200, 250, 300, 400, 600], "score": [0.6, 0.7, 0.8, 0.85, 0.9]}
    for col, grid in grids.items():
        a = auc(pos[col].to_numpy(float), neg[col].to_numpy(float))
        curve = [{"threshold": g, "readable_kept": float((pos[col] >= g).mean()), "unreadable_kept": float((neg[col] >= g).mean())}
                 for g in grid]
        out["measures"][col] = {"auc": a, "curve": curve}
        print(f"\n{col}: AUC {a:.3f}")
        print("  threshold  readable kept  unreadable kept")
        for c in curve:
            print(f"  {c['threshold']:>9}  {c['readable_kept']:>13.2f}  {c['unreadable_kept']:>15.2f}")
    rule = ReadabilityRule()
    said = unreadable_reason(df, rule) == ""
    tp, fp = int((said & df.readable).sum()), int((said & ~df.readable).sum())
    out["rule"] = {**rule.to_dict(), "readable_kept": tp / max(1, len(pos)), "unreadable_kept": fp / max(1, len(neg)),
                   "precision": tp / max(1, tp + fp)}
    print(f"\nshipped rule {rule.to_dict()}: keeps {tp}/{len(pos)} readable faces and {fp}/{len(neg)} unreadable ones "
          f"(precision {out['rule']['precision']:.2f})")
    res = ROOT / "benchmarks" / "results" / "readability_rule.json"
    res.write_text(json.dumps(out, indent=1) + "\n")
    df.round(4).to_csv("/tmp/readability_faces.csv", index=False)


if __name__ == "__main__":
    main()
