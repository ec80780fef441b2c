"""reprkit: ten methods from Amazon's ICLR 2022 papers, usable on your own data, with reproductions.

Import what you need from the method packages, e.g. ``from reprkit.methods.coldbrew import ColdBrew``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
