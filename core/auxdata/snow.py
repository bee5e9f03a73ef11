"""Is snow possible on a tile? (reference §2.2, §5.2, §7.4)

1. Sen2Cor's GlobalSnowMap.tiff (7200 x 3600, 20 px per degree, -180..180, 90..-90) when the
   file exists: the window under the tile's longitude/latitude box (rounded to whole pixels as
   Sen2Cor does; both sides of the antimeridian joined) is read; any value > 0 means snow is
   possible and the snow branch of the classification runs.
2. Otherwise a built-in rule (this project's, generous on purpose: it may run the snow branch
   needlessly, it must never skip it where snow can occur). Snow is possible on the tile when its
   highest ground reaches the month's minimal snow elevation at the tile's most poleward
   latitude:

       h_min(|lat|, month) = h_summer + (h_winter - h_summer) * (1 + w) / 2
       w = cos(2 pi (month - 1) / 12) in the northern hemisphere (1 in January, -1 in July),
           the opposite in the southern hemisphere
       h_winter: 3000 m at 0-15°, 2000 m at 20°, 0 m from 30° (piecewise linear)
       h_summer: 3000 m at 0-20°, 2500 m at 30°, 0 m from 45°

   The numbers sit well below observed snow lines (tropical glaciers end at 4500-5000 m, tropical
   snowfall reaches ~3500 m; winter snow falls at sea level from ~30° latitude; glaciers reach
   the sea at 45-47°S in Patagonia, 43°S in New Zealand near 300 m). Without elevation
   information the rule cannot rule anything out: snow is possible.
   Examples: Alps in January -> possible (h_min 0); Sahara lowlands (25°N, < 500 m) in July ->
   not possible (h_min 2750 m); tropical high Andes (15°S, 6000 m) -> possible (h_min 3000 m).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
from osgeo import gdal

from ..product.model import TileGeocoding
from .geo import GdalCallError, GeoBounds, footprint_lonlat, gdal_call

log = logging.getLogger(__name__)

SNOW_MAP_PX_PER_DEGREE = 20
_WINTER = ((0.0, 3000.0), (15.0, 3000.0), (20.0, 2000.0), (30.0, 0.0), (90.0, 0.0))
_SUMMER = ((0.0, 3000.0), (20.0, 3000.0), (30.0, 2500.0), (45.0, 0.0), (90.0, 0.0))


@dataclass(frozen=True)
class SnowDecision:
    possible: bool
    source: str                    # 'GlobalSnowMap' | 'built-in rule'
    reason: str
    min_snow_elevation_m: Optional[float] = None


def minimal_snow_elevation(lat: Union[float, np.ndarray], month: int) -> np.ndarray:
    """The built-in rule's h_min (metres) for latitudes (degrees) and a month (1-12)."""
    lat = np.asarray(lat, dtype=np.float64)
    a = np.abs(lat)
    w_north = math.cos(2.0 * math.pi * (month - 1) / 12.0)
    w = np.where(lat >= 0, w_north, -w_north)
    hw = np.interp(a, [p[0] for p in _WINTER], [p[1] for p in _WINTER])
    hs = np.interp(a, [p[0] for p in _SUMMER], [p[1] for p in _SUMMER])
    return hs + (hw - hs) * (1.0 + w) / 2.0


def snow_possible_mask(lat: np.ndarray, elevation: np.ndarray, month: int) -> np.ndarray:
    """Per pixel: elevation >= h_min(lat, month) (bool)."""
    return np.asarray(elevation) >= minimal_snow_elevation(lat, month)


def rule_decision(bounds: GeoBounds, month: int, max_elevation_m: Optional[float]) -> SnowDecision:
    """The built-in rule for a tile box and its highest ground (None: unknown)."""
    lats = (bounds.north, bounds.south)
    thresholds = [float(minimal_snow_elevation(v, month)) for v in lats]
    lowest = int(np.argmin(thresholds))
    h_min, poleward = thresholds[lowest], lats[lowest]
    if max_elevation_m is None:
        return SnowDecision(True, "built-in rule", "no elevation information: snow cannot be ruled out", h_min)
    possible = max_elevation_m >= h_min
    why = (f"highest ground {max_elevation_m:.0f} m {'>=' if possible else '<'} minimal snow elevation "
           f"{h_min:.0f} m at {abs(poleward):.1f}°{'N' if poleward >= 0 else 'S'} in month {month}")
    return SnowDecision(bool(possible), "built-in rule", why, h_min)


def read_snow_map_window(path: Union[str, Path], bounds: GeoBounds) -> np.ndarray:
    """GlobalSnowMap pixels under a lon/lat box (both sides of the antimeridian concatenated)."""
    ds = gdal_call(f"cannot open {path}", gdal.OpenEx, str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    gt = ds.GetGeoTransform(can_return_null=True)
    if gt is None or gt == (0.0, 1.0, 0.0, 0.0, 0.0, 1.0):       # no georeferencing: Sen2Cor's layout
        gt = (-180.0, 1.0 / SNOW_MAP_PX_PER_DEGREE, 0.0, 90.0, 0.0, -1.0 / SNOW_MAP_PX_PER_DEGREE)
    width, height = ds.RasterXSize, ds.RasterYSize
    band = ds.GetRasterBand(1)
    row0 = int(round((bounds.north - gt[3]) / gt[5]))
    row1 = int(round((bounds.south - gt[3]) / gt[5]))
    row0, row1 = max(0, min(row0, row1)), min(height, max(row0, row1) + 1)
    col0 = int(round((bounds.west - gt[0]) / gt[1]))
    col1 = int(round((bounds.east - gt[0]) / gt[1])) + 1
    pieces = []
    for lo, hi in ((col0, col1),) if col1 <= width else ((col0, width), (0, col1 - width)):
        lo, hi = max(0, lo), min(width, hi)
        if hi > lo and row1 > row0:
            pieces.append(gdal_call(f"cannot read {path}", band.ReadAsArray, lo, row0, hi - lo, row1 - row0))
    if not pieces:
        return np.zeros((0, 0), dtype=np.uint8)
    return np.concatenate(pieces, axis=1)


def snow_possible(geocoding: TileGeocoding, month: int, *, snow_map: Optional[Union[str, Path]] = None,
                  max_elevation_m: Optional[float] = None,
                  logger: Optional[logging.Logger] = None) -> SnowDecision:
    """Decide whether the snow branch runs for this tile.

    snow_map: path of GlobalSnowMap.tiff (`<aux_data>/<cfg.sc.snow_map>`); absent or unreadable ->
    built-in rule. max_elevation_m: highest ground of the tile (from the DEM), None if unknown.
    """
    lg = logger or log
    bounds = footprint_lonlat(geocoding)
    if snow_map is not None and Path(snow_map).is_file():
        try:
            window = read_snow_map_window(snow_map, bounds)
            possible = bool(window.size and np.any(window > 0))
            return SnowDecision(possible, "GlobalSnowMap",
                                f"{Path(snow_map).name}: {'some' if possible else 'no'} value > 0 under the tile")
        except GdalCallError as exc:
            lg.warning("snow map unreadable (%s): using the built-in snow rule", exc)
    elif snow_map is not None:
        lg.info("snow map %s not found: using the built-in snow rule", snow_map)
    return rule_decision(bounds, month, max_elevation_m)
