"""Systematic splits of a factor grid (Schott et al., ICLR 2022) and the R² readout score.

``factors`` is an ``(N, F)`` array of value *indices* (0 .. n_f - 1 for factor f, the grid's
lattice position). Only the ``split_factors`` (k of them) are held out; the others (e.g.
dSprites' shape) keep all their values in both parts. The bands follow the official split
generator (the paper's supplement; ``modify_datasets.py`` in the public port
vidurayashan/soft_tpr), with ``ratio`` = r:

* ``extrapolation``: the top ``ceil(r·n)`` values of each split factor are held out;
* ``interpolation``: as many values are held out, spread out: the training values are the
  ``n − ceil(r·n)`` points of an evenly spaced grid from the first to the last value, rounded
  (for n = 6, r = 0.2: {1, 4} held out; the end points always stay in training);
* for both, the test set is every image with *any* held-out value;
* ``composition``: the lowest ``floor(q·n)`` values of each split factor form a low band, with
  ``q = 1 − (1 − (1 − r)^k)^(1/k)`` (so the test share matches the other splits'); training
  images have at least one split factor inside its band, test images have all of them above
  it (the unseen corner of combinations);
* ``random``: a seeded random test set of the same size as the extrapolation split's.

On dSprites' full grid (3 × 6 × 40 × 32 × 32, shape not split, r = 0.2) every split tests on
67–74 % of the images (the official unit test: each rounds to 0.7).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from reprkit.core.validate import as_array, as_nchw

KINDS = ("random", "composition", "interpolation", "extrapolation")


def _check_factors(factors: Any) -> tuple[np.ndarray, list[str] | None]:
    """(N, F) non-negative value indices, and the factor names of a DataFrame (else None).

    A DataFrame's columns may hold raw factor values of any sortable type (scales 0.5 … 1.0,
    colour names): each becomes its value index in sorted order.
    """
    if hasattr(factors, "columns"):
        names = [str(c) for c in factors.columns]
        cols = []
        for c in factors.columns:
            col = factors[c].to_numpy()
            if col.dtype.kind in "iu" and (col >= 0).all():
                cols.append(col.astype(np.int64))
            else:
                try:
                    cols.append(np.unique(col, return_inverse=True)[1].reshape(-1))
                except TypeError:
                    raise TypeError(f"factors[{c!r}] holds values that cannot be sorted") from None
        f = np.stack(cols, 1) if cols else np.zeros((len(factors), 0), np.int64)
    else:
        names = None
        f = as_array(factors, "factors", finite=False, non_empty=False)
        if f.dtype.kind == "f" and np.all(f == np.round(f)):
            f = f.astype(np.int64)
    if f.ndim != 2 or len(f) == 0 or f.shape[1] == 0:
        raise ValueError(f"factors must be a non-empty (N, F) array, got shape {f.shape}")
    if not np.issubdtype(f.dtype, np.integer) or (f < 0).any():
        raise ValueError(
            "factors must hold non-negative integer value indices (or be a DataFrame of raw "
            "factor values)"
        )
    return f, names


def _split_columns(split_factors: Any, names: list[str] | None, n_factors: int) -> list[int]:
    """Column indices from indices or factor names (names need a DataFrame of factors)."""
    if split_factors is None:
        return list(range(n_factors))
    items = [split_factors] if isinstance(split_factors, (str, int)) else list(split_factors)
    cols = []
    for c in items:
        if isinstance(c, str):
            if names is None or c not in names:
                known = names if names is not None else "none: pass factors as a DataFrame"
                raise ValueError(f"split_factors: unknown factor {c!r}; known names: {known}")
            cols.append(names.index(c))
        else:
            cols.append(int(c))
    if not cols or any(c < 0 or c >= n_factors for c in cols):
        raise ValueError(
            f"split_factors must be column indices in [0, {n_factors}) or factor names, got {items}"
        )
    return cols


def held_out_values(n_values: int, kind: str, ratio: float, n_split: int = 1) -> np.ndarray:
    """The value indices of one factor that ``kind`` holds out (composition: its low band;
    ``n_split``: how many factors are split, which sets the composition band)."""
    k = math.ceil(ratio * n_values)
    if kind == "extrapolation":
        vals = np.arange(n_values - k, n_values)
    elif kind == "interpolation":
        if n_values < 3 or k > n_values - 2:
            raise ValueError(
                f"interpolation needs {k} interior values of a factor with {n_values} values; "
                "use a smaller ratio or leave this factor out of split_factors"
            )
        # the training values: n - k points spaced evenly from the first value to the last
        kept = np.round(np.linspace(0, n_values - 1, n_values - k)).astype(int)
        vals = np.setdiff1d(np.arange(n_values), kept)
    else:  # composition: the low band, sized so the test share matches the other splits'
        q = 1 - (1 - (1 - ratio) ** n_split) ** (1 / n_split)
        vals = np.arange(math.floor(q * n_values))
    if len(vals) >= n_values:
        raise ValueError(
            f"ratio {ratio} holds out all {n_values} values of a factor: the training set "
            "would miss it entirely"
        )
    return vals


def composition_bands(sizes: Sequence[int], cols: Sequence[int], ratio: float) -> list[np.ndarray]:
    """The low band of each split factor ``cols`` of a grid of ``sizes`` values per factor."""
    bands = [held_out_values(int(sizes[c]), "composition", ratio, len(cols)) for c in cols]
    if not any(len(b) for b in bands):  # a grid too coarse for floor(q·n): one value each
        bands = [np.arange(1)] * len(cols)  # (the official code hard-codes q there)
    return bands


def make_split(
    factors: Any,
    kind: str,
    ratio: float,
    seed: int = 0,
    split_factors: Sequence[int | str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, test) masks over the rows of ``factors`` (disjoint, covering all).

    ``factors``: (N, F) value indices (numpy / torch / lists), or a DataFrame with one column
    per factor (raw values of any sortable type). ``split_factors``: the factors to hold out,
    by column index or (with a DataFrame) by name; default all.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if not 0 < ratio < 1:
        raise ValueError(f"ratio must be in (0, 1), got {ratio}")
    f, names = _check_factors(factors)
    cols = _split_columns(split_factors, names, f.shape[1])
    sizes = f.max(0) + 1
    if kind == "random":
        n_test = int(make_split(f, "extrapolation", ratio, seed, cols)[1].sum())
        test = np.zeros(len(f), dtype=bool)
        test[np.random.default_rng(seed).choice(len(f), n_test, replace=False)] = True
    elif kind == "composition":
        bands = composition_bands(sizes, cols, ratio)
        in_band = np.zeros(len(f), dtype=bool)
        for c, band in zip(cols, bands, strict=True):
            in_band |= np.isin(f[:, c], band)
        test = ~in_band
    else:
        test = np.zeros(len(f), dtype=bool)
        for c in cols:
            test |= np.isin(f[:, c], held_out_values(int(sizes[c]), kind, ratio))
    if test.all() or not test.any():
        raise ValueError(
            f"the {kind} split with ratio {ratio} leaves an empty "
            f"{'training' if test.all() else 'test'} set on this factor grid"
        )
    return ~test, test


def r2_per_factor(pred: Any, values: Any, grid_values: Any) -> np.ndarray:
    """R² per factor of predictions for ``values`` (N, F), both normalised to [0, 1] by the
    range of each factor over ``grid_values`` (the full factor grid), whose variance is the
    denominator (so a test set of one value is not scored against its own tiny variance)."""
    p, v, g = (np.asarray(a, dtype=np.float64) for a in (pred, values, grid_values))
    if p.shape != v.shape or p.ndim != 2 or g.ndim != 2 or g.shape[1] != v.shape[1]:
        raise ValueError(
            f"pred and values must both be (N, F) with F = grid columns, got {p.shape}, "
            f"{v.shape}, grid {g.shape}"
        )
    lo, hi = g.min(0), g.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    pn, vn, gn = (p - lo) / span, (v - lo) / span, (g - lo) / span
    var = gn.var(0)
    return 1 - ((pn - vn) ** 2).mean(0) / np.where(var > 0, var, 1.0)


def predict(
    predict_fn: Callable[[torch.Tensor], Any] | torch.nn.Module,
    images: torch.Tensor,
    batch_size: int = 512,
) -> np.ndarray:
    """Batched predictions of any model (a callable or an ``nn.Module``, put in eval mode) on
    images as numpy or torch, (N, C, H, W) or (N, H, W, C) (the model gets NCHW torch batches
    of the dtype that came in)."""
    images, _ = as_nchw(images, "images")
    if isinstance(predict_fn, torch.nn.Module):
        predict_fn.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            out = predict_fn(images[i : i + batch_size])
            outs.append(out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out)
    return np.concatenate(outs)


def evaluate(
    predict_fn: Callable[[torch.Tensor], Any] | torch.nn.Module,
    images: torch.Tensor,
    values: Any,
    grid_values: Any,
    batch_size: int = 512,
) -> np.ndarray:
    """R² per factor of any model (a callable or an ``nn.Module`` mapping an image batch to
    (B, F) factor predictions) on ``images`` with true ``values``."""
    values = np.asarray(values)
    if len(images) != len(values):
        raise ValueError(
            f"images and values must have the same length, got {len(images)} and {len(values)}"
        )
    pred = predict(predict_fn, images, batch_size)
    if pred.shape != values.shape:
        raise ValueError(
            f"predict_fn must return (B, {values.shape[1]}) predictions, "
            f"got {pred.shape[1:]} per batch"
        )
    return r2_per_factor(pred, values, grid_values)


def extrapolation_reach(pred: Any, values: Any, train_values: Any) -> np.ndarray:
    """Per factor, over the samples whose value lies beyond the training maximum: how far the
    predictions go past that edge, as a fraction of how far the true values go (0: predictions
    stop at the edge of the training range, 1: they follow the truth). NaN where no sample lies
    beyond."""
    p, v = np.asarray(pred, np.float64), np.asarray(values, np.float64)
    edge = np.asarray(train_values, np.float64).max(0)
    out = np.full(v.shape[1], np.nan)
    for c in range(v.shape[1]):
        beyond = v[:, c] > edge[c] + 1e-9
        if beyond.any():
            out[c] = (p[beyond, c] - edge[c]).mean() / (v[beyond, c] - edge[c]).mean()
    return out
