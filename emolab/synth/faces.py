"""Procedurally rendered faces whose expressions follow FACS action-unit prototypes.

A :class:`Identity` fixes what a synthetic person looks like (head shape, skin tone, hair,
glasses, eye colour, feature proportions); :func:`render_face` draws that person onto a BGR
frame with a given expression (a vector of action-unit intensities), eye openness (blinks),
head pose (translation, roll, a little yaw) and mouth opening (speech).

The prototypes (:data:`EMOTION_AUS`) follow the EMFACS descriptions of the basic emotions:

============  ============================================================
happiness     AU6 cheek raiser + AU12 lip-corner puller (+AU25 lips part)
sadness       AU1 inner-brow raiser + AU4 brow lowerer + AU15 lip-corner depressor
surprise      AU1 + AU2 outer-brow raiser + AU5 upper-lid raiser + AU26 jaw drop
fear          AU1 + AU2 + AU4 + AU5 + AU7 lid tightener + AU20 lip stretcher + AU25
anger         AU4 + AU5 + AU7 + AU23 lip tightener
disgust       AU9 nose wrinkler + AU10 upper-lip raiser + AU15
neutral       none
============  ============================================================

The drawing is shaded (radial skin shading, eye sockets, nose shadow, lips) so that a real face
detector (mediapipe's BlazeFace) finds these faces; see ``benchmarks/bench_synth.py`` for the
measured detection rate. A synthetic face is still a cartoon: see ``docs/synthetic.md`` for what
it can and cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

AU_NAMES: tuple[str, ...] = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU15", "AU20", "AU23", "AU25", "AU26")
_AU = {n: i for i, n in enumerate(AU_NAMES)}

EMOTION_AUS: dict[str, dict[str, float]] = {
    "anger": {"AU4": 1.0, "AU5": 0.5, "AU7": 0.9, "AU23": 1.0},
    "disgust": {"AU9": 1.0, "AU10": 0.9, "AU15": 0.7, "AU4": 0.4},
    "fear": {"AU1": 0.9, "AU2": 0.7, "AU4": 0.5, "AU5": 1.0, "AU7": 0.3, "AU20": 1.0, "AU25": 0.8},
    "happiness": {"AU6": 1.0, "AU12": 1.0, "AU25": 0.6},
    "neutral": {},
    "sadness": {"AU1": 1.0, "AU4": 0.7, "AU15": 1.0},
    "surprise": {"AU1": 1.0, "AU2": 1.0, "AU5": 1.0, "AU26": 1.0},
}
"""Action-unit intensities (0-1) at the apex of each canonical emotion."""


def au_vector(emotion: str, intensity: float = 1.0) -> np.ndarray:
    """Action-unit intensities of an emotion at a given intensity.

    Returns
    -------
    np.ndarray [shape=(len(AU_NAMES),), dtype=float32]
    """
    v = np.zeros(len(AU_NAMES), dtype=np.float32)
    for name, value in EMOTION_AUS[emotion].items():
        v[_AU[name]] = value * intensity
    return v


@dataclass(frozen=True)
class Identity:
    """The look of one synthetic person (all lengths relative to the head height)."""

    person: str
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    iris: tuple[int, int, int]
    shirt: tuple[int, int, int]
    width_ratio: float  # head width / head height
    hair_style: int  # 0 short, 1 long, 2 bald-ish with sides, 3 bun
    glasses: bool
    eye_spacing: float
    mouth_width: float
    brow_thickness: float
    nose_length: float

    @staticmethod
    def random(person: str, rng: np.random.Generator) -> "Identity":
        """A random but plausible identity."""
        tones = np.array([[205, 225, 250], [170, 200, 235], [140, 175, 215], [100, 140, 190], [70, 105, 150], [50, 75, 110]])
        skin = tones[rng.integers(len(tones))] + rng.integers(-12, 13, 3)
        hairs = np.array([[20, 20, 25], [30, 45, 70], [40, 80, 130], [60, 110, 170], [160, 160, 165], [25, 30, 60]])
        hair = hairs[rng.integers(len(hairs))] + rng.integers(-8, 9, 3)
        irises = np.array([[60, 40, 20], [100, 80, 40], [130, 110, 60], [40, 90, 60], [140, 100, 50]])
        shirt = rng.integers(30, 230, 3)
        return Identity(
            person=person,
            skin=tuple(int(c) for c in np.clip(skin, 0, 255)),
            hair=tuple(int(c) for c in np.clip(hair, 0, 255)),
            iris=tuple(int(c) for c in irises[rng.integers(len(irises))]),
            shirt=tuple(int(c) for c in shirt),
            width_ratio=float(rng.uniform(0.72, 0.84)),
            hair_style=int(rng.integers(4)),
            glasses=bool(rng.random() < 0.3),
            eye_spacing=float(rng.uniform(0.19, 0.23)),
            mouth_width=float(rng.uniform(0.17, 0.22)),
            brow_thickness=float(rng.uniform(0.018, 0.03)),
            nose_length=float(rng.uniform(0.12, 0.16)),
        )


@dataclass
class Pose:
    """Head pose and non-emotional motion for one frame."""

    dx: float = 0.0  # translation, fraction of head height
    dy: float = 0.0
    roll: float = 0.0  # degrees
    yaw: float = 0.0  # -1..1, shifts the features sideways
    eye_open: float = 1.0  # 0 closed (blink) .. 1 open
    mouth_open: float = 0.0  # 0..1, speech


def face_box(cx: float, cy: float, height: float, identity: Identity) -> tuple[int, int, int, int]:
    """Bounding box ``(x, y, w, h)`` in pixels of the face (forehead to chin, ear to ear)."""
    h = height
    w = h * identity.width_ratio
    return int(round(cx - w / 2)), int(round(cy - 0.5 * h)), int(round(w)), int(round(h))


DETECTOR_BOX = {"w": 1.008, "h": 0.792, "dx": 0.021, "dy": 0.096, "sd_w": 0.068, "sd_h": 0.05, "sd_dx": 0.021, "sd_dy": 0.019}
"""How mediapipe's full-range detector boxes relate to :func:`face_box` on rendered faces (measured
on the sample lesson: width ratio, height ratio, centre offsets as fractions of the box, and their
standard deviations)."""


def detector_like_box(box: tuple[int, int, int, int], rng: np.random.Generator | None = None) -> tuple[float, float, float, float]:
    """The box a real detector would report for a rendered face (with its measured jitter if ``rng``).

    Training clips are cut with these boxes so that they look like the crops the lesson pipeline
    cuts from detections.
    """
    x, y, w, h = box
    k = DETECTOR_BOX
    j = rng.normal(0, 1, 4) if rng is not None else np.zeros(4)
    nw, nh = w * (k["w"] + k["sd_w"] * j[0]), h * (k["h"] + k["sd_h"] * j[1])
    cx = x + w / 2 + w * (k["dx"] + k["sd_dx"] * j[2])
    cy = y + h / 2 + h * (k["dy"] + k["sd_dy"] * j[3])
    return cx - nw / 2, cy - nh / 2, nw, nh


@lru_cache(maxsize=256)
def _head_sprite(identity: Identity, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Shaded head (skin, ears, hair, neck, nose) as a BGR image and an alpha mask, cached."""
    H = height
    S = int(H * 2.0)
    img = np.zeros((S, S, 3), np.float32)
    alpha = np.zeros((S, S), np.float32)
    c = (S // 2, S // 2)
    ax, ay = int(H * identity.width_ratio / 2), int(H / 2)
    skin = np.array(identity.skin, np.float32)
    hair = np.array(identity.hair, np.float32)
    shirt = np.array(identity.shirt, np.float32)
    # shoulders and neck
    cv2.ellipse(img, (c[0], c[1] + int(1.05 * H)), (int(1.0 * H), int(0.45 * H)), 0, 180, 360, shirt.tolist(), -1, cv2.LINE_AA)
    cv2.ellipse(alpha, (c[0], c[1] + int(1.05 * H)), (int(1.0 * H), int(0.45 * H)), 0, 180, 360, 1.0, -1, cv2.LINE_AA)
    cv2.rectangle(img, (c[0] - int(0.17 * H), c[1] + int(0.3 * H)), (c[0] + int(0.17 * H), c[1] + int(0.7 * H)), (skin * 0.8).tolist(), -1)
    cv2.rectangle(alpha, (c[0] - int(0.17 * H), c[1] + int(0.3 * H)), (c[0] + int(0.17 * H), c[1] + int(0.7 * H)), 1.0, -1)
    # long hair behind the head
    if identity.hair_style in (1, 3):
        cv2.ellipse(img, (c[0], c[1] + int(0.12 * H)), (int(ax * 1.3), int(ay * 1.15)), 0, 0, 360, hair.tolist(), -1, cv2.LINE_AA)
        cv2.ellipse(alpha, (c[0], c[1] + int(0.12 * H)), (int(ax * 1.3), int(ay * 1.15)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    # ears
    for sx in (-1, 1):
        ec = (c[0] + sx * ax, c[1] + int(0.02 * H))
        cv2.ellipse(img, ec, (int(0.07 * H), int(0.12 * H)), 0, 0, 360, (skin * 0.88).tolist(), -1, cv2.LINE_AA)
        cv2.ellipse(alpha, ec, (int(0.07 * H), int(0.12 * H)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    # head with radial shading
    head = np.zeros((S, S), np.float32)
    cv2.ellipse(head, c, (ax, ay), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    r = np.sqrt(((xx - c[0]) / ax) ** 2 + ((yy - c[1] + 0.15 * H) / ay) ** 2)
    shade = np.clip(1.08 - 0.35 * r**2, 0.55, 1.1)
    face_rgb = skin[None, None, :] * shade[..., None]
    img = img * (1 - head[..., None]) + face_rgb * head[..., None]
    alpha = np.maximum(alpha, head)
    # eye sockets (soft darker areas) and nose shadow
    soft = np.zeros((S, S), np.float32)
    for sx in (-1, 1):
        cv2.ellipse(soft, (c[0] + int(sx * identity.eye_spacing * H), c[1] - int(0.06 * H)), (int(0.11 * H), int(0.07 * H)), 0, 0, 360, 0.22, -1)
    nose_top, nose_tip = c[1] - int(0.02 * H), c[1] + int(identity.nose_length * H)
    cv2.line(soft, (c[0] + int(0.035 * H), nose_top), (c[0] + int(0.05 * H), nose_tip), 0.3, max(1, int(0.03 * H)))
    cv2.ellipse(soft, (c[0], nose_tip + int(0.02 * H)), (int(0.07 * H), int(0.03 * H)), 0, 0, 360, 0.35, -1)
    k = max(3, int(0.06 * H) | 1)
    soft = cv2.GaussianBlur(soft, (k, k), 0) * head
    img = img * (1 - soft[..., None])
    # nostrils and nose highlight
    for sx in (-1, 1):
        cv2.circle(img, (c[0] + sx * int(0.035 * H), nose_tip + int(0.015 * H)), max(1, int(0.015 * H)), (skin * 0.35).tolist(), -1, cv2.LINE_AA)
    cv2.line(img, (c[0] - int(0.005 * H), nose_top + int(0.03 * H)), (c[0] - int(0.01 * H), nose_tip - int(0.02 * H)),
             np.clip(skin * 1.12, 0, 255).tolist(), max(1, int(0.015 * H)), cv2.LINE_AA)
    # hair on top
    top = (c[0], c[1] - int(0.28 * H))
    if identity.hair_style == 2:  # short hair on the sides and back, above the ears
        cv2.ellipse(img, (c[0], c[1] - int(0.05 * H)), (int(ax * 1.02), int(ay * 0.98)), 0, 195, 345, hair.tolist(), max(2, int(0.05 * H)), cv2.LINE_AA)
    else:
        cv2.ellipse(img, top, (int(ax * 1.05), int(0.27 * H)), 0, 180, 360, hair.tolist(), -1, cv2.LINE_AA)
        cv2.ellipse(alpha, top, (int(ax * 1.05), int(0.27 * H)), 0, 180, 360, 1.0, -1, cv2.LINE_AA)
        cv2.ellipse(img, (c[0] - int(0.15 * H), c[1] - int(0.3 * H)), (int(ax * 0.75), int(0.1 * H)), 10, 0, 360, hair.tolist(), -1, cv2.LINE_AA)
        if identity.hair_style == 3:
            cv2.circle(img, (c[0], c[1] - int(0.6 * H)), int(0.14 * H), hair.tolist(), -1, cv2.LINE_AA)
            cv2.circle(alpha, (c[0], c[1] - int(0.6 * H)), int(0.14 * H), 1.0, -1, cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8), alpha


def render_face(frame: np.ndarray, cx: float, cy: float, height: float, identity: Identity,
                aus: np.ndarray, pose: Pose | None = None) -> tuple[int, int, int, int]:
    """Draw one person onto ``frame`` in place.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8]
        BGR image.
    cx, cy : float
        Centre of the face in pixels.
    height : float
        Face height (forehead to chin) in pixels.
    identity : Identity
    aus : np.ndarray [shape=(len(AU_NAMES),)]
        Action-unit intensities, 0-1.
    pose : Pose, optional

    Returns
    -------
    (x, y, w, h) : tuple of int
        The face's bounding box in pixels (after pose), clipped to nothing (may extend outside).
    """
    pose = pose or Pose()
    H = max(8, int(round(height)))
    cx = cx + pose.dx * H
    cy = cy + pose.dy * H
    sprite, alpha = _head_sprite(identity, H)
    S = sprite.shape[0]
    M = cv2.getRotationMatrix2D((S / 2, S / 2), -pose.roll, 1.0)
    M[0, 2] += cx - S / 2
    M[1, 2] += cy - S / 2
    x0, y0 = int(max(0, cx - S / 2)), int(max(0, cy - S / 2))
    x1, y1 = int(min(frame.shape[1], cx + S / 2)), int(min(frame.shape[0], cy + S / 2))
    if x1 <= x0 or y1 <= y0:
        return face_box(cx, cy, H, identity)
    Mroi = M.copy()
    Mroi[0, 2] -= x0
    Mroi[1, 2] -= y0
    roi = frame[y0:y1, x0:x1]
    warped = cv2.warpAffine(sprite, Mroi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    a = cv2.warpAffine(alpha, Mroi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)[..., None]
    roi[:] = (roi * (1 - a) + warped * a).astype(np.uint8)
    _draw_features(frame, cx, cy, H, identity, aus, pose)
    return face_box(cx, cy, H, identity)


def _draw_features(frame: np.ndarray, cx: float, cy: float, H: int, ident: Identity, aus: np.ndarray, pose: Pose) -> None:
    au = {n: float(aus[i]) for i, n in enumerate(AU_NAMES)}
    rad = np.deg2rad(pose.roll)
    cos, sin = np.cos(rad), np.sin(rad)
    shift = pose.yaw * 0.06

    def P(x: float, y: float) -> tuple[int, int]:
        """Face coordinates (fractions of H, origin at the face centre) -> pixel, with pose."""
        x = x + shift
        return int(round(cx + (x * cos - y * sin) * H)), int(round(cy + (x * sin + y * cos) * H))

    def L(v: float) -> int:
        return max(1, int(round(v * H)))

    skin = np.array(ident.skin, np.float32)
    dark = (skin * 0.3).astype(int).tolist()
    eye_y = -0.06
    es = ident.eye_spacing
    # eyes: openness from AU5 (wider), AU7/AU6 (narrower), blinks
    open_ = (1.0 + 0.6 * au["AU5"] - 0.45 * au["AU7"] - 0.35 * au["AU6"]) * pose.eye_open
    open_ = float(np.clip(open_, 0.0, 1.7))
    for sx in (-1, 1):
        ex = sx * es
        ew, eh = 0.075, 0.035 * open_
        if eh > 0.006:
            sclera = (np.array([215, 220, 225], np.float32) * 0.75 + skin * 0.25).astype(int).tolist()
            cv2.ellipse(frame, P(ex, eye_y), (L(ew), L(eh)), pose.roll, 0, 360, sclera, -1, cv2.LINE_AA)
            iris_r = min(0.032, eh * 1.1 + 0.006)
            cv2.circle(frame, P(ex + shift * 0.3, eye_y), L(iris_r), ident.iris, -1, cv2.LINE_AA)
            cv2.circle(frame, P(ex + shift * 0.3, eye_y), L(iris_r * 0.45), (15, 15, 15), -1, cv2.LINE_AA)
            cv2.circle(frame, P(ex + shift * 0.3 - 0.008, eye_y - 0.008), L(0.005), (250, 250, 250), -1, cv2.LINE_AA)
        # upper lid line
        cv2.ellipse(frame, P(ex, eye_y), (L(ew), L(max(eh, 0.004))), pose.roll, 180, 360, dark, L(0.009), cv2.LINE_AA)
        if au["AU6"] > 0.2:  # cheek raise: crow's feet / lower-lid bulge
            cv2.ellipse(frame, P(ex, eye_y + 0.045), (L(0.06), L(0.015)), pose.roll, 0, 180, (skin * 0.7).astype(int).tolist(), L(0.008), cv2.LINE_AA)
        # brows: inner end raised by AU1, outer by AU2, both lowered and pulled in by AU4
        inner_y = eye_y - 0.085 - 0.06 * au["AU1"] + 0.045 * au["AU4"]
        outer_y = eye_y - 0.085 - 0.065 * au["AU2"] + 0.01 * au["AU4"]
        inner_x = sx * (es - 0.07 + 0.018 * au["AU4"])
        outer_x = sx * (es + 0.085)
        mid = ((inner_x + outer_x) / 2, (inner_y + outer_y) / 2 - 0.018)
        pts = np.array([P(inner_x, inner_y), P(*mid), P(outer_x, outer_y)], np.int32)
        cv2.polylines(frame, [pts], False, ident.hair if ident.hair_style != 2 else (40, 40, 40), L(ident.brow_thickness), cv2.LINE_AA)
        if ident.glasses:
            cv2.ellipse(frame, P(ex, eye_y), (L(0.11), L(0.075)), pose.roll, 0, 360, (30, 30, 30), L(0.012), cv2.LINE_AA)
    if ident.glasses:
        cv2.line(frame, P(-es + 0.11, eye_y), P(es - 0.11, eye_y), (30, 30, 30), L(0.012), cv2.LINE_AA)
    if au["AU4"] > 0.3:  # vertical furrows between the brows
        for sx in (-1, 1):
            cv2.line(frame, P(sx * 0.02, eye_y - 0.05), P(sx * 0.025, eye_y - 0.1), (skin * 0.6).astype(int).tolist(), L(0.007), cv2.LINE_AA)
    if au["AU9"] > 0.3:  # nose wrinkles
        for k in range(2):
            y = 0.01 + 0.025 * k
            cv2.line(frame, P(-0.04, y), P(0.04, y), (skin * 0.6).astype(int).tolist(), L(0.007), cv2.LINE_AA)
    # mouth
    my = 0.25
    mw = ident.mouth_width * (1 + 0.25 * au["AU12"] + 0.35 * au["AU20"] - 0.2 * au["AU23"] - 0.1 * au["AU10"])
    corner_up = 0.055 * au["AU12"] - 0.05 * au["AU15"] - 0.012 * au["AU20"]
    opening = 0.012 + 0.03 * au["AU25"] + 0.1 * au["AU26"] + 0.13 * pose.mouth_open - 0.01 * au["AU23"]
    upper_raise = 0.025 * au["AU10"]
    lips = (np.array([80, 80, 170], np.float32) * 0.6 + skin * 0.4).astype(int).tolist()
    left, right = (-mw / 2, my - corner_up), (mw / 2, my - corner_up)
    upper = [left, (-mw / 4, my - 0.012 - upper_raise), (0, my - 0.008 - upper_raise), (mw / 4, my - 0.012 - upper_raise), right]
    lower = [right, (mw / 4, my + opening + 0.012), (0, my + opening + 0.02), (-mw / 4, my + opening + 0.012), left]
    outline = np.array([P(*p) for p in upper + lower], np.int32)
    cv2.fillPoly(frame, [outline], lips, cv2.LINE_AA)
    if opening > 0.02:
        inner_up = [(-mw / 2 + 0.02, my - corner_up * 0.8), (0, my - 0.002 - upper_raise), (mw / 2 - 0.02, my - corner_up * 0.8)]
        inner_lo = [(mw / 2 - 0.02, my - corner_up * 0.8), (0, my + opening), (-mw / 2 + 0.02, my - corner_up * 0.8)]
        cv2.fillPoly(frame, [np.array([P(*p) for p in inner_up + inner_lo], np.int32)], (30, 20, 40), cv2.LINE_AA)
        if au["AU12"] > 0.3 or au["AU10"] > 0.3:
            cv2.fillPoly(frame, [np.array([P(*p) for p in inner_up + [(mw / 4, my + 0.01 - upper_raise), (-mw / 4, my + 0.01 - upper_raise)]], np.int32)],
                         (225, 230, 235), cv2.LINE_AA)
    cv2.polylines(frame, [np.array([P(*p) for p in [left, (0, my + opening * 0.5 - corner_up * 0.3), right]], np.int32)], False, dark, L(0.006), cv2.LINE_AA)
    if au["AU12"] > 0.3:  # nasolabial folds
        for sx in (-1, 1):
            cv2.ellipse(frame, P(sx * (mw / 2 + 0.01), my - 0.06), (L(0.02), L(0.06)), pose.roll, -60 if sx > 0 else 60, 60 if sx > 0 else 120,
                        (skin * 0.7).astype(int).tolist(), L(0.007), cv2.LINE_AA)
