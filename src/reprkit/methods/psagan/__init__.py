"""PSA-GAN: progressive self-attention GAN for synthetic time series (Jeha et al., ICLR 2022)."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "PSAGANConfig": "reprkit.methods.psagan.config",
    "PSAGAN": "reprkit.methods.psagan.method",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
