"""PSA-GAN experiment pieces: the held-out split, the trivial generators, the yardstick."""

import numpy as np
import pytest

from reprkit.datasets.timeseries import synthetic_series
from reprkit.methods.psagan.experiment import (
    Yardstick,
    holdout_split,
    resolve_config,
    seasonal_profile,
)


def test_holdout_split_keeps_positions_and_never_overlaps():
    v = np.arange(20, dtype=float).reshape(2, 10)
    v[1, 8:] = np.nan  # a shorter series
    train, held = holdout_split(v, 0.2)
    assert np.isnan(train[0, 8:]).all() and (held[0, 8:] == [8, 9]).all()
    assert np.isnan(held[0, :8]).all() and (train[0, :8] == v[0, :8]).all()
    assert np.isnan(train[1, 6:]).all() and (held[1, 6:8] == [16, 17]).all()
    assert not (~np.isnan(train) & ~np.isnan(held)).any()


def test_seasonal_profile_repeats_each_windows_mean_period():
    w = np.array([[0.0, 1, 2, 3, 4, 5], [1, 1, 1, 3, 3, 3]])
    out = seasonal_profile(w, 3)
    assert np.allclose(out, [[1.5, 2.5, 3.5] * 2, [2, 2, 2] * 2])


@pytest.fixture(scope="module")
def yard():
    d = synthetic_series(n_series=12, length=400, seed=0)
    cfg = resolve_config("smoke", {"n_eval": 200, "fid_steps": 30})
    train, held = holdout_split(d.values, cfg.holdout)
    return Yardstick(train, held, d.seasons, 32, cfg)


def test_yardstick_anchors_are_ordered_and_conditioning_matters(yard):
    scores = {n: yard.evaluate(*yard.anchor(n, 0)) for n in ("real", "real_train", "noise_matched")}
    assert np.isfinite(list(scores["real_train"].values())).all()
    assert scores["real"]["context_fid"] < scores["noise_matched"]["context_fid"]
    assert scores["real"]["max_abs_bias"] < 0.5
    assert yard.shuffled_fjd(0) > scores["real"]["context_fjd"]
    # seasonal_train: each series' mean training day, repeated with the season
    st = yard.anchor("seasonal_train", 0)[0]
    p = int(yard.seasons[0])
    assert st.shape == yard.ref[0].shape and np.isfinite(st).all()
    assert np.allclose(st[:, p:], st[:, :-p]) and st.std(1).mean() > 0
    # a shared offset is level, not shape; a pulled first step is shape
    ref = yard.ref[0]
    sd = ref.std(1).mean()
    shifted = yard.evaluate(ref + 0.5 * sd)
    assert abs(shifted["level_bias"] - 0.5) < 1e-6 and shifted["max_abs_bias"] < 1e-6
    pulled = ref.copy()
    pulled[:, 0] -= 0.8 * sd
    assert yard.evaluate(pulled)["max_abs_bias"] > 0.7
    # reference windows never come from the training part
    assert (yard.ref[2] >= yard.train.lengths[yard.ref[1]]).all() and len(yard.ref[0]) == 200
