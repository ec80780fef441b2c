"""PSA-GAN's generator and discriminator (Jeha et al., ICLR 2022, Section 3).

Both work on ``(batch, channels, length)`` tensors. Every scale sees the conditioning: time
features, the series-ID embedding and (PSA-GAN-C) the context vector, average-pooled to the
scale's length. ``stage`` s means length 8 · 2^s; ``alpha`` in [0, 1] fades the newest block in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from reprkit.methods.psagan.config import PSAGANConfig

SLOPE = 0.01  # LeakyReLU's negative slope: nn.LeakyReLU's default, as in the official code


def _sn(layer: nn.Module, on: bool) -> nn.Module:
    return spectral_norm(layer) if on else layer


def _conv(c_in: int, c_out: int, k: int, sn: bool, padding: str = "zeros") -> nn.Module:
    """Conv1d keeping the length; ``padding``: "replicate" or "zeros" (the edge values)."""
    return _sn(nn.Conv1d(c_in, c_out, k, padding=k // 2, padding_mode=padding), sn)


class SelfAttention(nn.Module):
    """Residual self-attention over time (SAGAN-style), ``x + γ · out(attn(x))``: queries and
    keys of width ``key``, values of width ``value`` projected back to the channels by a 1x1
    convolution ``out``; the gate γ starts at 0. As the official ``ResidualSelfAttention``:
    plain (not spectral-normalised) 1x1 convolutions."""

    def __init__(self, channels: int, key: int = 1, value: int = 1) -> None:
        super().__init__()
        self.q, self.k = nn.Conv1d(channels, key, 1), nn.Conv1d(channels, key, 1)
        self.v, self.out = nn.Conv1d(channels, value, 1), nn.Conv1d(value, channels, 1)
        self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.q(x), self.k(x), self.v(x)  # (B, key, L), (B, key, L), (B, value, L)
        w = torch.softmax(q.transpose(1, 2) @ k / q.shape[1] ** 0.5, dim=-1)  # (B, L, L)
        return x + self.gate * self.out(v @ w.transpose(1, 2))


class Block(nn.Module):
    """Spectral-norm Conv1d (k=3) + LeakyReLU + residual self-attention (optional)."""

    def __init__(self, c_in: int, c_out: int, attention: bool, sn: bool, cfg: PSAGANConfig) -> None:
        super().__init__()
        self.conv = _conv(c_in, c_out, 3, sn, cfg.padding)
        self.attn = (
            SelfAttention(c_out, cfg.key_features, cfg.value_features)
            if attention
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(nnf.leaky_relu(self.conv(x), SLOPE))


def make_noise(n: int, channels: int, stage: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Generator noise: (n, channels, 8 · 2^s) for every scale s <= stage."""
    return [torch.randn(n, channels, 8 * 2**s, generator=gen) for s in range(stage + 1)]


def pooled(cond: torch.Tensor, length: int) -> torch.Tensor:
    """The conditioning (B, F, L_full) average-pooled to ``length``."""
    return cond if cond.shape[-1] == length else nnf.adaptive_avg_pool1d(cond, length)


class Generator(nn.Module):
    def __init__(self, cfg: PSAGANConfig, cond: int, attention: bool) -> None:
        super().__init__()
        n_blocks, channels, noise = cfg.n_blocks, cfg.channels, cfg.noise_channels
        # paper: noise enters at length 8 only; fresh noise channels at every scale (as in
        # StyleGAN-like generators) gave sharper windows here, see the README
        self.blocks = nn.ModuleList(
            [Block(noise + cond, channels, attention, True, cfg)]
            + [
                Block(channels + cond + noise, channels, attention, True, cfg)
                for _ in range(n_blocks)
            ]
        )
        # paper: one output layer shared by all scales (official `last_block`, spectral norm);
        # ours: one per scale, spectral norm as theirs
        self.to_series = nn.ModuleList([_conv(channels, 1, 1, True) for _ in range(n_blocks + 1)])

    def forward(
        self, noise: list[torch.Tensor], cond: torch.Tensor, stage: int, alpha: float = 1.0
    ) -> torch.Tensor:
        """Noise (B, noise, 8 · 2^s) per scale s <= stage, conditioning (B, F, L_full) ->
        (B, 8 · 2^stage) series."""
        h = self.blocks[0](torch.cat([noise[0], pooled(cond, noise[0].shape[-1])], 1))
        prev = h
        for s in range(1, stage + 1):
            prev = h
            h = nnf.interpolate(h, scale_factor=2, mode="nearest")
            h = self.blocks[s](torch.cat([h, pooled(cond, h.shape[-1]), noise[s]], 1))
        out = self.to_series[stage](h)
        if stage > 0 and alpha < 1.0:
            old = nnf.interpolate(self.to_series[stage - 1](prev), scale_factor=2, mode="nearest")
            out = alpha * out + (1 - alpha) * old
        return out.squeeze(1)


class Discriminator(nn.Module):
    """Mirrors the generator: from-series at the current length, blocks with average pooling
    down to length 8, then a linear score. ``sn`` spectral norm (off for the WGAN-GP critic)."""

    def __init__(self, cfg: PSAGANConfig, cond: int, attention: bool, sn: bool) -> None:
        super().__init__()
        n_blocks, channels = cfg.n_blocks, cfg.channels
        # first and last layers spectral-normalised as the official ProDiscriminator's
        # (initial 1x1 conv + LeakyReLU, final linear); without spectral norm for WGAN-GP
        self.from_series = nn.ModuleList(
            [
                nn.Sequential(_conv(1 + cond, channels, 1, sn), nn.LeakyReLU(SLOPE))
                for _ in range(n_blocks + 1)
            ]
        )
        self.blocks = nn.ModuleList(
            [Block(channels, channels, attention, sn, cfg) for _ in range(n_blocks + 1)]
        )
        self.head = _sn(nn.Linear(channels * 8, 1), sn)

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor, stage: int, alpha: float = 1.0
    ) -> torch.Tensor:
        """(B, L) series at length 8 · 2^stage -> (B,) scores."""
        h = self.from_series[stage](torch.cat([x[:, None], pooled(cond, x.shape[-1])], 1))
        for s in range(stage, -1, -1):
            h = self.blocks[s](h)
            if s > 0:
                h = nnf.avg_pool1d(h, 2)
                if s == stage and alpha < 1.0:  # fade: blend with the previous stage's input path
                    xs = nnf.avg_pool1d(x[:, None], 2)
                    old = self.from_series[s - 1](torch.cat([xs, pooled(cond, xs.shape[-1])], 1))
                    h = alpha * h + (1 - alpha) * old
        return self.head(nnf.leaky_relu(h, SLOPE).flatten(1)).squeeze(1)
