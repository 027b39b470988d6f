"""Streaming video, face detection and tracking on real files (synthetic lessons, real photos)."""

import numpy as np
import pandas as pd
import pytest

from emolab.errors import MediaError
from emolab.preprocessing.detection import FaceDetector, iou, iou_matrix, nms, tile_grid, Detection
from emolab.preprocessing.tracking import FaceTracker, appearance_distance, appearance_signature, track_faces
from emolab.preprocessing.video import iter_frames, video_info
from emolab.scoring import tracking_scores

from .conftest import write_video


def test_video_info_and_sampled_streaming(tiny_lesson):
    info = video_info(tiny_lesson / "lesson.mp4")
    assert (info.width, info.height, info.n_frames) == (320, 180, 40) and info.fps == pytest.approx(10.0)
    frames = list(iter_frames(tiny_lesson / "lesson.mp4", sample_fps=5.0))
    assert len(frames) == 20
    idx, ts, imgs = zip(*frames)
    assert list(idx) == list(range(0, 40, 2)) and np.allclose(np.diff(ts), 0.2, atol=0.02)
    assert imgs[0].shape == (180, 320, 3)
    all_frames = list(iter_frames(tiny_lesson / "lesson.mp4", sample_fps=None, start=1.0, end=2.0))
    assert 10 <= len(all_frames) <= 11 and all_frames[0][1] >= 1.0 - 1e-6
    small = next(iter_frames(tiny_lesson / "lesson.mp4", max_side=160))[2]
    assert small.shape == (90, 160, 3)


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"definitely not a video" * 50, "cannot open|no decodable")])
def test_bad_video_files(tmp_path, content, match):
    p = tmp_path / "bad.mp4"
    p.write_bytes(content)
    with pytest.raises(MediaError, match=match) as err:
        list(iter_frames(p))
    assert "bad.mp4" in str(err.value)
    with pytest.raises(MediaError, match="not found"):
        video_info(tmp_path / "none.mp4")


