"""Int8 face CNN: the traced conversion and the shipped, trace-free copy compute the same function; the copy is
used only where it belongs (its own weights; 8-bit activations only on a CPU with AVX-512 VNNI, where they are exact,
7-bit ones on other x86 CPUs); with ../shared/data, the copy this CPU uses reads real faces as well as the float
model. Everything runs wherever PyTorch has its x86 quantized engine; what depends on VNNI is asserted for the CPU
the tests run on."""

import numpy as np
import pytest
import torch

from emolab.errors import ModelError
from emolab.models.quantize import (Int8ConvNet, Int8Ensemble, build_int8, calibrate_int8, int8_copy, int8_state,
                                    int8_engine, int8_file, int8_supported, load_int8, quantize_int8,
                                    save_int8)
from emolab.models.zoo import FaceCNN2D, FaceCNNConfig

pytestmark = pytest.mark.skipif(not int8_engine(), reason="this PyTorch build has no x86 quantized engine")
VNNI = int8_supported()  # int8 is used (and exact) only on CPUs with AVX-512 VNNI


def _faces(n: int, seed: int) -> torch.Tensor:
    """Smooth random 48-px 'faces' in [0, 1]: low-frequency noise, so activations are image-like."""
    rng = np.random.default_rng(seed)
    low = rng.random((n, 1, 6, 6)).astype(np.float32)
    return torch.nn.functional.interpolate(torch.from_numpy(low), size=48, mode="bilinear", align_corners=False)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    model = FaceCNN2D(FaceCNNConfig(widths=(8, 16, 32), convs_per_block=2)).eval()
    with torch.no_grad():  # batch-norms with non-trivial statistics, so folding matters
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return model


def test_trace_free_copy_equals_the_traced_conversion_and_tracks_fp32(small_model, tmp_path):
    obs = calibrate_int8(small_model, (_faces(64, s) for s in range(4)))
    traced = quantize_int8(small_model, obs)
    path = save_int8(tmp_path / "m.int8.safetensors", traced, weights_sha256="abc")
    state, meta = load_int8(path)
    assert meta["weights_sha256"] == "abc"
    built = Int8ConvNet(small_model, state).eval()
    x = _faces(96, 99)  # faces the calibration never saw
    with torch.inference_mode():
        a, b, ref = traced(x), built(x), small_model(x)
    assert torch.equal(a, b)  # bit for bit: same int8 ops in the same order
    assert not any(isinstance(m, torch.nn.ReLU) for m in built.modules())  # every ReLU runs inside its convolution
    assert b.shape == (96, 7) and b.dtype == torch.float32
    err = (b - ref).abs().mean() / ref.std()
    if VNNI:  # without VNNI 8-bit activations can saturate: there the 7-bit copy is used (next test)
        assert err < 0.1, float(err)  # int8 rounding, not a different function
    seven = Int8ConvNet(small_model, int8_state(quantize_int8(small_model, obs, activation_bits=7))).eval()
    with torch.inference_mode():
        assert (seven(x) - ref).abs().mean() / ref.std() < 0.1  # 7-bit activations: exact on any x86 CPU


