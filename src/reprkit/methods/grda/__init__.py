"""GRDA: graph-relational domain adaptation (Xu et al., ICLR 2022), with its baselines."""

from reprkit.methods.grda.config import GRDAConfig
from reprkit.methods.grda.method import GRDA

__all__ = ["GRDA", "GRDAConfig"]
