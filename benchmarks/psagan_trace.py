"""PSA-GAN against the trivial seasonal generators, one departure from the official code at a
time, on seeds not reported (100, 101). Issue #28.

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/psagan_trace.py [--workers 2]

Each row trains ``psagan`` with the paper profile (M4 hourly, length 64, 40 epochs) plus one
change and prints its Context-FID, Context-FJD and shape bias against the same yardstick as
``reprkit psagan run`` (held-out reference windows, encoder seed 0), next to the anchors
``real``, ``real_train``, ``seasonal_train`` and ``seasonal_profile``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np

from reprkit.core.config import parse_set
from reprkit.core.parallel import fan_out
from reprkit.datasets.timeseries import load_series
from reprkit.methods.psagan.experiment import (
    Yardstick,
    _train,
    _worker_fit,
    holdout_split,
    resolve_config,
)

VARIANTS: dict[str, dict] = {
    "ours (paper profile)": {},
    "official optimiser: lr 5e-5, betas (0.9, 0.999)": {"lr": 5e-5, "betas": (0.9, 0.999)},
    "official 2 discriminator steps per generator step": {"d_steps": 2},
    "official discriminator warm-up (25 x 50 steps)": {"warmup_g_steps": 25},
    "official zero padding": {"padding": "zeros"},
    "twice the generator steps (80 epochs)": {"epochs": 80},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="m4_hourly")
    ap.add_argument("--seeds", default="100,101")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", default="paper")
    ap.add_argument("--set", action="append", default=[], help="experiment key=value (tests)")
    args = ap.parse_args()
    cfg = resolve_config(args.profile, parse_set(args.set))
    seeds = [int(s) for s in args.seeds.split(",")]
    data = load_series(args.dataset)
    train, held = holdout_split(data.values, cfg.holdout)
    length = cfg.lengths[0]
    yard = Yardstick(train, held, data.seasons, length, cfg)
    for name in ("real", "real_train", "seasonal_train", "seasonal_profile"):
        print(json.dumps({name: yard.evaluate(*yard.anchor(name, seeds[0]))}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for v, change in VARIANTS.items():  # one variant at a time: a row as soon as it is done
            jobs = []
            for seed in seeds:
                g = dataclasses.replace(cfg.psagan, length=length, seed=seed, **change)
                jobs.append((train, data.seasons, g, Path(tmp) / f"{v}_{seed}.pt", 0))
            done = fan_out(_worker_fit, jobs, args.workers, desc=v, progress=False)
            scores = []
            for job, res in zip(jobs, done, strict=True):
                gan = _train(*job[:3], yard, 0, job[3], "cpu", False, res)[0]
                scores.append(yard.evaluate(yard.generate(gan)) | {"s": res[0]})
            out = {k: round(float(np.mean([s[k] for s in scores])), 3) for k in scores[0]}
            out["context_fid_per_seed"] = [round(s["context_fid"], 3) for s in scores]
            print(json.dumps({v: out}), flush=True)


if __name__ == "__main__":
    main()
