"""Real-face composites (emolab.synth.composite) on small generated inputs: no corpus needed."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from emolab.errors import EmolabError
from emolab.preprocessing.video import iter_frames
from emolab.synth.composite import COMPOSITE_TRUTH_COLUMNS, FaceSource, composite_lesson, visible_truth
from emolab.taxonomy import EMOTIONS

SIZES = (12, 20, 32, 48)


@pytest.fixture(scope="module")
def faces():
    """Eight stills cut from scikit-image's astronaut photo (one real face), shifted so they differ, plus a 3-frame clip."""
    from skimage import data

    face = cv2.resize(np.ascontiguousarray(data.astronaut()[30:230, 140:320][:, :, ::-1]), (64, 64))
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    stills = [(np.roll(grey, 2 * k, axis=1), EMOTIONS[k % 7]) for k in range(6)]
    clips = [FaceSource([np.roll(face, k, axis=0) for k in range(3)], emo, identity="actor", fps=5.0, name=f"clip_{emo}")
             for emo in ("happy", "sad")]
    return stills + clips


def _frames(path) -> list[np.ndarray]:
    return [frame for _, _, frame in iter_frames(path, sample_fps=None)]


@pytest.fixture(scope="module")
def lesson(tmp_path_factory, faces):
    out = tmp_path_factory.mktemp("comp") / "lesson"
    return composite_lesson(out, faces, seconds=3, fps=5, width=320, height=240, sizes=SIZES, n_seats=6, seed=3,
                            segment_seconds=1.0, pose_share=0.5, leave=1)


def test_video_and_truth(lesson):
    frames = _frames(lesson.video)
    assert len(frames) == 15 and frames[0].shape == (240, 320, 3)
    truth = pd.read_csv(lesson.truth, keep_default_na=False)
    assert tuple(truth.columns) == COMPOSITE_TRUTH_COLUMNS
    assert len(truth) == 15 * 6 and set(truth.groupby("frame")["person"].nunique()) == {6}
    assert set(truth["person"]) == {f"S0{i}" for i in range(1, 7)}
    assert sorted(truth.groupby("person")["size"].first()) == sorted([12, 20, 32, 48, 12, 20])
    vis = visible_truth(truth)
    assert ((vis.x >= 0) & (vis.y >= 0) & (vis.x + vis.w <= 320) & (vis.y + vis.h <= 240)).all()
    assert (vis.w == vis["size"]).all() and (vis.h <= vis["size"]).all()
    assert set(vis.emotion) <= set(EMOTIONS)
    assert (truth.present == 0).any() and (truth[truth.present == 0].visible == 0).all()  # someone leaves
    assert set(truth.pose) >= {"frontal", "down", "head"}
    assert (truth.occluded == truth.present * (1 - truth.visible)).all()


def test_clip_identity_switches_labels(lesson):
    truth = pd.read_csv(lesson.truth, keep_default_na=False)
    actor = truth[truth.source.str.startswith("clip_")]
    assert actor.person.nunique() == 1  # one identity, one seat
    shown = actor[actor.visible == 1]
    assert set(shown.emotion) == {"happiness", "sadness"}  # 1-s segments take turns between the two clips


def test_face_pixels_land_in_the_box(lesson):
    frame = _frames(lesson.video)[0]
    truth = pd.read_csv(lesson.truth, keep_default_na=False)
    big = truth[(truth.frame == 0) & (truth.visible == 1)].sort_values("size").iloc[-1]
    x, y, w, h = (int(big[c]) for c in "xywh")
    inner = frame[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].astype(float)
    assert inner.std() > 10  # a face's texture, not a flat drawing


def test_deterministic(tmp_path, faces, lesson):
    again = composite_lesson(tmp_path / "again", faces, seconds=3, fps=5, width=320, height=240, sizes=SIZES, n_seats=6, seed=3,
                             segment_seconds=1.0, pose_share=0.5, leave=1)
    assert again.truth.read_bytes() == lesson.truth.read_bytes()
    assert all(np.array_equal(a, b) for a, b in zip(_frames(again.video), _frames(lesson.video)))
    other = composite_lesson(tmp_path / "other", faces, seconds=3, fps=5, width=320, height=240, sizes=SIZES, n_seats=6, seed=4,
                             segment_seconds=1.0, pose_share=0.5, leave=1)
    assert other.truth.read_bytes() != lesson.truth.read_bytes()


def test_refuses_too_few_identities_and_oversized_faces(tmp_path, faces):
    with pytest.raises(EmolabError, match="identities"):
        composite_lesson(tmp_path / "a", faces, seconds=1, fps=5, width=320, height=240, sizes=SIZES, n_seats=9)
    with pytest.raises(EmolabError, match="do not fit"):
        composite_lesson(tmp_path / "b", faces, seconds=1, fps=5, width=320, height=240, sizes=(96,), n_seats=2)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
