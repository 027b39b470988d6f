"""Waveform augmentation that imitates rooms, microphones and channels (speech models).

Applied to the 16 kHz waveform *before* features, so the model sees what a classroom microphone
would give: noise and babble at a chosen signal-to-noise ratio, reverberation from a simulated
impulse response, telephone-like band-limiting, codec-like quantisation, gain, and pitch/tempo
changes. :func:`room_augment` draws one random chain of these; the other functions do one thing each.

Every function takes and returns mono float32 ``y [shape=(n,)]`` at ``sr`` Hz and draws its
randomness from a ``numpy.random.Generator`` passed in, so a run is repeatable from its seed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .audio import SAMPLE_RATE


def _power(y: np.ndarray) -> float:
    return float(np.mean(np.square(y, dtype=np.float64)))


def colored_noise(n: int, *, exponent: float = 0.0, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a ``1 / f ** exponent`` power spectrum (0 white, 1 pink, 2 brown).

    Parameters
    ----------
    n : int >= 0
        Length in samples.
    exponent : float
        Spectral slope of the power, ``P(f) ~ f ** -exponent``.
    rng : numpy.random.Generator

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Unit power (mean square 1).
    """
    if n == 0:
        return np.zeros(0, np.float32)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / f ** (exponent / 2), n)
    return (x / np.sqrt(max(_power(x), 1e-20))).astype(np.float32)