def test_copy_only_for_its_own_weights(small_model, tmp_path):
    obs = calibrate_int8(small_model, [_faces(32, 1)])
    path = save_int8(tmp_path / "m.int8.safetensors", quantize_int8(small_model, obs), weights_sha256="abc")
    assert load_int8(path)[1]["activation_bits"] == "8"
    assert (int8_copy(small_model, "abc", path) is not None) == VNNI  # 8-bit activations would saturate without VNNI
    seven = save_int8(tmp_path / "m.int8-7bit.safetensors", quantize_int8(small_model, obs, activation_bits=7), weights_sha256="abc")
    assert load_int8(seven)[1]["activation_bits"] == "7" and int8_copy(small_model, "abc", seven) is not None  # any x86 CPU
    assert int8_file(tmp_path, "m").name == ("m.int8.safetensors" if VNNI else "m.int8-7bit.safetensors")
    with pytest.raises(ModelError, match="activation_bits"):
        quantize_int8(small_model, obs, activation_bits=4)
    assert int8_copy(small_model, "other weights", path) is None  # e.g. a retrained face.safetensors
    assert int8_copy(small_model, "abc", tmp_path / "missing.safetensors") is None
    bad = tmp_path / "bad.int8.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot read the int8 model file"):
        (int8_copy if VNNI else load_int8)(*((small_model, "abc", bad) if VNNI else (bad,)))
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:  # one weight changed, the digest left as it was
        state, meta = {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())
    state["features.0.weight"][0, 0, 0, 0] += 1
    save_file(state, str(tmp_path / "tampered.int8.safetensors"), metadata=meta)
    with pytest.raises(ModelError, match="does not match its digest"):
        load_int8(tmp_path / "tampered.int8.safetensors")
    state = int8_state(quantize_int8(small_model, obs))
    del state["features.3.weight"]
    with pytest.raises(ModelError, match="lacks"):
        Int8ConvNet(small_model, state)
    with pytest.raises(ModelError, match="not measured on this model"):
        quantize_int8(FaceCNN2D(FaceCNNConfig(widths=(8, 16))).eval(), obs)


def test_ensemble_int8_is_its_members_int8_averaged(small_model, tmp_path):
    """A face CNN ensemble is quantized member by member (parameters under members.<i>.); the trace-free copy equals the
    traced one, and each member's part equals that member quantized alone."""
    torch.manual_seed(1)
    other = FaceCNN2D(FaceCNNConfig(widths=(8, 16, 32), convs_per_block=2)).eval()
    ens = FaceCNN2D.ensemble([small_model, other]).eval()
    batches = [_faces(64, s) for s in range(3)]
    obs = calibrate_int8(ens, iter(batches))  # a one-pass iterator: every member must still see every batch
    assert obs and all(k.startswith(("members.0.", "members.1.")) for k in obs)
    traced = quantize_int8(ens, obs)
    path = save_int8(tmp_path / "e.int8.safetensors", traced, weights_sha256="ens")
    built = build_int8(ens, load_int8(path)[0])
    assert isinstance(built, Int8Ensemble)
    assert (int8_copy(ens, "ens", path) is not None) == VNNI
    x = _faces(64, 77)
    alone = build_int8(other, int8_state(quantize_int8(other, calibrate_int8(other, batches))))
    with torch.inference_mode():
        assert torch.equal(traced(x), built(x))
        assert torch.equal(built.members[1](x), alone(x))
        if VNNI:
            assert (built(x).argmax(1) == ens(x).argmax(1)).float().mean() > 0.8
    state = int8_state(traced)
    del state["members.1.features.0.weight"]
    with pytest.raises(ModelError, match="lacks"):
        build_int8(ens, state)


def test_lesson_models_use_the_shipped_int8_face_model_on_cpu_and_fall_back_without_it(tmp_path):
    import shutil

    from emolab.models.lesson import load_lesson_models, LateFusionLessonModels
    from emolab.registry import PRETRAINED_DIR

    auto = load_lesson_models("pretrained")
    assert auto.precision["face"] == "int8"  # 8-bit activations with AVX-512 VNNI, 7-bit ones on other x86 CPUs
    assert auto.models["face"] is not None
    fp32 = load_lesson_models("pretrained", precision="fp32")
    assert fp32.precision["face"] == "float32"
    clips = (_faces(5 * 8, 3).numpy()[:, 0] * 255).astype(np.uint8).reshape(8, 5, 48, 48)  # 8 one-second clips
    pa, pf = auto.face(clips), fp32.face(clips)
    assert np.allclose(pa.sum(1), 1.0, atol=1e-5)
    assert np.abs(pa - pf).max() < 0.1  # the same model, rounded
    # a folder with the face weights but no int8 copy: auto keeps the float model, int8 says why it cannot
    shutil.copy(PRETRAINED_DIR / "face.safetensors", tmp_path / "face.safetensors")
    assert LateFusionLessonModels(folder=tmp_path).precision["face"] != "int8"
    with pytest.raises(ModelError, match="no int8 copy of the face model"):
        LateFusionLessonModels(folder=tmp_path, precision="int8")
    with pytest.raises(ModelError, match="precision must be"):
        LateFusionLessonModels(precision="int4")


