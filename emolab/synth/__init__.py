"""Synthetic lessons and training sets with ground truth (for demos, tests, Binder and teaching).

Nothing here is real data about real people: faces are drawn, voices synthesised, sentences
templated; the one exception, :func:`composite_lesson`, pastes real face images that the caller supplies
into a drawn classroom (the package holds none). They exist so that every stage can run on a fresh machine *and be checked against
truth*. See ``docs/synthetic.md`` for what a synthetic domain can and cannot show.
"""

from .composite import COMPOSITE_TRUTH_COLUMNS, FaceSource, composite_lesson, visible_truth
from .faces import AU_NAMES, EMOTION_AUS, Identity, Pose, au_vector, render_face
from .lesson import LessonConfig, LessonResult, TRUTH_COLUMNS, generate_lesson, iter_frames, plan_lesson, read_truth, render_audio
from .voice import PROSODY, Voice, synthesize_utterance

__all__ = ["COMPOSITE_TRUTH_COLUMNS", "FaceSource", "composite_lesson", "visible_truth", "AU_NAMES", "EMOTION_AUS", "Identity", "Pose", "au_vector", "render_face", "LessonConfig", "LessonResult",
           "TRUTH_COLUMNS", "generate_lesson", "iter_frames", "plan_lesson", "read_truth", "render_audio", "PROSODY",
           "Voice", "synthesize_utterance", "TrainsetConfig", "generate_trainset", "load_trainset"]


def __getattr__(name):  # trainset imports preprocessing; load it on first use
    if name in ("TrainsetConfig", "generate_trainset", "load_trainset"):
        from . import trainset

        return getattr(trainset, name)
    raise AttributeError(name)
