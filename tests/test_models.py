"""Model zoo: shapes, overfitting a tiny batch, inflation, fusion with missing modalities, persistence."""

import json

import pytest
import torch

from emolab.errors import ModelError
from emolab.models import (MODEL_KINDS, CNNLSTM, ClassroomCNN, Face3DCNN, FaceCNN2D, FusedConfig, FusedModel, SpeechCNN, TextLSTM,
                           build_model, load_model, read_metadata, save_model)
from emolab.models.zoo import CNNLSTMConfig, Face3DConfig, FaceCNNConfig, SpeechCNNConfig, TextLSTMConfig

torch.set_num_threads(2)

def smooth(b, *shape):
    """Random low-frequency images: distinct structure per sample (i.i.d. pixel noise all pools to the same mean)."""
    coarse = torch.rand(b, 1, *shape[:-2], 6, 6)
    if coarse.dim() == 5:
        return torch.nn.functional.interpolate(coarse, size=shape, mode="trilinear", align_corners=False)
    return torch.nn.functional.interpolate(coarse, size=shape, mode="bilinear", align_corners=False)


SMALL = {
    "face2d": (lambda: FaceCNN2D(FaceCNNConfig(widths=(8, 16), convs_per_block=1, dropout=0.0)), lambda b: smooth(b, 48, 48)),
    "classroom_cnn": (lambda: ClassroomCNN(), lambda b: smooth(b, 48, 48)),
    "cnn_lstm": (lambda: CNNLSTM(CNNLSTMConfig(cnn=FaceCNNConfig(widths=(8, 16), convs_per_block=1), hidden=16, dropout=0.0)), lambda b: smooth(b, 4, 32, 32)),
    "face3d": (lambda: Face3DCNN(Face3DConfig(widths=(4, 8), frames=4, size=32, dropout=0.0)), lambda b: smooth(b, 4, 32, 32)),
    "speech": (lambda: SpeechCNN(SpeechCNNConfig(widths=(8, 16), dropout=0.0)), lambda b: torch.randn(b, 1, 60, 50)),
    "text": (lambda: TextLSTM(TextLSTMConfig(vocab_size=50, embedding=16, hidden=16, dropout=0.0)), lambda b: torch.randint(1, 50, (b, 12))),
}


@pytest.mark.parametrize("kind", list(SMALL))
def test_shapes_and_overfit_a_tiny_batch(kind):
    torch.manual_seed(0)
    make, data = SMALL[kind]
    model = make()
    x, y = data(8), torch.arange(8) % 7
    assert model(x).shape == (8, 7) and model.embed(x).shape == (8, model.embed_dim)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() == 1.0, f"{kind} cannot fit 8 samples (loss {loss.item():.3f})"


@pytest.mark.parametrize("kind", ["cnn_lstm", "text", "text_packed"])
def test_recurrent_models_run_under_cpu_bf16_autocast_on_any_cpu(kind):
    """An AVX2-only CPU has no bf16 LSTM kernel (oneDNN: "could not create a primitive descriptor"); the recurrent
    layers then run in float32 (emolab.device.run_rnn) instead of failing, and answer as in float32."""
    torch.manual_seed(0)
    make, data = SMALL["text" if kind == "text_packed" else kind]
    model = make().eval()
    if kind == "text_packed":
        model = TextLSTM(TextLSTMConfig(vocab_size=50, embedding=16, hidden=16, dropout=0.0, packed=True)).eval()
    x = data(4)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x).float()
    assert low.shape == ref.shape and torch.isfinite(low).all()
    assert (low - ref).abs().max() < 0.1


def test_inflated_3d_model_agrees_with_2d_on_still_clips():
    torch.manual_seed(1)
    m2 = FaceCNN2D(FaceCNNConfig(widths=(8, 16, 32), convs_per_block=2))
    with torch.no_grad():  # non-trivial batch-norm statistics
        for mod in m2.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.05)
                mod.running_var.uniform_(0.5, 2.0)
    m2.eval()
    m3 = Face3DCNN.inflate(m2, frames=6).eval()
    x = torch.rand(3, 1, 48, 48)
    clip = x.unsqueeze(2).repeat(1, 1, 6, 1, 1)
    torch.testing.assert_close(m3(clip), m2(x), rtol=1e-4, atol=1e-5)
    moving = clip.clone()
    moving[:, :, 3:] = torch.rand_like(moving[:, :, 3:])
    # and it does look at time: changing half the frames changes the features
    assert not torch.allclose(m3.embed(moving), m3.embed(clip), rtol=1e-2, atol=0)


