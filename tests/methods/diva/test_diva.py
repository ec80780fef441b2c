"""DIVA: the closed forms are exact (LOO, derivative, influence identity) and inputs are checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reprkit.methods.diva import DIVA
from reprkit.methods.diva.baselines import SCORERS, influence
from reprkit.methods.diva.method import loo_predictions, ridge_fit, sample_loss


def _data(n=40, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=g)
    Y = torch.nn.functional.one_hot(y, k).to(torch.float64)
    alpha = torch.rand(n, generator=g, dtype=torch.float64) * 2
    alpha[:3] = 0.0  # samples with weight 0 are part of the test
    return Z, y, Y, alpha


def _brute_loo(Z, Y, alpha, lam):
    rows = []
    for i in range(len(Z)):
        a = alpha.clone()
        a[i] = 0  # removing i == giving it weight 0 (it then has no effect on the fit)
        W, _, _ = ridge_fit(Z, Y, a, lam)
        rows.append(Z[i] @ W)
    return torch.stack(rows)


def test_closed_form_loo_equals_brute_force_refits():
    Z, _, Y, alpha = _data()
    fast = loo_predictions(Z, Y, alpha, 0.7)
    torch.testing.assert_close(fast, _brute_loo(Z, Y, alpha, 0.7), atol=1e-10, rtol=0)
    # a weight-0 sample's LOO prediction is the full fit's prediction
    _, P, _ = ridge_fit(Z, Y, alpha, 0.7)
    torch.testing.assert_close(fast[:3], P[:3], atol=1e-12, rtol=0)


def test_loo_prediction_does_not_depend_on_its_own_weight():
    Z, _, Y, alpha = _data()
    a = alpha.clone().requires_grad_(True)
    f = loo_predictions(Z, Y, a, 0.7)
    for i in (0, 5, 17):  # d f^{-i}(z_i) / d alpha_i = 0, also at alpha_i = 0 (i = 0)
        (g,) = torch.autograd.grad(f[i].sum(), a, retain_graph=True)
        assert abs(float(g[i])) < 1e-12


@pytest.mark.parametrize("loss", ["squared", "ce"])
def test_derivative_matches_brute_force_autograd_and_finite_differences(loss):
    Z, y, Y, alpha = _data(n=25, d=4)
    lam = 0.5

    def fast(a):
        return sample_loss(loo_predictions(Z, Y, a, lam), y, loss, 0.5).mean()

    def brute(a):
        return sample_loss(_brute_loo(Z, Y, a, lam), y, loss, 0.5).mean()

    a = alpha.clone().requires_grad_(True)
    (g_fast,) = torch.autograd.grad(fast(a), a)
    a2 = alpha.clone().requires_grad_(True)
    (g_brute,) = torch.autograd.grad(brute(a2), a2)
    torch.testing.assert_close(g_fast, g_brute, atol=1e-10, rtol=0)
    h = 1e-6
    for j in (0, 4, 11):
        e = torch.zeros_like(alpha)
        e[j] = h
        fd = (fast(alpha + e) - fast(alpha - e)) / (2 * h)
        assert float(fd) == pytest.approx(float(g_fast[j]), abs=1e-7)


@pytest.mark.parametrize("loss", ["squared", "ce"])
def test_validation_derivative_is_the_influence_function(loss):
    Z, y, _, _ = _data(n=50, d=4)
    vz, vy, _, _ = _data(n=20, d=4, seed=1)
    m = DIVA(lam=0.3, loss=loss).fit(Z.numpy(), y.numpy(), val=(vz.numpy(), vy.numpy()))
    np.testing.assert_allclose(m.score_samples("val"), influence(m), atol=1e-12)


@pytest.mark.parametrize("loss", ["squared", "ce"])
def test_a_mislabelled_copy_is_flagged_harmful(loss):
    g = torch.Generator().manual_seed(0)
    centers = torch.tensor([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]], dtype=torch.float64)
    y = torch.arange(60) % 3
    Z = centers[y] + 0.5 * torch.randn(60, 2, generator=g, dtype=torch.float64)
    y_noisy = y.clone()
    y_noisy[:6] = (y[:6] + 1) % 3
    m = DIVA(loss=loss, temperature=0.5).fit(Z, y_noisy)
    s = m.score_samples()
    assert (s[:6] > 0).all() and np.median(s[6:]) < s[:6].min()
    assert m.detect()[:6].all()


def test_reweight_zero_steps_is_identity_and_steps_lower_the_objective():
    Z, y, _, _ = _data(n=60, d=4)
    m = DIVA(lam=1.0).fit(Z, y)
    before = float(m.objective())
    w0 = m.sample_weights_
    assert np.array_equal(m.reweight(steps=0).sample_weights_, w0)
    m.reweight(steps=3, lr=0.3)
    assert float(m.objective()) < before and (m.sample_weights_ >= 0).all()
    x, lab, w = m.transform()
    assert len(x) == len(lab) == len(w) == int((m.sample_weights_ > 0).sum())


def test_reweight_rules_and_objectives():
    Z, y, _, _ = _data(n=60, d=4)
    vz, vy, _, _ = _data(n=20, d=4, seed=2)
    m = DIVA(lam=1.0).fit(Z, y, val=(vz, vy))
    g = m.score_samples("val")
    plain = DIVA(lam=1.0).fit(Z, y, val=(vz, vy)).reweight(1, lr=2.0, rule="plain")
    np.testing.assert_allclose(plain.sample_weights_, np.clip(1 - 2.0 * g, 0, None))
    norm = DIVA(lam=1.0).fit(Z, y, val=(vz, vy)).reweight(1, objective="val")
    np.testing.assert_allclose(norm.sample_weights_, np.clip(1 - 0.5 * g / abs(g).max(), 0, None))
    before = float(m.objective(objective="val"))
    assert float(m.reweight(3, objective="val").objective(objective="val")) < before
    with pytest.raises(ValueError, match="rule must be one of"):
        m.reweight(1, rule="sgd")
    with pytest.raises(ValueError, match="objective must be one of"):
        m.reweight(1, objective="validation")
    with pytest.raises(ValueError, match="objective='val' needs validation data"):
        DIVA(lam=1.0).fit(Z, y).reweight(1, objective="val")


def test_extend_adds_helpful_pool_samples_only():
    Z, y, _, _ = _data(n=30, d=4)
    pz, py, _, _ = _data(n=20, d=4, seed=3)
    m = DIVA(lam=1.0).fit(Z, y)
    added = m.extend(pz, py)
    assert len(set(added.tolist())) == len(added) <= 20
    assert len(m.y_) == 30 + len(added)


def test_lam_is_chosen_by_loo_and_fits_are_fast_enough_to_call_often():
    Z, y, _, _ = _data(n=80, d=6)
    m = DIVA().fit(Z, y)
    assert m.lam_ in m.config.lam_grid
    assert m.lam_errors_[m.lam_] == min(m.lam_errors_.values())


def test_every_scorer_gives_one_score_per_sample():
    Z, y, _, _ = _data(n=40, d=4)
    vz, vy, _, _ = _data(n=10, d=4, seed=2)
    m = DIVA(lam=1.0).fit(Z, y, val=(vz, vy))
    for name, fn in SCORERS.items():
        s = fn(m)
        assert s.shape == (40,) and np.isfinite(s).all(), name


def test_bad_input_is_refused():
    Z, y, _, _ = _data(n=20, d=4)
    bad = Z.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        DIVA().fit(bad, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        DIVA().fit(Z, torch.zeros(20, dtype=torch.long))
    with pytest.raises(ValueError, match="one per row"):
        DIVA().fit(Z, y[:5])
    with pytest.raises(ValueError, match="lam=0 needs at least as many samples"):
        DIVA(lam=0.0).fit(Z[:3], torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="sample_weight must be"):
        DIVA().fit(Z, y, sample_weight=-torch.ones(20))
    with pytest.raises(ValueError, match="expected one of"):
        DIVA(loss="hinge").fit(Z, y)


def test_experiment_smoke_run(tmp_path):
    import json

    from reprkit.methods.diva import experiment

    out = experiment.run("synthetic_blobs", seeds=[0, 1], profile="smoke", out=tmp_path / "r")
    m = json.loads((out / "metrics.json").read_text())
    rows = {(r["model"], r["metric"]): r for r in m["results"]}
    # blobs with 40 % of each class moved to the next class: the clean validation set sees it
    assert rows[("diva_val@pairflip40", "detect_auc")]["mean"] > 0.8
    assert rows[("random@pairflip40", "detect_auc")]["mean"] < 0.7
    acc = {k[0]: r["mean"] for k, r in rows.items() if k[1] == "test_acc"}
    gap = acc["oracle@pairflip40"] - acc["original@pairflip40"]
    assert gap > 0.02 and acc["diva@pairflip40"] - acc["original@pairflip40"] > gap / 2
    assert acc["oracle@imbalance"] >= acc["original@imbalance"] - 0.02
    assert not any(k[0].endswith("@imbalance") and k[1] == "detect_auc" for k in rows)
    assert {"extend_curve.png", "results.md"} <= {p.name for p in out.iterdir()}
    with pytest.raises(ValueError, match="settings must be uniform<P>"):
        experiment.run("synthetic_blobs", seeds=[0], profile="smoke",
                       overrides={"settings": ("noisy",)})  # fmt: skip


def test_settings_corrupt_as_named():
    from reprkit.methods.diva.experiment import corrupt, resolve_config, split

    y = np.repeat(np.arange(4), 50)
    tr, va, te = split(y, 0, val_frac=0.1)
    assert np.bincount(y[va]).tolist() == [5, 5, 5, 5]  # balanced
    assert len(set(tr) | set(va) | set(te)) == len(y) and not set(tr) & set(te)
    cfg = resolve_config("smoke", {"minority_classes": 2})
    keep, given, flipped = corrupt(y, "pairflip20", 4, 0, cfg)
    assert len(keep) == 200 and flipped.sum() == 40
    assert ((given[flipped] - y[flipped]) % 4 == 1).all() and (given[~flipped] == y[~flipped]).all()
    assert np.bincount(y[flipped]).tolist() == [10, 10, 10, 10]  # class-conditional
    keep, given, flipped = corrupt(y, "imbalance", 4, 0, cfg)
    assert sorted(np.bincount(given).tolist()) == [5, 5, 50, 50] and not flipped.any()
