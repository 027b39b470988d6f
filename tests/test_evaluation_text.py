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
