"""DIVA's closed forms beside brute force, in one run on digits (standardised, 20 % of the
training labels flipped uniformly, the experiment's seed-0 split):

- LOO: the closed-form leave-one-out predictions vs N refits of the ridge head, each without
  one sample;
- derivative: the autograd derivative of the LOO loss vs central finite differences of the
  closed-form LOO loss for a few weights (each difference is two more closed-form fits).

    .venv/bin/python benchmarks/diva_vs_bruteforce.py [--fd 20]

Prints JSON: seconds of each, the ratio, and the largest absolute differences. Run it alone.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from reprkit.methods.diva.experiment import corrupt, resolve_config, split
from reprkit.methods.diva.features import load_features
from reprkit.methods.diva.method import DIVA, ridge_fit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fd", type=int, default=20, help="weights checked by finite differences")
    args = ap.parse_args()
    x_all, y_all, _ = load_features("digits")
    cfg = resolve_config("paper")
    tr, _, _ = split(y_all, 0, cfg.val_frac)
    x = (x_all[tr] - x_all[tr].mean(0)) / (x_all[tr].std(0) + 1e-8)
    _, y, _ = corrupt(y_all[tr], "uniform20", 10, 0, cfg)

    DIVA(lam=10.0).fit(x, y).score_samples("loo")  # warm-up (first autograd call)
    start = time.perf_counter()
    m = DIVA(lam=10.0).fit(x, y)
    loo = m.loo_predictions()
    grad = m.score_samples("loo")
    closed = time.perf_counter() - start

    start = time.perf_counter()
    n = len(y)
    brute = np.empty_like(loo)
    for i in range(n):  # N refits, each without sample i
        w = m.alpha_.clone()
        w[i] = 0.0
        W, _, _ = ridge_fit(m.Z_, m.Y_, w, m.lam_)
        brute[i] = (m.Z_[i] @ W).numpy()
    refits = time.perf_counter() - start

    h, worst = 1e-5, 0.0
    for i in np.random.default_rng(0).choice(n, args.fd, replace=False):
        e = torch.zeros(n, dtype=torch.float64)
        e[i] = h
        fd = float(m.objective(m.alpha_ + e, "loo")) - float(m.objective(m.alpha_ - e, "loo"))
        worst = max(worst, abs(fd / (2 * h) - grad[i]) / (abs(grad).max()))
    print(json.dumps({
        "n": n, "d": x.shape[1],
        "closed_form_loo_and_derivative_s": round(closed, 4),
        "n_refits_loo_s": round(refits, 3),
        "ratio": round(refits / closed, 1),
        "max_abs_loo_diff": float(np.abs(loo - brute).max()),
        "max_rel_fd_diff": worst,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
