"""Ground elevation and terrain illumination of the atmospheric correction (reference §6.7).

* Elevation for the tables: the DEM (metres, on the working grid) clipped to 0..3500 m, else the
  constant `Altitude` of L2A_GIPP.xml (km).
* Terrain mode: only with a DEM and `DEM_Terrain_Correction = TRUE`. The tile is treated as flat
  (V_sky = 1, cos(beta) = cos(SZA)) when the DEM's peak-to-peak range is below AC_Dem_P2p_Val
  and fewer than AC_Topo_Corr_Th of the pixels are steeper than AC_Slope_Th, when the DEM is all
  zeros, or without a DEM.
* Illumination cos(beta) = cos(SZA) cos(s) + sin(SZA) sin(s) cos(SAA - aspect) (what
  `gdaldem hillshade -az SAA -alt 90-SZA` / 255 computes; core.auxdata.terrain), floored at
  26/255; sky-view factor V_sky = (1 + cos s) / 2. Both are computed strip by strip from the
  DEM with a one-row halo (Horn's operator), with the per-pixel sun angles.
* Inside cloud, cirrus, saturated or no-data areas larger than 2 km x 2 km the terrain correction
  is switched off (flat cos(beta), V_sky = 1): `flat_mask` of a strip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import numpy as np

from ..auxdata.terrain import cos_illumination, slope_aspect, sky_view_slope
from .surface import COS_BETA_FLOOR, Illumination

F32 = np.float32
MAX_ELEVATION_M = 3500.0


@dataclass
class Terrain:
    """Elevation and terrain layers of one run (module notes)."""

    resolution: float
    dem: Optional[np.ndarray] = None         # metres, working grid (None: constant altitude)
    altitude_km: float = 0.0                 # constant elevation without DEM
    terrain: bool = False                    # terrain illumination active
    reason: str = ""
    mean_altitude_km: float = 0.0
    mean_slope_deg: float = 0.0
    steep_fraction: float = 0.0
    peak_to_peak_m: float = 0.0
    messages: List[str] = field(default_factory=list)

    @property
    def shape(self) -> Optional[Tuple[int, int]]:
        return None if self.dem is None else self.dem.shape

    def elevation_km(self, row0: int, row1: int, col0: int = 0, col1: Optional[int] = None):
        """Elevation (km) of a strip: float32 array, or the constant altitude (float)."""
        if self.dem is None:
            return float(self.altitude_km)
        z = np.asarray(self.dem[row0:row1, col0:col1], dtype=F32)
        z = np.clip(np.nan_to_num(z, nan=0.0), 0.0, MAX_ELEVATION_M) / F32(1000.0)
        return z

    def slope_aspect(self, row0: int, row1: int) -> Tuple[np.ndarray, np.ndarray]:
        """(slope, aspect) in degrees of rows [row0, row1), from the DEM with a one-row halo."""
        n = self.dem.shape[0]
        a, b = max(0, row0 - 1), min(n, row1 + 1)
        z = np.clip(np.nan_to_num(np.asarray(self.dem[a:b], dtype=F32), nan=0.0), 0.0, MAX_ELEVATION_M)
        slope, aspect = slope_aspect(z, self.resolution)
        return slope[row0 - a:row1 - a], aspect[row0 - a:row1 - a]

    def illumination(self, row0: int, row1: int, sza, saa, flat_mask=None) -> Optional[Illumination]:
        """Terrain layers of a strip, or None in flat mode."""
        if not self.terrain:
            return None
        slope, aspect = self.slope_aspect(row0, row1)
        cos_i = cos_illumination(slope, aspect, sza, saa)
        mu_s = np.cos(np.radians(np.asarray(sza, dtype=F32)))
        v_sky = sky_view_slope(slope)
        if flat_mask is not None and np.any(flat_mask):
            cos_i = np.where(flat_mask, np.broadcast_to(mu_s, cos_i.shape), cos_i)
            v_sky = np.where(flat_mask, F32(1.0), v_sky)
        cos_beta = np.maximum(cos_i, F32(COS_BETA_FLOOR)).astype(F32)
        return Illumination(cos_beta=cos_beta, mu_s=mu_s, v_sky=v_sky.astype(F32))


def prepare_terrain(dem: Optional[np.ndarray], resolution: float, config: Any,
                    altitude_km: Optional[float] = None, valid: Optional[np.ndarray] = None,
                    block_rows: int = 512) -> Terrain:
    """Decide the terrain mode and its statistics (module notes); `valid` restricts the
    statistics to data pixels. `altitude_km` overrides L2A_GIPP's Altitude without DEM."""
    alt = float(config.altitude if altitude_km is None else altitude_km)
    if dem is None:
        return Terrain(resolution=resolution, altitude_km=alt, mean_altitude_km=alt,
                       reason="no DEM: flat terrain at the constant altitude")
    ac = config.ac
    t = Terrain(resolution=resolution, dem=dem, altitude_km=alt)
    n = dem.shape[0]
    zmin, zmax, zsum, count, steep, slope_sum = np.inf, -np.inf, 0.0, 0, 0, 0.0
    for r0 in range(0, n, block_rows):
        r1 = min(n, r0 + block_rows)
        z = np.clip(np.nan_to_num(np.asarray(dem[r0:r1], dtype=F32), nan=0.0), 0.0, MAX_ELEVATION_M)
        slope, _ = t.slope_aspect(r0, r1)
        sel = np.ones(z.shape, dtype=bool) if valid is None else valid[r0:r1]
        if not sel.any():
            continue
        zs = z[sel]
        zmin, zmax = min(zmin, float(zs.min())), max(zmax, float(zs.max()))
        zsum += float(zs.sum(dtype=np.float64))
        count += int(zs.size)
        steep += int(np.count_nonzero(slope[sel] > float(ac.slope_th)))
        slope_sum += float(slope[sel].sum(dtype=np.float64))
    if count == 0:
        t.reason = "no valid DEM pixel: flat terrain"
        return t
    t.mean_altitude_km = zsum / count / 1000.0
    t.mean_slope_deg = slope_sum / count
    t.peak_to_peak_m = zmax - zmin
    t.steep_fraction = steep / count
    if zmax <= 0.0 and zmin >= 0.0:
        t.reason = "the DEM is all zeros: flat terrain"
    elif not bool(config.dem_terrain_correction):
        t.reason = "DEM_Terrain_Correction is FALSE: the DEM sets the elevation only"
    elif t.peak_to_peak_m < float(ac.dem_p2p_val) and t.steep_fraction < float(ac.topo_corr_th):
        t.reason = (f"flat-terrain rule: peak-to-peak {t.peak_to_peak_m:.0f} m < {ac.dem_p2p_val} m "
                    f"and {100 * t.steep_fraction:.2f} % of pixels steeper than {ac.slope_th} deg "
                    f"< {100 * float(ac.topo_corr_th):.2f} %")
    else:
        t.terrain = True
        t.reason = (f"terrain correction: peak-to-peak {t.peak_to_peak_m:.0f} m, "
                    f"{100 * t.steep_fraction:.2f} % steeper than {ac.slope_th} deg")
    return t
