"""Terrain layers from a DEM on the tile grid: slope, hillshade and cast shadows.

Hillshade and slope are what Sen2Cor takes from `gdaldem hillshade -az SAA -alt 90-SZA` and
`gdaldem slope` (reference §5.5, §7.3), computed here with the same Horn 3 x 3 gradient:

    cos(i) = cos(SZA) cos(slope) + sin(SZA) sin(slope) cos(SAA - aspect)
    hillshade = 1 + 254 cos(i) where cos(i) > 0, else 1      (gdaldem's 1..255 scale, uint8)

with `aspect` the azimuth of the downslope direction. Reach: 1 pixel.

Cast shadows (evolution mode): a pixel is in the terrain's shadow when, marching towards the sun,
the terrain rises above the sun ray through the pixel: z(p + t u_sun) > z(p) + t / tan(SZA).
Reach: (relief) * tan(SZA) / resolution pixels, computed on the whole DEM (1 float array).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import ndimage

# Longest march of the cast-shadow search (pixels); relief beyond it is ignored.
MAX_CAST_SHADOW_STEPS = 400


@dataclass
class Terrain:
    """Slope (degrees, float32), hillshade (uint8 1..255) and optional cast-shadow mask."""

    slope: np.ndarray
    hillshade: np.ndarray
    cast_shadow: Optional[np.ndarray] = None

    def crop(self, rows: slice) -> "Terrain":
        return Terrain(self.slope[rows], self.hillshade[rows],
                       None if self.cast_shadow is None else self.cast_shadow[rows])


def slope_aspect(dem: np.ndarray, resolution: float):
    """(slope, aspect) in radians; aspect = azimuth (clockwise from north) of the downslope
    direction. Horn's gradient, edges by nearest extension (gdaldem -compute_edges)."""
    z = np.asarray(dem, dtype=np.float32)
    d_col = ndimage.sobel(z, axis=1, mode="nearest") / np.float32(8.0 * resolution)   # dz/d east
    d_row = ndimage.sobel(z, axis=0, mode="nearest") / np.float32(8.0 * resolution)   # dz/d south
    d_north = -d_row
    slope = np.arctan(np.hypot(d_col, d_north))
    aspect = np.arctan2(-d_col, -d_north)      # azimuth of -grad z
    return slope.astype(np.float32), aspect.astype(np.float32)


def illumination(dem: np.ndarray, resolution: float, sun_zenith: float, sun_azimuth: float):
    """(cos(i), slope in degrees) of the DEM under the sun."""
    slope, aspect = slope_aspect(dem, resolution)
    z, az = math.radians(sun_zenith), math.radians(sun_azimuth)
    cos_i = (np.float32(math.cos(z)) * np.cos(slope)
             + np.float32(math.sin(z)) * np.sin(slope) * np.cos(np.float32(az) - aspect))
    return cos_i.astype(np.float32), np.degrees(slope).astype(np.float32)


def hillshade_from_cos(cos_i: np.ndarray) -> np.ndarray:
    """gdaldem's scale: 1 + 254 cos(i) for lit pixels, 1 for pixels facing away (uint8)."""
    shade = np.where(cos_i > 0, 1.0 + 254.0 * cos_i, 1.0)
    return np.clip(np.rint(shade), 1, 255).astype(np.uint8)


def cast_shadow(dem: np.ndarray, resolution: float, sun_zenith: float,
                sun_azimuth: float) -> np.ndarray:
    """Pixels shadowed by terrain between them and the sun (bool)."""
    z = np.asarray(dem, dtype=np.float32)
    out = np.zeros(z.shape, dtype=bool)
    tan_z = math.tan(math.radians(sun_zenith))
    relief = float(np.nanmax(z) - np.nanmin(z)) if z.size else 0.0
    if relief <= 0 or tan_z <= 0:
        return out
    steps = min(MAX_CAST_SHADOW_STEPS, int(math.ceil(relief * tan_z / resolution)) + 1)
    az = math.radians(sun_azimuth)
    ur, uc = -math.cos(az), math.sin(az)             # towards the sun (rows grow southwards)
    rise_per_px = np.float32(resolution / tan_z)     # sun ray height gain per pixel of distance
    nrows, ncols = z.shape
    seen = set()
    for k in range(1, steps + 1):
        dr, dc = int(round(k * ur)), int(round(k * uc))
        if (dr, dc) in seen or (dr == 0 and dc == 0):
            continue
        seen.add((dr, dc))
        dist = math.hypot(dr, dc)
        # pixel p = (r, c) compares with q = (r + dr, c + dc)
        r0, r1 = max(0, -dr), min(nrows, nrows - dr)
        c0, c1 = max(0, -dc), min(ncols, ncols - dc)
        if r0 >= r1 or c0 >= c1:
            break
        here = z[r0:r1, c0:c1]
        there = z[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        out[r0:r1, c0:c1] |= there > here + rise_per_px * np.float32(dist)
    return out


def terrain_layers(dem: np.ndarray, resolution: float, sun_zenith: float, sun_azimuth: float,
                   with_cast_shadow: bool = False) -> Terrain:
    """Slope, hillshade and (optionally) cast shadow of a DEM (metres) on the tile grid."""
    cos_i, slope = illumination(dem, resolution, sun_zenith, sun_azimuth)
    shade = hillshade_from_cos(cos_i)
    shadow = None
    if with_cast_shadow:
        shadow = cast_shadow(dem, resolution, sun_zenith, sun_azimuth) | (cos_i <= 0)
    return Terrain(slope, shade, shadow)
