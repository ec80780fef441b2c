"""pyDVL's KNN-Shapley and Data-OOB on features written by ``benchmarks/diva_vs_pydvl.py``; runs
in ``.venv-pydvl`` (``benchmarks/diva_pydvl_venv.sh``), not in reprkit's environment.

    .venv-pydvl/bin/python benchmarks/diva_pydvl_fit.py IN.npz OUT.npz

IN holds x_train, y_train, x_val, y_val, k (neighbours), lam (ridge alpha), n_bags; OUT gets
knn_shapley and data_oob values (one per training sample, in training order) and the seconds
each took (fit + valuation, one process, joblib's default single job).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from pydvl.valuation import DataOOBValuation, Dataset, KNNShapleyValuation
from sklearn.ensemble import BaggingClassifier
from sklearn.linear_model import RidgeClassifier
from sklearn.neighbors import KNeighborsClassifier


def in_order(result, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[np.asarray(result.indices)] = np.asarray(result.values)
    return out


def main() -> None:
    d = np.load(sys.argv[1])
    train = Dataset(d["x_train"], d["y_train"])
    val = Dataset(d["x_val"], d["y_val"])
    n = len(d["y_train"])

    start = time.perf_counter()
    knn = KNNShapleyValuation(KNeighborsClassifier(n_neighbors=int(d["k"])), val, progress=False)
    knn_values = in_order(knn.fit(train).result, n)
    knn_s = time.perf_counter() - start

    start = time.perf_counter()
    bag = BaggingClassifier(
        RidgeClassifier(alpha=float(d["lam"])), n_estimators=int(d["n_bags"]), random_state=0
    ).fit(d["x_train"], d["y_train"])
    oob_values = in_order(DataOOBValuation(bag).fit(train).result, n)
    oob_s = time.perf_counter() - start
    np.savez(sys.argv[2], knn_shapley=knn_values, data_oob=oob_values, knn_s=knn_s, oob_s=oob_s)


if __name__ == "__main__":
    main()
