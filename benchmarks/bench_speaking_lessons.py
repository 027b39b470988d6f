"""Who speaks, in whole lesson analyses: speaking seconds and the teacher against the truth of generated lessons.

``bench_speakers.py`` scores the attribution rule on sightings it cuts itself; this script runs
:func:`emolab.analyze_lesson` end to end (decoding, YuNet, template following, crops, Silero turns,
attribution, roles) on 12 generated 60-s lessons (seeds 11-16 of the 640x360 gallery layout with 8
students, 21-26 of the 1280x720 classroom layout with 10) and the bundled sample lesson, and scores:

* ``speak_P`` / ``speak_R``: timeline seconds marked ``speaking`` for a person who truly speaks then
  (precision), and truly speaking person-seconds found (recall); identities are matched to the truth
  by their boxes (:func:`emolab.scoring.match_to_truth`);
* ``teacher``: which truth person the one named teacher is (``none``: nobody named).

``--mouth hard`` swaps in the hard-edged mouth region used until 2026-12-01 (rows 54-79 %,
columns 33-67 % of the crop) for :func:`emolab.preprocessing.speakers.mouth_contrast`, to compare.

    python benchmarks/bench_speaking_lessons.py --keep /tmp/speaking_lessons [--mouth hard]

Writes ``benchmarks/results/speaking_lessons[_hard].json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402


def hard_mouth_contrast(crops: np.ndarray) -> np.ndarray | float:
    """The mouth measure before 2026-12-01: standard deviation of a hard mouth box over that of the crop."""
    c = np.asarray(crops, np.float32)
    one = c.ndim == 2
    c = c[None] if one else c
    h, w = c.shape[1:3]
    region = c[:, int(0.54 * h):int(0.79 * h), int(0.33 * w):int(0.67 * w)]
    out = region.std(axis=(1, 2)) / (c.std(axis=(1, 2)) + 1e-6)
    return float(out[0]) if one else out.astype(np.float32)


def score(folder: Path) -> dict:
    """Speaking precision/recall and the named teacher of one analysed lesson against its ``truth.csv``."""
    from emolab.scoring import match_to_truth
    from emolab.timeline import analyze_lesson

    res = analyze_lesson(folder, progress=False)
    truth = pd.read_csv(folder / "truth.csv")
    m = match_to_truth(res.faces, truth)
    who = m[m["truth_person"] != ""].groupby("person")["truth_person"].agg(lambda s: s.mode()[0])
    tl = res.timeline.assign(truth_person=lambda d: d["person"].map(who))
    tr = truth.assign(sec=truth["t"].astype(int)).groupby(["person", "sec"])["speaking"].max().reset_index()
    j = tl.merge(tr, left_on=["truth_person", "t"], right_on=["person", "sec"], how="inner")
    said, true = j["speaking_x"].astype(bool), j["speaking_y"].astype(bool)
    return {"lesson": folder.name, "teacher": str(who.get("T", "none")) if "T" in set(res.timeline["person"]) else "none",
            "teacher_truth": "T", "speak_P": round(float((said & true).sum() / max(1, said.sum())), 3),
            "speak_R": round(float((said & true).sum() / max(1, true.sum())), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", default=None, help="folder where the generated lessons are kept and reused (else a temporary one)")
    ap.add_argument("--mouth", choices=("soft", "hard"), default="soft", help="mouth region: the shipped soft one, or the old hard box")
    args = ap.parse_args()
    from emolab.preprocessing import speakers
    from emolab.samples import sample_lesson
    from emolab.synth.lesson import LessonConfig, generate_lesson

    if args.mouth == "hard":
        speakers.mouth_contrast = hard_mouth_contrast  # the perception pass imports it at each run
    base = Path(args.keep or tempfile.mkdtemp(prefix="speaking-"))
    cfgs = [LessonConfig(n_students=8, seconds=60.0, seed=s, layout="gallery", width=640, height=360, fps=15.0) for s in range(11, 17)]
    cfgs += [LessonConfig(n_students=10, seconds=60.0, seed=s, layout="classroom", width=1280, height=720, fps=15.0) for s in range(21, 27)]
    rows = []
    for cfg in cfgs:
        folder = base / f"{cfg.layout}_{cfg.seed}"
        if not (folder / "truth.csv").is_file():
            generate_lesson(folder, cfg, overwrite=True, progress=False)
        rows.append(score(folder))
        print(rows[-1], flush=True)
    rows.append(score(sample_lesson()))
    df = pd.DataFrame(rows)
    summary = {"speak_P": round(float(df["speak_P"].mean()), 3), "speak_R": round(float(df["speak_R"].mean()), 3),
               "teacher_named_right": int((df["teacher"] == df["teacher_truth"]).sum()),
               "teacher_named_wrong": int(((df["teacher"] != "none") & (df["teacher"] != df["teacher_truth"])).sum()), "lessons": len(df)}
    print(df.to_string(index=False))
    print(summary)
    save("speaking_lessons" + ("_hard" if args.mouth == "hard" else ""), {"mouth": args.mouth, "lessons": rows, "summary": summary})


if __name__ == "__main__":
    main()
