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


OFFICIAL_LR, OFFICIAL_STEPS = 0.025, 1024  # official README l. 42: --policy_lr, --search_bno


@dataclass(frozen=True)
class DeepAAConfig:
    """The search (official DeepAA_search.py). Official budget: 6 layers x 1,024 steps of 16
    tasks; the defaults are a budget a CPU finishes in minutes (the method is the same)."""

    seed: int = 0
    layers: int = 4  # augmentation layers, searched greedily one after another (official 6)
    steps: int = 40  # policy updates per layer (official README: --search_bno 1024)
    tasks: int = 8  # per step: one search image of class c + val_per_task images of c (official 16)
    val_per_task: int = 64  # held-out images of the task's class for its clean gradient
    # layers >= 2: the policy-stack gradient from grad_draws x 139 draws per task (official 4)
    grad_draws: int = 1
    # layers >= 2: draws of the earlier layers per image before each entry (official EXP_G 16)
    jvp_draws: int = 2
    # Adam on the layer's logits; None: the official 0.025 for its 1,024 steps, scaled by
    # 1,024 / steps so that the logits can move as far in fewer steps (Adam moves each logit
    # by about lr per step; from identity's logit 8, 40 steps of 0.025 leave p(identity) > 0.8)
    policy_lr: float | None = None
    init_identity_logit: float = 8.0  # identity's logit at init, others 0 (p = 0.956; official)
    regularize: bool = True  # layers >= 2: mean - std across tasks of the importance vectors
    pretrain_fraction: float = 0.2  # of the images: trains the search network (official 5k/50k)
    val_fraction: float = 0.2  # of the images: the tasks' clean images; the rest are searched
    # the search network, pre-trained with crop + flip + cutout (official: 45 epochs)
    net: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30, batch_size=64, lr=0.05))

    def validate(self) -> None:
        for name in ("layers", "steps", "tasks", "val_per_task", "grad_draws", "jvp_draws"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(
            self.policy_lr is None or self.policy_lr > 0,
            f"policy_lr must be > 0 or None, got {self.policy_lr}",
        )
        for name in ("pretrain_fraction", "val_fraction"):
            v = getattr(self, name)
            check(0 < v < 1, f"{name} must be in (0, 1), got {v}")
        check(
            self.pretrain_fraction + self.val_fraction < 1,
            "pretrain_fraction + val_fraction must leave images to search (< 1), got "
            f"{self.pretrain_fraction} + {self.val_fraction}",
        )
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        self.net.validate()

    @property
    def effective_policy_lr(self) -> float:
        """``policy_lr``, or the official lr scaled to the step budget."""
        return (
            self.policy_lr
            if self.policy_lr is not None
            else OFFICIAL_LR * OFFICIAL_STEPS / self.steps
        )
