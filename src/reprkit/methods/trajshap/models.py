"""Trajectory predictors with one interface: ``model(past, present) -> (B, K, T_pred, 2)``.

``past`` float ``(B, A, T_obs, 2)`` (slot 0 = target; coordinates relative to the target's last
observed position), ``present`` bool ``(B, A)``; the output is ``K`` predicted futures of the
target. ``obs_len`` says how many observed steps a model needs.

* ``ConstantVelocity``: the target's last velocity, no learning (``K`` identical samples);
* ``PastLSTM``: an LSTM encoder of the target's past only, ``K`` decoder heads;
* ``SocialAttention``: every agent's past through a shared LSTM, the target attends to its
  neighbours (keys: encoding + relative position; masked softmax, no neighbour → zero context),
  ``K`` heads. Both learned models are trained with the best-of-K ("variety") loss.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from reprkit.core.train import Steps, fit_loop
from reprkit.datasets.trajectories import PRED, Scenes

MODELS = ("constant_velocity", "lstm", "social")


class ConstantVelocity(nn.Module):
    obs_len = 2

    def __init__(self, k: int = 20, pred: int = PRED) -> None:
        super().__init__()
        self.k, self.pred = k, pred

    def forward(self, past: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        v = past[:, 0, -1] - past[:, 0, -2]
        steps = torch.arange(1, self.pred + 1, dtype=past.dtype, device=past.device)
        out = past[:, 0, -1, None] + steps[None, :, None] * v[:, None]
        return out[:, None].expand(-1, self.k, -1, -1)


def _encode_input(track: torch.Tensor) -> torch.Tensor:
    """(..., T, 2) positions -> (..., T, 4): position and velocity (0 at the first step)."""
    v = torch.diff(track, dim=-2, prepend=track[..., :1, :])
    return torch.cat([track, v], -1)


class _Heads(nn.Module):
    """K futures as cumulative velocities from a context vector."""

    def __init__(self, dim: int, k: int, pred: int, hidden: int) -> None:
        super().__init__()
        self.k, self.pred = k, pred
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, k * pred * 2))

    def forward(self, ctx: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        v = self.mlp(ctx).view(-1, self.k, self.pred, 2)
        return last[:, None, None] + torch.cumsum(v, 2)


class PastLSTM(nn.Module):
    obs_len = 2

    def __init__(self, k: int = 20, pred: int = PRED, hidden: int = 64) -> None:
        super().__init__()
        self.k = k
        self.enc = nn.LSTM(4, hidden, batch_first=True)
        self.heads = _Heads(hidden, k, pred, 2 * hidden)

    def forward(self, past: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.enc(_encode_input(past[:, 0]))
        return self.heads(h[-1], past[:, 0, -1])


class SocialAttention(nn.Module):
    obs_len = 2

    def __init__(self, k: int = 20, pred: int = PRED, hidden: int = 64) -> None:
        super().__init__()
        self.k = k
        self.enc = nn.LSTM(4, hidden, batch_first=True)
        self.key = nn.Linear(hidden + 2, hidden)
        self.value = nn.Linear(hidden + 2, hidden)
        self.query = nn.Linear(hidden, hidden)
        self.heads = _Heads(2 * hidden, k, pred, 2 * hidden)

    def forward(self, past: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        b, a, t, _ = past.shape
        _, (h, _) = self.enc(_encode_input(past.reshape(b * a, t, 2)))
        h = h[-1].view(b, a, -1)
        nb = torch.cat([h[:, 1:], past[:, 1:, -1]], -1)  # encoding + position at the last step
        score = (self.key(nb) @ self.query(h[:, 0]).unsqueeze(-1)).squeeze(-1) / h.shape[-1] ** 0.5
        mask = present[:, 1:]
        w = torch.softmax(score.masked_fill(~mask, -1e9), -1) * mask  # no neighbour: all zero
        ctx = (w.unsqueeze(-1) * self.value(nb)).sum(1)
        return self.heads(torch.cat([h[:, 0], ctx], -1), past[:, 0, -1])


def build(name: str, k: int = 20, hidden: int = 64) -> nn.Module:
    if name == "constant_velocity":
        return ConstantVelocity(k)
    if name == "lstm":
        return PastLSTM(k, hidden=hidden)
    if name == "social":
        return SocialAttention(k, hidden=hidden)
    raise ValueError(f"model must be one of {list(MODELS)}, got {name!r}")


def displacement(pred: torch.Tensor, future: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best-of-K ADE and FDE per scene: ``pred`` (B, K, T, 2), ``future`` (B, T, 2)."""
    d = (pred - future[:, None]).norm(dim=-1)  # (B, K, T)
    return d.mean(-1).min(1).values, d[..., -1].min(1).values


def tensors(scenes: Scenes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(scenes.past), torch.from_numpy(scenes.present),
            torch.from_numpy(scenes.future))  # fmt: skip


@torch.no_grad()
def predict(model, past: torch.Tensor, present: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """``model`` on (past, present) in batches: (B, K, T_pred, 2)."""
    return torch.cat([model(past[i : i + batch], present[i : i + batch])
                      for i in range(0, len(past), batch)])  # fmt: skip


def evaluate(model: nn.Module, scenes: Scenes, batch: int = 4096) -> tuple[float, float]:
    """Mean best-of-K ADE and FDE over ``scenes``."""
    past, present, future = tensors(scenes)
    ade, fde = displacement(predict(model, past, present, batch), future)
    return float(ade.mean()), float(fde.mean())


def _rotate(past, future, gen):
    theta = torch.rand(len(past), generator=gen) * 2 * np.pi
    c, s = theta.cos(), theta.sin()
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # (B, 2, 2)
    return (torch.einsum("bij,batj->bati", rot, past),
            torch.einsum("bij,btj->bti", rot, future))  # fmt: skip


def train(
    name: str,
    scenes: Scenes,
    val: Scenes,
    *,
    epochs: int = 20,
    batch_size: int = 128,
    lr: float = 1e-3,
    k: int = 20,
    hidden: int = 64,
    max_per_epoch: int | None = None,
    rotate: bool = True,
    gen: torch.Generator,
    progress: bool | None = False,
) -> nn.Module:
    """Fit a learned model with Adam on the best-of-K ADE (random rotations of whole scenes as
    augmentation); keeps the epoch with the best validation ADE (validation data only).
    ``constant_velocity`` is returned as is."""
    model = build(name, k, hidden)
    if name == "constant_velocity":
        return model.eval()
    past, present, future = tensors(scenes)
    per_epoch = min(len(past), max_per_epoch or len(past))

    def batches():
        while True:
            order = torch.randperm(len(past), generator=gen)[:per_epoch]
            yield from order.split(batch_size)

    stream = batches()

    def loss_fn() -> torch.Tensor:
        idx = next(stream)
        p, f = past[idx], future[idx]
        if rotate:
            p, f = _rotate(p, f, gen)
        return displacement(model(p, present[idx]), f)[0].mean()

    fit_loop(model, loss_fn, lambda: -evaluate(model, val)[0],
             Steps(lr=lr, weight_decay=0.0, epochs=epochs, patience=epochs), progress=progress,
             desc=f"train {name}", steps_per_epoch=math.ceil(per_epoch / batch_size))  # fmt: skip
    return model
