"""Context-FID: the Fréchet distance against closed forms, determinism, and that it ranks."""

import numpy as np
import pytest

from reprkit.eval.context_fid import ContextFID, fid_of, frechet_distance, position_bias


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    want = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(want)


def test_frechet_distance_general_covariances_and_zero_for_same():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    cov1 = a @ a.T + np.eye(4)
    assert frechet_distance(np.ones(4), cov1, np.ones(4), cov1) == pytest.approx(0, abs=1e-6)
    # scaling: N(0, Σ) vs N(0, c²Σ): FD = (1 - c)² Tr Σ
    assert frechet_distance(np.zeros(4), cov1, np.zeros(4), 9 * cov1) == pytest.approx(
        4 * np.trace(cov1)
    )


def test_fid_of_samples_approaches_the_gaussian_value():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (20000, 2))
    b = rng.normal([1, 0], [2, 1], (20000, 2))
    assert fid_of(a, b) == pytest.approx(1 + 1, abs=0.1)  # 1 (means) + (2 - 1)²


def _windows(rng, n, noise=0.05):
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    t = np.arange(32)[None]
    return 1 + 0.5 * np.sin(2 * np.pi * t / 8 + phase) + rng.normal(0, noise, (n, 32))


def test_context_fid_is_deterministic_and_ranks_worse_fakes_higher():
    rng = np.random.default_rng(0)
    real, real2 = _windows(rng, 300), _windows(rng, 300)
    noisy = _windows(rng, 300, noise=0.5)
    c = ContextFID(seed=0, steps=40).fit(real)
    same = c.score(real, real2)
    assert same == ContextFID(seed=0, steps=40).fit(real).score(real, real2)
    assert c.score(real, noisy) > 3 * same


def test_context_fid_bad_input():
    with pytest.raises(ValueError, match="windows"):
        ContextFID(steps=1).fit(np.zeros(10))
    c = ContextFID(steps=1).fit(np.random.default_rng(0).normal(size=(8, 16)))
    with pytest.raises(ValueError, match="NaN"):
        c.score(np.zeros((4, 16)), np.full((4, 16), np.nan))


def test_joint_score_sees_ignored_conditioning_that_context_fid_does_not():
    # two "series" with different frequencies; a fake set that swaps which series each window
    # belongs to has the same marginal (Context-FID ≈ floor) but a worse joint score
    rng = np.random.default_rng(1)
    n = 200
    ids = np.repeat([0, 1], n)
    t = np.arange(32)[None]

    def draw(which):
        period = np.where(which == 0, 8, 16)[:, None]
        phase = rng.uniform(0, 2 * np.pi, (len(which), 1))
        return np.sin(2 * np.pi * t / period + phase) + rng.normal(0, 0.05, (len(which), 32))

    real, real2, swapped = draw(ids), draw(ids), draw(1 - ids)
    cond = np.eye(2)[ids]
    c = ContextFID(seed=0, steps=40, hidden=16, dim=32, depth=4).fit(real)
    assert abs(c.score(real, swapped) - c.score(real, real2)) < 0.5 * c.score(real, real2) + 0.05
    assert c.score_joint(real, swapped, cond) > 3 * c.score_joint(real, real2, cond)
    with pytest.raises(ValueError, match="cond_real"):
        c.score_joint(real, real2, cond[:10])


def test_position_bias_shows_pulled_edges():
    rng = np.random.default_rng(2)
    real = rng.normal(0, 1, (500, 16))
    fake = rng.normal(0, 1, (500, 16))
    fake[:, 0] -= 0.7
    b = position_bias(real, fake)
    assert b.shape == (16,)
    assert b[0] < -0.5 and np.abs(b[1:]).max() < 0.2
