"""The one registry of names: model kinds, corpora, bundled models, the pretrained folder."""

import subprocess
import sys

from emolab import registry


def test_registry_imports_without_torch():
    code = ("import sys, emolab.registry; "
            "print(','.join(m for m in ('torch', 'pandas', 'ipywidgets', 'mediapipe', 'flwr') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing emolab.registry pulled in {out}"


def test_model_zoo_builds_exactly_the_registered_kinds():
    from emolab.models import MODEL_KINDS

    assert list(MODEL_KINDS) == list(registry.MODEL_KINDS)
    assert all(cls.kind == kind for kind, (cls, _) in MODEL_KINDS.items())
    assert set(registry.FRAME_FACE_KINDS) < {k for k, m in registry.MODEL_KINDS.items() if m == "face"}
    assert set(registry.MODEL_KINDS.values()) <= {"face", "speech", "text", "fused"}


def test_corpus_readers_are_the_registered_corpora():
    from emolab.data import READERS

    assert list(READERS) == list(registry.CORPORA)
    assert set(registry.TRAINABLE_CORPORA) == {"meld", "ravdess", "ckplus", "fer2013", "tess", "cremad", "emodb", "goemotions"}


def test_bundled_models_ship_with_a_card_and_nothing_unregistered():
    from emolab.bundled import available, model_card
    from emolab.info import bundled_models

    shipped = set(available())
    assert shipped <= set(registry.BUNDLED_MODELS), f"unregistered bundled models: {shipped - set(registry.BUNDLED_MODELS)}"
    for name in shipped:
        assert model_card(name).startswith("# Model card"), name
    assert set(bundled_models()) == set(registry.BUNDLED_MODELS)
    assert registry.PRETRAINED_DIR.is_dir() and registry.PRETRAINED_DIR.name == "pretrained"


def test_cli_and_dashboard_offer_the_registered_names():
    from emolab.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("train", "federate", "federate-split", "federate-server", "federate-client"):
        model = next(a for a in sub[command]._actions if a.dest == "model")
        assert list(model.choices) == list(registry.MODEL_KINDS), command
    import emolab_widgets

    dash = emolab_widgets.TrainingDashboard()
    assert list(dash.kind.options) == list(registry.MODEL_KINDS)
    assert list(dash.corpus.options) == list(registry.TRAINABLE_CORPORA)
