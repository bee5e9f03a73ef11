"""Forward atmosphere from the committed 6S table (data/sixs_forward.json); 6S is never run here.

For a Lambertian ground of reflectance rho under a uniform background (6S's model):

    rho_TOA = path + T_g * T_down * T_up * rho / (1 - S * rho)

with the terms of recipe A (RADIATIVE_TRANSFER.md §4.2) per unit and band, at the scene geometry
recorded in the table. Extensions used by the generator (approximations, documented in the truth):

* cloud shadow of strength s: the direct part of T_down, exp(-tau / cos(SZA)), is removed in
  proportion to s (the pixel keeps the diffuse sky light);
* thick cloud of fraction a: a * (forward model of the cloud spectrum at the cloud-top level)
  + (1 - a) * ground signal;
* thin cirrus: an additive TOA reflectance c * k_band (k from spectra.CIRRUS_SPECTRAL_FACTOR).

No adjacency effect: every pixel is computed as if its surroundings had its own reflectance.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from . import config
from .spectra import BANDS, CIRRUS_SPECTRAL_FACTOR


@lru_cache(maxsize=4)
def load_table(path: Optional[str] = None) -> dict:
    """The 6S forward table (parsed JSON, cached)."""
    return json.loads(Path(path or config.SIXS_TABLE).read_text())


class ForwardModel:
    """Forward atmosphere of one unit (S2A/S2B/S2C) from the 6S table."""

    def __init__(self, spacecraft: str, table: Optional[dict] = None):
        self.table = table or load_table()
        if spacecraft not in self.table["units"]:
            raise ValueError(f"no 6S forward data for {spacecraft}")
        self.spacecraft = spacecraft
        self.unit = self.table["units"][spacecraft]
        self.sun_zenith = float(self.table["geometry"]["sun_zenith"])
        self.mu_s = math.cos(math.radians(self.sun_zenith))

    def coefficients(self, band: str, level: str = "surface") -> Dict[str, float]:
        return self.unit["bands"][band][level]

    def toa(self, band: str, rho, level: str = "surface"):
        """TOA reflectance of a uniform Lambertian ground (scalar or array, float64 math)."""
        c = self.coefficients(band, level)
        rho = np.asarray(rho, dtype=np.float64)
        return c["path"] + c["t_gas"] * c["t_down"] * c["t_up"] * rho / (1.0 - c["s_albedo"] * rho)

    def direct_fraction(self, band: str) -> float:
        """Share of the downward transmittance that is direct sunlight."""
        c = self.coefficients(band)
        return math.exp(-c["tau_total"] / self.mu_s) / c["t_down"]

    def scene_toa(self, band: str, rho, cloud=None, cloud_rho=None, shadow=None, cirrus=None):
        """TOA reflectance (float32) of ground + shadow + cloud + cirrus maps."""
        c = self.coefficients(band)
        g = c["t_gas"] * c["t_down"] * c["t_up"]
        rho = np.asarray(rho, dtype=np.float32)
        signal = (np.float32(g) * rho / (np.float32(1.0) - np.float32(c["s_albedo"]) * rho))
        if shadow is not None:
            signal *= np.float32(1.0) - np.float32(self.direct_fraction(band)) * shadow
        toa = signal + np.float32(c["path"])
        if cloud is not None:
            cc = self.coefficients(band, "cloud_top")
            gc = cc["t_gas"] * cc["t_down"] * cc["t_up"]
            crho = np.asarray(cloud_rho, dtype=np.float32)
            ctoa = np.float32(cc["path"]) + np.float32(gc) * crho / (
                np.float32(1.0) - np.float32(cc["s_albedo"]) * crho)
            toa = toa + cloud * (ctoa - toa)
        if cirrus is not None:
            toa = toa + np.float32(CIRRUS_SPECTRAL_FACTOR[BANDS.index(band)]) * cirrus
        return toa.astype(np.float32, copy=False)

    @property
    def solar_irradiance(self):
        return [float(v) for v in self.unit["solar_irradiance"]]