def add_noise(y: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``y`` plus ``noise`` scaled so that the signal-to-noise power ratio is ``snr_db``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The clean signal.
    noise : np.ndarray [shape=(m,)]
        Tiled or cut to ``n`` samples.
    snr_db : float
        Target ratio of ``y``'s mean power to the added noise's, in dB.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        ``y`` unchanged when either input is silent.
    """
    y = np.asarray(y, np.float32)
    if len(noise) == 0 or len(y) == 0:
        return y.copy()
    noise = np.resize(np.asarray(noise, np.float32), len(y))
    ps, pn = _power(y), _power(noise)
    if ps == 0 or pn == 0:
        return y.copy()
    return (y + noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))).astype(np.float32)


def babble(pool: Sequence[np.ndarray], n: int, *, talkers: int = 4, rng: np.random.Generator) -> np.ndarray:
    """Several talkers at once: the sum of ``talkers`` utterances from ``pool``, each at a random offset.

    Parameters
    ----------
    pool : sequence of np.ndarray [shape=(m_i,)]
        Utterances to mix (for training: only from training speakers).
    n : int
        Length in samples.
    talkers : int >= 1
    rng : numpy.random.Generator

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Unscaled; :func:`add_noise` sets its level.
    """
    out = np.zeros(n, np.float32)
    for k in rng.choice(len(pool), size=min(talkers, len(pool)), replace=False):
        u = np.asarray(pool[k], np.float32)
        u = u / np.sqrt(max(_power(u), 1e-12))
        shift = int(rng.integers(0, max(1, len(u))))
        out += np.resize(np.roll(u, -shift), n)
    return out


def synthetic_rir(rt60: float, *, sr: int = SAMPLE_RATE, rng: np.random.Generator) -> np.ndarray:
    """A room impulse response: a direct path, then Gaussian noise decaying by 60 dB in ``rt60`` seconds.

    Parameters
    ----------
    rt60 : float > 0
        Reverberation time in seconds (classrooms: about 0.4-0.8 s).
    sr : int
        Sample rate in Hz.
    rng : numpy.random.Generator

    Returns
    -------
    np.ndarray [shape=(int(1.2 * rt60 * sr) + 1,), dtype=float32]
        Peak 1 at sample 0 (the direct sound); unit-free.
    """
    n = int(1.2 * rt60 * sr) + 1
    t = np.arange(n) / sr
    h = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # 10 ** (-60 / 20) = exp(-6.9078) at t = rt60
    h[0] = 0.0
    h *= 0.5 / max(np.abs(h).max(), 1e-12)
    h[0] = 1.0
    return h.astype(np.float32)


def reverberate(y: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``y`` convolved with an impulse response, cut to ``len(y)`` and rescaled to ``y``'s power.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    rir : np.ndarray [shape=(k,)]
        E.g. :func:`synthetic_rir`.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    from scipy.signal import fftconvolve

    y = np.asarray(y, np.float32)
    wet = fftconvolve(y, rir)[: len(y)]
    return (wet * np.sqrt(_power(y) / max(_power(wet), 1e-20))).astype(np.float32)


def band_limit(y: np.ndarray, *, low: float = 300.0, high: float = 3400.0, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Band-pass ``y`` to ``[low, high]`` Hz (4th-order Butterworth, zero phase), like a telephone channel.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    from scipy.signal import butter, sosfiltfilt

    if len(y) < 30:
        return np.asarray(y, np.float32).copy()
    sos = butter(4, [low, min(high, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    return sosfiltfilt(sos, y).astype(np.float32)


def mu_law(y: np.ndarray, *, bits: int = 8, mu: float = 255.0) -> np.ndarray:
    """Codec-like distortion: mu-law compress, quantise to ``bits`` bits, expand (G.711 is 8 bits, mu 255).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Samples in [-1, 1] (clipped).
    bits : int >= 1
    mu : float > 0

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    x = np.clip(np.asarray(y, np.float64), -1.0, 1.0)
    c = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    levels = 2 ** (bits - 1)
    c = np.round(c * levels) / levels
    return (np.sign(c) * np.expm1(np.abs(c) * np.log1p(mu)) / mu).astype(np.float32)


def change_speed(y: np.ndarray, factor: float) -> np.ndarray:
    """Play ``y`` ``factor`` times faster by resampling: pitch and tempo change together (a cheap
    vocal-tract/speaker variation; 1.1 raises the pitch by about 1.65 semitones).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    factor : float > 0

    Returns
    -------
    np.ndarray [shape=(round(n / factor),), dtype=float32]
    """
    y = np.asarray(y, np.float32)
    n = max(1, int(round(len(y) / factor)))
    return np.interp(np.arange(n) * factor, np.arange(len(y)), y).astype(np.float32)


def room_augment(y: np.ndarray, *, rng: np.random.Generator, babble_pool: Sequence[np.ndarray] = (),
                 sr: int = SAMPLE_RATE, snr_db: tuple[float, float] = (0.0, 20.0), rt60: tuple[float, float] = (0.2, 0.8)) -> np.ndarray:
    """One random room/channel condition applied to ``y``.

    In order, each with its probability: speed (pitch + tempo) ×0.9-1.1 (p 0.5); reverberation with
    RT60 drawn from ``rt60`` seconds (p 0.6); noise (white, pink or brown) or babble of 3-6 talkers
    from ``babble_pool`` at an SNR drawn from ``snr_db`` dB (p 0.8); band-limiting to 300-3400 Hz
    (p 0.25); 8-bit mu-law or 6-10-bit linear quantisation (p 0.25); gain -20 to +6 dB, clipped to
    [-1, 1] (always).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono waveform at ``sr`` Hz.
    rng : numpy.random.Generator
    babble_pool : sequence of np.ndarray
        Utterances of other speakers (training speakers only); babble is skipped when empty.
    sr : int
        Sample rate in Hz.
    snr_db, rt60 : (float, float)
        Ranges (dB, seconds) drawn uniformly.

    Returns
    -------
    np.ndarray [shape=(m,), dtype=float32]
        ``m = n`` unless the speed changed.
    """
    y = np.asarray(y, np.float32)
    if rng.random() < 0.5:
        y = change_speed(y, rng.uniform(0.9, 1.1))
    if rng.random() < 0.6:
        y = reverberate(y, synthetic_rir(rng.uniform(*rt60), sr=sr, rng=rng))
    if rng.random() < 0.8:
        if len(babble_pool) and rng.random() < 0.5:
            noise = babble(babble_pool, len(y), talkers=int(rng.integers(3, 7)), rng=rng)
        else:
            noise = colored_noise(len(y), exponent=float(rng.choice([0.0, 1.0, 2.0])), rng=rng)
        y = add_noise(y, noise, rng.uniform(*snr_db))
    if rng.random() < 0.25:
        y = band_limit(y, sr=sr)
    if rng.random() < 0.25:
        y = mu_law(y) if rng.random() < 0.5 else _quantise(y, int(rng.integers(6, 11)))
    y = y * np.float32(10 ** (rng.uniform(-20.0, 6.0) / 20))
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def _quantise(y: np.ndarray, bits: int) -> np.ndarray:
    """Linear quantisation of [-1, 1] samples to ``bits`` bits."""
    levels = 2 ** (bits - 1)
    return (np.round(np.clip(y, -1.0, 1.0) * levels) / levels).astype(np.float32)
