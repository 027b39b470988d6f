"""Video pipeline throughput (decode + detect + track + crop + classify) at 1, 4, 12 and 24 faces on 720p,
and whole-lesson analysis real-time factor and peak RSS (synthetic 720p lessons; the bundled real models by default).

Usage: python benchmarks/bench_pipeline.py [--faces 1 4 12 24] [--minutes 1 10 45] [--students 4 12 24]
       [--model pretrained|synthetic] [--keep DIR] [--tag NAME] [--generate-max 10]

Each lesson is analysed in a child process, so its peak RSS is the analysis alone.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, save  # noqa: E402


def face_pipeline(video: str, sample_fps: float = 5.0, keyframe_every: int = 5, batch: int = 16, classify: bool = True) -> dict:
    """Decode + detect + track + crop (+ classify with the bundled face CNN) over a video; per-stage times.

    ``batch`` crops are classified together (1: each face as it comes); ``keyframe_every`` 1 runs
    the full tiled detector on every sampled frame.
    """
    import numpy as np

    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.detection import KeyframeDetector
    from emolab.preprocessing.tracking import FaceTracker
    from emolab.preprocessing.video import iter_frames
    from emolab.models.lesson import load_lesson_models

    models = load_lesson_models("pretrained") if classify else None
    stages = {"decode": 0.0, "detect": 0.0, "track+crop": 0.0, "classify": 0.0}
    frames = faces = 0
    pending: list = []

    def run_batch():
        t = time.perf_counter()
        models.face(np.stack(pending)[:, None])
        stages["classify"] += time.perf_counter() - t
        pending.clear()

    with KeyframeDetector(every=keyframe_every) as det:
        tracker = FaceTracker()
        it = iter_frames(video, sample_fps=sample_fps)
        while True:
            t0 = time.perf_counter()
            try:
                _, t, frame = next(it)
            except StopIteration:
                break
            t1 = time.perf_counter()
            dets = det.detect(frame)
            t2 = time.perf_counter()
            crops = [crop_face(frame, d_.box, 48) for _, d_ in tracker.update(frame, dets, t)]
            stages["track+crop"] += time.perf_counter() - t2
            stages["decode"] += t1 - t0
            stages["detect"] += t2 - t1
            frames += 1
            faces += len(crops)
            for c in crops if classify else ():
                pending.append(c)
                if len(pending) >= batch:
                    run_batch()
        if pending and classify:
            run_batch()
    total = sum(stages.values())
    return {"frames": frames, "faces_per_frame": round(faces / max(frames, 1), 2), "fps": round(frames / total, 2), "grid": det.grid_,
            "keyframe_every": keyframe_every, "batch": batch if classify else None,
            **{f"{k}_ms_per_frame": round(1000 * v / max(frames, 1), 2) for k, v in stages.items()}}


def make_lesson(folder: Path, n_faces: int, seconds: float, seed: int | None = None, **overrides) -> Path:
    """A synthetic 720p lesson with ``n_faces`` faces (teacher included); returns its video."""
    from emolab.synth import LessonConfig, generate_lesson

    settings = dict(n_students=max(1, n_faces - 1), seconds=seconds, seed=n_faces if seed is None else seed, width=1280, height=720,
                    fps=15.0, leave_and_return=False, occlusions=False)
    return generate_lesson(folder, LessonConfig(**{**settings, **overrides}), progress=False).video


def throughput(n_faces: int, seconds: float = 20.0) -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        video = make_lesson(Path(d) / "l", n_faces, seconds)
        rows = [face_pipeline(str(video), keyframe_every=1, classify=False)]
        rows += [face_pipeline(str(video), keyframe_every=5, batch=b) for b in (1, 16)]
        return [{"faces": n_faces, **r} for r in rows]


def analyze_one(folder: str, model: str) -> dict:
    """Analyse one lesson in this (fresh) process; time, people found and this process's peak RSS."""
    from emolab.timeline import AnalysisConfig, analyze_lesson

    t0 = time.perf_counter()
    res = analyze_lesson(folder, config=AnalysisConfig(model=model), progress=False)
    dt = time.perf_counter() - t0
    return {"analysis_s": round(dt, 1), "people_found": int(res.info["n_people"]), "peak_rss_mb": round(peak_rss_mb(), 1)}


