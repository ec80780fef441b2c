"""Wall time of one data-parallel trainer, in one process or under torchrun (issue #31):

    .venv/bin/python benchmarks/ddp_speed.py [--trainer transencoder|psagan] # one process
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ddp_speed.py ...           # one, 1 thread
    .venv/bin/torchrun --standalone --nproc-per-node 2 benchmarks/ddp_speed.py ...  # 2 x 1 thread

Trans-Encoder: one cycle (cross 1 epoch, bi 2 epochs) of the default MiniLM students on 512
STS pairs (cross batch 16, bi batch 128: the global batch, whatever the number of processes).
PSA-GAN: 20 epochs × 10 batches of 64 windows (length 64) on the staged ETTh1 series. Rank 0
prints JSON: ``wall_time_s`` of the fit, the processes and threads. Run it alone (2 cores).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from reprkit.core import distributed


def transencoder() -> None:
    from reprkit.datasets.text import STS_SETS, load_sts
    from reprkit.methods.transencoder import TransEncoder

    rng = np.random.default_rng(0)
    pool = [p for name in STS_SETS for p in load_sts(name).pairs()]
    pairs = [pool[i] for i in rng.choice(len(pool), 512, replace=False)]
    TransEncoder(cycles=1, bi_epochs=2.0, device="cpu", progress=False).fit(pairs)


def psagan() -> None:
    from reprkit.datasets.timeseries import load_ett
    from reprkit.methods.psagan import PSAGAN

    data = load_ett("etth1")
    PSAGAN(length=64, epochs=20, epochs_per_block=4, batches_per_epoch=10, batch_size=64,
           device="cpu", progress=False).fit(data.values, seasons=data.seasons)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trainer", default="transencoder", choices=["transencoder", "psagan"])
    args = ap.parse_args()
    start = time.perf_counter()
    {"transencoder": transencoder, "psagan": psagan}[args.trainer]()
    wall = time.perf_counter() - start
    if distributed.is_main():
        print(json.dumps({"trainer": args.trainer, "processes": distributed.world(),
                          "threads": torch.get_num_threads(), "wall_time_s": round(wall, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
