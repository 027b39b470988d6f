"""Summaries of a lesson's timeline: per student, for the class, teacher versus students."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..taxonomy import EMOTIONS, VALENCE

STUDENT_COLUMNS = ("person", "role", "first_seen", "last_seen", "seconds_visible", "seconds_speaking", "seconds_readable", "x", "y",
                   "w", "h", "dominant_emotion", "positive_share", "neutral_share", "negative_share", "mean_valence",
                   "unreadable_reason")


def readable(timeline: pd.DataFrame) -> pd.DataFrame:
    """The timeline rows that carry an emotion (something readable was seen or heard)."""
    return timeline[timeline["emotion"].astype(str) != ""] if "emotion" in timeline else timeline


def student_table(timeline: pd.DataFrame, faces: pd.DataFrame, turns: pd.DataFrame, roles: dict[str, str]) -> pd.DataFrame:
    """One row per person (see :data:`STUDENT_COLUMNS`).

    Emotion shares, the dominant emotion and the mean valence are of the person's *readable*
    seconds only (``seconds_readable``); a person never readable has none, and
    ``unreadable_reason`` says why (their most frequent reason).
    """
    rows = []
    people = sorted(set(faces["person"]) | set(timeline["person"]))
    for p in people:
        f = faces[faces["person"] == p]
        every = timeline[timeline["person"] == p]
        tl = readable(every)
        reasons = every.loc[every.get("reason", pd.Series("", index=every.index)).astype(str) != "", "reason"] if "reason" in every else []
        val = tl["emotion"].map(VALENCE) if len(tl) else pd.Series(dtype=str)
        speaking = float((turns.loc[turns["person"] == p, "end"] - turns.loc[turns["person"] == p, "start"]).sum()) if len(turns) else 0.0
        rows.append({
            "person": p, "role": roles.get(p, "student"),
            "first_seen": float(f["t"].min()) if len(f) else np.nan, "last_seen": float(f["t"].max()) if len(f) else np.nan,
            "seconds_visible": int(np.floor(f["t"]).nunique()) if len(f) else 0, "seconds_speaking": round(speaking, 2),
            "seconds_readable": int(len(tl)),
            "x": float(f["x"].median()) if len(f) else np.nan, "y": float(f["y"].median()) if len(f) else np.nan,
            "w": float(f["w"].median()) if len(f) else np.nan, "h": float(f["h"].median()) if len(f) else np.nan,
            "dominant_emotion": tl["emotion"].mode().iloc[0] if len(tl) else "",
            "positive_share": float((val == "positive").mean()) if len(tl) else np.nan,
            "neutral_share": float((val == "neutral").mean()) if len(tl) else np.nan,
            "negative_share": float((val == "negative").mean()) if len(tl) else np.nan,
            "mean_valence": float(tl["valence"].mean()) if len(tl) else np.nan,
            "unreadable_reason": "" if len(tl) or not len(reasons) else str(pd.Series(reasons).mode().iloc[0]),
        })
    return pd.DataFrame(rows, columns=list(STUDENT_COLUMNS))


def class_summary(timeline: pd.DataFrame, students: pd.DataFrame) -> pd.DataFrame:
    """Share of person-seconds per emotion for the students, the teacher and everyone (tidy:
    ``group, emotion, valence, seconds, share``), as in the classroom-statistics tables."""
    roles = students.set_index("person")["role"]
    timeline = readable(timeline)
    tl = timeline.assign(group=timeline["person"].map(roles).fillna("student"))
    rows = []
    for group, part in [("students", tl[tl.group == "student"]), ("teacher", tl[tl.group == "teacher"]), ("everyone", tl)]:
        counts = part["emotion"].value_counts()
        total = max(1, len(part))
        for e in EMOTIONS:
            rows.append((group, e, VALENCE[e], int(counts.get(e, 0)), counts.get(e, 0) / total))
    return pd.DataFrame(rows, columns=["group", "emotion", "valence", "seconds", "share"])


READABLE_FROM = "Emotions are read only from faces large, sharp and frontal enough, and not looking down (and from speech and words)"
"""How readability is decided, in one sentence for reports and dashboards (see :class:`~emolab.preprocessing.quality.ReadabilityRule`)."""


def readability_summary(timeline: pd.DataFrame, students: pd.DataFrame) -> dict:
    """How much of a lesson could be read, for the students.

    Returns
    -------
    dict
        ``student_seconds`` (person-seconds a student was seen or heard), ``readable_seconds`` (of
        those, with an emotion), ``readable_share``, ``students``, ``never_readable`` (students with
        no readable second), ``reasons`` (unreadable person-seconds per reason), and ``sentence``:
        a line for a report ("emotions readable for 23 % of student-seconds; 9 of 14 students never readable").
    """
    roles = students.set_index("person")["role"] if len(students) else pd.Series(dtype=str)
    st = timeline[timeline["person"].map(roles).fillna("student") == "student"] if len(timeline) else timeline
    n = int(len(st))
    ok = readable(st)
    people = sorted(students.loc[students["role"] == "student", "person"]) if len(students) else []
    never = [p for p in people if p not in set(ok["person"])]
    reasons = st.loc[st["reason"].astype(str) != "", "reason"].value_counts().to_dict() if "reason" in st and n else {}
    share = len(ok) / n if n else 0.0
    if not people:
        # a room seen from behind has people in it, but no face: say what was not seen, not that nobody was there
        sentence = "no student's face was seen (people facing away from the camera are not counted)"
    elif not len(ok):
        why = ", ".join(f"{str(k).replace('_', ' ')}: {v} s" for k, v in reasons.items()) or "nothing readable"
        sentence = f"no student's emotion could be read ({why})"
    else:
        sentence = (f"emotions readable for {share:.0%} of student-seconds; "
                    f"{len(never)} of {len(people)} students never readable")
    return {"student_seconds": n, "readable_seconds": int(len(ok)), "readable_share": share, "students": len(people),
            "never_readable": never, "reasons": {str(k): int(v) for k, v in reasons.items()}, "sentence": sentence}


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
    st = readable(tl[tl.role == "student"])
    g = st.groupby("t").agg(n_students=("person", "nunique"), valence=("valence", "mean"), neutral=("neutral", "mean"))
    g["arousal"] = 1 - g.pop("neutral")
    te = tl[tl.role == "teacher"].groupby("t")["valence"].mean().rename("teacher_valence")
    out = g.join(te, how="outer").sort_index()
    roll = out[["valence", "arousal", "teacher_valence"]].rolling(window, min_periods=1).mean()
    out[["valence", "arousal", "teacher_valence"]] = roll
    return out.reset_index()
