"""The training dashboard: choose data and a model, train with live curves, evaluate."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ipywidgets as W

from emolab.registry import MODEL_KINDS, TRAINABLE_CORPORA

from .common import chart_widget, device_badge, set_chart
from .explorers import TrainingMonitor


class TrainingDashboard:
    """Train any emolab model on a synthetic training set or a corpus folder, watching it learn."""

    KINDS = list(MODEL_KINDS)
    CORPORA = list(TRAINABLE_CORPORA)

    def __init__(self, work_folder: str | Path | None = None):
        self.work = Path(work_folder or tempfile.mkdtemp(prefix="emolab-training-"))
        self.data = W.Dropdown(options=["synthetic (generated here)", "corpus folder"], description="Data")
        self.corpus = W.Dropdown(options=self.CORPORA, value="ravdess", description="Corpus")
        self.path = W.Text(placeholder="/path/to/corpus", description="Folder")
        self.kind = W.Dropdown(options=self.KINDS, value="fused", description="Model")
        self.epochs = W.IntSlider(value=3, min=1, max=30, description="Epochs")
        self.train = W.Button(description="Train", button_style="primary", icon="play")
        self.train.add_class("emolab-train")
        self.monitor = TrainingMonitor()
        self.status = W.HTML()
        self.status.add_class("emolab-train-status")
        self.result = chart_widget()
        self.result.add_class("emolab-confusion")
        self.corpus.layout.display = self.path.layout.display = "none"
        self.data.observe(self._on_data, names="value")
        self.train.on_click(lambda _: self.run())
        self.widget = W.VBox([device_badge(), self.data, self.corpus, self.path,
                              W.HBox([self.kind, self.epochs]), self.train, self.status, self.monitor.widget, self.result])

    def _on_data(self, change) -> None:
        show = "" if change["new"] == "corpus folder" else "none"
        self.corpus.layout.display = self.path.layout.display = show

    def run(self) -> None:
        from emolab.errors import EmolabError
        from emolab.recipes import train_recipe

        self.train.disabled = True
        try:
            if self.data.value.startswith("synthetic"):
                from emolab.synth import TrainsetConfig, generate_trainset

                folder = self.work / "trainset"
                if not (folder / "manifest.csv").is_file():
                    self.status.value = "Generating a small synthetic training set…"
                    generate_trainset(folder, TrainsetConfig(n_identities=6, clips_per_emotion=2, seed=0), overwrite=True, progress=False)
                dataset, path = "synthetic", folder
            else:
                dataset, path = self.corpus.value, Path(self.path.value).expanduser()
            self.status.value = f"Training <b>{self.kind.value}</b> on {dataset} (held-out subjects for validation)…"
            out = self.work / f"{self.kind.value}-{dataset}"
            result = train_recipe(self.kind.value, dataset, path, out, epochs=self.epochs.value, batch_size=16, progress=False,
                                  callbacks=[self.monitor])
            metrics = result.evaluation.metrics
            self.status.value = (f"Validation: accuracy <b>{metrics['accuracy']:.1%}</b>, balanced accuracy "
                                 f"{metrics['balanced_accuracy']:.1%}, macro-F1 {metrics['macro_f1']:.3f} (n={metrics['n']}). "
                                 f"Model saved to <code>{result.model_path}</code>.")
            set_chart(self.result, result.evaluation.confusion_chart())
        except EmolabError as exc:
            self.status.value = f"<span style='color:#a00'>{exc}</span>"
        finally:
            self.train.disabled = False
