"""DIVA: the dataset derivative (Dukler et al., ICLR 2022)."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "DIVAConfig": "reprkit.methods.diva.config",
    "DIVA": "reprkit.methods.diva.method",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
