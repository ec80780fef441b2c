"""PECOS (``pip install 'reprkit[pecos]'``, the authors' library) as the backend for GIANT's
label side: PIFA label features and the hierarchical balanced spherical k-means tree.

libpecos pins numpy<2 and scipy<1.14, so it is optional; the default backend
(:mod:`reprkit.methods.giant.tree`) builds the same objects with numpy/scipy.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from reprkit.methods.giant.tree import LabelTree


def _pecos():
    try:
        from pecos.xmc import Indexer, LabelEmbeddingFactory
    except ImportError as e:
        raise ImportError(
            "tree.backend='pecos' needs libpecos (numpy<2, scipy<1.14): "
            "pip install 'reprkit[pecos]' in an environment that allows them"
        ) from e
    return Indexer, LabelEmbeddingFactory


def check_available() -> None:
    """Raise a clear ImportError before any work when libpecos is missing."""
    _pecos()


def pecos_pifa(y: sp.csr_matrix, x: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """PECOS's PIFA over the training rows (it L2-normalises Y's rows, ours X's)."""
    _, factory = _pecos()
    z = factory.create(y[rows].astype(np.float32), x[rows].astype(np.float32), method="pifa")
    return sp.csr_matrix(z, dtype=np.float32)


def pecos_tree(z: sp.csr_matrix, *, branching: int, max_leaf_size: int, seed: int = 0) -> LabelTree:
    """PECOS's hierarchical k-means cluster chain as a :class:`LabelTree` (same levels)."""
    indexer, _ = _pecos()
    chain = indexer.gen(
        sp.csr_matrix(z, dtype=np.float32),
        indexer_type="hierarchicalkmeans",
        nr_splits=branching,
        max_leaf_size=max_leaf_size,
        seed=seed,
    )
    # chain[l] is (K_l, K_{l-1}) 0/1; chain[-1] maps the labels to the finest clusters
    assign = [np.arange(z.shape[0])]
    for c in reversed(list(chain)[1:]):
        parent_of = np.asarray(sp.csr_matrix(c).argmax(axis=1)).ravel()
        assign.insert(0, parent_of[assign[0]])
    return LabelTree(assign)
