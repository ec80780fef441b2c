"""RIM at scale: recommend (items per user) and audience (users per item) on 100k users × 10k
items, against ``implicit``'s ALS ``recommend``, side by side in one process on the same events.

    .venv/bin/python benchmarks/rim_scale.py [--users 100000 --items 10000 --events-per-user 20]

Events are generated (Zipf item popularity, each user's events spread over 100 days). Our RIM is
a small GRU (1 × 64, one epoch: this measures scoring, not the recipe) × the Hawkes intensity;
scoring is chunked, so memory holds one chunk × items block, never users × items
(100k × 10k float64 = 8 GB). Prints JSON: ``wall_time_s`` of each step, the ratio to ALS, and
``peak_mem_mb`` (the process's peak RSS) after fitting and after scoring.
Run it alone: another CPU-heavy job slows both several-fold.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def events(n_users: int, n_items: int, per_user: int, seed: int = 0):
    from reprkit.datasets.interactions import Events

    rng = np.random.default_rng(seed)
    counts = rng.poisson(per_user - 1, n_users) + 1
    user = np.repeat(np.arange(n_users), counts)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    item = rng.choice(n_items, len(user), p=pop / pop.sum())
    time_ = rng.uniform(0, 100 * 86400.0, len(user))
    return Events(user, item, time_, n_users, n_items, "scale")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--events-per-user", type=int, default=20)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--c", type=int, default=100)
    args = ap.parse_args()
    import torch
    from scipy import sparse
    from threadpoolctl import threadpool_limits

    from reprkit.methods.rim import RIM

    out: dict[str, float | int | str] = {"threads": torch.get_num_threads()}
    e = events(args.users, args.items, args.events_per_user)
    out["events"] = len(e.time)
    at = float(e.time.max()) + 1.0
    users, items = np.arange(args.users), np.arange(args.items)

    t0 = time.perf_counter()
    rim = RIM(hidden=64, layers=1, epochs=1, batch_size=1024, max_len=32, val_frac=0.0)
    rim.fit(e, horizon=7 * 86400.0)
    out["rim_fit_s"] = time.perf_counter() - t0
    out["peak_mem_mb_after_fit"] = peak_mb()
    t0 = time.perf_counter()
    rec = rim.recommend(users, k=args.k, at=at, exclude_seen=True)
    out["rim_recommend_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    aud = rim.audience(items, c=args.c, at=at)
    out["rim_audience_s"] = time.perf_counter() - t0
    out["peak_mem_mb_after_scoring"] = peak_mb()
    assert rec.shape == (args.users, args.k) and aud.shape == (args.items, args.c)

    from implicit.als import AlternatingLeastSquares

    m = sparse.csr_matrix(
        (np.ones(len(e.user), dtype=np.float32), (e.user, e.item)), shape=(e.n_users, e.n_items)
    )
    m.data[:] = 1.0
    with threadpool_limits(1, "blas"):  # implicit parallelises itself
        als = AlternatingLeastSquares(factors=64, iterations=15, random_state=0)
        t0 = time.perf_counter()
        als.fit(m, show_progress=False)
        out["als_fit_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ids, _ = als.recommend(users, m, N=args.k, filter_already_liked_items=True)
        out["als_recommend_s"] = time.perf_counter() - t0
    assert ids.shape == (args.users, args.k)
    out["recommend_ratio_rim_over_als"] = out["rim_recommend_s"] / out["als_recommend_s"]
    out["peak_mem_mb"] = peak_mb()
    out["wall_time_s"] = sum(v for k, v in out.items() if k.endswith("_s"))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
