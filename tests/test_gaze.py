"""The looking-down probe (emolab.models.gaze): fitting, its file, and what a lesson does with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emolab.errors import ModelError
from emolab.models.gaze import GAZE_FILE, GazeProbe, fit_gaze_probe, load_gaze_probe, save_gaze_probe
from emolab.registry import PRETRAINED_DIR

ANNOTATIONS = Path(__file__).parents[1] / "benchmarks" / "annotations" / "fer2013_gaze.csv"


def test_a_fitted_probe_separates_what_it_was_shown_and_keeps_its_threshold():
    rng = np.random.default_rng(0)
    down = rng.random(400) < 0.3
    X = rng.normal(size=(400, 16)) * rng.uniform(0.1, 10, 16) + rng.normal(size=16) * 5
    X[down, 3] += 4 * X[:, 3].std()  # one feature, on its own scale, tells them apart
    probe = fit_gaze_probe(X, down, C=1.0, threshold=0.4, face_sha256="abc")
    p = probe.score(X)
    assert p.shape == (400,) and ((p >= 0) & (p <= 1)).all()
    assert probe.threshold == 0.4 and (probe.looking_down(X) == (p >= 0.4)).all()
    assert (probe.looking_down(X) == down).mean() > 0.95
    assert np.argmax(np.abs(probe.weight * X.std(0))) == 3  # the standardisation is folded in
    with pytest.raises(ModelError, match="16 numbers"):
        probe.score(X[:, :8])
    with pytest.raises(ModelError, match="looking down and faces not"):
        fit_gaze_probe(X, np.zeros(400, bool))


def test_the_probe_file_belongs_to_one_set_of_face_weights(tmp_path):
    probe = GazeProbe(np.arange(4.0), -1.0, 0.6, "digest-a")
    path = save_gaze_probe(tmp_path / GAZE_FILE, probe, made_by="a test")
    assert json.loads(path.read_text())["made_by"] == "a test"
    back = load_gaze_probe(path, "digest-a")
    assert back is not None and back.threshold == 0.6 and np.array_equal(back.weight, probe.weight)
    assert load_gaze_probe(path, "digest-b") is None  # another face model: its embedding means something else
    assert load_gaze_probe(tmp_path / "none.json", "digest-a") is None
    (tmp_path / "bad.json").write_text('{"weight": [1, 2]}')
    with pytest.raises(ModelError, match="cannot read the gaze probe"):
        load_gaze_probe(tmp_path / "bad.json", "digest-a")


def test_the_bundled_probe_reads_the_bundled_face_model():
    from emolab.models.io import read_metadata

    d = json.loads((PRETRAINED_DIR / GAZE_FILE).read_text())
    assert d["face_sha256"] == read_metadata(PRETRAINED_DIR / "face.safetensors")["sha256"], "re-make it: benchmarks/train_gaze_probe.py --write"
    assert len(d["weight"]) == 256 and 0 < d["threshold"] < 1


def test_the_gaze_annotations_are_whole():
    ann = pd.read_csv(ANNOTATIONS, keep_default_na=False)
    assert set(ann["gaze"]) == {"down", "closed", "no", "unsure"}
    readers = ann.groupby(["split", "file"]).size()
    assert (readers.loc["train"] == 1).all() and (readers.loc["validation"] == 2).all()
    assert len(readers.loc["train"]) == 1440 and len(readers.loc["validation"]) == 600
    assert ann["file"].str.match(r"^(train|validation)/(angry|disgust|fear|happy|neutral|sad|surprise)/[^/]+\.jpg$").all()
    assert (ann["file"].str.split("/").str[1] == ann["fer_label"]).all()
    # the two readers of a validation face are different people
    assert ann[ann["split"] == "validation"].groupby("file")["reader"].nunique().eq(2).all()


@pytest.fixture(scope="module")
def lesson_models():
    from emolab.models.lesson import load_lesson_models

    return load_lesson_models("pretrained", precision="fp32")


def _clips(n: int = 3, frames: int = 5) -> np.ndarray:
    from skimage import data

    import cv2

    face = cv2.resize(cv2.cvtColor(data.astronaut()[30:230, 150:330], cv2.COLOR_RGB2GRAY), (48, 48))
    return np.repeat(np.repeat(face[None, None], frames, 1), n, 0)


def test_frames_looking_down_are_left_out_of_their_clip(lesson_models):
    lm = lesson_models
    clips = _clips()
    readable = np.ones(clips.shape[:2], bool)
    old = lm.gaze
    try:
        lm.gaze = None
        plain = lm.face(clips, readable=readable)
        p, down = lm.face_readings(clips, readable=readable)
        assert np.allclose(p, plain, atol=1e-6) and not down.any()
        lm.gaze = GazeProbe(np.zeros(256), -50.0, 0.5, "")  # never down
        p, down = lm.face_readings(clips, readable=readable)
        assert np.allclose(p, plain, atol=1e-6) and not down.any()
        lm.gaze = GazeProbe(np.zeros(256), 50.0, 0.5, "")  # always down
        p, down = lm.face_readings(clips, readable=readable)
        assert np.isnan(p).all()
        # exactly the frames read (every frame_step-th readable one) are marked
        rows, cols = np.nonzero(down)
        from emolab.models.lesson import read_frames

        want = read_frames(readable, lm.frame_step)
        assert np.array_equal(rows, want[0]) and np.array_equal(cols, want[1])
        assert np.allclose(lm.face(clips, readable=readable), plain)  # face() does not check the gaze
    finally:
        lm.gaze = old


@pytest.mark.slow
def test_a_lesson_says_looking_down_instead_of_reading_such_faces(tiny_lesson, lesson_models, tmp_path):
    from emolab.timeline import AnalysisConfig, analyze_lesson

    cfg = AnalysisConfig(model="pretrained", precision="fp32")
    lm = lesson_models
    old = lm.gaze
    try:
        lm.gaze = GazeProbe(np.zeros(256), -50.0, 0.5, "")
        base = analyze_lesson(tiny_lesson, config=cfg, models=lm, progress=False, thumbnails=False)
        read = base.timeline["modalities"].str.contains("face")
        assert read.any() and not (base.faces["unreadable"] == "looking_down").any()
        lm.gaze = GazeProbe(np.zeros(256), 50.0, 0.5, "")
        res = analyze_lesson(tiny_lesson, config=cfg, models=lm, out=tmp_path / "o", progress=False, thumbnails=False)
    finally:
        lm.gaze = old
    assert not res.timeline["modalities"].str.contains("face").any()
    tl = res.timeline.set_index(["person", "t"])
    was = base.timeline[read].set_index(["person", "t"]).index
    # every second the face model read before is now either read from speech/text or says why not
    for key in was:
        row = tl.loc[key] if key in tl.index else None
        assert row is None or row["reason"] == "looking_down" or row["modalities"] != ""
    assert (res.timeline["reason"] == "looking_down").sum() >= 0.5 * read.sum()
    assert (res.faces["unreadable"] == "looking_down").any()
    assert set(res.faces.loc[base.faces["unreadable"] != "", "unreadable"]) <= set(base.faces["unreadable"]) | {"looking_down"}
    assert "looking_down" in pd.read_csv(tmp_path / "o" / "timeline.csv", keep_default_na=False)["reason"].tolist()
    assert json.loads((tmp_path / "o" / "analysis.json").read_text())["looking_down_threshold"] == 0.5


@pytest.mark.realdata
def test_the_bundled_probe_finds_faces_people_saw_looking_down(shared_data):
    """On the annotated FER2013 validation faces both readers marked alike, at 48 and 24 px."""
    import cv2
    from sklearn.metrics import roc_auc_score

    from emolab.models.io import load_model

    from tests.conftest import import_benchmark

    bench = import_benchmark("train_gaze_probe")
    embeddings, face_labels, read_annotations = bench.embeddings, bench.face_labels, bench.read_annotations

    faces = face_labels(read_annotations())
    faces = faces[(faces["split"] == "validation") & faces["gaze"].isin(["down", "no"])]
    images = np.stack([cv2.imread(str(shared_data / "fer2013" / f), cv2.IMREAD_GRAYSCALE) for f in faces["file"]])
    model, meta = load_model(PRETRAINED_DIR / "face.safetensors")
    probe = load_gaze_probe(PRETRAINED_DIR / GAZE_FILE, meta["sha256"])
    y = (faces["gaze"] == "down").to_numpy()
    for size, floor in ((48, 0.85), (24, 0.8)):
        score = probe.score(embeddings(model.eval(), images, size)[1])
        assert roc_auc_score(y, score) >= floor, size


@pytest.mark.slow
def test_a_photo_of_a_face_looking_down_gives_the_reason(lesson_models, tmp_path):
    import cv2
    from skimage import data

    from emolab.timeline import AnalysisConfig, analyze_lesson

    cv2.imwrite(str(tmp_path / "class.jpg"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    cfg = AnalysisConfig(model="pretrained", precision="fp32")
    lm, old = lesson_models, lesson_models.gaze
    try:
        lm.gaze = GazeProbe(np.zeros(256), 50.0, 0.5, "")
        res = analyze_lesson(tmp_path / "class.jpg", config=cfg, models=lm, progress=False, thumbnails=False)
        lm.gaze = GazeProbe(np.zeros(256), -50.0, 0.5, "")
        base = analyze_lesson(tmp_path / "class.jpg", config=cfg, models=lm, progress=False, thumbnails=False)
    finally:
        lm.gaze = old
    read = base.timeline["emotion"] != ""
    assert read.any()
    row = res.timeline[read.to_numpy()]
    assert (row["emotion"] == "").all() and (row["reason"] == "looking_down").all()
    assert (res.faces.loc[base.faces["unreadable"] == "", "unreadable"] == "looking_down").all()
    assert res.info["readability"]["sentence"] == "no student's emotion could be read (looking down: 1 s)"
    assert res.students["unreadable_reason"].eq("looking_down").all() and res.info["looking_down_threshold"] == 0.5
