"""Speech detection measured: Silero VAD (emolab.preprocessing.vad) against the energy rule
(emolab.preprocessing.audio.speech_activity) and, when installed, WebRTC's VAD.

Test material is built here from RAVDESS speech (../shared/data/ravdess_speech, 16 kHz) placed at
random times into noise beds generated here: silence, white noise (10 and 0 dB SNR), pink noise
(5 dB), music-like chords (5 dB), classroom-like transients (chairs, knocks, claps at 0 dB) and
babble (other RAVDESS actors summed, 10 dB below the target; babble is speech, so it is reported
apart and left out of the pooled curve). The truth is where the clean utterance is active (energy
within 40 dB of its loudest 10 ms, pauses under 0.2 s bridged). Scoring is frame-level on a 10 ms
grid: precision, recall and the false-alarm rate (share of non-speech frames flagged).

The real classroom clips (../shared/data/real_video/classroom/*.mp4) have no truth: the share of
their time each method calls speech is printed.

Run:  python benchmarks/bench_vad.py   (reads $EMOLAB_SHARED_DATA, else ../shared/data beside the repo)
Writes benchmarks/results/vad.json.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402

from _common import save  # noqa: E402

SR = 16000
GRID = 0.01  # scoring grid, seconds
ITEMS = 12  # mixtures per condition
ITEM_SECONDS = 14.0
THRESHOLDS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
CONDITIONS = ["clean", "white_10dB", "white_0dB", "pink_5dB", "music_5dB", "transients_0dB", "babble_10dB"]
POOLED = [c for c in CONDITIONS if not c.startswith("babble")]


def shared_data() -> Path:
    env = os.environ.get("EMOLAB_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


# ----------------------------------------------------------------------------- material
def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.arange(len(spec))
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    return np.fft.irfft(spec, n)


def _music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Chords of harmonic tones changing every 0.4-1.5 s, with a beat envelope."""
    out, a = np.zeros(n), 0
    t = np.arange(n) / SR
    while a < n:
        b = min(n, a + int(rng.uniform(0.4, 1.5) * SR))
        root = 110 * 2 ** (rng.integers(0, 24) / 12)
        for semis in (0, 4, 7, 12 * int(rng.integers(0, 2))):
            f0 = root * 2 ** (semis / 12)
            for h in range(1, 5):
                out[a:b] += np.sin(2 * np.pi * f0 * h * t[a:b] + rng.uniform(0, 6.3)) / h**1.5
        a = b
    beat = 0.6 + 0.4 * np.exp(-((t * 2.0) % 1.0) * 6)
    return out * beat


def _transients(n: int, rng: np.random.Generator) -> np.ndarray:
    """Classroom noises: chair scrapes (band-limited noise, 0.2-0.8 s), knocks and claps (decaying
    clicks), about 1.5 per second, over a faint room tone."""
    from scipy.signal import butter, sosfilt

    out = rng.normal(0, 0.01, n)
    for _ in range(int(1.5 * n / SR)):
        a = int(rng.uniform(0, n))
        kind = rng.integers(3)
        if kind == 0:  # scrape
            m = int(rng.uniform(0.2, 0.8) * SR)
            lo = rng.uniform(300, 1500)
            sos = butter(2, [lo, lo * rng.uniform(1.5, 3)], btype="band", fs=SR, output="sos")
            seg = sosfilt(sos, rng.normal(0, 1, m)) * np.hanning(m) * (1 + 0.5 * np.sin(np.linspace(0, rng.uniform(10, 40), m)))
        else:  # knock / clap
            m = int(0.15 * SR)
            seg = rng.normal(0, 1, m) * np.exp(-np.arange(m) / (SR * rng.uniform(0.005, 0.03)))
            if kind == 1:
                seg = sosfilt(butter(2, 400, fs=SR, output="sos"), seg) * 3
        seg = seg / (np.abs(seg).max() + 1e-9) * rng.uniform(0.3, 1.0)
        b = min(n, a + len(seg))
        out[a:b] += seg[: b - a]
    return out


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _truth_regions(clean: np.ndarray) -> list[tuple[float, float]]:
    from emolab.preprocessing.audio import speech_activity

    return speech_activity(clean, SR, threshold_db=-40.0, min_silence=0.2, min_speech=0.1)


