"""Utterance-level functional features of speech, in named blocks (issue 22 part 3, benchmark helper).

Every function reads one 16 kHz waveform cut or padded to the speech model's 3-s window (as at
inference, :func:`emolab.preprocessing.inputs.speech_input`) and returns statistics over its
*active* frames only (within 35 dB of the loudest 10-ms frame), so the zero padding of a short
clip does not enter them. Two families:

* ``map`` blocks: computed from the speech CNN's own input (60 x 301 MFCC + delta + delta-delta),
  so a torch module could compute them from what the lesson pipeline already gives a speech model;
* ``wave`` blocks: need the waveform (log-mel shape, spectral shape, loudness contour, pitch by
  YIN, a rough speaking rate).

Per-utterance normalisation (loudness/channel): the MFCC means are a separate block (``mfcc_mean``)
that can be left out; loudness is relative to the utterance's loudest frame; the log-mel shape is
relative to its own mean level; pitch is in semitones relative to the utterance's median F0 (the
absolute median is its own block ``pitch_abs``).
"""

from __future__ import annotations

import numpy as np

SR = 16000
HOP = 160
ACTIVE_DB = 35.0


def _pct(x: np.ndarray, q) -> np.ndarray:
    return np.percentile(x, q, axis=-1)


def _slope(x: np.ndarray) -> np.ndarray:
    """Least-squares slope per row of x [F, N] per second (100 frames/s)."""
    n = x.shape[-1]
    t = (np.arange(n) - (n - 1) / 2) / 100.0
    return (x * t).sum(-1) / max((t * t).sum(), 1e-9)


def active_mask_from_c0(c0: np.ndarray, db: float = ACTIVE_DB) -> np.ndarray:
    """Active frames from MFCC c0 (orthonormal DCT of 40 log-mel bands: c0 = sqrt(40) * mean dB)."""
    return c0 >= c0.max() - db * np.sqrt(40.0)


def map_blocks(feat: np.ndarray) -> dict[str, np.ndarray]:
    """Blocks from one MFCC + delta + delta-delta map [60, N] (rows 0-19 MFCC c0..c19, 20-39 delta, 40-59 delta-delta)."""
    m, d1, d2 = feat[:20], feat[20:40], feat[40:60]
    act = active_mask_from_c0(m[0])
    if act.sum() < 3:
        act = np.ones_like(act)
    ma, d1a, d2a = m[:, act], d1[:, act], d2[:, act]
    c0 = ma[0] / np.sqrt(40.0)  # mean log-mel level, dB
    c0r = c0 - c0.max()
    med = np.median(ma[1:], axis=1, keepdims=True)
    return {
        "mfcc_mean": ma[1:].mean(1),
        "mfcc_std": ma.std(1),
        "mfcc_pct": np.concatenate([_pct(ma[1:], 10) - med[:, 0], _pct(ma[1:], 90) - med[:, 0]]),
        "mfcc_slope": _slope(ma),
        "delta_std": np.concatenate([d1a.std(1), d2a.std(1)]),
        "delta_absmean": np.concatenate([np.abs(d1a).mean(1), np.abs(d2a).mean(1)]),
        "level": np.array([c0r.mean(), c0r.std(), _pct(c0r, 10), _pct(c0r, 50), act.mean()]),
    }


def wave_blocks(y: np.ndarray) -> dict[str, np.ndarray]:
    """Blocks from the waveform of one window (16 kHz)."""
    import librosa

    S = np.abs(librosa.stft(y, n_fft=512, hop_length=HOP, win_length=400)) ** 2  # [257, N]
    mel = librosa.feature.melspectrogram(S=S, sr=SR, n_mels=40)
    flat_all = np.log10(librosa.feature.spectral_flatness(S=np.sqrt(S))[0] + 1e-10)
    mdb = 10 * np.log10(mel + 1e-10)
    level = 10 * np.log10(S.sum(0) + 1e-10)
    act = level >= level.max() - ACTIVE_DB
    if act.sum() < 3:
        act = np.ones_like(act)
    ma = mdb[:, act]
    shape = ma.mean(1) - ma.mean()
    Sa = S[:, act]
    mag = np.sqrt(Sa)
    cent = librosa.feature.spectral_centroid(S=mag, sr=SR, n_fft=512)[0]
    bw = librosa.feature.spectral_bandwidth(S=mag, sr=SR, n_fft=512)[0]
    roll = librosa.feature.spectral_rolloff(S=mag, sr=SR, n_fft=512)[0]
    contrast = librosa.feature.spectral_contrast(S=mag, sr=SR, n_fft=512, n_bands=6, fmin=100.0)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=400, hop_length=HOP)[0][: len(act)][act]
    spec = np.concatenate([[v.mean(), v.std()] for v in (cent / 1000, bw / 1000, roll / 1000, flat_all[: len(act)][act], zcr * 10)] +
                          [contrast.mean(1), contrast.std(1)])
    rel = level[act] - level.max()
    # rough speaking rate: peaks of the smoothed loudness contour (syllable nuclei) per active second
    env = np.convolve(level, np.ones(7) / 7, mode="same")
    pk = (env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > level.max() - 25)
    rate = pk.sum() / max(act.sum() / 100.0, 0.1)
    # pitch: YIN, voiced = loud enough and not at the search bounds and low flatness
    f0 = librosa.yin(y, fmin=60, fmax=600, sr=SR, frame_length=640, hop_length=HOP)[: len(act)]
    voiced = act & (level >= level.max() - 25) & (f0 > 62) & (f0 < 590) & (flat_all < -1.5)
    if voiced.sum() >= 5:
        st = 12 * np.log2(f0[voiced])
        med = np.median(st)
        r = st - med
        dv = np.diff(st)[np.diff(np.flatnonzero(voiced)) == 1] if voiced.sum() > 1 else np.zeros(1)
        pitch = np.array([r.std(), _pct(r, 10), _pct(r, 90), _pct(r, 90) - _pct(r, 10), _slope(r[None])[0] / 10,
                          np.abs(dv).mean() if dv.size else 0.0, voiced.sum() / act.sum()])
        pabs = np.array([med - 12 * np.log2(100.0)])
    else:
        pitch, pabs = np.zeros(7), np.zeros(1)
    return {
        "logmel_shape": shape,
        "logmel_std": ma.std(1),
        "spectral": spec,
        "loudness": np.array([rel.mean(), rel.std(), _pct(rel, 10), _pct(rel, 50), rate / 10]),
        "pitch": pitch,
        "pitch_abs": pabs,
    }


