"""The independent cells of an experiment (seed, seed x setting, seed x model) and the one engine
that runs them: one after another in this process, in local worker processes, or as Ray tasks
on this machine or a cluster.

An experiment lists its cells (a unique name, a module-level function and its arguments), hands
them to :func:`run_cells` and gathers the results, in cell order, into its ``RunRecorder``. Every
cell seeds itself, so its result does not depend on where it ran; each worker sets its own torch
thread budget (``cores // workers`` locally, 1 per Ray task), so results equal the serial run's
up to float summation order. With a checkpoint folder every finished cell's result is written
atomically and ``--resume`` skips it. A failing cell fails the run with the cell's name.

Ray (the ``ray`` extra) is imported only when ``executor="ray"`` is asked for.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reprkit.core import distributed
from reprkit.core.parallel import check_workers, fan_out
from reprkit.core.progress import progress_bar

EXECUTORS = ("serial", "ray")


@dataclass(frozen=True)
class Cell:
    """One independent unit of work: ``fn(*args)`` (``fn`` importable at module level)."""

    name: str  # unique within the run, e.g. "pairflip40/seed=3"
    fn: Callable[..., Any]
    args: tuple = ()
    cost: float = 1.0  # relative cost: the most expensive cells are started first


@dataclass(frozen=True)
class Engine:
    """Where cells run. ``executor="serial"`` with ``workers=1``: this process; ``workers`` > 1:
    that many local processes; ``executor="ray"``: Ray tasks, on a local Ray with ``workers``
    CPUs, or on the cluster at ``ray_address``."""

    executor: str = "serial"
    workers: int = 1
    ray_address: str | None = None

    def validate(self) -> Engine:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {list(EXECUTORS)}, got {self.executor!r}")
        check_workers(self.workers)
        if self.ray_address is not None and self.executor != "ray":
            raise ValueError("ray_address needs executor='ray'")
        if self.parallel and distributed.world() > 1:
            raise ValueError(
                "under torchrun every process runs the cells one after another (its trainers "
                "split each batch): use executor='serial' with workers=1 there"
            )
        return self

    @property
    def parallel(self) -> bool:
        return self.executor == "ray" or self.workers > 1


def per_process(maxsize: int = 4) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Cache a cell's data loader once per worker process and data folder (``$REPRKIT_DATA``
    is part of the key): every cell a worker runs reuses what it loaded. Arguments must be
    hashable."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.lru_cache(maxsize=maxsize)
        def cached(_data_root: str, *args: Any) -> Any:
            return fn(*args)

        @functools.wraps(fn)
        def call(*args: Any) -> Any:
            return cached(os.environ.get("REPRKIT_DATA", ""), *args)

        return call

    return wrap


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name)


def run_cells(
    cells: Sequence[Cell],
    engine: Engine | None = None,
    *,
    checkpoints: str | os.PathLike[str] | None = None,
    desc: str = "cells",
    progress: bool | None = None,
) -> list[Any]:
    """The cells' results in cell order. With ``checkpoints``, finished cells found there are
    loaded instead of run and every newly finished cell is saved there atomically."""
    import torch

    from reprkit.core.io import atomic_torch_save

    engine = (engine or Engine()).validate()
    names = [c.name for c in cells]
    if len(set(names)) != len(names):
        raise ValueError(f"cell names must be unique, got {names}")
    folder = Path(checkpoints) if checkpoints is not None else None
    results: dict[str, Any] = {}
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        found = [c.name for c in cells if (folder / f"cell-{_safe(c.name)}.pt").exists()]
        for name in distributed.agree(found):  # under torchrun, rank 0's view: same cells run
            results[name] = torch.load(folder / f"cell-{_safe(name)}.pt", weights_only=False)
    todo = sorted((c for c in cells if c.name not in results), key=lambda c: -c.cost)

    def done(cell: Cell, value: Any) -> None:
        results[cell.name] = value
        if folder is not None:
            atomic_torch_save(folder / f"cell-{_safe(cell.name)}.pt", value)

    if engine.executor == "ray":
        _run_ray(todo, engine, done, desc, progress)
    elif engine.workers > 1 and len(todo) > 1:
        values = fan_out(_call, [(c.name, c.fn, c.args) for c in todo], engine.workers,
                         desc=desc, progress=progress)  # fmt: skip
        for c, v in zip(todo, values, strict=True):
            done(c, v)
    else:
        for c in progress_bar(todo, desc=desc, progress=progress):
            done(c, _call(c.name, c.fn, c.args))
    return [results[n] for n in names]


def _call(name: str, fn: Callable[..., Any], args: tuple, threads: int | None = None) -> Any:
    """``fn(*args)``; an error names the cell."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        return fn(*args)
    except Exception as e:
        raise RuntimeError(f"cell {name!r} failed: {type(e).__name__}: {e}") from e


def _run_ray(
    cells: Sequence[Cell],
    engine: Engine,
    done: Callable[[Cell, Any], None],
    desc: str,
    progress: bool | None,
) -> None:
    try:
        import ray
    except ImportError as e:
        raise ValueError(
            "executor='ray' needs Ray: pip install 'reprkit[ray]' (or pip install ray)"
        ) from e
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if engine.ray_address is None:
            kwargs["num_cpus"] = engine.workers
        ray.init(address=engine.ray_address, **kwargs)
        started = True
    try:
        task = ray.remote(num_cpus=1)(_call)
        pending = {task.remote(c.name, c.fn, c.args, 1): c for c in cells}

        def finished():
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                yield ready[0]

        for ref in progress_bar(finished(), desc=desc, total=len(pending), progress=progress):
            cell = pending.pop(ref)
            try:
                value = ray.get(ref)
            except ray.exceptions.RayTaskError as e:  # the cell's own error, named by _call
                raise RuntimeError(str(getattr(e, "cause", None) or e)) from None
            done(cell, value)
    finally:
        if started:
            ray.shutdown()
