"""Runs *inside fer's own virtual environment* (never emolab's): fer's side of ``bench_fer.py``.

Usage (called by bench_fer.py):
    FER_PYTHON benchmarks/fer_worker.py video CLIP.mp4 --sample-fps 5 [--mtcnn]
    FER_PYTHON benchmarks/fer_worker.py images LIST.txt       # one image path per line

Prints one JSON object. Imports only fer, OpenCV and numpy.
"""

import argparse
import json
import time

import cv2
import numpy as np


def load_fer(mtcnn: bool):
    from fer.fer import FER  # fer 25.x: the package's __init__ no longer re-exports FER

    return FER(mtcnn=mtcnn)


def video(path: str, sample_fps: float, mtcnn: bool) -> dict:
    t_load = time.perf_counter()
    det = load_fer(mtcnn)
    det.detect_emotions(np.full((64, 64, 3), 128, np.uint8))  # warm-up (model load)
    load_s = time.perf_counter() - t_load
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1, int(round(fps / sample_fps)))
    frames, faces, i = 0, 0, 0
    t0 = time.perf_counter()
    while True:
        ok = cap.grab()
        if not ok:
            break
        if i % step == 0:
            ok, frame = cap.retrieve()
            if not ok:
                break
            faces += len(det.detect_emotions(frame))
            frames += 1
        i += 1
    dt = time.perf_counter() - t0
    return {"frames": frames, "seconds": round(dt, 3), "fps": round(frames / dt, 3), "faces_per_frame": round(faces / max(frames, 1), 3),
            "detector": "mtcnn" if mtcnn else "haar", "model_load_s": round(load_s, 2)}


def images(list_file: str) -> dict:
    det = load_fer(False)
    paths = [p.strip() for p in open(list_file) if p.strip()]
    labels = det._get_labels()
    size = (64, 64)
    preds = []
    t0 = time.perf_counter()
    for s in range(0, len(paths), 64):
        batch = []
        for p in paths[s:s + 64]:
            img = cv2.imread(p, cv2.IMREAD_GRAYSCALE)
            batch.append(cv2.resize(img, size))
        x = (np.asarray(batch, np.float32) / 255.0 - 0.5) * 2.0  # fer's own preprocessing
        preds += [labels[int(k)] for k in det._classify_emotions(x).argmax(1)]
    return {"predictions": preds, "seconds": round(time.perf_counter() - t0, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["video", "images"])
    ap.add_argument("path")
    ap.add_argument("--sample-fps", type=float, default=5.0)
    ap.add_argument("--mtcnn", action="store_true")
    a = ap.parse_args()
    import fer

    out = video(a.path, a.sample_fps, a.mtcnn) if a.mode == "video" else images(a.path)
    print(json.dumps({"fer_version": fer.__version__, **out}))


if __name__ == "__main__":
    main()
