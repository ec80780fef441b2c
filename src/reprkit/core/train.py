"""The small shared training loop: full-batch (or minibatch) steps with early stopping on a
validation score."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from reprkit.core.progress import progress_bar


class Schedule(Protocol):
    """Optimiser settings every method config carries (its teacher, student, baselines...)."""

    lr: float
    weight_decay: float
    epochs: int
    patience: int


@dataclass(frozen=True)
class Steps:
    """A plain :class:`Schedule`, for callers without a config of their own."""

    lr: float
    weight_decay: float
    epochs: int
    patience: int


@dataclass
class TrainResult:
    """What a training run did: where it stopped and which epoch was kept."""

    epochs_run: int
    best_epoch: int
    best_score: float
    history: list[float] = field(default_factory=list)


def fit_loop(
    model: nn.Module,
    loss_fn: Callable[[], torch.Tensor],
    score_fn: Callable[[], float] | None,
    schedule: Schedule,
    *,
    params: Iterable[nn.Parameter] | None = None,
    progress: bool | None = False,
    desc: str = "train",
    steps_per_epoch: int = 1,
) -> TrainResult:
    """Train ``model`` with Adam; keep the weights of the best validation score.

    Args:
        model: the module; its parameters are optimised unless ``params`` is given.
        loss_fn: computes the training loss (called with the model in train mode).
        score_fn: validation score, higher is better, called with the model in eval mode
            under ``no_grad``; ``None`` trains all ``epochs`` and keeps the last weights.
        schedule: Adam's ``lr`` and ``weight_decay``, at most ``epochs`` epochs, and stopping
            after ``patience`` epochs without a better validation score.
        steps_per_epoch: optimiser steps (``loss_fn`` calls, e.g. one minibatch each) between
            two validation scores; 1 = full-batch training.
    """
    lr, weight_decay = schedule.lr, schedule.weight_decay
    epochs, patience = schedule.epochs, schedule.patience
    trained = list(params) if params is not None else None
    opt = torch.optim.Adam(
        trained if trained is not None else model.parameters(), lr=lr, weight_decay=weight_decay
    )
    best_score, best_epoch, best_state, bad = -math.inf, -1, None, 0
    history: list[float] = []
    epoch = -1
    bar = progress_bar(range(epochs), desc=desc, progress=progress)
    for epoch in bar:
        model.train()
        for _ in range(steps_per_epoch):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn()
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{desc}: training loss became {loss.item()} at epoch {epoch}"
                )
            loss.backward()
            opt.step()
        if score_fn is None:
            continue
        model.eval()
        with torch.no_grad():
            score = float(score_fn())
        history.append(score)
        if score > best_score:
            best_score, best_epoch, bad = score, epoch, 0
            # only the trained tensors change: snapshot those (a frozen part can be large)
            best_state = (
                [p.detach().clone() for p in trained]
                if trained is not None
                else copy.deepcopy(model.state_dict())
            )
        else:
            bad += 1
            if bad >= patience:
                break
    if isinstance(best_state, list):
        with torch.no_grad():
            for p, best in zip(trained, best_state, strict=True):  # type: ignore[arg-type]
                p.copy_(best)
    elif best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(epoch + 1, best_epoch if score_fn else epoch, best_score, history)


def warmup_linear(opt: torch.optim.Optimizer, steps: int, warmup: float):
    """The transformers ``linear`` schedule: the lr rises linearly over the first ``warmup``
    share of ``steps`` updates, then falls linearly to 0 at ``steps`` (call ``.step()`` after
    each ``opt.step()``)."""
    n_warm = math.ceil(warmup * steps)

    def factor(step: int) -> float:
        if step < n_warm:
            return (step + 1) / n_warm
        return max(0.0, (steps - step) / max(1, steps - n_warm))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)
