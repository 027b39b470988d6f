"""Synthetic lessons and training sets: contract, determinism, realism checks, bad input."""

import numpy as np
import pandas as pd
import pytest

from emolab.errors import EmolabError, OutputError
from emolab.synth import (EMOTION_AUS, Identity, LessonConfig, Pose, TRUTH_COLUMNS, Voice, au_vector, generate_lesson,
                          iter_frames, plan_lesson, render_audio, render_face, synthesize_utterance)
from emolab.taxonomy import EMOTIONS


def test_lesson_files_and_truth_contract(tiny_lesson):
    for name in ("lesson.mp4", "lesson.wav", "lesson.srt", "truth.csv", "lesson.json"):
        assert (tiny_lesson / name).is_file(), name
    truth = pd.read_csv(tiny_lesson / "truth.csv")
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert set(truth.role) == {"teacher", "student"}
    assert set(truth.emotion) <= set(EMOTIONS)
    assert truth.person.nunique() == 4
    assert truth.frame.max() == 39  # 4 s at 10 fps
    assert set(truth.speaking) <= {0, 1} and truth.speaking.sum() > 0
    assert ((truth.w > 10) & (truth.h > 10)).all()


def test_lesson_video_and_muxed_audio_are_readable(tiny_lesson):
    import av
    import cv2
    import soundfile as sf

    cap = cv2.VideoCapture(str(tiny_lesson / "lesson.mp4"))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n += 1
        assert frame.shape == (180, 320, 3)
    assert n == 40
    with av.open(str(tiny_lesson / "lesson.mp4")) as c:
        kinds = sorted(s.type for s in c.streams)
        assert kinds == ["audio", "video"]
        samples = sum(f.samples for f in c.decode(audio=0))
    assert abs(samples / 16000 - 4.0) < 0.2
    wav, sr = sf.read(tiny_lesson / "lesson.wav")
    assert sr == 16000 and len(wav) == 64000 and np.abs(wav).max() > 0.05


def test_transcript_speakers_are_lesson_people(tiny_lesson):
    from emolab.data import read_transcript

    t = read_transcript(tiny_lesson / "lesson.srt")
    truth = pd.read_csv(tiny_lesson / "truth.csv")
    assert len(t) >= 1 and set(t.speaker) <= set(truth.person)
    # whoever the transcript says speaks is flagged speaking in truth at that moment
    u = t.iloc[0]
    mid = truth[(truth.person == u.speaker) & (truth.t >= u.start + 0.1) & (truth.t <= u.end - 0.1)]
    assert len(mid) and mid.speaking.all()


def test_same_seed_same_truth_bytes(tmp_path):
    cfg = LessonConfig(n_students=2, seconds=2.0, seed=11, width=240, height=160, fps=8.0)
    a = generate_lesson(tmp_path / "a", cfg, progress=False)
    b = generate_lesson(tmp_path / "b", cfg, progress=False)
    c = generate_lesson(tmp_path / "c", cfg.replace(seed=12), progress=False)
    assert a.truth.read_bytes() == b.truth.read_bytes()
    assert a.transcript.read_bytes() == b.transcript.read_bytes()
    assert a.truth.read_bytes() != c.truth.read_bytes()


def test_student_leaves_and_returns_and_occlusions_are_marked():
    cfg = LessonConfig(n_students=4, seconds=24.0, seed=2, width=200, height=120, fps=2.0)
    plan = plan_lesson(cfg)
    away = [p for p in plan.people if p.absent]
    assert len(away) == 1 and away[0].role == "student"
    a, b = away[0].absent[0]
    assert b - a >= 5.0 and b < cfg.seconds
    _, env = render_audio(plan)
    seen = {}
    occluded = 0
    for _, t, _, rows in iter_frames(plan, env):
        for r in rows:
            seen.setdefault(r[1], []).append(t)
            occluded += r[9]
    times = np.array(seen[away[0].person])
    assert not ((times >= a) & (times < b)).any()
    assert (times < a).any() and (times >= b).any()
    assert all(len(v) == 48 for k, v in seen.items() if k != away[0].person)


def test_classroom_layout_puts_back_rows_smaller():
    plan = plan_lesson(LessonConfig(n_students=12, seconds=2.0, layout="classroom"))
    students = plan.people[1:]
    ys = np.array([p.cy for p in students])
    hs = np.array([p.face_height for p in students])
    assert np.corrcoef(ys, hs)[0, 1] > 0.9  # nearer (lower in the frame) means bigger


def test_expressions_change_the_face():
    rng = np.random.default_rng(0)
    ident = Identity.random("X", rng)
    imgs = {}
    for emo in EMOTIONS:
        img = np.full((200, 200, 3), 150, np.uint8)
        x, y, w, h = render_face(img, 100, 100, 120, ident, au_vector(emo), Pose())
        imgs[emo] = img[y:y + h, x:x + w].astype(int)
    for emo in EMOTIONS:
        if emo != "neutral":
            assert np.abs(imgs[emo] - imgs["neutral"]).mean() > 0.5, emo
    # and at half intensity the change is smaller than at the apex
    half = np.full((200, 200, 3), 150, np.uint8)
    render_face(half, 100, 100, 120, ident, au_vector("surprise", 0.5), Pose())
    half = half[y:y + h, x:x + w].astype(int)
    assert np.abs(half - imgs["neutral"]).mean() < np.abs(imgs["surprise"] - imgs["neutral"]).mean()
    assert set(EMOTION_AUS) == set(EMOTIONS)


