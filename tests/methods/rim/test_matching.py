"""Constrained matching: greedy by hand, the entropy-regularised dual against the exact LP."""

import numpy as np
import pytest

from reprkit.methods.rim.matching import (
    dual_match,
    greedy_match,
    lp_match,
    online_match,
    round_dual,
)


def test_greedy_by_hand():
    s = np.array([[0.9, 0.8, 0.1], [0.7, 0.6, 0.5], [0.2, 0.3, 0.4]])
    # one item per user, one user per item: 0.9 (u0,i0), then 0.6 (u1,i1), then 0.4 (u2,i2)
    want = np.eye(3, dtype=bool)
    assert np.array_equal(greedy_match(s, 1, 1), want)


def test_round_dual_by_hand():
    # tied soft assignment: both users prefer item 0 equally; the target of 1 user per item
    # must send one of them to item 1, then each fills its second slot by π
    pi = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.2]])
    a = round_dual(pi, 2, 1)
    assert a.sum(1).tolist() == [2, 2] and a.sum(0).min() >= 1
    assert a.tolist() == [[True, True, False], [True, False, True]]
    assert round_dual(pi, 1, 0).tolist() == [[True, False, False], [True, False, False]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dual_reaches_the_lp_optimum(seed):
    rng = np.random.default_rng(seed)
    s = rng.random((12, 5))
    k, c = 2, 4  # 24 slots for 20 required exposures: the item constraints bind
    pi_lp, best = lp_match(s, k, c)
    pi, u, v = dual_match(s, k, c)
    assert (u >= 0).all() and (v >= 0).all()
    assert pi.sum(1).max() <= k + 0.05 and pi.sum(0).min() >= c - 0.05
    assert (s * pi).sum() == pytest.approx(best, rel=0.01)
    # without the exposure constraint the optimum is every user's top-k items, and better
    free = np.sort(s, 1)[:, -k:].sum()
    assert lp_match(s, k, 0)[1] == pytest.approx(free) and free >= best - 1e-9
    assert pi_lp.sum(0).min() >= c - 1e-6


def test_online_with_fitted_duals_meets_exposure_on_new_users():
    rng = np.random.default_rng(0)
    item_pop = np.linspace(0, 1, 8)  # some items are much more popular
    val = rng.random((400, 8)) + 2 * item_pop
    test = rng.random((400, 8)) + 2 * item_pop
    c = 400 * 1 / 8  # one item per user, spread evenly
    _, _, v = dual_match(val, 1, c)
    plain = online_match(test, np.zeros(8), 1).sum(0)
    fitted = online_match(test, v, 1).sum(0)
    assert plain.min() == 0  # without duals the unpopular items get nobody
    assert fitted.min() >= 0.7 * c  # with them, every item reaches most of its target


def test_bad_arguments():
    s = np.zeros((3, 4))
    with pytest.raises(ValueError, match="max_per_user"):
        greedy_match(s, 5, 0)
    with pytest.raises(ValueError, match="infeasible"):
        dual_match(s, 1, 2)
    with pytest.raises(ValueError, match="finite"):
        lp_match(np.full((2, 2), np.nan), 1, 1)
    with pytest.raises(ValueError, match="item_duals"):
        online_match(s, np.zeros(3), 1)
