"""Low-resolution face augmentation, mixup and face2d -> face2d warm start, on generated images."""

import cv2
import numpy as np
import pytest
import torch

from emolab.augmentation import AugmentedFaces
from emolab.errors import EmolabError


def _faces(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 48, 48)) * 255).astype(np.uint8), rng.integers(0, 7, n)


def test_lowres_draw_is_area_down_and_linear_up():
    img, y = _faces(1)
    ds = AugmentedFaces(img, y, lowres=1.0, lowres_px=(12, 12), blur_p=0.0, jpeg_p=0.0)
    want = cv2.resize(cv2.resize(img[0], (12, 12), interpolation=cv2.INTER_AREA), (48, 48), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(ds.degrade(img[0]), want)
    full = AugmentedFaces(img, y, lowres=1.0, lowres_px=(48, 48), blur_p=0.0, jpeg_p=0.0)
    np.testing.assert_array_equal(full.degrade(img[0]), img[0])  # a 48-px draw without blur or JPEG changes nothing


def test_lowres_removes_detail_and_keeps_shape_and_range():
    img, y = _faces(64)
    plain = AugmentedFaces(img, y, seed=3)
    small = AugmentedFaces(img, y, seed=3, lowres=1.0, lowres_px=(12, 20))
    xs = torch.stack([small[i][0] for i in range(64)])
    xp = torch.stack([plain[i][0] for i in range(64)])
    assert xs.shape == (64, 1, 48, 48) and xs.dtype == torch.float32 and 0 <= xs.min() and xs.max() <= 1
    lap = lambda x: float(np.mean([cv2.Laplacian(v[0].numpy(), cv2.CV_32F).var() for v in x]))  # noqa: E731
    assert lap(xs) < 0.2 * lap(xp)


def test_lowres_off_leaves_the_draws_unchanged():
    img, y = _faces(16)
    a, b = AugmentedFaces(img, y, seed=5), AugmentedFaces(img, y, seed=5, lowres=0.0)
    for i in range(16):
        torch.testing.assert_close(a[i][0], b[i][0])


def test_lowres_is_a_probability():
    img, y = _faces(2)
    with pytest.raises(ValueError):
        AugmentedFaces(img, y, lowres=1.5)


def test_face2d_init_copies_the_weights_and_refuses_another_layout(tmp_path):
    from emolab.models import build_model, save_model
    from emolab.recipes.warm_start import face_start

    torch.manual_seed(0)
    src = build_model("face2d", widths=(8, 16))
    save_model(tmp_path / "a.safetensors", src)
    torch.manual_seed(1)
    dst = build_model("face2d", widths=(8, 16))
    face_start(dst, tmp_path / "a.safetensors")
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)
    with pytest.raises(EmolabError, match="layout"):
        face_start(build_model("face2d", widths=(8, 32)), tmp_path / "a.safetensors")


def test_mixup_trains():
    from emolab.training import TrainConfig, Trainer

    img, y = _faces(48)
    from emolab.models import build_model

    torch.manual_seed(0)
    model = build_model("face2d", widths=(4, 8))
    hist = Trainer(model, TrainConfig(epochs=2, batch_size=16, mixup=0.2, patience=0, precision="fp32"), progress=False).fit(
        AugmentedFaces(img, y, lowres=0.5), AugmentedFaces(img, y, augment=False))
    assert len(hist) == 2 and np.isfinite(hist.train_loss).all()


def _teacher_of(cls: int, n_classes: int = 7):
    """A tiny face CNN that answers ``cls`` for every image (its head's bias)."""
    from emolab.models import build_model

    t = build_model("face2d", widths=(4, 8), n_classes=n_classes)
    with torch.no_grad():
        t.head[1].weight.zero_()
        t.head[1].bias.fill_(-3.0)
        t.head[1].bias[cls] = 3.0
    return t


@pytest.mark.parametrize("distill", [0.0, 1.0])
def test_distillation_pulls_the_student_to_its_teachers(distill):
    """With distill 1 the student learns the teachers' (averaged) answer, not the labels; with 0 it ignores them.
    The teachers are never trained."""
    from emolab.models import build_model
    from emolab.training import TrainConfig, Trainer

    img, _ = _faces(64)
    y = np.zeros(64, np.int64)  # every label says anger (0); both teachers say fear (2) and fear/happiness (2, 3)
    teachers = [_teacher_of(2), _teacher_of(2)]
    with torch.no_grad():
        teachers[1].head[1].bias[3] = 2.9
    before = [{k: v.clone() for k, v in t.state_dict().items()} for t in teachers]
    torch.manual_seed(0)
    model = build_model("face2d", widths=(4, 8))
    cfg = TrainConfig(epochs=12, batch_size=16, lr=1e-2, patience=0, precision="fp32", class_weights=False, distill=distill,
                      distill_temperature=2.0)
    trainer = Trainer(model, cfg, progress=False, teacher=teachers if distill else None)
    trainer.fit(AugmentedFaces(img, y, augment=False))
    proba = trainer.predict_proba(AugmentedFaces(img, y, augment=False))
    assert (proba.argmax(1) == (2 if distill else 0)).mean() > 0.9
    if distill:  # the second teacher's near-tie is learned too: happiness well above the other five
        assert proba[:, 3].mean() > 0.1 > np.delete(proba, [2, 3], axis=1).mean(0).max()
    for t, b in zip(teachers, before):
        for k, v in t.state_dict().items():
            torch.testing.assert_close(v, b[k])


