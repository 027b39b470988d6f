"""An on-disk cache of expensive features, keyed by the content of the input and the settings.

A re-run reuses what was computed; an interrupted run resumes where it stopped (every entry is
written atomically, so a half-written entry never exists). Renaming or moving a file keeps its
cache entries (the key is the file's content hash, not its path); editing it invalidates them.

The default location is ``$EMOLAB_CACHE`` or ``data/cache`` beside the package; pass ``root``
to choose another. Entries are plain ``.npy`` files, loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .atomic import atomic_path

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "data" / "cache"
_CHUNK = 1 << 20


def file_hash(path: str | os.PathLike) -> str:
    """BLAKE2b (128-bit) hex digest of a file's content, read in 1 MiB chunks."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def settings_hash(settings: Any) -> str:
    """Short stable digest of JSON-able settings (dict keys sorted)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class FeatureCache:
    """Disk cache of numpy arrays.

    Parameters
    ----------
    namespace : str
        Sub-folder, one per kind of feature (``"mfcc"``, ``"faces"``, ...).
    root : path, optional
        Cache folder; default ``$EMOLAB_CACHE`` or ``data/cache``.
    enabled : bool
        False computes every time and stores nothing.
    """

    def __init__(self, namespace: str, root: str | os.PathLike | None = None, enabled: bool = True):
        self.namespace = namespace
        self.root = Path(root or os.environ.get("EMOLAB_CACHE") or DEFAULT_ROOT)
        self.enabled = enabled
        self._hashes: dict[tuple[str, float, int], str] = {}

    def key(self, path: str | os.PathLike, settings: Any) -> str:
        """Cache key of a file under some settings."""
        p = Path(path)
        st = p.stat()
        memo = (str(p.resolve()), st.st_mtime, st.st_size)
        if memo not in self._hashes:
            self._hashes[memo] = file_hash(p)
        return f"{self._hashes[memo]}-{settings_hash(settings)}"

    def _where(self, key: str) -> Path:
        return self.root / self.namespace / key[:2] / f"{key}.npy"

    def get_or_compute(self, path: str | os.PathLike, settings: Any, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array for ``(path, settings)``, computing and storing it if absent."""
        if not self.enabled:
            return compute()
        where = self._where(self.key(path, settings))
        if where.is_file():
            try:
                return np.load(where, allow_pickle=False)
            except (ValueError, OSError):
                where.unlink(missing_ok=True)  # unreadable entry: recompute
        value = np.asarray(compute())
        with atomic_path(where) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, value, allow_pickle=False)
        return value

    def __contains__(self, item: tuple[str | os.PathLike, Any]) -> bool:
        path, settings = item
        return self._where(self.key(path, settings)).is_file()
