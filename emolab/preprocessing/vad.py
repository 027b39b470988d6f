"""Speech detection (voice activity): where in a recording someone speaks, noise and music aside.

:func:`speech_probability` gives, every 32 ms, the probability that the frame holds speech, from
Silero VAD (v6, MIT licence): a small convolutional + LSTM network whose weights ship inside the
``silero-vad`` wheel (``silero_vad/data/silero_vad.jit``, 2.3 MB), so it runs offline. The network
is re-built here in plain torch (:func:`_silero_net`) and only the tensors of that file are read:
the convolutions then run over all frames at once instead of one call per 32 ms, and the
``silero_vad`` package is never imported (its ``__init__`` sets torch's global thread count to 1).
Its output equals the package's own model to 1e-6. :func:`speech_segments` turns the
probabilities into speech regions.

The energy rule of :func:`emolab.preprocessing.audio.speech_activity` calls every loud sound
speech (chairs, doors, music, a room full of noise); it stays there as the baseline that
``benchmarks/bench_vad.py`` compares against. The measured curve and the chosen threshold are in
``docs/speech.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512  # one probability per 512 samples at 16 kHz
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE  # 0.032 s
CONTEXT_SAMPLES = 64  # the network also sees the 64 samples before each frame

THRESHOLD = 0.5
"""Default speech probability threshold (chosen on the measured precision/recall curve, docs/speech.md)."""

SEGMENT_COLUMNS = ("start", "end", "probability")

_NET = None


def _weights_path() -> str:
    """The Silero VAD weights inside the installed ``silero-vad`` package (found without importing it:
    its ``__init__`` sets torch's global thread count to 1)."""
    import importlib.util
    from pathlib import Path

    from ..errors import EmolabError

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise EmolabError("speech detection needs the silero-vad package (pip install silero-vad); it ships the model weights")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.jit"
    if not path.is_file():
        raise EmolabError(f"the silero-vad package has no {path.name} (found {path.parent}); install silero-vad>=6")
    return str(path)


def _silero_net():
    """The Silero VAD network with its weights loaded (built once per process)."""
    global _NET
    if _NET is None:
        import warnings

        import torch

        class _SileroNet(torch.nn.Module):
            """Silero VAD v6 at 16 kHz: a learned STFT (256-point, hop 128), four convolutions, one LSTM
            cell carried from frame to frame, and a 1x1 convolution to a probability."""

            def __init__(self):
                super().__init__()
                self.stft_conv = torch.nn.Conv1d(1, 258, 256, stride=128, bias=False)
                self.conv1 = torch.nn.Conv1d(129, 128, 3, padding=1)
                self.conv2 = torch.nn.Conv1d(128, 64, 3, stride=2, padding=1)
                self.conv3 = torch.nn.Conv1d(64, 64, 3, stride=2, padding=1)
                self.conv4 = torch.nn.Conv1d(64, 128, 3, padding=1)
                self.lstm = torch.nn.LSTM(128, 128, batch_first=True)
                self.final_conv = torch.nn.Conv1d(128, 1, 1)

            def forward(self, windows: torch.Tensor, state=None) -> tuple[torch.Tensor, tuple]:
                # windows: (n, 576) = 64 context samples + one 512-sample frame; the convolutions see
                # each window alone (all at once), the LSTM runs over the frames in order
                x = torch.nn.functional.pad(windows[:, None], (0, 64), mode="reflect")
                x = self.stft_conv(x)
                x = torch.sqrt(x[:, :129] ** 2 + x[:, 129:] ** 2)
                for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
                    x = torch.relu(conv(x))
                h, state = self.lstm(x.mean(-1)[None], state)  # conv4 leaves one step per window
                return torch.sigmoid(self.final_conv(torch.relu(h[0])[:, :, None]))[:, 0, 0], state

        # the TorchScript file is only deserialised for its tensors (its code never runs here)
        with warnings.catch_warnings():  # torch 2.13 marks torch.jit.load deprecated; it still reads the file
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.load(_weights_path(), map_location="cpu")
        names = {"stft.forward_basis_buffer": "stft_conv.weight", "decoder.decoder.2.weight": "final_conv.weight",
                 "decoder.decoder.2.bias": "final_conv.bias"}
        names.update({f"encoder.{i}.reparam_conv.{w}": f"conv{i + 1}.{w}" for i in range(4) for w in ("weight", "bias")})
        names.update({f"decoder.rnn.{w}": f"lstm.{w}_l0" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
        state = {names[k]: v.detach().clone() for k, v in scripted._model.state_dict().items()}
        del scripted
        net = _SileroNet()
        net.load_state_dict(state)
        _NET = net.eval()
    return _NET


def _to_16k(y: np.ndarray, sr: int) -> np.ndarray:
    y = np.asarray(y, np.float32).reshape(-1)
    if sr != SAMPLE_RATE and y.size:
        from scipy.signal import resample_poly

        g = np.gcd(int(sr), SAMPLE_RATE)
        y = resample_poly(y, SAMPLE_RATE // g, int(sr) // g).astype(np.float32)
    return np.nan_to_num(y)


def speech_probability(y: np.ndarray, sr: int = SAMPLE_RATE, *, chunk_seconds: float = 600.0) -> tuple[np.ndarray, np.ndarray]:
    """Probability of speech in every 32 ms frame.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio in [-1, 1].
    sr : int > 0
        Its sample rate in Hz (resampled to 16 kHz when different).
    chunk_seconds : float > 0
        Audio is read in pieces of this length (memory stays flat for long lessons); the network's
        state carries over between pieces, so the result does not depend on it.

    Returns
    -------
    times : np.ndarray [shape=(n_frames,), dtype=float64]
        Start of each frame in seconds; frame ``i`` covers ``[times[i], times[i] + FRAME_SECONDS)``.
    prob : np.ndarray [shape=(n_frames,), dtype=float32]
        Speech probability in [0, 1].
    """
    import torch

    y = _to_16k(y, sr)
    n = len(y) // FRAME_SAMPLES
    times = np.arange(n) * FRAME_SECONDS
    if n == 0:
        return times, np.zeros(0, np.float32)
    net = _silero_net()
    padded = np.concatenate([np.zeros(CONTEXT_SAMPLES, np.float32), y[: n * FRAME_SAMPLES]])
    step = max(1, int(chunk_seconds / FRAME_SECONDS))
    out, state = [], None
    with torch.inference_mode():
        for a in range(0, n, step):
            b = min(n, a + step)
            idx = np.arange(a, b)[:, None] * FRAME_SAMPLES + np.arange(CONTEXT_SAMPLES + FRAME_SAMPLES)[None]
            p, state = net(torch.from_numpy(padded[idx]), state)
            out.append(p.numpy())
    return times, np.concatenate(out).astype(np.float32)


def segments_from_probability(times: np.ndarray, prob: np.ndarray, *, threshold: float = THRESHOLD, min_speech: float = 0.25,
                              min_silence: float = 0.3, pad: float = 0.03) -> pd.DataFrame:
    """Speech regions from frame probabilities, with hysteresis.

    A region starts at a frame whose probability reaches ``threshold`` and goes on while it stays
    above ``threshold - 0.15``; gaps shorter than ``min_silence`` are bridged, regions shorter than
    ``min_speech`` dropped, and each kept region is widened by ``pad`` on both sides.

    Parameters
    ----------
    times, prob : np.ndarray [shape=(n_frames,)]
        As returned by :func:`speech_probability` (frames ``FRAME_SECONDS`` long).
    threshold : float in (0, 1)
    min_speech, min_silence, pad : float, seconds

    Returns
    -------
    pd.DataFrame
        Columns ``start``, ``end`` (seconds) and ``probability`` (mean frame probability inside), one
        row per region in time order.
    """
    times = np.asarray(times, float)
    prob = np.asarray(prob, float)
    if not len(prob):
        return pd.DataFrame(columns=list(SEGMENT_COLUMNS))
    frame = float(np.median(np.diff(times))) if len(times) > 1 else FRAME_SECONDS
    low = max(0.0, threshold - 0.15)
    regions, start = [], None
    for i, p in enumerate(prob):
        if start is None and p >= threshold:
            start = i
        elif start is not None and p < low:
            regions.append([start, i])
            start = None
    if start is not None:
        regions.append([start, len(prob)])
    merged: list[list[int]] = []
    for a, b in regions:
        if merged and (a - merged[-1][1]) * frame < min_silence:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    end_all = float(times[-1]) + frame
    rows = [(max(0.0, float(times[a]) - pad), min(end_all, float(times[b - 1]) + frame + pad), float(prob[a:b].mean()))
            for a, b in merged if (b - a) * frame >= min_speech]
    return pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))


def speech_segments(y: np.ndarray, sr: int = SAMPLE_RATE, *, threshold: float = THRESHOLD, min_speech: float = 0.25,
                    min_silence: float = 0.3, pad: float = 0.03) -> pd.DataFrame:
    """Speech regions of a recording (Silero VAD; noise, music and silence are not speech).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio in [-1, 1].
    sr : int > 0
        Sample rate in Hz.
    threshold : float in (0, 1)
        Frame probability that starts a region (see :func:`segments_from_probability`).
    min_speech, min_silence, pad : float, seconds
        Shortest region kept, shortest pause that splits two regions, padding added on each side.

    Returns
    -------
    pd.DataFrame
        Columns ``start``, ``end`` (seconds), ``probability`` (mean speech probability inside).
    """
    times, prob = speech_probability(y, sr)
    return segments_from_probability(times, prob, threshold=threshold, min_speech=min_speech, min_silence=min_silence, pad=pad)


def speech_span(y: np.ndarray, sr: int = SAMPLE_RATE, **kwargs) -> tuple[int, int] | None:
    """From the start of the first speech region to the end of the last (:func:`speech_segments`), in samples.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio in [-1, 1].
    sr : int > 0
        Its sample rate in Hz; the span is given in samples of ``y``.
    **kwargs
        Passed to :func:`speech_segments` (``threshold``, ``min_speech``, ...).

    Returns
    -------
    (int, int) or None
        ``(first, last)`` with ``0 <= first < last <= n``, pauses inside included; None when no speech is heard.
    """
    seg = speech_segments(y, sr, **kwargs)
    if not len(seg):
        return None
    first, last = int(max(0.0, seg["start"].min()) * sr), int(min(len(y), round(seg["end"].max() * sr)))
    return (first, last) if last > first else None


__all__ = ["SAMPLE_RATE", "FRAME_SECONDS", "THRESHOLD", "SEGMENT_COLUMNS", "speech_probability", "speech_segments",
           "segments_from_probability", "speech_span"]