def all_blocks(y: np.ndarray, seconds: float = 3.0) -> dict[str, np.ndarray]:
    """Every block of one waveform, cut or padded to the model's centred window first."""
    from emolab.preprocessing.audio import fix_length, mfcc_features

    y = fix_length(np.asarray(y, np.float32), int(seconds * SR))
    out = map_blocks(mfcc_features(y))
    out.update(wave_blocks(y))
    return {k: np.nan_to_num(np.asarray(v, np.float32)) for k, v in out.items()}


MAP_BLOCKS = ("mfcc_mean", "mfcc_std", "mfcc_pct", "mfcc_slope", "delta_std", "delta_absmean", "level")
WAVE_BLOCKS = ("logmel_shape", "logmel_std", "spectral", "loudness", "pitch", "pitch_abs")


def extra_blocks(y: np.ndarray, seconds: float = 3.0) -> dict[str, np.ndarray]:
    """Second-round blocks (chosen to test by cross-validation): log-mel ranges, spectral flux, more pitch
    statistics, loudness dynamics and spectral tilt (eGeMAPS-like alpha ratio, Hammarberg index, slopes)."""
    import librosa

    from emolab.preprocessing.audio import fix_length

    y = fix_length(np.asarray(y, np.float32), int(seconds * SR))
    S = np.abs(librosa.stft(y, n_fft=512, hop_length=HOP, win_length=400)) ** 2
    mdb = 10 * np.log10(librosa.feature.melspectrogram(S=S, sr=SR, n_mels=40) + 1e-10)
    level = 10 * np.log10(S.sum(0) + 1e-10)
    act = level >= level.max() - ACTIVE_DB
    if act.sum() < 3:
        act = np.ones_like(act)
    ma = mdb[:, act]
    med = np.median(ma, axis=1)
    flux = np.maximum(np.diff(mdb, axis=1), 0).mean(0)[act[1:]]
    rel = level - level.max()
    dl = np.abs(np.diff(level))[act[1:]]
    freqs = np.fft.rfftfreq(512, 1 / SR)
    band = lambda lo, hi: S[(freqs >= lo) & (freqs < hi)][:, act]
    db = lambda x: 10 * np.log10(x + 1e-10)
    alpha = db(band(50, 1000).sum(0)) - db(band(1000, 5000).sum(0))
    hamm = db(band(0, 2000).max(0)) - db(band(2000, 5000).max(0))
    lo_f = (freqs > 0) & (freqs < 500)
    mid_f = (freqs >= 500) & (freqs < 1500)
    sl = lambda f: np.polyfit(freqs[f] / 1000, db(S[f][:, act]), 1)[0]
    tilt = np.array([alpha.mean(), alpha.std(), hamm.mean(), hamm.std(), sl(lo_f).mean() / 10, sl(mid_f).mean() / 10])
    flat = np.log10(librosa.feature.spectral_flatness(S=np.sqrt(S))[0] + 1e-10)
    f0 = librosa.yin(y, fmin=60, fmax=600, sr=SR, frame_length=640, hop_length=HOP)[: len(act)]
    voiced = act & (level >= level.max() - 25) & (f0 > 62) & (f0 < 590) & (flat < -1.5)
    if voiced.sum() >= 5:
        st = 12 * np.log2(f0[voiced])
        r = st - np.median(st)
        cont = np.diff(np.flatnonzero(voiced)) == 1
        d = np.diff(st)[cont]
        d = d[np.abs(d) < 2]  # drop octave jumps
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(int), [0]])))) [::2]
        skew = float(((r - r.mean()) ** 3).mean() / (r.std() ** 3 + 1e-9))
        pitch2 = np.array([np.clip(skew, -5, 5), _pct(r, 25), _pct(r, 75), (d > 0).mean() if d.size else 0.5,
                           runs.mean() / 100 if runs.size else 0.0, np.abs(np.diff(d)).mean() if d.size > 1 else 0.0])
    else:
        pitch2 = np.zeros(6)
    out = {"logmel_range": _pct(ma, 90) - _pct(ma, 10), "logmel_med": med - med.mean(),
           "flux": np.array([flux.mean(), flux.std()]) if flux.size else np.zeros(2),
           "dynamics": np.array([dl.mean() if dl.size else 0.0, (rel > -10).mean(), (rel > -20).mean()]),
           "tilt": tilt, "pitch2": pitch2}
    return {k: np.nan_to_num(np.asarray(v, np.float32)) for k, v in out.items()}


EXTRA_BLOCKS = ("logmel_range", "logmel_med", "flux", "dynamics", "tilt", "pitch2")
