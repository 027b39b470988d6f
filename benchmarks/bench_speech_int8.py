"""Int8 speech CNN: calibrate it on training actors, then compare it with fp32 and bf16 on unseen ones.

Calibration: ``--calibration`` RAVDESS utterances of actors 01-14 (the bundled model's training actors; seed 0),
their centred 3-s MFCC maps, through :func:`emolab.models.quantize.calibrate_int8`. ``--write`` stores the int8
model as ``emolab/pretrained/speech.int8.safetensors`` (tied to the weights' digest), which the lesson models load
by default on a CPU with AVX-512 VNNI (``precision="auto"``).

Evaluation on RAVDESS actors 15-18 (never trained on; the model card's test set) and the 12 CREMA-D clips of
``../shared/data/real_video``: accuracy of fp32, bf16 (where the CPU has it) and int8, how often int8 and fp32
agree, the classes int8 predicts on CREMA-D, ECE after the shipped temperature. Speed: CPU ms per 3-s window on
one thread, batches of 128, median of 5 interleaved runs.

Usage::

    python benchmarks/bench_speech_int8.py [--shared ../shared] [--write]   # ~2 min on 2 cores
"""

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402

CREMAD = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral", "SAD": "sadness"}


def logits(model, x: np.ndarray, dtype=None) -> np.ndarray:
    """Logits of MFCC maps ``x`` [N, 1, F, frames] (``dtype``: autocast dtype)."""
    import torch

    out = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
        for a in range(0, len(x), 128):
            out.append(model(torch.from_numpy(np.ascontiguousarray(x[a:a + 128], np.float32))).float().numpy())
    return np.concatenate(out)


def ms_per_window(model, x: np.ndarray, dtype=None) -> float:
    logits(model, x[:128], dtype)
    c = time.thread_time()
    logits(model, x, dtype)
    return (time.thread_time() - c) / len(x) * 1e3


def main() -> None:
    import torch

    from emolab.bundled import pretrained
    from emolab.calibration import expected_calibration_error, temperature_for
    from emolab.models.blocks import fold_batchnorm
    from emolab.models.lesson import _Runner
    from emolab.models.quantize import Int8ConvNet, calibrate_int8, int8_state, quantize_int8, save_int8
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.inputs import load_speech_inputs, speech_input
    from emolab.recipes import read_labelled
    from emolab.registry import PRETRAINED_DIR
    from emolab.taxonomy import EMOTIONS
    from emolab.training import resolve_precision

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--calibration", type=int, default=512, help="utterances of actors 01-14 for the activation ranges")
    ap.add_argument("--write", action="store_true", help="write emolab/pretrained/speech.int8.safetensors")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    data = Path(args.shared) / "data"
    if not (data / "ravdess_speech").is_dir():
        print(f"bench_speech_int8: skipped — no RAVDESS at {data / 'ravdess_speech'} (give --shared)")
        return
    torch.set_num_threads(args.threads)
    m = read_labelled("ravdess", data / "ravdess_speech").reset_index(drop=True)
    actor = m["actor"].astype(int)
    train = m[actor <= 14].sample(args.calibration, random_state=0).reset_index(drop=True)
    test = m[actor >= 15].reset_index(drop=True)
    Xcal = load_speech_inputs(train, progress=False)
    Xt = load_speech_inputs(test, progress=False)
    yt = np.array([EMOTIONS.index(v) for v in test["label"].astype(str)])
    files = sorted(glob.glob(str(data / "real_video/cremad_av/1001_DFA_*.flv"))) + \
        sorted(glob.glob(str(data / "real_video/cremad_audio/1002_DFA_*.mp3")))
    Xc = np.stack([speech_input(load_audio(p)) for p in files]) if files else np.zeros((0,) + Xt.shape[1:], np.float32)
    yc = np.array([EMOTIONS.index(CREMAD[Path(p).stem.split("_")[2]]) for p in files], int)

    model, meta = pretrained("speech")
    model.eval()
    t = time.perf_counter()
    obs = calibrate_int8(model, (torch.from_numpy(Xcal[a:a + 128]) for a in range(0, len(Xcal), 128)))
    q = quantize_int8(model, obs)
    t_quant = time.perf_counter() - t
    eager = Int8ConvNet(model, int8_state(q)).eval()
    with torch.inference_mode():
        probe = torch.from_numpy(Xt[:64])
        same = bool(torch.equal(q(probe), eager(probe)))
    print(f"calibrated and converted in {t_quant:.1f} s; built == converted on 64 windows: {same}")
    if args.write:
        path = save_int8(Path(PRETRAINED_DIR) / "speech.int8.safetensors", q, weights_sha256=meta["sha256"],
                         calibration=f"{len(Xcal)} RAVDESS utterances of actors 01-14 (seed 0), centred 3-s MFCC maps")
        print(f"wrote {path}")

    fp32 = fold_batchnorm(model).eval()
    bf16 = torch.bfloat16 if resolve_precision("auto", "cpu") == torch.bfloat16 else None
    bmodel = _Runner("cpu", "bf16").prepare(model) if bf16 is not None else None
    T = float(temperature_for("speech"))
    rows = {}
    for name, X, y in (("ravdess_actors_15_18", Xt, yt), ("cremad_12_clips", Xc, yc)):
        if not len(X):
            continue
        z32, z8 = logits(fp32, X), logits(eager, X)
        r = {"n": len(y), "acc_fp32": float(np.mean(z32.argmax(1) == y)), "acc_int8": float(np.mean(z8.argmax(1) == y)),
             "int8_agrees_fp32": float(np.mean(z8.argmax(1) == z32.argmax(1))), "mean_abs_logit_diff": float(np.abs(z8 - z32).mean()),
             "int8_predicted": {EMOTIONS[k]: int(v) for k, v in zip(*np.unique(z8.argmax(1), return_counts=True))}}
        if bmodel is not None:
            zb = logits(bmodel, X, bf16)
            r["acc_bf16"] = float(np.mean(zb.argmax(1) == y))
            r["bf16_agrees_fp32"] = float(np.mean(zb.argmax(1) == z32.argmax(1)))
        for k, z in (("fp32", z32), ("int8", z8)):
            p = np.exp((z - z.max(1, keepdims=True)) / T)
            r[f"ece_{k}"] = float(expected_calibration_error(p / p.sum(1, keepdims=True), y))
        rows[name] = r
        print(name, json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}), flush=True)
    speed = {}
    for _ in range(5):
        for name, mod, dt in (("fp32", fp32, None), ("bf16", bmodel, bf16), ("int8", eager, None)):
            if mod is not None:
                speed.setdefault(name, []).append(ms_per_window(mod, Xt[:256], dt))
    speed = {k: {"ms_per_window_median": round(float(np.median(v)), 3), "runs": [round(x, 3) for x in v]} for k, v in speed.items()}
    print(json.dumps(speed))
    save("speech_int8", {"calibration_utterances": len(Xcal), "built_equals_converted": same, "results": rows,
                         "speed_1_thread": speed})


if __name__ == "__main__":
    main()
