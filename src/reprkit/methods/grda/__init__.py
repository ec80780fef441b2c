"""GRDA: graph-relational domain adaptation (Xu et al., ICLR 2022), with its baselines."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "GRDAConfig": "reprkit.methods.grda.config",
    "GRDA": "reprkit.methods.grda.method",
    "fit_seeds": "reprkit.methods.grda.method",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
