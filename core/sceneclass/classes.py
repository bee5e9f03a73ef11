"""Land-cover tests of the classification: vegetation (step 4), soils (6), water (7), rocks and
sand (8) and the B04/B11 ratio (9). Reference §5.1.

Each step assigns its class only to pixels still not classified and multiplies the cloud
probability `p` of not-classified pixels in the transition zone of its ramp. Soils, water and
rocks/sand set P = 0 on the pixels they classify; vegetation leaves P unchanged (§5, §5.3).
Step 5 (senescing vegetation, B8A/B03) is disabled in Sen2Cor 2.8 and is not run.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .bands import Bands
from .codes import NOT_CLASSIFIED, ClassCodes
from .ramps import normalized_difference, ramp, ratio

# §5.1 step 4 (hard-coded): vegetation also needs B02 < 0.15.
VEGETATION_B02_MAX = np.float32(0.15)
# §5.1 step 6 (hard-coded): B02/B11 clipped to 0..100; the B02 threshold line clipped to 0.15..0.32.
SOIL_RATIO_CLIP = (0.0, 100.0)
SOIL_B02_CLIP = (0.15, 0.32)
# §5.1 step 7 (hard-coded): B12 threshold line clipped to 0.07..0.21; B02 < 0.2; B02 - B04 > 0.034.
WATER_B12_CLIP = (0.07, 0.21)
WATER_B02_MAX = np.float32(0.2)
WATER_B02_MINUS_B04 = np.float32(0.034)
# §5.1 step 8 (hard-coded): B02 threshold line -0.25 * B8A/B11 + 0.475 clipped to 0.16..0.35;
# also B02 < 0.8 * B11.
ROCK_SLOPE, ROCK_INTERCEPT = np.float32(-0.25), np.float32(0.475)
ROCK_B02_CLIP = (0.16, 0.35)
ROCK_B02_B11_FACTOR = np.float32(0.8)
# §5.1 step 9 (hard-coded): ramp of B04/B11 from 3.0 to 6.0.
B04_B11_RAMP = (3.0, 6.0)


def _unc(cls: np.ndarray) -> np.ndarray:
    return cls == NOT_CLASSIFIED


def vegetation_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes) -> np.ndarray:
    """Step 4: C = ramp(NDVI, T1_NDVI, T2_NDVI); C = 1 and B02 < 0.15 -> VEGETATION; 0 < C < 1:
    P *= 1 - C. Returns the NDVI."""
    ndvi = normalized_difference(b.b8a, b.b04)
    c = ramp(ndvi, th.T1_NDVI, th.T2_NDVI)
    unc = _unc(cls)
    cls[unc & (c == 1) & (b.b02 < VEGETATION_B02_MAX)] = codes.VEGETATION
    mid = unc & (c > 0) & (c < 1)
    p[mid] *= (1 - c)[mid]
    return ndvi


def soil_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """Step 6: R = clip(B02/B11, 0, 100); B02_FT = clip(T11_B02 * R + T12_B02, 0.15, 0.32).
    B02 < B02_FT and R < T11_R_B02_B11 -> NOT_VEGETATED (P = 0); T11 < R < T12 (B02 < B02_FT):
    P *= ramp(R, T11_R_B02_B11, T12_R_B02_B11)."""
    r = np.clip(ratio(b.b02, b.b11), *SOIL_RATIO_CLIP)
    ft = np.clip(np.float32(th.T11_B02) * r + np.float32(th.T12_B02), *SOIL_B02_CLIP)
    below = _unc(cls) & (b.b02 < ft)
    soil = below & (r < np.float32(th.T11_R_B02_B11))
    cls[soil] = codes.NOT_VEGETATED
    p[soil] = 0.0
    mid = below & (r > np.float32(th.T11_R_B02_B11)) & (r < np.float32(th.T12_R_B02_B11))
    p[mid] *= ramp(r, th.T11_R_B02_B11, th.T12_R_B02_B11)[mid]


def water_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """Step 7: R = B02/B11; B12_FT = clip(T21_B12 * R + T22_B12, 0.07, 0.21);
    K = B12 < B12_FT and B8A < B04 and B02 < 0.2. R > T22_R_B02_B11 and K -> WATER;
    T21 <= R < T22 and K: P *= 1 - ramp(R, T21, T22) (= -0.5 R + 2 with the defaults).
    Also B02 - B04 > 0.034 and B8A < B04 and B02 < 0.2 -> WATER. Water gets P = 0."""
    r = ratio(b.b02, b.b11)
    ft = np.clip(np.float32(th.T21_B12) * r + np.float32(th.T22_B12), *WATER_B12_CLIP)
    unc = _unc(cls)
    nir_below_red = b.b8a < b.b04
    blue_dark = b.b02 < WATER_B02_MAX
    k = unc & (b.b12 < ft) & nir_below_red & blue_dark
    t21, t22 = np.float32(th.T21_R_B02_B11), np.float32(th.T22_R_B02_B11)
    water = (k & (r > t22)) | (unc & ((b.b02 - b.b04) > WATER_B02_MINUS_B04) & nir_below_red & blue_dark)
    mid = k & (r >= t21) & (r < t22) & ~water
    p[mid] *= (1 - ramp(r, th.T21_R_B02_B11, th.T22_R_B02_B11))[mid]
    cls[water] = codes.WATER
    p[water] = 0.0


def rocks_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """Step 8: R = B8A/B11; B02_FT = clip(-0.25 R + 0.475, 0.16, 0.35). B02 < B02_FT and
    R < T1_R_B8A_B11 and B02 < 0.8 B11 -> NOT_VEGETATED (P = 0); T1 < R < T2 (B02 < B02_FT):
    P *= ramp(R, T1_R_B8A_B11, T2_R_B8A_B11)."""
    r = ratio(b.b8a, b.b11)
    ft = np.clip(ROCK_SLOPE * r + ROCK_INTERCEPT, *ROCK_B02_CLIP)
    below = _unc(cls) & (b.b02 < ft)
    t1, t2 = np.float32(th.T1_R_B8A_B11), np.float32(th.T2_R_B8A_B11)
    rock = below & (r < t1) & (b.b02 < ROCK_B02_B11_FACTOR * b.b11)
    cls[rock] = codes.NOT_VEGETATED
    p[rock] = 0.0
    mid = below & (r > t1) & (r < t2)
    p[mid] *= ramp(r, th.T1_R_B8A_B11, th.T2_R_B8A_B11)[mid]


def b04_b11_step(b: Bands, cls: np.ndarray, p: np.ndarray, codes: ClassCodes) -> None:
    """Step 9: C = ramp(B04/B11, 3, 6) (hard-coded); C = 1 -> P = 0; 0 < C < 1: P *= 1 - C."""
    c = ramp(ratio(b.b04, b.b11), *B04_B11_RAMP)
    unc = _unc(cls)
    p[unc & (c == 1)] = 0.0
    mid = unc & (c > 0) & (c < 1)
    p[mid] *= (1 - c)[mid]
