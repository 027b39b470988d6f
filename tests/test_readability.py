"""Readable or not: every sighting gets a quality, emotions come only from readable evidence, and
summaries say how much could be read (issue: real classroom footage)."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from emolab.preprocessing.quality import ReadabilityRule, face_quality, frontalness, sharpness, unreadable_reason


def _astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def test_reasons_follow_the_rule_in_order():
    q = pd.DataFrame({"face_px": [60, 14, 60, 60, 14, 60], "frontal": [0.9, 0.9, 0.1, np.nan, 0.1, 0.9],
                      "sharpness": [500, 500, 500, 50, 50, 500], "score": [0.9, 0.9, 0.9, 0.9, 0.5, 0.7]})
    r = ReadabilityRule(min_face_px=24, min_frontal=0.6, min_sharpness=200, min_score=0.85)
    assert list(unreadable_reason(q, r)) == ["", "too_small", "turned_away", "blurred", "too_small", "unclear"]
    assert list(unreadable_reason(q.drop(columns="score"), r)) == ["", "too_small", "turned_away", "blurred", "too_small", ""]
    assert list(unreadable_reason(q.iloc[:0], r)) == []


def test_frontalness_drops_when_the_head_turns_or_bows():
    box = (0, 0, 100, 100)
    frontal = np.array([[30, 40], [70, 40], [50, 62], [35, 80], [65, 80]], float)  # eyes, nose, mouth corners
    assert frontalness(frontal, box) == pytest.approx(1.0)
    turned = frontal.copy()
    turned[2, 0] = 68  # nose towards one eye: yaw
    assert frontalness(turned, box) < 0.6
    bowed = frontal.copy()
    bowed[2, 1] = 78  # nose tip down at the mouth: a bowed head
    assert frontalness(bowed, box) < 0.3
    profile = frontal.copy()
    profile[:2, 0] = [45, 55]  # eyes close together
    assert frontalness(profile, box) < 0.3
    assert frontalness(eyes=(30, 40, 70, 40), box=box) == pytest.approx(1.0)  # eyes only: their spacing
    assert np.isnan(frontalness(None, box))


def test_sharpness_falls_with_blur_and_size():
    face = cv2.cvtColor(_astronaut()[20:220, 150:350], cv2.COLOR_BGR2GRAY)
    crop = cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA)
    sharp = sharpness(crop)
    assert sharpness(cv2.GaussianBlur(crop, (0, 0), 1.5)) < 0.3 * sharp
    tiny = cv2.resize(cv2.resize(face, (12, 12), interpolation=cv2.INTER_AREA), (48, 48), interpolation=cv2.INTER_LINEAR)
    assert sharpness(tiny) < 0.3 * sharp
    assert sharpness(np.full((48, 48), 7, np.uint8)) == 0.0
    assert sharpness(face) == pytest.approx(sharpness(cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA)))


def test_face_quality_has_one_row_per_detection():
    from emolab.preprocessing.detection import Detection

    frame = _astronaut()
    q = face_quality(frame, [Detection(180, 60, 120, 140, 0.9, (210, 110, 270, 110)), Detection(5, 5, 14, 14, 0.6)])
    assert list(q.columns) == ["face_px", "frontal", "sharpness"] and len(q) == 2
    assert q["face_px"].tolist() == [140, 14]
    assert np.isnan(q["frontal"].iloc[1])


@pytest.mark.slow
def test_a_photo_gives_one_row_per_face_and_no_emotion_from_an_unreadable_one(tmp_path):
    from emolab.timeline import AnalysisConfig, analyze_lesson, load_analysis

    cv2.imwrite(str(tmp_path / "class.jpg"), _astronaut())
    res = analyze_lesson(tmp_path / "class.jpg", config=AnalysisConfig(model="pretrained"), out=tmp_path / "o", progress=False)
    assert res.info["photo"] and res.info["video"] == "class.jpg"
    assert len(res.faces) >= 1 and (res.faces["t"] == 0).all()
    main = res.faces.sort_values("h").iloc[-1]
    row = res.timeline.set_index("person").loc[main["person"]]
    assert main["unreadable"] == "" and row["emotion"] != "" and 0 < row["confidence"] <= 1
    assert (tmp_path / "o" / "report.html").is_file()
    again = load_analysis(tmp_path / "o")
    assert (again.timeline["emotion"] == res.timeline["emotion"]).all()
    # the same face, required to be larger than it is: no emotion, and the reason
    strict = AnalysisConfig(model="pretrained", readability=ReadabilityRule(min_face_px=10_000))
    res = analyze_lesson(tmp_path / "class.jpg", config=strict, progress=False)
    assert (res.timeline["emotion"] == "").all() and (res.timeline["reason"] == "too_small").all()
    assert res.timeline[["anger", "happiness", "confidence"]].isna().all().all()
    assert res.students["dominant_emotion"].eq("").all() and res.students["unreadable_reason"].eq("too_small").all()
    assert "no student's emotion could be read" in res.info["readability"]["sentence"]


def test_a_file_that_is_not_an_image_is_a_clear_error(tmp_path):
    from emolab.errors import MediaError
    from emolab.timeline import analyze_lesson

    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(MediaError, match="cannot read this image"):
        analyze_lesson(tmp_path / "broken.png", progress=False)


def test_summaries_count_readable_seconds_only():
    from emolab.timeline import class_summary, readability_summary, student_table

    tl = pd.DataFrame({"person": ["S01"] * 4 + ["S02"] * 2, "t": [0, 1, 2, 3, 0, 1],
                       "emotion": ["happiness", "happiness", "", "", "", ""],
                       "reason": ["", "", "turned_away", "turned_away", "too_small", "too_small"],
                       "valence": [0.8, 0.8, np.nan, np.nan, np.nan, np.nan], "visible": True})
    faces = pd.DataFrame({"person": ["S01", "S02"], "t": [0.0, 0.0], "x": 0.0, "y": 0.0, "w": 10.0, "h": 10.0})
    turns = pd.DataFrame(columns=["start", "end", "person"])
    st = student_table(tl, faces, turns, {"S01": "student", "S02": "student"}).set_index("person")
    assert st.loc["S01", "seconds_readable"] == 2 and st.loc["S01", "positive_share"] == 1.0
    assert st.loc["S02", "dominant_emotion"] == "" and st.loc["S02", "unreadable_reason"] == "too_small"
    cs = class_summary(tl, st.reset_index())
    assert cs.query("group == 'students' and emotion == 'happiness'")["share"].item() == 1.0
    cov = readability_summary(tl, st.reset_index())
    assert cov["readable_share"] == pytest.approx(2 / 6) and cov["never_readable"] == ["S02"]
    assert cov["sentence"] == "emotions readable for 33% of student-seconds; 1 of 2 students never readable"


def test_vectorised_qualities_equal_the_per_face_functions():
    """face_quality's batched frontalness and sharpness give the per-face functions' values (sharpness: OpenCV's)."""
    from emolab.preprocessing.quality import _frontal_many, _sharpness_many, frontalness, sharpness

    rng = np.random.default_rng(7)
    crops = rng.integers(0, 255, (9, 48, 48), np.uint8)
    crops[0] = 128  # a flat crop: sharpness 0
    want_sharp = [cv2.Laplacian(c, cv2.CV_64F).var() for c in crops]  # OpenCV's definition
    np.testing.assert_allclose(_sharpness_many(crops), want_sharp, rtol=1e-12, atol=1e-9)
    g = np.pad(crops.astype(np.float64), ((0, 0), (1, 1), (1, 1)), mode="reflect")  # the Laplacian in float64: bit for bit
    lap = g[:, :-2, 1:-1] + g[:, 2:, 1:-1] + g[:, 1:-1, :-2] + g[:, 1:-1, 2:] - 4.0 * g[:, 1:-1, 1:-1]
    assert np.array_equal(_sharpness_many(crops), lap.reshape(9, -1).var(axis=1))
    np.testing.assert_allclose([sharpness(c) for c in crops], want_sharp, rtol=1e-12, atol=1e-9)
    marks = rng.uniform(0, 60, (9, 5, 2))
    marks[1, 1] = marks[1, 0]  # eyes on one point: the eye-spacing score alone
    widths = rng.uniform(20, 60, 9)
    want = [frontalness(m, (0, 0, w, w)) for m, w in zip(marks, widths)]
    np.testing.assert_allclose(_frontal_many(marks, widths), want, rtol=0, atol=1e-12)


def test_each_frame_is_judged_by_the_whole_rule_detector_score_included(tiny_lesson):
    """The per-frame readability that decides which clips are read is the rule of the sightings table
    (it once left out the detector score, so clips of "unclear" faces were read)."""
    from emolab.preprocessing.perception import Perception

    p = Perception(tiny_lesson / "lesson.mp4", face_size=48, margin=0.06)
    for _ in p:
        pass
    table = p.sightings(keep_dropped=True)
    rule = ReadabilityRule(min_score=float(table["score"].median()))  # about half the sightings fall below it
    p2 = Perception(tiny_lesson / "lesson.mp4", face_size=48, margin=0.06)
    per_frame = np.concatenate([unreadable_reason(g.quality, rule) for g in p2])
    expected = unreadable_reason(p2.sightings(keep_dropped=True), rule)
    assert (per_frame == "unclear").any()
    np.testing.assert_array_equal(per_frame, expected)

