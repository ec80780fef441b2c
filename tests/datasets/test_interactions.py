"""Event data for RIM: dense ids, input checks, the paper's split protocol, the generator."""

import numpy as np
import pytest

from reprkit.datasets.interactions import from_columns, load_ml100k, rim_split, synthetic_events
from tests.conftest import shared_file


def test_from_columns_dense_ids_sorted_by_time():
    e = from_columns(["b", "a", "b"], [10, 30, 10], [3.0, 1.0, 2.0])
    assert e.time.tolist() == [1.0, 2.0, 3.0] and e.user.tolist() == [0, 1, 1]
    assert (e.n_users, e.n_items) == (2, 2)
    with pytest.raises(ValueError, match="numeric"):
        from_columns([1], [1], ["yesterday"])
    with pytest.raises(ValueError, match="NaN"):
        from_columns([1], [1], [np.nan])


def test_rim_split_protocol_by_hand():
    # kept: rank >= 1/2 (as the paper's code). User 0: events at 0..7, kept 3..7 (span 4);
    # user 1: 0..3, kept 1..3 (span 2); user 2: 0..5, kept 2..5 (span 3). Median span 3, so
    # user 0's test window is [3 + 3, 9)
    user = [0] * 8 + [1] * 4 + [2] * 6
    time = list(range(8)) + list(range(4)) + list(range(6))
    item = list(range(18))
    a, b, train = rim_split(from_columns(user, item, time), seed=0)
    assert a.horizon == b.horizon == 3.0
    assert sorted(a.users.tolist() + b.users.tolist()) == [0, 1, 2]
    s0 = a if 0 in a.users else b
    row = list(s0.users).index(0)
    assert s0.start[row] == 6.0
    assert np.flatnonzero(s0.target[row]).tolist() == [6, 7]  # events at 6 and 7
    assert set(train.time[train.user == 0].tolist()) == {3.0, 4.0, 5.0}


def test_synthetic_events_are_bursty():
    e = synthetic_events(n_users=50, seed=0)
    gaps = np.concatenate(
        [np.diff(e.time[e.user == u]) for u in range(50) if (e.user == u).sum() > 2]
    )
    assert len(e.user) > 200 and np.std(gaps) > np.mean(gaps)  # over-dispersed: self-exciting


def test_ml100k():
    shared_file("movielens_100k/u.data.gz")
    e = load_ml100k()
    assert (len(e.user), e.n_users, e.n_items) == (100_000, 943, 1682)
    a, b, _ = rim_split(e)
    assert abs(len(a.users) - len(b.users)) <= 1 and a.target.any()
