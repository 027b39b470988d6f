"""Streaming video frames: never the whole video in memory.

:func:`open_video` opens a video with OpenCV (upright); :func:`video_info` reads its properties;
:func:`iter_frames` yields frames at a chosen sampling rate, decoding sequentially (one frame in memory at a time), with each frame's
timestamp taken from the container (so variable-frame-rate recordings get true times).

Bad input — a missing, empty, truncated or non-video file, or one with no frames — raises
:class:`~emolab.errors.MediaError` naming the file. A video that ends early (truncated) stops
the iteration where decoding fails, and :func:`iter_frames` warns how far it got.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import MediaError


@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    n_frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        """Seconds (from the frame count and nominal rate)."""
        return self.n_frames / self.fps if self.fps > 0 else 0.0


def open_video(path: str | os.PathLike, threads: int | None = None):
    """An OpenCV capture of ``path`` (``threads`` FFmpeg decoder threads), frames turned upright by the file's
    rotation tag (phones store portrait video sideways). The one place videos are opened with OpenCV.

    Raises
    ------
    MediaError
        The file is missing, empty, or not a video OpenCV can open.
    """
    import cv2

    p = Path(path)
    if not p.is_file():
        raise MediaError("video file not found", path=p)
    if p.stat().st_size == 0:
        raise MediaError("the file is empty (0 bytes)", path=p)
    cap = None
    if threads:
        cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, int(threads)])
    if cap is None or not cap.isOpened():
        cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise MediaError("cannot open as a video (not a video file, or an unsupported/corrupt container)", path=p)
    # phones store portrait video sideways with a rotation tag: frames are turned upright (faces sideways go unseen)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Frame rate, frame count and size of a video."""
    import cv2

    cap = open_video(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if w <= 0 or h <= 0:
        raise MediaError("the video has no readable frames", path=path)
    if not (0 < fps < 1000):
        fps = 25.0
    return VideoInfo(str(path), fps, n, w, h)


def iter_frames(path: str | os.PathLike, sample_fps: float | None = 5.0, start: float = 0.0, end: float | None = None,
                max_side: int | None = None, threads: int | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(index, t, frame)`` at about ``sample_fps`` frames per second.

    Parameters
    ----------
    path : path
        Any container OpenCV's FFmpeg backend reads (mp4, avi, mkv, mov, webm, ...).
    sample_fps : float or None
        Frames per second to yield; None yields every frame.
    start, end : float, seconds
        Time range.
    max_side : int, optional
        Downscale frames whose longer side exceeds this (4K input at HD cost).
    threads : int, optional
        Decoder threads (FFmpeg; default: its own choice, one per core). 1 spends the least CPU per frame
        (measured: 720p H.264, 5.4 CPU-s single-threaded vs 6.9 with 2 threads for 3 minutes): the choice
        when decoding runs beside other work, as in :func:`~emolab.preprocessing.tracking.iter_tracked`.
        With 1 and a ``sample_fps``, an H.264 video's non-reference frames that are not kept are never decoded
        (the same frames, pixel for pixel, for a quarter fewer instructions at 5 of 15 frames per second).

    Yields
    ------
    index : int
        Position of the frame in the video (0-based).
    t : float
        Its timestamp in seconds.
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8]
        BGR.

    See Also
    --------
    iter_decoded : the same frames as :class:`Frame` objects, whose colour is converted only when asked for.
    """
    for index, t, frame in iter_decoded(path, sample_fps, start, end, max_side, threads):
        yield index, t, frame.bgr


def iter_decoded(path: str | os.PathLike, sample_fps: float | None = 5.0, start: float = 0.0, end: float | None = None,
                 max_side: int | None = None, threads: int | None = None) -> Iterator[tuple[int, float, "Frame"]]:
    """:func:`iter_frames`, yielding each frame as a :class:`Frame`: its BGR image is made only when first asked
    for (the same pixels :func:`iter_frames` yields); its luma is the decoder's own plane where it gives one
    (H.264 in 8-bit YUV, decoded with ``threads=1`` and a ``sample_fps``), else the gray image.

    Converting a decoded 720p picture to BGR costs about half as much as decoding it (memory traffic); a lesson
    analysis needs colour only on its keyframes, so the other frames never pay for it.
    """
    import cv2

    cap = open_video(path, threads)
    info_fps = float(cap.get(cv2.CAP_PROP_FPS) or 25.0)
    nominal = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    if not (0 < info_fps < 1000):
        info_fps = 25.0
    sampler = _Sampler(sample_fps, start, end)
    frames = None
    if sample_fps and threads == 1 and not cap.get(cv2.CAP_PROP_ORIENTATION_META):
        frames = _skipping_decoder(path, sampler, info_fps, max_side)
    if frames is not None:
        cap.release()
    else:
        frames = ((i, t, Frame(bgr=_fit(f, max_side))) for i, t, f in _opencv_decoder(cap, sampler, info_fps))
    yielded = 0
    for index, t, frame in frames:
        yielded += 1
        yield index, t, frame
    index = sampler.index
    if yielded == 0:
        raise MediaError("the video has no decodable frames (empty, truncated or corrupt)", path=path)
    if end is None and nominal > 0 and index + 1 < 0.9 * nominal:
        warnings.warn(f"{path}: decoding stopped at frame {index + 1} of {nominal}; the file may be truncated", stacklevel=2)


def _fitted(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """``(height, width)`` scaled down so that the longer side is at most ``max_side``."""
    if max_side and max(height, width) > max_side:
        s = max_side / max(height, width)
        return int(height * s), int(width * s)
    return height, width


def _fit(img: np.ndarray, max_side: int | None) -> np.ndarray:
    """``img`` downscaled (area) so that its longer side is at most ``max_side``."""
    import cv2

    h, w = _fitted(*img.shape[:2], max_side)
    return img if (h, w) == img.shape[:2] else cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


class Frame:
    """One decoded video frame; each of its images is made when first asked for, then kept.

    Parameters
    ----------
    bgr : np.ndarray [shape=(H, W, 3), dtype=uint8], optional
        The colour image, when already made.
    make_bgr : callable, optional
        Makes the colour image [H, W, 3] uint8.
    make_luma : callable, optional
        Makes the picture's luma [H, W] uint8 (the decoder's own plane, nothing converted). Without it, ``luma`` is
        ``gray``, converted from BGR.
    lut : np.ndarray [shape=(256,), dtype=uint8], optional
        Maps luma to full-range gray (None: the luma is the gray image).
    size : (int, int), optional
        ``(H, W)``, when ``bgr`` is not given.
    lock : threading.Lock, optional
        Held while the colour image is made (a converter shared by the frames of one video).

    Attributes
    ----------
    bgr : np.ndarray [shape=(H, W, 3), dtype=uint8]
    gray : np.ndarray [shape=(H, W), dtype=uint8]
        Full-range grayscale: BGR2GRAY of ``bgr``, or ``lut`` of the luma (within a level or two of it).
    luma : np.ndarray [shape=(H, W), dtype=uint8]
        ``gray`` before ``lut``: what needs gray only up to a monotone map (normalised template matching) reads it
        as it is, and small crops cut from it are mapped with :func:`luma_to_gray`.
    lut : np.ndarray [shape=(256,), dtype=uint8] or None
    shape : (H, W, 3)
    """

    __slots__ = ("_bgr", "_gray", "_luma", "_make_bgr", "_make_luma", "_lock", "lut", "shape")

    def __init__(self, bgr: np.ndarray | None = None, make_bgr=None, make_luma=None, lut: np.ndarray | None = None,
                 size: tuple[int, int] | None = None, lock=None):
        if bgr is None and (make_bgr is None or size is None):
            raise ValueError("a Frame needs its BGR image, or a way to make it and its size")
        self._bgr, self._gray, self._luma = bgr, None, None
        self._make_bgr, self._make_luma = make_bgr, make_luma
        self.lut = lut if make_luma is not None else None
        self._lock = lock or threading.Lock()
        self.shape = (*(bgr.shape[:2] if bgr is not None else size), 3)

    @property
    def bgr(self) -> np.ndarray:
        if self._bgr is None:
            with self._lock:
                if self._bgr is None:
                    self._bgr, self._make_bgr = self._make_bgr(), None
        return self._bgr

    @property
    def luma(self) -> np.ndarray:
        if self._make_luma is None and self._luma is None:
            return self.gray
        if self._luma is None:
            self._luma, self._make_luma = self._make_luma(), None
        return self._luma

    @property
    def gray(self) -> np.ndarray:
        if self._gray is None:
            if self._make_luma is None and self._luma is None:
                import cv2

                self._gray = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)
            else:
                self._gray = luma_to_gray(self.luma, self.lut)
        return self._gray


def luma_to_gray(luma: np.ndarray, lut: np.ndarray | None) -> np.ndarray:
    """Full-range gray from luma (any shape, uint8) through a :class:`Frame`'s ``lut`` (None: unchanged)."""
    if lut is None:
        return luma
    import cv2

    a = np.ascontiguousarray(luma)
    if a.ndim < 2 or not a.size:
        return lut[a]
    return cv2.LUT(a.reshape(-1, a.shape[-1]), lut).reshape(a.shape)  # lut[luma], 5-10x faster on a stack of crops


