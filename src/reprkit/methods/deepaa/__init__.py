"""Deep AutoAugment: augmentation policy search by regularised gradient matching."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "DeepAutoAugment": "reprkit.methods.deepaa.method",
    "AugmentPolicy": "reprkit.methods.deepaa.policy",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
