"""STS loaders (staged files, counts of the standard releases) and the synthetic pair generator."""

import numpy as np
import pytest

from reprkit.datasets.text import STS_SETS, load_sts, synthetic_pairs

# the standard evaluation sizes (STS13 without its SMT subset, STS16 scored pairs only)
SIZES = {
    "sts12": 3108,
    "sts13": 1500,
    "sts14": 3750,
    "sts15": 3000,
    "sts16": 1186,
    "stsb": 1379,
    "sickr": 4906,
}


@pytest.mark.parametrize("name", STS_SETS)
def test_sts_test_sets(name):
    d = load_sts(name)
    assert len(d) == SIZES[name] == len(d.b) == len(d.score) == len(d.subset)
    assert d.score.min() >= 0 and d.score.max() <= 5
    assert all(isinstance(x, str) and x for x in d.a[:50] + d.b[:50])


def test_splits_and_errors():
    assert len(load_sts("stsb", "dev")) == 1500 and len(load_sts("sickr", "dev")) == 495
    with pytest.raises(ValueError, match="only a test split"):
        load_sts("sts12", "dev")
    with pytest.raises(ValueError, match="name must be one of"):
        load_sts("sts17")
    with pytest.raises(ValueError, match="split must be one of"):
        load_sts("stsb", "valid")


def test_synthetic_pairs_scores_follow_the_edits():
    d = synthetic_pairs(300, seed=1)
    assert len(d) == 300 and set(np.unique(d.score)) <= {0, 1, 2, 3, 4, 5}
    same = [a == b for a, b in zip(d.a, d.b, strict=True)]
    assert all(s == 5 for s, eq in zip(d.score, same, strict=True) if eq)
    assert d.pairs()[0] == (d.a[0], d.b[0])