def bgr_of(frame: "np.ndarray | Frame") -> np.ndarray:
    """The BGR image [H, W, 3] uint8 of a :class:`Frame`, or ``frame`` itself when it is an array already."""
    return frame.bgr if isinstance(frame, Frame) else frame


class _Sampler:
    """Which frames, in presentation order, a sampled stream keeps: the decision for each frame from its time alone
    (the frames before it decided), so that it can be made before decoding."""

    def __init__(self, sample_fps: float | None, start: float, end: float | None):
        self.period = 0.0 if not sample_fps else 1.0 / float(sample_fps)
        self.start, self.end = start, end
        self.next_t, self.last_t, self.index = start, -1.0, -1

    def time(self, t: float, fps: float) -> float:
        """The frame's time: the container's, or index / fps where the container gives none (or none that increases)."""
        self.index += 1
        if t <= self.last_t or (t == 0 and self.index > 0):
            t = self.index / fps
        self.last_t = t
        return t

    def keep(self, t: float) -> bool | None:
        """True: yield the frame at time ``t``; False: skip it; None: past ``end``, stop."""
        if t < self.start - 1e-6:
            return False
        if self.end is not None and t > self.end:
            return None
        if self.period and t + 1e-6 < self.next_t:
            return False
        if self.period:
            self.next_t = max(self.next_t + self.period, t + self.period * 0.5)
        return True


