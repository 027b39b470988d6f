"""Atomic writes: a file is either complete or absent, never half-written.

Every result emolab writes (tables, reports, checkpoints, models) goes through these helpers:
the content is written to a temporary file in the same folder, flushed to disk, then renamed
over the target (``os.replace`` is atomic on POSIX and Windows). A crash or a full disk leaves at
most a ``.tmp-*`` file behind, never a truncated file under the real name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union

from .errors import OutputError

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    Use it with writers that want a file name (``DataFrame.to_csv``, ``torch.save``, OpenCV).
    On an exception the temporary file is removed and the target is left untouched.

    Raises
    ------
    OutputError
        If the folder cannot be written (missing permission, disk full).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=folder)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
    except OSError as exc:
        raise _output_error(exc, target) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # again: some writers (safetensors) replace the file with a private one
        os.replace(tmp_path, target)
    except OSError as exc:
        _remove_quietly(tmp_path)
        raise _output_error(exc, target) from None
    except BaseException:
        _remove_quietly(tmp_path)
        raise


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing; rename it to ``path`` when the block ends without error.

    Parameters
    ----------
    path : str or PathLike
        Final location.
    mode : {"w", "wb"}
        Text or binary.
    encoding : str, optional
        Text encoding (ignored in binary mode).
    """
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open supports modes 'w' and 'wb'")
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        try:
            with open(tmp, mode, **kwargs) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise _output_error(exc, Path(path)) from None


@contextlib.contextmanager
def atomic_folder(path: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder's content in a temporary sibling folder; move it into place only when complete.

    Raises :class:`OutputError` if ``path`` exists and is not empty (unless ``overwrite``) or
    cannot be created. On any exception (including Ctrl-C) the partial folder is removed and
    ``path`` is left as it was; on success a previous ``path`` is replaced.
    """
    import shutil

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError("exists and is not a folder", path=out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError("the output folder is not empty", path=out, hint="choose an empty folder or pass overwrite=True / --overwrite")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror}", path=out) from None
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_csv(path: PathLike, frame) -> Path:
    """Write a DataFrame to CSV atomically (no index) and return the path."""
    with atomic_open(path, "w") as fh:
        frame.to_csv(fh, index=False)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _output_error(exc: OSError, target: Path) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError("the disk is full; nothing was written", path=target)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError("no permission to write here", path=target, hint="choose another output folder")
    return OutputError(f"cannot write: {exc.strerror or exc}", path=target)
