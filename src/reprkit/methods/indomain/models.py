"""Model families of the benchmark, each a regressor from images to normalised factor values,
trained with the same loop and budget: MLP, the 4-layer conv encoder of the disentanglement
literature, a small ResNet, and two VAEs whose frozen latent means feed an MLP readout: beta-VAE
(unsupervised) and Ada-GVAE (weakly supervised: pairs of training images that differ in one
factor; Locatello et al. 2020)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reprkit.core.progress import progress_bar
from reprkit.methods.deepaa.nets import ResNet

MODELS = ("mlp", "conv4", "resnet", "beta_vae", "ada_gvae")
VAES = ("beta_vae", "ada_gvae")


class ConvEncoder(nn.Module):
    """4 conv layers (32, 32, 64, 64 channels, kernel 4, stride 2) + FC 256 (Locatello et al.)."""

    def __init__(self, size: int, out: int, channels: int = 1) -> None:
        super().__init__()
        chans = [channels, 32, 32, 64, 64]
        self.conv = nn.Sequential(*[
            m for a, b in zip(chans, chans[1:], strict=False)
            for m in (nn.Conv2d(a, b, 4, 2, 1), nn.ReLU())
        ])  # fmt: skip
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(64 * (size // 16) ** 2, 256), nn.ReLU())
        self.out = nn.Linear(256, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.fc(self.conv(x)))


class BetaVAE(nn.Module):
    def __init__(self, size: int, latent: int = 10, channels: int = 1) -> None:
        super().__init__()
        self.size = size
        self.enc = ConvEncoder(size, 2 * latent, channels)
        s = size // 16
        self.dec_fc = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 64 * s * s))
        chans = [64, 64, 32, 32]
        layers: list[nn.Module] = []
        for a, b in zip(chans, chans[1:], strict=False):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU()]
        self.dec = nn.Sequential(*layers, nn.ConvTranspose2d(32, channels, 4, 2, 1))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(x).chunk(2, 1)
        return mu, logvar

    def loss(self, x: torch.Tensor, beta: float) -> torch.Tensor:
        return self._elbo(x, *self.encode(x), beta)

    def pair_loss(self, x1: torch.Tensor, x2: torch.Tensor, beta: float) -> torch.Tensor:
        """Ada-GVAE: latents whose posteriors differ least between the two images of a pair
        (per-dimension KL below the midpoint of its range) are shared — both posteriors are
        replaced by their average — then the beta-VAE loss of both images."""
        (m1, l1), (m2, l2) = self.encode(x1), self.encode(x2)
        v1, v2 = l1.exp(), l2.exp()
        kl = 0.5 * (v1 / v2 + (m2 - m1) ** 2 / v2 - 1 + l2 - l1)
        lo, hi = kl.min(1, keepdim=True).values, kl.max(1, keepdim=True).values
        shared = kl < 0.5 * (lo + hi)
        m, lv = 0.5 * (m1 + m2), (0.5 * (v1 + v2)).log()
        m1, m2 = torch.where(shared, m, m1), torch.where(shared, m, m2)
        l1, l2 = torch.where(shared, lv, l1), torch.where(shared, lv, l2)
        return self._elbo(x1, m1, l1, beta) + self._elbo(x2, m2, l2, beta)

    def _elbo(self, x, mu, logvar, beta: float) -> torch.Tensor:
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        s = self.size // 16
        logits = self.dec(self.dec_fc(z).view(-1, 64, s, s))
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum() / len(x)
        return rec + beta * kl


def pair_partners(factors: np.ndarray, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each training image ``idx[i]``, a training image that differs from it in exactly
    one factor (a random factor set to a random other value; the image itself when that
    combination is not in ``factors``, e.g. held out by the split)."""
    sizes = factors.max(0) + 1
    strides = np.cumprod([1, *sizes[::-1][:-1]])[::-1]
    lookup = np.full(int(np.prod(sizes)), -1)
    lookup[factors @ strides] = np.arange(len(factors))
    f = factors[idx].copy()
    col = rng.integers(0, factors.shape[1], len(idx))
    shift = rng.integers(1, np.maximum(sizes[col], 2), len(idx))
    f[np.arange(len(idx)), col] = (f[np.arange(len(idx)), col] + shift) % sizes[col]
    partner = lookup[f @ strides]
    return np.where(partner >= 0, partner, idx)


