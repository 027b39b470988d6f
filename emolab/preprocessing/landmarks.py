"""Face landmarks (mediapipe's 478-point face mesh, shipped in the wheel) and geometric features.

:class:`FaceMesh` returns the landmarks of the main face in a crop; :func:`geometry` turns them
into interpretable measures, all normalised by the inter-ocular distance so that they do not
depend on the face's size in the image:

* ``mouth_open``: inner-lip gap (landmarks 13-14);
* ``brow_raise``: mean height of the brows above the eyes;
* ``ear_left``, ``ear_right``: eye aspect ratio (eye height / eye width; ~0.25-0.35 open, ~0 closed).
"""

from __future__ import annotations

import numpy as np

# mediapipe face-mesh indices
_LEFT_EYE = (362, 263, 386, 374)  # outer/inner corner, top, bottom
_RIGHT_EYE = (33, 133, 159, 145)
_LEFT_BROW, _RIGHT_BROW = (300, 293, 334), (70, 63, 105)
_LIPS = (13, 14)


class FaceMesh:
    """478 landmarks (x, y in pixels of the given image, z relative) of the largest face in an image.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, refine: bool = True, min_confidence: float = 0.5):
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=refine,
                                                     min_detection_confidence=min_confidence)

    def __enter__(self) -> "FaceMesh":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """Landmarks [478, 3] (pixels, pixels, relative depth) of a BGR image, or None if no face is found."""
        import cv2

        h, w = image.shape[:2]
        res = self._mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))
        if not res.multi_face_landmarks:
            return None
        pts = res.multi_face_landmarks[0].landmark
        return np.array([(p.x * w, p.y * h, p.z * w) for p in pts], np.float32)


def geometry(landmarks: np.ndarray) -> dict[str, float]:
    """Mouth opening, brow raise and eye aspect ratios from face-mesh landmarks [>=468, 2+]."""
    p = np.asarray(landmarks)[:, :2]

    def dist(a, b):
        return float(np.linalg.norm(p[a] - p[b]))

    iod = dist(_LEFT_EYE[0], _RIGHT_EYE[0]) or 1.0

    def ear(eye):
        return dist(eye[2], eye[3]) / (dist(eye[0], eye[1]) or 1.0)

    def brow(brow_idx, eye):
        eye_y = (p[eye[2], 1] + p[eye[3], 1]) / 2
        return float(np.mean([eye_y - p[i, 1] for i in brow_idx])) / iod

    return {"mouth_open": dist(*_LIPS) / iod, "brow_raise": (brow(_LEFT_BROW, _LEFT_EYE) + brow(_RIGHT_BROW, _RIGHT_EYE)) / 2,
            "ear_left": ear(_LEFT_EYE), "ear_right": ear(_RIGHT_EYE)}
