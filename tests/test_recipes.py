"""The train/evaluate recipes end to end on a tiny synthetic training set, through the CLI too."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emolab.models import load_model
from emolab.recipes import evaluate_recipe, train_recipe


@pytest.fixture(scope="module")
def trainset(tmp_path_factory):
    from emolab.synth import TrainsetConfig, generate_trainset

    out = tmp_path_factory.mktemp("ts") / "ts"
    generate_trainset(out, TrainsetConfig(n_identities=4, clips_per_emotion=2, n_frames=4, size=32, audio_seconds=0.5, seed=2), progress=False)
    return out


@pytest.mark.parametrize("kind", ["fused", "face3d", "speech", "text", "cnn_lstm", "face2d"])
def test_every_kind_trains_on_synthetic_data(kind, trainset, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    cfg = {"fused": {"face": {"widths": [4, 8], "frames": 4, "size": 32}, "speech": {"widths": [8, 16]}},
           "face3d": {"widths": [4, 8]}, "speech": {"widths": [8, 16]}, "cnn_lstm": {}, "text": {}, "face2d": {"widths": [8, 16]}}[kind]
    res = train_recipe(kind, "synthetic", trainset, tmp_path / kind, epochs=2, batch_size=16, progress=False, model_config=cfg)
    m = res.metrics
    assert m["n_train"] + m["n_val"] == 56 and 0 <= m["accuracy"] <= 1 and m["epochs_run"] == 2
    for f in ("model.safetensors", "history.csv", "metrics.json", "confusion.csv", "per_class.csv"):
        assert (tmp_path / kind / f).is_file()
    assert res.model_path == tmp_path / kind / "model.safetensors" and len(res.history) == 2
    assert res.evaluation.metrics["accuracy"] == m["accuracy"] and res.evaluation.confusion["count"].sum() == m["n_val"]
    model, meta = load_model(tmp_path / kind / "model.safetensors")
    assert meta["kind"] == kind and meta["metrics"]["n_val"] == m["n_val"]
    ev = evaluate_recipe(tmp_path / kind, "synthetic", trainset, progress=False)
    assert ev.metrics["n"] == m["n_val"] and abs(ev.metrics["accuracy"] - m["accuracy"]) < 1e-6


def test_same_seed_same_model(trainset, tmp_path, monkeypatch):
    """A recipe run is reproducible from its seed: initial weights, batches and augmentation all follow it."""
    import torch

    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    runs = [train_recipe("speech", "synthetic", trainset, tmp_path / f"r{i}", epochs=2, batch_size=16, progress=False,
                         model_config={"widths": [8, 16]}, augment=True, seed=s) for i, s in enumerate((3, 3, 4))]
    w = [load_model(tmp_path / f"r{i}" / "model.safetensors")[0].state_dict() for i in range(3)]
    assert all(torch.equal(w[0][k], w[1][k]) for k in w[0])
    assert not all(torch.equal(w[0][k], w[2][k]) for k in w[0])  # another seed, another model
    assert runs[0].metrics["accuracy"] == runs[1].metrics["accuracy"] and runs[0].metrics["augment"] is True


def test_held_out_identities_never_train(trainset, tmp_path, monkeypatch):
    from emolab.recipes import default_split
    from emolab.synth.trainset import load_trainset

    man = load_trainset(trainset)[0]
    tr, va = default_split(man, "synthetic")
    assert not set(man.group.iloc[tr]) & set(man.group.iloc[va])


def test_cli_train_and_evaluate_json(trainset, tmp_path):
    env = {"EMOLAB_CACHE": str(tmp_path / "cache")}
    import os

    env = {**os.environ, **env}
    res = subprocess.run([sys.executable, "-m", "emolab", "train", "--model", "speech", "--dataset", "synthetic", str(trainset),
                          "--out", str(tmp_path / "m"), "--epochs", "1", "--json", "--quiet"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert {"accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "n"} <= set(out)
    written = [f for f in (tmp_path / "m").rglob("*") if f.is_file()]
    assert {"model.safetensors", "metrics.json", "history.csv", "last.pt"} <= {f.name for f in written}
    for f in written:  # no file of a training run names a place on this machine (weights, checkpoints included)
        assert str(tmp_path).encode() not in f.read_bytes() and str(trainset).encode() not in f.read_bytes(), f
    res = subprocess.run([sys.executable, "-m", "emolab", "evaluate", "--model", str(tmp_path / "m" / "model.safetensors"), "--dataset",
                          "synthetic", str(trainset), "--json", "--quiet"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    ev = json.loads(res.stdout)
    assert ev["n"] == out["n"] and {"accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "per_class_accuracy"} <= set(ev)
    assert ev["scored"]["split"] == "val" and ev["scored"]["n"] == out["n"] and "trained on synthetic" in ev["scored"]["reason"]
    res = subprocess.run([sys.executable, "-m", "emolab", "evaluate", "--model", str(tmp_path / "m"), "--dataset", "synthetic", str(trainset),
                          "--split", "all", "--json", "--quiet"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    whole = json.loads(res.stdout)
    assert whole["n"] == 56 and whole["scored"] == {"split": "all", "n": 56, "of": 56, "reason": "asked for (split 'all')"}
    res = subprocess.run([sys.executable, "-m", "emolab", "evaluate", "--model", str(tmp_path / "nothing.safetensors"), "--dataset",
                          "synthetic", str(trainset)], capture_output=True, text=True, env=env)
    assert res.returncode == 2 and "no model file" in res.stderr and "Traceback" not in res.stderr


def test_native_label_set_trains_and_evaluates_eight_ravdess_classes(tmp_path, monkeypatch):
    """``labels="native"``: RAVDESS's own 8 classes (calm apart from neutral), kept in the model file."""
    from .conftest import write_wav

    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "ravdess"
    for actor in (1, 2, 15):
        for emo in range(1, 9):
            write_wav(root / f"Actor_{actor:02d}" / f"03-01-{emo:02d}-01-01-01-{actor:02d}.wav")
    m = train_recipe("speech", "ravdess", root, tmp_path / "sp8", epochs=1, batch_size=8, progress=False,
                     model_config={"widths": [4, 8]}, labels="native").metrics
    model, meta = load_model(tmp_path / "sp8" / "model.safetensors")
    assert meta["labels"] == ["angry", "calm", "disgust", "fearful", "happy", "neutral", "sad", "surprised"]
    assert model.config.n_classes == 8 and m["n_train"] == 16 and m["n_val"] == 8 and m["labels"] == "native"
    ev = evaluate_recipe(tmp_path / "sp8", "ravdess", root, progress=False)
    assert list(ev.per_class.label) == meta["labels"] and abs(ev.metrics["accuracy"] - m["accuracy"]) < 1e-6
    with pytest.raises(Exception, match="canonical or native|'canonical' or 'native'"):
        train_recipe("speech", "ravdess", root, tmp_path / "x", epochs=1, progress=False, labels="ekman")


