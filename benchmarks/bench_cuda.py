"""The CUDA path, checked against the CPU: one training run of each model kind and one lesson analysis on each device.

emolab picks CUDA when a GPU is present (``emolab.device.choose_device``; ``EMOLAB_DEVICE`` overrides it). CI and
the project machine have no GPU, so this script is what shows the GPU path works. It makes a small synthetic
training set and a short synthetic lesson once, then runs the same work in a child process per device
(``EMOLAB_DEVICE=cpu`` and, when there is a GPU, ``EMOLAB_DEVICE=cuda``):

* ``emolab train`` (the recipe) for ``face3d``, ``speech``, ``text`` and ``fused``, 2 epochs, seed 0: validation
  accuracy, seconds, and the GPU memory it used (proof that the work ran there);
* ``analyze_lesson`` on the lesson with the bundled models (seconds, the per-second timeline and the speech turns), and
  with the synthetic-domain fused model;
* ``emolab evaluate`` of the bundled speech model on a TESS-like folder of synthetic voices (some utterances read
  whole in windows, each speaker centred).

Then it compares the devices: the largest difference between their timeline probabilities, how many per-second
emotions and turn emotions differ, and the speed ratio. GPU kernels are not bit-identical to CPU ones, so small
differences are expected; a broken device path shows as large ones or as an error.

Usage::

    python benchmarks/bench_cuda.py [--out DIR] [--lesson-seconds 30] [--lesson DIR]    # DIR/cuda.json (default results/)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ("face3d", "speech", "text", "fused")


def run_on(device: str, work: Path) -> dict:
    """The child's work on one device (``EMOLAB_DEVICE`` is set by the parent)."""
    import numpy as np
    import torch

    from emolab.device import choose_device
    from emolab.recipes import train_recipe
    from emolab.timeline import AnalysisConfig, analyze_lesson

    out: dict = {"device": choose_device(), "torch": torch.__version__,
                 "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "train": {}}
    for kind in KINDS:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        m = train_recipe(kind, "synthetic", work / "trainset", work / f"run_{device}_{kind}", epochs=2, batch_size=16, seed=0,
                         progress=False).metrics
        out["train"][kind] = {"accuracy": round(float(m["accuracy"]), 4), "seconds": round(time.perf_counter() - t0, 2),
                              "gpu_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else 0.0}
        print(device, kind, out["train"][kind], flush=True)
    wav = work / "lesson" / "lesson.wav"  # the lesson's own audio track, read without PyAV where it is not installed
    from emolab.models.lesson import LateFusionLessonModels
    from emolab.registry import PRETRAINED_DIR

    folder = PRETRAINED_DIR
    try:
        from emolab.models.minilm import package_file

        package_file()
    except Exception:  # the MiniLM text encoder's package (83 MB) is not installed: the bundled models without text
        folder = work / f"models_{device}"
        folder.mkdir()
        for f in PRETRAINED_DIR.iterdir():
            if f.name != "text.safetensors":
                (folder / f.name).symlink_to(f)
        out["lesson_models"] = "face and speech (the MiniLM text encoder's package is not installed)"
    for precision in ("auto", "fp32"):  # the default first; full precision too where the default fails
        try:
            t0 = time.perf_counter()
            models = LateFusionLessonModels(folder=folder, device=choose_device(), precision=precision)
            res = analyze_lesson(work / "lesson" / "lesson.mp4", audio=wav if wav.is_file() else None, progress=False,
                                 thumbnails=False, models=models)
            out["lesson_precision"] = dict(models.precision)
            break
        except Exception as exc:  # noqa: BLE001 - reported, then the next precision is tried
            import traceback

            out[f"lesson_error_{precision}"] = f"{exc.__class__.__name__}: {exc}"
            print(traceback.format_exc()[-2500:], flush=True)
    else:
        raise SystemExit(f"the lesson analysis failed on {device} at every precision")
    out["lesson_seconds"] = round(time.perf_counter() - t0, 2)
    t1 = time.perf_counter()  # the synthetic-domain fused model (one network over all modalities) on the same lesson
    synthetic = analyze_lesson(work / "lesson" / "lesson.mp4", audio=wav if wav.is_file() else None, progress=False,
                               thumbnails=False, config=AnalysisConfig(model="synthetic"))
    out["synthetic_model"] = {"seconds": round(time.perf_counter() - t1, 2), "timeline_rows": int(len(synthetic.timeline))}
    synthetic.timeline.to_csv(work / f"synthetic_{device}.csv", index=False)
    res.timeline.to_csv(work / f"timeline_{device}.csv", index=False)
    res.speech.to_csv(work / f"speech_{device}.csv", index=False)
    out["timeline_rows"] = int(len(res.timeline))
    out["readable_rows"] = int(res.timeline["emotion"].astype(str).ne("").sum()) if "emotion" in res.timeline else None
    print(device, "lesson", out["lesson_seconds"], "s", flush=True)
    from emolab.recipes import evaluate_recipe

    t1 = time.perf_counter()  # emolab evaluate: the bundled speech model, read whole and centred per speaker
    ev = evaluate_recipe("speech", "tess", work / "voices", progress=False)
    ev.predictions.to_csv(work / f"predictions_{device}.csv", index=False)
    out["evaluate_speech"] = {"seconds": round(time.perf_counter() - t1, 2), "n": int(ev.scored["n"]),
                              "accuracy": round(float(ev.metrics["accuracy"]), 4)}
    return out


def voices(root: Path) -> None:
    """A TESS-like folder of synthetic voices (two speakers, every emotion, some utterances longer than 3 s)."""
    import numpy as np
    import soundfile as sf

    from emolab.data.corpora.speech import TESS_EMOTIONS
    from emolab.synth.voice import Voice, synthesize_utterance
    from emolab.taxonomy import canonical_label

    rng = np.random.default_rng(0)
    for speaker, kind in (("OAF", "adult_female"), ("YAF", "child")):
        voice = Voice.random(rng, kind)
        for emo, raw in TESS_EMOTIONS.items():
            for word, seconds in (("back", 1.5), ("bar", 4.5)):
                wave = synthesize_utterance(voice, canonical_label(raw), seconds, rng)
                (root / f"{speaker}_{emo}").mkdir(parents=True, exist_ok=True)
                sf.write(root / f"{speaker}_{emo}" / f"{speaker}_{word}_{emo}.wav", np.pad(wave, 8000), 16000)


def compare(work: Path, a: str, b: str, table: str = "timeline") -> dict:
    """How far device ``b``'s lesson tables are from device ``a``'s (``table``: the bundled models' ``"timeline"``,
    with their speech turns, or the ``"synthetic"`` model's timeline)."""
    import numpy as np
    import pandas as pd

    from emolab.taxonomy import EMOTIONS

    ta, tb = (pd.read_csv(work / f"{table}_{d}.csv", keep_default_na=False) for d in (a, b))
    both = ta.merge(tb, on=["person", "t"], suffixes=("_a", "_b"))
    cols = [c for c in EMOTIONS if f"{c}_a" in both]
    pa = both[[f"{c}_a" for c in cols]].replace("", np.nan).astype(float).to_numpy()
    pb = both[[f"{c}_b" for c in cols]].replace("", np.nan).astype(float).to_numpy()
    diff = {"rows": [int(len(ta)), int(len(tb))], "rows_matched": int(len(both)),
            "max_abs_probability_difference": float(np.nanmax(np.abs(pa - pb))) if len(both) else None,
            "emotions_differing": int((both["emotion_a"].astype(str) != both["emotion_b"].astype(str)).sum())}
    if table != "timeline":
        return diff
    sa, sb = (pd.read_csv(work / f"speech_{d}.csv", keep_default_na=False) for d in (a, b))
    return {**diff, "turns": [int(len(sa)), int(len(sb))],
            "turn_emotions_differing": int((sa["emotion"].astype(str).to_numpy() != sb["emotion"].astype(str).to_numpy()).sum())
            if len(sa) == len(sb) else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"), help="folder for cuda.json (default: %(default)s)")
    ap.add_argument("--lesson-seconds", type=float, default=30.0, help="length of the synthetic lesson (default: %(default)s)")
    ap.add_argument("--lesson", default=None, help="a lesson folder written by 'emolab synth lesson' to use instead of making one "
                    "(making one needs PyAV; default: make one)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--work", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print("RESULT " + json.dumps(run_on(a.child, Path(a.work))), flush=True)
        return
    import numpy as np
    import pandas as pd
    import torch

    from emolab.atomic import write_text
    from emolab.synth.lesson import LessonConfig, generate_lesson
    from emolab.synth.trainset import TrainsetConfig, generate_trainset

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if len(devices) == 1:
        print("bench_cuda.py: no CUDA GPU here; the CPU run alone is made (the comparison needs a GPU)")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate_trainset(work / "trainset", TrainsetConfig(n_identities=8, clips_per_emotion=2), progress=False)
        voices(work / "voices")
        if a.lesson:
            import shutil

            shutil.copytree(a.lesson, work / "lesson")
        else:
            generate_lesson(work / "lesson", LessonConfig(n_students=4, seconds=a.lesson_seconds, seed=0), progress=False)
        runs = {}
        for device in devices:
            env = {**os.environ, "EMOLAB_DEVICE": device, "EMOLAB_CACHE": str(work / "cache")}  # no features shared between runs
            p = subprocess.run([sys.executable, __file__, "--child", device, "--work", str(work)], env=env, capture_output=True, text=True)
            print(p.stdout[-3000:], p.stderr[-3000:] if p.returncode else "", flush=True)
            if p.returncode:
                raise SystemExit(f"the {device} run failed (exit {p.returncode})")
            runs[device] = json.loads(next(line[7:] for line in p.stdout.splitlines() if line.startswith("RESULT ")))
        result = {"runs": runs, "seconds": round(time.perf_counter() - t0, 1)}
        if "cuda" in runs:
            result["lesson_cuda_vs_cpu"] = compare(work, "cpu", "cuda")
            result["synthetic_model_cuda_vs_cpu"] = compare(work, "cpu", "cuda", table="synthetic")
            pa, pb = (pd.read_csv(work / f"predictions_{d}.csv") for d in ("cpu", "cuda"))
            cols = [c for c in pa.columns if c.startswith("p_")]
            result["evaluate_speech_cuda_vs_cpu"] = {"answers_differing": int((pa["predicted"] != pb["predicted"]).sum()), "n": int(len(pa)),
                                                     "max_abs_probability_difference": float(np.abs(pa[cols].to_numpy() - pb[cols].to_numpy()).max()),
                                                     "windows_equal": bool((pa["windows"] == pb["windows"]).all())}
            result["speed_ratio_cpu_over_cuda"] = {
                **{k: round(runs["cpu"]["train"][k]["seconds"] / runs["cuda"]["train"][k]["seconds"], 2) for k in KINDS},
                "lesson": round(runs["cpu"]["lesson_seconds"] / runs["cuda"]["lesson_seconds"], 2)}
    Path(a.out).mkdir(parents=True, exist_ok=True)
    write_text(Path(a.out) / "cuda.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
