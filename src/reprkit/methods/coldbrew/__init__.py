"""Cold Brew (Zheng et al., ICLR 2022): GNN -> MLP distillation for nodes with missing edges."""

from __future__ import annotations

from reprkit.core.lazy import lazy_exports

_EXPORTS = {
    "ColdBrewConfig": "reprkit.methods.coldbrew.config",
    "StudentConfig": "reprkit.methods.coldbrew.config",
    "TeacherConfig": "reprkit.methods.coldbrew.config",
    "CITATION": "reprkit.methods.coldbrew.method",
    "ColdBrew": "reprkit.methods.coldbrew.method",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