def test_augmented_spectra_shift_and_mask_repeatably():
    from emolab.augmentation import AugmentedSpectra

    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 1, 60, 301)).astype(np.float32)
    X0 = X.copy()
    y = np.array([0, 1, 2, 3])
    a, b = AugmentedSpectra(X, y, seed=5), AugmentedSpectra(X, y, seed=5)
    xa, ya = a[1]
    xb, _ = b[1]
    assert xa.shape == (1, 60, 301) and int(ya) == 1
    assert np.array_equal(xa.numpy(), xb.numpy())  # same seed, same draws
    assert not np.array_equal(xa.numpy(), X[1])  # changed ...
    np.testing.assert_array_equal(X, X0)  # ... on a copy: the training data stay untouched
    plain = AugmentedSpectra(X, y, shift=0, time_masks=0, freq_masks=0)
    assert np.array_equal(plain[2][0].numpy(), X[2])
    only_shift = AugmentedSpectra(X, y, shift=5, time_masks=0, freq_masks=0, seed=1)
    xs = only_shift[0][0].numpy()[0]
    k = next(k for k in range(-5, 6) if np.allclose(xs[:, 6:-6], X[0, 0][:, 6 - k:301 - 6 - k]))
    assert abs(k) <= 5  # a pure time shift of the utterance


