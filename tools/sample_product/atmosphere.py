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

Relief (`ReliefForward`, generate_product(..., relief="mountain" | "alpine")): the terms at each
pixel's elevation, interpolated linearly between 6S runs at 0, the relief's levels of
data/sixs_relief.json up to its top (config.RELIEF_TOP_LEVEL_KM: 0.25-0.75 km for "mountain",
0.25-1.5 km for "alpine") and 2 km (the cloud-top level), and the Lambertian terrain model of reference §6.7: the flat
signal T_g T_down T_up rho / (1 - S rho) is scaled by D / T_down with

    D = T_sun b r + T_dif (b T_sun r + (1 - b T_sun) V) + T_down (1 - V) rho_t

r = cos(beta) / cos(SZA), V the sky-view factor, rho_t the terrain reflectance, T_sun =
exp(-tau / cos SZA) the direct part of T_down, T_dif = T_down - T_sun, b = 1 - shadow (cloud
shadow removes the direct and the circumsolar light). On flat ground (r = 1, V = 1) D / T_down is
the flat model's 1 - (T_sun / T_down) shadow.
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


TERMS = ("path", "t_gas", "t_down", "t_up", "s_albedo", "tau_total")


@lru_cache(maxsize=1)
def load_relief_table() -> dict:
    """The relief's 6S terms at the ground altitudes of config.RELIEF_LEVELS_KM (cached)."""
    if not config.RELIEF_TABLE.exists():
        raise FileNotFoundError(f"{config.RELIEF_TABLE} is missing; run "
                                "tools/build_sixs_forward_table.py --relief")
    return json.loads(config.RELIEF_TABLE.read_text())


class ReliefForward:
    """Forward atmosphere over a relief for one unit of the default atmosphere (module notes)."""

    def __init__(self, fm: ForwardModel, relief_table: Optional[dict] = None,
                 top_km: Optional[float] = None):
        """top_km: use the table's levels up to top_km only (None: all of them)."""
        rt = relief_table or load_relief_table()
        if fm.spacecraft not in rt["units"]:
            raise ValueError(f"no 6S relief terms for {fm.spacecraft}")
        if abs(float(rt["geometry"]["sun_zenith"]) - fm.sun_zenith) > 1e-6:
            raise ValueError("the relief table is for the default atmosphere's geometry only")
        self.fm = fm
        self.mu_s = fm.mu_s
        bands = rt["units"][fm.spacecraft]["bands"]
        top = float(fm.table["atmosphere"]["cloud_top_altitude_km"])
        levels = [float(z) for z in rt["levels_km"] if top_km is None or float(z) <= top_km + 1e-9]
        self.levels_km = np.array([0.0] + levels + [top])
        self._nodes: Dict[str, Dict[str, np.ndarray]] = {}
        for band in BANDS:
            cs = ([fm.coefficients(band)] + [bands[band][f"z{z:g}"] for z in levels]
                  + [fm.coefficients(band, "cloud_top")])
            self._nodes[band] = {k: np.array([float(c[k]) for c in cs]) for k in TERMS}

    def terms(self, band: str, z_km) -> Dict[str, np.ndarray]:
        """Terms at ground altitudes z_km (array, km), linear in elevation between 6S levels."""
        z = np.asarray(z_km, dtype=np.float64)
        if z.size and (z.min() < 0.0 or z.max() > self.levels_km[-1]):
            raise ValueError(f"elevation outside 0..{self.levels_km[-1]} km")
        return {k: np.interp(z, self.levels_km, v) for k, v in self._nodes[band].items()}

    def toa(self, band: str, rho, z_km, ratio, sky_view, rho_terrain, shadow=None,
            cloud=None, cloud_rho=None, cirrus=None) -> np.ndarray:
        """TOA reflectance (float32) of a tilted Lambertian ground plus the flat model's cloud
        and cirrus terms; all maps on one grid (module notes)."""
        c = self.terms(band, z_km)
        rho = np.asarray(rho, dtype=np.float64)
        t_sun = np.exp(-c["tau_total"] / self.mu_s)
        t_dif = c["t_down"] - t_sun
        b = 1.0 if shadow is None else 1.0 - np.asarray(shadow, dtype=np.float64)
        d = (t_sun * b * ratio + t_dif * (b * t_sun * ratio + (1.0 - b * t_sun) * sky_view)
             + c["t_down"] * (1.0 - sky_view) * rho_terrain)
        signal = c["t_gas"] * c["t_up"] * d * rho / (1.0 - c["s_albedo"] * rho)
        toa = (signal + c["path"]).astype(np.float32)
        if cloud is not None:
            ctoa = self.fm.toa(band, cloud_rho, "cloud_top").astype(np.float32)
            toa = toa + cloud * (ctoa - toa)
        if cirrus is not None:
            toa = toa + np.float32(CIRRUS_SPECTRAL_FACTOR[BANDS.index(band)]) * cirrus
        return toa.astype(np.float32, copy=False)
