"""Cirrus correction from B10 (reference §6.6; `Cirrus_Correction = TRUE`, 20 m and 60 m only).

* Cirrus reflectance rho_cir = 3 x 3 median of the B10 TOA reflectance, minus the clear-sky B10
  level (median of the clear pixels; the 1375 nm band is not zero without cirrus), floored at 0.
* Scale factor gamma searched in 0.6 ... 1.0 (9 steps) with B01, B02, B03: the gamma whose
  corrected mean TOA reflectance of the cirrus pixels (rho_cir > 2 %, fallback 1.4 %) is closest
  to the mean of the clear pixels (0.1 % < rho_cir < 0.8 %, fallbacks 1.0 %, 1.1 %), summed
  over the three bands. Sen2Cor asks for at least 10 000 cirrus and 2 000 clear pixels at 20 m;
  the counts are scaled to the sampled pixels and capped at 5 % / 1 % of them so that small
  products can be corrected too; without enough pixels gamma = 1.
* Over water: gamma < 0.5 -> x 2; gamma < 0.7 -> x 1.2.
* Correction of the TOA reflectance: rho' = rho - rho_cir / gamma, gamma doubled for
  wavelengths >= 1.5 um (B11, B12). (Sen2Cor divides B09 first by its 945 nm two-way
  transmittance above the cirrus; that factor is close to 1 for cirrus heights of 6-14 km and
  is not applied here.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Mapping, Optional

import numpy as np
from scipy import ndimage

F32 = np.float32
GAMMAS = np.linspace(0.6, 1.0, 9)
CIRRUS_LIMITS = (0.02, 0.014)
CLEAR_LIMITS = ((0.001, 0.008), (0.001, 0.010), (0.001, 0.011))
MIN_CIRRUS, MIN_CLEAR = 10000, 2000
SEARCH_BANDS = ("B01", "B02", "B03")
LONG_WAVE_UM = 1.5


@dataclass
class CirrusCorrection:
    applied: bool = False
    gamma: float = 1.0
    gamma_water: float = 1.0
    baseline: float = 0.0
    cirrus_pixels: int = 0
    clear_pixels: int = 0
    messages: List[str] = field(default_factory=list)

    def gamma_for(self, wavelength_um: float, water=None):
        g = self.gamma if water is None else np.where(water, F32(self.gamma_water), F32(self.gamma))
        return g * (2.0 if wavelength_um >= LONG_WAVE_UM else 1.0)


def median3(b10_with_halo: np.ndarray) -> np.ndarray:
    return ndimage.median_filter(np.nan_to_num(b10_with_halo), size=3, mode="nearest")


def estimate(toa: Mapping[str, np.ndarray], valid: np.ndarray, pixel_scale: float = 1.0,
             water: Optional[np.ndarray] = None) -> CirrusCorrection:
    """gamma from sampled TOA reflectance (dict with B10 and SEARCH_BANDS, 2-D sample arrays);
    `pixel_scale` = working-grid pixels per sample (for Sen2Cor's minimum counts)."""
    out = CirrusCorrection(applied=True)
    if "B10" not in toa:
        out.applied = False
        out.messages.append("no B10: cirrus correction skipped")
        return out
    b10 = np.where(valid, toa["B10"], np.nan)
    rho_cir = median3(b10)
    n_valid = max(1, int(valid.sum()))
    min_cirrus = max(20, min(MIN_CIRRUS / pixel_scale, 0.05 * n_valid))
    min_clear = max(20, min(MIN_CLEAR / pixel_scale, 0.01 * n_valid))
    clear = None
    for lo, hi in CLEAR_LIMITS:
        c = valid & (b10 > lo) & (b10 < hi)
        if c.sum() >= min_clear:
            clear = c
            break
    out.baseline = float(np.median(b10[clear])) if clear is not None else 0.0
    rc = np.maximum(rho_cir - out.baseline, 0.0)
    cirrus = None
    for limit in CIRRUS_LIMITS:
        c = valid & (rho_cir > limit)
        if c.sum() >= min_cirrus:
            cirrus = c
            break
    if cirrus is None or clear is None or not all(b in toa for b in SEARCH_BANDS):
        out.messages.append("not enough cirrus or clear pixels for the gamma search: gamma = 1")
    else:
        out.cirrus_pixels, out.clear_pixels = int(cirrus.sum()), int(clear.sum())
        costs = []
        for g in GAMMAS:
            cost = 0.0
            for band in SEARCH_BANDS:
                corrected = np.nanmean(toa[band][cirrus] - rc[cirrus] / g)
                cost += abs(corrected - np.nanmean(toa[band][clear]))
            costs.append(cost)
        out.gamma = float(GAMMAS[int(np.argmin(costs))])
    g = out.gamma
    out.gamma_water = g * 2.0 if g < 0.5 else (g * 1.2 if g < 0.7 else g)
    return out


def correct_strip(toa_band: np.ndarray, rho_cir_strip: np.ndarray, correction: CirrusCorrection,
                  wavelength_um: float, water: Optional[np.ndarray] = None) -> np.ndarray:
    """rho' = rho - max(rho_cir - baseline, 0) / gamma (float32)."""
    if not correction.applied:
        return toa_band
    rc = np.maximum(rho_cir_strip - F32(correction.baseline), F32(0.0))
    return (toa_band - rc / correction.gamma_for(wavelength_um, water)).astype(F32, copy=False)
