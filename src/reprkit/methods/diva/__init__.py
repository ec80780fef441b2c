"""DIVA: the dataset derivative (Dukler et al., ICLR 2022)."""

from reprkit.methods.diva.config import DIVAConfig
from reprkit.methods.diva.method import DIVA

__all__ = ["DIVA", "DIVAConfig"]
