"""Is a face looking down? A linear probe on the face CNN's embedding.

A student reading or writing casts the eyes down, and FER2013, on which the face CNN learnt, files
most such faces under *sadness*: of 1,174 of its training faces people marked as looking down or not,
37 % of those labelled sad look down, against 10 % of the neutral ones and 2 % of the happy ones
(``benchmarks/annotations/fer2013_gaze.csv``). So a lesson read frame by frame reports a class bent
over its books as sad. The expression of a face whose eyes are down cannot be told from the face
alone, so emolab does not read it: a frame whose probe score is at or above the threshold is left out
of its clip, and a second whose read frames all look down gets the reason ``looking_down``.

The probe is a logistic regression on the face CNN's 256 pooled features (no extra pass: the lesson
reads them in the same pass as the logits), fitted by ``benchmarks/train_gaze_probe.py`` on
annotated FER2013 train faces at 48, 32, 24 and 16 px; its threshold is chosen on annotated
validation faces (``docs/readability.md``, "Looking down"). It belongs to one set of face weights:
its file names their SHA-256, and :func:`load_gaze_probe` gives None for any other.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ModelError

GAZE_FILE = "face_gaze.json"


@dataclass(frozen=True)
class GazeProbe:
    """A looking-down probe: ``P(down) = sigmoid(embedding @ weight + bias)``, down where ``P >= threshold``.

    Attributes
    ----------
    weight : np.ndarray [shape=(d,), dtype=float64]
        Coefficients on the face CNN's embedding (its standardisation folded in).
    bias : float
    threshold : float
        Probability at or above which a frame is taken as looking down.
    face_sha256 : str
        Digest of the face weights whose embedding the probe reads.
    """

    weight: np.ndarray
    bias: float
    threshold: float
    face_sha256: str

    def score(self, embedding: np.ndarray) -> np.ndarray:
        """P(looking down) of each row of ``embedding`` [n, d] -> [n] (float64, 0..1)."""
        e = np.asarray(embedding, np.float64)
        if e.ndim != 2 or e.shape[1] != len(self.weight):
            raise ModelError(f"the gaze probe reads embeddings of {len(self.weight)} numbers, got shape {e.shape}")
        return 1.0 / (1.0 + np.exp(-(e @ self.weight + self.bias)))

    def looking_down(self, embedding: np.ndarray) -> np.ndarray:
        """Boolean [n]: the frames taken as looking down (score at or above :attr:`threshold`)."""
        return self.score(embedding) >= self.threshold

    def to_dict(self) -> dict:
        return {"face_sha256": self.face_sha256, "threshold": float(self.threshold), "bias": float(self.bias),
                "weight": [float(w) for w in self.weight]}


def fit_gaze_probe(embeddings: np.ndarray, down: np.ndarray, *, C: float = 0.01, threshold: float = 0.5,
                   face_sha256: str = "") -> GazeProbe:
    """Fit a probe: standardised features, L2 logistic regression, the standardisation folded into the weights.

    Parameters
    ----------
    embeddings : np.ndarray [shape=(n, d)]
        Face CNN embeddings of annotated faces.
    down : np.ndarray [shape=(n,), dtype=bool]
        True where people saw the eyes looking down.
    C : float
        Inverse regularisation strength (scikit-learn's).
    threshold, face_sha256
        Stored with the probe.
    """
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(embeddings, np.float64)
    y = np.asarray(down, bool)
    if X.ndim != 2 or len(X) != len(y):
        raise ModelError(f"embeddings [n, d] and labels [n] do not match: {X.shape} and {y.shape}")
    if y.all() or not y.any():
        raise ModelError("the probe needs faces looking down and faces not looking down")
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=5000).fit((X - mean) / scale, y)
    w = lr.coef_[0] / scale
    return GazeProbe(w, float(lr.intercept_[0] - w @ mean), float(threshold), face_sha256)


def save_gaze_probe(path: str | os.PathLike, probe: GazeProbe, **info) -> Path:
    """Write ``probe`` (and ``info``: how it was made) as JSON, atomically."""
    from ..atomic import write_text

    return write_text(path, json.dumps({**info, **probe.to_dict()}, indent=1) + "\n")


def load_gaze_probe(path: str | os.PathLike, face_sha256: str) -> Optional[GazeProbe]:
    """The probe in ``path`` if it was fitted on the face weights with digest ``face_sha256``, else None
    (no file, or another face model: its embedding means something else)."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
        probe = GazeProbe(np.asarray(d["weight"], np.float64), float(d["bias"]), float(d["threshold"]), str(d["face_sha256"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read the gaze probe ({exc})", path=p,
                         hint="re-make it: benchmarks/train_gaze_probe.py") from None
    return probe if probe.face_sha256 == face_sha256 else None


def gaze_threshold(models) -> Optional[float]:
    """The threshold of the gaze probe a set of lesson models runs (``models.gaze``), None where it has none:
    recorded in an analysis so a reader knows whether downcast faces were left unread."""
    probe = getattr(models, "gaze", None)
    return None if probe is None else float(probe.threshold)
