"""Lesson analysis end to end on synthetic lessons, checked against their ground truth."""

import html
import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from emolab.taxonomy import EMOTIONS
from emolab.timeline import AlertConfig, AnalysisConfig, analyze_lesson, ema, find_alerts, hmm_smooth, load_analysis, viterbi
from emolab.scoring import timeline_agreement, tracking_scores


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    from emolab.synth import LessonConfig, generate_lesson

    out = tmp_path_factory.mktemp("tl") / "lesson"
    generate_lesson(out, LessonConfig(n_students=4, seconds=30.0, seed=21, fps=10.0), progress=False)
    return out


@pytest.fixture(scope="module")
def analysed(lesson, tmp_path_factory):
    out = tmp_path_factory.mktemp("tl_out") / "analysis"
    return analyze_lesson(lesson, config=AnalysisConfig(model="synthetic"), out=out, progress=False), out


def test_smoothing_suppresses_single_second_flips():
    p = np.tile(np.eye(7)[4], (20, 1)) * 0.8 + 0.2 / 7
    p[10] = np.eye(7)[0] * 0.6 + 0.4 / 7  # one-second flip to anger
    p[14:] = np.eye(7)[3] * 0.8 + 0.2 / 7  # a real change to happiness
    for smoothed in (hmm_smooth(p, 0.9), ema(p, 0.3)):
        lab = smoothed.argmax(1)
        assert lab[10] == 4 and lab[-1] == 3
        np.testing.assert_allclose(smoothed.sum(1), 1, atol=1e-6)
    assert list(viterbi(p)[[10, 19]]) == [4, 3]


def test_alert_rules():
    t = np.arange(100.0)
    rows = []
    for person, val in (("S01", -0.8), ("S02", 0.5)):
        for s in t:
            if person == "S02" and 40 <= s < 80:
                continue  # S02 away for 40 s
            rows.append({"person": person, "t": s, "valence": val, "neutral": 0.2, "emotion": "sadness" if val < 0 else "happiness", "visible": True})
    tl = pd.DataFrame(rows)
    students = pd.DataFrame({"person": ["S01", "S02"], "role": ["student", "student"], "first_seen": [0.0, 0.0]})
    alerts = find_alerts(tl, students, AlertConfig(negative_seconds=30, absent_seconds=30), duration=100)
    kinds = set(zip(alerts.kind, alerts.person))
    assert ("negative_valence", "S01") in kinds and ("absent", "S02") in kinds and ("negative_valence", "S02") not in kinds
    gap = alerts[alerts.kind == "absent"].iloc[0]
    assert gap.start == 40 and gap.seconds == 40
    assert find_alerts(tl, students, AlertConfig(negative_seconds=200, absent_seconds=60)).empty


def test_analysis_tables_and_truth(analysed, lesson):
    res, _ = analysed
    tl = res.timeline
    assert list(tl.columns) == ["person", "t", *EMOTIONS, "emotion", "confidence", "valence", "modalities", "visible", "speaking", "reason"]
    read = tl[tl["emotion"] != ""]
    assert len(read) > 0.9 * len(tl) and (tl.loc[tl["emotion"] == "", "reason"] != "").all()  # synthetic faces are readable
    np.testing.assert_allclose(read[list(EMOTIONS)].sum(1), 1, atol=1e-4)
    assert read["valence"].between(-1, 1).all() and set(read["emotion"]) <= set(EMOTIONS)
    assert not tl.duplicated(["person", "t"]).any()
    seen = set(zip(res.faces["person"], np.floor(res.faces["t"]).astype(int)))
    assert seen <= set(zip(tl["person"], tl["t"].astype(int)))  # every second a person is seen has a row: a reading or a reason
    truth = pd.read_csv(lesson / "truth.csv")
    tr = tracking_scores(res.faces, truth)
    assert tr["purity"] >= 0.99 and tr["recall"] >= 0.95 and tr["n_persons_tracked"] == 5
    ag = timeline_agreement(tl, res.faces, truth)
    assert ag["n"] > 100
    # measured on this lesson: 0.8815 with the default keyframes every 1.6 s (session 5; the same in fp32); with keyframes
    # every 1.0 / 1.2 / 1.4 s 0.899 / 0.869 / 0.882 (which moments the keyframes fall on moves this score over 135 person-seconds by
    # ~2 points), 0.900 detecting on every frame; the 60-s sample lesson: 0.932. The bar guards against real losses (a broken
    # branch or tracker costs far more than 2 points); a change of tracking settings can cross it by chance: re-measure.
    # Re-measured for issue 21 (YuNet the default detector): 0.8797 here (mediapipe 0.8815); over the four lessons of
    # docs/tracking.md the mean agreement moved by -0.2 points (+0.8 to -1.0 per lesson), so the bar is now 0.87.
    assert ag["agreement"] >= 0.87 and ag["coverage"] >= 0.9, ag
    assert ag["identity"].get("T") == "T"  # the teacher is told apart by speaking time
    assert (res.students.role == "teacher").sum() == 1
    assert {"face", "face+speech", "face+speech+text"} & set(tl.modalities)


