"""Who speaks, measured on synthetic lessons: the old rule (energy turns, best mouth-audio correlation
>= 0.2, teacher = most attributed speech) against emolab.preprocessing.speakers (Silero turns,
mouth contrast, correlation + margin + Fisher z, teacher only on evidence).

Each lesson (emolab.synth, 8 students, 60 s, gallery layout) is rendered frame by frame; every
third frame (5 fps, as the lesson analysis samples) each visible face is cut out with a
detector-like jittered box and both mouth measures taken (openness, contrast); the audio energy at that time comes from
the lesson audio. The truth is the plan's utterances (who speaks when). Three conditions:

* ``visible``: everybody on screen, clean room audio;
* ``teacher_off``: the teacher's face removed from the sightings (a camera that does not see the
  teacher, the usual CCTV case): the teacher's turns should be "off-camera";
* ``noisy_teacher_off``: the same, with classroom transients (chairs, knocks, claps) added to the
  audio at 0 dB of the speech level.

Per condition and rule: seconds of turns given to the right visible speaker, to a wrong person
(including turns that are noise), or to "off-camera"; precision = right / given to someone,
recall = right / turns whose speaker is visible. The grid (mouth measure or |r| of openness x
min_corr x min_margin x min_z) is scored on the transcript's turns. Run: python benchmarks/bench_speakers.py [--lessons 6]; writes
benchmarks/results/speakers.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from _common import save  # noqa: E402

FPS_SAMPLE = 5.0
MIN_CORRS = [0.2, 0.3, 0.4, 0.5, 0.6]
MIN_MARGINS = [-1.0, 0.0, 0.1, 0.2, 0.3]
MIN_ZS = [-9.0, 2.0, 2.5, 3.0, 3.5]
OLD = {"min_corr": 0.2, "min_margin": -np.inf, "min_z": -np.inf, "mouth": "mouth"}
NEW_MOUTH = "contrast"  # the mouth measure of the new rule
VARIANTS = ("openness", "openness_absolute", "contrast")  # mouth feature (and |r|) the correlation reads


def sightings(seed: int, margin: float = 0.06) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Face sightings (t, person, mouth), the lesson audio, and the utterances (person, start, end); faces cut
    at crop ``margin`` (the pretrained lesson models' 0.06 by default)."""
    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.speakers import mouth_contrast, mouth_openness
    from emolab.synth import LessonConfig
    from emolab.synth.faces import detector_like_box
    from emolab.synth.lesson import iter_frames, plan_lesson, render_audio

    plan = plan_lesson(LessonConfig(n_students=8, seconds=60.0, seed=seed))
    audio, env = render_audio(plan)
    step = int(round(plan.config.fps / FPS_SAMPLE))
    rng = np.random.default_rng(seed)
    rows = []
    for f, t, frame, truth in iter_frames(plan, env):
        if f % step:
            continue
        crops = [crop_face(frame, detector_like_box((x, y, w, h), rng), size=48, margin=margin) for _, person, _, x, y, w, h, *_ in truth]
        if crops:
            for r, m, c in zip(truth, mouth_openness(np.stack(crops)), mouth_contrast(np.stack(crops))):
                rows.append((t, r[1], float(m), float(c)))
    utt = pd.DataFrame([(u.person, u.start, u.end) for u in plan.utterances], columns=["person", "start", "end"])
    return pd.DataFrame(rows, columns=["t", "person", "mouth", "contrast"]), audio, utt


def truth_of(turns: pd.DataFrame, utt: pd.DataFrame) -> list[str]:
    """The utterance speaker overlapping each turn most ("noise" when less than half the turn is speech)."""
    out = []
    for a, b in zip(turns["start"], turns["end"]):
        ov = (np.minimum(b, utt["end"]) - np.maximum(a, utt["start"])).clip(lower=0)
        out.append(utt["person"].iloc[int(ov.argmax())] if len(ov) and ov.max() >= 0.5 * (b - a) else "noise")
    return out


def decide(scores: list[pd.DataFrame], min_corr: float, min_margin: float, min_z: float, absolute: bool = False) -> list[str]:
    """attribute_turns' rule on precomputed turn_correlations tables (``absolute``: |r| instead of r)."""
    out = []
    for sc in scores:
        if absolute and len(sc):
            sc = sc.assign(correlation=sc["correlation"].abs()).sort_values("correlation", ascending=False, kind="stable")
        if sc.empty:
            out.append("off-camera")
            continue
        r, n = float(sc["correlation"].iloc[0]), int(sc["frames"].iloc[0])
        margin = r - max(float(sc["correlation"].iloc[1]) if len(sc) > 1 else 0.0, 0.0)
        z = np.arctanh(np.clip(r, -0.999999, 0.999999)) * np.sqrt(max(n - 3, 1))
        out.append(sc["person"].iloc[0] if r >= min_corr and margin >= min_margin and z >= min_z else "off-camera")
    return out


