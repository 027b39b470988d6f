"""Temperature scaling of the bundled models, on the data their cards report on.

* ``face``: FER2013 validation at 48 px (reported only: ``bench_face_readability.py`` writes its temperatures);
* ``speech``: RAVDESS actors 15-18 (240 utterances; the card's model-selection and reporting actors;
  actors 19-24 are not in ``shared/data``). A speech head refit on actors 01-18 after selection (its file's
  ``metrics["refit"]``, shipped since session 17) has trained on them: it is skipped, and its temperature is
  fitted on out-of-fold logits by ``train_speech_voice.py --write-calibration`` (since session 24, for the
  speaker-normalised head, by ``train_speech_speaker.py --write-calibration``);
* ``text``: MELD dev (1,109 utterances; the card's selection and reporting split; MELD test is not
  in ``shared/data``).

Each set is cut into two halves by speaker / dialogue (seed 0; FER2013, without subject ids, by class); ECE "after" is cross-fitted: each
half is scored with the temperature fitted on the other. The temperature written by
``--write-calibration`` is fitted on the whole set, and kept only when the cross-fitted ECE is below
the raw one (otherwise 1.0 is written, with the fitted value beside it).

Usage::

    python benchmarks/bench_calibration.py [--shared ../shared/data] [--models face speech text] [--write-calibration]
    python benchmarks/bench_calibration.py --markdown      # the reliability tables of the model cards

Writes ``benchmarks/results/calibration.json``.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save  # noqa: E402
from bench_face_readability import cross_fitted, halves  # noqa: E402

SOURCES = {"face": ("fer2013", "fer2013", "FER2013 validation (3,589 faces at 48 px, the card's split)"),
           "speech": ("ravdess", "ravdess_speech", "RAVDESS actors 15-18 (240 utterances, the card's split)"),
           "text": ("meld", "meld", "MELD dev (1,109 utterances, the card's split)")}


def group_halves(groups: np.ndarray, seed: int = 0) -> np.ndarray:
    """Boolean mask of half A: a random half of the distinct groups (speakers, dialogues)."""
    uniq = np.unique(groups)
    first = np.random.default_rng(seed).permutation(uniq)[: len(uniq) // 2]
    return np.isin(groups, first)


def held_out(name: str, shared: Path):
    """Manifest rows and model inputs of the held-out set of bundled model ``name``."""
    from emolab.data import read_corpus
    from emolab.preprocessing.text import text_tokenizer
    from emolab.preprocessing.inputs import load_face_images, load_speech_inputs
    from emolab.recipes.inputs import text_context_inputs

    dataset, folder, _ = SOURCES[name]
    m = read_corpus(dataset, shared / folder)
    m = m[m["label"].astype(str) != ""]
    if name == "face":
        m = m[m["split"] == "validation"].reset_index(drop=True)
        return m, lambda meta: load_face_images(m, progress=False)[:, None]
    if name == "speech":
        m = m[m["actor"].astype(int) >= 15].reset_index(drop=True)
        return m, lambda meta: load_speech_inputs(m, feature=meta["config"].get("feature", "mfcc"), progress=False)
    m = m[m["split"] == "dev"].reset_index(drop=True)

    def text_ids(meta):
        vocab = text_tokenizer(meta["preprocessing"]["vocabulary"])
        k = int(meta["config"].get("context", 0))
        return text_context_inputs(vocab, m, k) if k else vocab.transform(m["text"].astype(str))  # dev dialogues are whole

    return m, text_ids


def logits_of(model, x) -> np.ndarray:
    import torch

    from emolab.training import _tensor

    with torch.inference_mode():
        return np.concatenate([model(_tensor(x[a:a + 256])).float().numpy() for a in range(0, len(x), 256)])


def calibrate(name: str, shared: Path) -> dict:
    from emolab.bundled import pretrained
    from emolab.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability_table
    from emolab.models.dialogue import with_dialogue

    model, meta = pretrained(name)
    m, inputs = held_out(name, shared)
    labels = list(meta["labels"])
    y = np.array([labels.index(v) for v in m["label"].astype(str)])
    z = with_dialogue(model, logits_of(model, inputs(meta)), m)  # a text model's dialogue head, where it has one
    a = halves(y) if name == "face" else group_halves(m["group"].astype(str).to_numpy())  # FER2013 has no subject ids
    raw = apply_temperature(z, 1.0)
    after, halves_t = cross_fitted(z, y, a)
    r = lambda v: round(float(v), 4)  # noqa: E731
    table = lambda p: reliability_table(p, y, n_bins=10).round(4).to_dict("records")  # noqa: E731
    return {"model": name, "held_out": SOURCES[name][2], "n": int(len(y)), "n_half_a": int(a.sum()),
            "half_a": {"face": "stratified by class, seed 0", "speech": ", ".join(sorted(set(m["group"][a].astype(str))))}.get(
                name, f"{len(set(m['group'][a]))} of {len(set(m['group']))} dialogues"),
            "accuracy": r((z.argmax(1) == y).mean()), "temperature": r(fit_temperature(z, y)), "temperatures_of_the_halves": [r(t) for t in halves_t],
            "mean_confidence_before": r(raw.max(1).mean()), "mean_confidence_after": r(after.max(1).mean()),
            "ece_before": r(expected_calibration_error(raw, y)), "ece_after_cross_fitted": r(expected_calibration_error(after, y)),
            "nll_before": r(-np.log(raw[np.arange(len(y)), y]).mean()), "nll_after_cross_fitted": r(-np.log(after[np.arange(len(y)), y]).mean()),
            "reliability_before": table(raw), "reliability_after_cross_fitted": table(after)}


def markdown(res: dict) -> str:
    """The reliability table of one model's results, for its card."""
    out = ["| confidence bin | n | mean confidence | accuracy | n (after T) | mean confidence (after T) | accuracy (after T) |",
           "|---|---|---|---|---|---|---|"]
    for b, a in zip(res["reliability_before"], res["reliability_after_cross_fitted"]):
        if b["n"] or a["n"]:
            cell = lambda r, k: "–" if not r["n"] else f"{r[k]:.3f}"  # noqa: E731
            out.append(f"| {b['bin_lo']:.1f}–{b['bin_hi']:.1f} | {b['n']} | {cell(b, 'confidence')} | {cell(b, 'accuracy')} | "
                       f"{a['n']} | {cell(a, 'confidence')} | {cell(a, 'accuracy')} |")
    return "\n".join(out)


