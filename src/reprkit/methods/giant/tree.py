"""GIANT's label side: neighbourhood labels, PIFA label features and the hierarchical label tree.

numpy / scipy only (the default backend); ``reprkit[pecos]`` builds the same objects with PECOS
(:mod:`reprkit.methods.giant.pecos_backend`, ``tree.backend="pecos"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize


def neighbour_labels(
    edge_index: np.ndarray, n: int, max_degree: int | None
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Labels of node i = its neighbours (Y: (N, N) 0/1 CSR) and the rows used for training.

    Hub nodes with more than ``max_degree`` neighbours are dropped as training rows (their label
    sets are long and noisy) but stay labels of their neighbours. Nodes without edges have no
    labels and are not training rows either.
    """
    src, dst = np.asarray(edge_index)
    y = sp.csr_matrix((np.ones(len(src), dtype=np.float32), (src, dst)), shape=(n, n))
    y.data[:] = 1.0  # duplicate edges count once
    deg = np.diff(y.indptr)
    rows = deg > 0 if max_degree is None else (deg > 0) & (deg <= max_degree)
    return y, np.flatnonzero(rows)


def pifa(y: sp.csr_matrix, x: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """Positive Instance Feature Aggregation: label j's feature is the L2-normalised sum of the
    (L2-normalised) TF-IDF rows of the training nodes that have label j. (L, V) CSR."""
    z = y[rows].T.tocsr() @ normalize(x[rows])
    return normalize(z).tocsr()


@dataclass
class LabelTree:
    """A balanced hierarchical clustering of the labels, coarse to fine.

    ``assign[l][j]`` is the cluster of label j at level l (0 = coarsest); the last level is the
    labels themselves. ``sizes[l]`` is the number of clusters at level l.
    """

    assign: list[np.ndarray]

    @property
    def sizes(self) -> list[int]:
        return [int(a.max()) + 1 for a in self.assign]

    def parent(self, level: int) -> np.ndarray:
        """Cluster id at ``level - 1`` of every cluster at ``level`` (K_level,)."""
        out = np.empty(self.sizes[level], dtype=np.int64)
        out[self.assign[level]] = self.assign[level - 1]
        return out

    def counts(self, y: sp.csr_matrix, level: int) -> sp.csr_matrix:
        """(N, K_level): how many labels of each row fall in each cluster at ``level`` (Y C, the
        official XR-Transformer's per-level targets)."""
        a = self.assign[level]
        m = sp.csr_matrix(
            (np.ones(len(a), dtype=np.float32), (np.arange(len(a)), a)),
            shape=(len(a), self.sizes[level]),
        )
        return (y @ m).tocsr()

    def relevant(self, y: sp.csr_matrix, level: int) -> sp.csr_matrix:
        """(N, K_level) 0/1: clusters at ``level`` that hold at least one label of each row."""
        r = self.counts(y, level)
        r.data[:] = 1.0
        return r

    def children(self, level: int) -> sp.csr_matrix:
        """(K_{level-1}, K_level) 0/1: which clusters at ``level`` each parent holds."""
        par = self.parent(level)
        k = self.sizes[level]
        return sp.csr_matrix(
            (np.ones(k, dtype=np.float32), (par, np.arange(k))), shape=(self.sizes[level - 1], k)
        )


def _bisect(z: sp.csr_matrix, idx: np.ndarray, rng: np.random.Generator, iters: int) -> np.ndarray:
    """Balanced spherical 2-means of the rows ``idx``: True for the first half."""
    sub = z[idx]
    c = normalize(sub[rng.choice(len(idx), 2, replace=False)].toarray())
    half = (len(idx) + 1) // 2
    first = np.zeros(len(idx), dtype=bool)
    for _ in range(iters):
        score = np.asarray(sub @ (c[0] - c[1])).ravel()
        order = np.argsort(-score, kind="stable")
        first[:] = False
        first[order[:half]] = True
        c = normalize(np.vstack([np.asarray(sub[first].sum(0)), np.asarray(sub[~first].sum(0))]))
    return first


def build_tree(
    z: sp.csr_matrix,
    *,
    branching: int = 32,
    max_leaf_size: int = 100,
    iters: int = 10,
    seed: int = 0,
) -> LabelTree:
    """Balanced spherical k-means tree of the label features ``z`` (L, V), as PECOS builds it.

    Recursive balanced 2-means to binary depth ``d = ceil(log2(L / max_leaf_size))`` (finest
    clusters hold at most ~``max_leaf_size`` labels); every ``log2(branching)`` binary splits
    make a level (the coarsest level takes the remainder); the labels themselves form the last
    level.
    """
    if branching < 2 or branching & (branching - 1):
        raise ValueError(f"branching must be a power of 2 and >= 2, got {branching}")
    n = z.shape[0]
    rng = np.random.default_rng(seed)
    if n <= max_leaf_size:
        return LabelTree([np.zeros(n, dtype=np.int64), np.arange(n)])
    depth = max(1, int(np.ceil(np.log2(n / max_leaf_size))))
    step = int(np.log2(branching))
    cuts = set(range(depth, 0, -step))  # binary depths at which a level is recorded
    clusters = [np.arange(n)]
    levels: list[np.ndarray] = []
    for d in range(1, depth + 1):
        nxt = []
        for c in clusters:
            if len(c) < 2:
                nxt.append(c)
                continue
            first = _bisect(z, c, rng, iters)
            nxt += [c[first], c[~first]]
        clusters = nxt
        if d in cuts:
            a = np.empty(n, dtype=np.int64)
            for k, c in enumerate(clusters):
                a[c] = k
            levels.append(a)
    levels.append(np.arange(n))
    return LabelTree(levels)
