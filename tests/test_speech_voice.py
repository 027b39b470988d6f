"""The voice-encoder speech model (``SpeechCNNConfig(encoder="voice")``): level, silence, precision, files."""

import numpy as np
import pytest
import torch

from emolab.errors import EmolabError
from emolab.models.io import load_model, save_model
from emolab.models.zoo import SpeechCNN, SpeechCNNConfig


def _model(seed: int = 0) -> SpeechCNN:
    torch.manual_seed(seed)
    return SpeechCNN(SpeechCNNConfig(encoder="voice", feature="logmel40", n_features=40, hidden=16, dropout=0.0,
                                     level_db=10.0)).eval()


def _speechlike(batch: int = 3, frames: int = 120, seed: int = 1) -> torch.Tensor:
    """[B, 1, 40, frames] dB maps: a loud varying middle, quiet edges (as a 3-s window around a word)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(-30, 6, (batch, 1, 40, frames)).astype(np.float32)
    x[..., :15] = -95.0
    x[..., -20:] = -95.0
    return torch.from_numpy(x)


def test_output_shape_and_loudness_does_not_matter():
    m, x = _model(), _speechlike()
    with torch.no_grad():
        out = m(x)
        louder = m(x + 12.0)  # the same recording 12 dB louder
    assert out.shape == (3, 7) and torch.isfinite(out).all()
    assert torch.allclose(out, louder, atol=1e-4)
    assert not torch.allclose(out[0], out[1], atol=1e-3)  # different windows, different answers


def test_trailing_silence_is_left_out_of_the_statistics():
    m, x = _model(), _speechlike(frames=120)
    longer = torch.cat([x, torch.full((3, 1, 40, 60), -95.0)], dim=-1)  # one more second of silence at the end
    with torch.no_grad():
        assert torch.allclose(m(x), m(longer), atol=1e-5)
        # an active frame added instead changes the answer: the mask is what keeps silence out
        loud = torch.cat([x, torch.full((3, 1, 40, 60), -25.0)], dim=-1)
        assert not torch.allclose(m(x), m(loud), atol=1e-3)


def test_bf16_autocast_runs_the_lstm_only_and_answers_alike():
    from emolab.device import bf16_rnn_supported

    m, x = _model(), _speechlike()
    with torch.no_grad():
        ref = m(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = m(x)
    assert low.dtype == torch.float32  # the head and the statistics stay float32
    if bf16_rnn_supported("cpu"):
        assert not torch.equal(ref, low)  # the LSTM did run in bf16
    else:  # an AVX2-only CPU has no bf16 LSTM kernel: the LSTM runs in float32 instead of failing
        assert torch.equal(ref, low)
    assert (low - ref).abs().max() < 0.05 and torch.equal(low.argmax(1), ref.argmax(1))


def test_saved_and_loaded_unchanged(tmp_path):
    m, x = _model(), _speechlike()
    with torch.no_grad():
        m.voice.mean.fill_(0.1)
        m.voice.scale.fill_(2.0)
    path = save_model(tmp_path / "voice.safetensors", m)
    back, meta = load_model(path)
    assert meta["config"]["encoder"] == "voice" and back.config.level_db == 10.0
    with torch.no_grad():
        assert torch.equal(back.eval()(x), m(x))


def test_unknown_encoder_or_feature_is_a_clear_error():
    from emolab.preprocessing.inputs import speech_input, speech_inputs_at

    with pytest.raises(EmolabError, match="encoder"):
        SpeechCNN(SpeechCNNConfig(encoder="wav2vec"))
    with pytest.raises(EmolabError, match="unknown speech feature"):
        speech_input(np.zeros(16000, np.float32), feature="mel")
    y = np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32)
    assert speech_input(y, seconds=1.0, feature="logmel40").shape == (1, 40, 101)
    assert speech_inputs_at(y, np.array([0, 8000]), seconds=1.0, feature="logmel40").shape == (2, 1, 40, 101)
    assert speech_inputs_at(y, np.array([], np.int64), seconds=1.0, feature="logmel40").shape == (0, 1, 40, 101)


@pytest.mark.realdata
def test_bundled_speech_model_does_not_collapse_on_cremad(shared_data):
    """The card's outside-corpus claim: on the 12 CREMA-D clips the bundled model is right 6 times over 5
    predicted classes (the logistic head before it 5 of 12; the CNN 2 of 12, happiness or neutral for everything)."""
    import glob
    from pathlib import Path

    import emolab
    from emolab.preprocessing.audio import load_audio
    from emolab.preprocessing.inputs import speech_input

    files = sorted(glob.glob(str(shared_data / "real_video/cremad_av/1001_DFA_*.flv"))) + \
        sorted(glob.glob(str(shared_data / "real_video/cremad_audio/1002_DFA_*.mp3")))
    if len(files) != 12:
        pytest.skip(f"the 12 CREMA-D clips are not in {shared_data}/real_video ({len(files)} found)")
    model, meta = emolab.pretrained("speech")
    names = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral", "SAD": "sadness"}
    truth = [meta["labels"].index(names[Path(f).name.split("_")[2]]) for f in files]
    x = torch.from_numpy(np.stack([speech_input(load_audio(f), feature=model.config.feature) for f in files]))
    with torch.no_grad():
        pred = model.eval()(x).argmax(1).numpy()
    assert (pred == np.array(truth)).sum() >= 4, pred
    assert len(set(pred.tolist())) >= 4, pred  # not collapsed onto one or two classes


def test_pooling_several_layers_reads_each_layer_as_a_deeper_lstm_would():
    """``voice_pool=(2, 3)``: [mean, std] of layer 2 then of layer 3, the same numbers a 2- and a 3-layer LSTM give."""
    torch.manual_seed(0)
    cfg = dict(encoder="voice", feature="logmel40", n_features=40, hidden=16, dropout=0.0, level_db=10.0)
    pooled = SpeechCNN(SpeechCNNConfig(**cfg, voice_layers=3, voice_pool=(2, 3))).eval()
    assert pooled.embed_dim == 64 and pooled.voice.mean.shape == (64,) and len(pooled.voice.upper) == 1
    two = SpeechCNN(SpeechCNNConfig(**cfg, voice_layers=2)).eval()
    three = SpeechCNN(SpeechCNNConfig(**cfg, voice_layers=3)).eval()
    with torch.no_grad():
        two.voice.lstm.load_state_dict(pooled.voice.lstm.state_dict())
        for k in range(2):
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(three.voice.lstm, f"{w}_l{k}").copy_(getattr(pooled.voice.lstm, f"{w}_l{k}"))
        for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(three.voice.lstm, f"{w}_l2").copy_(getattr(pooled.voice.upper[0], f"{w}_l0"))
        x = _speechlike()
        s = pooled.voice.statistics(x)
        assert torch.allclose(s[:, :32], two.voice.statistics(x), atol=1e-6)
        assert torch.allclose(s[:, 32:], three.voice.statistics(x), atol=1e-6)
    with pytest.raises(EmolabError, match="voice_pool"):
        SpeechCNN(SpeechCNNConfig(**cfg, voice_layers=3, voice_pool=(3, 2)))
    with pytest.raises(EmolabError, match="voice_pool"):
        SpeechCNN(SpeechCNNConfig(**cfg, voice_layers=3, voice_pool=(1, 2)))  # must end with the last layer


def test_store_half_halves_the_file_and_answers_alike(tmp_path):
    torch.manual_seed(0)
    cfg = dict(encoder="voice", feature="logmel40", n_features=40, hidden=64, dropout=0.0, level_db=10.0,
               voice_layers=3, voice_pool=(2, 3))
    m = SpeechCNN(SpeechCNNConfig(**cfg)).eval()
    h = SpeechCNN(SpeechCNNConfig(**cfg, store_half=True)).eval()
    h.load_state_dict(m.state_dict())
    full, half = save_model(tmp_path / "full.safetensors", m), save_model(tmp_path / "half.safetensors", h)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    back, meta = load_model(half)
    assert meta["config"]["store_half"] and next(back.parameters()).dtype == torch.float32
    x = _speechlike()
    with torch.no_grad():
        ref, low = m(x), back.eval()(x)
    assert not torch.equal(ref, low) and (ref - low).abs().max() < 0.02


def test_training_script_copies_the_encoder_layers_where_each_pool_reads_them():
    """benchmarks/train_speech_voice.py: ``voice_model`` puts Resemblyzer's layer k where a pool of any layers reads it,
    and ``pool_columns`` finds a pool's statistics inside those of all three layers."""
    import subprocess
    import sys

    from tests.conftest import import_benchmark

    script = import_benchmark("train_speech_voice")
    pool_columns, voice_model = script.pool_columns, script.voice_model
    torch.manual_seed(0)
    ref = torch.nn.LSTM(40, 256, 3, batch_first=True)  # stands in for Resemblyzer's encoder
    state = {f"lstm.{k}": v for k, v in ref.state_dict().items()}
    x = _speechlike(batch=2, frames=60)
    with torch.no_grad():
        full = voice_model(state, 3, 10.0, pool=(1, 2, 3)).voice.statistics(x)
        for pool in ((2,), (2, 3), (3,)):
            m = voice_model(state, max(pool), 10.0, pool=pool)
            assert m.config.store_half == (max(pool) > 2)
            assert torch.allclose(m.voice.statistics(x), full[:, pool_columns(pool)], atol=1e-5), pool
    # a wrong layer list fails at once, before any audio is read
    out = subprocess.run([sys.executable, script.__file__, "--encoder", "none.whl", "--pools", "2,4"],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "--pools" in out.stderr
