"""Face detection: every face that is there, including small distant ones in a classroom, and nothing else.

:class:`FaceDetector` runs OpenCV Zoo's YuNet by default (``model="yunet"``, MIT licence, shipped in
``emolab/pretrained/face_detection_yunet.onnx``, run by OpenCV's ``FaceDetectorYN``, no download) on the
whole frame. YuNet finds faces of ~10-300 px (upstream's range; here a 14-px face is found, an 8-px one
not); frames whose faces are all large are downscaled for speed,
and ``tiles=n`` adds magnified tiles for faces under ~10 px. mediapipe's BlazeFace (``"full"`` /
``"short"``, run on the whole frame plus overlapping tiles sized to the faces) and OpenCV's Haar cascade
remain available. On 11 hand-annotated keyframes of real classroom clips YuNet finds 89 % of visible
faces at 97 % precision where tiled BlazeFace finds 63 % at 94 % (``docs/tracking.md``,
``benchmarks/RESULTS.md``).

Boxes are merged by :func:`nms`, which also removes a box lying mostly inside another (a second box on
part of a face); YuNet's boxes must also pass :func:`plausible_face` (eyes above the mouth, nose between,
landmarks near the box) and keep their 5 landmarks (``Detection.landmarks``). Detections are a tidy list of :class:`Detection` (pixels, top-left origin).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import cv2
import numpy as np

from ..errors import EmolabError
from .video import Frame, bgr_of

YUNET_MODEL = Path(__file__).resolve().parents[1] / "pretrained" / "face_detection_yunet.onnx"
YUNET_SCORE = 0.6
"""Default YuNet score threshold, chosen on the precision/recall curve measured on the annotated real keyframes
(``benchmarks/RESULTS.md``): 0.5 keeps 3.8 points more recall (none of it on readable faces) but lets in 2.4x the
false faces."""
NESTED = 0.6
"""A box whose intersection with a higher-scoring box covers this share of its own (the smaller) area is a duplicate."""


@dataclass
class Detection:
    x: float
    y: float
    w: float
    h: float
    score: float
    eyes: Optional[tuple[float, float, float, float]] = None  # (right x, right y, left x, left y) in pixels, when known
    followed: bool = False  # True: carried from the previous frame by template matching (not a detector's finding)
    # [5, 2] pixels (x, y): right eye, left eye, nose tip, right and left mouth corner (the subject's right and left);
    # YuNet gives them, mediapipe and Haar do not (None)
    landmarks: Optional[np.ndarray] = None

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)

    def shifted(self, dx: float, dy: float, **changes) -> "Detection":
        """This detection moved by ``(dx, dy)`` pixels, eyes and landmarks with it (``changes``: other fields to set)."""
        eyes = None if self.eyes is None else (self.eyes[0] + dx, self.eyes[1] + dy, self.eyes[2] + dx, self.eyes[3] + dy)
        landmarks = None if self.landmarks is None else self.landmarks + np.array([dx, dy], np.float32)
        fields = dict(x=self.x + dx, y=self.y + dy, w=self.w, h=self.h, score=self.score, eyes=eyes, followed=self.followed,
                      landmarks=landmarks)
        fields.update(changes)
        return Detection(**fields)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes ``a`` [n, 4] and ``b`` [m, 4] (x, y, w, h) -> [n, m]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a, b = np.asarray(a, float), np.asarray(b, float)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y2 = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def overlap_of_smaller(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection of two ``(x, y, w, h)`` boxes over the area of the smaller one (1: one lies inside the other)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def nms(dets: list[Detection], threshold: float = 0.3, nested: float | None = NESTED) -> list[Detection]:
    """Keep the highest-scoring box of every group of duplicates.

    A box is a duplicate of a higher-scoring one when their IoU exceeds ``threshold`` or, with ``nested``, when
    their intersection covers at least ``nested`` of the smaller box's area (a small box on part of a face, or a
    large box around a small one, which IoU alone lets through). ``nested=None`` turns that second test off.
    """
    keep: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if all(iou(d.box, k.box) < threshold and (nested is None or overlap_of_smaller(d.box, k.box) < nested)
               for k in keep):
            keep.append(d)
    return keep


def plausible_face(d: Detection) -> bool:
    """Whether a detection's landmarks are shaped like a face (True when it has none to check).

    Checked: both eyes above both mouth corners, the nose between the eye line and the mouth line (with a
    margin of a tenth of the face height), the eyes at most 0.8 box widths apart, every landmark inside the box
    widened by a quarter. Upright and tilted faces, profiles (eyes 0.11-0.15 box widths apart on the annotated
    real keyframes) and faces looking down pass. A guard against boxes whose "landmarks" lie anywhere: on the
    annotated real keyframes YuNet's landmarks are face-shaped even on the back of a head, so this removes
    none of its false faces there (the score threshold does that work).
    """
    if d.landmarks is None:
        return True
    p = np.asarray(d.landmarks, float)
    (rex, rey), (lex, ley), (nx, ny), (rmx, rmy), (lmx, lmy) = p
    eye_y, mouth_y = (rey + ley) / 2, (rmy + lmy) / 2
    margin = 0.1 * d.h
    eye_dist = float(np.hypot(lex - rex, ley - rey))
    inside = ((p[:, 0] >= d.x - 0.25 * d.w) & (p[:, 0] <= d.x + 1.25 * d.w)
              & (p[:, 1] >= d.y - 0.25 * d.h) & (p[:, 1] <= d.y + 1.25 * d.h)).all()
    return bool(max(rey, ley) < min(rmy, lmy) and eye_y - margin <= ny <= mouth_y + margin
                and eye_dist <= 0.8 * d.w and inside)


def tile_grid(height: int, width: int, n: int) -> list[tuple[int, int, int, int]]:
    """``n`` x ``n`` tiles ``(x, y, w, h)`` covering the frame with 50 % overlap."""
    if n < 2:
        return []
    th, tw = int(2 * height / (n + 1)), int(2 * width / (n + 1))
    return [(int(i * tw / 2), int(j * th / 2), tw, th) for j in range(n) for i in range(n)]


class FaceDetector:
    """Detect faces in BGR frames.

    Parameters
    ----------
    model : {"yunet", "full", "short", "haar"}
        OpenCV Zoo's YuNet (default; shipped, 5 landmarks per face), mediapipe's full-range (faces up to
        ~5 m) or short-range BlazeFace, or OpenCV's Haar cascade. Without mediapipe, ``"full"`` and
        ``"short"`` fall back to Haar.
    tiles : int or "auto"
        Also run on an ``tiles`` x ``tiles`` grid of overlapping tiles (0 or 1: whole frame only; costs
        ``tiles**2`` extra inferences per frame). BlazeFace: ``"auto"`` (default) uses a 4x4 grid on the first
        ``calibration`` frames, then the coarsest grid whose tiles are about eight times the smallest face
        seen. YuNet: each tile is magnified to the frame's size, ``(tiles + 1) / 2`` times, for faces under
        its ~10 px floor; ``"auto"`` runs the whole frame alone, at full size on the first ``calibration``
        frames, then downscaled for speed so the smallest face seen becomes ~48 px (:meth:`choose_scale`; never
        below 0.375; frames whose smallest face is under 48 px stay full size).
    calibration : int
        Frames used to choose the grid (BlazeFace) or the scale (YuNet) in ``"auto"`` mode.
    min_confidence : float, optional
        Detection score threshold; default :data:`YUNET_SCORE` (0.6) for YuNet, 0.5 for BlazeFace.
    min_size : int
        Ignore boxes narrower or shorter than this many pixels (default 8 for YuNet, 12 otherwise).
    nested : float or None
        Passed to :func:`nms`: a box whose intersection with a higher-scoring one covers this share of its
        own area is dropped (None: IoU alone).
    check_landmarks : bool
        Drop YuNet boxes whose landmarks fail :func:`plausible_face`.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, model: str = "yunet", tiles: int | str = "auto", min_confidence: float | None = None,
                 min_size: int | None = None, calibration: int = 10, nested: float | None = NESTED,
                 check_landmarks: bool = True):
        self.model = model
        self.tiles = tiles
        self.calibration = calibration
        self.nested = nested
        self.check_landmarks = check_landmarks
        self._calls = 0
        self._heights: list[float] = []
        self.grid_: int | None = None if tiles == "auto" else int(tiles)
        self.scale_: float = 1.0  # YuNet: frames are detected at this scale (auto mode, after calibration)
        self.min_confidence = min_confidence if min_confidence is not None else (YUNET_SCORE if model == "yunet" else 0.5)
        self.min_size = min_size if min_size is not None else (8 if model == "yunet" else 12)
        self._mp = None
        self._haar = None
        self._yunet = None
        if model == "yunet":
            if not YUNET_MODEL.is_file():
                raise EmolabError(f"YuNet model missing: {YUNET_MODEL}", hint="reinstall emolab (the .onnx ships in the package)")
            self._yunet = cv2.FaceDetectorYN.create(str(YUNET_MODEL), "", (320, 320), float(self.min_confidence), 0.3, 5000)
        elif model in ("full", "short"):
            try:
                import mediapipe as mp
            except ImportError:
                self.model = "haar"
            else:
                self._mp = mp.solutions.face_detection.FaceDetection(model_selection=1 if model == "full" else 0,
                                                                     min_detection_confidence=self.min_confidence)
        if self.model == "haar":
            path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
            self._haar = cv2.CascadeClassifier(path)
            if self._haar.empty():
                raise EmolabError("no face detector available: mediapipe is missing and OpenCV ships no Haar cascade",
                                  hint="install the pinned environment (make setup)")
        elif self._mp is None and self._yunet is None:
            raise EmolabError(f"unknown detector model {model!r}; choose yunet, full, short or haar")

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._mp is not None:
            self._mp.close()
            self._mp = None
        self._yunet = None

    def _run(self, img: np.ndarray, x0: float = 0, y0: float = 0, scale: float = 1.0) -> list[Detection]:
        """Detections in ``img`` (a crop whose top-left corner is ``(x0, y0)`` of the frame), in frame pixels.

        ``scale``: YuNet runs on ``img`` resized by this factor (BlazeFace resizes every input itself).
        """
        H, W = img.shape[:2]
        out = []
        if self._yunet is not None:
            if scale != 1.0:
                size = (max(1, int(round(W * scale))), max(1, int(round(H * scale))))
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            self._yunet.setInputSize((img.shape[1], img.shape[0]))
            _, res = self._yunet.detect(np.ascontiguousarray(img))
            for r in [] if res is None else res:
                pts = (r[4:14].reshape(5, 2) / scale + np.array([x0, y0])).astype(np.float32)
                out.append(Detection(x0 + r[0] / scale, y0 + r[1] / scale, r[2] / scale, r[3] / scale, float(r[14]),
                                     (float(pts[0, 0]), float(pts[0, 1]), float(pts[1, 0]), float(pts[1, 1])),
                                     landmarks=pts))
        elif self._mp is not None:
            res = self._mp.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            for d in res.detections or []:
                b = d.location_data.relative_bounding_box
                kp = d.location_data.relative_keypoints
                eyes = None
                if len(kp) >= 2:  # BlazeFace: 0 right eye, 1 left eye (from the subject's view)
                    eyes = (x0 + kp[0].x * W / scale, y0 + kp[0].y * H / scale, x0 + kp[1].x * W / scale, y0 + kp[1].y * H / scale)
                out.append(Detection(x0 + b.xmin * W / scale, y0 + b.ymin * H / scale, b.width * W / scale, b.height * H / scale,
                                     float(d.score[0]), eyes))
        else:
            gray = _gray(img)
            for (x, y, w, h) in self._haar.detectMultiScale(gray, 1.1, 5, minSize=(self.min_size, self.min_size)):
                out.append(Detection(x0 + x / scale, y0 + y / scale, w / scale, h / scale, 0.9))
        return out

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in one BGR frame [H, W, 3] uint8, highest score first."""
        if self._mp is None and self._haar is None and self._yunet is None:
            raise EmolabError("the detector was closed")
        H, W = frame.shape[:2]
        if self._yunet is not None:
            dets = self._run(frame, scale=self.scale_)
            n = self.grid_ if self.grid_ is not None else 1
            for (x0, y0, tw, th) in tile_grid(H, W, n):  # tiles magnified to the frame's size
                dets += self._run(frame[y0:y0 + th, x0:x0 + tw], x0, y0, (n + 1) / 2)
            if self.check_landmarks:
                dets = [d for d in dets if plausible_face(d)]
        else:
            dets = self._run(frame)
            n = self.grid_ if self.grid_ is not None else 4
            for (x0, y0, tw, th) in tile_grid(H, W, n):
                # no upscaling: mediapipe resizes every input to its 192 px input anyway (measured: same recall, ~14 % faster)
                dets += self._run(frame[y0:y0 + th, x0:x0 + tw], x0, y0, 1.0)
        dets = nms([d for d in dets if d.w >= self.min_size and d.h >= self.min_size], nested=self.nested)
        if self.grid_ is None:
            self._calls += 1
            self._heights += [d.h for d in dets]
            if self._calls >= self.calibration:
                smallest = min(self._heights) if self._heights else None
                if self._yunet is not None:
                    self.grid_, self.scale_ = 1, self.choose_scale(smallest)
                else:
                    self.grid_ = self.choose_grid(H, W, smallest)
        return dets

    @staticmethod
    def choose_grid(height: int, width: int, smallest_face: float | None) -> int:
        """Grid size whose tiles are about eight times ``smallest_face`` (1 to 4; 4 if unknown)."""
        if not smallest_face:
            return 4
        tile = 8.0 * smallest_face
        n = int(np.ceil(2 * max(height, width) / tile - 1))
        return int(np.clip(n, 1, 4))

    @staticmethod
    def choose_scale(smallest_face: float | None, target: float = 48.0, lowest: float = 0.375) -> float:
        """YuNet's frame scale that brings ``smallest_face`` (px) to about ``target`` px: 1/8 steps in
        [``lowest``, 1] (1 if unknown or already small).

        Measured on two synthetic lessons (tracking recall at fixed scales, ``docs/tracking.md``): 0.375-1 stay
        within 3 points of full size, 0.25 loses 4.5 points on 125-px faces at 1280x720 and half the faces of a
        640x360 gallery, hence the floor; the 48-px target keeps a margin for faces smaller than those seen.
        """
        if not smallest_face or smallest_face <= target:
            return 1.0
        return float(np.clip(np.floor(8.0 * target / smallest_face) / 8.0, lowest, 1.0))


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img


def keyframe_step(sample_fps: float | None, interval: float) -> int:
    """Sampled frames per keyframe for a keyframe ``interval`` in seconds (0: every frame is one)."""
    if interval < 0:
        raise EmolabError(f"keyframe interval must be >= 0 seconds, got {interval}")
    if not interval or not sample_fps:
        return 1
    return max(1, int(round(interval * sample_fps)))


class KeyframeDetector:
    """Full detection on keyframes, template tracking of the faces in between.

    Finding small faces needs a tiled pass (:class:`FaceDetector`), which is most of the cost of a
    lesson analysis. Students mostly stay in their seats, so this runs the full pass only on every
    ``every``-th frame (a keyframe) and, on the frames in between, follows each face found on the
    previous frame by normalised cross-correlation of its keyframe appearance in a window around
    it (OpenCV ``matchTemplate``, about a hundred times cheaper than a detector call). A face whose
    match falls below ``min_match`` (turned away, covered, gone) is dropped until the next keyframe;
    a face that appears is found at the next keyframe (at most ``every`` frames later).

    Parameters
    ----------
    detector : FaceDetector, optional
        The full detector (default: ``FaceDetector(calibration=3, **kwargs)``: its automatic tile grid
        is chosen from the first 3 keyframes, about 3 s of video at 5 frames/s; 10 frames when ``every=1``); closed by :meth:`close`.
    every : int
        A keyframe every this many calls (1: detect on every frame, no template tracking).
    search : float
        Half-width of the search window around a face, in face widths.
    min_match : float
        Lowest normalised cross-correlation (-1..1) for a face to count as still there.
    template_px : int
        Faces are matched at about this height in pixels: shrunk by the whole-number factor that comes nearest
        (speed: a fast block average; upscaling never happens), so between 3/4 and 3/2 of it (smaller faces as they are).
    **kwargs
        Passed to :class:`FaceDetector` when ``detector`` is not given.

    Notes
    -----
    Between keyframes, boxes keep the keyframe's size and score; eye keypoints move with the box. On a
    keyframe, a face that is already followed keeps its followed box when the detector agrees with it
    (centres within 15 % of the face width, sizes within 20 %), so crops do not jump at every keyframe;
    otherwise the detector's box replaces it. Templates are cut afresh on every keyframe.
    """

    def __init__(self, detector: "FaceDetector | None" = None, every: int = 5, search: float = 0.5,
                 min_match: float = 0.6, template_px: int = 32, **kwargs):
        if every < 1:
            raise EmolabError(f"keyframe step must be >= 1 frame, got {every}")
        self.detector = detector or FaceDetector(**{"calibration": 3 if every > 1 else 10, **kwargs})
        self.every = int(every)
        self.search = search
        self.min_match = min_match
        self.template_px = template_px
        self._calls = 0
        self._faces: list[tuple[Detection, np.ndarray, float]] = []  # (detection, template, scale)
        self._pool = None

    @property
    def grid_(self) -> int | None:
        return self.detector.grid_

    def __enter__(self) -> "KeyframeDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.detector.close()

    def detect(self, frame: "np.ndarray | Frame", full: "list[Detection] | None" = None, gray: np.ndarray | None = None) -> list[Detection]:
        """Faces in one BGR frame [H, W, 3] uint8 or :class:`~emolab.preprocessing.video.Frame` (full detection on
        keyframes, tracked in between; a Frame's colour is made on keyframes only).

        ``full``: the full detector's result for this frame when it was computed ahead (:meth:`stream`).
        ``gray``: the frame in grayscale [H, W] uint8 when already converted, or its luma (templates are matched
        in gray by normalised correlation, which a monotone affine map of the levels does not change; a Frame's
        luma is used when not given; without either, each face's search window is converted on its own).
        """
        keyframe = self._calls % self.every == 0 or not self._faces
        self._calls += 1
        if self.every == 1:
            return full if full is not None else self.detector.detect(bgr_of(frame))
        if gray is None and isinstance(frame, Frame):
            gray = frame.luma
        # templates and search windows are matched in gray: cut from the gray frame when given, else converted region by region
        if keyframe:
            dets = full if full is not None else self._full(frame)
            followed = [self._follow(frame, det, tmpl, f, gray) for det, tmpl, f in self._faces]
            out, faces = [], []
            for d in dets:
                f = self._agrees(d, followed)
                # a face already followed keeps its followed box (no jump at every keyframe: mouth and expression
                # measurements stay continuous); the detector's box resets it when the two part ways
                box = d if f is None else Detection(f.x, f.y, f.w, f.h, d.score, d.eyes, landmarks=d.landmarks)
                out.append(box)
                face = self._template(frame, box, gray)
                if face is not None:
                    faces.append(face)
            self._faces = faces
            return out
        out, kept = [], []
        for det, tmpl, f in self._faces:
            d = self._follow(frame, det, tmpl, f, gray)
            if d is not None:
                out.append(d)
                kept.append((d, tmpl, f))
        self._faces = kept
        return out

    def _full(self, frame: "np.ndarray | Frame") -> list[Detection]:
        if self._pool is not None:  # the detector belongs to the worker thread while a stream runs
            return self._pool.submit(self._detect_bgr, frame).result()
        return self._detect_bgr(frame)

    def _detect_bgr(self, frame: "np.ndarray | Frame") -> list[Detection]:
        """The full detector on ``frame`` (a :class:`~emolab.preprocessing.video.Frame`'s colour is made here:
        in the worker thread while a stream runs)."""
        return self.detector.detect(bgr_of(frame))

    def stream(self, frames: Iterable[tuple], lookahead: bool = True, gray: bool = False) -> Iterator[tuple]:
        """Detect faces in a stream of ``(..., frame)`` tuples; yields ``(item, detections)`` in order.

        With ``gray``, the tuples are ``(..., frame, gray_frame)`` (see :meth:`detect`).

        With ``lookahead``, the full detection of each scheduled keyframe runs in one worker thread as
        soon as the frame arrives, up to ``every`` frames ahead, while the caller works on the frames
        before it (mediapipe and OpenCV's YuNet release the GIL: on 2 cores the detector and the rest of a
        lesson analysis overlap). Results are identical to calling :meth:`detect` on each frame: look-ahead
        starts only once the tile grid (YuNet: the scale) is calibrated, after which the full detector has no state.
        """
        def args(item, fut=None):  # detect()'s (frame, full, gray) for one item
            full = fut.result() if fut is not None else None
            return (item[-2], full, item[-1]) if gray else (item[-1], full, None)

        if not lookahead or self.every == 1:
            for item in frames:
                yield item, self.detect(*args(item))
            return
        from concurrent.futures import ThreadPoolExecutor

        queue: deque = deque()
        pool = self._pool = ThreadPoolExecutor(1, thread_name_prefix="emolab-detect")  # every detector call runs there
        n = self._calls
        try:
            for item in frames:
                fut = None
                if n % self.every == 0 and self.detector.grid_ is not None:
                    fut = pool.submit(self._detect_bgr, args(item)[0])
                queue.append((item, fut))
                n += 1
                while len(queue) > self.every or (queue and queue[0][1] is None and self.detector.grid_ is None):
                    it, f = queue.popleft()
                    yield it, self.detect(*args(it, f))
            while queue:
                it, f = queue.popleft()
                yield it, self.detect(*args(it, f))
        finally:
            for _, f in queue:
                if f is not None:
                    f.cancel()
            pool.shutdown(wait=True)
            self._pool = None

    @staticmethod
    def _agrees(d: Detection, followed: list) -> Detection | None:
        """The followed box that matches detection ``d`` (centres within 15 % of its width, sizes within 20 %)."""
        best, best_dist = None, None
        for f in followed:
            if f is None:
                continue
            dist = np.hypot(f.x + f.w / 2 - d.x - d.w / 2, f.y + f.h / 2 - d.y - d.h / 2)
            if dist <= 0.15 * d.w and 0.8 <= f.w / max(d.w, 1e-6) <= 1.25 and (best_dist is None or dist < best_dist):
                best, best_dist = f, dist
        return best

    def _template(self, frame: np.ndarray, d: Detection, gray: np.ndarray | None = None):
        H, W = frame.shape[:2]
        x0, y0 = int(round(max(0, d.x))), int(round(max(0, d.y)))
        x1, y1 = int(round(min(W, d.x + d.w))), int(round(min(H, d.y + d.h)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        f = _shrink_factor(y1 - y0, self.template_px)
        patch = gray[y0:y1, x0:x1] if gray is not None else _gray(frame[y0:y1, x0:x1])
        if f > 1:
            patch = _shrink(patch, f)
        if float(patch.std()) < 2.0:  # flat: nothing to match
            return None
        # the detection's box may stick out of the frame: remember where the template starts inside it
        return (Detection(float(x0), float(y0), float(x1 - x0), float(y1 - y0), d.score, d.eyes, landmarks=d.landmarks), patch, f)

    def _follow(self, frame: np.ndarray, d: Detection, tmpl: np.ndarray, f: int, gray: np.ndarray | None = None) -> Detection | None:
        """``d`` followed into ``frame``: the best match of its template within ``search`` face widths of it.

        The inner half of that window is searched first, on the same pixel blocks (so the correlations there are
        the full window's): a match of at least ``min_match`` strictly inside it is the face, and the rest of the
        window is searched only when there is none (a face that moved more than a quarter of its width, or is
        gone). Most faces in a lesson stay put between two frames, so most are found in the smaller window (at these
        sizes OpenCV's matching cost is mostly its Fourier transform: templates of 36-47 px match in half the time,
        smaller ones save little).
        """
        H, W = frame.shape[:2]
        m = self.search * d.w
        wx0, wy0 = int(max(0, d.x - m)), int(max(0, d.y - m))
        wx1, wy1 = int(min(W, d.x + d.w + m)), int(min(H, d.y + d.h + m))
        # the inner window starts on the full window's block grid (whole blocks of f pixels from its corner)
        ix0 = wx0 + (int(max(0, d.x - m / 2)) - wx0) // f * f
        iy0 = wy0 + (int(max(0, d.y - m / 2)) - wy0) // f * f
        ix1, iy1 = int(min(W, d.x + d.w + m / 2)), int(min(H, d.y + d.h + m / 2))
        th, tw = tmpl.shape[:2]
        for x0, y0, x1, y1, inner in ((ix0, iy0, ix1, iy1, True), (wx0, wy0, wx1, wy1, False)):
            window = gray[y0:y1, x0:x1] if gray is not None else _gray(frame[y0:y1, x0:x1])
            if f > 1:
                window = _shrink(window, f)
            if window.shape[0] < th or window.shape[1] < tw:
                continue  # the inner window: the whole one next; the whole window: lost
            res = cv2.matchTemplate(window, tmpl, cv2.TM_CCOEFF_NORMED)
            _, best, _, loc = cv2.minMaxLoc(res)
            if not np.isfinite(best) or best < self.min_match:
                continue
            # an inner match on the inner window's edge may be the slope of a peak outside it: not taken
            # (an edge that is the frame's edge is the full window's edge too)
            if inner and ((loc[0] == 0 and x0 > wx0) or (loc[1] == 0 and y0 > wy0)
                          or (loc[0] == res.shape[1] - 1 and x1 < wx1) or (loc[1] == res.shape[0] - 1 and y1 < wy1)):
                continue
            return d.shifted(x0 + loc[0] * f - d.x, y0 + loc[1] * f - d.y, followed=True)
        return None


def _shrink_factor(height: int, target_px: int) -> int:
    """The whole-number factor that brings a face ``height`` px high nearest to ``target_px`` (1: no shrinking).

    Whole factors let OpenCV average pixel blocks (its fast area path, 4-7x cheaper than a fractional
    area resize); a shrunk face is then 3/4 to 5/4 of ``target_px`` high, an unshrunk one up to 1.5x it.
    """
    return max(1, int(height / target_px + 0.5))


def _shrink(img: np.ndarray, f: int) -> np.ndarray:
    """``img`` averaged over ``f`` x ``f`` pixel blocks (the last rows and columns that do not fill a block are left out)."""
    h, w = img.shape[:2]
    return cv2.resize(img[: h - h % f, : w - w % f], (w // f, h // f), interpolation=cv2.INTER_AREA)
