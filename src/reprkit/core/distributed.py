"""Data-parallel training under ``torchrun`` (``DistributedDataParallel``).

Started as ``torchrun --nproc-per-node N -m reprkit ...`` (or a script calling the Python API),
every process runs the whole program; the trainers that support it then split each **global
batch** of B examples into N contiguous shards of about B/N, one per process, and average the
gradients with ``DistributedDataParallel`` (gloo on CPU, nccl on GPU). Without torchrun
(``WORLD_SIZE`` unset or 1) every function here is the identity and nothing changes.

How a trainer uses it, so that N processes give the one-process run with batch B:

- draw every per-example random quantity (batch indices, GAN noise, augmentations) for the
  global batch, identically on every process, then take this process's part with
  :func:`shard`; multiply its batch-mean loss by the returned weight (n_local · N / B), so that
  DDP's average of the N gradients is the gradient of the global batch's mean loss, also when B
  is not a multiple of N;
- forward through :func:`wrap`\\ (model): DDP, with every batch norm computing its statistics
  over the global batch (:func:`global_batchnorm`; torch's ``SyncBatchNorm`` runs on GPU only);
- write files on rank 0 only (:func:`is_main`; ``core.io``'s atomic writers and run folders do
  this themselves).

Not shared across processes: draws made inside the model (dropout) come from each process's
copy of the seeded global RNG, so N processes equal one process exactly only without dropout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported when used: the CLI starts without it
    import torch
    from torch import nn


def world() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))


def rank() -> int:
    """This process's rank (0 without torchrun)."""
    return int(os.environ.get("RANK", "0") or 0) if world() > 1 else 0


def is_main() -> bool:
    """True in the process that writes outputs (rank 0; always without torchrun)."""
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """Under torchrun on GPU, this process's own GPU (``cuda:LOCAL_RANK``)."""
    import torch

    if world() > 1 and device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def setup() -> None:
    """Join the process group once: gloo for CPU tensors, and nccl for CUDA tensors when a GPU
    is present (this process's own, ``cuda:LOCAL_RANK``); no-op at world 1."""
    if world() == 1:
        return
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group("cpu:gloo,cuda:nccl")
        else:
            dist.init_process_group("gloo")


def agree(obj: Any) -> Any:
    """Rank 0's ``obj`` in every process (e.g. which cells a resumed run still has to run)."""
    if world() == 1:
        return obj
    import torch.distributed as dist

    setup()
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _global_bn_forward(self, x):
    """Batch norm over the global batch (see :func:`wrap`): per-channel mean and variance
    summed over processes by a differentiable all-reduce, so the backward pass also crosses
    processes, as in torch's GPU-only ``SyncBatchNorm``. Eval mode and world 1: the plain
    layer."""
    import torch
    from torch.distributed.nn.functional import all_reduce

    if not self.training or world() == 1:
        return type(self).__mro__[1].forward(self, x)
    dims = [0, *range(2, x.dim())]
    shape = [1, -1] + [1] * (x.dim() - 2)
    n_local = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
    total = all_reduce(torch.cat([x.sum(dims), n_local]))  # sums over processes
    n = total[-1]
    mean = total[:-1] / n
    var = all_reduce(((x - mean.view(shape)) ** 2).sum(dims)) / n  # biased, as in training
    if self.track_running_stats and self.running_mean is not None:
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked
            self.running_mean.lerp_(mean.detach(), float(m))
            self.running_var.lerp_(var.detach() * n / (n - 1), float(m))
    out = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
    if self.affine:
        out = out * self.weight.view(shape) + self.bias.view(shape)
    return out


def global_batchnorm(module: nn.Module) -> nn.Module:
    """Make every batch norm of ``module`` compute its training statistics over the global
    batch (in place; each becomes a subclass of its own class, so ``isinstance`` checks and
    the state dict are unchanged)."""
    from torch import nn

    for mod in module.modules():
        cls = type(mod)
        if isinstance(mod, nn.modules.batchnorm._BatchNorm) and not cls.__dict__.get("_global"):
            mod.__class__ = _global_class(cls)
    return module


_classes: dict[str, type] = {}


def _global_class(cls: type) -> type:
    name = f"Global{cls.__name__}"
    if name not in _classes:  # named in this module, so that a trained model pickles
        _classes[name] = type(name, (cls,), {"forward": _global_bn_forward, "_global": True,
                                             "__module__": __name__, "__qualname__": name})  # fmt: skip
    return _classes[name]


