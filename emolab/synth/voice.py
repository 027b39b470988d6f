"""Synthetic voices: source-filter speech whose prosody follows the emotion.

A :class:`Voice` is a speaker (base pitch, formant scaling for vocal-tract length, breathiness).
:func:`synthesize_utterance` makes a babble of syllables: a glottal pulse train (with jitter and
shimmer) filtered by vowel formants (second-order resonators), consonant noise bursts between
syllables, and an intonation contour. :data:`PROSODY` sets, per emotion, the pitch level and
range, speaking rate, energy, jitter and breathiness relative to neutral, following the
directions reported in the vocal-affect literature (e.g. Banse & Scherer, 1996: anger and joy
raise pitch, range and energy; sadness lowers them and slows the rate; fear raises pitch and rate).

It is not intelligible speech, but it carries the acoustic cues that MFCC/prosody models use, so
the speech branch can be trained and checked on the synthetic domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

SAMPLE_RATE = 16000

PROSODY: dict[str, dict[str, float]] = {
    #             pitch  range  rate  energy jitter breath
    "neutral":   dict(pitch=1.00, range=1.0, rate=1.00, energy=1.00, jitter=0.010, breath=0.05),
    "happiness": dict(pitch=1.22, range=1.7, rate=1.10, energy=1.35, jitter=0.012, breath=0.04),
    "surprise":  dict(pitch=1.35, range=2.0, rate=0.95, energy=1.25, jitter=0.012, breath=0.06),
    "anger":     dict(pitch=1.15, range=1.5, rate=1.15, energy=1.80, jitter=0.025, breath=0.02),
    "fear":      dict(pitch=1.40, range=0.9, rate=1.25, energy=0.85, jitter=0.035, breath=0.12),
    "sadness":   dict(pitch=0.88, range=0.45, rate=0.78, energy=0.55, jitter=0.015, breath=0.15),
    "disgust":   dict(pitch=0.93, range=0.8, rate=0.85, energy=1.05, jitter=0.018, breath=0.08),
}
"""Prosody of each emotion relative to a speaker's neutral voice."""

# F1, F2, F3 of a few vowels (Hz, adult male reference)
VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480], [570, 840, 2410], [300, 870, 2240], [660, 1720, 2410]], float)


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker."""

    pitch: float  # neutral mean F0 in Hz
    formant_scale: float  # >1 shorter vocal tract (higher formants)
    breathiness: float

    @staticmethod
    def random(rng: np.random.Generator, kind: str = "child") -> "Voice":
        """A random adult (``"adult_male"``, ``"adult_female"``) or ``"child"`` voice."""
        base = {"adult_male": (115, 1.0), "adult_female": (205, 1.15), "child": (255, 1.25)}[kind]
        return Voice(pitch=float(base[0] * rng.uniform(0.88, 1.12)), formant_scale=float(base[1] * rng.uniform(0.95, 1.05)),
                     breathiness=float(rng.uniform(0.02, 0.08)))


def _resonator(x: np.ndarray, freq: float, bw: float, sr: int) -> np.ndarray:
    r = np.exp(-np.pi * bw / sr)
    theta = 2 * np.pi * freq / sr
    a = [1.0, -2 * r * np.cos(theta), r * r]
    b = [1.0 - r]
    return lfilter(b, a, x)


def synthesize_utterance(voice: Voice, emotion: str, duration: float, rng: np.random.Generator,
                         sr: int = SAMPLE_RATE) -> np.ndarray:
    """A babbled utterance of ``duration`` seconds in ``voice`` with the prosody of ``emotion``.

    Parameters
    ----------
    voice : Voice
    emotion : str
        A canonical emotion (key of :data:`PROSODY`).
    duration : float > 0
        Seconds.
    rng : numpy Generator
    sr : int
        Sample rate in Hz.

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Waveform in [-1, 1].
    """
    p = PROSODY[emotion]
    n = max(1, int(round(duration * sr)))
    t = np.arange(n) / sr
    # syllable timing: ~4.5 syllables/s at neutral rate
    syl_rate = 4.5 * p["rate"] * rng.uniform(0.92, 1.08)
    n_syl = max(1, int(duration * syl_rate))
    bounds = np.sort(rng.uniform(0, duration, n_syl - 1)) if n_syl > 1 else np.array([])
    edges = np.concatenate([[0.0], np.linspace(0, duration, n_syl + 1)[1:-1] * 0.7 + bounds * 0.3, [duration]])
    # intonation: declination + per-syllable accents, scaled by the emotion's range
    f0 = voice.pitch * p["pitch"] * (1 + 0.08 * p["range"] * (0.5 - t / max(duration, 1e-3)))
    accents = rng.normal(0, 0.06 * p["range"], n_syl + 1)
    syl_idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, n_syl - 1)
    f0 = f0 * (1 + accents[syl_idx])
    f0 = f0 * (1 + rng.normal(0, p["jitter"], n))  # jitter, sample-wise then smoothed by the phase integral
    phase = np.cumsum(f0 / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal period
    shimmer = 1 + rng.normal(0, 2 * p["jitter"], n)
    source = lfilter([1.0], [1.0, -0.97], pulses * shimmer)  # glottal spectral tilt
    source = source / (np.abs(source).max() + 1e-9)
    noise = rng.normal(0, 1, n)
    source = source * (1 - p["breath"] - voice.breathiness) + noise * (p["breath"] + voice.breathiness) * 0.3
    # vowel formants, one vowel per syllable, crossfaded by filtering each syllable separately
    out = np.zeros(n)
    for s in range(n_syl):
        a, b = int(edges[s] * sr), int(edges[s + 1] * sr)
        if b <= a:
            continue
        seg = source[a:b]
        formants = VOWELS[rng.integers(len(VOWELS))] * voice.formant_scale
        y = sum(_resonator(seg, f, bw, sr) * g for f, bw, g in zip(formants, (80, 110, 160), (1.0, 0.6, 0.3)))
        # syllable envelope: consonant gap at the start, vowel nucleus, decay
        m = b - a
        env = np.sin(np.linspace(0, np.pi, m)) ** 0.6
        gap = int(0.18 * m)
        env[:gap] *= 0.05
        burst = rng.normal(0, 0.15, gap) * np.hanning(gap) if gap > 2 else np.zeros(gap)
        y = y / (np.abs(y).max() + 1e-9) * env
        y[:gap] += burst
        out[a:b] = y
    out *= 0.35 * p["energy"]
    # utterance fade in/out
    fade = min(n // 4, int(0.03 * sr))
    if fade > 0:
        ramp = np.linspace(0, 1, fade)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return np.clip(out, -1, 1).astype(np.float32)
