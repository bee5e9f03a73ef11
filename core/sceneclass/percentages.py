"""Classification percentages for the metadata (reference §5.7; Sen2Cor 3 / 2.11 definitions).

* NODATA_PIXEL_PERCENTAGE: NO_DATA pixels / all pixels of the tile.
* SATURATED_DEFECTIVE_PIXEL_PERCENTAGE: class 1 / data pixels (all - NO_DATA).
* Every other class: its pixels / valid pixels (all - NO_DATA - SATURATED_DEFECTIVE); so classes
  2..11 sum to 100 whenever the tile has a valid pixel. UNCLASSIFIED (7) includes the
  low-probability clouds, which share its value (§9.11).
* CLOUDY_PIXEL_PERCENTAGE = MEDIUM + HIGH + THIN_CIRRUS.
* CLOUDY_PIXEL_OVER_LAND_PERCENTAGE: pixels of classes 8, 9, 10 on land / land pixels, land =
  SCL > 1 and ESA CCI water bodies != 2; without the CCI layer, land = SCL > 1 and SCL != WATER
  (this project's fallback).
Counts are accumulated with `ClassCounter` (strip by strip if wanted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from .codes import ClassCodes

CLASS_QI_NAMES = {
    "DARK_FEATURES": "DARK_FEATURES_PERCENTAGE",
    "CLOUD_SHADOWS": "CLOUD_SHADOW_PERCENTAGE",
    "VEGETATION": "VEGETATION_PERCENTAGE",
    "NOT_VEGETATED": "NOT_VEGETATED_PERCENTAGE",
    "WATER": "WATER_PERCENTAGE",
    "UNCLASSIFIED": "UNCLASSIFIED_PERCENTAGE",
    "MEDIUM_PROBA_CLOUDS": "MEDIUM_PROBA_CLOUDS_PERCENTAGE",
    "HIGH_PROBA_CLOUDS": "HIGH_PROBA_CLOUDS_PERCENTAGE",
    "THIN_CIRRUS": "THIN_CIRRUS_PERCENTAGE",
    "SNOW_ICE": "SNOW_ICE_PERCENTAGE",
}
CCI_WB_WATER = 2


@dataclass
class ClassCounter:
    """Pixel counts per SCL value, plus cloudy-over-land counts."""

    codes: ClassCodes = field(default_factory=ClassCodes)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(256, dtype=np.int64))
    land: int = 0
    cloudy_land: int = 0

    def add(self, scl: np.ndarray, cci_water: Optional[np.ndarray] = None) -> None:
        self.counts += np.bincount(scl.ravel(), minlength=256)[:256]
        c = self.codes
        land = scl > max(c.NO_DATA, c.SATURATED_DEFECTIVE)
        land &= (cci_water != CCI_WB_WATER) if cci_water is not None else (scl != c.WATER)
        cloudy = np.isin(scl, (c.MEDIUM_PROBA_CLOUDS, c.HIGH_PROBA_CLOUDS, c.THIN_CIRRUS))
        self.land += int(land.sum())
        self.cloudy_land += int((land & cloudy).sum())

    def percentages(self) -> Dict[str, float]:
        c = self.codes
        total = int(self.counts.sum())
        nodata = int(self.counts[c.NO_DATA])
        saturated = int(self.counts[c.SATURATED_DEFECTIVE])
        data = total - nodata
        valid = data - saturated

        def pct(n: int, d: int) -> float:
            return float(min(100.0, max(0.0, 100.0 * n / d))) if d > 0 else 0.0

        out = {"NODATA_PIXEL_PERCENTAGE": pct(nodata, total),
               "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE": pct(saturated, data)}
        for name, qi in CLASS_QI_NAMES.items():
            out[qi] = pct(int(self.counts[getattr(c, name)]), valid)
        out["CLOUDY_PIXEL_PERCENTAGE"] = (out["MEDIUM_PROBA_CLOUDS_PERCENTAGE"]
                                          + out["HIGH_PROBA_CLOUDS_PERCENTAGE"]
                                          + out["THIN_CIRRUS_PERCENTAGE"])
        out["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] = pct(self.cloudy_land, self.land)
        return out


def class_percentages(scl: np.ndarray, codes: Optional[ClassCodes] = None,
                      cci_water: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Image_Content_QI percentages of an SCL map (names as in MTD_MSIL2A.xml / MTD_TL.xml)."""
    counter = ClassCounter(codes or ClassCodes())
    counter.add(scl, cci_water)
    return counter.percentages()
