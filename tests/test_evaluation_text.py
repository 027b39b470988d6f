import numpy as np
import pytest

from emolab.evaluation import evaluate
from emolab.preprocessing.text import OOV, Vocabulary, tokenize
from emolab.taxonomy import EMOTIONS


def test_metrics_tables_and_charts():
    y = ["anger", "anger", "happiness", "sadness", "neutral", "neutral"]
    proba = np.full((6, 7), 0.01)
    for i, p in enumerate(["anger", "happiness", "happiness", "sadness", "neutral", "anger"]):
        proba[i, EMOTIONS.index(p)] = 0.9
    ev = evaluate(y, proba=proba)
    assert ev.metrics["n"] == 6 and ev.metrics["accuracy"] == pytest.approx(4 / 6)
    for k in ("balanced_accuracy", "macro_f1", "weighted_f1", "macro_precision", "weighted_recall", "macro_auc"):
        assert 0 <= ev.metrics[k] <= 1
    per = ev.per_class.set_index("label")
    assert per.loc["anger", "accuracy"] == 0.5 and per.loc["happiness", "support"] == 1 and per.loc["fear", "support"] == 0
    c = ev.confusion
    assert c[(c.true == "anger") & (c.predicted == "happiness")]["share"].iloc[0] == 0.5
    assert set(ev.roc.label) == {"anger", "happiness", "sadness", "neutral"}
    for chart in (ev.confusion_chart(), ev.roc_chart(), ev.per_class_chart()):
        assert "mark" in chart.to_dict()
    assert evaluate(y, y_pred=y).metrics["accuracy"] == 1.0
    with pytest.raises(ValueError):
        evaluate(y)


def test_tokenize_and_vocabulary():
    assert tokenize("I’m SO happy!!") == ["i'm", "so", "happy", "!", "!"]
    v = Vocabulary(min_count=2, max_len=6).fit(["happy happy joy", "joy is here", "sad"])
    ids = v.transform(["happy joy unknownword", ""])
    assert ids.shape == (2, 6) and ids.dtype == np.int64
    assert ids[0, 2] == OOV and (ids[1] == 0).all() and ids[0, 0] >= 2
    again = Vocabulary.from_dict(v.to_dict())
    assert np.array_equal(again.transform(["happy joy"]), v.transform(["happy joy"])) and again.size == v.size


def test_vocabulary_extension_keeps_every_id():
    v = Vocabulary(min_count=1, max_len=5).fit(["happy joy", "sad"])
    w = v.extend(["so happy today", "today again", "again"])
    assert all(w.vocabulary_[t] == i for t, i in v.vocabulary_.items())
    assert set(w.vocabulary_) - set(v.vocabulary_) == {"so", "today", "again"}
    assert w.size == v.size + 3 and sorted(w.vocabulary_.values()) == list(range(2, w.size))
    assert Vocabulary.from_dict(w.to_dict()).vocabulary_ == w.vocabulary_


def test_text_model_fine_tuning_starts_from_the_trained_weights(tmp_path):
    """``emolab train --model text --init`` carries a trained model (GoEmotions) to a new corpus (MELD)."""
    import pandas as pd
    import torch

    from emolab.models import build_model, save_model
    from emolab.recipes.warm_start import load_text_weights, text_start

    v = Vocabulary(min_count=1, max_len=8).fit(["happy joy", "sad day"])
    start = build_model("text", vocab_size=v.size, embedding=16, hidden=8, max_len=8)
    save_model(tmp_path / "go.safetensors", start, preprocessing={"vocabulary": v.to_dict()})
    model0, vocab = text_start(tmp_path / "go.safetensors", pd.Series(["a new day", "new words"]))
    assert vocab.size == v.size + 3 and vocab.vocabulary_["happy"] == v.vocabulary_["happy"]
    model = build_model("text", **{**model0.config.to_dict(), "vocab_size": vocab.size})
    load_text_weights(model, model0)
    emb, emb0 = model.embedding.weight.detach(), start.embedding.weight.detach()
    assert torch.equal(emb[: v.size], emb0) and not torch.equal(emb[v.size:], torch.zeros_like(emb[v.size:]))
    assert torch.equal(model.head.weight, start.head.weight)
    face = build_model("face2d")
    save_model(tmp_path / "face.safetensors", face)
    with pytest.raises(Exception, match="text model"):
        text_start(tmp_path / "face.safetensors", pd.Series(["x"]))
