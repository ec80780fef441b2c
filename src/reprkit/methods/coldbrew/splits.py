"""Degree groups (head / tail / isolated), strict cold start, and node splits for Cold Brew."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from reprkit.datasets.graphs import node_degree


def _iterated_median(deg: np.ndarray, times: int, low: bool) -> np.ndarray:
    """Nodes kept after ``times`` rounds of "degree <= (>=) the median of the kept nodes"."""
    keep = np.arange(len(deg))
    for _ in range(times):
        med = np.median(deg[keep])
        keep = np.nonzero(deg <= med if low else deg >= med)[0]
    return keep


def degree_groups(
    edge_index: torch.Tensor,
    num_nodes: int,
    *,
    mode: Literal["official_median", "quantile"] = "official_median",
    isolated_frac: float = 0.2,
    tail_frac: float = 0.2,
    head_frac: float = 0.2,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Split nodes into ``isolated``, ``tail`` and ``head`` groups by degree (bool masks (N,)).

    ``official_median`` follows the released code: four rounds of "degree <= median" give a
    low-degree set whose lower half (by degree) is isolated and upper half is tail; five rounds
    of "degree >= median" give the head. On Cora: 534 isolated, 534 tail, 286 head.
    ``quantile`` follows the paper's text: the bottom ``isolated_frac`` of nodes by degree are
    isolated, the next ``tail_frac`` are tail, the top ``head_frac`` are head; ties in degree are
    broken by a seeded random order.
    """
    deg = node_degree(edge_index, num_nodes).numpy()
    n = num_nodes
    if mode == "official_median":
        low = _iterated_median(deg, 4, low=True)
        low = low[np.argsort(deg[low], kind="stable")]  # paper: stable sort (official: quicksort)
        iso, tail = low[: len(low) // 2], low[len(low) // 2 :]
        head = _iterated_median(deg, 5, low=False)
    elif mode == "quantile":
        tiebreak = np.random.default_rng(seed).permutation(n)
        order = np.lexsort((tiebreak, deg))  # by degree, then by the random tiebreak
        n_iso, n_tail, n_head = (int(round(f * n)) for f in (isolated_frac, tail_frac, head_frac))
        iso, tail = order[:n_iso], order[n_iso : n_iso + n_tail]
        head = order[n - n_head :]
    else:
        raise ValueError(f"mode must be 'official_median' or 'quantile', got {mode!r}")
    out = {}
    for name, idx in (("isolated", iso), ("tail", tail), ("head", head)):
        m = torch.zeros(n, dtype=torch.bool)
        m[torch.as_tensor(idx, dtype=torch.long)] = True
        out[name] = m
    return out


def isolate(edge_index: torch.Tensor, isolated: torch.Tensor) -> torch.Tensor:
    """Remove every edge that touches an isolated node (strict cold start)."""
    keep = ~(isolated[edge_index[0]] | isolated[edge_index[1]])
    return edge_index[:, keep]
