"""A small DeepAR-style forecaster, to measure what synthetic windows add to real ones.

A GRU reads a window's context (value scaled by the context's mean absolute value, plus the
time features) and then unrolls the horizon, feeding back its own mean; it is trained with a
Gaussian likelihood on windows of length ``context + horizon`` cut from any mix of real and
synthetic windows. NRMSE = RMSE / mean |y| over all forecast points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from reprkit.core.seed import seeded
from reprkit.datasets.timeseries import time_features


@dataclass(frozen=True)
class ForecastConfig:
    context: int = 40
    horizon: int = 24
    hidden: int = 40
    layers: int = 2
    steps: int = 1500
    batch_size: int = 64
    lr: float = 1e-3


class _GRU(nn.Module):
    def __init__(self, n_feat: int, cfg: ForecastConfig) -> None:
        super().__init__()
        self.rnn = nn.GRU(1 + n_feat, cfg.hidden, cfg.layers, batch_first=True)
        self.out = nn.Linear(cfg.hidden, 2)

    def step(self, x: torch.Tensor, h: torch.Tensor | None):
        o, h = self.rnn(x, h)
        mu, s = self.out(o).unbind(-1)
        return mu, nn.functional.softplus(s) + 1e-3, h


class Forecaster:
    """Train with ``fit(windows, starts, seasons)``; ``predict(context, start)``."""

    def __init__(self, cfg: ForecastConfig | None = None, seed: int = 0) -> None:
        self.cfg, self.seed = cfg or ForecastConfig(), seed

    def fit(self, windows: np.ndarray, starts: np.ndarray, seasons: tuple[int, ...]) -> Forecaster:
        """windows (N, context + horizon) in data units, each window's first time index."""
        cfg = self.cfg
        if windows.ndim != 2 or windows.shape[1] != cfg.context + cfg.horizon:
            raise ValueError(
                f"windows must be (N, {cfg.context + cfg.horizon}), got {windows.shape}"
            )
        self.seasons = seasons
        x = torch.from_numpy(np.asarray(windows, dtype=np.float32))
        t0 = torch.from_numpy(np.asarray(starts, dtype=np.int64))
        with seeded(self.seed):
            self.net_ = _GRU(2 * len(seasons), cfg)
            opt = torch.optim.Adam(self.net_.parameters(), lr=cfg.lr)
            gen = torch.Generator().manual_seed(self.seed)
            for _ in range(cfg.steps):
                i = torch.randint(len(x), (cfg.batch_size,), generator=gen)
                xb, scale = self._scaled(x[i])
                feats = self._features(t0[i], xb.shape[1])
                inp = torch.cat([torch.cat([xb[:, :1] * 0, xb[:, :-1]], 1)[..., None], feats], -1)
                mu, sigma, _ = self.net_.step(inp, None)
                nll = torch.distributions.Normal(mu, sigma).log_prob(xb)
                loss = -nll[:, 1:].mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return self

    def _scaled(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale = x[:, : self.cfg.context].abs().mean(1, keepdim=True).clamp_min(1e-6)
        return x / scale, scale

    def _features(self, start: torch.Tensor, length: int) -> torch.Tensor:
        return time_features(start, length, torch.tensor(self.seasons))

    @torch.no_grad()
    def predict(self, context: np.ndarray, start: np.ndarray) -> np.ndarray:
        """(N, horizon) mean forecasts after the (N, context) values; ``start`` = first index
        of each context (for the time features)."""
        cfg = self.cfg
        c = torch.from_numpy(np.asarray(context, dtype=np.float32))
        t0 = torch.from_numpy(np.asarray(start, dtype=np.int64))
        xs, scale = self._scaled(c)
        feats = self._features(t0, cfg.context + cfg.horizon)
        inp = torch.cat(
            [torch.cat([xs[:, :1] * 0, xs[:, :-1]], 1)[..., None], feats[:, : cfg.context]], -1
        )
        mu, _, h = self.net_.step(inp, None)
        prev, outs = xs[:, -1], []
        for k in range(cfg.horizon):
            step_in = torch.cat(
                [prev[:, None, None], feats[:, cfg.context + k : cfg.context + k + 1]], -1
            )
            mu, _, h = self.net_.step(step_in, h)
            prev = mu[:, 0]
            outs.append(prev)
        return (torch.stack(outs, 1) * scale).numpy()


def nrmse(pred: np.ndarray, truth: np.ndarray) -> float:
    """RMSE divided by the mean absolute truth (over all points)."""
    return float(np.sqrt(np.mean((pred - truth) ** 2)) / np.mean(np.abs(truth)))
