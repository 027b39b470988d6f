"""Dialogue context for the text model: inputs, model, recipes and the lesson pipeline, on small generated data."""

import numpy as np
import pandas as pd
import pytest
import torch

from emolab.preprocessing.text import CONTEXT_TOKENS, OTHER, SAME, SEP, Vocabulary, context_rows, context_transform


@pytest.fixture
def vocab():
    return Vocabulary(min_count=1, max_len=4).fit(["a b c d e", "f g h", "hi there"]).with_context_tokens()


def _ids(vocab, *words):
    return [vocab.vocabulary_[w] for w in words]


def test_context_tokens_are_appended_and_round_trip(vocab):
    base = Vocabulary(min_count=1, max_len=4).fit(["a b c d e", "f g h", "hi there"])
    assert all(vocab.vocabulary_[t] == i for t, i in base.vocabulary_.items())  # every word keeps its id
    assert [vocab.vocabulary_[t] for t in CONTEXT_TOKENS] == [base.size, base.size + 1, base.size + 2]
    assert vocab.with_context_tokens() is vocab and vocab.size == base.size + 3
    assert Vocabulary.from_dict(vocab.to_dict()).vocabulary_ == vocab.vocabulary_
    assert vocab.transform(["<sep> same"]).max() <= 1  # markers never come out of text
    with pytest.raises(ValueError, match="context tokens"):
        context_transform(base, ["a"])


def test_context_rows_follow_order_and_never_cross_a_group():
    # rows shuffled: dialogue x is rows 2, 0, 3 in utterance order; dialogue y is rows 1, 4
    rows = context_rows(["x", "y", "x", "x", "y"], order=[1, 5, 0, 2, 6], k=2)
    assert rows == [[2], [], [], [2, 0], [1]]
    assert context_rows(["x", "x", "x", "x"], k=1) == [[], [0], [1], [2]]
    assert context_rows(["x", "x"], k=0) == [[], []]


def test_context_transform_layout_speaker_markers_and_first_utterance(vocab):
    x = context_transform(vocab, ["a b", "c", "d e f g h", "hi"], speakers=["A", "B", "A", "A"], groups=[1, 1, 1, 2], k=2)
    assert x.shape == (4, 3 * 5) and x.dtype == np.int64
    same, other, sep = _ids(vocab, SAME, OTHER, SEP)
    row = lambda i: [int(t) for t in x[i] if t]  # noqa: E731
    assert row(0) == [sep, *_ids(vocab, "a", "b")]  # first utterance of a dialogue: no context
    assert row(1) == [other, *_ids(vocab, "a", "b"), sep, *_ids(vocab, "c")]
    assert row(2) == [same, *_ids(vocab, "a", "b"), other, *_ids(vocab, "c"), sep, *_ids(vocab, "d", "e", "f", "g")]  # cut at max_len
    assert row(3) == [sep, *_ids(vocab, "hi")]  # another dialogue: nothing from the first
    assert (x[0, 3:] == 0).all()  # left-aligned, zero-padded
    # unknown speakers are never "the same"; k limits the context
    y = context_transform(vocab, ["a", "b", "c"], speakers=["", "", ""], k=1)
    assert [int(t) for t in y[2] if t] == [other, *_ids(vocab, "b"), sep, *_ids(vocab, "c")]
    assert y.shape == (3, 2 * 5)


def _reference_embed(model, tokens):
    """The text model's embedding as it was before dialogue context (unpacked LSTM, attention over all tokens)."""
    mask = tokens != 0
    out, _ = model.lstm(model.embedding(tokens))
    score = model.attn(out).squeeze(-1).masked_fill(~mask, float("-inf"))
    return (out * torch.softmax(score, 1).unsqueeze(-1)).sum(1)