def test_a_bundled_model_scores_a_corpus_it_was_not_trained_on_whole(tmp_path, monkeypatch):
    """The speech model was trained on RAVDESS: on TESS every row is scored unless a split is asked for, and the output says so."""
    from emolab.bundled import available
    from emolab.data.corpora.speech import TESS_EMOTIONS

    from .conftest import write_wav

    if "speech" not in available():
        pytest.skip("the speech model is not bundled")
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "tess"
    for i, emo in enumerate(TESS_EMOTIONS):
        for speaker in ("OAF", "YAF"):
            for word in ("back", "bar"):
                write_wav(root / f"{speaker}_{emo}" / f"{speaker}_{word}_{emo}.wav", freq=150.0 + 40 * i)
    ev = evaluate_recipe("speech", "tess", root, progress=False)
    assert ev.metrics["n"] == 28 and ev.scored["split"] == "all" and (ev.scored["n"], ev.scored["of"]) == (28, 28)
    assert "trained on ravdess, not on tess" in ev.scored["reason"]
    held_out = evaluate_recipe("speech", "tess", root, split="val", progress=False)
    assert held_out.scored["split"] == "val" and 0 < held_out.scored["n"] < 28 == held_out.scored["of"]
    few = evaluate_recipe("speech", "tess", root, max_samples=10, progress=False)
    assert few.scored["n"] == 10 and "max_samples" in few.scored["reason"]
    with pytest.raises(Exception, match="split 'test' not found; available: .*all"):
        evaluate_recipe("speech", "tess", root, split="test", progress=False)
    res = subprocess.run([sys.executable, "-m", "emolab", "evaluate", "--model", "speech", "--dataset", "tess", str(root), "--quiet"],
                         capture_output=True, text=True, env={**__import__("os").environ, "EMOLAB_CACHE": str(tmp_path / "cache")})
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].split()[:19] == ["scored", "split", "all:", "28", "of", "28", "labelled", "rows", "(the", "model", "was",
                                                       "trained", "on", "ravdess,", "not", "on", "tess:", "every", "labelled"]
    assert "speaker-normalised: each of the 2 speakers' readings centred" in res.stdout.splitlines()[0]  # TESS: two speakers


def test_a_corpus_without_some_classes_is_scored_over_its_own_classes(tmp_path, monkeypatch):
    """A TESS copy without its 'pleasant surprise' speakers: over the corpus's rows' classes surprise is never
    answered, the reason says so and gives the all-classes accuracy, which ``classes="model"`` reproduces; by default
    TESS (documented with all seven emotions) is not restricted, while CREMA-D (no surprise) is."""
    from emolab.bundled import available
    from emolab.data.corpora.speech import TESS_EMOTIONS

    from .conftest import write_wav

    if "speech" not in available():
        pytest.skip("the speech model is not bundled")
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "tess"
    for i, emo in enumerate(e for e in TESS_EMOTIONS if e != "ps"):
        for speaker in ("OAF", "YAF"):
            for word in ("back", "bar", "base"):
                write_wav(root / f"{speaker}_{emo}" / f"{speaker}_{word}_{emo}.wav", freq=120.0 + 55 * i + (30 if speaker == "YAF" else 0))
    six = evaluate_recipe("speech", "tess", root, progress=False, classes="corpus")
    seven = evaluate_recipe("speech", "tess", root, progress=False, classes="model")
    auto = evaluate_recipe("speech", "tess", root, progress=False)  # TESS is documented with all seven: not restricted
    assert auto.metrics["accuracy"] == pytest.approx(seven.metrics["accuracy"]) and "surprise" in list(auto.per_class.label)
    assert list(six.per_class.label) == ["anger", "disgust", "fear", "happiness", "neutral", "sadness"]
    assert "surprise" in list(seven.per_class.label) and "accuracy_all_classes" not in seven.metrics
    assert "answers among the 6 classes of the corpus (it has no surprise)" in six.scored["reason"]
    assert six.metrics["accuracy_all_classes"] == pytest.approx(seven.metrics["accuracy"])
    # an answer can only move off a class the corpus lacks, so no right answer is lost
    assert six.metrics["accuracy"] >= seven.metrics["accuracy"]
    with pytest.raises(ValueError, match="classes must be"):
        evaluate_recipe("speech", "tess", root, progress=False, classes="all")
    from emolab.cli import main

    assert main(["evaluate", "--model", "speech", "--dataset", "tess", str(root), "--quiet", "--json", "--classes", "model"]) == 0
    crema = tmp_path / "cremad"
    for i, code in enumerate(("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")):
        for actor in ("1001", "1002"):
            write_wav(crema / f"{actor}_DFA_{code}_XX.wav", seconds=1.0, freq=130.0 + 40 * i)
    cr = evaluate_recipe("speech", "cremad", crema, progress=False)
    assert "surprise" not in list(cr.per_class.label) and "it has no surprise" in cr.scored["reason"]


