"""The lesson dashboard: pick the sample lesson or upload a recording, analyze it, explore timelines.

All analysis is :func:`emolab.timeline.analyze_lesson`; this module only arranges widgets.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

import ipywidgets as W
import numpy as np
import pandas as pd

from emolab.timeline.summary import READABLE_FROM, readability_summary, readable

from .common import Progress, chart_widget, device_badge, download_link, image_widget, set_chart, set_image, table_html

MAX_UPLOAD_MB = 200


def _readability(analysis) -> dict:
    """The analysis's readability summary (recomputed for an analysis written before it was recorded)."""
    return analysis.info.get("readability") or readability_summary(analysis.timeline, analysis.students)


def _any_readable(timeline: pd.DataFrame) -> bool:
    return bool(len(readable(timeline)))


class TimelineExplorer:
    """Explore one analyzed lesson: students, a time range, the frame and transcript at a moment.

    Above the charts it says how much of the lesson could be read (``analysis.info["readability"]``,
    see :func:`emolab.timeline.readability_summary`); when nothing could be read it shows that
    sentence instead of the charts.
    """

    def __init__(self, analysis, video: str | Path, report_html: str | None = None):
        self.a = analysis
        self.video = str(video)
        tl = analysis.timeline
        people = sorted(tl["person"].unique()) if len(tl) else []
        t_max = int(np.ceil(tl["t"].max())) if len(tl) else 0
        self.people = W.SelectMultiple(options=people, value=tuple(people), rows=min(10, max(3, len(people))),
                                       description="People", layout=W.Layout(width="220px"))
        self.people.add_class("emolab-people")
        self.range = W.IntRangeSlider(value=(0, t_max), min=0, max=max(t_max, 1), step=1, description="Time (s)",
                                      continuous_update=False, layout=W.Layout(width="520px"))
        self.range.add_class("emolab-range")
        self.moment = W.IntSlider(value=0, min=0, max=max(t_max, 1), step=1, description="Moment", continuous_update=False,
                                  layout=W.Layout(width="520px"))
        self.moment.add_class("emolab-moment")
        self.blur = W.Checkbox(value=True, description="Blur faces", indent=False)
        self.chart = chart_widget()
        self.chart.add_class("emolab-timeline-chart")
        self.valence = chart_widget()
        self.frame = image_widget(width=560)
        self.said = W.HTML()
        self.said.add_class("emolab-said")
        self.alerts = W.HTML()
        self.summary = W.HTML()
        self.summary.add_class("emolab-summary")
        self.coverage = _readability(analysis)
        self.readability = W.HTML(f"<p><b>How much could be read:</b> {html.escape(self.coverage['sentence'], quote=False)}. {READABLE_FROM}; "
                                  "the charts show readable person-seconds only.</p>")
        self.readability.add_class("emolab-readability")
        for w in (self.people, self.range):
            w.observe(lambda _: self.refresh_chart(), names="value")
        for w in (self.moment, self.blur, self.people):
            w.observe(lambda _: self.refresh_moment(), names="value")
        downloads = []
        if report_html:
            downloads.append(download_link(report_html.encode(), "lesson-report.html", "Download report (HTML)"))
        downloads.append(download_link(tl.to_csv(index=False).encode(), "timeline.csv", "Download timeline (CSV)", "text/csv"))
        controls = W.VBox([self.people, self.blur])
        self.widget = W.VBox([
            W.HBox([controls, W.VBox([self.range, self.moment])]),
            self.readability, self.chart, self.valence,
            W.HBox([self.frame, W.VBox([W.HTML("<b>Being said</b>"), self.said, W.HTML("<b>Alerts</b>"), self.alerts],
                                       layout=W.Layout(width="380px"))]),
            W.HTML("<h4>People</h4>"), self.summary, W.HBox(downloads),
        ])
        self.refresh_chart()
        self.refresh_moment()

    def selected(self) -> pd.DataFrame:
        tl = self.a.timeline
        a, b = self.range.value
        return tl[tl["person"].isin(self.people.value) & (tl["t"] >= a) & (tl["t"] <= b)]

    def refresh_chart(self) -> None:
        from emolab.timeline.charts import timeline_chart, valence_chart

        sel = self.selected()
        self.moment.min, self.moment.max = self.range.value[0], max(self.range.value[1], self.range.value[0] + 1)
        if not _any_readable(self.a.timeline):  # the readability sentence above says why; no empty charts
            self.chart.value = self.valence.value = ""
        elif not _any_readable(sel):
            self.chart.value = "<p>Nothing readable in this selection.</p>"
            self.valence.value = ""
        else:
            set_chart(self.chart, timeline_chart(sel, width=620))
            set_chart(self.valence, valence_chart(sel, width=620))
        st = self.a.students[self.a.students["person"].isin(self.people.value)]
        cols = ["person", "role", "seconds_visible", "seconds_speaking", "dominant_emotion", "positive_share", "negative_share"]
        self.summary.value = table_html(st[cols], 50)

    def refresh_moment(self) -> None:
        from emolab.timeline.frames import annotated_frame

        t = float(self.moment.value)
        try:
            img = annotated_frame(self.video, t + 0.5, self.a.faces, self.a.timeline, blur=self.blur.value,
                                  persons=list(self.people.value), max_width=560)
            set_image(self.frame, img)
        except Exception as exc:  # a frame that cannot be read must not break the dashboard
            self.said.value = f"<i>frame unavailable: {exc}</i>"
        ut = self.a.utterances
        if len(ut):
            now = ut[(ut["start"] <= t + 1) & (ut["end"] >= t)]
            self.said.value = "".join(f"<p><b>{r.person or r.speaker_label or '?'}</b>: {r.text} <i>({r.emotion})</i></p>"
                                      for r in now.itertuples()) or "<p><i>(nobody speaking)</i></p>"
        else:
            self.said.value = "<p><i>(no transcript)</i></p>"
        al = self.a.alerts
        near = al[(al["start"] <= t + 30) & (al["end"] >= t - 30)] if len(al) else al
        self.alerts.value = "".join(f"<p style='color:#a00'>{m}</p>" for m in near["message"]) if len(near) else "<p><i>none near this moment</i></p>"


