"""Face mesh on a real photo and on synthetic expressions; eye alignment of crops."""

import numpy as np
import pytest

from emolab.preprocessing.crops import crop_face
from emolab.preprocessing.landmarks import FaceMesh, geometry


def test_mesh_on_a_real_face_photo():
    from skimage import data

    img = data.astronaut()[:, :, ::-1].copy()
    with FaceMesh() as mesh:
        lm = mesh.landmarks(img)
        assert mesh.landmarks(np.full((120, 120, 3), 128, np.uint8)) is None  # no face
    assert lm.shape == (478, 3)
    g = geometry(lm)
    assert 0.15 < g["ear_left"] < 0.5 and 0.15 < g["ear_right"] < 0.5  # open eyes
    assert 0 <= g["mouth_open"] < 0.3


def test_geometry_tracks_expressions():
    from emolab.synth import Identity, Pose, au_vector, render_face

    ident = Identity.random("g", np.random.default_rng(4))
    geo = {}
    with FaceMesh() as mesh:
        for emo in ("neutral", "surprise"):
            img = np.full((320, 320, 3), 170, np.uint8)
            render_face(img, 160, 150, 200, ident, au_vector(emo), Pose())
            lm = mesh.landmarks(img)
            if lm is None:
                pytest.skip("the face mesh does not fit this synthetic face")
            geo[emo] = geometry(lm)
    assert geo["surprise"]["mouth_open"] > geo["neutral"]["mouth_open"]


def test_eye_alignment_levels_a_tilted_face():
    import cv2

    img = np.zeros((200, 200), np.uint8)
    cv2.circle(img, (70, 80), 8, 255, -1)  # "eyes" on a 20 degree slope
    cv2.circle(img, (130, 102), 8, 255, -1)
    plain = crop_face(img, (50, 50, 100, 100), size=100, margin=0.0)
    aligned = crop_face(img, (50, 50, 100, 100), size=100, margin=0.0, eyes=(70, 80, 130, 102))
    rows = lambda c: [np.argmax(c[:, :50].sum(1)), np.argmax(c[:, 50:].sum(1))]  # row of each eye blob
    assert abs(np.subtract(*rows(plain))) > 15
    assert abs(np.subtract(*rows(aligned))) <= 3