def test_truncated_video_stops_with_a_warning(tmp_path):
    """A lesson mp4 (index at the front) cut in half decodes up to the cut and warns; an mp4 whose
    index was at the end is unreadable once cut, which is a clear error naming the file."""
    from emolab.synth import LessonConfig, generate_lesson

    lesson = generate_lesson(tmp_path / "l", LessonConfig(n_students=1, seconds=4.0, width=160, height=120, fps=10.0), progress=False)
    data = lesson.video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.warns(UserWarning, match="truncated"):
        frames = list(iter_frames(cut, sample_fps=None))
    assert 0 < len(frames) < 40
    tail_index = write_video(tmp_path / "cv.mp4", frames=20)
    cut2 = tmp_path / "cut2.mp4"
    cut2.write_bytes(tail_index.read_bytes()[: tail_index.stat().st_size // 2])
    with pytest.raises(MediaError, match="cut2.mp4"):
        list(iter_frames(cut2))


def test_single_frame_video(tmp_path):
    p = write_video(tmp_path / "one.mp4", frames=1, size=64)
    frames = list(iter_frames(p))
    assert len(frames) == 1


def test_box_helpers():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0 and iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    m = iou_matrix(np.array([[0, 0, 10, 10], [5, 5, 10, 10]]), np.array([[0, 0, 10, 10]]))
    assert m.shape == (2, 1) and m[0, 0] == 1.0 and 0 < m[1, 0] < 1
    kept = nms([Detection(0, 0, 10, 10, 0.9), Detection(1, 1, 10, 10, 0.8), Detection(50, 50, 10, 10, 0.7)])
    assert [d.score for d in kept] == [0.9, 0.7]
    assert len(tile_grid(360, 640, 3)) == 9 and tile_grid(360, 640, 1) == []
    assert FaceDetector.choose_grid(360, 640, 60) == 2 and FaceDetector.choose_grid(360, 640, 35) == 4


def test_detector_finds_a_real_face_photo():
    from skimage import data

    img = data.astronaut()[:, :, ::-1].copy()  # RGB -> BGR
    with FaceDetector(tiles=0) as det:
        faces = det.detect(img)
    assert len(faces) == 1
    f = faces[0]
    assert 150 < f.x + f.w / 2 < 280 and 50 < f.y + f.h / 2 < 160  # Eileen Collins' face
    with FaceDetector(model="haar", tiles=0) as haar:
        assert len(haar.detect(img)) >= 1
    with FaceDetector(tiles=0) as det:
        assert det.detect(np.full((200, 200, 3), 127, np.uint8)) == []  # no face anywhere


def test_appearance_signature_separates_people(tiny_lesson):
    truth = pd.read_csv(tiny_lesson / "truth.csv")
    frames = {i: f for i, _, f in iter_frames(tiny_lesson / "lesson.mp4", sample_fps=None)}
    r0 = truth[truth.frame == 0].set_index("person")
    r9 = truth[truth.frame == 30].set_index("person")
    sig = lambda f, r: appearance_signature(frames[f], (r.x, r.y, r.w, r.h))
    same = appearance_distance(sig(0, r0.loc["S01"]), sig(30, r9.loc["S01"]))
    other = appearance_distance(sig(0, r0.loc["S01"]), sig(30, r9.loc["S02"]))
    assert same < 0.25 < other


def test_tracking_meets_its_targets_on_a_synthetic_lesson(tmp_path_factory):
    """Identity purity >= 99 % and >= 95 % of visible face-frames detected, with a student leaving and returning."""
    from emolab.synth import LessonConfig, generate_lesson

    out = tmp_path_factory.mktemp("track") / "l"
    generate_lesson(out, LessonConfig(n_students=5, seconds=24.0, seed=7, fps=10.0), progress=False)
    truth = pd.read_csv(out / "truth.csv")
    faces = track_faces(str(out / "lesson.mp4"), sample_fps=2.5)
    s = tracking_scores(faces, truth)
    assert s["recall"] >= 0.95, s
    assert s["purity"] >= 0.99, s
    assert s["n_persons_tracked"] == s["n_persons_truth"] == 6, s
    assert list(faces.columns) == ["frame", "t", "person", "x", "y", "w", "h", "score"]
    assert set(faces.person) == {f"S{i:02d}" for i in range(1, 7)}


def test_tracker_revives_a_returning_face():
    rng = np.random.default_rng(0)
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[20:60, 20:60] = (0, 0, 200)  # red "person"
    frame[20:60, 120:160] = (200, 0, 0)  # blue "person"
    tr = FaceTracker()
    ids = []
    for k in range(30):
        dets = [Detection(120, 20, 40, 40, 0.9)]
        if not 10 <= k < 20:  # the red person is away for 10 frames
            dets.append(Detection(20 + rng.normal(0, 1), 20, 40, 40, 0.9))
        ids.append({round(d.x) // 100: tid for tid, d in tr.update(frame, dets, k * 0.2)})
    names = tr.finish()
    left = {names[i[0]] for i in ids if 0 in i}
    assert len(left) == 1 and len(set(names.values())) == 2


class _CountingDetector:
    """A stand-in full detector: the given boxes on every call, counting calls (a real detector is
    exercised by the lesson tests; this isolates the keyframe logic on real pixels)."""

    grid_ = 1

    def __init__(self, boxes):
        self.boxes, self.calls = boxes, 0

    def detect(self, frame):
        self.calls += 1
        return [Detection(*b, 0.9) for b in self.boxes]

    def close(self):
        pass


def _textured(rng, h=40, w=40):
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_keyframe_detector_follows_a_moving_face_and_drops_a_vanished_one():
    from emolab.errors import EmolabError
    from emolab.preprocessing.detection import KeyframeDetector

    rng = np.random.default_rng(0)
    face_a, face_b = _textured(rng), _textured(rng)
    inner = _CountingDetector([(20, 30, 40, 40), (150, 30, 40, 40)])
    kd = KeyframeDetector(inner, every=5, template_px=64)
    for k in range(5):
        frame = np.full((120, 240, 3), 90, np.uint8)
        frame[30:70, 20 + 3 * k:60 + 3 * k] = face_a  # a moves 3 px right per frame
        if k < 2:
            frame[30:70, 150:190] = face_b  # b vanishes after frame 1
        dets = kd.detect(frame)
        if k == 0:
            assert len(dets) == 2
        else:
            xs = sorted(d.x for d in dets)
            assert abs(xs[0] - (20 + 3 * k)) <= 1  # followed to its new place
            assert len(dets) == (2 if k < 2 else 1)
    assert inner.calls == 1  # one keyframe in five frames
    kd.detect(np.full((120, 240, 3), 90, np.uint8))
    assert inner.calls == 2  # the sixth frame is a keyframe again
    with pytest.raises(EmolabError, match="keyframe"):
        KeyframeDetector(inner, every=0)
    from emolab.preprocessing.detection import keyframe_step

    assert keyframe_step(5.0, 1.0) == 5 and keyframe_step(1.0, 1.0) == 1 and keyframe_step(10.0, 0) == 1 and keyframe_step(2.5, 2.0) == 5


@pytest.mark.parametrize("side", [30, 70, 110])
def test_faces_are_followed_at_whole_shrink_factors(side):
    """A face 30, 70 or 110 px high is matched shrunk 1, 2 or 3 times (block averages) and followed to the pixel
    within the factor; colour of a :class:`Frame` is made on the keyframe only."""
    import cv2

    from emolab.preprocessing.detection import KeyframeDetector, _shrink_factor
    from emolab.preprocessing.video import Frame

    assert _shrink_factor(side, 32) == {30: 1, 70: 2, 110: 3}[side]
    rng = np.random.default_rng(side)
    face = cv2.GaussianBlur(_textured(rng, side, side), (5, 5), 0)  # texture a block average keeps
    inner = _CountingDetector([(40, 40, side, side)])
    kd = KeyframeDetector(inner, every=4)
    made = []
    for k in range(4):
        img = np.full((side + 120, side + 160, 3), 90, np.uint8)
        img[40 + 2 * k:40 + 2 * k + side, 40 + 5 * k:40 + 5 * k + side] = face
        frame = Frame(make_bgr=lambda img=img: made.append(1) or img, make_luma=lambda img=img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY),
                      size=img.shape[:2])
        dets = kd.detect(frame)
        assert len(dets) == 1
        assert abs(dets[0].x - (40 + 5 * k)) < _shrink_factor(side, 32) and abs(dets[0].y - (40 + 2 * k)) < _shrink_factor(side, 32)
    assert inner.calls == 1 and len(made) == 1  # colour made for the keyframe's detector only


@pytest.mark.parametrize("side", [30, 70, 110])
def test_the_inner_window_first_finds_what_the_whole_window_finds(side):
    """Following searches the inner half of the window first, on the same pixel blocks: a face that stays near its
    place is found there; one that moved up to the window's edge is found in the whole window, at the same place a
    search of the whole window alone gives; one that left the window is lost."""
    import cv2

    from emolab.preprocessing.detection import KeyframeDetector, _shrink, _shrink_factor

    f = _shrink_factor(side, 32)
    rng = np.random.default_rng(side + 1)
    face = cv2.GaussianBlur(_textured(rng, side, side), (5, 5), 0)
    H, W = 3 * side + 80, 3 * side + 80
    x0 = y0 = side + 40
    sizes = []
    real = cv2.matchTemplate
    for dx, dy in [(0, 0), (0.1, -0.05), (-0.2, 0.15), (0.4, 0.0), (0.3, -0.45), (0.7, 0.0)]:
        kd = KeyframeDetector(_CountingDetector([(x0, y0, side, side)]), every=10)
        img = np.full((H, W, 3), 90, np.uint8)
        img[y0:y0 + side, x0:x0 + side] = face
        kd.detect(img)  # keyframe: the template
        det, tmpl, fac = kd._faces[0]
        moved = np.full((H, W, 3), 90, np.uint8)
        mx, my = x0 + int(dx * side), y0 + int(dy * side)
        moved[my:my + side, mx:mx + side] = face
        gray = cv2.cvtColor(moved, cv2.COLOR_BGR2GRAY)
        sizes.clear()
        cv2.matchTemplate = lambda w, t, m: sizes.append(w.shape) or real(w, t, m)
        try:
            got = kd._follow(moved, det, tmpl, fac, gray)
        finally:
            cv2.matchTemplate = real
        m = kd.search * det.w  # the whole window alone
        wx0, wy0 = int(max(0, det.x - m)), int(max(0, det.y - m))
        window = _shrink(gray[wy0:int(min(H, det.y + det.h + m)), wx0:int(min(W, det.x + det.w + m))], fac)
        res = real(window, tmpl, cv2.TM_CCOEFF_NORMED)
        _, best, _, loc = cv2.minMaxLoc(res)
        if max(abs(dx), abs(dy)) > 0.5:
            assert got is None and best < kd.min_match
            continue
        assert got is not None and (got.x, got.y) == (wx0 + loc[0] * f, wy0 + loc[1] * f)
        assert abs(got.x - mx) < f and abs(got.y - my) < f
        assert len(sizes) == (1 if max(abs(dx), abs(dy)) < 0.25 else 2)  # the whole window only when needed


def test_keyframe_tracking_keeps_the_tracking_targets(tiny_lesson):
    """Full detection on 1 sampled frame in 5 finds (almost) every face the per-frame detector finds."""
    truth = pd.read_csv(tiny_lesson / "truth.csv")
    every = track_faces(str(tiny_lesson / "lesson.mp4"), sample_fps=10.0, keyframe_interval=0)
    key = track_faces(str(tiny_lesson / "lesson.mp4"), sample_fps=10.0, keyframe_interval=0.5)
    s1, s5 = tracking_scores(every, truth), tracking_scores(key, truth)
    assert s5["purity"] >= 0.99 and s5["recall"] >= s1["recall"] - 0.03, (s1, s5)
    assert s5["n_persons_tracked"] == s1["n_persons_tracked"] == truth["person"].nunique()


def test_prefetch_keeps_order_reraises_and_stops_early(tiny_lesson):
    from emolab.preprocessing.video import prefetch

    def gen():
        yield from range(5)
        raise MediaError("cut short")

    seen = []
    with pytest.raises(MediaError, match="cut short"):
        for x in prefetch(gen(), depth=2):
            seen.append(x)
    assert seen == [0, 1, 2, 3, 4]
    for x in prefetch(iter(range(10_000)), depth=2):
        if x == 3:
            break  # the thread stops instead of decoding the rest
    plain = [(i, t) for i, t, _ in iter_frames(tiny_lesson / "lesson.mp4", 5.0)]
    ahead = [(i, t) for i, t, _ in prefetch(iter_frames(tiny_lesson / "lesson.mp4", 5.0))]
    assert ahead == plain


def test_keyframe_stream_looks_ahead_with_the_same_results(tiny_lesson):
    """Keyframe detections run ahead in a worker thread give exactly the detections of frame-by-frame calls."""
    from emolab.preprocessing.detection import KeyframeDetector

    frames = list(iter_frames(tiny_lesson / "lesson.mp4", 10.0))
    with KeyframeDetector(every=3) as kd:
        plain = [kd.detect(f) for _, _, f in frames]
    with KeyframeDetector(every=3) as kd:
        out = list(kd.stream(iter(frames)))
        assert kd._pool is None  # the worker is gone once the stream ends
    assert [item[0] for item, _ in out] == [i for i, _, _ in frames]  # in order, none lost
    assert [[d.box for d in dets] for _, dets in out] == [[d.box for d in dets] for dets in plain]
    with KeyframeDetector(every=3) as kd:  # templates matched in a gray frame given along: the same boxes
        import cv2

        grayed = [(i, t, f, cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)) for i, t, f in frames]
        assert [[d.box for d in dets] for _, dets in kd.stream(iter(grayed), gray=True)] == [[d.box for d in dets] for dets in plain]
    assert any(d.followed for dets in plain for d in dets) and not all(d.followed for d in plain[0])
    with KeyframeDetector(every=3) as kd:  # stopping early shuts the worker down
        for k, _ in enumerate(kd.stream(iter(frames))):
            if k == 7:
                break
        assert kd.detect(frames[0][2]) is not None


def test_decoder_threads_do_not_change_frames(tiny_lesson):
    one = [(i, t, f.sum()) for i, t, f in iter_frames(tiny_lesson / "lesson.mp4", 5.0, threads=1)]
    auto = [(i, t, f.sum()) for i, t, f in iter_frames(tiny_lesson / "lesson.mp4", 5.0)]
    assert one == auto and len(one) >= 19


def test_tracker_skips_appearance_of_followed_faces(monkeypatch):
    """A face carried over by template matching keeps its track without a new appearance signature."""
    import emolab.preprocessing.tracking as T

    calls = []
    real = T.appearance_signature
    monkeypatch.setattr(T, "appearance_signature", lambda frame, box: calls.append(box) or real(frame, box))
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (120, 240, 3), dtype=np.uint8)
    tr = FaceTracker()
    first = tr.update(frame, [Detection(20, 30, 40, 40, 0.9), Detection(150, 30, 40, 40, 0.9)], 0.0)
    assert len(calls) == 2
    second = tr.update(frame, [Detection(22, 30, 40, 40, 0.9, followed=True), Detection(151, 31, 40, 40, 0.9, followed=True)], 0.2)
    assert len(calls) == 2  # no signature measured for followed faces
    assert [tid for tid, _ in second] == [tid for tid, _ in first]
    third = tr.update(frame, [Detection(100, 70, 40, 40, 0.9, followed=True)], 0.4)  # a "followed" face nobody had: a new track
    assert len(calls) == 3 and third[0][0] not in {tid for tid, _ in first}
