"""Synthetic mountain relief of the sample product (`generate_product(..., relief="mountain")`).

Why analytic: the truth's slope, aspect and illumination must not come from the same finite
differences the correction uses, or the closed loop would only test consistency. The DEM is a
sum of elongated Gaussian ridges (positive) and valleys (negative),

    z(e, s) = base + k * sum_j A_j exp(-(u_j^2 / 2 a_j^2 + v_j^2 / 2 b_j^2))

(e east, s south in metres from the product's upper-left corner; u_j, v_j the coordinates along
and across feature j), with an exact gradient. k and base are chosen so that the elevation stays
inside ELEVATION_RANGE_M over the whole DEM file (product + MARGIN_M on each side) and the slope
inside the product stays below MAX_SLOPE_DEG. The features come from their own random stream
(seed, size), so the scene of a product (land covers, clouds) does not change with the relief.

Terrain layers of the Lambertian terrain model (reference §6.7), at pixel centres:
* slope s = atan |grad z|; aspect = azimuth (degrees clockwise from north) of the downslope
  direction, the `gdaldem aspect` convention;
* cos(beta) = cos(SZA) cos(s) + sin(SZA) sin(s) cos(SAA - aspect);
* sky-view factor V = (1 + cos s) / 2 (unobstructed inclined plane: no horizon of the
  surrounding terrain);
* terrain reflectance rho_t = rho_bar / (1 - (1 - V_bar) rho_bar) (multiple terrain reflection
  after Sirguey 2009) with the box means rho_bar, V_bar over NEIGHBOURHOOD_M.

With the table's sun zenith (45 deg) and slopes below 45 deg there is neither self shadow
(cos(beta) > 0 everywhere) nor cast shadow (no horizon can rise above the slope that leads to it),
so b = 1 (sunlit) everywhere; the generator checks cos(beta) > 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy import ndimage

ELEVATION_RANGE_M = (30.0, 700.0)   # inside the 0-0.75 km of the project's look-up table
MAX_SLOPE_DEG = 34.0
MARGIN_M = 5040.0                   # DEM file beyond the product (multiple of 10/20/60 m); the DEM
#                                     reader wants about 4 km around the tile for its horizon grid
DEM_FILE_RESOLUTION = 20.0          # metres, aligned on the tile's 20 m grid
NEIGHBOURHOOD_M = 1000.0            # box of the terrain reflectance (the correction's 2 x 0.5 km)
FEATURE_SPACING_M = 1600.0          # one feature per FEATURE_SPACING_M^2 on average


@dataclass(frozen=True)
class Relief:
    """Features (rows: e0, s0, amplitude, sigma along, sigma across, angle rad) and scaling."""

    features: np.ndarray
    base: float
    scale: float
    extent_m: float

    def grid(self, res: float, n: int, offset_px: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(z, dz/de, dz/ds) in metres (float64) at the centres of an n x n grid of `res` metres
        whose first pixel is `offset_px` pixels right/below the product's upper-left corner."""
        c = (np.arange(n) + offset_px + 0.5) * res
        z, ge, gs = _raw(self.features, c, c)
        return self.base + self.scale * z, self.scale * ge, self.scale * gs

    def as_list(self):
        keys = ("east_m", "south_m", "amplitude", "sigma_along_m", "sigma_across_m", "angle_deg")
        return [dict(zip(keys, (round(float(f[0]), 3), round(float(f[1]), 3), round(float(f[2]), 6),
                                round(float(f[3]), 3), round(float(f[4]), 3),
                                round(math.degrees(float(f[5])), 4)))) for f in self.features]


def make_relief(rng: np.random.Generator, extent_m: float) -> Relief:
    """Random ridges and valleys over the product and its margin, scaled (module notes)."""
    lo, hi = -MARGIN_M, extent_m + MARGIN_M
    n = max(4, int(round((hi - lo) ** 2 / FEATURE_SPACING_M ** 2)))
    e0 = rng.uniform(lo, hi, n)
    s0 = rng.uniform(lo, hi, n)
    amp = rng.uniform(0.5, 1.0, n) * np.where(rng.random(n) < 0.6, 1.0, -1.0)
    across = rng.uniform(250.0, 450.0, n)
    along = across * rng.uniform(1.5, 3.5, n)
    angle = rng.uniform(0.0, math.pi, n)
    feats = np.stack([e0, s0, amp, along, across, angle], axis=1)
    # scaling from the DEM file's grid: range over all of it, slope inside the product
    return _scaled(feats, extent_m, ELEVATION_RANGE_M, MAX_SLOPE_DEG)


