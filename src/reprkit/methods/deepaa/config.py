"""Deep AutoAugment configuration: the only copy of the defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from reprkit.core.config import check


@dataclass(frozen=True)
class TrainConfig:
    """A small CIFAR ResNet trained with SGD + Nesterov momentum and a cosine schedule."""

    width: int = 16  # channels of the first stage (x2, x4 in the next two)
    blocks: int = 1  # basic blocks per stage: 1 = ResNet-8, 3 = ResNet-20
    epochs: int = 15
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9  # SGD Nesterov momentum
    weight_decay: float = 5e-4

    def validate(self) -> None:
        for name in ("width", "blocks", "epochs", "batch_size"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}")
        check(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")


@dataclass(frozen=True)
class DeepAAConfig:
    seed: int = 0
    layers: int = 3  # augmentation layers, searched greedily one after another
    steps: int = 30  # policy updates per layer
    images_per_entry: int = 2  # images per (op, magnitude) entry in one step (the same images)
    val_batch: int = 256  # clean validation images per step (spread over the classes)
    policy_lr: float = 0.1  # Adam on the layer's logits
    init_identity: float = 0.5  # a new layer starts with this much probability on identity
    regularize: bool = True  # layers >= 2: mean - std of the score over single-class tasks
    val_fraction: float = 0.2  # of the training images, held out as the search's clean data
    # the search network: trained on the clean search-train part before the search
    net: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=15, batch_size=64, lr=0.05))

    def validate(self) -> None:
        for name in ("layers", "steps", "images_per_entry", "val_batch"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(self.policy_lr > 0, f"policy_lr must be > 0, got {self.policy_lr}")
        check(
            0 <= self.init_identity < 1,
            f"init_identity must be in [0, 1), got {self.init_identity}",
        )
        check(0 < self.val_fraction < 1, f"val_fraction must be in (0, 1), got {self.val_fraction}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        self.net.validate()
