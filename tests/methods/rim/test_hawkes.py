"""Our Hawkes fitter recovers the parameters of simulated sequences; the control channel and
Hawkes-Poisson behave as rime's."""

import numpy as np
import pytest

from reprkit.datasets.interactions import hawkes_times as simulate
from reprkit.methods.rim.hawkes import Hawkes, HawkesPoisson, _compensator, _event_features


def test_features_and_compensator_by_hand():
    t = np.array([0.0, 1.0])
    b = np.array([1.0])
    f = _event_features(t, b, control=False)
    assert f[0].tolist() == [1.0, 0.0] and f[1, 1] == pytest.approx(np.exp(-1))
    c = _compensator(t, 0.0, 2.0, b, control=False)
    assert c[0] == 2.0 and c[1] == pytest.approx((1 - np.exp(-2)) + (1 - np.exp(-1)))
    # with the control channel the first event only excites (through γ) and is not modelled
    f = _event_features(np.array([0.0, 1.0, 1.5]), b, control=True)
    assert f.shape == (2, 3)
    assert f[0].tolist() == pytest.approx([1.0, 0.0, np.exp(-1)])
    assert f[1].tolist() == pytest.approx([1.0, np.exp(-0.5), np.exp(-1.5)])
    c = _compensator(np.array([0.0, 1.0]), 0.0, 2.0, b, control=True)
    assert c.tolist() == pytest.approx([2.0, 1 - np.exp(-1), 1 - np.exp(-2)])


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(0)
    mu, alpha, beta, end = 0.5, 0.6, 2.0, 200.0
    seqs = [simulate(mu, alpha, beta, end, rng) for _ in range(20)]
    h = Hawkes(decays=[beta, 0.05], l2=0.0, control=False).fit(seqs, [end] * 20)
    assert h.mu_ == pytest.approx(mu, rel=0.15)
    assert h.alpha_[0] == pytest.approx(alpha, rel=0.15)
    assert h.alpha_[1] < 0.1
    # a user who just had a burst is expected to be more active than a quiet one
    busy = h.expected_count(np.array([9.8, 9.9, 9.95]), 10.0, 1.0)
    quiet = h.expected_count(np.array([1.0]), 10.0, 1.0)
    assert busy > quiet > 0
    assert h.intensity(np.array([9.8, 9.9, 9.95]), 10.0) > h.intensity(np.array([1.0]), 10.0)


def test_control_channel_absorbs_the_opening_burst():
    """Users whose windows open with a burst: the control channel takes it (γ > 0) and a
    user just past the burst is no more active than the baseline much later."""
    rng = np.random.default_rng(1)
    seqs = []
    for _ in range(40):
        burst = np.sort(rng.uniform(0, 0.05, 6))  # a burst right at the first event
        rest = np.sort(rng.uniform(0.05, 30.0, rng.poisson(0.3 * 30)))
        seqs.append(np.concatenate([[0.0], burst, rest]))
    h = Hawkes(decays=[20.0, 1.0, 0.05], l2=0.0).fit(seqs, [30.0] * 40)
    assert h.gamma_.sum() > 0.5
    early = h.intensity(np.array([0.0]), 0.01)
    assert early > 5 * h.intensity(np.array([0.0]), 20.0)
    assert h.intensity(np.array([0.0]), 20.0) == pytest.approx(0.3, rel=0.3)


def test_hawkes_poisson_recovers_weights():
    rng = np.random.default_rng(0)
    states = np.abs(rng.normal(size=(2000, 3)))
    w = np.array([0.5, 2.0, 0.0])
    counts = rng.poisson(states @ w)
    hp = HawkesPoisson(l2=0.0).fit(states, counts)
    assert hp.w_ == pytest.approx(w, abs=0.15)
    assert (hp.predict(states) >= 0).all()
    with pytest.raises(ValueError, match="counts must be"):
        HawkesPoisson().fit(states, -np.ones(2000))


def test_bad_input():
    with pytest.raises(ValueError, match="sorted"):
        Hawkes().fit([np.array([2.0, 1.0])], [3.0])
    with pytest.raises(ValueError, match="decays"):
        Hawkes(decays=[-1.0])
    with pytest.raises(ValueError, match="coefficients"):
        Hawkes(decays=[1.0]).set_coef([1.0])