def tally(given: list[str], truth: list[str], dur: np.ndarray, visible: set) -> dict:
    right = wrong = off = 0.0
    for g, t, d in zip(given, truth, dur):
        if g == "off-camera":
            off += d
        elif g == t:
            right += d
        else:
            wrong += d
    should = float(sum(d for t, d in zip(truth, dur) if t in visible))
    return {"right_s": right, "wrong_s": wrong, "off_s": off, "speaker_visible_s": should}


def rates(t: dict) -> dict:
    given = t["right_s"] + t["wrong_s"]
    return {"precision": round(t["right_s"] / given, 4) if given else None,
            "recall": round(t["right_s"] / t["speaker_visible_s"], 4) if t["speaker_visible_s"] else None,
            **{k: round(v, 1) for k, v in t.items()}}


def old_teacher(turns: pd.DataFrame, people: list[str]) -> str | None:
    """The rule of analysis._roles at 484fabe: most attributed speech, >= 35 % of attributed speech and 1.5x the next."""
    att = turns[turns["person"] != "off-camera"]
    if att.empty:
        return None
    dur = (att["end"] - att["start"]).groupby(att["person"]).sum().sort_values(ascending=False)
    if dur.iloc[0] >= 0.35 * dur.sum() and (len(dur) == 1 or dur.iloc[0] >= 1.5 * dur.iloc[1]):
        return dur.index[0]
    return None