def _opencv_decoder(cap, sampler: _Sampler, fps: float) -> Iterator[tuple[int, float, np.ndarray]]:
    """Every frame decoded by OpenCV; the kept ones converted to BGR."""
    import cv2

    try:
        while cap.grab():
            keep = sampler.keep(sampler.time(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, fps))
            if keep is None:
                break
            if not keep:
                continue
            ok, frame = cap.retrieve()
            if not ok or frame is None:
                break
            yield sampler.index, sampler.last_t, frame
    finally:
        cap.release()


def _skipping_decoder(path, sampler: _Sampler, fps: float, max_side: int | None = None):
    """The frames :func:`_opencv_decoder` yields, decoding only what they need: H.264 frames that no other frame
    refers to (non-reference pictures) are not decoded unless kept. With B-frames (most encoders' default) this
    spares a third of the decoding at 5 of 15 frames per second; a stream without them decodes every frame as before.

    One pass over the container's packets (no decoding; 0.35 s for 45 minutes of 720p) gives every frame's time
    first, so the kept frames are known before decoding. Frames are converted to BGR as OpenCV converts them (BT.601,
    limited range unless the pixel format says full, whatever the stream's colour tags say), so the frames are the
    same, pixel for pixel.

    Returns None (decode with OpenCV) where the stream is not H.264, or a packet lacks a timestamp.
    """
    try:
        import av
    except ImportError:  # pragma: no cover - av is a dependency
        return None
    try:
        container = av.open(str(path))
    except Exception:
        return None
    try:
        stream = container.streams.video[0] if container.streams.video else None
        if stream is None or stream.codec_context.name != "h264":
            raise LookupError
        pts = []
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.pts is None:
                raise LookupError
            pts.append(packet.pts)
        if not pts or len(set(pts)) != len(pts):
            raise LookupError
    except Exception:
        container.close()
        return None
    container.close()
    base = stream.start_time if stream.start_time is not None else 0
    tb = float(stream.time_base)
    wanted: dict[int, tuple[int, float]] = {}
    for p in sorted(pts):
        t = sampler.time((p - base) * tb * 1000.0 / 1000.0, fps)  # OpenCV's arithmetic (via milliseconds), to the last bit
        keep = sampler.keep(t)
        if keep is None:
            break
        if keep:
            wanted[p] = (sampler.index, t)
    return _skip_decode(path, wanted, max_side)


