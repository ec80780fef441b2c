"""Trans-Encoder: unsupervised sentence-pair models by bi/cross self- and mutual distillation."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "TransEncoderConfig": "reprkit.methods.transencoder.config",
    "TransEncoder": "reprkit.methods.transencoder.method",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