# "alpine" relief (generate_product(..., relief="alpine")): more than 1 km of relief inside the
# 0-1.5 km of the project's look-up table (1.5 km node of its RURAL stage).
ALPINE_ELEVATION_RANGE_M = (150.0, 1450.0)
ALPINE_MAX_SLOPE_DEG = 35.0
ALPINE_SPACING_M = 2400.0 * math.sqrt(2.0)   # crest to valley floor, measured north-east: the
#                                               tiny product's diagonal (one whole flank)


def make_alpine_relief(rng: np.random.Generator, extent_m: float) -> Relief:
    """Alternating ridges and valleys with crests north-west to south-east, ALPINE_SPACING_M
    apart, with spurs and gullies down their flanks, scaled into ALPINE_ELEVATION_RANGE_M (whole
    DEM file) and ALPINE_MAX_SLOPE_DEG (inside the product).

    * main ridges (+1) and valleys (-1), Gaussian across (width 0.42-0.48 spacing), 10-16 times
      longer, crests north-west to south-east (+-8 deg), one every ALPINE_SPACING_M along the
      north-east direction d = (east - south) / sqrt(2), a ridge through the product's upper-right
      corner and a valley through its lower-left one (+-0.04 spacing): the tiny product spans a
      whole flank, crest to valley floor, along its diagonal. Flanks face south-west (towards
      the sun of the table geometry, azimuth 164 deg: cos(beta) above cos(SZA) on a 30 deg
      slope) and north-east (away from it);
    * spurs (+) and gullies (-) down the flanks, along the fall line (+-20 deg), amplitude
      0.06-0.12, widths across 250-450 m, 2-4 times longer, one per (800 m)^2: their sides face
      north-west and south-east, so every flank has slopes turned towards and away from the sun.
    """
    lo, hi = -MARGIN_M, extent_m + MARGIN_M
    w = ALPINE_SPACING_M
    r2 = math.sqrt(2.0)
    d_ridge = extent_m / r2 + rng.uniform(-0.04, 0.04) * w       # d of the upper-right corner
    dlo, dhi = (lo - hi) / r2, (hi - lo) / r2
    mains = []
    for k in range(int(math.floor((dlo - d_ridge) / w)) - 1, int(math.ceil((dhi - d_ridge) / w)) + 2):
        across = w * rng.uniform(0.42, 0.48)
        d = d_ridge + k * w
        t = extent_m / r2 + rng.uniform(-0.3, 0.3) * extent_m    # along the crest (south-east)
        mains.append(((d + t) / r2, (t - d) / r2, 1.0 if k % 2 == 0 else -1.0,
                      across * rng.uniform(10.0, 16.0), across,
                      math.radians(45.0 + rng.uniform(-8.0, 8.0))))
    n = max(4, int(round((hi - lo) ** 2 / 800.0 ** 2)))
    e0 = rng.uniform(lo, hi, n)
    s0 = rng.uniform(lo, hi, n)
    amp = rng.uniform(0.06, 0.12, n) * np.where(rng.random(n) < 0.5, 1.0, -1.0)
    across = rng.uniform(250.0, 450.0, n)
    along = across * rng.uniform(2.0, 4.0, n)
    angle = np.radians(-45.0 + rng.uniform(-20.0, 20.0, n))
    feats = np.concatenate([np.array(mains, dtype=np.float64),
                            np.stack([e0, s0, amp, along, across, angle], axis=1)])
    return _scaled(feats, extent_m, ALPINE_ELEVATION_RANGE_M, ALPINE_MAX_SLOPE_DEG)


