"""GIANT-XRT: node features from raw text by multi-scale neighbourhood prediction."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "GiantXRT": "reprkit.methods.giant.method",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
