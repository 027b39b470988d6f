"""Does the speech head gain from more actors? A paired learning curve on RAVDESS actors 01-18.

For each of the 9 actor pairs (1+2 ... 17+18) held out in turn, the shipped set-up (the bundled speech model's
encoder statistics, standardised, shrinkage LDA (the shipped head's shrinkage unless ``--shrinkage``), two noise-only
room copies of every training utterance) is
fitted on the other 16 actors, on every 14 of them (each other pair left out in turn) and on every 12, and scored
on the held-out pair's clean utterances and on a room copy of them. The same test actors are scored by every
training-set size, so the differences are paired. Session 17 refit the shipped head on actors 01-18 on this curve
(``emolab/pretrained/speech.md``, "Refit on actors 01-18"); session 18 (statistics of layers 1-3, shrinkage
0.3) re-ran it with that head's statistics.

Usage::

    python benchmarks/bench_speech_actors.py [--shared ../shared]     # ~4 min on 2 cores; results/speech_actors.json
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared", help="the shared/ folder with data/ravdess_speech")
    ap.add_argument("--shrinkage", type=float, default=None, help="LDA shrinkage (default: the bundled head's)")
    ap.add_argument("--copies", type=int, default=2)
    a = ap.parse_args()
    folder = ravdess_folder(a.shared, "bench_speech_actors")
    if folder is None:
        return

    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    d = ravdess_voice(folder, a.copies)
    model, y, actor, S, copies = d.model, d.y, d.actor, d.S, d.copies
    shrinkage = a.shrinkage if a.shrinkage is not None else d.shrinkage

    def score(train_actors, test_actors) -> tuple[float, float]:
        tr, te = np.isin(actor, train_actors), np.isin(actor, test_actors)
        sc, clf = d.fit_head(tr, shrinkage)
        room = copies[0] if copies else S
        return float(np.mean(clf.predict(sc.transform(S[te])) == y[te])), float(np.mean(clf.predict(sc.transform(room[te])) == y[te]))

    pairs = [(k, k + 1) for k in range(1, 19, 2)]
    rows = []
    for held in tqdm(pairs, desc="held-out pairs"):
        others = [q for q in pairs if q != held]
        flat = lambda qs: [x for q in qs for x in q]  # noqa: E731
        sizes = {16: [score(flat(others), held)],
                 14: [score(flat([q for q in others if q != out]), held) for out in others],
                 12: [score(flat([q for q in others if q not in (o1, o2)]), held) for i, o1 in enumerate(others) for o2 in others[i + 1:]]}
        rows.append({"held_out": list(held), **{f"clean_{n}": float(np.mean([s[0] for s in v])) for n, v in sizes.items()},
                     **{f"room_{n}": float(np.mean([s[1] for s in v])) for n, v in sizes.items()}})
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "held_out"}
    gain = [r["clean_16"] - r["clean_14"] for r in rows]
    result = {"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "shrinkage": shrinkage, "pool": list(model.voice.pool), "room_copies": a.copies,
              "pairs": rows, "mean": mean, "gain_16_over_14": gain, "pairs_where_16_beats_14": int(sum(g > 0 for g in gain)),
              "seconds": round(time.perf_counter() - t0, 1)}
    for n in (12, 14, 16):
        print(f"{n} training actors: clean {mean[f'clean_{n}']:.3f}, room {mean[f'room_{n}']:.3f}")
    print(f"16 over 14 per held-out pair: {' '.join(f'{g:+.3f}' for g in gain)} ({result['pairs_where_16_beats_14']} of 9 positive)")
    save("speech_actors", result)


if __name__ == "__main__":
    main()
