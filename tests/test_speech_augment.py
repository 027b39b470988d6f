"""Room/channel augmentation of speech waveforms, per-utterance CMVN and attention pooling, on generated signals."""

import numpy as np
import pytest

from emolab.preprocessing.augment import (add_noise, babble, band_limit, change_speed, colored_noise, mu_law, reverberate,
                                          room_augment, synthetic_rir)

SR = 16000


def _tone(seconds=1.0, f=220.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def _snr(clean, noisy):
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean((noisy - clean).astype(np.float64) ** 2))


@pytest.mark.parametrize("snr", [0.0, 7.5, 20.0])
@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])
def test_add_noise_reaches_the_snr_within_1_db(snr, exponent):
    rng = np.random.default_rng(1)
    y = _tone()
    noisy = add_noise(y, colored_noise(len(y), exponent=exponent, rng=rng), snr)
    assert noisy.shape == y.shape and noisy.dtype == np.float32
    assert abs(_snr(y, noisy) - snr) < 1.0


def test_babble_from_a_pool_at_an_snr():
    rng = np.random.default_rng(2)
    pool = [_tone(0.7, f) for f in (150, 200, 260, 330, 410)]
    b = babble(pool, 24000, talkers=4, rng=rng)
    assert b.shape == (24000,) and np.abs(b).max() > 0
    y = _tone(1.5)
    assert abs(_snr(y, add_noise(y, b, 5.0)) - 5.0) < 1.0


def test_silent_inputs_are_left_alone():
    y = np.zeros(1000, np.float32)
    assert np.array_equal(add_noise(y, np.ones(1000), 0.0), y)
    assert add_noise(np.ones(10, np.float32), np.zeros(0), 0.0).shape == (10,)


def _decay_time(x, floor_db=-30.0):
    """Seconds after the peak until the squared signal stays below ``floor_db`` of the peak."""
    e = x.astype(np.float64) ** 2
    p = int(e.argmax())
    above = np.flatnonzero(e[p:] > e[p] * 10 ** (floor_db / 10))
    return above[-1] / SR


@pytest.mark.parametrize("rt60", [0.2, 0.5, 0.8])
def test_reverb_lengthens_the_decay(rt60):
    rng = np.random.default_rng(3)
    rir = synthetic_rir(rt60, sr=SR, rng=rng)
    assert rir.shape == (int(1.2 * rt60 * SR) + 1,) and rir[0] == 1.0
    y = np.zeros(SR * 2, np.float32)
    y[1000:1160] = _tone(0.01)  # a 10 ms burst
    wet = reverberate(y, rir)
    assert wet.shape == y.shape
    assert _decay_time(wet) > _decay_time(y) + 0.2 * rt60
    longer = reverberate(y, synthetic_rir(rt60 + 0.3, sr=SR, rng=rng))
    assert _decay_time(longer) > _decay_time(wet)


def test_band_limit_removes_low_and_high_frequencies():
    t = np.arange(SR) / SR
    low, mid, high = (np.sin(2 * np.pi * f * t).astype(np.float32) for f in (80, 1000, 6000))
    for x, keep in ((low, False), (mid, True), (high, False)):
        ratio = np.std(band_limit(x, sr=SR)[2000:-2000]) / np.std(x)
        assert (ratio > 0.9) if keep else (ratio < 0.1)


def test_mu_law_is_a_coarse_copy():
    y = _tone()
    q = mu_law(y, bits=8)
    assert q.shape == y.shape and len(np.unique(q)) <= 256
    assert 15 < _snr(y, q) < 60  # audible but mild distortion
    assert _snr(y, mu_law(y, bits=4)) < _snr(y, q)


def test_change_speed_changes_length_and_pitch():
    y = _tone(1.0, 200.0)
    fast = change_speed(y, 1.25)
    assert len(fast) == round(len(y) / 1.25)
    spec = np.abs(np.fft.rfft(fast * np.hanning(len(fast))))
    assert abs(np.fft.rfftfreq(len(fast), 1 / SR)[spec.argmax()] - 250.0) < 5


def test_room_augment_is_repeatable_and_bounded():
    y = _tone(2.0)
    pool = [_tone(1.0, f) for f in (150, 300, 450, 600)]
    a = room_augment(y, rng=np.random.default_rng(7), babble_pool=pool)
    b = room_augment(y, rng=np.random.default_rng(7), babble_pool=pool)
    assert np.array_equal(a, b) and a.dtype == np.float32 and np.abs(a).max() <= 1.0
    outs = [room_augment(y, rng=np.random.default_rng(s)) for s in range(20)]
    assert all(0.85 * len(y) <= len(o) <= 1.15 * len(y) for o in outs)
    assert len({o.tobytes() for o in outs}) == 20


def test_per_utterance_cmvn_gives_zero_mean_unit_std():
    import torch

    from emolab.models.zoo import utterance_cmvn

    x = torch.randn(3, 1, 60, 301) * torch.linspace(0.1, 5, 60)[:, None] + torch.linspace(-40, 40, 60)[:, None]
    z = utterance_cmvn(x)
    assert z.shape == x.shape
    assert torch.allclose(z.mean(-1), torch.zeros(3, 1, 60), atol=1e-4)
    assert torch.allclose(z.std(-1, unbiased=False), torch.ones(3, 1, 60), atol=1e-3)
    assert torch.allclose(utterance_cmvn(x * 10 + 3), z, atol=1e-3)  # gain and offset of a feature row drop out
    centred = utterance_cmvn(x, variance=False)
    assert torch.allclose(centred.mean(-1), torch.zeros(3, 1, 60), atol=1e-3)
    assert torch.allclose(centred, x - x.mean(-1, keepdim=True))


@pytest.mark.parametrize("pooling,cmvn", [("mean", "meanvar"), ("attention", "mean"), ("attention", "none")])
def test_speech_cnn_options_and_old_configs(pooling, cmvn, tmp_path):
    import torch

    from emolab.errors import EmolabError
    from emolab.models import SpeechCNN, SpeechCNNConfig, load_model, save_model

    model = SpeechCNN(SpeechCNNConfig(widths=(8, 16), cmvn=cmvn, pooling=pooling)).eval()
    x = torch.randn(2, 1, 60, 101)
    assert model(x).shape == (2, 7)
    assert model.embed(x).shape == (2, 16)
    save_model(tmp_path / "m.safetensors", model)
    again, _ = load_model(tmp_path / "m.safetensors")
    assert torch.allclose(again(x), model(x), atol=1e-5)
    old = SpeechCNNConfig.from_dict({"widths": [8, 16]})  # a file written before the options existed
    assert (old.cmvn, old.pooling) == ("none", "mean")
    with pytest.raises(EmolabError):
        SpeechCNN(SpeechCNNConfig(pooling="max"))
    with pytest.raises(EmolabError):
        SpeechCNN(SpeechCNNConfig(cmvn="yes"))
