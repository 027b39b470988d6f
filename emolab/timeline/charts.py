"""Altair charts of lesson timelines (rendered offline: SVG through vl-convert, or the widgets)."""

from __future__ import annotations

import pandas as pd

from ..taxonomy import EMOTIONS

EMOTION_COLORS = {"anger": "#d62728", "disgust": "#8c564b", "fear": "#9467bd", "happiness": "#2ca02c",
                  "neutral": "#bdbdbd", "sadness": "#1f77b4", "surprise": "#ff7f0e"}
UNREADABLE = "unreadable"
"""Label of timeline cells with no emotion (seen, but nothing readable), drawn as a hatched-looking pale cell."""


def _scale():
    import altair as alt

    return alt.Scale(domain=[*EMOTIONS, UNREADABLE], range=[*(EMOTION_COLORS[e] for e in EMOTIONS), "#f0f0f0"])


def timeline_chart(timeline: pd.DataFrame, persons: list[str] | None = None, width: int = 640, brush: bool = False):
    """One row per person, one cell per second coloured by the predicted emotion (opacity =
    confidence). With ``brush`` an interval selection on time is added (named ``"time"``)."""
    import altair as alt

    tl = timeline if persons is None else timeline[timeline["person"].isin(persons)]
    tl = tl.assign(emotion=tl["emotion"].replace("", UNREADABLE), confidence=tl["confidence"].fillna(1.0),
                   reason=tl["reason"] if "reason" in tl else "")
    base = alt.Chart(tl).mark_rect().encode(
        x=alt.X("t:Q", title="time (s)", bin=alt.Bin(step=1), axis=alt.Axis(tickMinStep=10)),
        y=alt.Y("person:N", title=None, sort=sorted(tl["person"].unique())),
        color=alt.Color("emotion:N", scale=_scale(), title="emotion"),
        opacity=alt.Opacity("confidence:Q", scale=alt.Scale(domain=[0.2, 1.0], range=[0.35, 1.0]), legend=None),
        tooltip=["person", "t", "emotion", alt.Tooltip("confidence:Q", format=".2f"), alt.Tooltip("valence:Q", format="+.2f"), "modalities", "reason"],
    ).properties(width=width, height=max(60, 18 * tl["person"].nunique()), title="Emotion per person and second")
    if brush:
        sel = alt.selection_interval(encodings=["x"], name="time")
        base = base.add_params(sel)
    return base


def valence_chart(timeline: pd.DataFrame, persons: list[str] | None = None, width: int = 640):
    """Expected valence over time, one line per person."""
    import altair as alt

    tl = timeline if persons is None else timeline[timeline["person"].isin(persons)]
    return alt.Chart(tl).mark_line(interpolate="monotone").encode(
        x=alt.X("t:Q", title="time (s)"), y=alt.Y("valence:Q", scale=alt.Scale(domain=[-1, 1]), title="valence"),
        color=alt.Color("person:N", title="person"), tooltip=["person", "t", alt.Tooltip("valence:Q", format="+.2f"), "emotion"],
    ).properties(width=width, height=180, title="Valence (positive - negative probability)")


def class_summary_chart(summary: pd.DataFrame):
    """Share of time per emotion for students, teacher and everyone (from ``class_summary``)."""
    import altair as alt

    return alt.Chart(summary).mark_bar().encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of person-seconds", stack="normalize"),
        y=alt.Y("group:N", title=None, sort=["students", "teacher", "everyone"]),
        color=alt.Color("emotion:N", scale=_scale()), order=alt.Order("emotion:N"),
        tooltip=["group", "emotion", "seconds", alt.Tooltip("share:Q", format=".1%")],
    ).properties(width=520, height=90, title="Emotions in the lesson")


def teacher_students_chart(over_time: pd.DataFrame):
    """Teacher's valence against the students' mean valence over time (rolling)."""
    import altair as alt

    long = over_time.melt("t", ["valence", "teacher_valence"], var_name="who", value_name="v").dropna()
    long["who"] = long["who"].map({"valence": "students (mean)", "teacher_valence": "teacher"})
    return alt.Chart(long).mark_line().encode(
        x=alt.X("t:Q", title="time (s)"), y=alt.Y("v:Q", title="valence (rolling mean)", scale=alt.Scale(domain=[-1, 1])),
        color=alt.Color("who:N", title=None), tooltip=["who", "t", alt.Tooltip("v:Q", format="+.2f")],
    ).properties(width=640, height=180, title="Teacher and students")


def to_svg(chart) -> str:
    """SVG markup of a chart, rendered locally by vl-convert (no network, no CDN)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())
