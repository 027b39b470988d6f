"""Readers of each corpus's official layout; see :func:`emolab.data.read_corpus`."""

from .fer2013 import load_fer2013_image, read_fer2013
from .folder import read_folder
from .goemotions import read_goemotions
from .lesson import LessonFiles, find_lesson_files, read_annotations, read_lesson
from .meld import read_meld
from .ravdess import parse_ravdess_name, read_ravdess
from .speech import read_cremad, read_emodb, read_tess
from .video import read_ckplus, read_enterface

READERS = {
    "meld": read_meld,
    "enterface": read_enterface,
    "ravdess": read_ravdess,
    "ckplus": read_ckplus,
    "fer2013": read_fer2013,
    "tess": read_tess,
    "cremad": read_cremad,
    "emodb": read_emodb,
    "goemotions": read_goemotions,
    "folder": read_folder,
    "lesson": read_lesson,
}
"""Corpus name -> reader function."""

ALIASES = {"crema-d": "cremad", "crema_d": "cremad", "emo-db": "emodb", "berlin": "emodb", "ck+": "ckplus",
           "ck+48": "ckplus", "ck": "ckplus", "enterface05": "enterface", "enterface'05": "enterface",
           "fer": "fer2013", "ravdess_speech": "ravdess", "classroom": "lesson", "synthetic": "lesson"}


def _canonical(raw_labels) -> tuple[str, ...]:
    from ...taxonomy import EMOTIONS, canonical_label

    got = {canonical_label(r) for r in raw_labels}
    return tuple(e for e in EMOTIONS if e in got)


def _label_sets() -> dict[str, tuple[str, ...]]:
    from .speech import CREMAD_EMOTIONS, EMODB_EMOTIONS
    from .video import CKPLUS_CODES, ENTERFACE_CODES

    return {"ckplus": _canonical(v for k, v in CKPLUS_CODES.items() if k != 0),  # sequences are labelled 1-7; CK+48 has no neutral
            "cremad": _canonical(CREMAD_EMOTIONS.values()), "emodb": _canonical(EMODB_EMOTIONS.values()),
            "enterface": _canonical(ENTERFACE_CODES.values())}


LABEL_SETS = _label_sets()
"""Corpora whose documented emotions are fewer than the canonical seven -> those emotions (canonical names):
CK+ has no neutral class (contempt counts as disgust), CREMA-D and Emo-DB no surprise (boredom counts as neutral),
eNTERFACE'05 no neutral."""

__all__ = ["READERS", "ALIASES", "LABEL_SETS", "LessonFiles", "find_lesson_files", "read_annotations", "load_fer2013_image",
           "parse_ravdess_name"] + [f.__name__ for f in READERS.values()]
