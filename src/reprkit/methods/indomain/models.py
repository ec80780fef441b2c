"""Model families of the benchmark, each a regressor from images to normalised factor values,
trained with the same loop and budget: MLP, the 4-layer conv encoder of the disentanglement
literature, a small ResNet, and a beta-VAE whose frozen latent means feed an MLP readout."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reprkit.core.progress import progress_bar
from reprkit.methods.deepaa.nets import ResNet

MODELS = ("mlp", "conv4", "resnet", "beta_vae")


class ConvEncoder(nn.Module):
    """4 conv layers (32, 32, 64, 64 channels, kernel 4, stride 2) + FC 256 (Locatello et al.)."""

    def __init__(self, size: int, out: int) -> None:
        super().__init__()
        chans = [1, 32, 32, 64, 64]
        self.conv = nn.Sequential(*[
            m for a, b in zip(chans, chans[1:], strict=False)
            for m in (nn.Conv2d(a, b, 4, 2, 1), nn.ReLU())
        ])  # fmt: skip
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(64 * (size // 16) ** 2, 256), nn.ReLU())
        self.out = nn.Linear(256, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.fc(self.conv(x)))


class BetaVAE(nn.Module):
    def __init__(self, size: int, latent: int = 10) -> None:
        super().__init__()
        self.size = size
        self.enc = ConvEncoder(size, 2 * latent)
        s = size // 16
        self.dec_fc = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 64 * s * s))
        chans = [64, 64, 32, 32]
        layers: list[nn.Module] = []
        for a, b in zip(chans, chans[1:], strict=False):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU()]
        self.dec = nn.Sequential(*layers, nn.ConvTranspose2d(32, 1, 4, 2, 1))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(x).chunk(2, 1)
        return mu, logvar

    def loss(self, x: torch.Tensor, beta: float) -> torch.Tensor:
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        s = self.size // 16
        logits = self.dec(self.dec_fc(z).view(-1, 64, s, s))
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum() / len(x)
        return rec + beta * kl


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


def build(name: str, size: int, out: int) -> nn.Module:
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(size * size, 512), nn.ReLU(),
                             nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, out))  # fmt: skip
    if name == "conv4":
        return ConvEncoder(size, out)
    if name == "resnet":
        net = ResNet(out, 1, width=16, blocks=1)
        net.mean.fill_(0.5)
        net.std.fill_(0.5)
        return net
    raise ValueError(f"model must be one of {list(MODELS)}, got {name!r}")


def _batches(n: int, batch: int, epochs: int, gen: torch.Generator, progress, desc: str):
    for _ in progress_bar(range(epochs), progress=progress, desc=desc):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n - batch + 1, batch):
            yield order[i : i + batch]


def train_model(
    name: str,
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float = 4.0,
    latent: int = 10,
    gen: torch.Generator,
    progress: bool | None = False,
) -> nn.Module:
    """Fit a model family on float images ``x`` (N, 1, S, S) in [0, 1] and targets (N, F) in
    [0, 1] with Adam and MSE for ``epochs``; beta_vae first learns the VAE (same epochs, no
    labels), then the readout (same epochs). Returns the model in eval mode."""
    size, out = x.shape[-1], targets.shape[1]
    if name == "beta_vae":
        vae = BetaVAE(size, latent)
        opt = torch.optim.Adam(vae.parameters(), lr=lr)
        for idx in _batches(len(x), batch_size, epochs, gen, progress, "beta-VAE"):
            loss = vae.loss(x[idx], beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
        vae.eval()
        model: nn.Module = Readout(vae, latent, out)
        params = list(model.head.parameters())
    else:
        model = build(name, size, out)
        params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    model.train()
    if name == "beta_vae":
        model.vae.eval()
    for idx in _batches(len(x), batch_size, epochs, gen, progress, name):
        loss = F.mse_loss(model(x[idx]), targets[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()
