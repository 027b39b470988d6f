"""Preprocessing: recordings into model inputs (face crops and clips, speech and text features)."""

from .crops import crop_face, square_box

__all__ = ["crop_face", "square_box"]
