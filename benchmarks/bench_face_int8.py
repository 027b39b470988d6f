"""Int8 face CNN: calibrate it on real training faces, then compare it with fp32 and bf16 on held-out ones.

Calibration: ``--calibration-faces`` FER2013 ``train`` faces (seed 0), a quarter each shrunk to 48, 32, 24
and 16 px and scaled back (as a lesson's small faces are), through :func:`emolab.models.quantize.calibrate_int8`.
Two int8 copies exist: 8-bit activations for CPUs with AVX-512 VNNI (``emolab/pretrained/face.int8.safetensors``)
and 7-bit activations for other x86 CPUs (``face.int8-7bit.safetensors``); the lesson models load the one for their
CPU by default (``precision="auto"``). This script converts and scores the copy this CPU uses (``activation_bits``
in the results; ``--tag`` names the results file), and ``--write`` stores that copy, tied to the weights' digest:
each bundled copy is calibrated and checked on a CPU that runs it.

Evaluation on every FER2013 ``validation`` face (the held-out split) shrunk to 12-48 px like
``bench_face_readability.py`` does: accuracy of fp32, bf16 (where the CPU has it) and int8, how often int8
and fp32 agree, and ECE after the shipped per-size temperature (``calibration.json``). Speed: CPU ms per
48-px crop on one thread, batches of 128, median of 5 interleaved repeats.

Usage::

    python benchmarks/bench_face_int8.py [--fer2013 ../shared/data/fer2013] [--write] [--tag NAME]   # ~3 min on 2 cores
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402
from bench_face_readability import degrade  # noqa: E402

SIZES = (12, 16, 20, 24, 32, 48)
CALIBRATION_SIZES = (48, 32, 24, 16)


def logits(model, x: np.ndarray, dtype=None) -> np.ndarray:
    """Logits of 48x48 uint8 faces ``x`` [N, 48, 48] (``dtype``: autocast dtype, channels-last)."""
    import torch

    out = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
        for a in range(0, len(x), 128):
            t = torch.from_numpy(x[a:a + 128].astype(np.float32) / 255.0)[:, None]
            if dtype is not None:
                t = t.contiguous(memory_format=torch.channels_last)
            out.append(model(t).float().numpy())
    return np.concatenate(out)


def ms_per_crop(model, dtype=None, n: int = 1024, repeats: int = 5) -> list[float]:
    import torch

    x = (np.random.default_rng(0).random((n, 48, 48)) * 255).astype(np.uint8)
    logits(model, x[:128], dtype)
    times = []
    for _ in range(repeats):
        c = time.thread_time()
        logits(model, x, dtype)
        times.append((time.thread_time() - c) / n * 1e3)
    return times


def main() -> None:
    import torch

    from emolab.bundled import pretrained
    from emolab.calibration import expected_calibration_error, load_calibration
    from emolab.data import read_corpus
    from emolab.models.blocks import fold_batchnorm
    from emolab.models.lesson import _Runner
    from emolab.models.quantize import (build_int8, calibrate_int8, int8_activation_bits, int8_file, int8_state,
                                        quantize_int8, save_int8)
    from emolab.preprocessing.inputs import load_face_images
    from emolab.registry import PRETRAINED_DIR
    from emolab.taxonomy import EMOTIONS
    from emolab.training import resolve_precision

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"
    ap.add_argument("--fer2013", default=str(shared), help="FER2013 folder with train/ and validation/")
    ap.add_argument("--calibration-faces", type=int, default=1024)
    ap.add_argument("--limit", type=int, default=0, help="score only N validation faces")
    ap.add_argument("--write", action="store_true", help="write this CPU's int8 copy (emolab/pretrained/face.int8[-7bit].safetensors)")
    ap.add_argument("--tag", default="", help="suffix of the results file (results/face_int8[_TAG].json)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if not Path(args.fer2013, "validation").is_dir():
        print(f"bench_face_int8: skipped — no FER2013 folder at {args.fer2013} (give --fer2013)")
        return
    torch.set_num_threads(args.threads)
    m = read_corpus("fer2013", args.fer2013)
    train = m[m["split"] == "train"].sample(args.calibration_faces, random_state=0).reset_index(drop=True)
    calib = load_face_images(train, progress=False)
    calib = np.stack([degrade(img, CALIBRATION_SIZES[i % len(CALIBRATION_SIZES)])[0] for i, img in enumerate(calib)])
    model, meta = pretrained("face")
    model.eval()
    t = time.perf_counter()
    obs = calibrate_int8(model, (torch.from_numpy(calib[a:a + 128].astype(np.float32) / 255.0)[:, None] for a in range(0, len(calib), 128)))
    t_cal = time.perf_counter() - t
    bits = int8_activation_bits()
    if bits is None:
        raise SystemExit("bench_face_int8: this PyTorch has no x86 quantized engine")
    t = time.perf_counter()
    q = quantize_int8(model, obs, activation_bits=bits)  # the copy this CPU uses
    t_quant = time.perf_counter() - t
    print(f"this CPU uses int8 with {bits}-bit activations")
    t = time.perf_counter()
    eager = build_int8(model, int8_state(q))  # what emolab loads: the same function, built without tracing
    t_build = time.perf_counter() - t
    probe = torch.from_numpy(calib[:256].astype(np.float32) / 255.0)[:, None]
    with torch.inference_mode():
        same = bool(torch.equal(q(probe), eager(probe)))
    print(f"calibrated in {t_cal:.1f} s, converted in {t_quant:.2f} s, built from the int8 file in {t_build:.3f} s; "
          f"built == converted on 256 faces: {same}")
    if args.write:
        path = save_int8(int8_file(PRETRAINED_DIR, "face"), q, weights_sha256=meta["sha256"],
                         calibration=f"{len(calib)} FER2013 train faces (seed 0) shrunk to {CALIBRATION_SIZES} px, one size each in turn")
        print(f"wrote {path}")

    val = m[m["split"] == "validation"].reset_index(drop=True)
    if args.limit:
        val = val.sample(args.limit, random_state=0).reset_index(drop=True)
    images = load_face_images(val, progress=False)
    y = np.array([EMOTIONS.index(v) for v in val["label"].astype(str)])
    fp32 = fold_batchnorm(model).eval()
    bf16 = resolve_precision("auto", "cpu") if resolve_precision("auto", "cpu") == torch.bfloat16 else None
    runner_model = _Runner("cpu", "bf16").prepare(model) if bf16 is not None else None
    temps = (load_calibration().get("face") or {}).get("by_size_px", {})
    rows = []
    for s in SIZES:
        x = np.stack([degrade(img, s)[0] for img in images])
        z32, z8 = logits(fp32, x), logits(eager, x)
        row = {"size_px": s, "n": len(y), "acc_fp32": float(np.mean(z32.argmax(1) == y)), "acc_int8": float(np.mean(z8.argmax(1) == y)),
               "int8_agrees_fp32": float(np.mean(z8.argmax(1) == z32.argmax(1))), "mean_abs_logit_diff": float(np.abs(z8 - z32).mean())}
        if bf16 is not None:
            zb = logits(runner_model, x, bf16)
            row["acc_bf16"] = float(np.mean(zb.argmax(1) == y))
            row["bf16_agrees_fp32"] = float(np.mean(zb.argmax(1) == z32.argmax(1)))
        T = float(temps.get(str(s), 1.0))
        for name, z in (("fp32", z32), ("int8", z8)):
            p = np.exp((z - z.max(1, keepdims=True)) / T)
            row[f"ece_{name}"] = float(expected_calibration_error(p / p.sum(1, keepdims=True), y))
        rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)

    speed = {}
    for r in range(5):  # interleaved so that a machine's drift hits every precision alike
        for name, mod, dt in (("fp32", fp32, None), ("bf16", runner_model, bf16), ("int8", eager, None)):
            if mod is not None:
                speed.setdefault(name, []).extend(ms_per_crop(mod, dt, repeats=1))
    speed = {k: {"ms_per_crop_median": round(float(np.median(v)), 3), "runs": [round(t, 3) for t in v]} for k, v in speed.items()}
    print(json.dumps(speed))
    save("face_int8" + (f"_{args.tag}" if args.tag else ""), {"activation_bits": bits, "calibration_faces": len(calib), "calibrate_s": round(t_cal, 2), "quantize_s": round(t_quant, 2), "build_s": round(t_build, 4), "built_equals_converted": same,
                       "per_size": rows, "speed_1_thread": speed})


if __name__ == "__main__":
    main()
