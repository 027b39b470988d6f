"""A self-contained HTML report of a lesson, readable by a teacher.

No CDN, no scripts: charts are inline SVG rendered by vl-convert, thumbnails are heavily blurred
PNGs embedded as data URIs (never a recognisable face), and the method and its limits are
stated. The file can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import numpy as np
import pandas as pd

from ..privacy import blur_face
from ..taxonomy import EMOTIONS


def _png_data_uri(img: np.ndarray) -> str:
    import cv2

    ok, buf = cv2.imencode(".png", img)
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode() if ok else ""


def _table(df: pd.DataFrame, floatfmt: str = "{:.2f}") -> str:
    return df.to_html(index=False, border=0, classes="t", float_format=lambda v: floatfmt.format(v), na_rep="–", escape=True)


CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table.t{border-collapse:collapse;font-size:.9em}table.t td,table.t th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:left}
.note{background:#f6f8fa;border-left:4px solid #888;padding:.6em 1em}.thumbs{display:flex;flex-wrap:wrap;gap:.8em}
.thumbs figure{margin:0;text-align:center;font-size:.85em}.thumbs img{width:72px;height:72px;border-radius:8px}
.alert{color:#a00}"""


def render_report(analysis) -> str:
    """The HTML text of the report of a :class:`~emolab.timeline.result.LessonAnalysis`."""
    from .charts import class_summary_chart, teacher_students_chart, timeline_chart, to_svg, valence_chart
    from .summary import READABLE_FROM, class_over_time, class_summary, readability_summary, readable, valence_summary

    a = analysis
    info = a.info
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Lesson emotion report</title><style>{CSS}</style></head><body>"]
    parts.append("<h1>Lesson emotion report</h1>")
    parts.append(f"<p>Recording: <code>{html.escape(info['video'].split('/')[-1])}</code>, {info['duration']:.0f} s, "
                 f"{info['n_people']} people ({int((a.students.role == 'student').sum())} students"
                 f"{', 1 teacher' if (a.students.role == 'teacher').any() else ''}). Model: <b>{html.escape(str(info['model']))}</b> "
                 f"(modalities: {', '.join(info['modalities_available'])}). Analysed in {info['seconds']:.0f} s.</p>")
    if str(info["model"]).startswith("synthetic"):
        parts.append("<p class='note'>This analysis used the <b>synthetic-domain</b> model, trained on emolab's synthetic lessons. "
                     "It is meant for synthetic demo lessons only; its output on real recordings is meaningless.</p>")
    coverage = readability_summary(a.timeline, a.students)
    parts.append(f"<p class='note'><b>How much could be read:</b> {html.escape(coverage['sentence'])}. {READABLE_FROM}; "
                 "every figure below counts readable person-seconds only.</p>")
    if info.get("teacher"):
        parts.append(f"<p><b>Teacher:</b> {html.escape(str(info['teacher']))}.</p>")
    if not len(readable(a.timeline)):
        parts.append("<h2>Class summary</h2><p>Nothing in this recording could be read, so no emotion is reported and no chart "
                     "is shown.</p>")
    else:
        cs = class_summary(a.timeline, a.students)
        vs = valence_summary(a.timeline, a.students)
        parts.append("<h2>Class summary</h2>")
        parts.append(to_svg(class_summary_chart(cs)))
        wide = cs.pivot(index="emotion", columns="group", values="share").reindex(list(EMOTIONS)).reset_index()
        parts.append(_table(wide, "{:.1%}"))
        vw = vs.pivot(index="valence", columns="group", values="share").reset_index()
        parts.append("<p>Positive versus negative:</p>" + _table(vw, "{:.1%}"))
        parts.append("<h2>Timelines</h2>")
        parts.append(to_svg(timeline_chart(a.timeline)))
        parts.append(to_svg(valence_chart(a.timeline)))
        cot = class_over_time(a.timeline, a.students)
        if cot["teacher_valence"].notna().any():
            parts.append("<h2>Teacher and students</h2>" + to_svg(teacher_students_chart(cot)))
    parts.append("<h2>People</h2>")
    if a.thumbnails:
        parts.append("<div class='thumbs'>" + "".join(
            f"<figure><img alt='blurred {html.escape(p)}' src='{_png_data_uri(blur_face(img))}'><figcaption>{html.escape(p)}</figcaption></figure>"
            for p, img in sorted(a.thumbnails.items()) if p) + "</div><p><small>Thumbnails are blurred on purpose.</small></p>")
    cols = ["person", "role", "first_seen", "last_seen", "seconds_visible", "seconds_readable", "seconds_speaking", "dominant_emotion",
            "positive_share", "neutral_share", "negative_share", "unreadable_reason"]
    parts.append(_table(a.students[cols]))
    parts.append("<h2>Alerts</h2>")
    if len(a.alerts):
        parts.append("<ul>" + "".join(f"<li class='alert'>{html.escape(m)} (at {s:.0f} s)</li>" for m, s in zip(a.alerts.message, a.alerts.start)) + "</ul>")
    else:
        parts.append(f"<p>No alerts (thresholds: negative valence below {a.config.alerts.negative_valence} for "
                     f"{a.config.alerts.negative_seconds:.0f} s; absent {a.config.alerts.absent_seconds:.0f} s).</p>")
    if len(a.utterances):
        parts.append("<h2>What was said</h2>")
        ut = a.utterances[["start", "person", "text", "emotion", "confidence"]].head(200)
        parts.append(_table(ut))
    parts.append("""<h2>Method and limitations</h2><p>Faces were detected and tracked into pseudonymous identities; each person's
facial expression (short clips), voice (when they were attributed a speaking turn) and words (transcript) were classified and fused per
second, then smoothed. Valence is the probability of positive minus negative emotions.</p>
<ul><li>Automatic emotion recognition is uncertain: read every figure as an estimate, never as a fact about a child.</li>
<li>Expressions are not feelings: a neutral face may hide boredom or worry, a smile politeness.</li>
<li>On real classroom video the face model often reads a neutral face as sad or angry, above all a face looking down at a desk.
Seconds in which a face looks down are therefore left unread (reason "looking_down"), but the check finds about two thirds of
such faces, not all (docs/readability.md, "Looking down"). Treat a negative reading of one student as a reason to look, not
as a finding.</li>
<li>Accuracy differs between people, ages, cultures and camera positions; the models were trained on adult corpora (see the model cards).</li>
<li>Identities are per recording and pseudonymous; keep this report as confidential as the recording.</li></ul>""")
    parts.append("</body></html>")
    return "\n".join(parts)