def test_distillation_settings_are_checked():
    from emolab.errors import EmolabError, ModelError
    from emolab.models import build_model
    from emolab.training import TrainConfig, Trainer

    model = build_model("face2d", widths=(4, 8))
    with pytest.raises(EmolabError, match="needs a teacher"):
        Trainer(model, TrainConfig(distill=0.5))
    with pytest.raises(EmolabError, match="out of range"):
        Trainer(model, TrainConfig(distill=1.5), teacher=_teacher_of(0))
    img, y = _faces(8)
    with pytest.raises(ModelError, match="classes"):
        Trainer(model, TrainConfig(epochs=1, distill=0.5, precision="fp32"), progress=False,
                teacher=_teacher_of(0, n_classes=8)).fit(AugmentedFaces(img, y))


def test_a_teacher_of_another_kind_fails_before_the_corpus_is_read(tmp_path):
    from emolab.errors import EmolabError
    from emolab.recipes import train_recipe

    with pytest.raises(EmolabError, match="teacher speech is a speech model"):
        train_recipe("face2d", "fer2013", tmp_path / "no_corpus_here", tmp_path / "out", progress=False, teacher="speech")
    with pytest.raises(EmolabError, match="no model file"):
        train_recipe("face2d", "fer2013", tmp_path / "no_corpus_here", tmp_path / "out2", progress=False, teacher="no_such_model")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out2").exists()


@pytest.mark.parametrize("setting", [{"lowres": 2.0}, {"lowres": -0.1}, {"mixup": -1.0}, {"label_smoothing": 1.0},
                                     {"distill": 1.5}, {"distill_temperature": 0.0}])
def test_training_settings_out_of_range_fail_before_the_corpus_is_read(tmp_path, setting):
    from emolab.errors import EmolabError
    from emolab.recipes import train_recipe

    with pytest.raises(EmolabError, match="out of range"):
        train_recipe("face2d", "fer2013", tmp_path / "no_corpus_here", tmp_path / "out", progress=False, **setting)
    assert not (tmp_path / "out").exists()  # nothing written


def test_ensemble_benchmark_averages_the_probabilities_of_every_subset():
    """benchmarks/bench_face_ensemble.py: a subset's accuracy is that of its members' mean probability, so two models
    that err on different faces can beat both (the reason a distillation teacher needs independent members)."""
    from tests.conftest import import_benchmark

    bench = import_benchmark("bench_face_ensemble")
    SIZES, subset_table = bench.SIZES, bench.subset_table
    y = np.array([0, 0, 1, 1])
    a = np.array([[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [0.2, 0.8]])  # wrong on face 1
    b = np.array([[0.6, 0.4], [0.9, 0.1], [0.52, 0.48], [0.1, 0.9]])  # wrong on face 2
    rows = subset_table({"a": {s: a for s in SIZES}, "b": {s: b for s in SIZES}}, y)
    assert [r["models"] for r in rows] == ["a", "b", "a + b"]
    assert rows[0]["48px"] == rows[1]["12px"] == 0.75
    assert rows[2]["48px"] == 1.0  # mean probability of the true class: 0.75, 0.65, 0.515, 0.85


def test_make_face_ensemble_writes_one_model_that_names_its_members(tmp_path):
    """benchmarks/make_face_ensemble.py: two trained single CNNs become one file whose output averages their
    probabilities, stored in float16 with each member's name and weights digest; a model of another kind is refused."""
    import torch

    from emolab.models import FaceCNN2D, FaceCNNConfig, SpeechCNN, load_model, save_model
    from tests.conftest import import_benchmark

    main = import_benchmark("make_face_ensemble").main
    torch.manual_seed(0)
    paths = []
    for name in ("a", "b"):
        paths.append(save_model(tmp_path / f"{name}.safetensors", FaceCNN2D(FaceCNNConfig(widths=(8, 16), convs_per_block=1)),
                                preprocessing={"input": "gray48"}, notes=f"trained with: test {name}"))
    out = tmp_path / "ens.safetensors"
    assert main([str(p) for p in paths] + ["--names", "A", "B", "--out", str(out), "--half"]) == 0
    ens, meta = load_model(out)
    assert meta["config"]["members"] == 2 and meta["config"]["store_half"]
    assert [m["name"] for m in meta["preprocessing"]["members"]] == ["A", "B"]
    assert meta["preprocessing"]["members"][1]["sha256"] == load_model(paths[1])[1]["sha256"]
    assert "test a" in meta["notes"] and "test b" in meta["notes"]
    x = torch.rand(3, 1, 48, 48)
    with torch.no_grad():
        mean = sum(load_model(p)[0](x).softmax(1) for p in paths) / 2
        torch.testing.assert_close(ens(x).softmax(1), mean, rtol=0, atol=2e-3)
    speech = save_model(tmp_path / "s.safetensors", SpeechCNN())
    with pytest.raises(SystemExit, match="face2d"):
        main([str(paths[0]), str(speech), "--out", str(tmp_path / "bad.safetensors")])
    with pytest.raises(SystemExit, match="names"):
        main([str(paths[0]), str(paths[1]), "--names", "A", "A", "--out", str(tmp_path / "bad.safetensors")])
    assert not (tmp_path / "bad.safetensors").exists()