def make_item(condition: str, files: list[Path], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One mixture: two target utterances at random times in a noise bed. Returns (audio, truth on GRID)."""
    from emolab.preprocessing.audio import load_audio

    n = int(ITEM_SECONDS * SR)
    speech = np.zeros(n)
    truth = np.zeros(int(ITEM_SECONDS / GRID), bool)
    picks = rng.choice(len(files), 2, replace=False)
    starts = [rng.uniform(0.5, 3.5), rng.uniform(7.5, 10.0)]
    for k, s in zip(picks, starts):
        u = load_audio(files[k]).astype(np.float64)
        u = u / (np.abs(u).max() + 1e-9) * rng.uniform(0.3, 0.8)
        a = int(s * SR)
        b = min(n, a + len(u))
        speech[a:b] += u[: b - a]
        for r0, r1 in _truth_regions(u[: b - a].astype(np.float32)):
            truth[int((s + r0) / GRID):int((s + r1) / GRID)] = True
    active = speech[np.repeat(truth, int(GRID * SR))[:n]] if truth.any() else speech
    p_speech = _rms(active)
    kind, _, snr = condition.partition("_")
    if kind == "clean":
        bed = rng.normal(0, 1, n) * 1e-4
        level = 1.0
    else:
        if kind == "white":
            bed = rng.normal(0, 1, n)
        elif kind == "pink":
            bed = _pink(n, rng)
        elif kind == "music":
            bed = _music(n, rng)
        elif kind == "transients":
            bed = _transients(n, rng)
        elif kind == "babble":
            others = [f for i, f in enumerate(files) if i not in picks]
            bed = np.zeros(n)
            for f in rng.choice(len(others), 6, replace=False):
                v = load_audio(others[f]).astype(np.float64)
                reps = np.tile(v, int(np.ceil(n / len(v))) + 1)
                off = int(rng.uniform(0, len(v)))
                bed += reps[off:off + n] / (np.abs(v).max() + 1e-9)
        else:
            raise ValueError(condition)
        level = p_speech / _rms(bed) / 10 ** (float(snr[:-2]) / 20)
    y = speech + bed * level
    y = y / max(1.0, np.abs(y).max() / 0.99)
    return y.astype(np.float32), truth


# ----------------------------------------------------------------------------- methods
def on_grid(regions, seconds: float) -> np.ndarray:
    g = np.zeros(int(round(seconds / GRID)), bool)
    for a, b in regions:
        g[int(a / GRID):int(np.ceil(b / GRID))] = True
    return g


def frames_on_grid(times: np.ndarray, flags: np.ndarray, frame: float, seconds: float) -> np.ndarray:
    grid_t = np.arange(int(round(seconds / GRID))) * GRID + GRID / 2
    idx = np.clip(np.floor(grid_t / frame).astype(int), 0, len(flags) - 1) if len(flags) else None
    return flags[idx] if idx is not None else np.zeros(len(grid_t), bool)


def webrtc_flags(y: np.ndarray, mode: int) -> np.ndarray | None:
    try:
        import webrtcvad
    except ImportError:
        return None
    vad = webrtcvad.Vad(mode)
    pcm = (np.clip(y, -1, 1) * 32767).astype(np.int16)
    step = int(0.03 * SR)
    return np.array([vad.is_speech(pcm[i:i + step].tobytes(), SR) for i in range(0, len(pcm) - step + 1, step)], bool)


def scores(pred: np.ndarray, truth: np.ndarray) -> dict:
    n = min(len(pred), len(truth))
    p, t = pred[:n], truth[:n]
    tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
    return {"precision": round(tp / max(1, tp + fp), 4), "recall": round(tp / max(1, tp + fn), 4),
            "false_alarm": round(fp / max(1, int((~t).sum())), 4), "tp": tp, "fp": fp, "fn": fn, "neg": int((~t).sum())}


def pooled(rows: list[dict]) -> dict:
    tp, fp, fn, neg = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn", "neg"))
    return {"precision": round(tp / max(1, tp + fp), 4), "recall": round(tp / max(1, tp + fn), 4),
            "f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4), "false_alarm": round(fp / max(1, neg), 4),
            "tp": tp, "fp": fp, "fn": fn, "neg": neg}


def main() -> None:
    from emolab.preprocessing.audio import load_audio, speech_activity
    from emolab.preprocessing.vad import FRAME_SECONDS, THRESHOLD, segments_from_probability, speech_probability

    data = shared_data()
    ravdess = data / "ravdess_speech"
    if not ravdess.is_dir():
        sys.exit(f"bench_vad: RAVDESS speech not found at {ravdess}; set EMOLAB_SHARED_DATA to the shared data folder")
    files = sorted(ravdess.glob("Actor_*/*.flac"))
    rng = np.random.default_rng(2026)
    files = [files[i] for i in sorted(rng.choice(len(files), 60, replace=False))]
    have_webrtc = webrtc_flags(np.zeros(SR, np.float32), 0) is not None
    methods = ["energy"] + [f"webrtc{m}" for m in range(4) if have_webrtc] + [f"silero@{t}" for t in THRESHOLDS] + ["silero_segments"]
    table: dict[str, dict[str, dict]] = {m: {} for m in methods}
    vad_seconds, audio_seconds = 0.0, 0.0
    for ci, cond in enumerate(CONDITIONS):
        crng = np.random.default_rng(100 + ci)
        per: dict[str, list] = {m: [] for m in methods}
        for _ in range(ITEMS):
            y, truth = make_item(cond, files, crng)
            secs = len(y) / SR
            per["energy"].append(scores(on_grid(speech_activity(y, SR), secs), truth))
            for m in range(4 if have_webrtc else 0):
                per[f"webrtc{m}"].append(scores(frames_on_grid(None, webrtc_flags(y, m), 0.03, secs), truth))
            t0 = time.perf_counter()
            times, prob = speech_probability(y, SR)
            vad_seconds += time.perf_counter() - t0
            audio_seconds += secs
            for t in THRESHOLDS:
                per[f"silero@{t}"].append(scores(frames_on_grid(times, prob >= t, FRAME_SECONDS, secs), truth))
            seg = segments_from_probability(times, prob)
            per["silero_segments"].append(scores(on_grid(zip(seg["start"], seg["end"]), secs), truth))
        for m in methods:
            table[m][cond] = pooled(per[m])
        print(f"{cond:16s} " + "  ".join(f"{m}: P {table[m][cond]['precision']:.3f} R {table[m][cond]['recall']:.3f} FA {table[m][cond]['false_alarm']:.3f}"
                                          for m in ["energy", *(["webrtc3"] if have_webrtc else []), f"silero@{THRESHOLD}", "silero_segments"]))
    curve = {}
    for m in methods:
        curve[m] = pooled([table[m][c] for c in POOLED])
    print("\npooled over", ", ".join(POOLED))
    for m in methods:
        print(f"  {m:16s} P {curve[m]['precision']:.3f}  R {curve[m]['recall']:.3f}  F1 {curve[m]['f1']:.3f}  FA {curve[m]['false_alarm']:.3f}")

    classroom = {}
    clips = sorted((data / "real_video" / "classroom").glob("*.mp4"))
    for clip in clips:
        y = load_audio(clip)
        secs = len(y) / SR
        times, prob = speech_probability(y, SR)
        seg = segments_from_probability(times, prob)
        row = {"seconds": round(secs, 2), "energy": round(float(on_grid(speech_activity(y, SR), secs).mean()), 3),
               "silero_segments": round(float(on_grid(zip(seg["start"], seg["end"]), secs).mean()), 3),
               "silero_mean_probability": round(float(prob.mean()), 3), "silero_max_probability": round(float(prob.max(initial=0)), 3)}
        for t in THRESHOLDS:
            row[f"silero@{t}"] = round(float((prob >= t).mean()), 3)
        if have_webrtc:
            for m in range(4):
                row[f"webrtc{m}"] = round(float(webrtc_flags(y, m).mean()), 3)
        classroom[clip.name] = row
        print(f"classroom {clip.name}: share flagged speech  energy {row['energy']:.2f}  silero_segments {row['silero_segments']:.2f}"
              f"  silero@{THRESHOLD} {row[f'silero@{THRESHOLD}']:.2f}" + (f"  webrtc3 {row['webrtc3']:.2f}" if have_webrtc else "")
              + f"  (max p {row['silero_max_probability']:.2f})")
    speed = audio_seconds / max(vad_seconds, 1e-9)
    print(f"silero speed: {speed:.0f}x real time")
    save("vad", {"items_per_condition": ITEMS, "item_seconds": ITEM_SECONDS, "grid_seconds": GRID, "conditions": table,
                 "pooled_conditions": POOLED, "pooled": curve, "classroom": classroom, "silero_x_realtime": round(speed, 1),
                 "webrtc_measured": have_webrtc})


if __name__ == "__main__":
    main()
