"""The utterance functionals of benchmarks/speech_functionals.py (issue 22 part 3): known answers on synthetic signals."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

sf = pytest.importorskip("speech_functionals")
SR = 16000


def _voice(f0: np.ndarray, seconds: float) -> np.ndarray:
    """A harmonic 'voice' (5 harmonics) following the pitch contour ``f0`` (Hz per sample)."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (0.2 * y / np.abs(y).max()).astype(np.float32)


def test_blocks_shapes_and_finite():
    rng = np.random.default_rng(0)
    y = _voice(np.full(SR * 2, 150.0), 2) + rng.normal(0, 1e-3, SR * 2).astype(np.float32)
    b = {**sf.all_blocks(y), **sf.extra_blocks(y)}
    assert set(b) == set(sf.MAP_BLOCKS + sf.WAVE_BLOCKS + sf.EXTRA_BLOCKS)
    assert b["mfcc_mean"].shape == (19,) and b["delta_std"].shape == (40,) and b["logmel_shape"].shape == (40,)
    assert all(np.isfinite(v).all() for v in b.values())
    silence = np.zeros(SR * 3, np.float32)  # no voiced frames: pitch statistics are zeros, nothing is NaN
    s = {**sf.all_blocks(silence), **sf.extra_blocks(silence)}
    assert all(np.isfinite(v).all() for v in s.values()) and not s["pitch"].any()


def test_pitch_is_relative_to_the_utterance_median():
    n = SR * 2
    steady = sf.all_blocks(_voice(np.full(n, 200.0), 2))
    glide = sf.all_blocks(_voice(np.geomspace(150.0, 300.0, n), 2))  # one octave up over 2 s
    assert steady["pitch_abs"][0] == pytest.approx(12 * np.log2(2.0), abs=0.5)  # 200 Hz = 12 semitones above 100 Hz
    assert steady["pitch"][0] < 0.3 and steady["pitch"][6] > 0.8  # steady: no spread, almost all active frames voiced
    assert 8 < glide["pitch"][3] < 12.5  # p90 - p10 of a one-octave glide: 80 % of 12 semitones
    assert glide["pitch"][4] > 0  # rising slope
    # an octave higher voice with the same contour: same relative statistics, absolute median + 12 semitones
    high = sf.all_blocks(_voice(np.full(n, 400.0), 2))
    assert high["pitch_abs"][0] - steady["pitch_abs"][0] == pytest.approx(12.0, abs=0.5)


def test_padding_and_gain_do_not_move_the_statistics():
    """Zero padding to the 3-s window is left out (active frames only); loudness is relative to the utterance."""
    rng = np.random.default_rng(1)
    f0 = 180 + 30 * np.sin(np.linspace(0, 6, SR * 2))
    y = _voice(f0, 2) * (0.5 + 0.5 * np.abs(np.sin(np.linspace(0, 9, SR * 2)))).astype(np.float32)
    y = y + rng.normal(0, 1e-3, len(y)).astype(np.float32)
    a, quiet = sf.all_blocks(y), sf.all_blocks(0.1 * y)
    for k in ("mfcc_std", "delta_std", "logmel_shape", "spectral", "loudness", "pitch", "level"):
        np.testing.assert_allclose(quiet[k], a[k], atol=0.05 * (np.abs(a[k]).max() + 1), err_msg=k)
    # mfcc_mean is *not* gain-invariant in c1..: kept as its own block that can be left out
    padded = sf.all_blocks(np.concatenate([np.zeros(SR // 4, np.float32), y, np.zeros(SR // 4, np.float32)]))
    np.testing.assert_allclose(padded["pitch"], a["pitch"], atol=0.3)
    # both are padded to the same 3-s window, so where the silence sits does not matter: same active share and loudness
    assert padded["level"][4] == pytest.approx(a["level"][4], abs=0.02) and a["level"][4] == pytest.approx(2 / 3, abs=0.05)
    np.testing.assert_allclose(padded["loudness"], a["loudness"], atol=0.5)
