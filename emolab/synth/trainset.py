"""Synthetic training sets: many short labelled multimodal clips from many identities.

Each sample is one person showing one emotion for about a second:

* a face clip of ``n_frames`` grayscale crops (``size`` x ``size``), cut from a rendered frame
  with :func:`emolab.preprocessing.crop_face` from the box a real detector reports
  (:func:`~emolab.synth.faces.detector_like_box`, with its measured jitter), exactly as the lesson
  pipeline cuts detected faces, through the episode's onset or apex, with
  head motion, blinks, lighting changes and, for some clips, speech;
* an utterance in the person's synthetic voice with the emotion's prosody (``audio_seconds``);
* a templated sentence: with probability ``text_consistency`` one that carries the emotion, else
  an emotionally neutral one (as most classroom talk is) — so no single modality is perfect and
  fusion has something to add;
* audio with background noise at a random speech-to-noise ratio (``snr_db``).

Identities are the subjects: ``group`` is the identity, so models can be trained and evaluated
subject-independently within the synthetic domain. Written files:

``faces.npy``  uint8 [n, n_frames, size, size]
``audio.npy``  float16 [n, audio_seconds * sample_rate]
``manifest.csv``  one row per sample (emolab manifest columns + ``index, identity, role``)
``trainset.json``  the configuration
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Config
from ..data.manifest import make_manifest
from ..errors import DataError, EmolabError
from ..preprocessing.crops import crop_face
from ..taxonomy import EMOTIONS
from .faces import Identity, Pose, au_vector, detector_like_box, render_face
from .text import make_sentence
from .voice import SAMPLE_RATE, Voice, synthesize_utterance


@dataclass
class TrainsetConfig(Config):
    """Settings of a synthetic training set."""

    n_identities: int = 24
    clips_per_emotion: int = 4
    n_frames: int = 8  # 8 frames at 5 fps: the clips the lesson pipeline cuts (1.6 s)
    size: int = 48
    fps: float = 5.0
    audio_seconds: float = 1.6
    sample_rate: int = SAMPLE_RATE
    seed: int = 0
    text_consistency: float = 0.6  # share of clips whose sentence carries the emotion (others: neutral wording)
    snr_db: tuple[float, float] = (10.0, 30.0)  # range of the speech-to-noise ratio of the audio

    def validate(self) -> "TrainsetConfig":
        if self.n_identities < 1 or self.clips_per_emotion < 1 or self.n_frames < 1:
            raise EmolabError("n_identities, clips_per_emotion and n_frames must be positive")
        if self.size not in (32, 48, 64, 96, 112, 128):
            raise EmolabError(f"size must be one of 32, 48, 64, 96, 112, 128 (got {self.size})")
        return self


def render_clip(identity: Identity, emotion: str, n_frames: int, size: int, fps: float, rng: np.random.Generator,
                speaking: np.ndarray | None = None) -> np.ndarray:
    """A face clip [n_frames, size, size] uint8 of ``identity`` showing ``emotion``."""
    face_h = float(rng.uniform(40, 110))
    canvas = int(face_h * 2.6)
    bg = rng.integers(60, 220, 3)
    gain = rng.uniform(0.75, 1.2)
    phase = rng.uniform(-0.6, 1.0)  # where in the episode the clip starts: onset (<0) or apex
    motion = np.stack([rng.uniform(0.1, 0.4, 4), rng.uniform(0, 2 * np.pi, 4)], -1)
    blink_at = rng.uniform(-1, n_frames / fps + 1)
    box_rng = np.random.default_rng(int(rng.integers(2**32)))
    frames = np.empty((n_frames, size, size), np.uint8)
    for f in range(n_frames):
        t = f / fps
        inten = float(np.clip(0.35 + phase + 1.2 * t, 0.35, 1.0)) if emotion != "neutral" else 0.0
        wob = np.sin(2 * np.pi * motion[:, 0] * t + motion[:, 1])
        mouth = float(speaking[f]) if speaking is not None else 0.0
        pose = Pose(dx=0.04 * wob[0], dy=0.03 * wob[1], roll=7 * wob[2], yaw=0.5 * wob[3],
                    eye_open=float(np.clip(abs(t - blink_at) / 0.08, 0, 1)), mouth_open=mouth)
        img = np.empty((canvas, canvas, 3), np.uint8)
        img[:] = bg
        x, y, w, h = render_face(img, canvas / 2, canvas / 2, face_h, identity, au_vector(emotion, inten), pose)
        img = np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        frames[f] = crop_face(img, detector_like_box((x, y, w, h), box_rng), size=size)
    return frames


def generate_trainset(outdir: str | os.PathLike, config: TrainsetConfig | None = None, overwrite: bool = False,
                      progress: bool = True) -> pd.DataFrame:
    """Write a synthetic training set to ``outdir`` and return its manifest.

    The manifest's ``index`` column gives each sample's row in ``faces.npy``/``audio.npy``.
    Same seed, same arrays.
    """
    from tqdm.auto import tqdm

    from ..atomic import write_text

    from ..atomic import atomic_folder

    cfg = (config or TrainsetConfig()).validate()
    out = Path(outdir)
    with atomic_folder(out, overwrite) as tmp:
        rng = np.random.default_rng(cfg.seed)
        n = cfg.n_identities * len(EMOTIONS) * cfg.clips_per_emotion
        n_audio = int(round(cfg.audio_seconds * cfg.sample_rate))
        faces = np.lib.format.open_memmap(tmp / "faces.npy", mode="w+", dtype=np.uint8, shape=(n, cfg.n_frames, cfg.size, cfg.size))
        audio = np.lib.format.open_memmap(tmp / "audio.npy", mode="w+", dtype=np.float16, shape=(n, n_audio))
        rows = []
        bar = tqdm(total=n, desc="synthetic clips", unit="clip", disable=not progress, leave=False)
        i = 0
        for k in range(cfg.n_identities):
            pid = f"ID{k:03d}"
            ident = Identity.random(pid, rng)
            voice = Voice.random(rng, ["child", "child", "adult_female", "adult_male"][k % 4])
            role = "teacher" if k % 4 >= 2 else "student"
            for emotion in EMOTIONS:
                for _ in range(cfg.clips_per_emotion):
                    wave = synthesize_utterance(voice, emotion, cfg.audio_seconds, rng, cfg.sample_rate)
                    snr = rng.uniform(*cfg.snr_db)
                    power = float(np.mean(wave.astype(np.float64) ** 2)) + 1e-12
                    wave = np.clip(wave + rng.normal(0, np.sqrt(power / 10 ** (snr / 10)), wave.shape), -1, 1).astype(np.float32)
                    hop = cfg.sample_rate / cfg.fps
                    env = np.array([np.sqrt(np.mean(seg ** 2)) if (seg := wave[int(f * hop): int((f + 1) * hop)]).size else 0.0
                                    for f in range(cfg.n_frames)])
                    env = np.clip(env / (0.6 * env.max() + 1e-9), 0, 1) if rng.random() < 0.5 else None
                    faces[i] = render_clip(ident, emotion, cfg.n_frames, cfg.size, cfg.fps, rng, env)
                    audio[i] = wave[:n_audio]
                    rows.append({"sample_id": f"{pid}/{emotion}/{i:05d}", "path": str(out / "faces.npy"),
                                 "audio_path": str(out / "audio.npy"),
                                 "text": make_sentence(role, emotion if rng.random() < cfg.text_consistency else "neutral", rng),
                                 "modalities": "face+audio+text", "label": emotion, "raw_label": emotion, "group": pid,
                                 "index": i, "identity": pid, "role": role})
                    i += 1
                    bar.update()
        bar.close()
        faces.flush()
        audio.flush()
        del faces, audio
        manifest = make_manifest(rows, "synthetic")
        manifest.to_csv(tmp / "manifest.csv", index=False)
        write_text(tmp / "trainset.json", cfg.to_json() + "\n")
    return manifest


def load_trainset(folder: str | os.PathLike, mmap: bool = True) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read a training set written by :func:`generate_trainset`.

    Returns
    -------
    manifest : pandas.DataFrame
    faces : np.ndarray [shape=(n, n_frames, size, size), dtype=uint8] (memory-mapped by default)
    audio : np.ndarray [shape=(n, n_samples), dtype=float16]
    """
    p = Path(folder)
    needed = [p / "manifest.csv", p / "faces.npy", p / "audio.npy"]
    missing = [f.name for f in needed if not f.is_file()]
    if missing:
        raise DataError(f"not a synthetic training set: missing {', '.join(missing)}", path=p)
    manifest = pd.read_csv(p / "manifest.csv", keep_default_na=False)
    mode = "r" if mmap else None
    faces, audio = np.load(p / "faces.npy", mmap_mode=mode), np.load(p / "audio.npy", mmap_mode=mode)
    if len(faces) != len(manifest) or len(audio) != len(manifest):
        raise DataError("manifest.csv and the arrays disagree on the number of samples", path=p)
    return manifest, faces, audio
