"""Face detection that invents no one: duplicate and nested boxes, blank frames and printed letters give no extra
face, a small real face is handled as documented, landmarks come with YuNet's boxes; with ../shared/data, precision
and recall on hand-annotated real classroom keyframes (benchmarks/annotations/)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from emolab.preprocessing.detection import Detection, FaceDetector, iou, nms, overlap_of_smaller, plausible_face

ANNOTATIONS = Path(__file__).resolve().parents[1] / "benchmarks" / "annotations"
ASTRONAUT_FACE_PX = 113  # height of YuNet's box on Eileen Collins' face in skimage's 512x512 photo


def astronaut_frame(face_px: float, size=(360, 640)) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A grey BGR frame with skimage's astronaut photo pasted, downscaled so her face is ``face_px`` tall;
    returns the frame and where the photo lies ``(x, y, w, h)``."""
    from skimage import data

    photo = data.astronaut()[:, :, ::-1]
    s = face_px / ASTRONAUT_FACE_PX
    small = cv2.resize(photo, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    frame = np.full((*size, 3), 120, np.uint8)
    y, x = 150, 300
    frame[y:y + small.shape[0], x:x + small.shape[1]] = small
    return frame, (x, y, small.shape[1], small.shape[0])


def test_a_box_nested_in_another_is_suppressed():
    face = Detection(100, 100, 60, 70, 0.9)
    part = Detection(110, 105, 25, 25, 0.7)  # on the forehead: IoU 0.15, all of it inside the face
    assert iou(face.box, part.box) < 0.3 and overlap_of_smaller(face.box, part.box) == 1.0
    assert nms([part, face]) == [face]
    assert len(nms([part, face], nested=None)) == 2  # IoU alone keeps both
    neighbour = Detection(150, 100, 60, 70, 0.8)  # the next face, overlapping by a sixth of its area: kept
    assert nms([face, part, neighbour]) == [face, neighbour]


def test_duplicate_boxes_merge_into_the_highest_scoring():
    a, b = Detection(10, 10, 40, 50, 0.80), Detection(13, 12, 40, 50, 0.85)
    assert nms([a, b]) == [b]


def test_a_14px_face_is_found_and_an_8px_face_is_not():
    """Documented range of YuNet on the whole frame: faces from ~10-12 px (tiles=3 magnifies for smaller)."""
    frame, (x, y, w, h) = astronaut_frame(14)
    with FaceDetector(tiles=0) as det:
        faces = det.detect(frame)
        assert len(faces) == 1
        f = faces[0]
        assert x < f.x + f.w / 2 < x + w and y < f.y + f.h / 2 < y + h and 8 <= f.h <= 20
        assert det.detect(astronaut_frame(8)[0]) == []


@pytest.mark.parametrize("value", [0, 127, 255])
def test_a_blank_frame_gives_no_face(value):
    with FaceDetector() as det:
        assert det.detect(np.full((360, 640, 3), value, np.uint8)) == []


@pytest.mark.parametrize("text", ["EMOLAB", "OXO 8 QO", "@ @", "o o"])
def test_printed_letters_give_no_face(text):
    frame = np.full((360, 640, 3), 255, np.uint8)
    cv2.putText(frame, text, (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 3, (20, 40, 200), 6)
    cv2.putText(frame, text.lower(), (60, 320), cv2.FONT_HERSHEY_DUPLEX, 1.5, (0, 0, 0), 3)
    with FaceDetector() as det:
        assert det.detect(frame) == []
    with FaceDetector(tiles=3) as det:  # magnified tiles, where false faces are likelier
        assert det.detect(frame) == []


def test_yunet_gives_five_landmarks_shaped_like_a_face():
    from skimage import data

    with FaceDetector(tiles=0) as det:
        (f,) = det.detect(data.astronaut()[:, :, ::-1].copy())
    assert f.landmarks.shape == (5, 2)
    (rex, rey), (lex, ley), nose, (rmx, rmy), (lmx, lmy) = f.landmarks
    assert f.eyes == pytest.approx((rex, rey, lex, ley))
    assert rex < lex and rmx < lmx  # the subject's right eye and mouth corner are on the image's left
    assert max(rey, ley) < nose[1] < min(rmy, lmy)
    assert plausible_face(f)
    upside_down = Detection(f.x, f.y, f.w, f.h, f.score, landmarks=f.landmarks[[3, 4, 2, 0, 1]])
    assert not plausible_face(upside_down)
    assert plausible_face(Detection(0, 0, 10, 10, 0.9))  # nothing to check
    moved = f.shifted(5, -3)
    assert np.allclose(moved.landmarks, f.landmarks + [5, -3]) and moved.eyes[0] == pytest.approx(rex + 5)


def test_auto_mode_downscales_frames_whose_faces_are_large():
    assert FaceDetector.choose_scale(None) == FaceDetector.choose_scale(14) == FaceDetector.choose_scale(48) == 1.0
    assert FaceDetector.choose_scale(64) == 0.75 and FaceDetector.choose_scale(95) == 0.5
    assert FaceDetector.choose_scale(400) == 0.375  # never below: smaller scales lost faces on synthetic lessons
    from skimage import data

    photo = data.astronaut()[:, :, ::-1].copy()
    with FaceDetector(calibration=2) as det:
        first = det.detect(photo)
        det.detect(photo)
        assert det.grid_ == 1 and det.scale_ == 0.375  # 113-px face -> 42 px
        later = det.detect(photo)
    assert len(first) == len(later) == 1 and iou(first[0].box, later[0].box) > 0.7


def test_detection_scores_sorts_false_faces_by_what_they_land_on():
    from emolab.scoring import detection_scores

    truth = pd.DataFrame({"x": [10, 100, 200], "y": [10, 10, 10], "w": [40, 40, 40], "h": [50, 50, 50],
                          "face_visible": ["yes", "yes", "no"], "readable": ["yes", "no", "no"]})
    boxes = [(12, 12, 40, 50), (10, 14, 38, 46), (205, 12, 40, 45), (400, 300, 30, 30)]  # face, again, a head, nothing
    s = detection_scores(boxes, [0.9, 0.8, 0.7, 0.6], truth)
    assert s == dict(tp=1, detections=4, faces=2, readable=1, readable_found=1, duplicate=1, back_of_head=1, phantom=1)
    offset = [(30, 30, 60, 60)]  # IoU 0.12 with the first face, but its centre lies inside it
    assert detection_scores(offset, [0.9], truth)["tp"] == 0
    assert detection_scores(offset, [0.9], truth, match="centre")["tp"] == 1


@pytest.mark.realdata
def test_real_classroom_keyframes_precision_and_recall(shared_data):
    """Two annotated keyframes (class110 at 2.5 s, college at 7.5 s; measured 38 of 41 faces, no false one)."""
    from emolab.scoring import detection_scores

    clips = shared_data / "real_video" / "classroom"
    wanted = {("class110_25students.mp4", 75), ("college_20students.mp4", 220)}
    if not all((clips / c).is_file() for c, _ in wanted):
        pytest.skip(f"the real classroom clips are not in {clips}")
    truth = pd.read_csv(ANNOTATIONS / "classroom_faces.csv")
    total = dict(tp=0, detections=0, faces=0, readable=0, readable_found=0)
    with FaceDetector(tiles=0) as det:
        for clip, index in wanted:
            cap = cv2.VideoCapture(str(clips / clip))
            for _ in range(index + 1):  # decode from the start: the annotated frame exactly
                ok, frame = cap.read()
            cap.release()
            assert ok
            dets = det.detect(frame)
            s = detection_scores([d.box for d in dets], [d.score for d in dets],
                                 truth[(truth["clip"] == clip) & (truth["frame"] == index)])
            for k in total:
                total[k] += s[k]
    assert total["tp"] / total["faces"] >= 0.85, total
    assert total["tp"] / total["detections"] >= 0.9, total
    assert total["readable_found"] == total["readable"], total
