"""The atmospheric terms one band needs, and the interface of whatever computes them.

Reflectance-domain model (RADIATIVE_TRANSFER.md §2; 6S's own model for a Lambertian surface of
reflectance rho under a uniform background):

    rho_TOA = path + T_g * T_down * T_up * rho / (1 - S * rho)

Inversion for a pixel: y = (rho_TOA - path) / (T_g T_down T_up), rho = y / (1 + S y).

Conventions (shared with the look-up table in `core.atmcorr.lut`, which must follow them):

* `aot550`: aerosol optical thickness at 550 nm of the column above the ground (6S `aot550`);
* `sza`, `vza` in degrees; `raa` = relative azimuth |SAA - VAA| folded into 0..180 degrees;
* `elevation_km`: ground altitude above sea level;
* `water_vapour_cm`: g cm-2 (= cm precipitable water) as 6S's `UserWaterAndOzone` takes it - the
  column of the scaled standard profile counted from sea level; above an elevated ground 6S keeps
  only the part of the profile above it, so the column actually crossed is smaller. The water
  vapour retrieved by `watervapour.py` (and written to WVP) is in the same unit;
* `ozone_du`: total column in Dobson units;
* `t_down_direct`, `t_up_direct`: exp(-tau / cos(zenith)) with tau the total (Rayleigh + aerosol)
  optical depth of the band; `t_down - t_down_direct` is the diffuse part. Sen2Cor's
  `T_sun` is `t_down_direct` and its `q = T_dif / T_dir` is `(t_up - t_up_direct) / t_up_direct`
  (reference §6.1).

All arrays are float32 and numpy-broadcast against each other.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["AtmosphericTerms", "TermsProvider", "surface_from_toa", "toa_from_surface",
           "TERM_NAMES"]


@dataclass(frozen=True)
class AtmosphericTerms:
    """Atmospheric terms of one band (float32 arrays or scalars, broadcast together)."""

    path_reflectance: Any       # rho_path: apparent reflectance of a black ground
    gas_transmittance: Any      # T_g: global (two-way) gas transmittance
    t_down: Any                 # total (direct + diffuse) scattering transmittance, sun path
    t_up: Any                   # total scattering transmittance, view path
    spherical_albedo: Any       # S
    t_down_direct: Any          # exp(-tau / cos SZA)
    t_up_direct: Any            # exp(-tau / cos VZA)

    @property
    def total_transmittance(self):
        """T_g * T_down * T_up (the flat-terrain irradiance factor of the inversion)."""
        return self.gas_transmittance * self.t_down * self.t_up

    @property
    def q(self):
        """Sen2Cor's adjacency weight T_dif / max(T_dir, 0.01) of the view path (§6.1)."""
        return (self.t_up - self.t_up_direct) / np.maximum(self.t_up_direct, np.float32(0.01))

    def take(self, index) -> "AtmosphericTerms":
        """The terms at `index` of every array (a gather; scalars stay scalars)."""
        return AtmosphericTerms(*[v[index] if np.ndim(v) else v for v in self.astuple()])

    def astuple(self):
        return tuple(getattr(self, f.name) for f in fields(self))

    def astype32(self) -> "AtmosphericTerms":
        return AtmosphericTerms(*[np.asarray(v, dtype=np.float32) for v in self.astuple()])


TERM_NAMES = tuple(f.name for f in fields(AtmosphericTerms))


@runtime_checkable
class TermsProvider(Protocol):
    """What the atmospheric correction needs from a look-up table (see the module notes for the
    units). `core.atmcorr.lut` implements it for the project's 6S tables; `SceneTableProvider`
    (tabulated.py) for small exact tables at one scene's geometry.

    Optional attributes used when present: `aerosol_model` ('RURAL' / 'MARITIME'),
    `description` (text for the quality report's LUT list), `files` (names of the table files).
    """

    def terms(self, band: str, aot550, sza, vza, raa, elevation_km, water_vapour_cm,
              ozone_du) -> AtmosphericTerms:
        ...


def surface_from_toa(terms: AtmosphericTerms, rho_toa):
    """Surface reflectance of a uniform Lambertian ground from TOA reflectance (float32)."""
    rho_toa = np.asarray(rho_toa, dtype=np.float32)
    y = (rho_toa - terms.path_reflectance) / terms.total_transmittance
    return (y / (np.float32(1.0) + terms.spherical_albedo * y)).astype(np.float32, copy=False)


def toa_from_surface(terms: AtmosphericTerms, rho):
    """TOA reflectance of a uniform Lambertian ground of reflectance `rho` (float32)."""
    rho = np.asarray(rho, dtype=np.float32)
    return (terms.path_reflectance + terms.total_transmittance * rho
            / (np.float32(1.0) - terms.spherical_albedo * rho)).astype(np.float32, copy=False)
