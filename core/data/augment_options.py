"""Augmentation settings: plain dataclass fields (saved in a run's config.json), kept apart from the torch code in
`core.data.augment` so that reading a config needs no torch."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import OptionError
from core.options import check_bounds, option

REFERENCE_003_JITTER = 0.5  # reference 003's ColorJitter(brightness=.5, contrast=.5)


@dataclass
class AugmentOptions:
    """Augmentation settings; plain types only because they are saved in a run's config.json."""

    flip: bool = option(True, "horizontal flip, p=0.5")
    shift: float = option(0.1, "max translation, fraction of the side", min=0.0, max=1.0)
    rotate: float = option(10.0, "max rotation, degrees", min=0.0, max=180.0)
    scale: float = option(0.1, "zoom in/out by up to this fraction (< 1)", min=0.0)
    brightness: float = option(0.2, "multiply by 1 +- this", min=0.0, max=1.0)
    contrast: float = option(0.2, "blend with the per-image mean by 1 +- this", min=0.0, max=1.0)
    erase: float = option(
        0.25, "probability of erasing one rectangle (2%-20% of the area), filled with noise or 0", min=0.0, max=1.0
    )
    invert: float = option(0.0, "probability of inverting (reference 003 used RandomInvert(0.2))", min=0.0, max=1.0)
    color_jitter: bool = option(
        False, "reference 003's strong ColorJitter: brightness and contrast 0.5 instead of the two fields above"
    )

    def __post_init__(self) -> None:
        check_bounds(self, "augment ")
        if self.scale >= 1:
            raise OptionError(f"augment scale must be < 1 (a zoom of 1 - scale must stay positive), got {self.scale}")

    def jitter(self) -> tuple[float, float]:
        """The (brightness, contrast) ranges actually applied."""
        if self.color_jitter:
            return REFERENCE_003_JITTER, REFERENCE_003_JITTER
        return self.brightness, self.contrast


NO_AUGMENT = AugmentOptions(flip=False, shift=0, rotate=0, scale=0, brightness=0, contrast=0, erase=0, invert=0)
