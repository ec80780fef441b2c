"""The systematic splits keep the paper's properties; R² is normalised over the full grid."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from reprkit.datasets.factors import load_factor_images, render_dsprites
from reprkit.methods.indomain.splits import KINDS, evaluate, make_split, r2_per_factor
from tests.conftest import shared_file

GRID = np.array(list(itertools.product(range(3), range(6), range(10), range(16), range(16))))
SPLIT = [1, 2, 3, 4]  # shape is not split


@pytest.mark.parametrize("kind", KINDS)
def test_masks_are_disjoint_cover_everything_and_keep_the_unsplit_factor(kind):
    train, test = make_split(GRID, kind, 0.2, seed=0, split_factors=SPLIT)
    assert not (train & test).any() and (train | test).all()
    for part in (train, test):
        assert set(GRID[part, 0]) == {0, 1, 2}  # every shape on both sides


def test_extrapolation_holds_out_the_top_values():
    train, test = make_split(GRID, "extrapolation", 0.2, split_factors=SPLIT)
    for c, n in zip(SPLIT, (6, 10, 16, 16), strict=True):
        k = int(np.ceil(0.2 * n))
        assert GRID[train, c].max() == n - k - 1  # training never sees the top k values
        assert set(GRID[test, c]) == set(range(n))
    # every test image has at least one held-out value
    held = np.zeros(len(GRID), dtype=bool)
    for c, n in zip(SPLIT, (6, 10, 16, 16), strict=True):
        held |= GRID[:, c] >= n - int(np.ceil(0.2 * n))
    assert np.array_equal(held, test)


def test_interpolation_spreads_the_held_out_values_as_the_official_generator():
    train, _ = make_split(GRID, "interpolation", 0.2, split_factors=SPLIT)
    official = {6: {1, 4}, 10: {2, 7}, 16: {2, 6, 9, 13}}  # never the end points
    for c, n in zip(SPLIT, (6, 10, 16, 16), strict=True):
        missing = set(range(n)) - set(GRID[train, c])
        assert missing == official[n] and len(missing) == int(np.ceil(0.2 * n))


def test_composition_band_is_the_official_floor_of_q_n():
    train, test = make_split(GRID, "composition", 0.2, split_factors=SPLIT)
    q = 1 - (1 - 0.8**4) ** (1 / 4)  # 4 split factors
    bands = {c: int(np.floor(q * n)) for c, n in zip(SPLIT, (6, 10, 16, 16), strict=True)}
    assert bands == {1: 0, 2: 1, 3: 1, 4: 1}  # scale's band is empty on this grid
    in_band = np.stack([GRID[:, c] < b for c, b in bands.items()], 1)
    assert in_band[train].any(1).all() and not in_band[test].any()
    for c in SPLIT:  # every single value is seen in training, only combinations are new
        assert set(GRID[train, c]) == set(GRID[:, c])


@pytest.mark.parametrize("kind", KINDS)
def test_every_split_tests_on_seven_tenths_of_the_full_dsprites_grid(kind):
    """The official unit test: on dSprites' full grid (3 x 6 x 40 x 32 x 32, shape not split,
    ratio 0.2) each split's test fraction rounds to 0.7."""
    full = np.indices((3, 6, 40, 32, 32)).reshape(5, -1).T
    test = make_split(full, kind, 0.2, seed=0, split_factors=SPLIT)[1]
    assert round(float(test.mean()), 1) == 0.7


def test_random_split_has_the_extrapolation_size_and_depends_on_the_seed():
    ext = make_split(GRID, "extrapolation", 0.2, split_factors=SPLIT)[1].sum()
    a = make_split(GRID, "random", 0.2, seed=0, split_factors=SPLIT)[1]
    b = make_split(GRID, "random", 0.2, seed=1, split_factors=SPLIT)[1]
    assert a.sum() == b.sum() == ext and not np.array_equal(a, b)
    assert np.array_equal(a, make_split(GRID, "random", 0.2, seed=0, split_factors=SPLIT)[1])


def test_bad_splits_are_refused():
    with pytest.raises(ValueError, match="ratio must be in"):
        make_split(GRID, "random", 1.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        make_split(GRID, "diagonal", 0.2)
    with pytest.raises(ValueError, match="holds out all"):
        make_split(GRID, "extrapolation", 0.99, split_factors=[0])
    with pytest.raises(ValueError, match="interior values"):
        make_split(GRID, "interpolation", 0.5, split_factors=[0])
    with pytest.raises(ValueError, match="column indices"):
        make_split(GRID, "random", 0.2, split_factors=[7])


def test_r2_is_normalised_over_the_grid_and_evaluate_takes_any_model():
    values = GRID[:, 1:].astype(float)
    assert np.allclose(r2_per_factor(values, values, values), 1.0)
    mean_pred = np.broadcast_to(values.mean(0), values.shape)
    assert np.allclose(r2_per_factor(mean_pred, values, values), 0.0)
    imgs = torch.zeros(len(values), 1, 2, 2)
    r2 = evaluate(lambda x: torch.zeros(len(x), 4), imgs, values, values)
    assert r2.shape == (4,) and (r2 < 0).all()
    with pytest.raises(ValueError, match="same length"):
        evaluate(lambda x: x, imgs[:5], values, values)
    with pytest.raises(ValueError, match="predict_fn must return"):
        evaluate(lambda x: torch.zeros(len(x), 2), imgs, values, values)


def test_renderer_is_a_full_grid_of_distinct_images():
    d = render_dsprites(size=24, scales=2, orientations=3, positions=3)
    assert d.images.shape == (3 * 2 * 3 * 3 * 3, 1, 24, 24) and d.sizes == (3, 2, 3, 3, 3)
    hearts = d.images[d.factors[:, 0] == 2]  # asymmetric: every factor combination differs
    assert len({tuple(img.flatten().tolist()) for img in hearts}) == len(hearts)
    # orientation is ill-posed for symmetric shapes: a square turned by 180 degrees is itself
    sym = render_dsprites(size=24, scales=1, orientations=2, positions=1)
    assert torch.equal(sym.images[0], sym.images[1]) and not torch.equal(
        sym.images[4], sym.images[5]
    )
    assert (d.images.flatten(1).max(1).values == 255).all()  # every shape is drawn


def test_staged_dsprites_grid():
    shared_file("dsprites/dsprites_downsampled.npz")
    d = load_factor_images("dsprites")
    assert d.images.shape == (46080, 1, 64, 64) and d.sizes == (3, 6, 10, 16, 16)
    assert len(np.unique(d.factors, axis=0)) == 46080  # every combination once


def test_extrapolation_reach():
    from reprkit.methods.indomain.splits import extrapolation_reach

    train = np.array([[0.0, 0.0], [0.5, 1.0]])
    true = np.array([[0.75, 0.2], [1.0, 0.4]])
    np.testing.assert_allclose(extrapolation_reach(true, true, train), [1.0, np.nan])
    clipped = np.minimum(true, 0.5)
    np.testing.assert_allclose(extrapolation_reach(clipped, true, train)[0], 0.0)
    half = np.array([[0.625, 0.0], [0.75, 0.0]])
    np.testing.assert_allclose(extrapolation_reach(half, true, train)[0], 0.5)
