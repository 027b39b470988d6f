"""The multimodal lesson Dataset: per-person, per-window face clip + speech + text + mask + label."""

import numpy as np
import pandas as pd
import pytest
import torch

from emolab.preprocessing.windows import WindowConfig, lesson_windows
from emolab.taxonomy import EMOTIONS


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    from emolab.synth import LessonConfig, generate_lesson

    out = tmp_path_factory.mktemp("win") / "l"
    generate_lesson(out, LessonConfig(n_students=3, seconds=16.0, seed=11, fps=10.0), progress=False)
    return out


def test_windows_align_modalities_with_masks_and_truth_labels(lesson, tmp_path, monkeypatch):
    from emolab.models.lesson import load_lesson_models

    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    models = load_lesson_models("synthetic", precision="fp32")
    ds = lesson_windows(lesson, vocab=models.vocab)
    n = len(ds)
    assert 4 * 12 <= n <= 4 * 17  # 4 people x ~16 windows of 1 s
    assert ds.face.shape == (n, 1, 8, 48, 48) and ds.face.dtype == np.uint8
    assert ds.speech_data.shape[:2] == (int(ds.mask[:, 1].sum()), 1) and ds.text.shape == (n, models.vocab.max_len)
    m = ds.mask
    assert m[:, 0].mean() > 0.9 and m[:, 1].any() and m[:, 2].any()
    dense = ds.inputs()
    assert dense["speech"].shape[:2] == (n, 1) and dense["speech"][m[:, 1]].any(axis=(1, 2, 3)).all()
    assert not ds.face[~m[:, 0]].any() and not dense["speech"][~m[:, 1]].any() and not ds.text[~m[:, 2]].any()
    assert (m[:, 2] <= m[:, 1]).all()  # an utterance only while speaking
    assert (ds.labels >= 0).mean() > 0.95
    x, y = ds[0]
    assert set(x) == {"face", "speech", "text", "mask"} and x["face"].dtype == torch.float32 and 0 <= int(y) < len(EMOTIONS)
    with torch.no_grad():
        inp = ds.inputs()
        batch = {k: torch.from_numpy(v) if k in ("mask", "text") else torch.from_numpy(v.astype(np.float32) / (255.0 if k == "face" else 1.0))
                 for k, v in inp.items()}
        pred = models.model(batch).argmax(1).numpy()
    known = ds.labels >= 0
    assert (pred[known] == ds.labels[known]).mean() >= 0.75  # the synthetic-domain model reads these windows right
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 2
    again = lesson_windows(lesson, vocab=models.vocab)  # from the cache
    assert np.array_equal(again.face, ds.face) and again.table.equals(ds.table)


def test_windows_take_given_labels_and_work_without_vocabulary(lesson, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    labels = pd.DataFrame({"person": ["S01"], "start": [0.0], "end": [5.0], "label": ["happiness"]})
    ds = lesson_windows(lesson, WindowConfig(window=2.0, clip_frames=4, face_size=32), labels=labels)
    assert ds.text is None and not ds.mask[:, 2].any() and ds.face.shape[1:] == (1, 4, 32, 32)
    lab = ds.table.set_index(["person", "start"])["label"]
    assert lab[("S01", 0.0)] == lab[("S01", 2.0)] == lab[("S01", 4.0)] == "happiness"
    assert (ds.table.loc[ds.table.person != "S01", "label"] == "").all() and (ds.labels[ds.table.person != "S01"] == -1).all()
    from emolab.errors import DataError

    with pytest.raises(DataError, match="lacks column"):
        lesson_windows(lesson, labels=labels.drop(columns="end"))
    with pytest.raises(DataError, match="telepathy"):
        lesson_windows(lesson, labels=labels.assign(label="telepathy"))
    happy = lesson_windows(lesson, WindowConfig(window=2.0, clip_frames=4, face_size=32), labels=labels.assign(label="Happy"))
    assert happy.table.set_index(["person", "start"])["label"][("S01", 0.0)] == "happiness"  # corpus spellings mapped
