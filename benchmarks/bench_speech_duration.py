"""How much speech does the speech model need? Accuracy against the length of speech in the window it reads.

A lesson reads a 3-s window around every second of a speaking turn, and a short turn (a 0.8-s "yes, miss"
off camera) fills little of it: the rest is the room. This script cuts each RAVDESS utterance to its first
0.25 ... 2 s of speech (the active frames: within 30 dB of the loudest 10-ms frame of the clean recording),
centres the cut in a 3-s bed and reads it the way a lesson does (the bundled model's encoder statistics, its
pooled layers, the shipped temperature). Beds: near silence (pink noise 40 dB below the speech), pink noise at
10 dB SNR, and babble of four other actors at 10 dB SNR.

Honest heads: the bundled head was fitted on actors 01-18, so each actor pair is read by a head of the same
set-up (the bundled model's pooled layers, LDA with its shrinkage, two noise-only room copies of every training
utterance) fitted on the other 16 actors — out of fold, as the card's figures are. For every bed and length:
accuracy, mean confidence (after the shipped temperature), and, at the lesson's ``speech_abstain``, how many
windows keep an answer and how often that answer is right. The lesson's rule for abstention (answer only where
an answer is right more often than wrong) applied to length gives the shortest turn worth reading.

Usage::

    python benchmarks/bench_speech_duration.py [--shared ../shared]    # ~5 min on 2 cores; results/speech_duration.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402
from _speech import ravdess_folder, ravdess_voice  # noqa: E402

LENGTHS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def speech_span(y: np.ndarray, sr: int = 16000, below_db: float = 30.0) -> tuple[int, int]:
    """First and last sample of the frames (25 ms, 10 ms hop) within ``below_db`` of the loudest frame."""
    hop, win = sr // 100, sr // 40
    n = max(1, 1 + (len(y) - win) // hop)
    e = np.array([np.mean(y[i * hop:i * hop + win] ** 2) for i in range(n)]) + 1e-12
    db = 10 * np.log10(e)
    on = np.flatnonzero(db >= db.max() - below_db)
    return int(on[0] * hop), int(min(len(y), on[-1] * hop + win))


def in_bed(cut: np.ndarray, bed: np.ndarray, snr_db: float) -> np.ndarray:
    """``cut`` centred in a copy of ``bed`` (3 s), the bed scaled to ``snr_db`` below the cut's power."""
    p = float(np.mean(cut ** 2)) + 1e-12
    out = bed * np.sqrt(p / (np.mean(bed ** 2) + 1e-12) / 10 ** (snr_db / 10))
    a = (len(out) - len(cut)) // 2
    out = out.astype(np.float32).copy()
    out[a:a + len(cut)] += cut
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared", help="the shared/ folder with data/ravdess_speech")
    a = ap.parse_args()
    folder = ravdess_folder(a.shared, "bench_speech_duration")
    if folder is None:
        return

    from emolab.calibration import apply_temperature, temperature_for
    from emolab.models.lesson import SPEECH_ABSTAIN
    from emolab.preprocessing.augment import babble, colored_noise
    from emolab.taxonomy import EMOTIONS

    t0 = time.perf_counter()
    d = ravdess_voice(folder, copies=2)
    model, shrinkage, y, actor, waves = d.model, d.shrinkage, d.y, d.actor, d.waves
    stats = d.stats
    names = list(EMOTIONS)
    temperature = float(temperature_for("speech"))
    abstain = SPEECH_ABSTAIN
    spans = [speech_span(w) for w in waves]
    n3 = 3 * 16000
    rng = np.random.default_rng(1)
    beds = {"near silence": (lambda i: colored_noise(n3, exponent=1.0, rng=rng), 40.0),
            "pink noise 10 dB": (lambda i: colored_noise(n3, exponent=1.0, rng=rng), 10.0),
            "babble 10 dB": (lambda i: babble([waves[j] for j in np.flatnonzero(actor != actor[i])[::7]], n3, talkers=4, rng=rng), 10.0)}
    pairs = [(k, k + 1) for k in range(1, 19, 2)]
    heads = {p: d.fit_head(~np.isin(actor, p)) for p in pairs}
    fold = np.array([next(k for k, p in enumerate(pairs) if a_ in p) for a_ in actor])

    def read(F: np.ndarray) -> np.ndarray:
        """Probabilities (after the shipped temperature) of statistics ``F``, each row by the head that never saw its actor."""
        z = np.zeros((len(F), len(names)))
        for k, p in enumerate(pairs):
            r = fold == k
            sc, clf = heads[p]
            z[r] = clf.decision_function(sc.transform(F[r]))
        return apply_temperature(z, temperature)

    rows = []
    for bed_name, (make, snr) in beds.items():
        bed = [make(i) for i in range(len(waves))]
        for length in LENGTHS + (None,):
            cuts = [w[s:e] if length is None else w[s:min(e, s + int(length * 16000))] for w, (s, e) in zip(waves, spans)]
            P = read(stats([in_bed(c[:n3], b, snr) for c, b in zip(cuts, bed)]))
            conf, right = P.max(1), P.argmax(1) == y
            keep = conf >= abstain
            rows.append({"bed": bed_name, "seconds": length if length is not None else "whole utterance",
                         "mean_speech_seconds": round(float(np.mean([len(c) for c in cuts]) / 16000), 3), "n": int(len(y)),
                         "accuracy": round(float(right.mean()), 4), "mean_confidence": round(float(conf.mean()), 4),
                         "answered": round(float(keep.mean()), 4),
                         "accuracy_of_answers": round(float(right[keep].mean()), 4) if keep.any() else None,
                         "predicted": np.bincount(P.argmax(1), minlength=len(names)).tolist()})
            r = rows[-1]
            print(f"{bed_name:16s} {str(r['seconds']):>16s} (speech {r['mean_speech_seconds']:.2f} s): accuracy {r['accuracy']:.3f}, "
                  f"confidence {r['mean_confidence']:.3f}, answered at {abstain} {r['answered']:.2f}, right when answered "
                  f"{r['accuracy_of_answers']}", flush=True)
    save("speech_duration", {"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "temperature": temperature,
                             "speech_abstain": abstain, "shrinkage": shrinkage, "pool": list(model.voice.pool),
                             "labels": names, "rows": rows, "seconds": round(time.perf_counter() - t0, 1)})


if __name__ == "__main__":
    main()
