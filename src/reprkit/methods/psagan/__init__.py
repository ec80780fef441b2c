"""PSA-GAN: progressive self-attention GAN for synthetic time series (Jeha et al., ICLR 2022)."""

from reprkit.methods.psagan.config import PSAGANConfig
from reprkit.methods.psagan.method import PSAGAN

__all__ = ["PSAGAN", "PSAGANConfig"]