def _scaled(feats: np.ndarray, extent_m: float, elevation_range, max_slope_deg: float) -> Relief:
    """The features scaled so that the DEM file stays inside elevation_range and the slope inside
    the product below max_slope_deg (both reliefs)."""
    lo, hi = -MARGIN_M, extent_m + MARGIN_M
    res = DEM_FILE_RESOLUTION
    npx = int(round((hi - lo) / res))
    c = lo + (np.arange(npx) + 0.5) * res
    z, ge, gs = _raw(feats, c, c)
    inside = (c >= 0) & (c <= extent_m)
    grad = np.hypot(ge, gs)[np.ix_(inside, inside)].max()
    span = float(z.max() - z.min())
    zlo, zhi = elevation_range
    scale = min((zhi - zlo) / span, math.tan(math.radians(max_slope_deg)) / float(grad))
    return Relief(features=feats, base=zlo - scale * float(z.min()), scale=scale, extent_m=extent_m)


def _raw(feats: np.ndarray, e: np.ndarray, s: np.ndarray):
    """Unscaled sum of the features and its gradient on the grid e (columns) x s (rows); each
    feature is evaluated inside the box around its 4.5-sigma ellipse only (exp(-10) ~ 5e-5
    beyond)."""
    z = np.zeros((s.size, e.size))
    ge = np.zeros_like(z)
    gs = np.zeros_like(z)
    for e0, s0, amp, a, b, ang in feats:
        ca, sa = math.cos(ang), math.sin(ang)
        reach_e = 4.5 * math.hypot(a * ca, b * sa)
        reach_s = 4.5 * math.hypot(a * sa, b * ca)
        c0, c1 = np.searchsorted(e, e0 - reach_e), np.searchsorted(e, e0 + reach_e)
        r0, r1 = np.searchsorted(s, s0 - reach_s), np.searchsorted(s, s0 + reach_s)
        if c0 >= c1 or r0 >= r1:
            continue
        de = (e[c0:c1] - e0)[None, :]
        ds = (s[r0:r1] - s0)[:, None]
        u = ca * de + sa * ds
        v = -sa * de + ca * ds
        g = amp * np.exp(-(u * u / (2 * a * a) + v * v / (2 * b * b)))
        du, dv = -u / (a * a), -v / (b * b)
        z[r0:r1, c0:c1] += g
        ge[r0:r1, c0:c1] += g * (du * ca - dv * sa)
        gs[r0:r1, c0:c1] += g * (du * sa + dv * ca)
    return z, ge, gs


@dataclass
class TerrainLayers:
    """Terrain layers on one pixel grid (float64): elevation m, slope and aspect deg, cos(beta),
    sky view, cos(beta) / cos(SZA)."""

    elevation: np.ndarray
    slope: np.ndarray
    aspect: np.ndarray
    cos_beta: np.ndarray
    sky_view: np.ndarray
    ratio: np.ndarray


def terrain_layers(relief: Relief, res: float, n: int, offset_px: int, sun_zenith: float,
                   sun_azimuth: float) -> TerrainLayers:
    """Layers of an n x n grid (see Relief.grid) for the sun angles in degrees (module notes)."""
    z, ge, gs = relief.grid(res, n, offset_px)
    gn = -gs                                               # dz/d(north)
    slope = np.degrees(np.arctan(np.hypot(ge, gn)))
    aspect = np.degrees(np.arctan2(-ge, -gn)) % 360.0      # downslope azimuth from north
    aspect = np.where((ge == 0) & (gn == 0), 0.0, aspect)
    sz, sa = math.radians(sun_zenith), math.radians(sun_azimuth)
    sr = np.radians(slope)
    cos_beta = math.cos(sz) * np.cos(sr) + math.sin(sz) * np.sin(sr) * np.cos(sa - np.radians(aspect))
    sky = 0.5 * (1.0 + np.cos(sr))
    return TerrainLayers(z, slope, aspect, cos_beta, sky, cos_beta / math.cos(sz))


def box_mean(a: np.ndarray, res: float, size_m: float = NEIGHBOURHOOD_M) -> np.ndarray:
    """Mean over an odd box of about size_m (edges: nearest value)."""
    px = 2 * int(round(size_m / 2.0 / res)) + 1
    return ndimage.uniform_filter(np.asarray(a, dtype=np.float64), size=px, mode="nearest")


def terrain_reflectance(rho: np.ndarray, sky_view: np.ndarray, res: float) -> np.ndarray:
    """rho_t = rho_bar / (1 - (1 - V_bar) rho_bar) over the neighbourhood box (module notes)."""
    rb = box_mean(rho, res)
    vb = box_mean(sky_view, res)
    return rb / (1.0 - (1.0 - vb) * rb)