def __getattr__(name: str) -> type:
    """``GlobalBatchNorm2d`` etc. for unpickling in a process that has not made them yet."""
    if name.startswith("Global"):
        from torch import nn

        base = getattr(nn, name[len("Global") :], None)
        if isinstance(base, type) and issubclass(base, nn.modules.batchnorm._BatchNorm):
            return _global_class(base)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def wrap(module: nn.Module, **ddp_kwargs: Any) -> nn.Module:
    """``module`` itself at world 1; under torchrun, ``DistributedDataParallel(module)`` with
    its batch norms made global (:func:`global_batchnorm`). Forward through the result; read
    and save the weights of ``module``."""
    if world() == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    dev = next(module.parameters()).device
    setup()
    global_batchnorm(module)
    ids = [dev] if dev.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, **ddp_kwargs)


def _bounds(n: int, parts: int) -> list[int]:
    return [round(n * k / parts) for k in range(parts + 1)]


def shard(*batches: Any) -> tuple[Any, float]:
    """This process's contiguous part of a global batch (tensors, arrays or lists of one
    length, cut along the first axis) and the weight of its batch-mean loss,
    ``n_local · world / n_global`` (1 at world 1), that makes DDP's average of the gradients
    the global batch's mean: ``idx, w = shard(idx)``; ``(x, y), w = shard(x, y)``."""
    n, w = len(batches[0]), world()
    parts: tuple[Any, ...] = batches
    weight = 1.0
    if w > 1:
        if n < w:
            raise ValueError(
                f"a batch of {n} cannot be split over {w} torchrun processes: every process "
                f"needs at least one example (raise the batch size or start fewer processes)"
            )
        b = _bounds(n, w)
        lo, hi = b[rank()], b[rank() + 1]
        parts, weight = tuple(x[lo:hi] for x in batches), (hi - lo) * w / n
    return (parts[0] if len(parts) == 1 else parts), weight


def parts_of(batch: Any, parts: int) -> list[tuple[Any, float]]:
    """``batch`` cut as :func:`shard` cuts it for ``parts`` processes, each part with its share
    ``n_part / n`` of the batch: the one-process equivalent of a ``parts``-process step."""
    n, b = len(batch), _bounds(len(batch), parts)
    return [(batch[b[k] : b[k + 1]], (b[k + 1] - b[k]) / n if n else 0.0) for k in range(parts)]


def sharded(fn: Any, items: Any) -> Any:
    """``fn(items)`` for a row-wise ``fn`` (one output row per item, a numpy array): under
    torchrun each process computes its part of ``items`` (cut as :func:`shard` cuts; a part
    may be empty when there are fewer items than processes, so ``fn`` must take an empty
    part) and the parts are gathered in order; at world 1 just ``fn(items)``."""
    if world() == 1:
        return fn(items)
    import numpy as np
    import torch.distributed as dist

    part, _ = parts_of(items, world())[rank()]
    out = [None] * world()
    setup()
    dist.all_gather_object(out, fn(part))
    return np.concatenate(out)


def global_mean(local: torch.Tensor, weight: float = 1.0) -> float:
    """The global batch's mean loss from this process's batch-mean ``local`` (and its
    :func:`shard` weight): what the one-process run would log."""
    value = local.detach().float() * weight
    if world() > 1:
        import torch.distributed as dist

        value = value.clone()
        dist.all_reduce(value)
        value = value / world()
    return float(value)


_trace: list[float] | None = None


def trace(local: torch.Tensor | float, weight: float = 1.0) -> None:
    """Record the global mean loss of a step while :func:`tracing` is on (costs an
    all-reduce per step then; nothing otherwise). A float is taken as the global mean
    already (from :func:`global_mean`)."""
    if _trace is not None:
        _trace.append(local if isinstance(local, float) else global_mean(local, weight))


@contextlib.contextmanager
def tracing() -> Iterator[list[float]]:
    """Collect the global mean loss of every training step of the data-parallel trainers
    (Trans-Encoder, GIANT's XR fine-tuning, PSA-GAN, DeepAA's classifier, Cold Brew's
    mini-batch teacher) run inside the block, in order."""
    global _trace
    old, _trace = _trace, []
    try:
        yield _trace
    finally:
        _trace = old