def test_restrict_to_classes_renormalises_and_keeps_the_order():
    from emolab.recipes.evaluate import restrict_to_classes

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=50)
    labels, keep = ["a", "b", "c", "d"], ["d", "b", "a"]
    q = restrict_to_classes(p, labels, keep)
    assert q.shape == (50, 3) and np.allclose(q.sum(1), 1.0)
    assert np.allclose(q[:, 0] / q[:, 1], p[:, 3] / p[:, 1])  # ratios among kept classes unchanged
    kept_top = np.isin(p.argmax(1), [0, 1, 3])
    assert (np.asarray(keep)[q.argmax(1)][kept_top] == np.asarray(labels)[p.argmax(1)][kept_top]).all()


def test_rows_to_score_says_when_a_refit_model_is_scored_on_its_own_training_rows():
    import pandas as pd

    from emolab.recipes import rows_to_score

    m = pd.DataFrame({"label": ["anger", "neutral"], "split": ["", ""]})
    note = "after selection, the head was refit on actors 01-18"
    rows, scored = rows_to_score(m, "ravdess", "all", "RAVDESS", refit=note)
    assert list(rows) == [0, 1] and "not a held-out figure" in scored["reason"] and note in scored["reason"]
    _, other = rows_to_score(m, "cremad", "all", "ravdess", refit=note)  # another corpus stays an outside test
    assert "held-out" not in other["reason"]
    _, plain = rows_to_score(m, "ravdess", "all", "ravdess")
    assert "not a held-out figure" not in plain["reason"]


def test_large_face_images_are_searched_and_the_face_cut_out(tmp_path):
    """A photo (scikit-image's astronaut, 512 px) is read from its face, cut out with FER2013's framing; a large image
    without a face is read whole and counted; a 48-px crop is taken as it is. ``emolab evaluate`` says which."""
    import cv2
    from skimage import data as skdata

    from emolab.data import read_corpus
    from emolab.preprocessing.crops import crop_face
    from emolab.preprocessing.detection import FaceDetector
    from emolab.preprocessing.inputs import FACE_CROP_MARGIN, load_face_images

    photo = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    for folder in ("happy", "neutral", "sad"):
        (tmp_path / "faces" / folder).mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "faces" / "happy" / "astronaut.png"), photo)
    cv2.imwrite(str(tmp_path / "faces" / "neutral" / "wall.png"), np.full((300, 400), 128, np.uint8))
    small = cv2.resize(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)[40:240, 130:330], (48, 48), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "faces" / "sad" / "crop.png"), small)
    m = read_corpus("folder", tmp_path / "faces").sort_values("path").reset_index(drop=True)
    found: dict = {}
    X = load_face_images(m, progress=False, report=found)
    assert X.shape == (3, 48, 48) and found == {"n": 3, "cropped": 1, "no_face": 1}
    gray = cv2.imread(str(tmp_path / "faces" / "happy" / "astronaut.png"), cv2.IMREAD_GRAYSCALE)
    with FaceDetector(tiles=0) as det:
        box = max(det.detect(photo), key=lambda d: d.w * d.h).box
    i = {Path(p).name: k for k, p in enumerate(m["path"])}
    np.testing.assert_array_equal(X[i["astronaut.png"]], crop_face(gray, box, size=48, margin=FACE_CROP_MARGIN))
    whole = cv2.resize(gray, (48, 48), interpolation=cv2.INTER_AREA)
    assert np.abs(X[i["astronaut.png"]].astype(int) - whole).mean() > 10  # not the whole photo shrunk
    assert (X[i["wall.png"]] == 128).all() and np.array_equal(X[i["crop.png"]], small)
    assert np.array_equal(load_face_images(m, progress=False, crop=False)[i["astronaut.png"]], whole)
    ev = evaluate_recipe("face", "folder", tmp_path / "faces", progress=False, split="all")
    assert "the face found by YuNet and cut out in 1 of 3 images, no face found in 1 (read whole)" in ev.scored["reason"]


