"""The bundled sample lesson: a synthetic lesson generated on first use and reused afterwards.

No real classroom video ships with emolab (it would be data about real children). The sample
lesson is generated deterministically (seed 0) the first time it is needed, into emolab's user data
folder (:func:`data_home`: ``$EMOLAB_DATA_HOME``, else ``$XDG_DATA_HOME/emolab``, else
``~/.local/share/emolab``), never inside the installed package, or into a folder you choose.

Run ``python -m emolab.samples [FOLDER]`` to prepare it (the Makefile and Binder's ``postBuild``
do this).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .synth.lesson import LessonConfig, generate_lesson

SAMPLE_CONFIG = LessonConfig(n_students=8, seconds=60.0, seed=0, layout="gallery", width=640, height=360, fps=15.0)
"""The sample lesson: 60 s, teacher + 8 students, online-class gallery, 640x360 at 15 fps."""



def data_home() -> Path:
    """emolab's user data folder: ``$EMOLAB_DATA_HOME``, else ``$XDG_DATA_HOME/emolab``, else ``~/.local/share/emolab``."""
    import os

    if os.environ.get("EMOLAB_DATA_HOME"):
        return Path(os.environ["EMOLAB_DATA_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "emolab"


DEFAULT_FOLDER = data_home() / "sample_lesson"
"""Where the sample lesson is kept unless a folder is given (read when emolab.samples is imported)."""


def sample_lesson(folder: str | Path | None = None, progress: bool = False) -> Path:
    """Path of the sample lesson's folder, generating it if it is missing or incomplete.

    Parameters
    ----------
    folder : path, optional
        Where to keep it (default :data:`DEFAULT_FOLDER`, in the user data folder).
    progress : bool
        Show a progress bar while generating.
    """
    out = Path(folder) if folder else DEFAULT_FOLDER
    done = all((out / f).is_file() for f in ("lesson.mp4", "lesson.wav", "lesson.srt", "truth.csv", "lesson.json"))
    if done:
        try:
            same = LessonConfig.load(out / "lesson.json") == SAMPLE_CONFIG
        except Exception:
            same = False
        if same:
            return out
    generate_lesson(out, SAMPLE_CONFIG, overwrite=True, progress=progress)
    return out


if __name__ == "__main__":  # pragma: no cover - exercised through the Makefile
    where = sample_lesson(sys.argv[1] if len(sys.argv) > 1 else None, progress=True)
    print(f"sample lesson ready in {where}")
