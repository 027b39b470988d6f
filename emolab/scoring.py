"""Checks against ground truth: synthetic lessons (detection recall, identity purity) and hand-annotated
real keyframes (detection precision and recall, :func:`detection_scores`).

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


def detection_scores(boxes, scores, truth: pd.DataFrame, min_iou: float = 0.3, match: str = "iou") -> dict:
    """Score one frame's face detections against hand annotations (``benchmarks/annotations/``).

    Parameters
    ----------
    boxes : array [n, 4]
        Detected ``(x, y, w, h)`` in pixels; ``scores`` [n]: their scores (matched highest first).
    truth : pandas.DataFrame
        The frame's annotated people: ``x, y, w, h`` and ``face_visible`` (``yes``: a face box; ``no``: the
        head of someone seen from behind), optionally ``readable`` (``yes``/``no``).
    min_iou : float
        ``match="iou"``: a detection matches a face when their IoU is at least this.
    match : {"iou", "centre"}
        ``"centre"``: a detection matches when its centre lies inside the face box or the face's centre inside
        it (kinder to detectors whose box style differs from the annotation's).

    Returns
    -------
    dict
        ``tp`` (faces found, each at most once), ``detections``, ``faces`` (visible faces), ``readable`` and
        ``readable_found``, and the false detections split into ``duplicate`` (a second box on a found face),
        ``back_of_head`` (on someone whose face is not visible) and ``phantom`` (on no person).
    """
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    visible = truth[truth["face_visible"] == "yes"]
    heads = truth[truth["face_visible"] != "yes"][["x", "y", "w", "h"]].to_numpy(float).reshape(-1, 4)
    faces = visible[["x", "y", "w", "h"]].to_numpy(float).reshape(-1, 4)
    readable = (visible["readable"] == "yes").to_numpy() if "readable" in visible else np.zeros(len(visible), bool)

    def hits(targets: np.ndarray) -> np.ndarray:  # [n detections, m targets]: does each pair match, and how well
        if match == "iou":
            m = iou_matrix(boxes, targets)
            return np.where(m >= min_iou, m, -1.0)
        if match != "centre":
            raise ValueError(f"match must be 'iou' or 'centre', got {match!r}")
        if len(boxes) == 0 or len(targets) == 0:
            return -np.ones((len(boxes), len(targets)))
        dc, tc = boxes[:, :2] + boxes[:, 2:] / 2, targets[:, :2] + targets[:, 2:] / 2
        inside = lambda c, b: ((c[:, None, 0] >= b[None, :, 0]) & (c[:, None, 0] <= b[None, :, 0] + b[None, :, 2])
                               & (c[:, None, 1] >= b[None, :, 1]) & (c[:, None, 1] <= b[None, :, 1] + b[None, :, 3]))
        ok = inside(dc, targets) | inside(tc, boxes).T
        closeness = 1.0 / (1.0 + np.hypot(dc[:, None, 0] - tc[None, :, 0], dc[:, None, 1] - tc[None, :, 1]))
        return np.where(ok, closeness, -1.0)

    on_face, on_head = hits(faces), hits(heads)
    found = np.zeros(len(faces), bool)
    out = dict(tp=0, detections=len(boxes), faces=len(faces), readable=int(readable.sum()), readable_found=0,
               duplicate=0, back_of_head=0, phantom=0)
    for i in np.argsort(-np.asarray(scores, float).reshape(-1), kind="stable"):
        row = np.where(found, -1.0, on_face[i]) if len(faces) else on_face[i]
        if len(faces) and row.max() >= 0:
            j = int(row.argmax())
            found[j] = True
            out["tp"] += 1
            out["readable_found"] += int(readable[j])
        elif len(faces) and on_face[i].max() >= 0:
            out["duplicate"] += 1
        elif len(heads) and on_head[i].max() >= 0:
            out["back_of_head"] += 1
        else:
            out["phantom"] += 1
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
        ``agreement`` (share of matched, readable person-seconds whose predicted emotion equals the
        truth), ``n`` (readable person-seconds compared), ``coverage`` (share of the matched
        person-seconds that were readable, i.e. carry an emotion), ``per_emotion`` (recall per truth
        emotion), ``identity`` (analysed person -> truth person).
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
    matched = len(tl)
    tl = tl[tl["emotion"].astype(str) != ""]
    if tl.empty:
        return {"agreement": float("nan"), "n": 0, "coverage": 0.0, "per_emotion": {}, "identity": identity}
    ok = tl["emotion"] == tl["truth"]
    per = ok.groupby(tl["truth"]).mean().round(4).to_dict()
    return {"agreement": float(ok.mean()), "n": int(len(tl)), "coverage": len(tl) / matched, "per_emotion": per, "identity": identity}