@pytest.mark.realdata
@pytest.mark.slow
def test_int8_reads_real_faces_as_well_as_fp32(shared_data):
    """FER2013 validation faces (600, seed 0) at 48 and 20 px: the int8 copy this CPU uses within 2 points of fp32, and
    mostly the same answers (measured on all 3,589: 8-bit copy on a VNNI CPU 67.0 / 67.0 % at 48 px, 58.0 / 58.3 % at
    20 px, 97 % / 95 % agreement; 7-bit copy on an AVX2 CPU 67.7 / 67.2 % and 59.3 / 60.0 %, 98 % / 95 %)."""
    import cv2

    from emolab import pretrained
    from emolab.data import read_corpus
    from emolab.models.blocks import fold_batchnorm
    from emolab.preprocessing.inputs import load_face_images
    from emolab.registry import PRETRAINED_DIR
    from emolab.taxonomy import EMOTIONS

    m = read_corpus("fer2013", shared_data / "fer2013")
    m = m[m["split"] == "validation"].sample(600, random_state=0)
    images = load_face_images(m, progress=False)
    y = np.array([EMOTIONS.index(v) for v in m["label"].astype(str)])
    model, meta = pretrained("face")
    q = int8_copy(model, meta["sha256"], int8_file(PRETRAINED_DIR, "face"))
    assert q is not None
    fp32 = fold_batchnorm(model).eval()
    for px in (48, 20):
        x = images if px == 48 else np.stack([cv2.resize(cv2.resize(i, (px, px), interpolation=cv2.INTER_AREA), (48, 48))
                                              for i in images])
        t = torch.from_numpy(x.astype(np.float32) / 255.0)[:, None]
        with torch.inference_mode():
            a, b = fp32(t).argmax(1).numpy(), q(t).argmax(1).numpy()
        assert abs(np.mean(a == y) - np.mean(b == y)) <= 0.02, (px, np.mean(a == y), np.mean(b == y))
        assert np.mean(a == b) >= 0.92, (px, np.mean(a == b))


def test_speech_cnn_int8_keeps_its_input_normalisation_in_float():
    """The speech CNN's MFCC maps are not in [0, 1]: its input batch-norm runs in float before the input is
    quantized, in the traced and the trace-free copy alike; set-ups int8 does not cover are refused."""
    from emolab.models.zoo import SpeechCNN, SpeechCNNConfig

    torch.manual_seed(1)
    model = SpeechCNN(SpeechCNNConfig(widths=(8, 16), n_features=20)).eval()
    with torch.no_grad():
        model.norm.running_mean.fill_(5.0)
        model.norm.running_var.fill_(900.0)
    x = torch.randn(48, 1, 20, 80) * 30 + 5
    obs = calibrate_int8(model, [x[:32]])
    traced = quantize_int8(model, obs)
    built = Int8ConvNet(model, int8_state(traced)).eval()
    with torch.inference_mode():
        assert torch.equal(traced(x[32:]), built(x[32:]))
    assert built.norm is not None
    for kw in ({"pooling": "attention"}, {"cmvn": "meanvar"}):
        with pytest.raises(ModelError, match="mean pooling and no CMVN"):
            calibrate_int8(SpeechCNN(SpeechCNNConfig(widths=(8,), n_features=20, **kw)).eval(), [x[:4]])
