"""Our Hawkes fitter recovers the parameters of simulated sequences."""

import numpy as np
import pytest

from reprkit.datasets.interactions import hawkes_times as simulate
from reprkit.methods.rim.hawkes import Hawkes, _compensator, _event_features


def test_features_and_compensator_by_hand():
    t = np.array([0.0, 1.0])
    f = _event_features(t, np.array([1.0]))
    assert f[0].tolist() == [1.0, 0.0] and f[1, 1] == pytest.approx(np.exp(-1))
    c = _compensator(t, 0.0, 2.0, np.array([1.0]))
    assert c[0] == 2.0 and c[1] == pytest.approx((1 - np.exp(-2)) + (1 - np.exp(-1)))


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(0)
    mu, alpha, beta, end = 0.5, 0.6, 2.0, 200.0
    seqs = [simulate(mu, alpha, beta, end, rng) for _ in range(20)]
    h = Hawkes(decays=[beta, 0.05], l2=0.0).fit(seqs, [0.0] * 20, [end] * 20)
    assert h.mu_ == pytest.approx(mu, rel=0.15)
    assert h.alpha_[0] == pytest.approx(alpha, rel=0.15)
    assert h.alpha_[1] < 0.1
    # a user who just had a burst is expected to be more active than a quiet one
    busy = h.expected_count(np.array([9.8, 9.9, 9.95]), 10.0, 1.0)
    quiet = h.expected_count(np.array([1.0]), 10.0, 1.0)
    assert busy > quiet > 0


def test_bad_input():
    with pytest.raises(ValueError, match="sorted"):
        Hawkes().fit([np.array([2.0, 1.0])], [0.0], [3.0])
    with pytest.raises(ValueError, match="decays"):
        Hawkes(decays=[-1.0])
