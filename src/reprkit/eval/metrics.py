"""Metric helpers (thin and tested)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np


def paired_difference(
    a: Sequence[float], b: Sequence[float], higher_is_better: bool = True
) -> tuple[float, float, int]:
    """Per-seed differences ``a - b`` of two rows run on the same seeds: (mean, sample std,
    number of seeds where ``a`` is better). The basis of every "A beats B" claim."""
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(
            f"paired_difference needs two equally long non-empty lists, got {len(a)}, {len(b)}"
        )
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean, std = mean_std(diff)
    return mean, std, int(((diff > 0) if higher_is_better else (diff < 0)).sum())


def paired_text(a: Sequence[float], b: Sequence[float], higher_is_better: bool = True) -> str:
    """``"+m ± sd (p P; W/N)"``: the paired per-seed difference ``a - b``, its two-sided paired
    t-test p (nan when every difference is equal) and the seeds where ``a`` is better."""
    from scipy.stats import ttest_rel

    m, sd, wins = paired_difference(a, b, higher_is_better)
    p = float(ttest_rel(a, b).pvalue) if sd > 0 else float("nan")
    return f"{m:+.3g} ± {sd:.3g} (p {p:.2g}; {wins}/{len(a)})"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value) ignoring nothing.

    Raises on NaN so that a broken seed is never averaged away silently.
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("mean_std needs at least one value")
    if np.isnan(arr).any():
        raise ValueError(f"mean_std got NaN among {list(values)}")
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return float(arr.mean()), std


def feature_contribution_ratio(acc_gnn: float, acc_mlp: float, acc_lp: float) -> float:
    """Cold Brew's Feature Contribution Ratio (FCR) from GNN, MLP and label-propagation accuracy.

    ``δ_MLP = a_GNN − a_MLP`` is what the graph adds to the features and ``δ_LP = a_GNN − a_LP``
    what the features add to the graph. When both are non-negative, ``FCR = δ_LP / (δ_MLP +
    δ_LP)`` in [0, 1]: the share of the GNN's edge over the one-sided models that comes from
    features. When the MLP beats the GNN (``δ_MLP < 0``: the graph hurts), FCR exceeds 1:
    ``1 + |δ_MLP| / (|δ_MLP| + δ_LP)``; when label propagation beats the GNN (``δ_LP < 0``), FCR
    is below 0 symmetrically. # paper: the two out-of-range branches are our reading of the
    paper's remark that FCR leaves [0, 1] when a one-sided model beats the GNN.
    """
    d_mlp, d_lp = acc_gnn - acc_mlp, acc_gnn - acc_lp
    if d_mlp >= 0 and d_lp >= 0:
        return d_lp / (d_mlp + d_lp) if d_mlp + d_lp > 0 else math.nan
    if d_mlp < 0 <= d_lp:
        return 1 + abs(d_mlp) / (abs(d_mlp) + d_lp)
    if d_lp < 0 <= d_mlp:
        return -abs(d_lp) / (abs(d_lp) + d_mlp)
    return math.nan  # both one-sided models beat the GNN: undefined


def spearman(pred: Sequence[float], gold: Sequence[float]) -> float:
    """Spearman rank correlation; -inf where undefined (constant predictions), so that an
    undefined score never wins a model selection."""
    from scipy.stats import spearmanr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: handled below
        v = float(spearmanr(pred, gold).statistic)
    return v if np.isfinite(v) else -np.inf


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment of two representations of the same n items ((n, d1),
    (n, d2)): 1 for representations equal up to rotation and isotropic scale, near 0 for
    unrelated ones (Kornblith et al., ICML 2019, Eq. for linear CKA)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka needs (n, d) arrays of equal n, got {x.shape} and {y.shape}")
    x = x - x.mean(0)
    y = y - y.mean(0)
    cross = np.linalg.norm(y.T @ x) ** 2
    return float(cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def mean_cosine(x: np.ndarray, y: np.ndarray) -> float:
    """Mean cosine similarity of matching rows of two (n, d) arrays."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"mean_cosine needs arrays of one shape, got {x.shape} and {y.shape}")
    num = (x * y).sum(1)
    den = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    return float(np.mean(num / np.maximum(den, 1e-12)))
