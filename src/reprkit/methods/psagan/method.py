"""PSA-GAN (Jeha et al., ICLR 2022): progressive self-attention GAN for time series.

The generator grows from length 8, doubling per block, every block faded in linearly; every
scale is conditioned on time features and a learned series-ID embedding (PSA-GAN-C also on an
MLP over the preceding context window). Loss: least-squares GAN plus a moment loss that matches
each generated window's mean and standard deviation to the real window drawn with the same
conditioning. ``variant="wgan_gp"`` is the baseline on the same data path: the same conv
generator at full length from the start, no attention, no moment loss, a WGAN-GP critic.

Series are scaled by their mean absolute value (as GluonTS's mean scaler); missing values are
filled by linear interpolation within a series, and windows with more than ``max_missing``
missing values are never drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from reprkit.core import distributed
from reprkit.core.base import BaseEstimator
from reprkit.core.config import check_same_config, flat_config
from reprkit.core.io import atomic_torch_save
from reprkit.core.progress import progress_bar
from reprkit.core.seed import seeded
from reprkit.core.validate import lookup
from reprkit.datasets.timeseries import as_series_array, time_features
from reprkit.methods.psagan.config import PSAGANConfig
from reprkit.methods.psagan.nets import SLOPE, Discriminator, Generator, make_noise

CITATION = """@inproceedings{jeha2022psagan,
  title={{PSA-GAN}: Progressive Self Attention {GAN}s for Synthetic Time Series},
  author={Jeha, Paul and Bohlke-Schneider, Michael and Mercado, Pedro and Kapoor, Shubham and
          Nirwan, Rajbir Singh and Flunkert, Valentin and Gasthaus, Jan and Januschowski, Tim},
  booktitle={International Conference on Learning Representations},
  year={2022}
}"""


class Conditioner(nn.Module):
    """Conditioning channels (B, F, L): time features, series embedding, context vector."""

    def __init__(self, n_series: int, seasons: tuple[int, ...], cfg: PSAGANConfig) -> None:
        super().__init__()
        self.register_buffer("seasons", torch.tensor(seasons, dtype=torch.float32))
        self.embed = nn.Embedding(n_series, cfg.embed_dim)
        self.context = (
            nn.Sequential(
                nn.Linear(cfg.context_length, 64),
                nn.LeakyReLU(SLOPE),
                nn.Linear(64, cfg.context_dim),
            )
            if cfg.context_length
            else None
        )
        self.dim = 2 * len(seasons) + cfg.embed_dim + (cfg.context_dim if cfg.context_length else 0)

    def forward(
        self, series: torch.Tensor, start: torch.Tensor, length: int, context: torch.Tensor | None
    ) -> torch.Tensor:
        parts = [
            time_features(start, length, self.seasons).transpose(1, 2),
            self.embed(series)[:, :, None].expand(-1, -1, length),
        ]
        if self.context is not None:
            parts.append(self.context(context)[:, :, None].expand(-1, -1, length))
        return torch.cat(parts, 1)


class _Nets(nn.Module):
    def __init__(self, cfg: PSAGANConfig, n_series: int, seasons: tuple[int, ...]) -> None:
        super().__init__()
        psa = cfg.variant == "psagan"
        self.cond_g = Conditioner(n_series, seasons, cfg)
        self.cond_d = Conditioner(n_series, seasons, cfg)
        attn = cfg.attention and psa
        c = self.cond_g.dim
        self.gen = Generator(cfg, c, attn)
        self.disc = Discriminator(cfg, c, attn, sn=psa)


def _interpolate_missing(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Fill NaNs inside each series' observed range by linear interpolation (ends: nearest)."""
    out = values.copy()
    for i, n in enumerate(lengths):
        row = out[i, :n]
        miss = np.isnan(row)
        if miss.any() and (~miss).any():
            idx = np.arange(n)
            row[miss] = np.interp(idx[miss], idx[~miss], row[~miss])
    return np.nan_to_num(out)