# full-range gray from limited-range (MPEG) luma: exactly what BGR2GRAY gives of swscale's BT.601 conversion of a
# grey pixel, and within a level or two for coloured ones (the chroma terms of 0.299 R + 0.587 G + 0.114 B cancel to
# 1e-4; rounding, and clipping of saturated colours, make the rest); full-range (JPEG) luma is gray as it is
_MPEG_LUMA = np.clip(np.round((np.arange(256) - 16) * 255.0 / 219.0), 0, 255).astype(np.uint8)
_LUMA_FORMATS = {"yuv420p": _MPEG_LUMA, "yuv422p": _MPEG_LUMA, "yuv444p": _MPEG_LUMA,
                 "yuvj420p": None, "yuvj422p": None, "yuvj444p": None}


def _skip_decode(path, wanted: dict, max_side: int | None = None) -> Iterator[tuple[int, float, "Frame"]]:
    import av
    from av.video.reformatter import VideoReformatter

    container = av.open(str(path))
    try:
        stream = container.streams.video[0]
        stream.thread_count = 1
        ctx = stream.codec_context
        # OpenCV's conversion ignores the stream's colour tags: BT.601, limited range unless the pixel format is
        # full-range (yuvj). The same tags on each frame give the same pixels, through swscale's fast path, with one
        # converter for the whole video (a new one per frame costs more than the conversion), used under one lock.
        color_range = 2 if (ctx.pix_fmt or "").startswith("yuvj") else 1
        reformatter = VideoReformatter()
        lock = threading.Lock()

        def make_bgr(picture):
            return lambda: _fit(reformatter.reformat(picture, format="bgr24").to_ndarray(), max_side)

        def make_luma(picture):
            def luma():  # a view of the decoder's plane (it keeps the picture alive); resized when over max_side
                plane = picture.planes[0]
                return _fit(np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: picture.height, : picture.width], max_side)
            return luma

        left = len(wanted)
        for packet in container.demux(stream):
            if left == 0:
                break
            ctx.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in wanted else "NONREF"
            try:
                decoded = ctx.decode(packet)
            except av.error.FFmpegError:  # a corrupt packet: skipped, as OpenCV skips it
                continue
            for picture in decoded:
                hit = wanted.get(picture.pts)
                if hit is None:
                    continue
                left -= 1
                picture.colorspace, picture.color_range = 2, color_range  # unspecified (BT.601); MPEG or JPEG range
                fmt = picture.format.name
                luma = make_luma(picture) if fmt in _LUMA_FORMATS else None
                yield hit[0], hit[1], Frame(make_bgr=make_bgr(picture), make_luma=luma, lut=_LUMA_FORMATS.get(fmt),
                                            size=_fitted(picture.height, picture.width, max_side), lock=lock)
    finally:
        container.close()
    if left:
        warnings.warn(f"{path}: {left} of {len(wanted)} sampled frames could not be decoded and were left out", stacklevel=3)


def prefetch(iterable, depth: int = 4):
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead (decoding overlaps the work
    done on each frame; OpenCV releases the GIL while it decodes). Exceptions are re-raised here, in
    order; stopping early (``break``, an error downstream) stops the thread.
    """
    import queue

    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def work():
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, done))
        except BaseException as exc:  # handed to the consumer
            q.put((False, exc))

    thread = threading.Thread(target=work, name="emolab-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)