def test_outputs_written_atomically_and_reloadable(analysed):
    res, out = analysed
    for f in ("timeline.csv", "students.csv", "speech.csv", "utterances.csv", "alerts.csv", "faces.csv", "report.html", "analysis.json"):
        assert (out / f).is_file(), f
    assert not list(out.glob(".tmp-*"))
    again = load_analysis(out)
    pd.testing.assert_frame_equal(again.timeline.reset_index(drop=True), res.timeline.reset_index(drop=True), check_dtype=False, atol=1e-6)
    assert json.loads((out / "analysis.json").read_text())["model"] == "synthetic"
    html = (out / "report.html").read_text()
    assert "<svg" in html and "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    import re

    assert not re.search(r"(src|href)\s*=\s*[\"']?https?://", html)  # nothing is loaded from the network
    assert html.count("data:image/png;base64,") == res.students.shape[0]  # one blurred thumbnail per person
    assert "synthetic-domain" in html and "Method and limitations" in html


def test_blurred_thumbnails_hide_faces():
    from emolab.privacy import blur_face

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (96, 96, 3)).astype(np.uint8)
    b = blur_face(img)
    assert b.std() < 0.2 * img.std()  # the detail is gone


def test_faces_only_when_no_audio_and_no_transcript(lesson, tmp_path):
    import cv2

    src = cv2.VideoCapture(str(lesson / "lesson.mp4"))
    w = cv2.VideoWriter(str(tmp_path / "mute.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (640, 360))
    for _ in range(100):
        ok, f = src.read()
        if not ok:
            break
        w.write(f)
    w.release()
    with pytest.warns(UserWarning, match="no usable audio"):
        res = analyze_lesson(tmp_path / "mute.mp4", config=AnalysisConfig(model="synthetic"), progress=False)
    tl = res.timeline
    assert len(tl) and set(tl.modalities) <= {"face", ""} and (tl.modalities == "face").mean() > 0.8 and res.speech.empty
    assert (tl.loc[tl.modalities == "", "reason"] != "").all()  # a second not read says why


def test_nobody_visible(tmp_path):
    import cv2

    w = cv2.VideoWriter(str(tmp_path / "empty.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (320, 180))
    for _ in range(25):
        w.write(np.full((180, 320, 3), 90, np.uint8))
    w.release()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_lesson(tmp_path / "empty.mp4", config=AnalysisConfig(model="synthetic"), out=tmp_path / "o", progress=False)
    assert res.timeline.empty and res.students.empty and res.info["n_people"] == 0
    assert (tmp_path / "o" / "report.html").is_file()
    report = (tmp_path / "o" / "report.html").read_text()
    assert "no student's face was seen (people facing away" in html.unescape(report) and "Nothing in this recording could be read" in report and "<svg" not in report


def test_transcript_longer_than_video_and_rerun_in_same_folder(lesson, tmp_path):
    from emolab.data import read_transcript, write_srt

    t = read_transcript(lesson / "lesson.srt")
    extra = pd.DataFrame({"start": [100.0], "end": [103.0], "speaker": ["T"], "text": ["This is after the end."]})
    write_srt(tmp_path / "long.srt", pd.concat([t, extra], ignore_index=True))
    short = AnalysisConfig(model="synthetic", sample_fps=2.0)
    with pytest.warns(UserWarning, match="transcript"):
        res = analyze_lesson(lesson / "lesson.mp4", transcript=tmp_path / "long.srt", config=short, out=tmp_path / "o", progress=False)
    assert res.utterances["start"].max() < 31
    (tmp_path / "o" / "timeline.csv").write_text("stale")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyze_lesson(lesson / "lesson.mp4", config=short, out=tmp_path / "o", progress=False)
    assert (tmp_path / "o" / "timeline.csv").read_text().startswith("person,t,")


def test_bad_transcript_fails_before_the_video_pass(lesson, tmp_path):
    """A broken transcript is reported at once, naming the file and line, before any frame is analysed."""
    from emolab.errors import DataError

    (tmp_path / "bad.srt").write_text("1\n00:00:01,000 --> 00:61:00,000\nhello\n")
    stages = []
    with pytest.raises(DataError, match="bad.srt: line 2"):
        analyze_lesson(lesson / "lesson.mp4", transcript=tmp_path / "bad.srt", config=AnalysisConfig(model="synthetic"),
                       progress=False, callback=lambda stage, frac: stages.append(stage))
    assert stages == []


def test_cli_batch_resumes_and_isolates_failures(lesson, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video" * 100)
    cmd = [sys.executable, "-m", "emolab", "analyze", str(lesson), str(bad), "--out", str(tmp_path / "reports"), "--model", "synthetic",
           "--sample-fps", "2", "--quiet"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 2, res.stderr
    assert "analysed" in res.stdout and "FAILED" in res.stdout and "broken.mp4" in res.stdout
    assert "1 of 2 recording(s) failed" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "reports" / "lesson" / "analysis.json").is_file()
    assert "index" in res.stdout and (tmp_path / "reports" / "index.csv").is_file()
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert "already done (skipped)" in again.stdout


@pytest.fixture(scope="module")
def same_named(tiny_lesson, tmp_path_factory):
    """Two different recordings both called lesson.mp4, in mon/ and tue/ (tue's a copy of mon's, cut to 3 s)."""
    import shutil

    import cv2

    root = tmp_path_factory.mktemp("week")
    (root / "mon").mkdir()
    (root / "tue").mkdir()
    shutil.copy(tiny_lesson / "lesson.mp4", root / "mon" / "lesson.mp4")
    src = cv2.VideoCapture(str(tiny_lesson / "lesson.mp4"))
    fps, size = src.get(cv2.CAP_PROP_FPS), (int(src.get(cv2.CAP_PROP_FRAME_WIDTH)), int(src.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    w = cv2.VideoWriter(str(root / "tue" / "lesson.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for _ in range(int(3 * fps)):
        ok, frame = src.read()
        w.write(frame)
    w.release()
    return root


def test_same_named_recordings_get_their_own_folders_and_an_index(same_named, tmp_path):
    from emolab.timeline.batch import analyze_many

    videos = [same_named / "mon" / "lesson.mp4", same_named / "tue" / "lesson.mp4"]
    out = tmp_path / "reports"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cut copy has no audio
        report = analyze_many(videos, out, progress=False, model="synthetic", sample_fps=2.0)
    assert [r["status"] for r in report] == ["done", "done"]
    assert [r["out"] for r in report] == [str(out / "mon-lesson"), str(out / "tue-lesson")]
    durations = [json.loads((out / f / "analysis.json").read_text())["duration"] for f in ("mon-lesson", "tue-lesson")]
    assert durations[0] > durations[1] + 0.5  # two result sets, neither overwritten by the other
    index = pd.read_csv(out / "index.csv", dtype=str)
    assert dict(zip(index.recording, index.folder)) == {"mon/lesson.mp4": "mon-lesson", "tue/lesson.mp4": "tue-lesson"}
    assert set(index.status) == {"done"} and index.video_blake2b.nunique() == 2

    # no file written names a place on this machine: recordings by name and content hash only
    for f in out.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            assert str(tmp_path) not in text and str(same_named) not in text, f
    meta = json.loads((out / "mon-lesson" / "analysis.json").read_text())
    assert meta["video"] == "lesson.mp4" and len(meta["video_blake2b"]) == 32

    # resuming goes by content: renamed folders, another order, one more recording with the same name
    moved = tmp_path / "week2"
    (moved / "a").mkdir(parents=True)
    (moved / "b").mkdir()
    (moved / "c").mkdir()
    import shutil

    shutil.copy(videos[1], moved / "a" / "lesson.mp4")
    shutil.copy(videos[0], moved / "b" / "lesson.mp4")
    shutil.copy(videos[0], moved / "c" / "lesson.mp4")
    (moved / "c" / "lesson.mp4").open("ab").write(b"\0")  # other content: another recording
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = analyze_many([moved / "a" / "lesson.mp4", moved / "b" / "lesson.mp4", moved / "c" / "lesson.mp4"], out, progress=False,
                             model="synthetic", sample_fps=2.0)
    assert [r["status"] for r in again] == ["skipped", "skipped", "done"]
    assert [r["out"] for r in again] == [str(out / "tue-lesson"), str(out / "mon-lesson"), str(out / "c-lesson")]
    index = pd.read_csv(out / "index.csv", dtype=str)
    assert sorted(index.folder) == ["c-lesson", "mon-lesson", "tue-lesson"]
    assert json.loads((out / "mon-lesson" / "analysis.json").read_text())["duration"] == durations[0]


def test_readable_names_tell_same_named_recordings_apart(tmp_path):
    from emolab.timeline.batch import readable_names

    paths = [tmp_path / "x" / "mon" / "lesson.mp4", tmp_path / "y" / "mon" / "lesson.mp4", tmp_path / "y" / "tue" / "maths.mp4"]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    assert readable_names(paths) == ["x-mon-lesson", "y-mon-lesson", "maths"]
    assert readable_names(paths[2:]) == ["maths"]


def test_a_folder_holding_another_recording_is_never_reused(tmp_path):
    from emolab.timeline.batch import _free_folder

    (tmp_path / "lesson").mkdir()
    (tmp_path / "lesson" / "analysis.json").write_text(json.dumps({"fingerprint": {"video_blake2b": "theirs"}}))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("not an analysis")
    assert _free_folder(tmp_path, "lesson", {"video_blake2b": "mine"}, set()) == "lesson-2"
    assert _free_folder(tmp_path, "lesson", {"video_blake2b": "theirs"}, set()) == "lesson"
    assert _free_folder(tmp_path, "lesson", {"video_blake2b": "mine"}, {"lesson-2"}) == "lesson-3"
    assert _free_folder(tmp_path, "notes", {"video_blake2b": "mine"}, set()) == "notes-2"


def test_pretrained_real_models_run_on_a_recording(lesson, tmp_path):
    """The default models (real, late fusion) run end to end; no accuracy is claimed on synthetic faces."""
    from emolab.bundled import available

    if not {"face", "speech", "text"} & set(available()):
        pytest.skip("no real pretrained model bundled")
    res = analyze_lesson(lesson, config=AnalysisConfig(model="pretrained", sample_fps=2.5), out=tmp_path / "o", progress=False)
    assert res.info["model"] == "pretrained" and len(res.timeline) > 50
    assert "face" in set("+".join(res.timeline.modalities).split("+"))
    read = res.timeline[res.timeline["emotion"] != ""]
    np.testing.assert_allclose(read[list(EMOTIONS)].sum(1), 1, atol=1e-4)
    assert res.timeline.loc[res.timeline["emotion"] == "", list(EMOTIONS)].isna().all().all()
    assert "synthetic-domain" not in (tmp_path / "o" / "report.html").read_text()


@pytest.mark.slow
def test_batch_over_local_ray(lesson, tmp_path):
    from emolab.timeline.batch import analyze_many

    report = analyze_many([lesson, tmp_path / "missing.mp4"], tmp_path / "reports", progress=False, ray_address="local",
                          model="synthetic", sample_fps=2.0)
    status = {r["status"] for r in report}
    assert status == {"done", "failed"}
    assert (tmp_path / "reports" / "lesson" / "timeline.csv").is_file()
    import ray

    ray.shutdown()


def test_speech_is_read_beside_the_video_pass_with_the_same_results(lesson, monkeypatch):
    """The speech model runs once, in the audio thread during the video pass, on the windows the attributed turns
    give; read_speech uses those features only where its windows are the same."""
    import threading

    import emolab.timeline.stages as stages
    from emolab.bundled import available
    from emolab.models.lesson import load_lesson_models

    if "speech" not in available():
        pytest.skip("no real speech model bundled")
    models = load_lesson_models("pretrained")
    y = np.random.default_rng(0).normal(0, 0.1, 16000 * 12).astype(np.float32)
    turns = pd.DataFrame({"start": [0.3, 4.0, 7.2], "end": [3.1, 6.6, 11.5], "person": ["S01", "off-camera", "S02"]})
    starts = stages.speech_windows(turns.drop(columns="person"), models)[0]
    early = (starts, stages.speech_features(y, starts, models))
    plain = stages.read_speech(turns, y, models)
    calls = []
    real = stages.speech_features
    monkeypatch.setattr(stages, "speech_features", lambda *a: calls.append(threading.current_thread().name) or real(*a))
    reused = stages.read_speech(turns, y, models, early=early)
    assert not calls and np.array_equal(reused.features, plain.features) and reused.at == plain.at
    assert (0 in plain.turn) and ("S02", 8) in plain.at and not any(p == "off-camera" for p, _ in plain.at)
    nobody = turns.assign(person=["S01", "", "S02"])  # a turn without a person has no windows: the early ones don't fit
    again = stages.read_speech(nobody, y, models, early=early)
    assert calls == ["MainThread"] and len(again.features) < len(plain.features)
    calls.clear()
    res = analyze_lesson(lesson, config=AnalysisConfig(model="pretrained", sample_fps=2.5), models=models, progress=False)
    assert len(calls) == 1 and calls[0].startswith("emolab-audio") and len(res.speech)


def test_a_turn_too_short_for_the_speech_model_gets_no_emotion_and_says_why():
    """Below ``speech_min_seconds`` (1.5 s for the bundled model, from benchmarks/bench_speech_duration.py) a turn's
    voice is not told: no emotion in speech.csv, the reason instead, and no second of its speaker's timeline reads it;
    a long turn is read as before; a turn nobody reads says so."""
    import emolab.timeline.stages as stages
    from emolab.bundled import available
    from emolab.models.lesson import SPEECH_MIN_SECONDS, load_lesson_models

    if "speech" not in available():
        pytest.skip("no real speech model bundled")
    models = load_lesson_models("pretrained")
    assert models.speech_min_seconds == SPEECH_MIN_SECONDS == 1.5
    y = np.random.default_rng(0).normal(0, 0.1, 16000 * 12).astype(np.float32)
    turns = pd.DataFrame({"start": [0.3, 4.0, 7.2, 9.8], "end": [1.1, 6.6, 9.4, 11.0], "person": ["S01", "off-camera", "S02", ""],
                          "attribution": [0.9, np.nan, 0.8, np.nan]})
    speech = stages.read_speech(turns, y, models)
    assert not any(p == "S01" for p, _ in speech.at) and ("S02", 8) in speech.at  # the 0.8-s turn stands for no second
    models.speech_abstain = 0.0  # every read turn would be answered by confidence alone
    sp, _ = stages.speech_tables(turns, speech, stages.Readings(), models)
    assert sp.loc[0, "emotion"] == "" and sp.loc[0, "reason"] == "shorter than 1.5 s" and np.isfinite(sp.loc[0, "confidence"])
    assert sp.loc[1, "emotion"] in EMOTIONS and sp.loc[1, "reason"] == "" and sp.loc[2, "emotion"] in EMOTIONS
    assert sp.loc[3, "emotion"] == "" and sp.loc[3, "reason"] == "not read"
    models.speech_abstain = 1.01  # no answer is that sure
    sp, _ = stages.speech_tables(turns, speech, stages.Readings(), models)
    assert (sp.loc[[1, 2], "reason"] == "confidence below 1.01").all() and (sp.loc[[1, 2], "emotion"] == "").all()
    assert sp.loc[0, "reason"] == "shorter than 1.5 s"  # the length is the first reason


def test_no_face_images_written_unless_asked(analysed, lesson, tmp_path):
    _, out = analysed
    assert not (out / "faces").exists() and not list(out.rglob("*.png"))  # privacy by default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyze_lesson(lesson, config=AnalysisConfig(model="synthetic", sample_fps=1.0, save_faces=True), out=tmp_path / "o", progress=False)
    saved = list((tmp_path / "o" / "faces").rglob("*.png"))
    assert len(saved) > 20 and len({p.parent.name for p in saved}) >= 4 and "S01" in {p.parent.name for p in saved}


def test_mouth_openness_batch_matches_single_crops():
    from emolab.preprocessing.speakers import mouth_openness

    crops = np.random.default_rng(0).integers(0, 255, (5, 48, 48)).astype(np.uint8)
    crops[2, 28:38, 16:32] = 0  # a dark, open mouth
    batch = mouth_openness(crops)
    assert batch.shape == (5,)
    np.testing.assert_allclose(batch, [mouth_openness(c) for c in crops], atol=1e-5)
    assert batch[2] == batch.max()
    from emolab.preprocessing.speakers import mouth_contrast, mouth_measures

    both = mouth_measures(crops)  # the two measures at once: the same numbers
    assert both.shape == (5, 2) and np.array_equal(both[:, 0], batch) and np.array_equal(both[:, 1], mouth_contrast(crops))
    assert mouth_measures(crops[:0]).shape == (0, 2)


def test_face_frame_step_uses_every_nth_frame():
    from emolab.errors import ModelError
    from emolab.models.lesson import LateFusionLessonModels

    models = LateFusionLessonModels(precision="fp32", frame_step=2)
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 255, (3, 5, 48, 48)).astype(np.uint8)
    p = models.face(clips)
    full = LateFusionLessonModels(precision="fp32", frame_step=1).face(clips[:, ::2])
    np.testing.assert_allclose(p, full, atol=1e-5)  # frames 1, 3, 5 of each clip
    default = LateFusionLessonModels(precision="fp32")  # the lesson's default: frames 1 and 4
    np.testing.assert_allclose(default.face(clips), LateFusionLessonModels(precision="fp32", frame_step=1).face(clips[:, [0, 3]]), atol=1e-5)
    with pytest.raises(ModelError, match="frame_step"):
        LateFusionLessonModels(frame_step=0)


def test_face_model_reads_only_readable_frames():
    """A per-frame face model reads every n-th of a clip's readable frames, never a frame the rule rejected."""
    from emolab.models.lesson import LateFusionLessonModels, read_frames

    ok = np.array([[1, 1, 1, 1, 1], [1, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1]], bool)
    rows, cols = read_frames(ok, 2)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 0), (0, 2), (0, 4), (1, 0), (1, 4), (2, 0), (2, 2), (2, 4), (3, 4)]
    rows, cols = read_frames(ok, 1)
    assert cols[rows == 1].tolist() == [0, 3, 4] and cols[rows == 2].tolist() == [0, 1, 2, 3, 4]
    one, two = LateFusionLessonModels(precision="fp32", frame_step=1), LateFusionLessonModels(precision="fp32", frame_step=2)
    rng = np.random.default_rng(1)
    clips = rng.integers(0, 255, (4, 5, 48, 48)).astype(np.uint8)
    p = two.face(clips, readable=ok)
    np.testing.assert_array_equal(p[0], two.face(clips[:1])[0])  # a fully readable clip: as without the flags
    np.testing.assert_allclose(p[1], one.face(clips[1:2, [0, 4]])[0], atol=1e-6)  # frames 1 and 5, not 2-3 (unreadable)
    np.testing.assert_allclose(p[3], one.face(clips[3:4, [4]])[0], atol=1e-6)
    clips[1, 1:3] = 255 - clips[1, 1:3]  # what an unreadable frame shows changes nothing
    np.testing.assert_array_equal(two.face(clips, readable=ok)[1], p[1])
    assert two.face(clips[:0], readable=ok[:0]).shape == (0, 7)


def test_face_model_errors_surface_and_torch_threads_are_restored(lesson):
    """The face model runs in its own thread during the video pass: its failure is the analysis's failure, and
    torch's thread setting (one thread during the pass) is given back either way."""
    import torch

    from emolab.models.lesson import load_lesson_models

    models = load_lesson_models("synthetic")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        real_face = models.face
        models.face = lambda clips, **kw: seen.append(torch.get_num_threads()) or real_face(clips, **kw)
        res = analyze_lesson(lesson, config=AnalysisConfig(model="synthetic", sample_fps=2.5), models=models, progress=False)
        assert seen and set(seen) == {1} and len(res.timeline) > 0
        assert torch.get_num_threads() == 2

        def broken(clips, **kw):
            raise RuntimeError("face model exploded")

        models.face = broken
        with pytest.raises(RuntimeError, match="face model exploded"):
            analyze_lesson(lesson, config=AnalysisConfig(model="synthetic", sample_fps=2.5), models=models, progress=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_analysis_json_names_inputs_by_file_name_and_hash(tmp_path):
    from emolab.cache import file_hash
    from emolab.timeline.io import portable_config, portable_info

    video = tmp_path / "deep" / "v.mp4"
    video.parent.mkdir()
    video.write_bytes(b"not really a video")
    info = portable_info({"video": str(video), "transcript": "", "duration": 3.0})
    assert info == {"video": "v.mp4", "video_blake2b": file_hash(video), "transcript": "", "transcript_blake2b": "", "duration": 3.0}
    assert portable_info(info) == info  # a loaded analysis written again keeps its hashes
    assert portable_config({"model": str(tmp_path / "m.safetensors"), "sample_fps": 5.0}) == {"model": "m.safetensors", "sample_fps": 5.0}
    assert portable_config({"model": "pretrained"})["model"] == "pretrained"


@pytest.mark.slow
def test_a_lesson_whose_audio_holds_no_speech_gets_no_turns_and_no_teacher(tiny_lesson, tmp_path):
    """Classroom noise (pink-ish noise and knocks) instead of the voices: no speaking turn, nobody named teacher."""
    import shutil

    import soundfile as sf

    folder = tmp_path / "noisy"
    folder.mkdir()
    shutil.copy(tiny_lesson / "lesson.mp4", folder / "lesson.mp4")
    rng = np.random.default_rng(0)
    sr = 16000
    noise = np.cumsum(rng.normal(0, 1, 4 * sr)).astype(np.float32)  # brown noise: rumble
    noise = 0.3 * (noise - np.convolve(noise, np.ones(400) / 400, "same")) / 40
    for k in range(0, 4 * sr, sr // 2):  # knocks
        noise[k:k + 200] += rng.normal(0, 0.5, 200)
    sf.write(folder / "lesson.wav", np.clip(noise, -1, 1), sr)
    res = analyze_lesson(folder, config=AnalysisConfig(model="synthetic", use_transcript=False), progress=False)
    assert res.speech.empty and not res.timeline["speaking"].any()
    assert (res.students["role"] == "student").all() and res.info["teacher"].startswith("teacher not identified")
    assert len(res.timeline) > 0  # the faces are still read


def test_a_clip_stands_for_the_seconds_its_readable_frames_fall_in():
    """A clip stands for its mean-time second; a second without its own clip takes the clip with most of its
    readable frames there, never a clip without a reading, never a second taken as looking down."""
    from emolab.timeline.stages import clip_seconds

    rows = [(1, 1.4), (1, 2.6), (2, 0.9), (3, 5.0)]  # (track, mean frame time)
    read = [np.arange(0.6, 2.2, 0.2), np.arange(1.8, 3.4, 0.2), np.arange(0.1, 1.7, 0.2), np.arange(4.2, 5.8, 0.2)]
    feats = np.ones((4, 7))
    feats[2] = np.nan  # track 2's clip looked down
    at = clip_seconds(rows, read, feats, {1: "S01", 2: "S02"})  # track 3 is nobody
    assert at[("S01", 1)] == 0 and at[("S01", 2)] == 1  # their own seconds
    assert at[("S01", 0)] == 0 and at[("S01", 3)] == 1  # filled from the frames that lie in them
    assert not any(k[0] == "S02" for k in at) and len(at) == 4
    assert ("S01", 0) not in clip_seconds(rows, read, feats, {1: "S01"}, skip={("S01", 0)})
    tie = clip_seconds([(1, 0.9), (1, 3.1)], [np.array([2.0, 2.1]), np.array([2.2, 2.3])], np.ones((2, 7)), {1: "S01"})
    assert tie[("S01", 2)] == 1  # as many frames in second 2 from each: the clip centred nearer 2.5 s
    tie = clip_seconds([(1, 3.1), (1, 0.9)], [np.array([2.2, 2.3]), np.array([2.0, 2.1])], np.ones((2, 7)), {1: "S01"})
    assert tie[("S01", 2)] == 0  # whatever the order
    assert clip_seconds(rows, read, None, {1: "S01"}) == {}


def test_every_second_a_person_is_seen_gets_a_row_and_says_why_when_unread():
    from emolab.timeline.stages import Readings, _second_reasons, fuse_seconds

    faces = pd.DataFrame({"person": ["S01"] * 7 + [""], "t": [0.1, 0.5, 1.2, 1.6, 2.3, 2.5, 2.8, 2.9],
                          "unreadable": ["too_small", "too_small", "", "blurred", "", "", "", "too_small"]})
    why = _second_reasons(faces)
    assert why == {("S01", 0): "too_small", ("S01", 1): "blurred", ("S01", 2): "too_brief"}

    class Models:
        def fuse(self, features, mask):
            return np.tile(np.eye(7)[4], (len(mask), 1))

    read = Readings(np.ones((1, 7), np.float32), {("S01", 1): 0}, np.array([0]))
    tl = fuse_seconds(Models(), faces, pd.DataFrame(columns=["start", "end", "person"]), {"face": read})
    assert list(zip(tl["person"], tl["t"])) == [("S01", 0.0), ("S01", 1.0), ("S01", 2.0)]
    assert list(tl["reason"]) == ["too_small", "", "too_brief"] and list(tl["modalities"]) == ["", "face", ""]
    assert tl.loc[1, "neutral"] == 1.0 and tl.loc[[0, 2], "neutral"].isna().all()
    Models.available = ("speech", "text")  # weights without a face branch: a readable face is unread for that reason
    tl = fuse_seconds(Models(), faces, pd.DataFrame(columns=["start", "end", "person"]), {"face": Readings()})
    assert list(tl["reason"]) == ["too_small", "blurred", "no_face_model"]
