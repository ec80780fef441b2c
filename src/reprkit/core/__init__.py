"""Shared building blocks: configs, seeding, device, atomic io, registry, progress, training, base."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "BaseEstimator": "reprkit.core.base",
    "NotFittedError": "reprkit.core.base",
    "apply_overrides": "reprkit.core.config",
    "config_from_dict": "reprkit.core.config",
    "config_to_dict": "reprkit.core.config",
    "parse_set": "reprkit.core.config",
    "resolve_device": "reprkit.core.device",
    "seeded": "reprkit.core.seed",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
