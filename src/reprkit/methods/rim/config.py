"""RIM configuration: the only copy of the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reprkit.core.config import check

SEQUENCES = ("gru", "transformer", "pop")
INTENSITIES = ("hawkes", "hawkes_poisson", "ema", "user_pop", "constant")


@dataclass(frozen=True)
class RIMConfig:
    seed: int = 0
    # p(y | x): next-item model over the user's item sequence (pop: item popularity)
    sequence: Literal["gru", "transformer", "pop"] = "gru"
    hidden: int = 128
    layers: int = 2
    max_len: int = 50  # last items of a history the sequence model reads
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    # λ(x): how many events the user has in [at, at + horizon) (constant: the same for all)
    intensity: Literal["hawkes", "hawkes_poisson", "ema", "user_pop", "constant"] = "hawkes"
    n_decays: int = 8  # Hawkes kernels with time scales logspace(-6, 1) horizons
    l2: float = 1e-3  # Hawkes penalty
    ema_half_life: float = 1.0  # in horizons

    def validate(self) -> None:
        check(
            self.sequence in SEQUENCES,
            f"sequence must be one of {list(SEQUENCES)}, got {self.sequence!r}",
        )
        check(
            self.intensity in INTENSITIES,
            f"intensity must be one of {list(INTENSITIES)}, got {self.intensity!r}",
        )
        for name in ("hidden", "layers", "max_len", "epochs", "batch_size", "n_decays"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.l2 >= 0, f"l2 must be >= 0, got {self.l2}")
        check(self.ema_half_life > 0, f"ema_half_life must be > 0, got {self.ema_half_life}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
