"""emolab's exceptions: one line a user understands, naming the file when there is one.

Every error that emolab raises on bad input derives from :class:`EmolabError`, so a script can
catch them all, and the command line prints them as a single line (no traceback) and exits 2.
"""

from __future__ import annotations

import os
from typing import Optional


class EmolabError(Exception):
    """Base class of emolab's user-facing errors.

    Parameters
    ----------
    message : str
        What went wrong, in words a teacher or researcher understands.
    path : str or os.PathLike, optional
        The file or folder concerned; it is put in front of the message.
    hint : str, optional
        What to do about it; appended to the message.
    """

    def __init__(self, message: str, path: Optional[os.PathLike | str] = None, hint: Optional[str] = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class DataError(EmolabError):
    """A corpus, manifest, label file or transcript that cannot be read as expected."""


class MediaError(EmolabError):
    """A video or audio file that cannot be decoded (corrupt, truncated, empty, wrong type)."""


class SplitError(EmolabError):
    """A requested train/test split that would leak a subject across its sides, or cannot be made."""


class ModelError(EmolabError):
    """A model file that is missing, tampered with, or from an incompatible version."""


class OutputError(EmolabError):
    """An output location that cannot be written (permissions, disk full, not empty)."""
