"""Sampled decoding that skips the H.264 frames nobody needs gives OpenCV's frames, pixel for pixel."""

from fractions import Fraction

import numpy as np
import pytest

import emolab.preprocessing.video as video


def _encode(path, container_format=None, pix_fmt="yuv420p", start_pts=0, vfr=False, rotation=None, n=45, options=None):
    """A small H.264 video with moving content and B-frames (libx264's defaults), written with PyAV."""
    import av

    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
    with av.open(str(path), "w", format=container_format) as c:
        s = c.add_stream("libx264", rate=15, options={"bf": "3", **(options or {})})
        s.width, s.height, s.pix_fmt = 96, 72, pix_fmt
        s.codec_context.time_base = Fraction(1, 15000)
        if rotation is not None:
            s.set_display_rotation(rotation)
        pts = start_pts
        for i in range(n):
            img = np.roll(base, 3 * i, axis=1)
            img[10:30, (2 * i) % 80:(2 * i) % 80 + 16] = (i * 5) % 255
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=pix_fmt)
            f.pts, f.time_base = pts, Fraction(1, 15000)
            pts += 1000 if not vfr else int(rng.choice([500, 1000, 2500]))
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def _both(path, sample_fps, monkeypatch, **kw):
    """(skipping decoder's frames, OpenCV's frames, whether the skipping decoder was used)."""
    used = []
    real = video._skipping_decoder

    def spy(*a):
        out = real(*a)
        used.append(out is not None)
        return out

    monkeypatch.setattr(video, "_skipping_decoder", spy)
    skipping = list(video.iter_frames(path, sample_fps, threads=1, **kw))
    monkeypatch.setattr(video, "_skipping_decoder", lambda *a: None)
    opencv = list(video.iter_frames(path, sample_fps, threads=1, **kw))
    monkeypatch.setattr(video, "_skipping_decoder", real)
    return skipping, opencv, bool(used and used[0])


def _same(a, b):
    return len(a) == len(b) and all(x[0] == y[0] and x[1] == y[1] and np.array_equal(x[2], y[2]) for x, y in zip(a, b))


@pytest.mark.parametrize("kind", ["mp4", "mkv", "mpeg_ts", "full_range", "bt709_tagged", "late_start", "variable_rate"])
def test_skipping_decoder_gives_opencvs_frames(tmp_path, monkeypatch, kind):
    path = {
        "mp4": lambda: _encode(tmp_path / "a.mp4"),
        "mkv": lambda: _encode(tmp_path / "a.mkv"),
        "mpeg_ts": lambda: _encode(tmp_path / "a.mts", container_format="mpegts"),  # camcorders (AVCHD)
        "full_range": lambda: _encode(tmp_path / "j.mp4", pix_fmt="yuvj420p"),
        # colour tags OpenCV ignores (it converts as BT.601); so must the skipping decoder
        "bt709_tagged": lambda: _encode(tmp_path / "h.mp4", options={"x264-params": "colormatrix=bt709:colorprim=bt709:transfer=bt709"}),
        "late_start": lambda: _encode(tmp_path / "s.mp4", start_pts=37_000),
        "variable_rate": lambda: _encode(tmp_path / "v.mp4", vfr=True),
    }[kind]()
    for fps, kw in [(5.0, {}), (2.0, {}), (7.3, {}), (5.0, {"start": 0.5, "end": 2.1})]:
        skipping, opencv, used = _both(path, fps, monkeypatch, **kw)
        assert used, "an H.264 file with timestamps takes the skipping decoder"
        assert len(opencv) >= 3 and _same(skipping, opencv), (kind, fps, kw)


def test_the_test_video_has_frames_to_skip(tmp_path):
    """The videos above exercise the skipping: some of their frames are non-reference
    B-frames (a fifth of them here), most of them not kept, and the kept frames come out in order."""
    import av

    path = _encode(tmp_path / "a.mp4", n=60)
    assert [i for i, _, _ in video.iter_frames(path, 5.0, threads=1)] == list(range(0, 60, 3))
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.skip_frame = "NONREF"
        assert sum(1 for _ in c.decode(s)) <= 54  # 48 of 60 with libx264 7.x defaults


def test_opencv_decodes_what_the_skipping_decoder_cannot(tmp_path, monkeypatch):
    """Videos with a rotation in their metadata, other codecs and every-frame reading stay with OpenCV."""
    from .conftest import write_video

    rotated = _encode(tmp_path / "r.mp4", rotation=90)
    skipping, opencv, used = _both(rotated, 5.0, monkeypatch)
    assert not used and _same(skipping, opencv)
    mpeg4 = write_video(tmp_path / "m.mp4", frames=12, size=32)
    _, _, used = _both(mpeg4, 5.0, monkeypatch)
    assert not used
    everything, opencv, used = _both(_encode(tmp_path / "a.mp4"), None, monkeypatch)
    assert not used and len(everything) == 45


