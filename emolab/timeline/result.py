"""The settings and the result of a lesson analysis (:func:`~emolab.timeline.analyze_lesson`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..config import KEYFRAME_INTERVAL, Config
from ..preprocessing.quality import ReadabilityRule
from .alerts import AlertConfig


@dataclass
class AnalysisConfig(Config):
    """Settings of :func:`~emolab.timeline.analyze_lesson`."""

    model: str = "pretrained"  # "pretrained" (real models), "synthetic" (synthetic-domain fused), or a .safetensors path
    sample_fps: float = 5.0
    clip_stride: float = 1.0  # seconds between face clips of a person
    face_frame_step: int = 3  # per-frame face models classify every n-th readable frame of a clip (3: 2 of 5; 2: 3 of 5; 1: all)
    smoothing: str = "hmm"  # "none", "ema", "hmm"
    ema_alpha: float = 0.5
    hmm_stay: float = 0.9
    detector_tiles: str = "auto"
    keyframe_interval: float = KEYFRAME_INTERVAL  # seconds between full (tiled) face detections, template tracking between (0: every sampled frame)
    max_side: int = 1280  # frames larger than this are downscaled first (4K at HD cost)
    align_faces: bool = False  # rotate crops so the eyes are level (off: the bundled models were trained on unaligned crops)
    save_faces: bool = False  # write unblurred face crops (faces/<person>/<t>.png) to the output folder; off by default (privacy)
    use_transcript: bool = True
    teacher_share: float = 0.35  # the teacher holds at least this share of all speech (off-camera included), 1.5x the next person, >= 5 s in >= 2 turns
    weights: Optional[dict] = None  # late-fusion weights for the pretrained models
    device: str = "auto"  # "auto": CUDA when a GPU is present (EMOLAB_DEVICE overrides), else the CPU; or "cpu", "cuda", "cuda:1"
    precision: str = "auto"  # model inference: "auto" (CPU: int8 face CNN, bf16 elsewhere where native; CUDA: fp16), "int8", "fp32", "bf16", "fp16"
    alerts: AlertConfig = field(default_factory=AlertConfig)
    readability: ReadabilityRule = field(default_factory=ReadabilityRule)  # which face sightings an emotion may be read from
    min_readable_share: float = 0.5  # a face clip counts only when at least this share of its frames is readable

    def on_device(self) -> "AnalysisConfig":
        """These settings with ``device`` resolved to the torch device the models run on
        (:func:`emolab.device.choose_device`: ``"auto"`` is CUDA when a GPU is present, else the CPU)."""
        from dataclasses import replace

        from ..device import choose_device

        return replace(self, device=choose_device(None if self.device in ("", "auto") else self.device))


@dataclass
class LessonAnalysis:
    """All results of one lesson (tidy DataFrames; see ``docs/timelines.md`` for the columns).

    Attributes
    ----------
    timeline, students, speech, utterances, alerts, faces : pandas.DataFrame
        The tables written as ``<name>.csv``.
    info : dict
        Facts about the run (``analysis.json``).
    config : AnalysisConfig
    thumbnails : dict
        Person -> a colour face crop uint8 [96, 96, 3] (the sighting with the best detector score),
        kept in memory only; exported images are blurred (:func:`emolab.privacy.blur_face`).
    """

    timeline: pd.DataFrame
    students: pd.DataFrame
    speech: pd.DataFrame
    utterances: pd.DataFrame
    alerts: pd.DataFrame
    faces: pd.DataFrame
    info: dict
    config: AnalysisConfig
    thumbnails: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def write(self, out: str | os.PathLike, *, report: bool = True) -> Path:
        """Write the tables (and ``report.html``, with blurred thumbnails) to ``out``, each file atomically.

        Returns
        -------
        pathlib.Path
            ``out``.
        """
        from .io import write_analysis

        return write_analysis(self, out, report=report)
