"""emolab: multimodal classroom emotion recognition for education research.

The core package is headless: it never imports ipywidgets, Voila or Jupyter, and heavy
libraries (torch, mediapipe, librosa, flwr) are imported where they are used, so that
``import emolab`` is quick. The interactive layer lives in the separate ``emolab_widgets`` package (``widgets/`` folder).

Stages, one module (or subpackage) each, in pipeline order:

- :mod:`emolab.taxonomy` - the canonical emotions and every corpus's label mapping
- :mod:`emolab.data` - corpus readers into one tidy manifest, leak-free splits
- :mod:`emolab.synth` - synthetic lessons and training sets with ground truth
- :mod:`emolab.balancing` - SMOTE and friends, inside training folds only
- :mod:`emolab.audit` - the leakage lab
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import DataError, EmolabError, MediaError, ModelError, OutputError, SplitError
from .taxonomy import EMOTIONS, VALENCE, canonical_label


def pretrained(name: str, device: str = "cpu"):
    """Load a model bundled with emolab (``face``, ``speech``, ``text``, ``synthetic``); see :mod:`emolab.bundled`."""
    from .bundled import pretrained as _load

    return _load(name, device)


def analyze_lesson(video, transcript=None, *, audio=None, config=None, out=None, progress: bool = True, models=None,
                   callback=None, thumbnails: bool = True):
    """Per-student emotion timelines of a lesson recording; see :func:`emolab.timeline.analyze_lesson`
    (same parameters; imported on first call so that ``import emolab`` stays light)."""
    from .timeline import analyze_lesson as _analyze

    return _analyze(video, transcript, audio=audio, config=config, out=out, progress=progress, models=models,
                    callback=callback, thumbnails=thumbnails)


__all__ = [
    "pretrained",
    "analyze_lesson",
    "__version__",
    "EMOTIONS",
    "VALENCE",
    "canonical_label",
    "EmolabError",
    "DataError",
    "MediaError",
    "ModelError",
    "OutputError",
    "SplitError",
]
