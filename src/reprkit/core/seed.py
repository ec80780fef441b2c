"""Explicit seeding. ``seed=0`` is a seed like any other, never "no seed"."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch


def check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as an int, or raise a clear error."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_seeds(seeds: object) -> list[int]:
    """A non-empty list of distinct non-negative integer seeds, or a clear error."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    out = [check_seed(s, "seeds") for s in seeds]
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must not repeat, got {out}")
    return out


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[tuple[torch.Generator, np.random.Generator]]:
    """Run a block with torch's RNG forked and seeded; yield explicit generators for the block.

    Layer initialisation and dropout in torch draw from the global generator and accept no
    ``Generator`` argument, so the global state is forked (and restored afterwards) rather than
    touched: callers outside the block see no change, and the block is deterministic.
    """
    seed = check_seed(seed)
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed), np.random.default_rng(seed)


def check_run_args(
    dataset: str,
    datasets: Sequence[str],
    seeds: Sequence[int],
    *,
    resume: bool = False,
    out: object = None,
) -> list[int]:
    """An experiment's ``dataset`` (one of ``datasets``) and its checked seeds; ``resume``
    needs the ``out`` folder of the interrupted run."""
    if dataset not in datasets:
        raise ValueError(f"dataset must be one of {list(datasets)}, got {dataset!r}")
    if resume and out is None:
        raise ValueError("resume needs out: the folder of the interrupted run")
    return check_seeds(seeds)
