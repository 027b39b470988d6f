import json
import subprocess
import sys

import numpy as np
import pytest

import emolab
from emolab import taxonomy
from emolab.atomic import atomic_open, write_text
from emolab.config import Config
from emolab.errors import DataError, EmolabError, OutputError


def run_cli(*args, check=False):
    return subprocess.run([sys.executable, "-m", "emolab", *args], capture_output=True, text=True, check=check)


def test_import_is_headless_and_light():
    code = ("import sys, emolab, emolab.data, emolab.synth, emolab.cli; "
            "bad = [m for m in ('ipywidgets', 'IPython', 'jupyter_client', 'voila', 'notebook', 'torch', 'mediapipe', 'flwr') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing emolab pulled in {out}"


def test_canonical_labels_are_seven_and_sorted():
    assert taxonomy.EMOTIONS == tuple(sorted(taxonomy.EMOTIONS))
    assert len(taxonomy.EMOTIONS) == 7
    assert set(taxonomy.VALENCE) == set(taxonomy.EMOTIONS)


def test_every_known_label_maps_to_a_canonical_one():
    from emolab.data.corpora import fer2013, ravdess, speech, video

    corpus_labels = (list(ravdess.EMOTION_CODES.values()) + list(fer2013.CSV_CODES) + list(speech.TESS_EMOTIONS.values())
                     + list(speech.CREMAD_EMOTIONS.values()) + list(speech.EMODB_EMOTIONS.values())
                     + list(video.ENTERFACE_CODES.values()) + list(video.CKPLUS_CODES.values())
                     + list(taxonomy.GOEMOTIONS_LABELS) + ["joy", "mad", "scared", "contempt", "boredom", "calm", "Pleasant_Surprise"])
    for raw in corpus_labels:
        assert taxonomy.canonical_label(raw) in taxonomy.EMOTIONS, raw
    for raw, emo in taxonomy.LABEL_MAP.items():
        assert emo in taxonomy.EMOTIONS, raw


@pytest.mark.parametrize("raw,expected", [("Angry", "anger"), ("JOY", "happiness"), ("calm", "neutral"), ("contempt", "disgust"),
                                          ("pleasant_surprise", "surprise"), ("scared", "fear"), ("grief", "sadness")])
def test_label_mapping_examples(raw, expected):
    assert taxonomy.canonical_label(raw) == expected


def test_unknown_label_raises_with_the_label_named():
    with pytest.raises(taxonomy.UnknownLabelError, match="'flabbergasted'"):
        taxonomy.canonical_label("flabbergasted")
    assert taxonomy.canonical_label("flabbergasted", extra={"flabbergasted": "surprise"}) == "surprise"


def test_valence_and_expected_valence():
    assert taxonomy.valence_of("joy") == "positive"
    assert taxonomy.valence_of("sad") == "negative"
    p = np.zeros((2, 7))
    p[0, taxonomy.EMOTIONS.index("happiness")] = 1
    p[1, taxonomy.EMOTIONS.index("anger")] = 0.5
    p[1, taxonomy.EMOTIONS.index("neutral")] = 0.5
    np.testing.assert_allclose(taxonomy.expected_valence(p), [1.0, -0.5])
    np.testing.assert_array_equal(taxonomy.label_to_index(["anger", "surprise"]), [0, 6])


def test_taxonomy_table_is_tidy():
    t = taxonomy.taxonomy_table()
    assert list(t.columns) == ["raw", "emotion", "valence"]
    assert t["raw"].is_unique


def test_config_round_trips_json_and_yaml(tmp_path):
    from emolab.synth import LessonConfig

    cfg = LessonConfig(n_students=3, seconds=12.5, layout="classroom")
    assert LessonConfig.from_dict(json.loads(cfg.to_json())) == cfg
    cfg.to_yaml(tmp_path / "c.yaml")
    assert LessonConfig.load(tmp_path / "c.yaml") == cfg
    cfg.to_json(tmp_path / "c.json")
    assert LessonConfig.load(tmp_path / "c.json") == cfg
    with pytest.raises(DataError, match="unknown setting"):
        LessonConfig.from_dict({"n_studens": 3})


def test_config_restores_nested_and_tuples():
    from dataclasses import dataclass, field

    @dataclass
    class Inner(Config):
        sizes: tuple[int, ...] = (1, 2)

    @dataclass
    class Outer(Config):
        inner: Inner = field(default_factory=Inner)
        name: str = "x"

    o = Outer(Inner((3, 4, 5)), "y")
    back = Outer.from_dict(o.to_dict())
    assert back == o and isinstance(back.inner, Inner) and back.inner.sizes == (3, 4, 5)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_model_files_are_readable_by_others_as_the_umask_allows(tmp_path):
    """safetensors writes a private (0600) file over the temporary one; the finished file gets the usual mode."""
    import os

    from emolab.models.io import save_model
    from emolab.models.zoo import TextLSTM, TextLSTMConfig

    old = os.umask(0o022)
    try:
        path = save_model(tmp_path / "m.safetensors", TextLSTM(TextLSTMConfig(vocab_size=20, embedding=4, hidden=4)))
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_atomic_write_into_impossible_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as err:
        write_text(blocker / "sub" / "out.txt", "x")
    assert str(blocker) in str(err.value)


def test_device_is_cpu_here_and_overridable(monkeypatch):
    from emolab.device import choose_device, seed_everything

    torch = pytest.importorskip("torch")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert choose_device() in (expected, "mps")
    monkeypatch.setenv("EMOLAB_DEVICE", "cpu")
    assert choose_device() == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(EmolabError, match="no CUDA"):
            choose_device("cuda")
    a = seed_everything(5).random(3)
    b = seed_everything(5).random(3)
    np.testing.assert_array_equal(a, b)


def test_lessons_and_loaded_models_go_to_the_chosen_device(monkeypatch, tmp_path):
    """A lesson's device is "auto" (CUDA when present, as emolab picks it everywhere), resolved before the models
    load; ``load_model`` puts the whole model on its ``map_location`` (weights copied into a model built on the CPU
    stayed there, so on a GPU the lesson failed: found by ``benchmarks/bench_cuda.py``)."""
    import torch

    from emolab.models import build_model, load_model, save_model
    from emolab.timeline import AnalysisConfig

    assert AnalysisConfig().device == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert AnalysisConfig().on_device().device in (expected, "mps") and AnalysisConfig(device="cpu").on_device().device == "cpu"
    monkeypatch.setenv("EMOLAB_DEVICE", "cpu")
    assert AnalysisConfig().on_device().device == "cpu"
    moved = []
    real_to = torch.nn.Module.to
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, *a, **k: (moved.append(a[0] if a else k.get("device")), real_to(self, *a, **k))[1])
    save_model(tmp_path / "m.safetensors", build_model("speech", widths=[4, 8]))
    model, _ = load_model(tmp_path / "m.safetensors", map_location="cpu")
    assert "cpu" in moved and all(p.device.type == "cpu" for p in model.parameters())


def test_cli_help_and_version():
    res = run_cli("--help")
    assert res.returncode == 0
    for cmd in ("info", "data", "synth", "audit"):
        assert cmd in res.stdout
    assert emolab.__version__ in run_cli("--version").stdout


def test_cli_info_reports_offline_detectors():
    res = run_cli("info", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["device"] in ("cpu", "cuda", "mps")
    assert report["packages"]["numpy"]
    assert report["detectors"]["mediapipe_face_detection_full"] is True
    assert report["detectors"]["mediapipe_face_mesh"] is True
    assert report["detectors"]["yunet"] is True  # the default face detector ships in the package
    assert "device:" in run_cli("info").stdout


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path):
    res = run_cli("data", "summary", "ravdess", str(tmp_path / "nope"))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert str(tmp_path / "nope") in res.stderr
