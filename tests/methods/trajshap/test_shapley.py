"""Shapley estimators on small games with known answers, and the attribution of models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reprkit.datasets.trajectories import synthetic_interaction
from reprkit.methods.trajshap.models import ConstantVelocity, PastLSTM, SocialAttention
from reprkit.methods.trajshap.shapley import (
    ShapleyAttribution,
    all_coalitions,
    banzhaf,
    exact,
    permutation,
    stand_in_index,
)


def table_game(n: int, n_scenes: int, seed: int = 0):
    """A random game per scene: v(S) = table[scene, bitmask(S)]."""
    table = np.random.default_rng(seed).normal(size=(n_scenes, 2**n))
    bits = 1 << np.arange(n)

    def v(coal):
        return np.take_along_axis(table, (coal * bits).sum(-1), 1)

    return table, v


def test_exact_efficiency_symmetry_dummy():
    n, s = 5, 4
    table, v = table_game(n, s)
    phi, se = exact(v, n, s)
    np.testing.assert_allclose(phi.sum(1), table[:, -1] - table[:, 0], atol=1e-6)
    assert (se == 0).all()
    # symmetric players 0 and 1 and a dummy player 4: v(S) = f(|S ∩ {0,1}|) + g(S ∩ {2,3})
    masks = all_coalitions(n)

    def v2(coal):
        return 3.0 * (coal[..., 0].astype(float) + coal[..., 1]) ** 2 + 2.0 * coal[..., 2] - \
            coal[..., 3] * coal[..., 2]  # fmt: skip

    phi, _ = exact(v2, n, 1)
    assert phi[0, 0] == pytest.approx(phi[0, 1], abs=1e-12)
    assert phi[0, 4] == pytest.approx(0.0, abs=1e-12)
    full = v2(masks[None, -1:])[0, 0] - v2(masks[None, :1])[0, 0]
    assert phi.sum() == pytest.approx(full, abs=1e-9)


def test_permutation_converges_to_exact_and_banzhaf_differs():
    n, s = 4, 3
    table, v = table_game(n, s, seed=1)
    ex, _ = exact(v, n, s)
    rng = np.random.default_rng(0)
    errs = [np.abs(permutation(v, n, s, m, rng)[0] - ex).mean() for m in (8, 512, 8192)]
    assert errs[2] < errs[0] and errs[2] < 0.02
    est, se = permutation(v, n, s, 2000, rng)
    assert (np.abs(est - ex) < 5 * se + 1e-9).all()  # within 5 standard errors
    # Banzhaf: the mean marginal over uniformly random coalitions of the others
    masks = all_coalitions(n)
    bz = np.stack([(table[:, np.flatnonzero(~masks[:, i]) | (1 << i)]
                    - table[:, np.flatnonzero(~masks[:, i])]).mean(1) for i in range(n)], 1)  # fmt: skip
    est, _ = banzhaf(v, n, s, 20000, rng)
    np.testing.assert_allclose(est, bz, atol=0.05)
    assert np.abs(bz - ex).max() > 0.05  # not the Shapley value on a generic game


@pytest.mark.parametrize("removal", ["zero", "random"])
def test_models_that_ignore_neighbours_get_exactly_zero_neighbour_attribution(removal):
    scenes = synthetic_interaction(20, seed=0)
    torch.manual_seed(0)
    for model in (ConstantVelocity(k=3), PastLSTM(k=3, hidden=8).eval()):
        att = ShapleyAttribution(model, removal=removal, estimator="exact").attribute(scenes)
        assert att.players[0] == "past" and att.players[-1] == "random neighbour 1"
        assert (att.phi[:, 1:] == 0).all()
        np.testing.assert_allclose(att.phi.sum(1), att.v_all - att.v_none, atol=1e-5)


def test_social_model_attribution_efficiency_and_estimators_agree():
    scenes = synthetic_interaction(12, seed=1)
    torch.manual_seed(0)
    model = SocialAttention(k=2, hidden=8).eval()
    ex = ShapleyAttribution(model, estimator="exact").attribute(scenes)
    np.testing.assert_allclose(ex.phi.sum(1), ex.v_all - ex.v_none, atol=1e-5)
    assert not ex.phi[~ex.active].any()
    assert (ex.active[:, 1:-1].sum(1) == scenes.present[:, 1:].sum(1)).all()
    pm = ShapleyAttribution(model, estimator="permutation", n_samples=400).attribute(scenes)
    assert np.abs(pm.phi - ex.phi).max() < 6 * pm.stderr.max() + 1e-6
    out = ShapleyAttribution(model, value="output", estimator="exact").attribute(scenes)
    np.testing.assert_allclose(out.v_all, 0, atol=1e-6)


def test_matched_null_and_past_kept_games():
    scenes = synthetic_interaction(16, seed=2)
    torch.manual_seed(0)
    model = SocialAttention(k=2, hidden=8).eval()
    att = ShapleyAttribution(model, estimator="exact", matched_null=True).attribute(scenes)
    real = scenes.present[:, 1:].sum(1)
    rand = [i for i, p in enumerate(att.players) if p.startswith("random")]
    # as many injected random neighbours as real ones, at least one
    assert (att.active[:, rand].sum(1) == np.maximum(real, 1)).all()
    np.testing.assert_allclose(att.phi.sum(1), att.v_all - att.v_none, atol=1e-5)
    has = real > 0
    assert np.isfinite(att.strongest()[has]).all() and np.isnan(att.strongest()[~has]).all()
    assert (att.strongest("random") >= att.neighbour_mean("random") - 1e-12).all()
    kept = ShapleyAttribution(model, estimator="exact", keep_past=True).attribute(scenes)
    assert not kept.active[:, 0].any() and (kept.phi[:, 0] == 0).all()
    # the past is in every coalition: v(none) is the past-only value
    np.testing.assert_allclose(kept.phi.sum(1), kept.v_all - kept.v_none, atol=1e-5)
    with pytest.raises(ValueError, match="kind must be"):
        att.strongest("past")


def test_random_removal_draws_real_agents_of_other_scenes_deterministically():
    pool_scene = np.repeat(np.arange(5), 3)
    sc = np.repeat(np.arange(5), 40)
    draw = np.tile(np.arange(40), 5)
    idx = stand_in_index(pool_scene, sc, draw, 4, seed=0)
    assert idx.shape == (200, 4) and (pool_scene[idx] != sc[:, None]).all()
    assert len(np.unique(idx)) == 15  # every agent gets drawn
    assert np.array_equal(idx, stand_in_index(pool_scene, sc, draw, 4, seed=0))
    assert not np.array_equal(idx, stand_in_index(pool_scene, sc, draw, 4, seed=1))
    # a row's draws do not depend on the batch it is in
    assert np.array_equal(idx[7:9], stand_in_index(pool_scene, sc[7:9], draw[7:9], 4, seed=0))


def test_bad_input_is_refused_before_work():
    scenes = synthetic_interaction(5, seed=0)
    model = ConstantVelocity(k=2)
    with pytest.raises(ValueError, match="estimator must be one of"):
        ShapleyAttribution(model, estimator="kernel")
    bad = synthetic_interaction(5, seed=0)
    bad.past[2, 0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN/inf positions.*scene: 2"):
        ShapleyAttribution(model).attribute(bad)
    short = scenes.subset(slice(None))
    short.past = scenes.past[:, :, -1:]
    with pytest.raises(ValueError, match="1 observed steps, the model needs 2"):
        ShapleyAttribution(model).attribute(short)

    class Wrong(torch.nn.Module):
        def forward(self, past, present):
            return past[:, 0]

    with pytest.raises(ValueError, match=r"model must return \(B, K, 12, 2\)"):
        ShapleyAttribution(Wrong()).attribute(scenes)
