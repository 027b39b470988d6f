"""Sampled decoding: the skipping decoder (H.264 non-reference frames that are not kept are never decoded) against
OpenCV decoding every frame, on one video.

Both yield the same frames (checked here, pixel for pixel, on every frame of the measured span). Each run decodes in
a worker thread with one decoder thread, as :func:`~emolab.preprocessing.tracking.iter_tracked` does, and reports
that thread's CPU seconds; runs alternate (the project machine's speed moves by a third between minutes), and the
medians are compared. The same figure in instructions, which do not move with the machine, comes from running
``valgrind --tool=callgrind`` on two spans and taking the difference (``benchmarks/RESULTS.md``, session 10).

Usage::

    python benchmarks/bench_decode.py VIDEO [--fps 5] [--seconds 200] [--repeat 3]
"""

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402


def decode(video: str, fps: float, seconds: float, skipping: bool, keep: bool = False):
    """CPU seconds of one sampled decode in a worker thread, the number of frames, and the frames when ``keep``."""
    import emolab.preprocessing.video as video_mod

    real = video_mod._skipping_decoder
    out: dict = {}

    def work():
        t0 = time.thread_time()
        frames = [(i, t, f if keep else None) for i, t, f in video_mod.iter_frames(video, fps, end=seconds, threads=1)]
        out["cpu"], out["frames"] = time.thread_time() - t0, frames

    if not skipping:
        video_mod._skipping_decoder = lambda *a: None
    try:
        th = threading.Thread(target=work)
        th.start()
        th.join()
    finally:
        video_mod._skipping_decoder = real
    return out["cpu"], out["frames"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("video")
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=200.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    _, a = decode(args.video, args.fps, min(args.seconds, 30.0), True, keep=True)
    _, b = decode(args.video, args.fps, min(args.seconds, 30.0), False, keep=True)
    same = len(a) == len(b) and all(x[:2] == y[:2] and np.array_equal(x[2], y[2]) for x, y in zip(a, b))
    print(f"same frames, pixel for pixel, over the first {min(args.seconds, 30.0):g} s: {same} ({len(a)} frames)")
    cpu: dict = {"skipping": [], "opencv": []}
    for _ in range(args.repeat):
        for name in cpu:
            c, frames = decode(args.video, args.fps, args.seconds, name == "skipping")
            cpu[name].append(c)
            print(f"{name:9s} {len(frames)} frames  {c:.2f} CPU-s", flush=True)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"median CPU-s: skipping {med['skipping']:.2f}, OpenCV {med['opencv']:.2f}; ratio {med['skipping'] / med['opencv']:.2f}")
    save("decode", {"video": Path(args.video).name, "fps": args.fps, "seconds": args.seconds, "same_frames": same,
                    "cpu_s": cpu, "median_cpu_s": med, "ratio": med["skipping"] / med["opencv"]})


if __name__ == "__main__":
    main()
