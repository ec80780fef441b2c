"""PSA-GAN configuration (and its WGAN-GP baseline's): the only copy of the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reprkit.core.config import check

VARIANTS = ("psagan", "wgan_gp")


@dataclass(frozen=True)
class PSAGANConfig:
    # psagan: progressive growing, self-attention, LSGAN + moment loss (the paper's model);
    # wgan_gp: the baseline through the same data path: the same conv generator at full length
    # from the start, no attention, no moment loss, WGAN-GP critic loss
    variant: Literal["psagan", "wgan_gp"] = "psagan"
    seed: int = 0
    length: int = 64  # target length: 8 · 2^k
    channels: int = 32  # feature channels of generator and discriminator
    noise_channels: int = 8  # noise enters at length 8
    embed_dim: int = 8  # learned series-ID embedding
    context_length: int = 0  # > 0: PSA-GAN-C, conditioned on the preceding window via an MLP
    context_dim: int = 8  # width of the context MLP's output (PSA-GAN-C)
    # ablations (the paper's rows): no self-attention, no moment loss, no progressive growing
    # (full length from the first step), no fade-in
    attention: bool = True
    moment_weight: float = 1.0  # weight of the moment loss (0: the no-moment ablation)
    progressive: bool = True  # grow from length 8 (False: full length from the start)
    fade_in: bool = True  # fade new blocks in linearly (False: the ablation)
    # architecture details of the official code (psagan/_model.py, run_gan.py): attention
    # queries/keys of width 1 and values of width 1 projected back by a 1x1 convolution
    key_features: int = 1  # width of the attention's queries and keys
    value_features: int = 1  # width of its values (projected back to `channels`)
    # "replicate" (ours, the default): zero padding pulls the first and last generated steps
    # towards 0 (issue #28); "zeros" is the official code's nn.Conv1d default
    padding: Literal["replicate", "zeros"] = "replicate"  # of the k=3 convolutions
    # schedule: an epoch is `batches_per_epoch` batches; a new block every `epochs_per_block`
    # epochs (faded in linearly over its first half) until the target length, then the rest
    # of `epochs` at full length
    epochs: int = 60
    # 5: one pilot on M4 seed 0 (Context-FID 6.77 vs 9.17 with 10, i.e. more epochs at length 64)
    epochs_per_block: int = 5
    batches_per_epoch: int = 50  # minibatches per epoch
    batch_size: int = 64
    lr: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam's, generator and discriminator
    d_steps: int = 1  # discriminator (critic) steps per generator step
    # discriminator warm-up as in the official trainer (_callbacks.py JointTrainingPytorch:
    # 50 discriminator steps per generator step for the first 25 generator steps)
    warmup_g_steps: int = 0  # generator steps of the warm-up (official 25; 0: none)
    warmup_d_steps: int = 50  # discriminator steps per generator step during it
    gp_weight: float = 10.0  # wgan_gp only
    max_missing: float = 0.5  # windows with more missing values than this are not sampled

    @property
    def n_blocks(self) -> int:
        """Blocks after the first: length = 8 · 2^n_blocks."""
        return (self.length // 8).bit_length() - 1

    def validate(self) -> None:
        check(
            self.variant in VARIANTS,
            f"variant must be one of {list(VARIANTS)}, got {self.variant!r}",
        )
        ok = (
            self.length >= 8
            and self.length % 8 == 0
            and (self.length // 8) & (self.length // 8 - 1) == 0
        )
        check(
            ok,
            f"length must be 8 times a power of two (8, 16, 32, 64, 128, ...), got {self.length}",
        )
        for name in ("channels", "noise_channels", "embed_dim", "context_dim", "epochs"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("epochs_per_block", "batches_per_epoch", "batch_size", "d_steps",
                     "key_features", "value_features", "warmup_d_steps"):  # fmt: skip
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(self.context_length >= 0, f"context_length must be >= 0, got {self.context_length}")
        check(self.moment_weight >= 0, f"moment_weight must be >= 0, got {self.moment_weight}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(
            len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas),
            f"betas must be two numbers in [0, 1), got {self.betas}",
        )
        check(self.warmup_g_steps >= 0, f"warmup_g_steps must be >= 0, got {self.warmup_g_steps}")
        check(
            self.padding in ("replicate", "zeros"),
            f"padding must be 'replicate' or 'zeros', got {self.padding!r}",
        )
        check(self.gp_weight >= 0, f"gp_weight must be >= 0, got {self.gp_weight}")
        check(0 <= self.max_missing < 1, f"max_missing must be in [0, 1), got {self.max_missing}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
