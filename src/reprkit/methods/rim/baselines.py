"""Matrix-factorisation baselines of the RIM paper, ALS and BPR, from the ``implicit`` package
(``pip install 'reprkit[recsys]'``): user–item scores from the training interactions alone."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from reprkit.datasets.interactions import Events

IMPLICIT_MODELS = ("als", "bpr")


def implicit_scores(
    train: Events,
    users: np.ndarray,
    kind: str,
    *,
    factors: int = 64,
    iterations: int = 15,
    seed: int = 0,
) -> np.ndarray:
    """(len(users), n_items) scores ``user factors · item factors`` of ALS or BPR fitted on the
    binary user × item matrix of ``train``."""
    if kind not in IMPLICIT_MODELS:
        raise ValueError(f"kind must be one of {list(IMPLICIT_MODELS)}, got {kind!r}")
    try:
        from implicit.als import AlternatingLeastSquares
        from implicit.bpr import BayesianPersonalizedRanking
    except ImportError as err:  # optional dependency
        raise ImportError("ALS and BPR need `implicit`: pip install 'reprkit[recsys]'") from err
    m = sparse.csr_matrix(
        (np.ones(len(train.user), dtype=np.float32), (train.user, train.item)),
        shape=(train.n_users, train.n_items),
    )
    m.data[:] = 1.0  # repeated pairs count once
    cls = AlternatingLeastSquares if kind == "als" else BayesianPersonalizedRanking
    # implicit's BPR updates shared factors from several threads without locks (Hogwild), so
    # its result depended on thread timing: one thread makes it a function of the seed
    threads = {"num_threads": 1} if kind == "bpr" else {}
    with threadpool_limits(1, "blas"):  # implicit parallelises itself; BLAS threads fight it
        model = cls(factors=factors, iterations=iterations, random_state=seed, **threads)
        model.fit(m, show_progress=False)
    uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return uf[np.asarray(users)] @ itf.T
