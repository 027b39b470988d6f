"""Calibration: temperature scaling, ECE and reliability tables on generated data with a known answer."""

import numpy as np
import pytest

from emolab.calibration import (adapt_priors, apply_temperature, expected_calibration_error, fit_bias_corrected_temperature,
                                fit_temperature, reliability_table, selective_accuracy, temperature_for)


def calibrated_sample(n=20000, k=7, seed=0):
    """Logits and labels drawn from softmax(logits): calibrated by construction."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, k))
    p = apply_temperature(z, 1.0)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return z, y


def test_calibrated_logits_give_temperature_one_and_small_ece():
    z, y = calibrated_sample()
    assert fit_temperature(z, y) == pytest.approx(1.0, abs=0.05)
    assert expected_calibration_error(apply_temperature(z, 1.0), y) < 0.02


def test_overconfident_logits_are_softened():
    z, y = calibrated_sample(seed=1)
    over = 3.0 * z  # the same ranking, three times too confident
    t = fit_temperature(over, y)
    assert t == pytest.approx(3.0, rel=0.05)
    before = expected_calibration_error(apply_temperature(over, 1.0), y)
    after = expected_calibration_error(apply_temperature(over, t), y)
    assert before > 0.1 and after < 0.02
    assert (apply_temperature(over, t).argmax(1) == over.argmax(1)).all()  # accuracy is unchanged


def test_log_probabilities_work_as_logits():
    z, y = calibrated_sample(n=2000, seed=2)
    logp = np.log(apply_temperature(3.0 * z, 1.0))
    assert fit_temperature(logp, y) == pytest.approx(fit_temperature(3.0 * z, y), rel=1e-3)
    np.testing.assert_allclose(apply_temperature(logp, 2.0), apply_temperature(3.0 * z, 2.0), atol=1e-9)


def test_reliability_table_counts_and_known_values():
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.45, 0.55], [1.0, 0.0]])
    y = np.array([0, 1, 0, 0, 0])
    t = reliability_table(proba, y, n_bins=10)
    assert list(t.columns) == ["bin_lo", "bin_hi", "n", "confidence", "accuracy"]
    assert t.n.sum() == 5 and len(t) == 10
    top = t.iloc[9]  # [0.9, 1.0]: 0.95, 0.95, 1.0, of which 2 right
    assert top.n == 3 and top.confidence == pytest.approx(2.9 / 3) and top.accuracy == pytest.approx(2 / 3)
    mid = t.iloc[5]  # (0.5, 0.6]: both 0.55, one right
    assert mid.n == 2 and mid.accuracy == pytest.approx(0.5)
    assert np.isnan(t.iloc[0].accuracy)
    ece = expected_calibration_error(proba, y, n_bins=10)
    assert ece == pytest.approx((3 * abs(2 / 3 - 2.9 / 3) + 2 * abs(0.5 - 0.55)) / 5)


def test_selective_accuracy_trades_coverage_for_accuracy():
    z, y = calibrated_sample(seed=3)
    s = selective_accuracy(apply_temperature(z, 1.0), y, thresholds=(0.0, 0.5, 0.8))
    assert s.coverage.iloc[0] == 1.0 and s.coverage.is_monotonic_decreasing
    assert s.accuracy.is_monotonic_increasing and s.accuracy.iloc[-1] > 0.8


def test_bad_input_and_defaults():
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((3, 2)), np.array([0, 1]))
    with pytest.raises(ValueError):
        apply_temperature(np.zeros((1, 2)), 0.0)
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, int)) == 1.0
    assert temperature_for("no-such-model") == 1.0


def test_temperature_for_reads_the_table_and_interpolates_by_face_size(tmp_path, monkeypatch):
    import json

    import emolab.calibration as cal

    monkeypatch.setattr(cal, "CALIBRATION_FILE", tmp_path / "calibration.json")
    assert cal.temperature_for("face") == 1.0
    cal.record_calibration("speech", temperature=1.5, fitted_on="here")
    cal.record_calibration("face", temperature=1.2, by_size_px={"12": 2.0, "24": 1.4, "48": 1.2}, box_h_over_fer_side=0.5)
    assert json.loads(cal.CALIBRATION_FILE.read_text())["speech"] == {"temperature": 1.5, "fitted_on": "here"}
    assert cal.temperature_for("speech") == 1.5 and cal.temperature_for("speech", face_px=3) == 1.5
    assert cal.temperature_for("face") == 1.2
    assert cal.temperature_for("face", face_px=9) == pytest.approx(1.7)  # 18 FER px: half-way from 12 to 24
    assert cal.temperature_for("face", face_px=2) == 2.0 and cal.temperature_for("face", face_px=500) == 1.2
    heights = np.array([2.0, 9.0, 500.0])
    np.testing.assert_allclose(cal.temperature_for("face", face_px=heights), [2.0, 1.7, 1.2])
    np.testing.assert_allclose(cal.temperature_for("speech", face_px=heights), [1.5] * 3)
    z = np.log(np.array([[0.7, 0.2, 0.1]] * 3))
    rows = apply_temperature(z, cal.temperature_for("face", face_px=heights))  # one temperature per row
    for i, h in enumerate(heights):
        np.testing.assert_allclose(rows[i], apply_temperature(z[:1], cal.temperature_for("face", face_px=h))[0])
    cal.record_calibration("face", bias_corrected={"temperature": 1.1, "bias": [0.1, -0.1]})
    assert cal.temperature_for("face") == 1.2 and cal.load_calibration()["face"]["bias_corrected"]["temperature"] == 1.1
    with pytest.raises(ValueError):
        cal.record_calibration("text", temperature=-1.0)
    cal.CALIBRATION_FILE.unlink()
    assert cal.load_calibration() == {} and cal.temperature_for("text") == 1.0


def test_bias_corrected_temperature_recovers_scale_and_bias():
    z, y = calibrated_sample(seed=4)
    bias = np.array([1.0, -0.5, 0, 0, 0, 0, -0.5])
    t, b = fit_bias_corrected_temperature(2.0 * z - 2.0 * bias, y)  # softmax(z) = softmax((2z - 2bias) / 2 + bias)
    assert t == pytest.approx(2.0, rel=0.05)
    np.testing.assert_allclose(b, bias - bias.mean(), atol=0.08)


def test_adapt_priors_finds_a_shifted_class_mix():
    rng = np.random.default_rng(5)
    k, n = 3, 6000
    means = np.eye(k) * 2.0  # class-conditional Gaussians in logit space; softmax(x) is the Bayes posterior under equal priors
    def draw(prior):
        y = rng.choice(k, n, p=prior)
        x = means[y] + rng.normal(0, 1, (n, k))
        return apply_temperature(x * 2.0, 1.0), y  # exp(2 x_k) is proportional to the class-k likelihood
    target = np.array([0.7, 0.2, 0.1])
    p, y = draw(target)  # posteriors under the training prior (uniform), data drawn with the target one
    q, prior = adapt_priors(p, train_prior=np.full(k, 1 / k))
    np.testing.assert_allclose(prior, target, atol=0.03)
    assert (q.argmax(1) == y).mean() > (p.argmax(1) == y).mean()
    same, prior_same = adapt_priors(*draw(np.full(k, 1 / k))[:1], train_prior=np.full(k, 1 / k))
    np.testing.assert_allclose(prior_same, np.full(k, 1 / k), atol=0.03)
    with pytest.raises(ValueError):
        adapt_priors(p, train_prior=np.ones(2))


def test_shipped_calibration_file_is_complete():
    """The temperatures the loader hands out: one per real bundled model, face by size, all plausible."""
    from emolab.calibration import load_calibration

    table = load_calibration()
    assert {"face", "speech", "text"} <= set(table)
    for name in ("face", "speech", "text"):
        assert 0.5 < temperature_for(name) < 3.0 and table[name]["command"].startswith("python benchmarks/"), name
    sizes = table["face"]["by_size_px"]
    assert sorted(map(int, sizes)) == [12, 16, 20, 24, 32, 48]
    assert all(0.5 < float(t) < 3.0 for t in sizes.values())
    # between the fitted sizes the loader interpolates (the small-face fine-tune needs ~1 everywhere; the weights before
    # it needed 1.8 at 12 px), never outside the table's range
    ts = temperature_for("face", face_px=np.array([5.0, 15.0, 40.0, 400.0]))
    assert (min(map(float, sizes.values())) - 1e-9 <= ts).all() and (ts <= max(map(float, sizes.values())) + 1e-9).all()
    bc = table["face"]["bias_corrected"]
    assert len(bc["bias"]) == len(bc["train_prior"]) == 7 and abs(sum(bc["train_prior"]) - 1) < 1e-3