def test_a_model_file_without_context_settings_loads_and_reads_as_before(tmp_path):
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    from emolab.models import build_model, load_model, save_model

    torch.manual_seed(0)
    model = build_model("text", vocab_size=20, embedding=8, hidden=8, max_len=6).eval()
    path = save_model(tmp_path / "m.safetensors", model)
    with safe_open(str(path), framework="pt") as fh:  # a file written before the context settings existed
        meta, state = json.loads(fh.metadata()["emolab"]), {k: fh.get_tensor(k) for k in fh.keys()}
    for key in ("context", "sep_id", "packed", "context_pool"):
        del meta["config"][key]
    save_file(state, str(tmp_path / "old.safetensors"), metadata={"emolab": json.dumps(meta)})
    old, _ = load_model(tmp_path / "old.safetensors")
    assert (old.config.context, old.config.packed) == (0, False)
    tokens = torch.tensor([[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12]])
    with torch.no_grad():
        assert torch.allclose(old.embed(tokens), _reference_embed(old, tokens), atol=1e-6)
        assert torch.equal(old(tokens), model(tokens))


def test_context_model_pools_the_utterance_and_ignores_padding(vocab):
    from emolab.models import build_model

    torch.manual_seed(0)
    sep = vocab.vocabulary_[SEP]
    model = build_model("text", vocab_size=vocab.size, embedding=8, hidden=8, max_len=4, context=2, sep_id=sep, packed=True).eval()
    x = torch.as_tensor(context_transform(vocab, ["a b", "c", "c"], speakers=["A", "B", "B"], groups=[1, 1, 2], k=2))
    with torch.no_grad():
        out = model(x)
        assert torch.isfinite(out).all()
        assert not torch.allclose(out[1], out[2])  # the same utterance, with and without context
        longer = torch.cat([x, torch.zeros(3, 7, dtype=torch.long)], 1)  # packed: more padding changes nothing
        assert torch.allclose(model(longer), out, atol=1e-5)
        assert torch.allclose(model(x[2:]), out[2:], atol=1e-5)  # nor does the batch
        empty = torch.as_tensor(context_transform(vocab, ["a", ""], k=2))  # an empty utterance after some context
        assert torch.isfinite(model(empty)).all()
    every = build_model("text", **{**model.config.to_dict(), "context_pool": "all"}).eval()
    every.load_state_dict(model.state_dict())
    with torch.no_grad():  # pooling every token reads the context directly
        assert not torch.allclose(every(x[1:2]), out[1:2])
    with pytest.raises(Exception, match="context_pool"):
        build_model("text", context_pool="target")


def _write_meld(folder):
    header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
    rng = np.random.default_rng(0)
    words = ["great", "no", "why", "what", "okay", "wow", "sorry", "hate", "love", "fine"]
    emotions = ["joy", "neutral", "anger", "surprise", "sadness", "fear", "disgust"]
    for split, n_dia in (("train", 12), ("dev", 4)):
        lines = []
        for d in range(n_dia):
            for u in range(4):
                text = " ".join(rng.choice(words, 3))
                lines.append(f'{len(lines) + 1},{text},{"Ross" if u % 2 else "Rachel"},{emotions[(d + u) % 7]},neutral,{d},{u},1,1,'
                             f'"00:00:0{u},000","00:00:0{u},900"')
        (folder / f"{split}_sent_emo.csv").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


def test_meld_context_inputs_keep_dialogues_and_splits_apart(tmp_path):
    from emolab.data import read_corpus
    from emolab.recipes.inputs import text_context_inputs

    _write_meld(tmp_path)
    m = read_corpus("meld", tmp_path)
    v = Vocabulary(min_count=1, max_len=5).fit(m["text"]).with_context_tokens()
    shuffled = m.sample(frac=1.0, random_state=1)
    x = pd.DataFrame(text_context_inputs(v, shuffled, 2), index=shuffled.index).loc[m.index].to_numpy()
    assert np.array_equal(x, text_context_inputs(v, m, 2))  # context follows Utterance_ID, not row order
    sep, same, other = (v.vocabulary_[t] for t in (SEP, SAME, OTHER))
    first = (m["utterance"] == 0).to_numpy()
    assert (x[first, 0] == sep).all()  # dev dialogue 0 gets nothing from train dialogue 0
    third = np.flatnonzero((m["utterance"] == 2).to_numpy())
    assert (x[third, 0] == same).all()  # utterance 0 (Rachel) before utterance 2 (Rachel)
    go = m.drop(columns=["utterance"])  # a corpus of lone texts: no context
    assert (text_context_inputs(v, go, 2)[:, 0] == sep).all()


