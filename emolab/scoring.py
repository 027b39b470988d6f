"""Checks against the ground truth of synthetic lessons: detection recall, identity purity.

These are the figures the tracking and timeline stages are held to (identity purity >= 99 %,
>= 95 % of visible face-frames detected); tests, docs and benchmarks all compute them here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .preprocessing.detection import iou_matrix


def match_to_truth(faces: pd.DataFrame, truth: pd.DataFrame, min_iou: float = 0.3) -> pd.DataFrame:
    """Pair each tracked face with the truth person it overlaps most in the same frame.

    Returns
    -------
    pandas.DataFrame
        ``faces`` with an added ``truth_person`` column (empty where nothing overlaps).
    """
    out = faces.copy()
    out["truth_person"] = ""
    tr_by_frame = {f: g for f, g in truth.groupby("frame")}
    for f, g in faces.groupby("frame"):
        t = tr_by_frame.get(f)
        if t is None:
            continue
        m = iou_matrix(g[["x", "y", "w", "h"]].to_numpy(), t[["x", "y", "w", "h"]].to_numpy())
        best = m.argmax(1)
        ok = m[np.arange(len(g)), best] >= min_iou
        out.loc[g.index[ok], "truth_person"] = t["person"].to_numpy()[best[ok]]
    return out


def tracking_scores(faces: pd.DataFrame, truth: pd.DataFrame, min_iou: float = 0.3) -> dict:
    """Detection recall, identity purity and fragmentation of tracked faces against truth.

    Only frames that were sampled (present in ``faces``' frames or every truth frame when
    ``faces`` is empty) count; truth rows with ``occluded == 1`` are excluded from recall.

    Returns
    -------
    dict
        ``recall`` (share of visible truth face-frames with a tracked face), ``purity`` (share of
        matched tracked faces whose person is their track's majority truth person),
        ``false_positives`` (tracked faces matching no truth), ``n_persons_truth``,
        ``n_persons_tracked``, ``fragmentation`` (tracked ids per truth person, mean).
    """
    m = match_to_truth(faces, truth, min_iou)
    frames = set(faces["frame"]) if len(faces) else set()
    sampled = truth[truth["frame"].isin(frames)] if frames else truth
    visible = sampled[sampled.get("occluded", 0) == 0] if "occluded" in sampled else sampled
    hit = m[m.truth_person != ""]
    found = set(zip(hit.frame, hit.truth_person))
    recall = float(np.mean([(f, p) in found for f, p in zip(visible.frame, visible.person)])) if len(visible) else float("nan")
    if len(hit):
        majority = hit.groupby("person")["truth_person"].agg(lambda s: s.value_counts().index[0])
        purity = float((hit["truth_person"] == hit["person"].map(majority)).mean())
        frag = float(hit.groupby("truth_person")["person"].nunique().mean())
    else:
        purity, frag = float("nan"), float("nan")
    return {"recall": recall, "purity": purity, "false_positives": int((m.truth_person == "").sum()),
            "n_persons_truth": int(truth["person"].nunique()), "n_persons_tracked": int(faces["person"].nunique()),
            "fragmentation": frag, "n_faces": int(len(faces))}


def timeline_agreement(timeline: pd.DataFrame, faces: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Per-second emotion agreement of an analysis with a synthetic lesson's truth.

    Each analysed person is mapped to the truth person its face sightings overlap most; the truth
    emotion of a person-second is the most frequent label over that second's frames.

    Returns
    -------
    dict
        ``agreement`` (share of matched person-seconds whose predicted emotion equals the truth),
        ``n`` (person-seconds compared), ``per_emotion`` (recall per truth emotion),
        ``identity`` (analysed person -> truth person).
    """
    m = match_to_truth(faces, truth)
    m = m[m.truth_person != ""]
    identity = m.groupby("person")["truth_person"].agg(lambda s: s.value_counts().index[0]).to_dict()
    tr = truth.assign(s=np.floor(truth["t"]).astype(int))
    per_sec = tr.groupby(["person", "s"])["emotion"].agg(lambda s: s.value_counts().index[0])
    tl = timeline[timeline["person"].isin(identity)].copy()
    tl["truth_person"] = tl["person"].map(identity)
    keys = list(zip(tl["truth_person"], tl["t"].astype(int)))
    tl["truth"] = [per_sec.get(k, "") for k in keys]
    tl = tl[tl["truth"] != ""]
    if tl.empty:
        return {"agreement": float("nan"), "n": 0, "per_emotion": {}, "identity": identity}
    ok = tl["emotion"] == tl["truth"]
    per = ok.groupby(tl["truth"]).mean().round(4).to_dict()
    return {"agreement": float(ok.mean()), "n": int(len(tl)), "per_emotion": per, "identity": identity}