def loop_lesson(src: Path, dst: Path, minutes: float) -> Path:
    """A ``minutes``-long lesson made by repeating the lesson in ``src`` back to back (for lessons too long to
    generate on 2 cores): video packets copied with shifted timestamps (no re-encoding, same decoding cost per
    frame), audio tiled, transcript cues shifted. Same people, same seats; the ground truth is not looped."""
    import json

    import av
    import soundfile as sf

    from emolab.data.transcripts import read_transcript

    dst.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / "lesson.json").read_text())
    period, total = float(meta["seconds"]), 60.0 * minutes
    n = int(np.ceil(total / period))
    with av.open(str(src / "lesson.mp4")) as inp, av.open(str(dst / "lesson.mp4"), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        shift = int(round(period / vin.time_base))
        for k in range(n):
            inp.seek(0)
            for pkt in inp.demux(vin):
                if pkt.dts is None:
                    continue
                if float((pkt.pts + k * shift) * vin.time_base) >= total:
                    continue
                pkt.pts += k * shift
                pkt.dts += k * shift
                pkt.stream = vout
                out.mux(pkt)
    y, sr = sf.read(src / "lesson.wav", dtype="float32")
    sf.write(dst / "lesson.wav", np.tile(y, n)[: int(total * sr)], sr)
    tr = read_transcript(src / "lesson.srt")
    cues = []
    for k in range(n):
        for r in tr.itertuples():
            if r.end + k * period <= total:
                cues.append((r.start + k * period, r.end + k * period, f"{r.speaker}: {r.text}" if r.speaker else r.text))

    def stamp(x: float) -> str:
        ms = int(round(x * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    (dst / "lesson.srt").write_text("".join(f"{i + 1}\n{stamp(a)} --> {stamp(b)}\n{t}\n\n" for i, (a, b, t) in enumerate(cues)))
    (dst / "lesson.json").write_text(json.dumps({**meta, "seconds": total, "looped_from": src.name, "loops": n}, indent=2))
    return dst / "lesson.mp4"


def lesson_rtf(minutes: float, students: int = 12, model: str = "pretrained", keep: Path | None = None,
               generate_max: float = 10.0) -> dict:
    """Generate (or reuse from ``keep``) a 720p lesson and analyse it in a child process (clean peak RSS).

    Lessons longer than ``generate_max`` minutes are the ``generate_max``-minute lesson repeated (:func:`loop_lesson`).
    """
    import json
    import subprocess

    with tempfile.TemporaryDirectory() as d:
        folder = (keep or Path(d)) / f"lesson_{minutes:g}min_{students}"
        gen = None
        if not (folder / "lesson.json").is_file():
            t0 = time.perf_counter()
            if minutes > generate_max:
                base = (keep or Path(d)) / f"lesson_{generate_max:g}min_{students}"
                if not (base / "lesson.json").is_file():
                    make_lesson(base, students + 1, 60 * generate_max, seed=1, leave_and_return=True, occlusions=True)
                loop_lesson(base, folder, minutes)
            else:
                make_lesson(folder, students + 1, 60 * minutes, seed=1, leave_and_return=True, occlusions=True)
            gen = round(time.perf_counter() - t0, 1)
        out = subprocess.run([sys.executable, __file__, "--analyze-one", str(folder), "--model", model], check=True,
                             capture_output=True, text=True).stdout
        child = json.loads(out.strip().splitlines()[-1])
    looped = minutes > generate_max
    return {"minutes": minutes, "students": students, "model": model, **child, "looped_from_minutes": generate_max if looped else None,
            "real_time_factor": round(60 * minutes / child["analysis_s"], 2), "generation_s": gen}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, nargs="*", default=[1, 4, 12, 24])
    ap.add_argument("--minutes", type=float, nargs="*", default=[1.0])
    ap.add_argument("--students", type=int, nargs="*", default=[12], help="students per lesson (cost vs class size)")
    ap.add_argument("--model", default="pretrained", help="lesson model: pretrained (default) or synthetic")
    ap.add_argument("--keep", default=None, help="folder where generated lessons are kept and reused between runs")
    ap.add_argument("--tag", default="", help="suffix of the JSON file (results/pipeline[_TAG].json), to keep several runs")
    ap.add_argument("--generate-max", type=float, default=10.0,
                    help="longer lessons repeat the lesson of this many minutes (generating 45 min of 720p video takes too long on 2 cores)")
    ap.add_argument("--analyze-one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.analyze_one:
        import json

        print(json.dumps(analyze_one(args.analyze_one, args.model)))
        return
    import torch

    rows = [r for n in args.faces for r in throughput(n)]
    for r in rows:
        print(r, flush=True)
    keep = Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    lessons = []
    for m in args.minutes:
        for n in args.students:
            lessons.append(lesson_rtf(m, n, args.model, keep, args.generate_max))
            print(lessons[-1], flush=True)
    save("pipeline" + (f"_{args.tag}" if args.tag else ""), {"throughput_720p_5fps": rows, "lessons_720p": lessons, "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