def test_train_and_evaluate_with_context_from_a_trained_model(tmp_path):
    from emolab.models import load_model, read_metadata
    from emolab.recipes import evaluate_recipe, train_recipe

    (tmp_path / "meld").mkdir()
    _write_meld(tmp_path / "meld")
    base = train_recipe("text", "meld", tmp_path / "meld", tmp_path / "base", epochs=1, batch_size=16, progress=False,
                        model_config={"embedding": 8, "hidden": 8})
    res = train_recipe("text", "meld", tmp_path / "meld", tmp_path / "ctx", epochs=1, batch_size=16, progress=False,
                       init=base.model_path, model_config={"context": 2})
    meta = read_metadata(res.model_path)
    tokens = meta["preprocessing"]["vocabulary"]["tokens"]
    assert meta["config"]["context"] == 2 and meta["config"]["packed"] is True and meta["preprocessing"]["context"] == 2
    assert meta["config"]["sep_id"] == tokens.index(SEP) + 2 and meta["config"]["vocab_size"] == len(tokens) + 2
    assert read_metadata(base.model_path)["config"]["context"] == 0
    ev = evaluate_recipe(res.model_path, "meld", tmp_path / "meld", progress=False)
    assert ev.metrics["n"] == 16 and abs(ev.metrics["accuracy"] - res.metrics["accuracy"]) < 1e-6
    model, _ = load_model(res.model_path)
    assert model.config.context == 2


def test_lesson_text_reads_each_utterance_after_the_ones_before(tmp_path, vocab):
    from emolab.models import build_model, save_model
    from emolab.models.lesson import LateFusionLessonModels
    from emolab.timeline.stages import read_text

    torch.manual_seed(0)
    model = build_model("text", vocab_size=vocab.size, embedding=8, hidden=8, max_len=4, context=2,
                        sep_id=vocab.vocabulary_[SEP], packed=True)
    save_model(tmp_path / "text.safetensors", model, preprocessing={"vocabulary": vocab.to_dict(), "context": 2})
    models = LateFusionLessonModels(folder=tmp_path, precision="fp32")
    assert models.available == ("text",)
    one = models.text(["a b"])
    assert one.shape == (1, 7) and np.allclose(one.sum(1), 1, atol=1e-5)  # no previous utterance: still read
    two = models.text(["a b", "c"], ["T", "S"])
    assert np.allclose(two[0], one[0], atol=1e-5)  # the first utterance is read without what follows
    assert not np.allclose(two[1], models.text(["c"])[0], atol=1e-4)  # the second with what came before
    turns = pd.DataFrame({"start": [3.0, 0.0, 5.0], "end": [4.0, 2.0, 6.0], "speaker": ["", "T", "S"], "text": ["c", "a b", ""],
                          "person": ["S", "T", ""]})
    r = read_text(turns, models)
    assert list(r.turn) == [1, 0]  # in time order, the turn without text left out
    assert np.allclose(r.features, two, atol=1e-5)


def test_negative_context_is_refused():
    from emolab.errors import EmolabError
    from emolab.models.zoo import TextLSTM, TextLSTMConfig

    with pytest.raises(EmolabError, match="context"):
        TextLSTM(TextLSTMConfig(context=-1))


def test_vocabulary_keeps_scikit_learn_contract_without_importing_it():
    """The estimator contract holds without scikit-learn's base classes, and a lesson's models (text model
    included) load without importing scikit-learn or SciPy's statistics (1.1 s of CPU per analysis)."""
    import subprocess
    import sys

    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    v = Vocabulary(min_count=1, max_len=3)
    c = clone(v.set_params(max_size=7))
    assert type(c) is Vocabulary and c.get_params() == {"min_count": 1, "max_size": 7, "max_len": 3}
    assert not hasattr(c, "vocabulary_") and "max_size=7" in repr(c)
    with pytest.raises(ValueError, match="invalid parameter"):
        v.set_params(size=3)
    out = make_pipeline(Vocabulary(min_count=1, max_len=3)).fit_transform(["a b", "b c d e"])
    assert out.tolist() == [[3, 2, 0], [2, 4, 5]]  # b (twice) first, then a, c, d in order
    code = ("import sys; from emolab.models.lesson import load_lesson_models; m = load_lesson_models('pretrained'); "
            "m.text(['we are late']); print(sorted(k for k in sys.modules if k.startswith(('sklearn', 'scipy.stats'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
