"""Bundled models: present, loadable without network or pickle, documented, and behaving as their cards say."""

import numpy as np
import pytest

import emolab
from emolab.bundled import available, model_card


def test_every_bundled_model_loads_and_has_a_card():
    models = available()
    assert "synthetic" in models
    total = sum(p.stat().st_size for p in models.values())
    assert total <= 25e6, f"bundled weights are {total / 1e6:.1f} MB (budget 25 MB)"
    for name in models:
        model, meta = emolab.pretrained(name)
        native = meta["metrics"].get("labels") == "native"  # e.g. speech8: RAVDESS's own 8 classes
        assert meta["labels"] == list(emolab.EMOTIONS) or (native and len(meta["labels"]) == model.config.n_classes), name
        assert meta["metrics"], name
        card = model_card(name)
        assert card.startswith("# Model card") and ("not for" in card.lower() or "not intended" in card.lower()), name
    with pytest.raises(emolab.ModelError, match="no bundled model"):
        emolab.pretrained("telepathy")


def test_synthetic_model_recognises_rendered_expressions():
    """Known predictions: the synthetic-domain model on clips rendered for an identity it never saw."""
    from emolab.synth import Identity
    from emolab.synth.trainset import render_clip
    from emolab.models.lesson import load_lesson_models

    models = load_lesson_models("synthetic")
    rng = np.random.default_rng(12345)
    ident = Identity.random("new", rng)
    correct = 0
    for emotion in emolab.EMOTIONS:
        clip = render_clip(ident, emotion, 8, 48, 5.0, np.random.default_rng(7))
        mask = np.zeros((1, 3), bool)
        mask[0, 0] = True
        p = models.fuse({"face": models.face(clip[None])}, mask)[0]
        correct += emolab.EMOTIONS[int(p.argmax())] == emotion
    assert correct >= 6, f"{correct}/7 expressions recognised"


def test_bundled_face_model_inflates_exactly_into_the_3d_cnn():
    """The bundled face CNN (each member CNN, should the bundled file ever be an ensemble) inflates exactly."""
    import torch

    from emolab.bundled import available
    from emolab.models import Face3DCNN

    if "face" not in available():
        pytest.skip("no face model bundled in this installation")
    face, meta = emolab.pretrained("face")
    assert meta["kind"] == "face2d" and meta["metrics"]["dataset"] == "fer2013" and meta["metrics"]["n"] == 3589
    members = list(face.members) if face.config.members > 1 else [face]
    x = torch.rand(4, 1, 48, 48)
    for member in members:
        m3 = Face3DCNN.inflate(member, frames=8).eval()
        with torch.no_grad():
            torch.testing.assert_close(m3(x.unsqueeze(2).repeat(1, 1, 8, 1, 1)), member(x), rtol=1e-4, atol=1e-4)


@pytest.mark.realdata
def test_bundled_face_model_on_real_fer2013_validation(shared_data):
    """The figure in the model card, re-measured on a fixed 600-image subsample of FER2013 validation."""
    from emolab.bundled import available
    from emolab.recipes import evaluate_recipe

    if "face" not in available():
        pytest.skip("no face model bundled in this installation")
    ev = evaluate_recipe("face", "fer2013", shared_data / "fer2013", split="validation", progress=False, max_samples=600)
    assert ev.metrics["n"] == 600
    assert 0.55 <= ev.metrics["accuracy"] <= 0.72


@pytest.mark.realdata
def test_bundled_text_model_on_real_meld_dev(shared_data):
    """The model card's claim, re-measured on all of MELD dev with the dialogue head: weighted F1 0.593 in float32
    (the utterance model alone 0.585; target 0.55)."""
    from emolab.recipes import evaluate_recipe

    ev = evaluate_recipe("text", "meld", shared_data / "meld", progress=False)
    assert ev.metrics["n"] == 1109
    assert abs(ev.metrics["weighted_f1"] - 0.593) < 0.006 and ev.metrics["weighted_f1"] >= 0.55


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["speech", "speech8"])
def test_bundled_speech_models_on_real_ravdess_actors_15_to_18(shared_data, name):
    """Each speech card's accuracy, re-measured on actors 15-18: held out (the figure stored in the weights file), or,
    for a head refit on 01-18 after selection, marked in-sample."""
    from emolab.bundled import available
    from emolab.recipes import evaluate_recipe

    if name not in available():
        pytest.skip(f"no {name} model bundled in this installation")
    _, meta = emolab.pretrained(name)
    ev = evaluate_recipe(name, "ravdess", shared_data / "ravdess_speech", progress=False)
    assert ev.metrics["n"] == 240
    if meta["metrics"].get("refit"):
        # refit on actors 01-18 after selection: the file stores out-of-fold figures of 1,080 utterances, and
        # actors 15-18 are training data now, which the evaluation must say rather than pass off as held out
        assert meta["metrics"]["n"] == 1080 and "not a held-out figure" in ev.scored["reason"], ev.scored
        assert ev.metrics["accuracy"] >= meta["metrics"]["accuracy"] - 0.05, (ev.metrics["accuracy"], meta["metrics"]["accuracy"])
    else:
        assert abs(ev.metrics["accuracy"] - meta["metrics"]["accuracy"]) <= 0.0125, (ev.metrics["accuracy"], meta["metrics"]["accuracy"])


@pytest.mark.realdata
def test_bundled_face_model_reads_small_faces(shared_data):
    """The card's per-size claim on 600 FER2013 validation faces shrunk to 16 px and scaled back (the shipped
    low-resolution fine-tune reads 51 % of all 3,589 there; the weights before it 35 %)."""
    import cv2
    import torch

    from emolab.bundled import available
    from emolab.data import read_corpus
    from emolab.preprocessing.inputs import load_face_images
    from emolab.taxonomy import EMOTIONS

    if "face" not in available():
        pytest.skip("no face model bundled in this installation")
    m = read_corpus("fer2013", shared_data / "fer2013")
    m = m[m["split"] == "validation"].sample(600, random_state=0).reset_index(drop=True)
    imgs = load_face_images(m, progress=False)
    small = np.stack([cv2.resize(cv2.resize(i, (16, 16), interpolation=cv2.INTER_AREA), (48, 48), interpolation=cv2.INTER_LINEAR)
                      for i in imgs])
    face, _ = emolab.pretrained("face")
    with torch.no_grad():
        pred = face.eval()(torch.from_numpy(small[:, None].astype(np.float32) / 255.0)).argmax(1).numpy()
    acc = float((pred == np.array([EMOTIONS.index(v) for v in m["label"].astype(str)])).mean())
    assert acc >= 0.44, acc
