"""Metrics of recommendation in both directions (Ma et al., ICLR 2022, Section 5).

An assignment is a boolean (users, items) matrix: ItemRec gives each user its top-k items,
UserRec each item its top-C users. Precision and recall are micro-averaged (hits over all
recommended pairs, hits over all true pairs). Item perplexity is exp(entropy) of how the
recommended pairs spread over items (1 = everybody gets the same item, n_items = perfectly
even); user perplexity likewise over users; coverage = share of items recommended at least once.
"""

from __future__ import annotations

import numpy as np


def top_k(
    scores: np.ndarray, k: int, *, axis: int = 1, exclude: np.ndarray | None = None
) -> np.ndarray:
    """Boolean assignment of the ``k`` best entries along ``axis`` (1: items per user, 0: users
    per item); ``exclude`` (bool, same shape) marks pairs that may not be recommended, e.g. the
    training interactions."""
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[axis]
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}] (the size along axis {axis}), got {k}")
    if exclude is not None:
        s = np.where(exclude, -np.inf, s)
    idx = np.argsort(-s, axis=axis, kind="stable")
    idx = idx[:, :k] if axis == 1 else idx[:k, :]
    out = np.zeros(s.shape, dtype=bool)
    np.put_along_axis(out, idx, True, axis=axis)
    if exclude is not None:
        out &= ~exclude
    return out


def _perplexity(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum())) if len(p) else 0.0


def assignment_metrics(assigned: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """precision, recall, item_perplexity, user_perplexity and item_coverage of a boolean
    assignment against the boolean ``truth`` of the test period."""
    a, t = np.asarray(assigned, dtype=bool), np.asarray(truth, dtype=bool)
    if a.shape != t.shape:
        raise ValueError(f"assigned {a.shape} and truth {t.shape} must have the same shape")
    hits = float((a & t).sum())
    return {
        "precision": hits / max(a.sum(), 1),
        "recall": hits / max(t.sum(), 1),
        "item_perplexity": _perplexity(a.sum(0).astype(np.float64)),
        "user_perplexity": _perplexity(a.sum(1).astype(np.float64)),
        "item_coverage": float((a.sum(0) > 0).mean()),
    }
