"""Summaries of a lesson's timeline: per student, for the class, teacher versus students."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..taxonomy import EMOTIONS, VALENCE

STUDENT_COLUMNS = ("person", "role", "first_seen", "last_seen", "seconds_visible", "seconds_speaking", "x", "y", "w", "h",
                   "dominant_emotion", "positive_share", "neutral_share", "negative_share", "mean_valence")


def student_table(timeline: pd.DataFrame, faces: pd.DataFrame, turns: pd.DataFrame, roles: dict[str, str]) -> pd.DataFrame:
    """One row per person (see :data:`STUDENT_COLUMNS`); shares are of the person's timeline seconds."""
    rows = []
    people = sorted(set(faces["person"]) | set(timeline["person"]))
    for p in people:
        f = faces[faces["person"] == p]
        tl = timeline[timeline["person"] == p]
        val = tl["emotion"].map(VALENCE) if len(tl) else pd.Series(dtype=str)
        speaking = float((turns.loc[turns["person"] == p, "end"] - turns.loc[turns["person"] == p, "start"]).sum()) if len(turns) else 0.0
        rows.append({
            "person": p, "role": roles.get(p, "student"),
            "first_seen": float(f["t"].min()) if len(f) else np.nan, "last_seen": float(f["t"].max()) if len(f) else np.nan,
            "seconds_visible": int(np.floor(f["t"]).nunique()) if len(f) else 0, "seconds_speaking": round(speaking, 2),
            "x": float(f["x"].median()) if len(f) else np.nan, "y": float(f["y"].median()) if len(f) else np.nan,
            "w": float(f["w"].median()) if len(f) else np.nan, "h": float(f["h"].median()) if len(f) else np.nan,
            "dominant_emotion": tl["emotion"].mode().iloc[0] if len(tl) else "",
            "positive_share": float((val == "positive").mean()) if len(tl) else np.nan,
            "neutral_share": float((val == "neutral").mean()) if len(tl) else np.nan,
            "negative_share": float((val == "negative").mean()) if len(tl) else np.nan,
            "mean_valence": float(tl["valence"].mean()) if len(tl) else np.nan,
        })
    return pd.DataFrame(rows, columns=list(STUDENT_COLUMNS))


def class_summary(timeline: pd.DataFrame, students: pd.DataFrame) -> pd.DataFrame:
    """Share of person-seconds per emotion for the students, the teacher and everyone (tidy:
    ``group, emotion, valence, seconds, share``), as in the classroom-statistics tables."""
    roles = students.set_index("person")["role"]
    tl = timeline.assign(group=timeline["person"].map(roles).fillna("student"))
    rows = []
    for group, part in [("students", tl[tl.group == "student"]), ("teacher", tl[tl.group == "teacher"]), ("everyone", tl)]:
        counts = part["emotion"].value_counts()
        total = max(1, len(part))
        for e in EMOTIONS:
            rows.append((group, e, VALENCE[e], int(counts.get(e, 0)), counts.get(e, 0) / total))
    return pd.DataFrame(rows, columns=["group", "emotion", "valence", "seconds", "share"])


def valence_summary(timeline: pd.DataFrame, students: pd.DataFrame) -> pd.DataFrame:
    """Positive / neutral / negative shares per group (students, teacher, everyone)."""
    cs = class_summary(timeline, students)
    return cs.groupby(["group", "valence"], as_index=False)[["seconds", "share"]].sum()


def class_over_time(timeline: pd.DataFrame, students: pd.DataFrame, window: int = 10) -> pd.DataFrame:
    """Per second: students visible, their mean valence and mean arousal proxy (1 - P(neutral)),
    rolling over ``window`` seconds; and the teacher's valence (``t, n_students, valence,
    arousal, teacher_valence``)."""
    roles = students.set_index("person")["role"]
    tl = timeline.assign(role=timeline["person"].map(roles).fillna("student"))
    st = tl[tl.role == "student"]
    g = st.groupby("t").agg(n_students=("person", "nunique"), valence=("valence", "mean"), neutral=("neutral", "mean"))
    g["arousal"] = 1 - g.pop("neutral")
    te = tl[tl.role == "teacher"].groupby("t")["valence"].mean().rename("teacher_valence")
    out = g.join(te, how="outer").sort_index()
    roll = out[["valence", "arousal", "teacher_valence"]].rolling(window, min_periods=1).mean()
    out[["valence", "arousal", "teacher_valence"]] = roll
    return out.reset_index()