def main() -> None:
    from emolab.preprocessing.speakers import MIN_CORR, MIN_MARGIN, MIN_Z, assign_roles, attribute_turns, face_rms, speech_turns, turn_correlations

    ap = argparse.ArgumentParser()
    ap.add_argument("--lessons", type=int, default=6)
    ap.add_argument("--margin", type=float, default=0.06, help="crop margin (default 0.06, as the pretrained lesson models crop; 0.2 before 2026-12-01)")
    ap.add_argument("--mouth", choices=("soft", "hard"), default="soft",
                    help="mouth region of mouth_contrast: the shipped soft one, or the hard box used until 2026-12-01")
    args = ap.parse_args()
    if args.mouth == "hard":
        import emolab.preprocessing.speakers as speakers
        from bench_speaking_lessons import hard_mouth_contrast

        speakers.mouth_contrast = hard_mouth_contrast
    from bench_vad import _transients

    grid = {(v, c): {(mc, mm, mz): {"right_s": 0.0, "wrong_s": 0.0, "off_s": 0.0, "speaker_visible_s": 0.0}
                     for mc in MIN_CORRS for mm in MIN_MARGINS for mz in MIN_ZS}
            for v in VARIANTS for c in ("visible", "teacher_off")}
    pipe = {c: {r: {"right_s": 0.0, "wrong_s": 0.0, "off_s": 0.0, "speaker_visible_s": 0.0} for r in ("old", "new")}
            for c in ("visible", "teacher_off", "noisy_teacher_off")}
    teachers = {c: {"old": [], "new": []} for c in pipe}
    reasons = {c: [] for c in pipe}
    for seed in range(args.lessons):
        faces0, audio, utt = sightings(seed, args.margin)
        bed = _transients(len(audio), np.random.default_rng(seed))
        speech_rms = np.sqrt(np.mean(audio[np.abs(audio) > 0.01] ** 2))  # room noise is 0.002 rms
        noisy = (audio + bed * speech_rms / np.sqrt(np.mean(bed**2))).astype(np.float32)  # 0 dB
        transcript = utt.rename(columns={"person": "speaker"}).assign(text="", overlaps=False)
        for cond in pipe:
            faces = faces0 if cond == "visible" else faces0[faces0["person"] != "T"]
            y = noisy if cond.startswith("noisy") else audio
            faces = faces.assign(rms=face_rms(faces["t"].to_numpy(), y, FPS_SAMPLE))
            visible = set(faces["person"])
            people = sorted(visible)
            if ("openness", cond) in grid:  # the threshold grid on the transcript's turns
                signed = [turn_correlations((a, b), faces, mouth="mouth") for a, b in zip(utt["start"], utt["end"])]
                contrast = [turn_correlations((a, b), faces, mouth="contrast") for a, b in zip(utt["start"], utt["end"])]
                dur = (utt["end"] - utt["start"]).to_numpy()
                for variant, scores in (("openness", signed), ("openness_absolute", signed), ("contrast", contrast)):
                    for key, acc in grid[(variant, cond)].items():
                        given = decide(scores, *key, absolute=variant.endswith("absolute"))
                        for k, v in tally(given, list(utt["person"]), dur, visible).items():
                            acc[k] += v
            for rule in ("old", "new"):
                turns = speech_turns(None, y, 60.0, vad="energy" if rule == "old" else "silero")
                turns = attribute_turns(turns, faces, **(OLD if rule == "old" else {"min_corr": MIN_CORR, "min_margin": MIN_MARGIN, "min_z": MIN_Z, "mouth": NEW_MOUTH}))
                truth = truth_of(turns, utt)
                for k, v in tally(list(turns["person"]), truth, (turns["end"] - turns["start"]).to_numpy(), visible).items():
                    pipe[cond][rule][k] += v
                if rule == "old":
                    teachers[cond]["old"].append(old_teacher(turns, people))
                else:
                    ra = assign_roles(faces, turns)
                    teachers[cond]["new"].append(ra.teacher)
                    reasons[cond].append(ra.reason)
        print(f"lesson {seed}: " + "; ".join(f"{c}: old {teachers[c]['old'][-1]} new {teachers[c]['new'][-1]}" for c in pipe), flush=True)

    print("\ngrid on transcript turns: precision / recall of attributed seconds, visible | teacher off camera")
    grid_out = []
    for variant in VARIANTS:
        for key in grid[(variant, "visible")]:
            vis, off = rates(grid[(variant, "visible")][key]), rates(grid[(variant, "teacher_off")][key])
            grid_out.append({"mouth": variant, "min_corr": key[0], "min_margin": None if key[1] < -0.5 else key[1],
                             "min_z": None if key[2] < -5 else key[2], "visible": vis, "teacher_off": off})
    fmt = lambda x: "  -  " if x is None else f"{x:.2f}"  # noqa: E731
    cell = {(g["mouth"], g["min_corr"], g["min_margin"], g["min_z"]): g for g in grid_out}
    for variant in VARIANTS:
        for mz in MIN_ZS:
            mz = None if mz < -5 else mz
            print(f"  mouth {variant}, z >= {mz}   (rows min_corr, columns min_margin; cells P/R visible, P teacher off)")
            print("        " + "".join(f"{str(None if m < -0.5 else m):>16}" for m in MIN_MARGINS))
            for mc in MIN_CORRS:
                cs = [cell[(variant, mc, None if mm < -0.5 else mm, mz)] for mm in MIN_MARGINS]
                print(f"    {mc:<4}" + "".join(f"{fmt(c['visible']['precision']):>6}/{fmt(c['visible']['recall'])} {fmt(c['teacher_off']['precision'])}"
                                            for c in cs))
    print(f"\nfull rules (old: energy turns + openness corr >= 0.2; new: Silero turns + {NEW_MOUTH} corr >= {MIN_CORR}, margin >= {MIN_MARGIN}, z >= {MIN_Z}):")
    pipe_out = {}
    for cond, by in pipe.items():
        pipe_out[cond] = {}
        for rule, acc in by.items():
            r = rates(acc)
            want = "T" if cond == "visible" else None
            ok = sum(t == want for t in teachers[cond][rule])
            r["teacher_correct"] = f"{ok}/{len(teachers[cond][rule])}"
            r["teachers"] = teachers[cond][rule]
            pipe_out[cond][rule] = r
            print(f"  {cond:18s} {rule}: precision {r['precision']}  recall {r['recall']}  right {r['right_s']} s  wrong {r['wrong_s']} s"
                  f"  off-camera {r['off_s']} s  teacher right {r['teacher_correct']} ({r['teachers']})")
    for cond in reasons:
        print(f"  e.g. {cond}: {reasons[cond][0]}")
    save("speakers" + ("_hard" if args.mouth == "hard" else ""),
                     {"lessons": args.lessons, "sample_fps": FPS_SAMPLE, "min_corr": MIN_CORR, "min_margin": MIN_MARGIN, "min_z": MIN_Z,
                      "mouth": NEW_MOUTH, "mouth_region": args.mouth, "crop_margin": args.margin,
                      "grid": grid_out, "rules": pipe_out, "role_reasons": reasons})


if __name__ == "__main__":
    main()
