"""Context-FID (Jeha et al., ICLR 2022): Fréchet distance between embeddings of real and
synthetic time-series windows, the embeddings coming from a TS2Vec-style encoder trained on
the real windows of the dataset.

Our encoder (documented choice): TS2Vec's architecture in small (Yue et al., AAAI 2022): a linear
input projection, residual blocks of dilated convolutions (dilation 1, 2, 4, ...), trained with
TS2Vec's hierarchical contrastive loss (instance-wise and temporal terms, repeated after
max-pooling the time axis by 2) on two random overlapping crops of each window. A window's
embedding is the max over time of its per-step representation. Training and scoring are
deterministic given ``seed`` (CPU).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf
from scipy import linalg
from torch import nn

from reprkit.core.seed import seeded


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) between two Gaussians."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape:
        raise ValueError(f"shapes differ: {mu1.shape}/{cov1.shape} vs {mu2.shape}/{cov2.shape}")
    root = linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(root).all():  # singular product: regularise as the FID reference does
        eps = 1e-6 * np.eye(len(cov1))
        root = linalg.sqrtm((cov1 + eps) @ (cov2 + eps))
    root = np.real(root)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1 + cov2 - 2 * root))


def fid_of(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two embedding sets (rows = samples)."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least 2 embeddings on each side")
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


class _DilatedBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, dilation: int) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(c_in, c_out, 3, padding=dilation, dilation=dilation)
        self.c2 = nn.Conv1d(c_out, c_out, 3, padding=dilation, dilation=dilation)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.c2(nnf.gelu(self.c1(nnf.gelu(x))))


class TS2VecEncoder(nn.Module):
    """(B, L) windows -> (B, L, dim) per-step representations."""

    def __init__(self, hidden: int = 32, dim: int = 64, depth: int = 6) -> None:
        super().__init__()
        self.proj = nn.Linear(1, hidden)
        chans = [hidden] * depth + [dim]
        self.blocks = nn.Sequential(
            *[_DilatedBlock(chans[i], chans[i + 1], 2**i) for i in range(depth)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.proj(x[..., None]).transpose(1, 2)).transpose(1, 2)


def _instance_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    b = z1.shape[0]
    if b == 1:
        return z1.new_zeros(())
    z = torch.cat([z1, z2], 0).transpose(0, 1)  # (T, 2B, D)
    sim = z @ z.transpose(1, 2)
    logits = torch.tril(sim, -1)[:, :, :-1] + torch.triu(sim, 1)[:, :, 1:]  # drop self
    logits = -nnf.log_softmax(logits, -1)
    i = torch.arange(b)
    return (logits[:, i, b + i - 1].mean() + logits[:, b + i, i].mean()) / 2


def _temporal_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    t = z1.shape[1]
    if t == 1:
        return z1.new_zeros(())
    return _instance_loss(z1.transpose(0, 1), z2.transpose(0, 1))


def hierarchical_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """TS2Vec's loss on two views (B, T, D) of the same time steps."""
    loss, levels = z1.new_zeros(()), 0
    while z1.shape[1] > 1:
        loss = loss + _instance_loss(z1, z2) + _temporal_loss(z1, z2)
        levels += 1
        z1 = nnf.max_pool1d(z1.transpose(1, 2), 2).transpose(1, 2)
        z2 = nnf.max_pool1d(z2.transpose(1, 2), 2).transpose(1, 2)
    loss = loss + _instance_loss(z1, z2)
    return loss / (levels + 1)


class ContextFID:
    """Train the embedding on real windows once, then score any number of synthetic sets.

    Example:
        >>> cfid = ContextFID(seed=0).fit(real_windows)          # doctest: +SKIP
        >>> cfid.score(real_windows, fake_windows)               # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        steps: int = 600,
        batch_size: int = 32,
        lr: float = 1e-3,
        hidden: int = 32,
        dim: int = 64,
    ) -> None:
        self.seed, self.steps, self.batch_size, self.lr = seed, steps, batch_size, lr
        self.hidden, self.dim = hidden, dim

    def fit(self, real: np.ndarray) -> ContextFID:
        x = _as_windows(real, "real")
        length = x.shape[1]
        if length < 4:
            raise ValueError(f"windows must have at least 4 steps, got {length}")
        with seeded(self.seed):
            self.encoder_ = TS2VecEncoder(self.hidden, self.dim)
            opt = torch.optim.AdamW(self.encoder_.parameters(), lr=self.lr)
            gen = torch.Generator().manual_seed(self.seed)
            for _ in range(self.steps):
                xb = x[torch.randint(len(x), (min(self.batch_size, len(x)),), generator=gen)]
                loss = self._views_loss(xb, gen)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        self.encoder_.eval()
        return self

    def _views_loss(self, xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Two random crops that overlap on [a2, b1); the loss is on the overlap."""
        length = xb.shape[1]
        crop = int(torch.randint(2, length + 1, (1,), generator=gen))
        a2 = int(torch.randint(0, length - crop + 1, (1,), generator=gen))
        b1 = a2 + crop
        a1 = int(torch.randint(0, a2 + 1, (1,), generator=gen))
        b2 = int(torch.randint(b1, length + 1, (1,), generator=gen))
        z1 = self.encoder_(xb[:, a1:b1])[:, a2 - a1 :]
        z2 = self.encoder_(xb[:, a2:b2])[:, :crop]
        return hierarchical_contrastive_loss(z1, z2)

    @torch.no_grad()
    def embed(self, windows: np.ndarray) -> np.ndarray:
        """(N, dim) window embeddings: the max over time of the encoder's representation."""
        if not hasattr(self, "encoder_"):
            raise RuntimeError("ContextFID is not fitted yet; call fit(real_windows) first")
        x = _as_windows(windows, "windows")
        return torch.cat([self.encoder_(c).amax(1) for c in x.split(512)]).numpy()

    def score(self, real: np.ndarray, fake: np.ndarray) -> float:
        """Context-FID between the real and the synthetic windows (lower is better)."""
        return fid_of(self.embed(real), self.embed(fake))


def _as_windows(x: np.ndarray, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if t.dim() != 2 or len(t) < 2:
        raise ValueError(f"{name} must be (N >= 2, length) windows, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return t
