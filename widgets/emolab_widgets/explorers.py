"""Dataset explorer, SMOTE explorer and training monitor (compose emolab; no analysis logic here)."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pandas as pd

from .common import chart_widget, set_chart, table_html


class DatasetExplorer:
    """Class counts per split and a few sample rows of a manifest."""

    def __init__(self, manifest: pd.DataFrame):
        import altair as alt

        from emolab.data import label_table, summarize

        self.manifest = manifest
        s = summarize(manifest)
        t = label_table(manifest)
        chart = alt.Chart(t).mark_bar().encode(x=alt.X("label:N", title="emotion"), y=alt.Y("count:Q"), color="split:N",
                                               xOffset="split:N", tooltip=["split", "label", "count"]).properties(width=420, height=200)
        head = f"<p><b>{s['n_samples']}</b> samples, <b>{s['n_groups']}</b> groups " + \
               ("(subject ids known)" if s["subject_known"] else "(<b>no subject ids</b>: use the official split)") + "</p>"
        cols = [c for c in ("sample_id", "label", "raw_label", "group", "split", "text") if c in manifest]
        self.widget = W.VBox([W.HTML(head), chart_widget(chart), W.HTML(table_html(manifest[cols].sample(min(8, len(manifest)), random_state=0)))])


class SmoteExplorer:
    """Strategy and k for SMOTE; before/after counts and a 2-D projection of real vs synthetic rows."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        from emolab.balancing import METHODS

        self.X, self.y = np.asarray(X, np.float32), np.asarray(y)
        self.method = W.Dropdown(options=list(METHODS), value="smote", description="Method")
        self.target = W.Dropdown(options=["median", "max"], value="max", description="Target")
        self.k = W.IntSlider(value=5, min=1, max=10, description="k")
        self.counts = chart_widget()
        self.counts.add_class("emolab-smote-counts")
        self.scatter = chart_widget()
        self.note = W.HTML()
        for w in (self.method, self.target, self.k):
            w.observe(lambda _: self.refresh(), names="value")
        self.widget = W.VBox([W.HBox([self.method, self.target, self.k]), self.note, W.HBox([self.counts, self.scatter])])
        self.refresh()

    def refresh(self) -> None:
        import warnings

        import altair as alt
        from sklearn.decomposition import PCA

        from emolab.balancing import Balancer, class_counts, class_counts_chart
        from emolab.errors import EmolabError

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                Xr, yr = Balancer(method=self.method.value, target=self.target.value, k_neighbors=self.k.value).fit_resample(self.X, self.y)
            self.note.value = "".join(f"<p style='color:#a60'>{w.message}</p>" for w in caught)
        except EmolabError as exc:
            self.note.value = f"<p style='color:#a00'>{exc}</p>"
            return
        set_chart(self.counts, class_counts_chart(class_counts(self.y, yr)))
        pca = PCA(2, random_state=0).fit(self.X)
        n = len(self.X)
        kept_real = min(n, len(Xr))
        is_real = np.zeros(len(Xr), bool)
        # rows of X kept unchanged (over-samplers append after the originals)
        is_real[:kept_real] = np.all(np.isclose(Xr[:kept_real], self.X[:kept_real]), axis=1) if len(Xr) >= n else False
        P = pca.transform(Xr)
        df = pd.DataFrame({"pc1": P[:, 0], "pc2": P[:, 1], "label": yr.astype(str), "kind": np.where(is_real, "real", "synthetic")})
        df = df.sample(min(len(df), 1500), random_state=0)
        chart = alt.Chart(df).mark_point(filled=True, size=18).encode(
            x="pc1:Q", y="pc2:Q", color="label:N", shape=alt.Shape("kind:N", sort=["real", "synthetic"]), opacity=alt.value(0.7),
            tooltip=["label", "kind"]).properties(width=300, height=240, title="PCA of real and synthetic rows")
        set_chart(self.scatter, chart)


class TrainingMonitor:
    """Live loss/accuracy curves with a stop button; pass it to a Trainer as a callback."""

    def __init__(self):
        self.stop = W.Button(description="Stop", button_style="warning", icon="stop")
        self.stop.add_class("emolab-stop")
        self.curves = chart_widget(placeholder="<p><i>waiting for the first epoch…</i></p>")
        self.curves.add_class("emolab-curves")
        self.status = W.HTML()
        self._trainer = None
        self.stop.on_click(lambda _: self._trainer and self._trainer.stop())
        self.widget = W.VBox([W.HBox([self.stop, self.status]), self.curves])

    def on_batch_end(self, trainer, step: int, loss: float) -> None:
        self._trainer = trainer
        if step % 10 == 0:
            self.status.value = f"batch {step}, loss {loss:.3f}"

    def on_epoch_end(self, trainer, record: dict) -> None:
        import altair as alt

        self._trainer = trainer
        h = pd.DataFrame(trainer.history)
        cols = [c for c in ("train_loss", "val_loss", "train_accuracy", "val_accuracy") if c in h]
        long = h.melt("epoch", cols, var_name="series", value_name="value")
        long["panel"] = np.where(long["series"].str.contains("loss"), "loss", "accuracy")
        chart = alt.Chart(long).mark_line(point=True).encode(x="epoch:Q", y=alt.Y("value:Q", title=None), color="series:N").properties(
            width=260, height=160).facet(column=alt.Column("panel:N", title=None)).resolve_scale(y="independent")
        set_chart(self.curves, chart)
        self.status.value = f"epoch {record['epoch']}: " + ", ".join(f"{k} {record[k]:.3f}" for k in cols if k in record)

    def on_train_end(self, trainer, history) -> None:
        self.status.value += " — finished"
