import numpy as np
import pandas as pd
import pytest

from emolab.balancing import METHODS, Balancer, class_counts, class_counts_chart
from emolab.errors import DataError


def imbalanced(n=(60, 20, 10), d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(i * 3, 1, (k, d)) for i, k in enumerate(n)]).astype(np.float32)
    y = np.repeat(["anger", "fear", "sadness"], n)
    groups = np.concatenate([[f"s{j % 4}" for j in range(k)] for k in n])
    return X, y, groups


@pytest.mark.parametrize("method", METHODS)
def test_every_method_balances_towards_the_median(method):
    X, y, _ = imbalanced()
    Xr, yr = Balancer(method=method, target="median").fit_resample(X, y)
    counts = pd.Series(yr).value_counts()
    assert Xr.shape[1:] == X.shape[1:] and len(Xr) == len(yr)
    if method in ("smote", "smote+under", "random-over"):
        assert counts["sadness"] == 20 and counts["fear"] == 20
    if method in ("smote+under", "random-under"):
        assert counts["anger"] == 20
    if method in ("smote", "random-over"):
        assert counts["anger"] == 60
    if method in ("smote-enn", "smote-tomek"):  # cleaning may remove a few
        assert counts["sadness"] >= 10 and counts["sadness"] <= 20


def test_targets_max_and_dict():
    X, y, _ = imbalanced()
    _, yr = Balancer(target="max").fit_resample(X, y)
    assert set(pd.Series(yr).value_counts()) == {60}
    _, yr = Balancer(method="smote+under", target={"anger": 30, "sadness": 25}).fit_resample(X, y)
    assert pd.Series(yr).value_counts().to_dict() == {"anger": 30, "sadness": 25, "fear": 20}
    with pytest.raises(DataError, match="absent"):
        Balancer(target={"joy": 5}).fit_resample(X, y)


def test_synthetic_rows_lie_between_real_ones_of_their_class():
    X, y, _ = imbalanced()
    b = Balancer(target="max", random_state=1)
    Xr, yr = b.fit_resample(X, y)
    new = Xr[len(X):]
    assert np.array_equal(Xr[: len(X)], X)  # originals kept unchanged
    lo, hi = X[y == "sadness"].min(0), X[y == "sadness"].max(0)
    s = new[yr[len(X):] == "sadness"]
    assert len(s) == 50 and ((s >= lo - 1e-5) & (s <= hi + 1e-5)).all()
    assert b.counts_before_ == {"anger": 60, "fear": 20, "sadness": 10} and b.counts_after_["sadness"] == 60


def test_tensors_are_resampled_and_reshaped_back_and_groups_carried():
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 255, (30, 4, 8, 8)).astype(np.uint8)
    y = np.array(["a"] * 24 + ["b"] * 6)
    groups = np.array([f"g{i % 5}" for i in range(30)])
    Xr, yr, gr = Balancer(target="max").fit_resample_groups(clips, y, groups)
    assert Xr.shape == (48, 4, 8, 8) and Xr.dtype == np.uint8
    assert len(gr) == 48 and set(gr[yr == "b"]) <= set(groups[y == "b"])
    assert list(gr[:30]) == list(groups)


def test_small_class_adapts_k_with_warning_or_refuses():
    X, y, _ = imbalanced(n=(30, 3, 1))
    with pytest.warns(UserWarning, match="k_neighbors=1"):
        b = Balancer(target="max")
        _, yr = b.fit_resample(X, y)
    assert pd.Series(yr).value_counts().to_dict() == {"anger": 30, "fear": 30, "sadness": 30} and b.k_used_ == 1
    with pytest.raises(DataError, match="fewer than k_neighbors"):
        Balancer(target="max", on_small_class="raise").fit_resample(X, y)


def test_single_class_and_nan_are_clear_errors():
    X, y, _ = imbalanced()
    with pytest.raises(DataError, match="at least two classes"):
        Balancer().fit_resample(X[:10], y[:10])
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        Balancer().fit_resample(Xn, y)
    with pytest.raises(DataError, match="unknown balancing method"):
        Balancer(method="magic").fit_resample(X, y)


def test_inside_imblearn_pipeline_resamples_only_during_fit():
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression

    X, y, _ = imbalanced()
    seen = {}

    class Spy(LogisticRegression):
        def fit(self, X, y):
            seen["n_fit"] = len(y)
            return super().fit(X, y)

        def predict(self, X):
            seen["n_predict"] = len(X)
            return super().predict(X)

    pipe = Pipeline([("balance", Balancer(target="max")), ("clf", Spy())]).fit(X, y)
    pipe.predict(X[:7])
    assert seen == {"n_fit": 180, "n_predict": 7}


def test_count_table_and_chart():
    X, y, _ = imbalanced()
    _, yr = Balancer(target="max").fit_resample(X, y)
    t = class_counts(y, yr)
    assert list(t.columns) == ["label", "stage", "count"] and len(t) == 6
    spec = class_counts_chart(t).to_dict()
    assert spec["mark"]["type"] == "bar"


def test_estimators_refuse_to_transform_before_fit():
    from sklearn.exceptions import NotFittedError

    from emolab.preprocessing.text import Vocabulary

    with pytest.raises(NotFittedError):
        Vocabulary().transform(["hello there"])
    assert Vocabulary(min_count=1).fit(["hello there"]).transform(["hello"]).shape == (1, 50)


def test_fit_resample_always_returns_two_arrays():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.array([0] * 30 + [1] * 10)
    assert len(Balancer().fit_resample(X, y)) == 2
    assert len(Balancer().fit_resample_groups(X, y, np.arange(40) % 4)) == 3
