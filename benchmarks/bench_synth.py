"""Synthetic lesson generation speed (target: 60 s, 8 students, 640x360 @ 15 fps in <= 20 s on 2 cores)
and the real face detector's recall on it."""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pandas as pd  # noqa: E402

from _common import peak_rss_mb, save, timer  # noqa: E402
from emolab.synth import LessonConfig, generate_lesson  # noqa: E402


def main() -> None:
    res = {}
    with tempfile.TemporaryDirectory() as d:
        with timer(res, "generate_60s_8students_s"):
            lesson = generate_lesson(Path(d) / "l", LessonConfig(n_students=8, seconds=60, seed=0), progress=False)
        from emolab.preprocessing.tracking import track_faces
        from emolab.scoring import tracking_scores

        with timer(res, "track_60s_at_5fps_s"):
            faces = track_faces(str(lesson.video), sample_fps=5)
        res.update({f"tracking_{k}": v for k, v in tracking_scores(faces, pd.read_csv(lesson.truth)).items()})
    res["ratio_to_20s_target"] = round(res["generate_60s_8students_s"] / 20.0, 3)
    res["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(res)
    save("synth", res)


if __name__ == "__main__":
    main()
