"""The small CIFAR ResNet, its training loop, and the baseline augmentations.

Every augmentation is a callable ``(float batch in [0, 1], generator) -> float batch`` applied
on the fly to each training batch, so all of them go through the same training code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from reprkit.core import distributed
from reprkit.core.progress import progress_bar
from reprkit.methods.deepaa.config import TrainConfig
from reprkit.methods.deepaa.ops import ENTRIES
from reprkit.methods.deepaa.policy import AugmentPolicy

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
BASELINES = ("none", "cropflip", "randaugment", "trivialaugment", "autoaugment")
KORNIA_CHUNK = 8  # kornia draws one sub-policy per call: call it on chunks of this many images


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(h)) + self.skip(x))


class ResNet(nn.Module):
    """CIFAR ResNet (He et al. 2016): 3 stages of ``blocks`` basic blocks; input normalised
    inside by the training set's channel mean and std (buffers)."""

    def __init__(self, n_classes: int, channels: int, width: int, blocks: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
        self.register_buffer("std", torch.ones(1, channels, 1, 1))
        self.stem = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        layers, cin = [], width
        for stage in range(3):
            cout = width * 2**stage
            for b in range(blocks):
                layers.append(_Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer (pooled last stage), for images in [0, 1]."""
        return self.body(self.stem((x - self.mean) / self.std)).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    n_classes: int,
    cfg: TrainConfig,
    augment: Augment | None,
    generator: torch.Generator,
    *,
    device: torch.device,
    progress: bool | None = False,
    desc: str = "train",
) -> ResNet:
    """Train a fresh ResNet on uint8 ``images`` for ``cfg.epochs``; no early stopping (the
    budget is fixed and equal for every augmentation). Returns the net in eval mode."""
    x = images.float() / 255
    net = ResNet(n_classes, images.shape[1], cfg.width, cfg.blocks).to(device)
    net.mean.copy_(x.mean((0, 2, 3)).view(1, -1, 1, 1))
    net.std.copy_(x.std((0, 2, 3)).view(1, -1, 1, 1))
    opt = torch.optim.SGD(
        net.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=True,
        weight_decay=cfg.weight_decay,
    )
    per_epoch = max(1, len(x) // cfg.batch_size)  # drop the last partial batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * per_epoch)
    model = distributed.wrap(net)  # under torchrun: DDP, batch norm over the global batch
    net.train()
    for _ in progress_bar(range(cfg.epochs), progress=progress, desc=desc):
        order = torch.randperm(len(x), generator=generator)
        for b in range(per_epoch):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            xb = x[idx]
            if augment is not None:  # drawn for the global batch: every process draws alike
                xb = augment(xb, generator)
            (xb, yb), w = distributed.shard(xb, labels[idx])
            loss = F.cross_entropy(model(xb.to(device)), yb.to(device))
            distributed.trace(loss, w)
            opt.zero_grad(set_to_none=True)
            (loss * w).backward()
            opt.step()
            sched.step()
    return net.eval()


@torch.no_grad()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 500) -> float:
    """Top-1 accuracy of ``net`` on uint8 ``images``."""
    dev = next(net.parameters()).device
    hits = 0
    for i in range(0, len(images), batch):
        pred = net(images[i : i + batch].float().to(dev) / 255).argmax(1).cpu()
        hits += int((pred == labels[i : i + batch]).sum())
    return hits / len(images)


def crop_flip_policy(cutout: bool = False) -> AugmentPolicy:
    """The standard CIFAR augmentation as a policy: pad-and-crop, random flip (p = 0.5), and
    with ``cutout`` a 16-pixel cutout (how the official search network is pre-trained)."""
    ops = ["crop", "flip", *(["cutout"] if cutout else [])]
    p = torch.zeros(len(ops), len(ENTRIES), dtype=torch.float64)
    for k, op in enumerate(ops):
        p[k, ENTRIES.index((op, None))] = 1.0
    return AugmentPolicy(p)


class _Kornia:
    """A kornia auto-augmentation applied per chunk of images (kornia picks one sub-policy for
    a whole call, so a batch in one call would get the same ops everywhere)."""

    def __init__(self, name: str) -> None:
        from kornia.augmentation import auto

        self.aug = {
            "randaugment": lambda: auto.RandAugment(n=2, m=10),
            "trivialaugment": lambda: auto.TrivialAugment(),
            "autoaugment": lambda: auto.AutoAugment(policy="cifar10"),
        }[name]()

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        # kornia samples from torch's global RNG; callers seed it (core.seed.seeded)
        parts = [self.aug(x[i : i + KORNIA_CHUNK]) for i in range(0, len(x), KORNIA_CHUNK)]
        return torch.cat(parts).clamp(0, 1)


def baseline(name: str) -> Augment | None:
    """A baseline augmentation by name (``BASELINES``). RandAugment, TrivialAugment and
    AutoAugment run after crop+flip, as in their papers' CIFAR setups."""
    if name not in BASELINES:
        raise ValueError(f"augmentation must be one of {list(BASELINES)}, got {name!r}")
    if name == "none":
        return None
    cf = crop_flip_policy()
    if name == "cropflip":
        return cf
    auto = _Kornia(name)
    return lambda x, gen: auto(cf(x, gen), gen)
