"""Speaker normalisation of the speech head (``emolab.models.speaker_adapt``), in corpora and lessons."""

from __future__ import annotations

import numpy as np
import pytest

from emolab.errors import EmolabError
from emolab.models.speaker_adapt import speaker_adapt


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(1, keepdims=True)


def test_equals_centring_the_statistics_of_a_linear_head():
    """The logit-space shortcut gives what subtracting each speaker's shrunk mean from the statistics gives."""
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(7, 30)), rng.normal(size=7)
    S = rng.normal(size=(40, 30)) + np.repeat(rng.normal(scale=3, size=(4, 30)), 10, axis=0)  # 4 speakers, each shifted
    pop = rng.normal(size=30)  # the training speakers' mean
    groups = np.repeat(["a", "b", "c", "d"], 10)
    k = 10.0
    want = np.empty((40, 7))
    for g in "abcd":
        rows = groups == g
        m = (rows.sum() * S[rows].mean(0) + k * pop) / (rows.sum() + k)
        want[rows] = (S[rows] - m) @ W.T + b
    z0 = (S - pop) @ W.T + b  # the model's plain output: the training mean subtracted
    np.testing.assert_allclose(speaker_adapt(z0, groups.tolist(), bias=b, shrink=k), _softmax(want), atol=1e-10)
    # on log-probabilities at a temperature, with the bias divided by it: the same answer at that temperature
    T = 2.5
    lp = np.log(_softmax(z0 / T))
    np.testing.assert_allclose(speaker_adapt(lp, groups.tolist(), bias=b, shrink=k, temperature=T), _softmax(want / T), atol=1e-10)


def test_shrink_and_amount_weigh_how_much_of_the_speaker_is_heard():
    z = np.log(np.array([[0.9, 0.1]] * 3000))
    b = np.zeros(2)
    # a speaker heard a lot in one voice: their lean is removed; k = 0 removes it whatever the amount
    assert abs(speaker_adapt(z, ["t"] * 3000, bias=b, shrink=10.0, amount=np.full(3000, 1 / 3))[0, 0] - 0.5) < 0.01
    # heard once, with k = 10 the reading moves by 1/11 of the way only
    one = speaker_adapt(z[:1], ["t"], bias=b, shrink=10.0)
    assert 0.85 < one[0, 0] < 0.9
    # readings of no known speaker are left as they are
    mixed = speaker_adapt(z[:2], ["t", None], bias=b, shrink=0.0)
    np.testing.assert_allclose(mixed[1], [0.9, 0.1])
    assert abs(mixed[0, 0] - 0.5) < 1e-9


def test_bad_arguments_are_clear_errors():
    with pytest.raises(EmolabError, match="one group per row"):
        speaker_adapt(np.zeros((3, 7)), ["a", "b"], bias=np.zeros(7), shrink=1.0)
    with pytest.raises(EmolabError, match="shrink"):
        speaker_adapt(np.zeros((2, 7)), ["a", "b"], bias=np.zeros(7), shrink=-1.0)


def test_bundled_speech_model_is_speaker_normalised_and_lessons_centre_each_speaker():
    """The shipped head says it is speaker-normalised; a lesson reads each speaker's windows against their mean,
    and a model without such a head reads them unchanged."""
    from emolab.models.lesson import load_lesson_models

    models = load_lesson_models("pretrained")
    speech = models.models["speech"]
    assert speech.config.speaker_shrink > 0
    rng = np.random.default_rng(1)
    p = _softmax(rng.normal(size=(60, 7)) + np.array([3.0, 0, 0, 0, 0, 0, 0]))  # one speaker who leans to anger
    who = ["off-camera"] * 30 + ["S01"] * 30
    q = models.speech_by_speaker(p.astype(np.float32), who)
    assert q.shape == p.shape and np.allclose(q.sum(1), 1, atol=1e-5)
    assert q[:, 0].mean() < p[:, 0].mean() - 0.1  # the lean is taken out
    np.testing.assert_allclose(q[:30], models.speech_by_speaker(p[:30].astype(np.float32), who[:30]), atol=1e-6)  # speakers apart
    speech.config.speaker_shrink = 0.0
    try:
        np.testing.assert_array_equal(models.speech_by_speaker(p.astype(np.float32), who), p.astype(np.float32))
    finally:
        speech.config.speaker_shrink = 10.0


def test_training_script_refuses_a_model_without_a_voice_encoder(tmp_path):
    import sys

    from emolab.models import build_model
    from tests.conftest import import_benchmark
    from emolab.models.io import save_model

    script = import_benchmark("train_speech_speaker")
    cnn = tmp_path / "cnn.safetensors"
    save_model(cnn, build_model("speech"), labels=list(range(7)))
    with pytest.raises(SystemExit, match="voice speech model"):
        argv, sys.argv = sys.argv, ["train_speech_speaker.py", "--base", str(cnn), "--shared", str(tmp_path)]
        try:
            script.main()
        finally:
            sys.argv = argv


@pytest.mark.realdata
def test_speaker_normalised_evaluation_reads_each_ravdess_actor_against_their_mean(shared_data):
    """``emolab evaluate`` centres each actor's readings and says so; the in-sample figure is above the card's
    out-of-fold 77.4 %, and every class is recalled."""
    from emolab.recipes import evaluate_recipe

    folder = shared_data / "ravdess_speech"
    if not folder.is_dir():
        pytest.skip(f"RAVDESS speech is not in {shared_data}")
    ev = evaluate_recipe("speech", "ravdess", folder, split="actors15-18", progress=False)
    assert "speaker-normalised" in ev.scored["reason"] and "of the 4 speakers" in ev.scored["reason"]
    assert ev.metrics["accuracy"] > 0.8  # in-sample (the head was fitted on these actors): above the out-of-fold 77.4 %
    assert ev.per_class["accuracy"].min() > 0.3
