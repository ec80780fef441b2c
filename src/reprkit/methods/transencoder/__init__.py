"""Trans-Encoder: unsupervised sentence-pair models by bi/cross self- and mutual distillation."""

from reprkit.methods.transencoder.config import TransEncoderConfig
from reprkit.methods.transencoder.method import TransEncoder

__all__ = ["TransEncoder", "TransEncoderConfig"]
