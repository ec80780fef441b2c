"""GIANT-XRT: node features from raw text by multi-scale neighbourhood prediction."""

from reprkit.methods.giant.method import GiantXRT

__all__ = ["GiantXRT"]