def _pitch(wave: np.ndarray, sr: int = 16000) -> float:
    """Median F0 by autocorrelation over voiced frames."""
    f0s = []
    for i in range(0, len(wave) - 1024, 512):
        x = wave[i:i + 1024].astype(float)
        if np.sqrt(np.mean(x**2)) < 0.02:
            continue
        ac = np.correlate(x, x, "full")[1023:]
        lo, hi = sr // 500, sr // 70
        lag = lo + int(np.argmax(ac[lo:hi]))
        f0s.append(sr / lag)
    return float(np.median(f0s))


def test_voice_prosody_follows_emotion():
    rng = np.random.default_rng(1)
    voice = Voice(pitch=180.0, formant_scale=1.1, breathiness=0.03)
    waves = {e: synthesize_utterance(voice, e, 2.0, np.random.default_rng(5)) for e in ("sadness", "neutral", "happiness", "anger")}
    assert _pitch(waves["happiness"]) > _pitch(waves["neutral"]) > _pitch(waves["sadness"])
    rms = {e: float(np.sqrt(np.mean(w.astype(float) ** 2))) for e, w in waves.items()}
    assert rms["anger"] > rms["neutral"] > rms["sadness"]
    assert all(w.dtype == np.float32 and len(w) == 32000 and np.abs(w).max() <= 1 for w in waves.values())
    assert Voice.random(rng, "adult_male").pitch < Voice.random(rng, "child").pitch


def test_real_face_detector_finds_the_synthetic_faces(tiny_lesson):
    """mediapipe's full-range BlazeFace (the real model, offline) on rendered lesson frames."""
    import cv2
    import mediapipe as mp

    truth = pd.read_csv(tiny_lesson / "truth.csv")
    cap = cv2.VideoCapture(str(tiny_lesson / "lesson.mp4"))
    found = total = 0
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as fd:
        for f in range(0, 40, 4):
            cap.set(cv2.CAP_PROP_POS_FRAMES, f)
            ok, frame = cap.read()
            assert ok
            res = fd.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            centres = [((d.location_data.relative_bounding_box.xmin + d.location_data.relative_bounding_box.width / 2) * 320,
                        (d.location_data.relative_bounding_box.ymin + d.location_data.relative_bounding_box.height / 2) * 180)
                       for d in res.detections or []]
            for r in truth[(truth.frame == f) & (truth.occluded == 0)].itertuples():
                total += 1
                found += any(abs(cx - (r.x + r.w / 2)) < r.w / 2 and abs(cy - (r.y + r.h / 2)) < r.h / 2 for cx, cy in centres)
    assert total >= 30
    assert found / total >= 0.85, f"detector found {found}/{total}"


@pytest.mark.parametrize("kwargs,match", [({"n_students": 0}, "at least one student"), ({"seconds": -1}, "positive duration"),
                                          ({"layout": "circle"}, "layout"), ({"fps": 0}, "fps")])
def test_impossible_settings_are_clear_errors(tmp_path, kwargs, match):
    with pytest.raises(EmolabError, match=match):
        generate_lesson(tmp_path / "x", LessonConfig(**kwargs), progress=False)
    assert not (tmp_path / "x").exists()


def test_non_empty_or_unwritable_output_is_refused_and_nothing_left(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    cfg = LessonConfig(n_students=1, seconds=1.0, width=160, height=120, fps=4.0)
    with pytest.raises(OutputError, match="not empty"):
        generate_lesson(out, cfg, progress=False)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        generate_lesson(blocker / "lesson", cfg, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "file"]  # no partial folder left behind


def test_interrupted_generation_leaves_no_half_lesson(tmp_path, monkeypatch):
    from emolab.synth import lesson as lesson_mod

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(lesson_mod, "write_srt", boom, raising=False)
    import emolab.data.transcripts as tr

    monkeypatch.setattr(tr, "write_srt", boom)
    with pytest.raises(KeyboardInterrupt):
        generate_lesson(tmp_path / "l", LessonConfig(n_students=1, seconds=1.0, width=160, height=120, fps=4.0), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_trainset_is_balanced_grouped_and_reloadable(tmp_path):
    from emolab.synth import TrainsetConfig, generate_trainset, load_trainset

    cfg = TrainsetConfig(n_identities=3, clips_per_emotion=1, n_frames=4, size=48, audio_seconds=0.5, seed=1)
    m = generate_trainset(tmp_path / "ts", cfg, progress=False)
    man, faces, audio = load_trainset(tmp_path / "ts")
    assert len(man) == len(m) == 21
    assert faces.shape == (21, 4, 48, 48) and faces.dtype == np.uint8
    assert audio.shape == (21, 8000)
    assert man.label.value_counts().to_dict() == {e: 3 for e in EMOTIONS}
    assert man.group.nunique() == 3 and (man["index"] == np.arange(21)).all()
    assert faces.std() > 10  # not blank
    m2 = generate_trainset(tmp_path / "ts2", cfg, progress=False)
    assert np.array_equal(np.load(tmp_path / "ts2" / "faces.npy"), faces)
    assert m2.text.tolist() == m.text.tolist()
