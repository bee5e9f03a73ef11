"""Snow branch of the classification (reference §5.2, step 3) and the snow-climatology helpers.

The snow confidence S starts from the NDSI ramp and is multiplied by the factors of filters 2-4;
a pixel whose factor is 0 can never become snow again (the 2.8 "not snow" lock is implicit in
the product). Filter 5 assigns SNOW_ICE where S > T1_SNOW, overwriting any class but NO_DATA,
and clears the cloud probability of the snow and of the surrounding ring where B12 < T2_SNOW.

Snow climatology (ESA CCI snow condition, monthly, 500 m; reference §2.2, §7.4): values are the
snow occurrence of the month, 254 = water, 255 = no data. Both modes use it, when given, for the
2.8 water rule (snow on CCI water is refused when snow is rare on the tile). In evolution mode it
also replaces the static GlobalSnowMap condition (§5.2 first paragraph): the branch runs when the
month's climatology shows snow anywhere on the tile, and pixels with a climatological occurrence
of 0 (never snow-covered in that month, 2000-2012) cannot become snow. That per-pixel gate is this
project's design of the 2.10 "monthly snow climatology" evolution, not documented Sen2Cor code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .bands import Bands
from .codes import ClassCodes
from .morphology import dilate_diamond
from .ramps import ramp, ratio

# §5.2 filter 1bis (hard-coded): B05/B8A < 0.85 is not snow.
SNOW_B05_B8A_MIN = np.float32(0.85)
# §5.2 filter 5 (hard-coded): the snow ring is a diamond of radius 3 pixels.
SNOW_RING_RADIUS = 3
# §2.2 / §5.2: ESA CCI snow-condition codes and the "snow is rare" window of the water rule.
CCI_SNOW_WATER = 254
CCI_SNOW_NODATA = 255
CCI_WATER_RULE_MEAN = (0.0, 10.0)     # rule active when 0 < mean(non-water values) < 10


@dataclass(frozen=True)
class SnowClimatology:
    """Tile-wide facts of a snow-condition layer, computed once before the strips."""

    water_rule: bool        # refuse snow on CCI water (mean of non-water values in (0, 10))
    snow_possible: bool     # some pixel of the valid tile has a positive snow occurrence
    mean_occurrence: float


def climatology_facts(cci_snow: np.ndarray, valid: Optional[np.ndarray] = None) -> SnowClimatology:
    """Water-rule switch and snow possibility of a snow-condition layer on the tile grid.

    The reference gives the mean over values != 254; no-data (255) is excluded as well here, a
    255 in the mean would make every tile look snowy (inferred).
    """
    data = cci_snow if valid is None else cci_snow[valid]
    keep = (data != CCI_SNOW_WATER) & (data != CCI_SNOW_NODATA)
    values = data[keep]
    mean = float(values.mean(dtype=np.float64)) if values.size else 0.0
    lo, hi = CCI_WATER_RULE_MEAN
    return SnowClimatology(water_rule=bool(lo < mean < hi),
                           snow_possible=bool((values > 0).any()),
                           mean_occurrence=mean)


def snow_step(b: Bands, cls: np.ndarray, p: np.ndarray, ndsi: np.ndarray, th: Any,
              codes: ClassCodes, cci_snow: Optional[np.ndarray] = None,
              water_rule: bool = False, occurrence_gate: bool = False) -> np.ndarray:
    """Run the snow branch on a strip; returns the snow confidence S (float32, 0..1).

    `cci_snow` is the snow-condition layer of the strip (or None); `water_rule` comes from
    `climatology_facts` of the whole tile; `occurrence_gate` (evolution mode) forbids snow where
    the climatological occurrence is 0.
    """
    valid = cls != codes.NO_DATA
    # Filter 1: NDSI ramp; only potential clouds (P > 0) can be snow.
    s = ramp(ndsi, th.T1_NDSI_SNW, th.T2_NDSI_SNW)
    s[~valid | (p == 0)] = 0.0
    if cci_snow is not None:
        if water_rule:
            s[cci_snow == CCI_SNOW_WATER] = 0.0
        if occurrence_gate:
            s[cci_snow == 0] = 0.0
    # Filter 1bis: B05/B8A.
    s[ratio(b.b05, b.b8a) < SNOW_B05_B8A_MIN] = 0.0
    # Filters 2-4: B8A, B02 and B02/B04 ramps.
    s *= ramp(b.b8a, th.T1_B8A, th.T2_B8A)
    s *= ramp(b.b02, th.T1_B02, th.T2_B02)
    s *= ramp(ratio(b.b02, b.b04), th.T1_R_B02_B04, th.T2_R_B02_B04)
    # Filter 5: snow, and the ring around it.
    snow = valid & (s > np.float32(th.T1_SNOW))
    if snow.any():
        ring = dilate_diamond(snow, SNOW_RING_RADIUS) & ~snow & valid
        cls[snow] = codes.SNOW_ICE
        p[snow] = 0.0
        p[ring & (b.b12 < np.float32(th.T2_SNOW))] = 0.0
        if cci_snow is not None and water_rule:
            cls[snow & (cci_snow == CCI_SNOW_WATER)] = codes.MEDIUM_PROBA_CLOUDS
    return s
