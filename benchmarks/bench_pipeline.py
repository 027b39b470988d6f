"""Video pipeline throughput (decode + detect + track + crop) at 1, 4, 12 and 24 faces on 720p,
and whole-lesson analysis real-time factor and peak RSS (synthetic lessons, synthetic-domain model).

Usage: python benchmarks/bench_pipeline.py [--minutes 1 10] [--faces 1 4 12 24]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, save  # noqa: E402


def throughput(n_faces: int, seconds: float = 10.0) -> dict:
    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.detection import FaceDetector
    from emolab.preprocessing.tracking import FaceTracker
    from emolab.preprocessing.video import iter_frames
    from emolab.synth import LessonConfig, generate_lesson

    with tempfile.TemporaryDirectory() as d:
        lesson = generate_lesson(Path(d) / "l", LessonConfig(n_students=max(1, n_faces - 1), seconds=seconds, seed=n_faces, width=1280,
                                                              height=720, fps=15.0, leave_and_return=False, occlusions=False), progress=False)
        stages = {"decode": 0.0, "detect": 0.0, "track+crop": 0.0}
        frames = 0
        with FaceDetector() as det:
            tracker = FaceTracker()
            it = iter_frames(lesson.video, sample_fps=5.0)
            while True:
                t0 = time.perf_counter()
                try:
                    _, t, frame = next(it)
                except StopIteration:
                    break
                t1 = time.perf_counter()
                dets = det.detect(frame)
                t2 = time.perf_counter()
                for _, d_ in tracker.update(frame, dets, t):
                    crop_face(frame, d_.box, 48)
                t3 = time.perf_counter()
                stages["decode"] += t1 - t0
                stages["detect"] += t2 - t1
                stages["track+crop"] += t3 - t2
                frames += 1
        total = sum(stages.values())
        return {"faces": n_faces, "frames": frames, "fps": round(frames / total, 2), "grid": det.grid_,
                **{f"{k}_ms_per_frame": round(1000 * v / frames, 2) for k, v in stages.items()}}


def lesson_rtf(minutes: float, students: int = 12) -> dict:
    from emolab.synth import LessonConfig, generate_lesson
    from emolab.timeline import AnalysisConfig, analyze_lesson

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        generate_lesson(Path(d) / "l", LessonConfig(n_students=students, seconds=60 * minutes, seed=1, width=1280, height=720, fps=15.0),
                        progress=False)
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = analyze_lesson(Path(d) / "l", config=AnalysisConfig(model="synthetic"), progress=False)
        dt = time.perf_counter() - t0
    return {"minutes": minutes, "students": students, "analysis_s": round(dt, 1), "real_time_factor": round(60 * minutes / dt, 2),
            "generation_s": round(gen, 1), "people_found": int(res.info["n_people"]), "peak_rss_mb": round(peak_rss_mb(), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, nargs="*", default=[1, 4, 12, 24])
    ap.add_argument("--minutes", type=float, nargs="*", default=[1.0])
    args = ap.parse_args()
    import torch

    rows = [throughput(n) for n in args.faces]
    for r in rows:
        print(r)
    lessons = [lesson_rtf(m) for m in args.minutes]
    for r in lessons:
        print(r)
    save("pipeline", {"throughput_720p_5fps": rows, "lessons_720p_12_students": lessons, "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