def test_a_model_that_names_its_subjects_is_scored_on_the_others_by_default(tmp_path, monkeypatch):
    """The bundled speech model names the 18 RAVDESS actors it was fitted on: a folder that also holds actors 19 and 20
    is scored on those two by default (and with ``split="unseen"``); a folder of training actors only falls back to
    the model-selection split, and asking for unseen subjects there is a clear error."""
    from emolab.bundled import available
    from emolab.models import load_model
    from emolab.recipes.inputs import resolve_model_path

    from .conftest import write_wav

    if "speech" not in available():
        pytest.skip("the speech model is not bundled")
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    groups = load_model(resolve_model_path("speech"))[1]["metrics"]["train_groups"]
    assert groups == [f"ravdess:actor{a:02d}" for a in range(1, 19)]
    root = tmp_path / "ravdess"
    for actor in (3, 16, 19, 20):
        for emo in ("01", "03", "05"):
            write_wav(root / f"Actor_{actor:02d}" / f"03-01-{emo}-01-01-01-{actor:02d}.wav", seconds=1.0, freq=150.0 + 20 * actor)
    ev = evaluate_recipe("speech", "ravdess", root, progress=False)
    assert ev.scored["split"] == "unseen" and (ev.scored["n"], ev.scored["of"]) == (6, 12)
    assert "the rows of the 2 subjects it was neither trained nor selected on (its file names the 18 it was)" in ev.scored["reason"]
    assert "not a held-out figure" not in ev.scored["reason"]
    assert evaluate_recipe("speech", "ravdess", root, split="unseen", progress=False).scored["n"] == 6
    seen = tmp_path / "seen"
    for actor in ("Actor_03", "Actor_16"):
        (seen / actor).mkdir(parents=True)
        for f in (root / actor).iterdir():
            (seen / actor / f.name).write_bytes(f.read_bytes())
    val = evaluate_recipe("speech", "ravdess", seen, progress=False)
    assert val.scored["split"] == "val" and val.scored["n"] == 3 and "not a held-out figure" in val.scored["reason"]
    with pytest.raises(Exception, match="every subject of this corpus was used to train or select the model"):
        evaluate_recipe("speech", "ravdess", seen, split="unseen", progress=False)
    import pandas as pd

    from emolab.recipes import rows_to_score

    with pytest.raises(Exception, match="needs a model trained on this corpus"):  # a model trained elsewhere has no unseen subjects here
        rows_to_score(pd.DataFrame({"group": ["tess:OAF"], "label": ["anger"], "split": [""]}), "tess", "unseen", "ravdess", train_groups=groups)


def test_evaluate_reads_a_long_utterance_whole_and_says_how_many(tmp_path, monkeypatch):
    """A speech file with more than 3 s of speech is read in windows that cover it, their answers pooled
    (:func:`pool_windows`); the output counts those files; the others are read as before."""
    import soundfile as sf
    import torch

    from emolab.bundled import available
    from emolab.data.corpora.speech import TESS_EMOTIONS
    from emolab.models.speaker_adapt import speaker_adapt
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.inputs import speech_input, speech_windows_of
    from emolab.recipes import read_labelled
    from emolab.recipes.evaluate import pool_windows
    from emolab.recipes.inputs import resolve_model_path

    from .conftest import write_wav
    from .test_speakers import _voice

    if "speech" not in available():
        pytest.skip("the speech model is not bundled")
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "tess"
    for i, emo in enumerate(TESS_EMOTIONS):  # three files of 5 s of voice (7 s long), four short tones
        if i < 3:
            (root / f"OAF_{emo}").mkdir(parents=True)
            sf.write(root / f"OAF_{emo}" / f"OAF_back_{emo}.wav", _voice(5.0, seed=i), 16000)
        else:
            write_wav(root / f"OAF_{emo}" / f"OAF_back_{emo}.wav", seconds=2.0, freq=150.0 + 40 * i)
    ev = evaluate_recipe("speech", "tess", root, progress=False, classes="model")
    assert "; 3 utterances with more than 3 s of speech read whole, in 3-s windows 1 s apart" in ev.scored["reason"]
    # the same answers by hand: each file's windows through the model, pooled, then the speaker centring
    model, meta = load_model(resolve_model_path("speech"))
    m = read_labelled("tess", root)
    wins = [speech_windows_of(load_audio(p), feature="logmel40") for p in m["path"]]
    assert sum(len(w) > 1 for w in wins) == 3 and sum(len(w) == 1 for w in wins) == 4
    with torch.inference_mode():
        p = torch.softmax(model(torch.from_numpy(np.concatenate(wins))).float(), 1).numpy()
    pooled = pool_windows(p, np.repeat(np.arange(len(wins)), [len(w) for w in wins]), len(wins))
    centred = speaker_adapt(np.log(pooled), m["group"].tolist(), bias=model.head[-1].bias.detach().double().numpy(),
                            shrink=model.config.speaker_shrink)
    by_hand = float(np.mean(np.asarray(meta["labels"])[centred.argmax(1)] == m["label"].to_numpy()))
    assert abs(ev.metrics["accuracy"] - by_hand) < 1e-9
    assert np.array_equal(wins[-1][0], speech_input(load_audio(m["path"].iloc[-1]), feature="logmel40"))
    # the per-sample table: the same answers, the windows each file was read in, no paths
    pr = ev.predictions
    assert list(pr.columns[:6]) == ["sample_id", "group", "label", "predicted", "probability", "right"]
    assert len(pr) == 7 and abs(pr["right"].mean() - ev.metrics["accuracy"]) < 1e-9
    assert list(pr["predicted"]) == list(np.asarray(meta["labels"])[centred.argmax(1)])
    assert sorted(pr["windows"]) == sorted(len(w) for w in wins)
    np.testing.assert_allclose(pr[[f"p_{c}" for c in meta["labels"]]].sum(1), 1.0, atol=1e-9)
    assert not pr.astype(str).apply(lambda c: c.str.contains(str(tmp_path))).any().any()
    out = tmp_path / "predictions.csv"
    cmd = [sys.executable, "-m", "emolab", "evaluate", "--model", "speech", "--dataset", "tess", str(root), "--classes", "model",
           "--quiet", "--predictions", str(out)]
    env = {**__import__("os").environ, "EMOLAB_CACHE": str(tmp_path / "cache")}
    first = subprocess.run([c for c in cmd if c != "--quiet"], capture_output=True, text=True, env=env)  # says where it wrote
    assert first.returncode == 0 and first.stdout.splitlines()[-1].split() == ["predictions", str(out), "(7", "rows)"]
    assert pd.read_csv(out)["predicted"].tolist() == pr["predicted"].tolist()
    again = subprocess.run(cmd, capture_output=True, text=True, env=env)  # never overwritten unless asked
    assert again.returncode != 0 and "exists already" in again.stderr and "--overwrite" in again.stderr
    assert subprocess.run(cmd + ["--overwrite"], capture_output=True, text=True, env=env).returncode == 0