class Readout(nn.Module):
    """Frozen VAE latent means -> MLP -> factors."""

    def __init__(self, vae: BetaVAE, latent: int, out: int) -> None:
        super().__init__()
        self.vae = vae
        self.head = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            mu, _ = self.vae.encode(x)
        return self.head(mu)


def build(name: str, size: int, out: int, channels: int = 1) -> nn.Module:
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, 512), nn.ReLU(),
                             nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, out))  # fmt: skip
    if name == "conv4":
        return ConvEncoder(size, out, channels)
    if name == "resnet":
        net = ResNet(out, channels, width=16, blocks=1)
        net.mean.fill_(0.5)
        net.std.fill_(0.5)
        return net
    raise ValueError(f"model must be one of {list(MODELS)}, got {name!r}")


def _batches(n: int, batch: int, steps: int, gen: torch.Generator, progress, desc: str):
    """``steps`` batches of ``batch`` indices (at most ``n``), passes over fresh permutations."""
    batch = min(batch, n)
    order, pos = torch.randperm(n, generator=gen), 0
    for _ in progress_bar(range(steps), progress=progress, desc=desc):
        if pos + batch > n:
            order, pos = torch.randperm(n, generator=gen), 0
        yield order[pos : pos + batch]
        pos += batch


def train_model(
    name: str,
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float = 4.0,
    latent: int = 10,
    factors: np.ndarray | None = None,
    gen: torch.Generator,
    progress: bool | None = False,
) -> nn.Module:
    """Fit a model family on float images ``x`` (N, C, S, S) in [0, 1] and targets (N, F) in
    [0, 1] with Adam and MSE for ``steps`` gradient steps (the same for every split, whatever
    its training part's size); the VAEs first learn the VAE (same steps, no labels; ada_gvae on
    pairs that differ in one factor, which needs the training images' value indices
    ``factors``), then the readout (same steps). Returns the model in eval mode."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    size, out, channels = x.shape[-1], targets.shape[1], x.shape[1]
    if name in VAES:
        if name == "ada_gvae" and (factors is None or len(factors) != len(x)):
            raise ValueError("ada_gvae needs factors: the value indices of the training images")
        vae = BetaVAE(size, latent, channels)
        opt = torch.optim.Adam(vae.parameters(), lr=lr)
        rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=gen)))
        for idx in _batches(len(x), batch_size, steps, gen, progress, name):
            if name == "ada_gvae":
                partner = torch.from_numpy(pair_partners(factors, idx.numpy(), rng))
                loss = vae.pair_loss(x[idx], x[partner], beta)
            else:
                loss = vae.loss(x[idx], beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
        vae.eval()
        model: nn.Module = Readout(vae, latent, out)
        params = list(model.head.parameters())
    else:
        model = build(name, size, out, channels)
        params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    model.train()
    if name in VAES:
        model.vae.eval()
    for idx in _batches(len(x), batch_size, steps, gen, progress, name):
        loss = F.mse_loss(model(x[idx]), targets[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    recalibrate_batchnorm(model, x, gen)
    return model.eval()


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module, x: torch.Tensor, gen: torch.Generator, n: int = 10_000, batch: int = 512
) -> None:
    """Re-estimate BatchNorm statistics with the final weights (cumulative average over up to
    ``n`` random training images). The running averages from training lag behind fast-moving
    weights; for ResNet-8 after 3 epochs they offset the orientation output by a third of its
    range. No-op for models without BatchNorm."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    idx = torch.randperm(len(x), generator=gen)[:n]
    for i in range(0, len(idx), batch):
        model(x[idx[i : i + batch]])
    model.eval()