def test_face_ensemble_averages_its_members_probabilities(tmp_path):
    """FaceCNN2D.ensemble: softmax of its output is the members' mean probability; it saves in float16 and loads
    back with the same layout; single CNNs of another layout, or an ensemble, cannot join; it cannot be inflated, and
    warm starts take its first member."""
    from emolab.errors import EmolabError
    from emolab.recipes.warm_start import face_start

    torch.manual_seed(2)
    a, b = (FaceCNN2D(FaceCNNConfig(widths=(8, 16), convs_per_block=1)).eval() for _ in range(2))
    ens = FaceCNN2D.ensemble([a, b], store_half=True).eval()
    x = torch.rand(5, 1, 48, 48)
    with torch.no_grad():
        mean = (a(x).softmax(1) + b(x).softmax(1)) / 2
        torch.testing.assert_close(ens(x).softmax(1), mean, rtol=1e-5, atol=1e-6)
        assert ens.embed(x).shape == (5, 32)
    save_model(tmp_path / "ens.safetensors", ens)
    back, meta = load_model(tmp_path / "ens.safetensors")
    assert meta["config"]["members"] == 2 and meta["config"]["store_half"]
    with torch.no_grad():  # float16 storage: the same answers to float16 rounding
        torch.testing.assert_close(back(x).softmax(1), mean, rtol=0, atol=2e-3)
    with pytest.raises(EmolabError, match="share"):
        FaceCNN2D.ensemble([a, FaceCNN2D(FaceCNNConfig(widths=(8, 24), convs_per_block=1))])
    with pytest.raises(EmolabError, match="at least two"):
        FaceCNN2D.ensemble([ens, a])
    with pytest.raises(EmolabError, match="cannot be inflated"):
        Face3DCNN.inflate(ens)
    m3 = Face3DCNN(Face3DConfig(widths=(8, 16), convs_per_block=1, frames=4, size=48)).eval()
    face_start(m3, tmp_path / "ens.safetensors")
    with torch.no_grad():
        torch.testing.assert_close(m3(x.unsqueeze(2).repeat(1, 1, 4, 1, 1)), back.members[0](x), rtol=1e-4, atol=1e-5)
    single = FaceCNN2D(FaceCNNConfig(widths=(8, 16), convs_per_block=1))
    face_start(single, tmp_path / "ens.safetensors")
    assert all(torch.equal(p, q) for p, q in zip(single.state_dict().values(), back.members[0].state_dict().values()))


def _fused(mode="feature", weights=None, modalities=("face", "speech", "text")):
    return FusedModel(FusedConfig(mode=mode, weights=weights, modalities=modalities, hidden=16,
                                  face=Face3DConfig(widths=(4, 8), frames=4, size=32), speech=SpeechCNNConfig(widths=(8, 16)),
                                  text=TextLSTMConfig(vocab_size=50, embedding=16, hidden=16)))


def _batch(b=4):
    return {"face": torch.rand(b, 1, 4, 32, 32), "speech": torch.randn(b, 1, 60, 40), "text": torch.randint(1, 50, (b, 10))}