class LessonDashboard:
    """Choose the sample lesson or upload a recording; analyze; explore.

    The widget carries no heading: the page (the notebook's first cell) gives the title.

    Parameters
    ----------
    sample_folder : path, optional
        Where the sample lesson lives (prepared on first use).
    work_folder : path, optional
        Where analyses are written (default: a temporary folder).
    """

    def __init__(self, sample_folder: str | Path | None = None, work_folder: str | Path | None = None):
        from emolab.samples import DEFAULT_FOLDER

        self.sample_folder = Path(sample_folder or DEFAULT_FOLDER)
        self.work = Path(work_folder or tempfile.mkdtemp(prefix="emolab-dashboard-"))
        self.source = W.ToggleButtons(options=["Sample lesson", "Upload a recording"], value="Sample lesson", description="Lesson")
        self.upload = W.FileUpload(accept="video/*,.mp4,.avi,.mkv,.mov,.webm", multiple=False, description="Choose video")
        self.upload.layout.display = "none"
        self.run = W.Button(description="Analyze", button_style="primary", icon="play")
        self.run.add_class("emolab-analyze")
        self.progress = Progress("analyzing")
        self.status = W.HTML()
        self.status.add_class("emolab-status")
        self.out = W.VBox()
        self.source.observe(self._on_source, names="value")
        self.run.on_click(lambda _: self.analyze())
        note = ("<p style='color:#555'>Emotion estimates are uncertain and are about children: keep results confidential. "
                "On public Binder sessions never upload real classroom video.</p>")
        self.widget = W.VBox([device_badge(), W.HTML(note), self.source, self.upload,
                              self.run, self.progress.widget, self.status, self.out])

    def _on_source(self, change) -> None:
        self.upload.layout.display = "none" if change["new"] == "Sample lesson" else ""

    def _uploaded_video(self) -> Path:
        from emolab.errors import MediaError
        from emolab.preprocessing.video import video_info

        files = self.upload.value
        if not files:
            raise MediaError("choose a video file to upload first")
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        content = bytes(item["content"])
        size_mb = len(content) / 1e6
        if size_mb > MAX_UPLOAD_MB:
            raise MediaError(f"the upload is {size_mb:.0f} MB; the dashboard accepts up to {MAX_UPLOAD_MB} MB "
                             "(use 'emolab analyze' on the command line for longer recordings)")
        name = Path(item.get("name", "upload.mp4")).name
        path = self.work / "uploads" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        video_info(path)  # checks by content that it is a readable video, whatever its extension
        return path

    def analyze(self) -> None:
        """Analyze the chosen lesson (or reload its earlier analysis) and show the explorer below."""
        from emolab.errors import EmolabError
        from emolab.samples import sample_lesson
        from emolab.timeline import AnalysisConfig, analyze_lesson, load_analysis

        self.run.disabled = True
        self.out.children = ()
        try:
            if self.source.value == "Sample lesson":
                self.status.value = "Preparing the sample lesson…"
                folder = sample_lesson(self.sample_folder)
                video, model = folder / "lesson.mp4", "synthetic"
                target = folder / "analysis"
                self.status.value = ("This is a <b>synthetic</b> lesson, so it is analyzed with the <b>synthetic-domain model</b> "
                                     "(trained on synthetic lessons only).")
            else:
                video = self._uploaded_video()
                folder, model = video, "pretrained"
                target = self.work / "analysis" / video.stem
                self.status.value = "Analyzing your recording with the <b>pretrained real models</b>."
            try:
                analysis = load_analysis(target) if model == "synthetic" else None
            except EmolabError:
                analysis = None
            if analysis is None:
                analysis = analyze_lesson(folder, config=AnalysisConfig(model=model), out=target, progress=False, callback=self.progress)
            self.progress("done", 1.0)
            report = (target / "report.html").read_text() if (target / "report.html").is_file() else None
            self.explorer = TimelineExplorer(analysis, video, report)
            self.out.children = (self.explorer.widget,)
            self.status.value += f" Found {analysis.info.get('n_people', '?')} people."
        except EmolabError as exc:
            self.status.value = f"<span style='color:#a00'>Could not analyze: {exc}</span>"
        finally:
            self.run.disabled = False