class Windows:
    """Series scaled by their mean absolute value, gaps filled, and the index of the windows
    that may be drawn (fully inside a series, with room for the context, at most
    ``max_missing`` missing). Checks its input before anything else. ``scale``: per-series
    scales to use instead of the data's own (e.g. held-out windows scaled as training saw them).
    """

    def __init__(
        self,
        series: Any,
        length: int,
        context_length: int = 0,
        max_missing: float = 0.5,
        scale: np.ndarray | None = None,
    ) -> None:
        values = as_series_array(series)
        observed = ~np.isnan(values)
        empty = np.flatnonzero(~observed.any(1))
        if len(empty):
            raise ValueError(f"series {empty[:5].tolist()} are all missing (NaN)")
        lengths = values.shape[1] - np.argmax(observed[:, ::-1], axis=1)
        need = length + context_length
        if lengths.max() < need:
            raise ValueError(
                f"series are shorter than the target length (+ context_length): the longest has "
                f"{lengths.max()} values, {need} needed"
            )
        if scale is None:
            scale = np.nanmean(np.abs(values), axis=1)
        self.scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        self.lengths, self.length, self.context_length = lengths, length, context_length
        starts, rows = [], []
        for i, n in enumerate(lengths):
            if n < need:
                continue
            miss = np.concatenate([[0], np.cumsum(~observed[i, :n])])
            s = np.arange(context_length, n - length + 1)
            ok = s[(miss[s + length] - miss[s]) / length <= max_missing]
            starts.append(ok)
            rows.append(np.full(len(ok), i))
        if not sum(len(s) for s in starts):
            raise ValueError(f"no window has at most {max_missing:.0%} missing values")
        self.data = torch.from_numpy(_interpolate_missing(values, lengths) / self.scale[:, None])
        self.series = torch.from_numpy(np.concatenate(rows))
        self.starts = torch.from_numpy(np.concatenate(starts))

    def draw(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(series, start) of ``n`` windows drawn uniformly from the index."""
        pick = torch.randint(len(self.series), (n,), generator=gen)
        return self.series[pick], self.starts[pick]

    def get(self, series: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
        """(n, length) scaled values from ``start`` on."""
        return self.data[series[:, None], start[:, None] + torch.arange(length)]

    def real(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` scaled real windows drawn as training draws them: (windows, series, start)."""
        s, t = self.draw(n, torch.Generator().manual_seed(seed))
        return self.get(s, t, self.length).numpy(), s.numpy(), t.numpy()

    def fingerprint(self) -> list[float]:
        return [float(len(self.scale)), float(self.scale.sum()), float(self.data.shape[1])]


class PSAGAN(BaseEstimator):
    """Progressive self-attention GAN for time series (https://arxiv.org/abs/2108.00981), or
    its WGAN-GP baseline (``variant="wgan_gp"``).

    Example:
        >>> gan = PSAGAN(length=64, epochs=60).fit(values)          # doctest: +SKIP
        >>> fake = gan.sample(100)                                  # doctest: +SKIP
    """

    name = "psagan"
    config_cls = PSAGANConfig

    # -- training -----------------------------------------------------------------------------

    def fit(
        self,
        series: Any,
        *,
        seasons: tuple[int, ...] = (24, 168),
        checkpoint: str | Path | None = None,
        on_epoch: Callable[[int, PSAGAN], None] | None = None,
        item_col: str | None = None,
        time_col: str | None = None,
        target_col: str | None = None,
    ) -> PSAGAN:
        """Train on ``series``: an (n_series, T) array (NaN = missing; shorter series padded at
        the end with NaN), a list of 1-D arrays, or a pandas frame (wide: one float column per
        series; long: columns ``item_col``, ``time_col``, ``target_col``, by default
        ``item_id``, ``timestamp``, ``target``). The series' names are kept in ``series_ids_``
        (column names, item ids, or positions) for ``sample(series=...)``.

        Args:
            seasons: periods (in steps) of the sine/cosine time features.
            checkpoint: file written (atomically) after every epoch; if it exists, training
                resumes from it.
            on_epoch: called as ``on_epoch(epoch, self)`` after every epoch.
        """
        cfg = self.config
        if not seasons or min(seasons) < 1:
            raise ValueError(f"seasons must be positive periods, got {seasons}")
        values, self.series_ids_ = as_series_array(
            series, item_col=item_col, time_col=time_col, target_col=target_col, with_ids=True
        )
        self.windows_ = Windows(values, cfg.length, cfg.context_length, cfg.max_missing)
        self.scale_, self.lengths_ = self.windows_.scale, self.windows_.lengths
        self.seasons_ = tuple(int(p) for p in seasons)
        n_series = len(self.scale_)
        with seeded(cfg.seed):
            nets = _Nets(cfg, n_series, self.seasons_).to(self.device)
        self.nets_, self.fitted_ = nets, True
        g_params = list(nets.gen.parameters()) + list(nets.cond_g.parameters())
        d_params = list(nets.disc.parameters()) + list(nets.cond_d.parameters())
        opt_g = torch.optim.Adam(g_params, lr=cfg.lr, betas=tuple(cfg.betas))
        opt_d = torch.optim.Adam(d_params, lr=cfg.lr, betas=tuple(cfg.betas))
        gen = torch.Generator().manual_seed(cfg.seed)
        # under torchrun: each part in DDP (progressive growing leaves the later blocks unused)
        parts = SimpleNamespace(**{
            k: distributed.wrap(getattr(nets, k), find_unused_parameters=k in ("gen", "disc"))
            for k in ("gen", "disc", "cond_g", "cond_d")
        })  # fmt: skip
        first = 0
        if checkpoint is not None and Path(checkpoint).is_file():
            first = self._resume(Path(checkpoint), opt_g, opt_d, gen)
        for epoch in progress_bar(
            range(first, cfg.epochs), desc=cfg.variant, progress=self.progress, initial=first
        ):
            nets.train()
            for b in range(cfg.batches_per_epoch):
                stage, alpha = self.stage_at(epoch, b)
                g_step = epoch * cfg.batches_per_epoch + b
                d_steps = cfg.warmup_d_steps if g_step < cfg.warmup_g_steps else cfg.d_steps
                self._step(parts, stage, alpha, opt_g, opt_d, gen, d_steps)
            nets.eval()
            if checkpoint is not None:
                self._checkpoint(Path(checkpoint), epoch, opt_g, opt_d, gen)
            if on_epoch is not None:
                on_epoch(epoch, self)
        return self

    def stage_at(self, epoch: int, batch: int = 0) -> tuple[int, float]:
        """(stage, fade-in alpha) of a training step: stage s trains length 8 · 2^s."""
        cfg = self.config
        if cfg.variant != "psagan" or not cfg.progressive:
            return cfg.n_blocks, 1.0
        stage = min(epoch // cfg.epochs_per_block, cfg.n_blocks)
        if stage == 0 or not cfg.fade_in:
            return stage, 1.0
        fade = max(cfg.epochs_per_block // 2, 1) * cfg.batches_per_epoch
        done = (epoch - stage * cfg.epochs_per_block) * cfg.batches_per_epoch + batch
        return stage, min(1.0, (done + 1) / fade)

    def _batch(self, stage: int, gen: torch.Generator):
        cfg = self.config
        w = self.windows_
        s, t = w.draw(cfg.batch_size, gen)
        real = w.get(s, t, cfg.length)
        ctx = w.get(s, t - cfg.context_length, cfg.context_length) if cfg.context_length else None
        dev = self.device
        real = real.to(dev)
        length = 8 * 2**stage
        if length < cfg.length:
            real = nnf.adaptive_avg_pool1d(real[:, None], length).squeeze(1)
        noise = [z.to(dev) for z in make_noise(cfg.batch_size, cfg.noise_channels, stage, gen)]
        ctx = ctx.to(dev) if ctx is not None else None
        # every draw above is for the global batch; under torchrun this process takes its part
        (real, s, t, *noise), w = distributed.shard(real, s, t, *noise)
        ctx = None if ctx is None else distributed.shard(ctx)[0]
        return real, s.to(dev), t.to(dev), ctx, noise, w

    def _step(self, ddp, stage, alpha, opt_g, opt_d, gen, d_steps: int = 1) -> None:
        """``d_steps`` discriminator (critic) updates, each on a fresh batch, then one generator
        update on the last batch's conditioning and noise."""
        cfg = self.config
        for i in range(d_steps):
            real, s, t, ctx, noise, w = self._batch(stage, gen)
            cd = ddp.cond_d(s, t, cfg.length, ctx)
            with torch.set_grad_enabled(i == d_steps - 1):  # the last fakes train the generator
                fake = ddp.gen(noise, ddp.cond_g(s, t, cfg.length, ctx), stage, alpha)
            d_real = ddp.disc(real, cd, stage, alpha)
            d_fake = ddp.disc(fake.detach(), cd, stage, alpha)
            if cfg.variant == "wgan_gp":
                gp = self._gradient_penalty(ddp.disc, real, fake.detach(), cd, stage, alpha, gen)
                ld = d_fake.mean() - d_real.mean() + cfg.gp_weight * gp
            else:
                ld = 0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake**2).mean()
            distributed.trace(ld, w)
            opt_d.zero_grad(set_to_none=True)
            (ld * w).backward()
            opt_d.step()
        # generator
        with torch.no_grad():  # the critic's conditioning, fixed for this step
            cd = ddp.cond_d(s, t, cfg.length, ctx)
        score = ddp.disc(fake, cd, stage, alpha)
        if cfg.variant == "wgan_gp":
            lg = -score.mean()
        else:
            lg = 0.5 * ((score - 1) ** 2).mean()
            if cfg.moment_weight > 0:
                lg = lg + cfg.moment_weight * moment_loss(fake, real)
        distributed.trace(lg, w)
        opt_g.zero_grad(set_to_none=True)
        (lg * w).backward()
        opt_g.step()

    def _gradient_penalty(self, disc, real, fake, cond, stage, alpha, gen) -> torch.Tensor:
        eps = torch.rand(self.config.batch_size, 1, generator=gen)  # for the global batch
        eps = distributed.shard(eps)[0].to(real.device)
        mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(disc(mix, cond, stage, alpha).sum(), mix, create_graph=True)
        return ((grad.norm(dim=1) - 1) ** 2).mean()

    # -- checkpoints --------------------------------------------------------------------------

    def _checkpoint(self, path: Path, epoch: int, opt_g, opt_d, gen: torch.Generator) -> None:
        state = {
            "epoch": epoch,
            "nets": self.nets_.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "rng": gen.get_state(),
            "fingerprint": self.windows_.fingerprint(),
            "config": flat_config(self.config),
        }
        atomic_torch_save(path, state)

    def _resume(self, path: Path, opt_g, opt_d, gen: torch.Generator) -> int:
        state = torch.load(path, map_location=self.device, weights_only=True)
        if state["fingerprint"] != self.windows_.fingerprint():
            raise ValueError(f"checkpoint {path} was written for different data; remove it")
        # paper: nothing; ours: a checkpoint trained with other settings must not be continued
        check_same_config(state.get("config", {}), flat_config(self.config), f"checkpoint {path}",
                          ignore=("epochs",))  # fmt: skip
        self.nets_.load_state_dict(state["nets"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        gen.set_state(state["rng"])
        return int(state["epoch"]) + 1

    # -- sampling -----------------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self,
        n: int | None = None,
        length: int | None = None,
        *,
        series: Any = None,
        start: Any = None,
        context: Any = None,
        generator: torch.Generator | None = None,
        scaled: bool = False,
    ) -> np.ndarray:
        """Synthetic windows (n, length) in the data's units (``scaled=True``: divided by each
        series' scale, as the model sees them).

        Args:
            n: how many; defaults to ``len(series)`` or ``len(context)``.
            length: must be the trained length (``config.length``); None means that.
            series: series ids whose embedding and scale to use (default: drawn at random).
            start: time index of each window's first step (default: a random position within the
                series' observed range).
            context: (n, context_length) preceding values in data units (PSA-GAN-C only).
            generator: a ``torch.Generator`` for the noise and the random choices.
        """
        self._check_fitted()
        cfg = self.config
        length = cfg.length if length is None else length
        if length != cfg.length:
            raise ValueError(f"length must be the trained length {cfg.length}, got {length}")
        gen = generator if generator is not None else torch.Generator().manual_seed(cfg.seed)
        if n is None:
            n = len(series) if series is not None else len(context) if context is not None else None
        if n is None or n < 1:
            raise ValueError(f"n must be >= 1 (or give series / context), got {n}")
        n_series = len(self.scale_)
        if series is None:
            s = torch.randint(n_series, (n,), generator=gen)
        else:
            names = np.atleast_1d(np.asarray(series))
            if names.shape != (n,):
                raise ValueError(f"series must hold {n} series names, got shape {names.shape}")
            pos, _ = lookup(names, self.series_ids_, "series", strict=True)  # see series_ids_
            s = torch.from_numpy(pos.astype(np.int64))
        if start is None:
            room = np.maximum(self.lengths_[s.numpy()] - length, 0) + 1
            t = torch.from_numpy((torch.rand(n, generator=gen).numpy() * room).astype(np.int64))
        else:
            t = torch.as_tensor(np.broadcast_to(np.asarray(start), (n,)).copy(), dtype=torch.long)
        scale = torch.from_numpy(self.scale_)[s]
        ctx = None
        if cfg.context_length:
            if context is None:
                raise ValueError(
                    f"this model is PSA-GAN-C: give context of shape (n, {cfg.context_length})"
                )
            ctx = torch.as_tensor(np.asarray(context, dtype=np.float32))
            if ctx.shape != (n, cfg.context_length) or torch.isnan(ctx).any():
                raise ValueError(
                    f"context must be ({n}, {cfg.context_length}) without NaN, got {tuple(ctx.shape)}"
                )
            ctx = (ctx / scale[:, None]).to(self.device)
        elif context is not None:
            raise ValueError("context is only for PSA-GAN-C models (config context_length > 0)")
        nets = self.nets_.eval()
        noise = [z.to(self.device) for z in make_noise(n, cfg.noise_channels, cfg.n_blocks, gen)]
        cond = nets.cond_g(s.to(self.device), t.to(self.device), length, ctx)
        out = nets.gen(noise, cond, cfg.n_blocks).cpu()
        return (out if scaled else out * scale[:, None]).numpy()

    # -- persistence --------------------------------------------------------------------------

    def _get_state(self) -> dict[str, Any]:
        return {
            "nets": self.nets_.state_dict(),
            "scale": torch.from_numpy(self.scale_),
            "lengths": torch.from_numpy(self.lengths_.astype(np.int64)),
            "seasons": list(self.seasons_),
            "series_ids": self.series_ids_.tolist(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.scale_ = state["scale"].numpy()
        self.lengths_ = state["lengths"].numpy()
        self.seasons_ = tuple(int(s) for s in state["seasons"])
        self.series_ids_ = np.asarray(state.get("series_ids", range(len(self.scale_))))
        nets = _Nets(self.config, len(self.scale_), self.seasons_)
        nets.load_state_dict(state["nets"])
        self.nets_ = nets.to(self.device).eval()


def moment_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """|mean − mean'| + |std − std'| over time, per window pair, averaged over the batch."""
    return (fake.mean(1) - real.mean(1)).abs().mean() + (fake.std(1) - real.std(1)).abs().mean()
