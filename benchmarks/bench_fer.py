"""Side by side with ``fer`` (PyPI), in the same run: frames/s on the same clip and accuracy on
FER2013 validation images.

fer lives in its own virtual environment, so its dependencies (TensorFlow, another torch) never
touch emolab's; this script talks to it through ``benchmarks/fer_worker.py``. Set it up once::

    python3.11 -m venv /tmp/fervenv && /tmp/fervenv/bin/pip install fer

Usage::

    python benchmarks/bench_fer.py --fer-python /tmp/fervenv/bin/python --fer2013 ../shared/data/fer2013 [--faces 13] [--seconds 20]

Both sides run on one 720p synthetic lesson sampled at 5 frames/s: fer's ``detect_emotions`` on every
sampled frame (its default Haar detector, and MTCNN), emolab's face pipeline (decode, keyframe +
tiled mediapipe detection, tracking, crops, bundled face CNN, batch 16). Accuracy: both classifiers on
the same FER2013 validation images (fer's own 64-px preprocessing; emolab's 48-px input).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402
from bench_pipeline import face_pipeline, make_lesson  # noqa: E402

WORKER = Path(__file__).resolve().parent / "fer_worker.py"
FER_TO_EMOLAB = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "sad": "sadness",
                 "surprise": "surprise", "neutral": "neutral"}


def run_fer(python: str, *args: str) -> dict:
    out = subprocess.run([python, str(WORKER), *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def visible_faces(lesson: Path) -> float:
    import pandas as pd

    truth = pd.read_csv(lesson / "truth.csv")
    if "occluded" in truth:
        truth = truth[truth["occluded"] == 0]
    return float(truth.groupby("frame").size().mean())


def accuracy(fer_python: str, fer2013: Path, limit: int | None) -> dict:
    import numpy as np

    from emolab.data import read_corpus
    from emolab.preprocessing.inputs import load_face_images
    from emolab.taxonomy import EMOTIONS
    from emolab.models.lesson import load_lesson_models

    m = read_corpus("fer2013", fer2013)
    m = m[m["split"] == "validation"].reset_index(drop=True)
    if limit:
        m = m.sample(limit, random_state=0).reset_index(drop=True)
    truth = m["label"].astype(str).to_numpy()
    t0 = time.perf_counter()
    face = load_lesson_models("pretrained").face(load_face_images(m, progress=False)[:, None])
    ours = np.array(EMOTIONS)[face.argmax(1)]
    ours_s = time.perf_counter() - t0
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(map(str, m["path"])))
    fer = run_fer(fer_python, "images", f.name)
    theirs = np.array([FER_TO_EMOLAB[p] for p in fer["predictions"]])
    return {"images": len(m), "emolab_accuracy": round(float((ours == truth).mean()), 4),
            "fer_accuracy": round(float((theirs == truth).mean()), 4), "emolab_s": round(ours_s, 2), "fer_s": fer["seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fer-python", default=os.environ.get("FER_PYTHON"),
                    help="python of the virtual environment where fer is installed (default: $FER_PYTHON)")
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"
    ap.add_argument("--fer2013", default=str(shared) if shared.is_dir() else None,
                    help="FER2013 folder (train/ validation/) for the accuracy comparison (default: ../shared/data/fer2013 if present)")
    ap.add_argument("--faces", type=int, nargs="*", default=[1, 13])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--limit", type=int, default=None, help="use this many validation images (default: all)")
    args = ap.parse_args()
    if not args.fer_python:
        print("bench_fer: skipped — no fer environment given (set FER_PYTHON or --fer-python; see this script's docstring)")
        return
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in args.faces:
            folder = Path(d) / f"l{n}"
            video = str(make_lesson(folder, n, args.seconds))
            ours = face_pipeline(video)
            row = {"faces": n, "visible_faces_per_frame": round(visible_faces(folder), 2), "emolab": ours}
            for mtcnn in (False, True):
                row["fer_mtcnn" if mtcnn else "fer_haar"] = run_fer(args.fer_python, "video", video, *(["--mtcnn"] if mtcnn else []))
            for k in ("fer_haar", "fer_mtcnn"):
                row[f"speedup_vs_{k}"] = round(ours["fps"] / row[k]["fps"], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    acc = accuracy(args.fer_python, Path(args.fer2013), args.limit) if args.fer2013 else None
    if acc:
        print(json.dumps(acc))
    save("fer", {"video_720p_5fps": rows, "fer2013_validation": acc})


if __name__ == "__main__":
    main()
