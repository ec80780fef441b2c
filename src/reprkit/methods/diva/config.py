"""DIVA configuration: the only copy of the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reprkit.core.config import check

LOSSES = ("squared", "ce")


@dataclass(frozen=True)
class DIVAConfig:
    # ridge strength; None: chosen from `lam_grid` by the closed-form LOO error (weights 1)
    lam: float | None = None
    lam_grid: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)  # lam=None's grid
    # loss of the LOO (or validation) objective: squared error on one-hot targets (the paper's)
    # or cross-entropy of softmax(prediction / temperature)
    loss: Literal["squared", "ce"] = "squared"
    temperature: float = 1.0  # softmax temperature of the ce loss
    fit_intercept: bool = True  # a constant feature (penalised like the others)
    dtype: Literal["float64", "float32"] = "float64"  # precision of the closed-form solves
    seed: int = 0

    def validate(self) -> None:
        check(self.loss in LOSSES, f"loss must be one of {list(LOSSES)}, got {self.loss!r}")
        check(self.lam is None or self.lam >= 0, f"lam must be >= 0 or None, got {self.lam}")
        check(
            len(self.lam_grid) > 0 and all(v > 0 for v in self.lam_grid),
            f"lam_grid must be non-empty and positive, got {self.lam_grid}",
        )
        check(self.temperature > 0, f"temperature must be > 0, got {self.temperature}")
        check(
            self.dtype in ("float64", "float32"),
            f"dtype must be 'float64' or 'float32', got {self.dtype!r}",
        )
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
