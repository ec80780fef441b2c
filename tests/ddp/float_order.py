"""How much GIANT's fine-tuning moves with float summation order alone, in one process:
the DDP test's GIANT case (tiny BERT, 2 levels, 4 steps each) run with 1 and with 2 torch
threads, under ``bootstrap="linear"`` (the default: the next level's head is an L-BFGS fit)
and ``bootstrap="inherit"``. Prints the largest |loss difference| per level.

    PYTHONPATH=. .venv/bin/python -m tests.ddp.float_order

The reason the DDP equality test runs GIANT with ``inherit`` (docs/scaling.md).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from reprkit.core import distributed
from reprkit.methods.giant import GiantXRT
from tests.ddp import cases


def main() -> None:
    berts = cases.tiny_berts(Path(tempfile.mkdtemp()))
    data, texts = cases._graph_texts()
    out = {}
    for bootstrap in ("linear", "inherit"):
        losses = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            g = GiantXRT(device="cpu", tree__branching=4, tree__max_leaf_size=20,
                         encoder__max_length=48, encoder__model=berts["giant"],
                         finetune__steps=4, finetune__lr=1e-3, finetune__batch_size=16,
                         finetune__bootstrap=bootstrap)  # fmt: skip
            with distributed.tracing() as trace:
                g.fit(data, texts)
            losses[threads] = torch.tensor(trace)
        diff = (losses[1] - losses[2]).abs()
        out[bootstrap] = {"level_1_max_abs": float(diff[:4].max()),
                          "level_2_max_abs": float(diff[4:].max())}  # fmt: skip
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