@pytest.mark.parametrize("mode", ["feature", "late"])
def test_fused_model_tolerates_missing_modalities(mode):
    torch.manual_seed(0)
    model = _fused(mode).eval()
    batch = _batch()
    batch["mask"] = torch.tensor([[1, 1, 1], [1, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    out = model(batch)
    assert out.shape == (4, 7) and torch.isfinite(out).all()
    p = torch.softmax(out, 1)
    torch.testing.assert_close(p[3], torch.full((7,), 1 / 7))  # nothing present: uniform
    # a masked modality's content has no influence
    changed = dict(batch, speech=torch.randn(4, 1, 60, 40) * 10)
    torch.testing.assert_close(model(changed)[1:], out[1:])
    # a modality absent from the batch entirely is the same as masked out
    only_face = {"face": batch["face"][1:2]}
    torch.testing.assert_close(model(only_face), out[1:2])
    c = model.contributions(batch)
    assert c.shape == (4, 3) and (c[1, 1:] == 0).all() and (c[3] == 0).all()


def test_late_fusion_weights_given_and_learned():
    torch.manual_seed(0)
    fixed = _fused("late", weights=(0.6, 0.3, 0.1)).eval()
    torch.testing.assert_close(fixed.modality_weights(), torch.tensor([0.6, 0.3, 0.1]))
    assert not fixed.log_weights.requires_grad
    b = _batch(2)
    logits = fixed.branch_logits(b)
    expected = sum(w * torch.softmax(logits[m], 1) for w, m in zip((0.6, 0.3, 0.1), ("face", "speech", "text")))
    torch.testing.assert_close(torch.softmax(fixed(b), 1), expected, rtol=1e-4, atol=1e-6)
    learned = _fused("late")
    assert learned.log_weights.requires_grad
    with pytest.raises(ValueError):
        _fused("late", weights=(1.0, 2.0))


def test_save_and_load_round_trip_without_pickle(tmp_path):
    torch.manual_seed(0)
    model = _fused().eval()
    path = save_model(tmp_path / "m.safetensors", model, preprocessing={"vocabulary": {"tokens": ["a"]}}, metrics={"accuracy": 0.5})
    again, meta = load_model(path)
    b = _batch(2)
    torch.testing.assert_close(again(b), model(b))
    assert meta["kind"] == "fused" and meta["metrics"]["accuracy"] == 0.5 and meta["labels"][0] == "anger"
    assert read_metadata(path)["config"]["hidden"] == 16
    assert set(MODEL_KINDS) >= {"face2d", "face3d", "speech", "text", "fused", "cnn_lstm", "classroom_cnn"}
    assert build_model("face3d", size=48).config.size == 48


def test_bad_model_files_are_clear_errors(tmp_path):
    from safetensors.torch import save_file

    good = save_model(tmp_path / "good.safetensors", SMALL["text"][0]())
    raw = bytearray(good.read_bytes())
    raw[-10] ^= 0xFF  # flip a weight byte
    (tmp_path / "tampered.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="checksum"):
        load_model(tmp_path / "tampered.safetensors")
    (tmp_path / "cut.safetensors").write_bytes(good.read_bytes()[:200])
    with pytest.raises(ModelError):
        load_model(tmp_path / "cut.safetensors")
    meta = read_metadata(good)
    meta["format_version"] = 99
    save_file({"x": torch.zeros(1)}, str(tmp_path / "future.safetensors"), metadata={"emolab": json.dumps(meta)})
    with pytest.raises(ModelError, match="format 99 is not supported"):
        load_model(tmp_path / "future.safetensors")
    save_file({"x": torch.zeros(1)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ModelError, match="not an emolab model"):
        load_model(tmp_path / "foreign.safetensors")
    (tmp_path / "pickle.safetensors").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelError, match="not a readable model file"):
        load_model(tmp_path / "pickle.safetensors")
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.safetensors")


def test_modality_dropout_keeps_one_present_modality():
    from emolab.models.fusion import _drop_modalities

    torch.manual_seed(0)
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [0, 1, 1], [0, 0, 0]] * 250, dtype=torch.bool)
    out = _drop_modalities(mask, 0.9)
    assert not (out & ~mask).any()  # never adds a missing modality
    assert (out.any(1) == mask.any(1)).all()  # every sample that had one keeps one
    assert 0.05 < (out.sum() / mask.sum()).item() < 0.6  # and many are dropped


@pytest.mark.parametrize("kind", list(SMALL))
def test_folding_batchnorm_keeps_the_function_and_leaves_the_model_alone(kind):
    from emolab.models.blocks import fold_batchnorm

    torch.manual_seed(1)
    make, data = SMALL[kind]
    model = make()
    for m in model.modules():  # non-trivial statistics, as after training
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    keys = set(model.state_dict())
    x = data(6)
    folded = fold_batchnorm(model)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-4, rtol=1e-4)
    assert set(model.state_dict()) == keys  # the original is untouched
    n_bn = lambda m: sum(isinstance(k, torch.nn.modules.batchnorm._BatchNorm) for k in m.modules())
    if kind in ("face2d", "face3d", "speech", "cnn_lstm"):  # (the classroom CNN has no batch-norm, the LSTM no convolution)
        assert n_bn(folded) < n_bn(model)  # conv-following batch-norms are gone


@pytest.mark.parametrize("kind", ["face2d", "face3d", "cnn_lstm", "speech"])
def test_pool_before_relu_is_bit_identical_and_moves_the_relus(kind):
    from emolab.models.blocks import fold_batchnorm, pool_before_relu

    torch.manual_seed(2)
    make, data = SMALL[kind]
    model = make().eval()
    x = data(5)
    folded = fold_batchnorm(model)
    swapped = pool_before_relu(fold_batchnorm(model))
    with torch.no_grad():
        assert torch.equal(swapped(x), folded(x))  # exactly, not to a tolerance
    order = lambda m: [type(k).__name__ for k in m.modules() if not list(k.children())]  # every layer, in order
    before, after = order(folded), order(swapped)
    assert sorted(before) == sorted(after)  # nothing added or lost
    pairs = lambda names: sum(a == "ReLU" and b.startswith("MaxPool") for a, b in zip(names, names[1:]))
    assert pairs(before) > 0 and pairs(after) == 0  # every ReLU -> pool pair was swapped


@pytest.mark.parametrize("kind", ["face2d", "face3d", "cnn_lstm", "speech"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fast_max_pool_is_bit_identical(kind, dtype):
    from emolab.models.blocks import MaxPool2x2, fast_max_pool, fold_batchnorm

    torch.manual_seed(3)
    make, data = SMALL[kind]
    model = make().eval()
    x = data(4)
    folded = fold_batchnorm(model).to(dtype)
    fast = fast_max_pool(fold_batchnorm(model)).to(dtype)
    x = x.to(dtype) if x.is_floating_point() else x
    with torch.no_grad():
        assert torch.equal(fast(x), folded(x))  # exactly, not to a tolerance
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.MaxPool3d)) for m in fast.modules())
    assert any(isinstance(m, MaxPool2x2) for m in fast.modules())


