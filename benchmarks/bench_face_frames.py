"""How many frames of each 1-s clip the per-frame face CNN must read: agreement with the truth of
held-out synthetic lessons against face-model time, for ``AnalysisConfig.face_frame_step`` 1 (all 5
frames), 2 (3 frames, the default), 3 (2 frames) and 5 (1 frame).

    python benchmarks/bench_face_frames.py [--seeds 501 502 503] [--steps 1 2 3 5] [--seconds 60]

Lessons are generated with seeds the tests never use (cached under ``--keep``); each is analysed
once per step with the bundled pretrained models, and the face model's thread CPU time is measured.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from _common import save  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[501, 502, 503])
    ap.add_argument("--steps", type=int, nargs="*", default=[1, 2, 3, 5])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--keep", default="/tmp/emolab_bench_face_frames", help="folder where generated lessons are kept")
    args = ap.parse_args()
    from emolab.models.lesson import LateFusionLessonModels
    from emolab.scoring import timeline_agreement, tracking_scores
    from emolab.synth import LessonConfig, generate_lesson
    from emolab.timeline import AnalysisConfig, analyze_lesson

    rows = []
    for seed in args.seeds:
        folder = Path(args.keep) / f"lesson_{seed}"
        if not (folder / "truth.csv").is_file():
            generate_lesson(folder, LessonConfig(n_students=8, seconds=args.seconds, seed=seed, layout="classroom", width=1280, height=720),
                            progress=False)
        truth = pd.read_csv(folder / "truth.csv")
        for step in args.steps:
            models = LateFusionLessonModels(frame_step=step)
            spent = []
            face = models.face

            def timed(*a, **k):
                t0 = time.thread_time()
                try:
                    return face(*a, **k)
                finally:
                    spent.append(time.thread_time() - t0)

            models.face = timed
            t0 = time.perf_counter()
            res = analyze_lesson(folder, config=AnalysisConfig(face_frame_step=step), models=models, progress=False)
            wall = time.perf_counter() - t0
            ag = timeline_agreement(res.timeline, res.faces, truth)
            tr = tracking_scores(res.faces, truth)
            rows.append({"seed": seed, "face_frame_step": step, "frames_per_clip": len(range(0, 5, step)), "agreement": round(ag["agreement"], 4),
                         "n": ag["n"], "coverage": round(ag["coverage"], 4), "purity": round(tr["purity"], 4),
                         "face_model_cpu_s": round(sum(spent), 2), "analysis_s": round(wall, 1)})
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    summary = df.groupby("face_frame_step").agg(frames_per_clip=("frames_per_clip", "first"), agreement=("agreement", "mean"),
                                                agreement_min=("agreement", "min"), n=("n", "sum"),
                                                face_model_cpu_s=("face_model_cpu_s", "sum")).reset_index()
    print(summary.to_string(index=False))
    save("face_frames", {"lessons": rows, "summary": summary.to_dict("records"), "seconds": args.seconds})


if __name__ == "__main__":
    main()
