"""RIM configuration: the only copy of the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reprkit.core.config import check

SEQUENCES = ("gru", "transformer", "pop")
INTENSITIES = ("hawkes", "hp", "ema", "user_pop", "constant")


@dataclass(frozen=True)
class RIMConfig:
    seed: int = 0
    # p(y | x): next-item model over the user's item sequence (pop: item popularity)
    sequence: Literal["gru", "transformer", "pop"] = "gru"
    hidden: int = 128
    layers: int = 2
    max_len: int = 256  # last items of a history the sequence model reads (rime: 256)
    bptt: int = 32  # GRU: truncated backprop every this many steps (rime: 32)
    epochs: int = 20  # rime: 20, best epoch on the held-out users
    batch_size: int = 64  # users per batch
    # paper: rime trains with Adagrad lr 0.1 (eps 1e-3) = optimizer="adagrad", lr=0.1; Adam 1e-3
    # won on the GRU's own held-out users (NLL 6.42 / 6.39 vs 6.84 / 6.63, split seeds 100, 101;
    # docs/methods/rim.md). Either way lr x0.25 after 4 epochs without progress, best reloaded
    optimizer: Literal["adagrad", "adam"] = "adam"
    lr: float = 1e-3
    lr_transformer: float = 2.5e-4  # the Transformer's: lr / 4 as rime (Adagrad: 0.1 / 4)
    val_frac: float = 0.2  # users held out to pick the epoch and drive the schedule (rime: 20 %)
    # output bias starts at log item popularity (ours; rime starts at 0)
    pop_bias_init: bool = True
    # λ(x): how many events the user has in [at, at + horizon) (constant: the same for all)
    intensity: Literal["hawkes", "hp", "ema", "user_pop", "constant"] = "hawkes"
    n_decays: int = 50  # Hawkes kernels with time scales logspace(-6, 1) horizons (rime: 50)
    hawkes_control: bool = True  # rime's control channel excited by each user's first event
    # rime: λ at the window start ("intensity"); "count": ∫ λ over the window (ours, earlier)
    hawkes_predict: Literal["intensity", "count"] = "intensity"
    l2: float = 1e-3  # Hawkes and Hawkes-Poisson penalty
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
        for name in ("hidden", "layers", "max_len", "bptt", "epochs", "batch_size", "n_decays"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        check(
            self.optimizer in ("adagrad", "adam"),
            f"optimizer must be 'adagrad' or 'adam', got {self.optimizer!r}",
        )
        check(
            self.hawkes_predict in ("intensity", "count"),
            f"hawkes_predict must be 'intensity' or 'count', got {self.hawkes_predict!r}",
        )
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.lr_transformer > 0, f"lr_transformer must be > 0, got {self.lr_transformer}")
        check(0 <= self.val_frac < 1, f"val_frac must be in [0, 1), got {self.val_frac}")
        check(self.l2 >= 0, f"l2 must be >= 0, got {self.l2}")
        check(self.ema_half_life > 0, f"ema_half_life must be > 0, got {self.ema_half_life}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
