"""RIM: recurrent intensity modelling for recommendation and audience targeting (Ma et al.,
ICLR 2022). In progress: estimator, matching, Hawkes fitter; no experiment yet."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "RIMConfig": "reprkit.methods.rim.config",
    "RIM": "reprkit.methods.rim.method",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
