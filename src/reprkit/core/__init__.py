"""Shared building blocks: configs, seeding, device, atomic io, registry, progress, training, base."""

from __future__ import annotations

from reprkit.core.base import BaseEstimator, NotFittedError
from reprkit.core.config import apply_overrides, config_from_dict, config_to_dict, parse_set
from reprkit.core.device import resolve_device
from reprkit.core.seed import seeded

__all__ = [
    "BaseEstimator",
    "NotFittedError",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "parse_set",
    "resolve_device",
    "seeded",
]