def main() -> None:
    import torch

    from emolab.calibration import record_calibration

    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"), help="the shared/data folder")
    ap.add_argument("--models", nargs="*", default=list(SOURCES), choices=list(SOURCES),
                    help="face is reported here (its reliability table) but its temperature is written by bench_face_readability.py")
    ap.add_argument("--write-calibration", action="store_true", help="store the temperatures in emolab/pretrained/calibration.json")
    ap.add_argument("--markdown", action="store_true", help="print the cards' reliability tables from the saved results and stop")
    args = ap.parse_args()
    if args.markdown:
        saved = json.loads((Path(__file__).resolve().parent / "results" / "calibration.json").read_text())
        for name in args.models:
            print(f"{name}\n{markdown(saved[name])}\n")
        return
    missing = [SOURCES[n][1] for n in args.models if not Path(args.shared, SOURCES[n][1]).is_dir()]
    if missing:
        print(f"bench_calibration: skipped — {', '.join(missing)} not found under {args.shared} (give --shared)")
        return
    torch.set_num_threads(1)
    out = {}
    for name in args.models:
        from emolab.bundled import available
        from emolab.models.io import read_metadata

        refit = read_metadata(available()[name]).get("metrics", {}).get("refit")  # the header only: calibrate() loads the model
        if refit:  # its held-out set is in its training data: its temperature comes from out-of-fold logits
            print(f"bench_calibration: {name} skipped — {refit}; its temperature is fitted on those out-of-fold logits by the "
                  f"command its card gives (calibration.json, '{name}')", flush=True)
            continue
        res = out[name] = {**calibrate(name, Path(args.shared)), "machine": machine()}
        print(json.dumps({k: v for k, v in res.items() if not k.startswith("reliability")}), flush=True)
        if args.write_calibration and name != "face":  # face: bench_face_readability.py (with its size table)
            kept = res["ece_after_cross_fitted"] < res["ece_before"]  # a temperature that does not help on the other half is not shipped
            record_calibration(name, temperature=res["temperature"] if kept else 1.0, fitted_on=f"{res['held_out']}, all of it",
                               fitted_temperature=res["temperature"], kept=kept,
                               rule="kept when the cross-fitted ECE is below the raw ECE; otherwise 1.0",
                               command="python benchmarks/bench_calibration.py --write-calibration",
                               ece_before=res["ece_before"], ece_after_cross_fitted=res["ece_after_cross_fitted"],
                               temperatures_of_the_two_halves=res["temperatures_of_the_halves"])
    # the models not run this time keep their saved results (each result names the machine and date it ran on)
    path = Path(__file__).resolve().parent / "results" / "calibration.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    machines = {k: saved.pop(k) for k in [k for k in saved if k.startswith("machine")]}  # older files: one per file
    for k, v in saved.items():
        v.setdefault("machine", machines.get(f"machine_{k}", machines.get("machine")))
    save("calibration", {**saved, **out})


if __name__ == "__main__":
    main()
