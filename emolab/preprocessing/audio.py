"""Speech: audio from any container into mono 16 kHz, and the features the speech models read.

* :func:`load_audio` reads WAV/FLAC/OGG with soundfile and anything else (mp4, mkv, webm, m4a, ...)
  with PyAV's bundled FFmpeg, mixes to mono and resamples.
* :func:`mfcc_features` (MFCC + delta + delta-delta), :func:`log_mel`, :func:`prosody` (pitch,
  energy, voicing), and :func:`summary_features` (fixed-length statistics for SVM baselines).
* :func:`speech_activity` finds speech regions by energy.

Bad input raises :class:`~emolab.errors.MediaError` naming the file: empty or corrupt files, a
container without an audio track. Silence is not an error; it is reported by :func:`is_silent`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import MediaError

SAMPLE_RATE = 16000
N_MFCC = 20
HOP_SECONDS = 0.010  # 10 ms hop
WIN_SECONDS = 0.025  # 25 ms window

_SOUNDFILE_EXT = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def load_audio(path: str | os.PathLike, sr: int = SAMPLE_RATE, offset: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Read audio from a file (any container) as mono float32 at ``sr`` Hz.

    Parameters
    ----------
    path : path
        WAV/FLAC/OGG, or a video/audio container FFmpeg reads (mp4, mkv, avi, m4a, webm, ...).
    sr : int > 0
        Target sample rate in Hz.
    offset, duration : float, seconds
        Read only part of the file.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Samples in [-1, 1].

    Raises
    ------
    MediaError
        If the file is missing, empty, corrupt, or has no audio track.
    """
    p = Path(path)
    if not p.is_file():
        raise MediaError("audio file not found", path=p)
    if p.stat().st_size == 0:
        raise MediaError("the file is empty (0 bytes)", path=p)
    if p.suffix.lower() in _SOUNDFILE_EXT:
        y, native = _read_soundfile(p, offset, duration)
    else:
        y, native = _read_av(p, offset, duration)
    if y.ndim > 1:
        y = y.mean(axis=1, dtype=np.float32)
    y = np.nan_to_num(y.astype(np.float32, copy=False), copy=False)  # in place: a lesson's track is hundreds of MB
    if native != sr and y.size:
        from scipy.signal import resample_poly

        g = np.gcd(int(native), int(sr))
        y = resample_poly(y, sr // g, int(native) // g).astype(np.float32)
    return y


def _read_soundfile(p: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        info = sf.info(str(p))
        start = int(offset * info.samplerate)
        frames = -1 if duration is None else int(duration * info.samplerate)
        y, native = sf.read(str(p), start=start, frames=frames, dtype="float32", always_2d=False)
    except (RuntimeError, sf.LibsndfileError) as exc:  # corrupt or not audio
        raise MediaError(f"cannot decode audio ({str(exc).splitlines()[0]})", path=p) from None
    return y, int(native)


def _read_av(p: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    import av

    try:
        with av.open(str(p)) as container:
            if not container.streams.audio:
                raise MediaError("the file has no audio track", path=p)
            stream = container.streams.audio[0]
            native = int(stream.codec_context.sample_rate or stream.rate)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=native)
            chunks = []
            end = None if duration is None else offset + duration
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                if end is not None and t > end:
                    break
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise MediaError(f"cannot decode audio ({exc.__class__.__name__}: {exc})", path=p) from None
    y = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    a = int(offset * native)
    b = None if duration is None else a + int(duration * native)
    return y[a:b], native


def is_silent(y: np.ndarray, threshold_db: float = -50.0) -> bool:
    """True if the signal's RMS is below ``threshold_db`` dBFS (or it is empty)."""
    if y.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    return 20 * np.log10(rms + 1e-12) < threshold_db


def fix_length(y: np.ndarray, n: int) -> np.ndarray:
    """Pad with zeros or cut ``y`` to exactly ``n`` samples (centred cut)."""
    if len(y) >= n:
        start = (len(y) - n) // 2
        return y[start:start + n]
    return np.pad(y, (0, n - len(y)))


def log_mel(y: np.ndarray, sr: int = SAMPLE_RATE, n_mels: int = 64) -> np.ndarray:
    """Log-mel spectrogram.

    Equal to the last bit to ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=25 ms,
    hop_length=10 ms, n_mels=n_mels), ref=1.0, top_db=80.0)`` (tested), computed without importing librosa:
    its first call costs 1.4-1.8 s of CPU in imports, which a lesson analysis would pay for this alone.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_frames), dtype=float32]
        In dB relative to full scale, 25 ms windows, 10 ms hop.
    """
    n_fft = int(WIN_SECONDS * sr)
    y = np.asarray(y)
    if y.dtype not in (np.float32, np.float64):
        y = y.astype(np.float32)
    S = np.einsum("...ft,mf->...mt", _power_spectrogram(y, n_fft, int(HOP_SECONDS * sr)),
                  _mel_basis(sr, n_fft, n_mels), optimize=True)
    log_spec = 10.0 * np.log10(np.maximum(1e-10, S))  # ref 1.0: librosa then subtracts 0 dB
    return np.maximum(log_spec, log_spec.max() - 80.0).astype(np.float32)


_MAX_MEM_BLOCK = 2**8 * 2**10  # librosa.util.MAX_MEM_BLOCK: the STFT's columns are computed in blocks of this many bytes


def _power_spectrogram(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)) ** 2`` for float32 or float64 mono ``y`` (periodic
    Hann window, centred frames, zero padding), the same operations in the same blocks so the result is
    bit-identical; [1 + n_fft // 2, 1 + len(y) // hop], float32 for float32 input (complex64 STFT), else float64."""
    from numpy.lib.stride_tricks import as_strided
    from scipy import fft

    def frames(x: np.ndarray) -> np.ndarray:  # librosa.util.frame: [n_fft, n_frames] view
        n = 1 + (len(x) - n_fft) // hop
        return as_strided(x, shape=(n_fft, n), strides=(x.strides[0], hop * x.strides[0]), writeable=False)

    window = _hann(n_fft)[:, None]
    half = n_fft // 2
    start_k = int(np.ceil(half / hop))
    tail_k = (len(y) + half - n_fft) // hop + 1
    pre = post = None
    if tail_k <= start_k:
        start, y = 0, np.pad(y, (half, half))
    else:
        start = start_k * hop - half
        pre = frames(np.pad(y[: (start_k - 1) * hop - half + n_fft + 1], (half, 0)))[:, :start_k]
        if tail_k * hop - half + n_fft <= len(y) + half:
            post = frames(np.pad(y[tail_k * hop - half:], (0, half)))
    body = frames(y[start:])
    n_pre, n_post = (0 if pre is None else pre.shape[1]), (0 if post is None else post.shape[1])
    out = np.zeros((1 + half, body.shape[1] + n_pre + n_post), dtype=np.complex64 if y.dtype == np.float32 else np.complex128, order="F")
    if n_pre:
        out[:, :n_pre] = fft.rfft(window * pre, axis=-2)
        if n_post:
            out[:, -n_post:] = fft.rfft(window * post, axis=-2)
    cols = max(int(_MAX_MEM_BLOCK // (body.shape[0] * body.itemsize)), 1)
    for a in range(0, body.shape[1], cols):
        b = min(a + cols, body.shape[1])
        out[:, a + n_pre:b + n_pre] = fft.rfft(window * body[:, a:b], axis=-2)
    return np.abs(out) ** 2


def _hann(n: int) -> np.ndarray:
    """``scipy.signal.get_window("hann", n, fftbins=True)`` (periodic), without importing scipy.signal."""
    fac = np.linspace(-np.pi, np.pi, n + 1)
    w = np.zeros(n + 1)
    for k, a in enumerate((0.5, 0.5)):
        w += a * np.cos(k * fac)
    return w[:-1]


_MEL_BASES: dict = {}


def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)`` (Slaney mel scale and norm, 0 Hz to sr / 2),
    [n_mels, 1 + n_fft // 2] float32, cached."""
    key = (sr, n_fft, n_mels)
    if key not in _MEL_BASES:
        f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
        min_log_mel = min_log_hz / f_sp

        def hz_to_mel(f: float) -> float:
            return min_log_mel + np.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp

        mels = np.linspace(hz_to_mel(0.0), hz_to_mel(float(sr) / 2), n_mels + 2)
        mel_f = f_sp * mels
        log_t = mels >= min_log_mel
        mel_f[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
        fdiff, ramps = np.diff(mel_f), np.subtract.outer(mel_f, np.fft.rfftfreq(n=n_fft, d=1.0 / sr))
        weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
        for i in range(n_mels):
            weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
        weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
        _MEL_BASES[key] = weights
    return _MEL_BASES[key]


def mfcc_features(y: np.ndarray, sr: int = SAMPLE_RATE, n_mfcc: int = N_MFCC, deltas: bool = True) -> np.ndarray:
    """MFCCs, with their first and second derivatives stacked when ``deltas``.

    Returns
    -------
    np.ndarray [shape=(n_mfcc * (3 if deltas else 1), n_frames), dtype=float32]
        25 ms windows, 10 ms hop (100 frames per second).
    """
    import librosa

    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc, n_fft=int(WIN_SECONDS * sr), hop_length=int(HOP_SECONDS * sr), n_mels=40)
    if not deltas:
        return m.astype(np.float32)
    width = min(9, m.shape[1] - (1 - m.shape[1] % 2)) if m.shape[1] >= 3 else 0
    if width < 3:
        d1 = d2 = np.zeros_like(m)
    else:
        d1 = librosa.feature.delta(m, width=width)
        d2 = librosa.feature.delta(m, order=2, width=width)
    return np.vstack([m, d1, d2]).astype(np.float32)


def prosody(y: np.ndarray, sr: int = SAMPLE_RATE) -> dict[str, np.ndarray]:
    """Frame-wise prosodic contours (10 ms hop).

    Returns
    -------
    dict
        ``f0`` (Hz, NaN where unvoiced), ``voiced`` (bool), ``rms`` (linear energy), all
        [shape=(n_frames,)].
    """
    import librosa

    hop = int(HOP_SECONDS * sr)
    f0 = librosa.yin(y, fmin=70, fmax=500, sr=sr, frame_length=int(0.04 * sr), hop_length=hop)
    rms = librosa.feature.rms(y=y, frame_length=int(0.04 * sr), hop_length=hop)[0]
    n = min(len(f0), len(rms))
    f0, rms = f0[:n], rms[:n]
    voiced = rms > max(0.02 * rms.max(initial=0.0), 1e-4)
    return {"f0": np.where(voiced, f0, np.nan).astype(np.float32), "voiced": voiced, "rms": rms.astype(np.float32)}


def summary_features(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Fixed-length statistics of one utterance, for classic baselines (SVM).

    MFCC+deltas mean and standard deviation (120), pitch mean/std/range/voiced share (4),
    energy mean/std (2), spectral centroid, bandwidth, roll-off and zero-crossing rate means (4),
    and chroma means (12).

    Returns
    -------
    np.ndarray [shape=(142,), dtype=float32]
        Finite values (silence gives zeros for pitch statistics).
    """
    import librosa

    if y.size < int(0.05 * sr):
        y = fix_length(y, int(0.05 * sr))
    m = mfcc_features(y, sr)
    pr = prosody(y, sr)
    f0 = pr["f0"][~np.isnan(pr["f0"])]
    pitch = [f0.mean(), f0.std(), np.ptp(f0), pr["voiced"].mean()] if f0.size else [0.0, 0.0, 0.0, 0.0]
    hop, n_fft = int(HOP_SECONDS * sr), int(WIN_SECONDS * sr)
    spec = np.abs(librosa.stft(y, n_fft=512, hop_length=hop, win_length=n_fft))
    spectral = [librosa.feature.spectral_centroid(S=spec, sr=sr).mean(), librosa.feature.spectral_bandwidth(S=spec, sr=sr).mean(),
                librosa.feature.spectral_rolloff(S=spec, sr=sr).mean(), librosa.feature.zero_crossing_rate(y, hop_length=hop).mean()]
    chroma = librosa.feature.chroma_stft(S=spec**2, sr=sr, tuning=0.0).mean(axis=1)
    out = np.concatenate([m.mean(1), m.std(1), pitch, [pr["rms"].mean(), pr["rms"].std()], spectral, chroma]).astype(np.float32)
    return np.nan_to_num(out)


def speech_activity(y: np.ndarray, sr: int = SAMPLE_RATE, threshold_db: float = -35.0, min_silence: float = 0.3,
                    min_speech: float = 0.2) -> list[tuple[float, float]]:
    """Speech regions by short-time energy.

    Parameters
    ----------
    threshold_db : float
        Frames louder than this, relative to the loudest frame, count as speech.
    min_silence, min_speech : float, seconds
        Gaps shorter than ``min_silence`` are bridged; regions shorter than ``min_speech`` dropped.

    Returns
    -------
    list of (start, end) in seconds
    """
    hop = int(HOP_SECONDS * sr)
    if y.size < hop:
        return []
    frames = np.lib.stride_tricks.sliding_window_view(y[: len(y) // hop * hop], hop)[::hop]
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    if db.max() < -60:
        return []
    active = db > db.max() + threshold_db
    regions, start = [], None
    for i, a in enumerate(np.append(active, False)):
        if a and start is None:
            start = i
        elif not a and start is not None:
            regions.append([start * HOP_SECONDS, i * HOP_SECONDS])
            start = None
    merged: list[list[float]] = []
    for r in regions:
        if merged and r[0] - merged[-1][1] < min_silence:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [(a, b) for a, b in merged if b - a >= min_speech]
