"""Seconds per training epoch of our GRDA and of the official code (Wang-ML-Lab/GRDA) on DG-15,
side by side in one process, same threads, same data, the official DG-15 configuration.

Nothing of the official code is in this project: pass a checkout of it (``fetch`` gives a bare
repository; ``git --git-dir=... show HEAD:path`` writes the files out). It imports ``easydict``
(``pip install --target DIR easydict``, DIR on ``PYTHONPATH``) and ``visdom`` (off in its
config: a one-line stub module ``class Visdom: ...`` on the path is enough).

    PYTHONPATH=DIR .venv/bin/python benchmarks/grda_vs_official.py --official /tmp/GRDA --epochs 20

Prints JSON: ``wall_time_s`` per epoch of each (ours also per seed with 5 seeds trained
together), the ratios, and ``peak_mem_mb`` of the process.
Run it alone: another CPU-heavy job slows both several-fold.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def official_seconds_per_epoch(root: Path, epochs: int) -> float:
    """Train the official GDA model for ``epochs`` epochs on its DG-15 pickle (on the CPU)."""
    sys.path.insert(0, str(root))
    cwd = os.getcwd()
    os.chdir(root)  # the official config reads its pickles by relative paths
    try:
        from configs.config_random_15_new import opt  # the official DG-15 settings
        from dataset_utils.dataset import SeqToyDataset, ToyDataset
        from model.model import GDA

        opt.device, opt.num_epoch = "cpu", epochs
        opt.outf = tempfile.mkdtemp(prefix="grda_official_")
        import pickle

        with open(opt.dataset, "rb") as f:
            data = pickle.load(f)
        opt.A = data["A"]
        x = data["data"]
        data["data"] = (x - x.mean(0, keepdims=True)) / x.std(0, keepdims=True)
        parts = [ToyDataset(data, d, opt) for d in range(opt.num_domain)]
        loader = torch.utils.data.DataLoader(
            SeqToyDataset(parts, size=len(parts[0])), shuffle=True, batch_size=opt.batch_size
        )
        model = GDA(opt).to(opt.device)
        start = time.perf_counter()
        for epoch in range(epochs):
            model.learn(epoch, loader)
        return (time.perf_counter() - start) / epochs
    finally:
        os.chdir(cwd)


def ours_seconds_per_epoch(epochs: int, seeds: int = 1) -> float:
    """Seconds per epoch and seed of ours; ``seeds`` > 1 trains them together (fit_seeds)."""
    from reprkit.datasets.domains import load_dg
    from reprkit.methods.grda.experiment import DATASET_SETTINGS
    from reprkit.methods.grda.method import GRDA, fit_seeds

    d = load_dg("dg15")
    settings = {k.removeprefix("grda."): v for k, v in DATASET_SETTINGS["dg15"].items()}
    config = GRDA(epochs=epochs, **settings).config
    start = time.perf_counter()
    fit_seeds(range(seeds), d.x, d.y, d.domain, d.A, d.sources, config=config)
    return (time.perf_counter() - start) / epochs / seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True, help="official GRDA checkout")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    if not (args.official / "model" / "model.py").is_file():
        parser.error(f"--official: {args.official} is not a GRDA checkout (no model/model.py)")
    torch.manual_seed(0)
    np.random.seed(0)
    ours = ours_seconds_per_epoch(args.epochs)
    ours5 = ours_seconds_per_epoch(args.epochs, seeds=5)
    official = official_seconds_per_epoch(args.official.resolve(), args.epochs)
    print(
        json.dumps(
            {
                "epochs": args.epochs,
                "torch_threads": torch.get_num_threads(),
                "ours": {"wall_time_s": round(ours, 4)},
                "ours_5_seeds_together_per_seed": {"wall_time_s": round(ours5, 4)},
                "official": {"wall_time_s": round(official, 4)},
                "official_over_ours": round(official / ours, 2),
                "official_over_ours_5_seeds_together": round(official / ours5, 2),
                "peak_mem_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
