"""Utterances longer than the speech model's 3-s window: read the centre, the whole file, or the speech in it?

``emolab evaluate`` gave a speech model each file's centred 3-s window, as the models were trained. An Emo-DB
sentence runs up to 9 s, a corpus of your own longer still: the centre of it is a third of what was said. This
script reads the same utterances three ways, with heads that never heard their speakers:

* ``centre``: the file's centred 3-s window (``speech_input``; what ``emolab evaluate`` did until session 27);
* ``whole_file``: windows 1 s apart covering the whole file, silences included (``utterance_window_starts``);
* ``speech_span``: windows 1 s apart covering the span the speech detector hears when it is longer than the
  window, else the centred window (``speech_windows_of``, what ``emolab evaluate`` does now).

A file's windows are pooled by the mean of their log-probabilities (``pool_windows``). Utterances: the 1,080
RAVDESS files of actors 01-18 as they are (3.7 s on average, about 1 s of silence at each end), and longer ones
made from them: the speech of 2 or 4 utterances of one actor, emotion and intensity (energy-trimmed, within 30
dB of the loudest frame) joined with 0.2-s pauses (about 4 and 8 s, speech throughout, as an Emo-DB sentence).
Heads: the bundled speech model's speaker-normalised set-up (``train_speech_speaker.py``: its pooled layers, LDA
with its shrinkage, two room copies) fitted out of fold, 9 folds leaving two actors out; read without speaker
information ("plain") and with each speaker centred on all of their utterances (k = 10, ``speaker_adapt``).

Usage::

    python benchmarks/bench_speech_long.py [--shared ../shared]    # ~2 min on 2 cores; results/speech_long.json
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
from bench_speech_duration import speech_span as energy_span  # noqa: E402

SR, PAUSE = 16000, 0.2


def joined(d, names: list[str], parts: int) -> tuple[list, np.ndarray, np.ndarray]:
    """Longer utterances: the trimmed speech of ``parts`` RAVDESS files of one actor, emotion and intensity, in
    file order, with :data:`PAUSE` s between -> (waves, class index, actor)."""
    groups: dict = {}
    for i, name in enumerate(names):
        f = name.split("-")  # 03-01-EE-II-SS-RR-AA
        groups.setdefault((f[2], f[3], f[6]), []).append(i)
    pause = np.zeros(int(PAUSE * SR), np.float32)
    waves, y, actor = [], [], []
    for rows in groups.values():
        for j in range(0, len(rows) - parts + 1, parts):
            cut = [d.waves[i][slice(*energy_span(d.waves[i]))] for i in rows[j:j + parts]]
            waves.append(np.concatenate([x for c in cut for x in (c, pause)][:-1]))
            y.append(d.y[rows[j]])
            actor.append(d.actor[rows[j]])
    return waves, np.array(y), np.array(actor)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared", help="the shared/ folder with data/ravdess_speech")
    a = ap.parse_args()
    t0 = time.perf_counter()
    d = voice_for_heads(a.shared, "bench_speech_long.py")
    if d is None:
        return
    from emolab.models.speaker_adapt import speaker_adapt
    from emolab.preprocessing.inputs import speech_input, speech_windows_of, utterance_window_starts
    from emolab.recipes.evaluate import pool_windows

    names = [Path(p).stem for p in d.paths]
    shrink = float(d.model.config.speaker_shrink)
    win = 3 * SR
    readers = {
        "centre": lambda w: speech_input(w, feature="logmel40")[None],
        "whole_file": lambda w: (np.stack([speech_input(w[s:s + win], feature="logmel40") for s in utterance_window_starts(len(w))])
                                 if len(w) > win else speech_input(w, feature="logmel40")[None]),
        "speech_span": lambda w: speech_windows_of(w, feature="logmel40"),
    }
    sets = {"ravdess_files": (d.waves, d.y, d.actor), "joined_2": joined(d, names, 2), "joined_4": joined(d, names, 4)}
    stats, seconds = {}, {}
    for sname, (waves, _, _) in sets.items():
        for rname, read in readers.items():
            t = time.perf_counter()
            parts = [read(w) for w in waves]
            seconds[(sname, rname)] = time.perf_counter() - t
            stats[(sname, rname)] = (np.repeat(np.arange(len(parts)), [len(p) for p in parts]),
                                     d.statistics(np.concatenate(parts)).astype(np.float64))
            print(f"{sname} / {rname}: {len(parts)} utterances, {len(stats[(sname, rname)][0])} windows", flush=True)
    logits = {k: np.zeros((len(sets[k[0]][1]), 7)) for k in stats}
    bias = {s: np.zeros((len(v[1]), 7)) for s, v in sets.items()}
    everyone = np.arange(len(d.y))
    for first in range(1, 19, 2):
        pair = (first, first + 1)
        pop, scale, lda = fit_speaker_head(d, everyone[~np.isin(d.actor, pair)])
        for (sname, rname), (owner, F) in stats.items():
            _, _, actor = sets[sname]
            held = np.isin(actor, pair)
            z = lda.decision_function((F - pop) / scale)
            p = np.exp(z - z.max(1, keepdims=True))
            pooled = np.log(pool_windows(p / p.sum(1, keepdims=True), owner, len(actor)))
            logits[(sname, rname)][held] = pooled[held]
            bias[sname][held] = lda.intercept_
    rows = []
    for (sname, rname), z in logits.items():
        _, y, actor = sets[sname]
        centred = np.concatenate([speaker_adapt(z[actor == s], [s] * int(np.sum(actor == s)), bias=bias[sname][actor == s][0], shrink=shrink)
                                  for s in np.unique(actor)])
        order = np.concatenate([np.flatnonzero(actor == s) for s in np.unique(actor)])
        lengths = [len(w) / SR for w in sets[sname][0]]
        rows.append({"utterances": sname, "reader": rname, "n": int(len(y)), "mean_seconds": round(float(np.mean(lengths)), 2),
                     "windows_per_utterance": round(len(stats[(sname, rname)][0]) / len(y), 2),
                     "plain": round(float(np.mean(z.argmax(1) == y)), 4),
                     "speaker_centred": round(float(np.mean(centred.argmax(1) == y[order])), 4),
                     "reading_ms_per_utterance": round(1000 * seconds[(sname, rname)] / len(y), 1)})
        print(rows[-1], flush=True)
    save("speech_long", {"rows": rows, "speaker_shrink": shrink, "lda_shrinkage": d.shrinkage,
                         "seconds": round(time.perf_counter() - t0, 1), "protocol": __doc__.split("Usage::")[0].strip()})


if __name__ == "__main__":
    main()