def test_a_speech_model_reads_spoken_audio_only_each_take_once(tmp_path, monkeypatch):
    """The whole RAVDESS download in one folder: a speech model leaves out sung files, video-only files and the
    audio-video copy of a take whose audio-only file is there, and says so; other kinds read every row."""
    from emolab.bundled import available
    from emolab.recipes.inputs import read_labelled, readable_rows

    from .conftest import write_wav

    root = tmp_path / "ravdess"
    for emo in (1, 3, 5, 7):
        write_wav(root / "Actor_19" / f"03-01-{emo:02d}-01-01-01-19.wav", freq=150.0 + 30 * emo)  # spoken, audio-only
        write_wav(root / "Actor_19" / f"03-02-{emo:02d}-01-01-01-19.wav")  # sung
    for name in ("01-01-01-01-01-01-19", "01-01-03-01-02-01-19", "02-01-01-01-01-01-19"):
        (root / "Actor_19" / f"{name}.mp4").write_bytes(b"")  # audio-video twin, audio-video alone, video-only
    m = read_labelled("ravdess", root)
    assert len(m) == 11
    kept, note = readable_rows(m, "speech")
    assert sorted(Path(p).stem for p in kept["path"]) == ["01-01-03-01-02-01-19"] + [f"03-01-{e:02d}-01-01-01-19" for e in (1, 3, 5, 7)]
    assert note == ("left out 1 file without audio; 4 sung RAVDESS files (singing is not speech); "
                    "1 audio-video RAVDESS file whose audio-only twin is read instead")
    assert len(readable_rows(m, "text")[0]) == 11 and readable_rows(m, "text")[1] == ""
    report: dict = {}
    assert len(read_labelled("ravdess", root, "speech", report=report)) == 5 and report["left_out"] == note
    for f in root.glob("Actor_19/03-01-*.wav"):
        f.unlink()
    for f in root.glob("Actor_19/01-*.mp4"):
        f.unlink()
    with pytest.raises(Exception, match="no ravdess rows a speech model can read: left out .*sung"):
        read_labelled("ravdess", root, "speech")
    if "speech" not in available():
        return
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    for emo in (1, 3, 5, 7):
        write_wav(root / "Actor_19" / f"03-01-{emo:02d}-01-01-01-19.wav", freq=150.0 + 30 * emo)
    ev = evaluate_recipe("speech", "ravdess", root, progress=False)
    assert ev.scored["n"] == 4 and "left out 1 file without audio; 4 sung RAVDESS files" in ev.scored["reason"]
