"""Shared fixtures: tiny corpora written in each corpus's exact official layout (real files)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(os.environ.get("EMOLAB_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real corpora not found at {SHARED_DATA} (set EMOLAB_SHARED_DATA to their folder)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


def import_benchmark(name: str):
    """A script of ``benchmarks/`` imported as a module (its folder on ``sys.path`` only while importing)."""
    import importlib
    import sys

    bench = str(Path(__file__).resolve().parents[1] / "benchmarks")
    sys.path.insert(0, bench)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(bench)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


def write_wav(path: Path, seconds: float = 0.2, sr: int = 16000, freq: float = 220.0) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)
    return path


def write_png(path: Path, size: int = 48, value: int = 128) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((size, size), value, np.uint8))
    return path


def write_video(path: Path, frames: int = 3, size: int = 32) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    w = cv2.VideoWriter(str(path), fourcc, 10.0, (size, size))
    for i in range(frames):
        w.write(np.full((size, size, 3), 40 * i, np.uint8))
    w.release()
    return path


@pytest.fixture(scope="session")
def tiny_lesson(tmp_path_factory) -> Path:
    """A 4-second synthetic lesson with 3 students (generated once per test session)."""
    from emolab.synth import LessonConfig, generate_lesson

    out = tmp_path_factory.mktemp("lesson") / "lesson"
    generate_lesson(out, LessonConfig(n_students=3, seconds=4.0, seed=3, width=320, height=180, fps=10.0), progress=False)
    return out
