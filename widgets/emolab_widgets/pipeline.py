"""Preprocessing viewer and federated monitor (compose emolab; no analysis logic here)."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pandas as pd

from .common import chart_widget, image_widget, set_chart, set_image, table_html


class PreprocessingViewer:
    """A frame with tracked boxes and ids (and face-mesh landmarks), blurred by default, and one
    person's face-clip strip — what the models actually read."""

    def __init__(self, video, faces: pd.DataFrame, clip_frames: int = 8, size: int = 48):
        self.video, self.faces = str(video), faces
        self.clip_frames, self.size = clip_frames, size
        times = sorted(faces["t"].unique()) if len(faces) else [0.0]
        self.time = W.SelectionSlider(options=[round(float(t), 2) for t in times], description="Time (s)", continuous_update=False,
                                      layout=W.Layout(width="520px"))
        people = sorted(faces["person"].unique()) if len(faces) else []
        self.person = W.Dropdown(options=people, description="Person")
        self.blur = W.Checkbox(value=True, description="Blur faces", indent=False)
        self.landmarks = W.Checkbox(value=False, description="Face mesh", indent=False)
        self.frame = image_widget(width=560)
        self.strip = image_widget(width=560)
        self.geometry = W.HTML()
        for w in (self.time, self.person, self.blur, self.landmarks):
            w.observe(lambda _: self.refresh(), names="value")
        self.widget = W.VBox([W.HBox([self.time, self.person]), W.HBox([self.blur, self.landmarks]), self.frame,
                              W.HTML("<b>Face clip</b> (the model's input; shown blurred unless unticked)"), self.strip, self.geometry])
        self.refresh()

    def refresh(self) -> None:
        import cv2

        from emolab.preprocessing.crops import crop_face
        from emolab.timeline.frames import annotated_frame, read_frame
        from emolab.privacy import blur_face

        if not len(self.faces):
            return
        t = float(self.time.value)
        rgb = annotated_frame(self.video, t, self.faces, blur=self.blur.value, max_width=560)
        here = self.faces[(self.faces["t"] - t).abs() < 1e-6]
        self.geometry.value = ""
        if self.landmarks.value and len(here):
            from emolab.preprocessing.landmarks import FaceMesh, geometry

            frame = read_frame(self.video, t)
            scale = rgb.shape[1] / frame.shape[1]
            rows = []
            with FaceMesh() as mesh:
                for r in here.itertuples():
                    x0, y0 = int(max(0, r.x - 0.2 * r.w)), int(max(0, r.y - 0.2 * r.h))
                    patch = frame[y0:int(r.y + 1.2 * r.h), x0:int(r.x + 1.2 * r.w)]
                    lm = mesh.landmarks(cv2.resize(patch, (192, 192))) if patch.size else None
                    if lm is None:
                        continue
                    pts = lm[:, :2] * [patch.shape[1] / 192, patch.shape[0] / 192] + [x0, y0]
                    for px, py in (pts * scale).astype(int)[::3]:
                        cv2.circle(rgb, (int(px), int(py)), 1, (0, 255, 0), -1)
                    rows.append({"person": r.person, **{k: round(v, 3) for k, v in geometry(lm).items()}})
            self.geometry.value = table_html(pd.DataFrame(rows)) if rows else "<i>no mesh found at this size</i>"
        set_image(self.frame, rgb)
        mine = self.faces[(self.faces["person"] == self.person.value) & (self.faces["t"] <= t)].tail(self.clip_frames)
        crops = []
        for r in mine.itertuples():
            try:
                crop = crop_face(read_frame(self.video, r.t), (r.x, r.y, r.w, r.h), size=self.size)
            except Exception:
                continue
            crops.append(blur_face(crop) if self.blur.value else crop)
        if crops:
            strip = np.hstack(crops)
            set_image(self.strip, np.repeat(strip[..., None], 3, axis=2))


class FederatedMonitor:
    """Per-client and global accuracy per round of a federated run (the source method's Figs. 10-11)."""

    def __init__(self, result=None):
        self.chart = chart_widget(placeholder="<p><i>no federated run yet</i></p>")
        self.chart.add_class("emolab-federated-chart")
        self.table = W.HTML()
        self.widget = W.VBox([self.chart, self.table])
        if result is not None:
            self.show(result)

    def show(self, result) -> None:
        set_chart(self.chart, result.chart())
        glob = result.history[result.history["client"] == "global"]
        extra = f"<p>Centralised on the same data: accuracy {result.centralized['accuracy']:.3f}</p>" if result.centralized else ""
        dp = result.config.dp_noise
        extra += f"<p>Differential privacy: noise multiplier {dp}, clipping norm {result.config.dp_clip}</p>" if dp else ""
        self.table.value = table_html(glob[["round", "phase", "n", "loss", "accuracy", "balanced_accuracy"]], 50) + extra
