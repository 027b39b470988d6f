"""Speech in no language the model knows: does the speech model collapse onto one class? (issue 22)

Issue 22's target for another language is that no class is recalled below 20 %. No non-English emotional speech is
in ``shared/data``, so this script makes speech whose words and sound sequences belong to no language: every RAVDESS
utterance of actors 01-18 played backwards. The voice, its pitch range, loudness and voice quality stay; the order
of its sounds and its intonation contours are reversed, which a voice encoder trained on read English has never
heard. Heads of the shipped speaker-normalised set-up (``train_speech_speaker.py``: its pooled layers, LDA with its
shrinkage, two room copies of each training utterance, forwards) are fitted out of fold, 9 folds leaving two
actors out, and read each held-out utterance forwards and backwards in its centred 3-s window: without speaker
information ("plain") and with each speaker centred on all of their utterances (k = 10, ``speaker_adapt``, as
``emolab evaluate`` reads a corpus). For each: accuracy, recall per class, the smallest recall and the largest
share of answers given to one class (and which); and, with the shipped temperature, how many answers a lesson
would give (confidence at or above ``SPEECH_ABSTAIN``) and how often they are right.

Usage::

    python benchmarks/bench_speech_unfamiliar.py [--shared ../shared]    # ~2 min on 2 cores; results/speech_unfamiliar.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402
from _speech import fit_speaker_head, voice_for_heads  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared", help="the shared/ folder with data/ravdess_speech")
    a = ap.parse_args()
    t0 = time.perf_counter()
    d = voice_for_heads(a.shared, "bench_speech_unfamiliar.py")
    if d is None:
        return
    from emolab.calibration import apply_temperature, temperature_for
    from emolab.models.lesson import SPEECH_ABSTAIN
    from emolab.models.speaker_adapt import speaker_adapt
    from emolab.taxonomy import EMOTIONS

    shrink = float(d.model.config.speaker_shrink)
    read = {"forwards": d.S.astype(np.float64), "backwards": d.stats([w[::-1].copy() for w in d.waves]).astype(np.float64)}
    logits = {k: np.zeros((len(d.y), len(EMOTIONS))) for k in read}
    bias = np.zeros((len(d.y), len(EMOTIONS)))
    for first in range(1, 19, 2):
        held = np.isin(d.actor, (first, first + 1))
        pop, scale, lda = fit_speaker_head(d, np.flatnonzero(~held))
        for k, F in read.items():
            logits[k][held] = lda.decision_function((F[held] - pop) / scale)
        bias[held] = lda.intercept_
    rows = []
    t = float(temperature_for("speech"))
    for k, z in logits.items():
        centred = np.zeros_like(z)  # calibrated probabilities after centring each speaker (as a lesson reads them)
        for s in np.unique(d.actor):
            r = d.actor == s
            centred[r] = speaker_adapt(z[r] / t, [s] * int(r.sum()), bias=bias[r][0], shrink=shrink, temperature=t)
        for reading, p in (("plain", apply_temperature(z, t)), ("speaker_centred", centred)):
            pred = p.argmax(1)
            answered = p.max(1) >= SPEECH_ABSTAIN  # a lesson answers at SPEECH_ABSTAIN and above
            recall = {c: round(float(np.mean(pred[d.y == i] == i)), 3) for i, c in enumerate(EMOTIONS)}
            rows.append({"speech": k, "reading": reading, "accuracy": round(float(np.mean(pred == d.y)), 4),
                         "smallest_recall": min(recall.values()),
                         "largest_share": round(float(np.bincount(pred, minlength=len(EMOTIONS)).max() / len(pred)), 3),
                         "most_answered": EMOTIONS[int(np.bincount(pred, minlength=len(EMOTIONS)).argmax())],
                         "answered_at_abstain": round(float(answered.mean()), 3),
                         "accuracy_of_answers": round(float(np.mean(pred[answered] == d.y[answered])), 4) if answered.any() else None,
                         "recall": recall})
            print(rows[-1], flush=True)
    save("speech_unfamiliar", {"rows": rows, "n": int(len(d.y)), "speaker_shrink": shrink, "lda_shrinkage": d.shrinkage,
                               "seconds": round(time.perf_counter() - t0, 1), "protocol": __doc__.split("Usage::")[0].strip()})


if __name__ == "__main__":
    main()
