"""Preprocessing: recordings into model inputs (face crops and clips, speech and text features,
and :func:`lesson_windows`, a lesson as a multimodal per-person, per-window Dataset)."""

from .crops import crop_face, square_box
from .windows import LessonWindows, WindowConfig, lesson_windows

__all__ = ["crop_face", "square_box", "LessonWindows", "WindowConfig", "lesson_windows"]