def test_max_pool_2x2_matches_torch_on_odd_sizes_and_nan():
    from emolab.models.blocks import MaxPool2x2

    x = torch.randn(2, 3, 7, 9)
    x[0, 1, 2, 3] = float("nan")
    assert torch.equal(torch.nan_to_num(MaxPool2x2()(x), 99.0), torch.nan_to_num(torch.nn.MaxPool2d(2)(x), 99.0))
    assert torch.isnan(MaxPool2x2()(x)[0, 1, 1, 1])
    x3 = torch.randn(1, 2, 3, 5, 6).contiguous(memory_format=torch.channels_last_3d)
    assert torch.equal(MaxPool2x2()(x3), torch.nn.MaxPool3d((1, 2, 2))(x3))


def test_fast_max_pool_leaves_other_pools_alone():
    from emolab.models.blocks import fast_max_pool

    pools = [torch.nn.MaxPool2d(3, stride=2), torch.nn.MaxPool2d(2, stride=1), torch.nn.MaxPool2d(2, padding=1),
             torch.nn.MaxPool2d(2, ceil_mode=True), torch.nn.MaxPool3d(2), torch.nn.MaxPool2d(2, dilation=2)]
    seq = fast_max_pool(torch.nn.Sequential(*pools))
    assert [type(m) for m in seq] == [type(p) for p in pools]


def test_pool_before_relu_leaves_padded_pools_alone():
    from emolab.models.blocks import pool_before_relu

    seq = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(3, stride=1, padding=1))  # padded pools are left as they are (only the unpadded layout is used and tested)
    assert isinstance(pool_before_relu(seq)[0], torch.nn.ReLU)
    seq = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    assert isinstance(pool_before_relu(seq)[1], torch.nn.MaxPool2d)
