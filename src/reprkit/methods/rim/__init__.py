"""RIM: recurrent intensity modelling for recommendation and audience targeting (Ma et al.,
ICLR 2022). In progress: estimator, matching, Hawkes fitter; no experiment yet."""

from reprkit.methods.rim.config import RIMConfig
from reprkit.methods.rim.method import RIM

__all__ = ["RIM", "RIMConfig"]
