"""Cold Brew (Zheng et al., ICLR 2022): GNN -> MLP distillation for nodes with missing edges."""

from __future__ import annotations

from reprkit.methods.coldbrew.config import ColdBrewConfig, StudentConfig, TeacherConfig
from reprkit.methods.coldbrew.method import CITATION, ColdBrew

__all__ = ["CITATION", "ColdBrew", "ColdBrewConfig", "StudentConfig", "TeacherConfig"]
