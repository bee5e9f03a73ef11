"""SCL class values and the internal working codes of the scene classification.

The twelve output classes come from L2A_CAL_SC_GIPP.xml `Classificators` (reference §2.2); they
are read from the configuration, never assumed. Two internal codes are used while classifying:

* NOT_CLASSIFIED (100): every valid pixel starts with it (reference §5, "not classified yet");
  what is left at the end becomes UNCLASSIFIED (§5.1 step 13).
* The 2.8 source also uses a temporary "not snow" lock (50); here the snow branch keeps the lock
  implicit (a snow factor of 0 can never become positive again, §5.2), so no code is needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable

import numpy as np

NOT_CLASSIFIED = 100   # reference §5: "not classified yet"

_NAMES = ("NO_DATA", "SATURATED_DEFECTIVE", "DARK_FEATURES", "CLOUD_SHADOWS", "VEGETATION",
          "NOT_VEGETATED", "WATER", "UNCLASSIFIED", "MEDIUM_PROBA_CLOUDS", "HIGH_PROBA_CLOUDS",
          "THIN_CIRRUS", "SNOW_ICE")


@dataclass(frozen=True)
class ClassCodes:
    """The SCL values in use (attribute names = GIPP Classificators names)."""

    NO_DATA: int = 0
    SATURATED_DEFECTIVE: int = 1
    DARK_FEATURES: int = 2
    CLOUD_SHADOWS: int = 3
    VEGETATION: int = 4
    NOT_VEGETATED: int = 5
    WATER: int = 6
    UNCLASSIFIED: int = 7
    MEDIUM_PROBA_CLOUDS: int = 8
    HIGH_PROBA_CLOUDS: int = 9
    THIN_CIRRUS: int = 10
    SNOW_ICE: int = 11

    @classmethod
    def from_classificators(cls, classificators: Any) -> "ClassCodes":
        """From `cfg.sc.classificators` (or any object with the twelve attributes)."""
        values = {name: int(getattr(classificators, name)) for name in _NAMES}
        codes = cls(**values)
        codes.check()
        return codes

    def check(self) -> None:
        values = list(self.as_dict().values())
        if len(set(values)) != len(values):
            raise ValueError(f"scene classes must have distinct values: {self.as_dict()}")
        if any(not 0 <= v <= 255 or v == NOT_CLASSIFIED for v in values):
            raise ValueError(f"scene class values must be 0..255 and not {NOT_CLASSIFIED}")

    def as_dict(self) -> Dict[str, int]:
        return {name: getattr(self, name) for name in _NAMES}

    @property
    def clouds(self) -> tuple:
        """Opaque-cloud classes (medium and high probability)."""
        return (self.MEDIUM_PROBA_CLOUDS, self.HIGH_PROBA_CLOUDS)


CLASS_NAMES = _NAMES


def in_classes(classes: np.ndarray, values: Iterable[int]) -> np.ndarray:
    """True where `classes` is one of `values`. For uint8 class maps a 256-entry lookup table
    (one gather per pixel, about 15 times faster than np.isin on a strip of a tile), np.isin for
    other types."""
    values = [int(v) for v in values]
    classes = np.asarray(classes)
    if classes.dtype != np.uint8:
        return np.isin(classes, values)
    table = np.zeros(256, dtype=bool)
    table[[v for v in values if 0 <= v <= 255]] = True
    return np.take(table, classes)
