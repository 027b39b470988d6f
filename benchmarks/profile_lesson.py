"""Where one lesson analysis spends its time: CPU seconds per thread and wall seconds per stage.

Each worker thread's CPU time (``time.thread_time`` when it ends: the frame decoder ``emolab-prefetch``, the face
model ``emolab-face``, the detector ``emolab-detect``, the audio ``emolab-audio``) and the main thread's; the wall
time of each stage after the video pass (who speaks, the speech and text models, fusion, tables). On a shared
machine run it several times, interleaved with the code you compare against: the same code's figures move by a
third between runs on the project's 2-core machine (``benchmarks/RESULTS.md``).

Usage::

    python benchmarks/profile_lesson.py LESSON_FOLDER_OR_VIDEO [--precision auto|bf16|fp32] [--repeat N]

e.g. the 10-minute benchmark lesson that ``bench_pipeline.py --minutes 10 --keep DIR`` leaves in ``DIR``.
"""

import argparse
import collections
import functools
import json
import threading
import time


def profile(lesson: str, precision: str = "auto") -> dict:
    """One analysis of ``lesson`` with per-thread CPU and per-stage wall times (s)."""
    import emolab.preprocessing.speakers as speakers
    import emolab.timeline.stages as stages
    from emolab.timeline import AnalysisConfig, analyze_lesson

    cpu: collections.Counter = collections.Counter()
    wall: collections.Counter = collections.Counter()
    run = threading.Thread.run

    def counted_run(self):
        try:
            run(self)
        finally:
            cpu[self.name.rsplit("_", 1)[0] if self.name.startswith("emolab") else "other"] += time.thread_time()

    def timed(module, name):
        f = getattr(module, name)

        @functools.wraps(f)
        def g(*a, **k):
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                wall[name] += time.perf_counter() - t
        setattr(module, name, g)
        return f

    originals = [(stages, n, timed(stages, n)) for n in ("read_faces", "read_speech", "read_text", "fuse_seconds", "smooth_timeline", "lesson_tables")]
    originals += [(speakers, n, timed(speakers, n)) for n in ("attribute_turns", "assign_roles")]
    threading.Thread.run = counted_run
    try:
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        res = analyze_lesson(lesson, config=AnalysisConfig(model="pretrained", precision=precision), progress=False)
        cpu["main"] += time.thread_time() - m0
        total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        threading.Thread.run = run
        for module, name, f in originals:
            setattr(module, name, f)
    return {"wall_s": round(total, 1), "cpu_s": round(total_cpu, 1), "people": int(res.info["n_people"]),
            "precision": res.info.get("precision", {}), "thread_cpu_s": {k: round(v, 1) for k, v in cpu.most_common()},
            "stage_wall_s": {k: round(v, 2) for k, v in wall.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lesson")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for _ in range(args.repeat):
        print(json.dumps(profile(args.lesson, args.precision)), flush=True)


if __name__ == "__main__":
    main()
