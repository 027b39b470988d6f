import numpy as np
import pytest

from emolab.audit import format_leakage, leakage_audit, leakage_audit_arrays
from emolab.errors import DataError


def subject_data(n_subjects=10, per=30, seed=0):
    """Each subject shows emotions in a personal way (plus a weak shared pattern): a model that has
    seen a subject's samples recognises that subject's emotions far better than a new subject's."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 1, (3, 8))
    X, y, g = [], [], []
    for s in range(n_subjects):
        personal = rng.normal(0, 2, (3, 8))
        for i in range(per):
            label = ["anger", "happiness", "sadness"][i % 3]
            k = ["anger", "happiness", "sadness"].index(label)
            X.append(shared[k] + personal[k] + rng.normal(0, 1, 8))
            y.append(label)
            g.append(f"s{s}")
    return np.array(X, np.float32), np.array(y), np.array(g)


def test_audit_ranks_the_protocols_and_reports_inflation():
    X, y, g = subject_data()
    y = y.copy()
    y[::7] = "sadness"  # some imbalance for SMOTE to act on
    t = leakage_audit_arrays(X, y, g, model="svm")
    assert list(t.protocol) == ["smote-then-split", "random-split", "subject-independent"]
    acc = dict(zip(t.protocol, t.accuracy))
    assert acc["random-split"] > acc["subject-independent"] + 0.05
    assert t.loc[t.protocol == "subject-independent", "inflation_accuracy"].iloc[0] == 0
    assert {"balanced_accuracy", "macro_f1", "accuracy_std", "n_groups"} <= set(t.columns)
    assert "subject-independent" in format_leakage(t)


def test_audit_needs_enough_subjects_and_subject_ids(tmp_path):
    X, y, g = subject_data(n_subjects=3)
    with pytest.raises(DataError, match="at least 5 subject groups"):
        leakage_audit_arrays(X, y, g)
    from emolab.data import make_manifest

    m = make_manifest([{"path": "x", "label": "anger", "group": i, "modalities": "face", "subject_known": False} for i in range(10)], "fer2013")
    with pytest.raises(DataError, match="no subject ids"):
        leakage_audit("fer2013", tmp_path, manifest=m)


@pytest.mark.realdata
def test_leakage_on_real_ravdess_speech(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    t = leakage_audit("ravdess", shared_data / "ravdess_speech", max_samples=360, progress=False)
    acc = dict(zip(t.protocol, t.accuracy))
    assert acc["smote-then-split"] > acc["subject-independent"] + 0.1
    assert 0.2 < acc["subject-independent"] < 0.8
