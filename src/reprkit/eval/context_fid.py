"""Context-FID (Jeha et al., ICLR 2022): Fréchet distance between embeddings of real and
synthetic time-series windows, the embeddings coming from a TS2Vec-style encoder trained on
the real windows of the dataset.

Our encoder follows TS2Vec's description (Yue et al., AAAI 2022, Section 3), written from the
paper: a linear input projection (width 64), timestamp masking during training (each projected
time step zeroed with probability 0.5), ten residual blocks of dilated convolutions (dilation
1, 2, 4, ...), output width 320, trained with the hierarchical contrastive loss (instance-wise
and temporal terms, repeated after max-pooling the time axis by 2) on two random overlapping
crops of each window. A window's embedding is the max over time of its per-step
representation. Training and scoring are deterministic given ``seed`` (CPU).

Besides the Context-FID: ``score_joint``, a conditional score (the Fréchet *joint* distance of
DeVries et al., 2019: window embeddings concatenated with an embedding of each window's
conditioning), and ``position_bias``, the mean generated − real value per time step.
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
    """(B, L) windows -> (B, L, dim) per-step representations (TS2Vec, Section 3.1)."""

    def __init__(
        self, hidden: int = 64, dim: int = 320, depth: int = 10, mask_p: float = 0.5
    ) -> None:
        super().__init__()
        self.proj = nn.Linear(1, hidden)
        self.mask_p = mask_p
        chans = [hidden] * depth + [dim]
        self.blocks = nn.Sequential(
            *[_DilatedBlock(chans[i], chans[i + 1], 2**i) for i in range(depth)]
        )

    def forward(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        h = self.proj(x[..., None])  # (B, L, hidden)
        if gen is not None and self.mask_p > 0:  # timestamp masking (training only)
            keep = torch.rand(h.shape[:2], generator=gen) >= self.mask_p
            h = h * keep[..., None]
        return self.blocks(h.transpose(1, 2)).transpose(1, 2)


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
        hidden: int = 64,
        dim: int = 320,
        depth: int = 10,
    ) -> None:
        self.seed, self.steps, self.batch_size, self.lr = seed, steps, batch_size, lr
        self.hidden, self.dim, self.depth = hidden, dim, depth

    def fit(self, real: np.ndarray) -> ContextFID:
        x = _as_windows(real, "real")
        length = x.shape[1]
        if length < 4:
            raise ValueError(f"windows must have at least 4 steps, got {length}")
        with seeded(self.seed):
            self.encoder_ = TS2VecEncoder(self.hidden, self.dim, self.depth)
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
        z1 = self.encoder_(xb[:, a1:b1], gen)[:, a2 - a1 :]
        z2 = self.encoder_(xb[:, a2:b2], gen)[:, :crop]
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

    def score_joint(
        self,
        real: np.ndarray,
        fake: np.ndarray,
        cond_real: np.ndarray,
        cond_fake: np.ndarray | None = None,
    ) -> float:
        """Conditional score: the Fréchet joint distance (DeVries et al., 2019) of
        [window embedding, conditioning embedding] pairs. ``cond_real`` (N, k) embeds each real
        window's conditioning (e.g. its series and start); ``cond_fake`` the fake windows'
        (default: the same rows, for fakes generated with the real windows' conditioning).
        Each conditioning block is scaled to the window embeddings' mean norm. A generator
        that ignores its conditioning scores worse here, while its Context-FID may not move."""
        er, ef = self.embed(real), self.embed(fake)
        cr = np.asarray(cond_real, dtype=np.float64)
        cf = cr if cond_fake is None else np.asarray(cond_fake, dtype=np.float64)
        if cr.ndim != 2 or cr.shape[0] != len(er) or cf.shape != (len(ef), cr.shape[1]):
            raise ValueError(
                f"cond_real / cond_fake must be (N, k) with one row per window, got "
                f"{cr.shape} / {cf.shape} for {len(er)} / {len(ef)} windows"
            )
        alpha = np.linalg.norm(er, axis=1).mean() / max(np.linalg.norm(cr, axis=1).mean(), 1e-12)
        return fid_of(np.hstack([er, alpha * cr]), np.hstack([ef, alpha * cf]))


def position_bias(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """Mean generated − mean real value at each time step, in units of the real windows' mean
    within-window standard deviation: (length,). Zero padding, for example, shows as a pull at
    both ends that the Context-FID hardly sees."""
    r, f = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise ValueError(f"real and fake must be (N, length) windows, got {r.shape} and {f.shape}")
    return (f.mean(0) - r.mean(0)) / max(r.std(1).mean(), 1e-12)


def _as_windows(x: np.ndarray, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if t.dim() != 2 or len(t) < 2:
        raise ValueError(f"{name} must be (N >= 2, length) windows, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return t
