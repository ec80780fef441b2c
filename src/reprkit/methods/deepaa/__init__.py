"""Deep AutoAugment: augmentation policy search by regularised gradient matching."""

from reprkit.methods.deepaa.method import DeepAutoAugment
from reprkit.methods.deepaa.policy import AugmentPolicy

__all__ = ["AugmentPolicy", "DeepAutoAugment"]
