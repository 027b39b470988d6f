import numpy as np
import pytest

from emolab.data import check_no_leak, group_holdout, group_kfold, leave_one_subject_out, make_manifest, split_by_column
from emolab.errors import SplitError


def manifest(n_groups=6, per=10, known=True):
    rows = [{"path": f"{g}_{i}", "label": ["anger", "happiness"][i % 2], "group": f"g{g}", "modalities": "audio",
             "subject_known": known, "split": "train" if g < n_groups - 1 else "test"}
            for g in range(n_groups) for i in range(per)]
    return make_manifest(rows, "toy")


def test_holdout_kfold_and_loso_never_leak():
    m = manifest()
    tr, te = group_holdout(m, test_size=0.34, seed=1)
    assert not set(m.group.iloc[tr]) & set(m.group.iloc[te])
    folds = list(group_kfold(m, n_splits=3))
    assert len(folds) == 3
    covered = np.concatenate([te for _, te in folds])
    assert sorted(covered) == list(range(len(m)))
    loso = list(leave_one_subject_out(m))
    assert len(loso) == 6 and all(m.group.iloc[te].nunique() == 1 for _, te in loso)


def test_check_no_leak_raises_on_shared_subject():
    groups = np.array(["a", "a", "b", "b"])
    with pytest.raises(SplitError, match="both train and test"):
        check_no_leak(np.array([0, 2]), np.array([1, 3]), groups)


def test_subject_independent_split_refused_without_subject_ids():
    m = manifest(known=False)
    with pytest.raises(SplitError, match="no subject ids"):
        group_holdout(m)
    tr, te = group_holdout(m, allow_unknown_subjects=True)
    assert len(tr) and len(te)
    tr, te = split_by_column(m, "train", "test")  # the official split stays available
    assert len(te) == 10


def test_impossible_splits_are_clear_errors():
    with pytest.raises(SplitError, match="at least 7"):
        list(group_kfold(manifest(), n_splits=7))
    with pytest.raises(SplitError, match="two subject groups"):
        group_holdout(manifest(n_groups=1))
    with pytest.raises(SplitError, match="empty side"):
        split_by_column(manifest(), "train", "dev")
    leaky = manifest()
    leaky.loc[leaky.index[-1], "group"] = leaky.group.iloc[0]
    with pytest.raises(SplitError):
        split_by_column(leaky, "train", "test")
