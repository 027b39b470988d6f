"""The widgets build and update without a browser (the browser tests drive the dashboards)."""

import numpy as np
import pandas as pd


def test_preprocessing_viewer_and_explorers(tiny_lesson):
    import emolab_widgets
    from emolab.preprocessing.tracking import track_faces

    faces = track_faces(str(tiny_lesson / "lesson.mp4"), sample_fps=5)
    v = emolab_widgets.PreprocessingViewer(tiny_lesson / "lesson.mp4", faces)
    first = bytes(v.frame.value)
    assert first and v.strip.value
    v.blur.value = False
    assert bytes(v.frame.value) != first  # unblurred frame differs
    v.landmarks.value = True  # runs the face mesh; never raises
    from emolab.data import read_corpus

    d = emolab_widgets.DatasetExplorer(read_corpus("lesson", tiny_lesson))
    assert "samples" in d.widget.children[0].value
    rng = np.random.default_rng(0)
    s = emolab_widgets.SmoteExplorer(rng.normal(0, 1, (60, 4)), np.array(["a"] * 50 + ["b"] * 10))
    assert "<svg" in s.counts.value
    s.k.value = 3
    assert "<svg" in s.scatter.value


def test_federated_monitor_and_training_monitor():
    import emolab_widgets
    from emolab.federated import FederatedConfig, FederatedResult

    hist = pd.DataFrame({"round": [1, 1, 1, 2, 2, 2], "client": [0, 1, "global"] * 2, "phase": ["test"] * 6, "n": [5, 5, 10] * 2,
                         "loss": [np.nan] * 6, "accuracy": [0.2, 0.4, 0.3, 0.5, 0.7, 0.6], "balanced_accuracy": [0.2, 0.4, 0.3, 0.5, 0.7, 0.6]})
    m = emolab_widgets.FederatedMonitor(FederatedResult(hist, None, FederatedConfig(dp_noise=0.5), {"accuracy": 0.65}, 1.0))
    assert "<svg" in m.chart.value and "Centralised" in m.table.value and "noise multiplier 0.5" in m.table.value

    class FakeTrainer:
        history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "train_accuracy": 0.3, "val_accuracy": 0.25}]

    t = emolab_widgets.TrainingMonitor()
    t.on_epoch_end(FakeTrainer(), FakeTrainer.history[0])
    assert "<svg" in t.curves.value and "epoch 1" in t.status.value


def test_upload_is_checked_by_content_and_size(tmp_path, monkeypatch):
    import emolab_widgets
    from emolab_widgets import lesson as lesson_mod

    dash = emolab_widgets.LessonDashboard(work_folder=tmp_path)
    dash.source.value = "Upload a recording"
    from datetime import datetime, timezone

    fake = {"name": "lesson.mp4", "type": "video/mp4", "size": 600, "content": memoryview(b"not a video at all " * 30),
            "last_modified": datetime.now(timezone.utc)}
    dash.upload.value = (fake,)
    dash.analyze()
    assert "Could not analyze" in dash.status.value and "lesson.mp4" in dash.status.value
    monkeypatch.setattr(lesson_mod, "MAX_UPLOAD_MB", 0.0001)
    dash.analyze()
    assert "accepts up to" in dash.status.value
    dash.upload.value = ()
    dash.analyze()
    assert "choose a video file" in dash.status.value


def test_dashboards_show_their_title_once(tmp_path):
    """The notebook's heading is the page title; the widget repeats no heading of its own."""
    import json
    from pathlib import Path

    import ipywidgets as W

    import emolab_widgets

    def texts(w):
        yield getattr(w, "value", "") if isinstance(w, W.HTML) else ""
        for child in getattr(w, "children", ()):
            yield from texts(child)

    root = Path(__file__).resolve().parent.parent / "notebooks" / "dashboards"
    for dash, notebook in ((emolab_widgets.LessonDashboard(work_folder=tmp_path), "lesson.ipynb"),
                           (emolab_widgets.TrainingDashboard(tmp_path), "training.ipynb")):
        cells = json.loads((root / notebook).read_text())["cells"]
        title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip()
        shown = "\n".join(texts(dash.widget)) + "\n".join("".join(c["source"]) for c in cells)
        assert title and shown.count(title) == 1, (notebook, title)


def test_timeline_explorer_says_how_much_was_readable(tiny_lesson, tmp_path):
    """The sentence of ``info["readability"]`` stands above the charts; with nothing readable it replaces them."""
    import emolab_widgets
    from emolab.timeline import AnalysisConfig, analyze_lesson, readability_summary

    a = analyze_lesson(tiny_lesson, config=AnalysisConfig(model="synthetic"), progress=False)
    sentence = a.info["readability"]["sentence"]
    ex = emolab_widgets.TimelineExplorer(a, tiny_lesson / "lesson.mp4")
    assert sentence in ex.readability.value and "<svg" in ex.chart.value
    assert ex.widget.children.index(ex.readability) < ex.widget.children.index(ex.chart)
    a.timeline = a.timeline.assign(emotion="", reason="too_small")  # nobody readable
    a.info["readability"] = readability_summary(a.timeline, a.students)
    ex = emolab_widgets.TimelineExplorer(a, tiny_lesson / "lesson.mp4")
    assert "no student's emotion could be read (too small:" in ex.readability.value
    assert ex.chart.value == ex.valence.value == ""


def test_setup_notebook_gives_data_and_work_folders(tmp_path, monkeypatch):
    import emolab_widgets

    monkeypatch.setenv("EMOLAB_DATA", str(tmp_path / "corpora"))
    monkeypatch.setenv("EMOLAB_WORK", str(tmp_path / "work"))
    data, work = emolab_widgets.setup_notebook()
    assert (data, work) == (tmp_path / "corpora", tmp_path / "work") and work.is_dir() and not data.exists()