def test_rotated_phone_video_is_read_upright(tmp_path):
    """A portrait phone video is stored sideways with a rotation tag: frames, sizes and report frames come upright."""
    import av

    from emolab.timeline.frames import read_frame

    path = _encode(tmp_path / "portrait.mp4", rotation=90)
    with av.open(str(path)) as c:  # the stored (sideways) frames and the turn their tag asks for
        stored = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
        assert stored[0].shape[:2] == (72, 96)
    info = video.video_info(path)
    assert (info.width, info.height) == (72, 96)
    frames = list(video.iter_frames(path, 5.0, threads=1))
    assert frames[0][2].shape[:2] == (96, 72)
    turned = [np.rot90(stored[0], k) for k in (1, 3)]
    errors = [np.abs(frames[0][2].astype(int) - r).mean() for r in turned]
    assert min(errors) < 1.0 < max(errors)  # one of the quarter turns, not the other
    assert read_frame(path, 0.0).shape[:2] == (96, 72)


def test_a_portrait_recording_finds_the_same_people(tiny_lesson, tmp_path):
    """The tiny lesson stored sideways with a rotation tag (as a phone held upright stores it) gives the same people."""
    from fractions import Fraction

    import av

    from emolab.preprocessing.perception import Perception

    src = tiny_lesson / "lesson.mp4"
    portrait = tmp_path / "portrait.mp4"
    with av.open(str(portrait), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 180, 320, "yuv420p"
        s.set_display_rotation(90)  # shown turned a quarter counter-clockwise: upright again
        for k, (_, _, frame) in enumerate(video.iter_frames(src, None)):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(frame, -1)), format="bgr24")
            f.pts, f.time_base = k, Fraction(1, 10)
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)

    def people(path):
        p = Perception(path, keyframe_interval=0.4)
        for _ in p:
            pass
        return p.sightings()

    upright, turned = people(src), people(portrait)
    assert upright["person"].nunique() >= 3
    assert turned["person"].nunique() == upright["person"].nunique()
    assert abs(len(turned) - len(upright)) <= 0.1 * len(upright)


@pytest.mark.realdata
def test_skipping_decoder_on_real_classroom_clips(shared_data, monkeypatch):
    """The real clips (one tagged BT.709) give OpenCV's frames, pixel for pixel, through the skipping decoder."""
    clips = sorted((shared_data / "real_video" / "classroom").glob("*.mp4"))
    assert len(clips) >= 2, "the real classroom clips are in ../shared/data/real_video/classroom"
    for clip in clips:
        skipping, opencv, used = _both(clip, 5.0, monkeypatch, end=6.0)
        assert used and len(skipping) >= 25 and _same(skipping, opencv), clip.name


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuvj420p"])
def test_decoded_frames_make_colour_only_when_asked(tmp_path, monkeypatch, pix_fmt):
    """``iter_decoded`` gives ``iter_frames``' frames: colour made on first use (the same pixels), gray mapped from
    the decoder's luma plane within 3 levels of converting that colour for 99 % of pixels (more only where a saturated colour clips
    R, G or B), at ``max_side`` too."""
    import cv2

    path = _encode(tmp_path / "a.mp4", pix_fmt=pix_fmt)
    made = []
    for max_side in (None, 64):
        frames = list(video.iter_decoded(path, 5.0, threads=1, max_side=max_side))
        arrays = list(video.iter_frames(path, 5.0, threads=1, max_side=max_side))
        assert len(frames) == len(arrays) >= 3
        assert all(f._bgr is None for _, _, f in frames)  # nothing converted yet
        for (i, t, f), (j, u, a) in zip(frames, arrays):
            assert (i, t) == (j, u) and f.shape == a.shape
            gray = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
            diff = np.abs(f.gray.astype(int) - gray)
            assert f._bgr is None  # gray did not need colour
            assert np.array_equal(video.luma_to_gray(f.luma, f.lut), f.gray)
            if f.lut is not None:  # OpenCV's table lookup: numpy's indexing, on a frame, a view and a stack of crops
                stack = np.stack([f.luma[:8, :8], f.luma[-8:, -8:]])
                for x in (f.luma, f.luma[1::2, 3:], stack, stack[:0]):
                    assert np.array_equal(video.luma_to_gray(x, f.lut), f.lut[x])
            assert (f.lut is None) == (pix_fmt == "yuvj420p")  # limited-range luma is mapped, full-range is gray
            assert np.percentile(diff, 99) <= 3 and diff.mean() < 1.5, (max_side, diff.max(), diff.mean())
            assert np.array_equal(f.bgr, a)
            made.append(video.bgr_of(f) is f.bgr)  # made once, then kept
    assert all(made)


def test_frames_opencv_decodes_carry_their_colour(tmp_path, monkeypatch):
    """Where OpenCV decodes (here: every frame), a Frame holds its BGR image and converts gray from it."""
    import cv2

    path = _encode(tmp_path / "a.mp4")
    (i, t, f), (_, _, a) = next(video.iter_decoded(path, None)), next(video.iter_frames(path, None))
    assert f._bgr is not None and np.array_equal(f.bgr, a)
    assert np.array_equal(f.gray, cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)) and f.luma is f.gray and f.lut is None
    with pytest.raises(ValueError):
        video.Frame()
