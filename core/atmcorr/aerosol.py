"""Aerosol retrieval (reference §6.4): DDV per pixel, checks, fallbacks, aerosol type AUTO.

Order of decisions (§6.4.1), with every threshold from L2A_CAL_AC_GIPP.xml (`cfg.ac`):

1. more than 99 % water -> no DDV retrieval;
2. DDV reference pixels (§6.4.2), with the look-up table at the 23 km visibility:
   rho_B12 (surface) in (AC_Swir_Refl_Lower_Th, AC_Ddv_Swir_Refl_Th1), TOA red <= AC_Ddv_16um_Refl_Th1,
   TOA NDVI(B8A, B04) > AC_Swir_Refl_Ndvi_Th, TOA B8A < 0.38, cos(mean SZA) > cos(75 deg), SCL
   vegetation, not within ~1 km of a cloud; the DDV share must reach AC_Min_Ddv_Area % of the
   non-water pixels, else the B12 limit widens to Th2, then Th3 (the red limit widens with it to
   AC_Ddv_16um_Refl_Th2 / Th3 - the reference leaves this open; the GIPP pairs them);
3. per DDV pixel, the AOT550 at which the red surface reflectance (with Sen2Cor's half-weight
   adjacency term 0.5 q (rho_TOA - mean rho_TOA of the cell's water/soil/vegetation pixels) and
   the terrain illumination) equals AC_Swir_22um_Red_Refl_Ratio x rho_B12 (§6.4.3); pixels
   without a solution get the mean; the map (as sea-level-equivalent AOT, i.e. Sen2Cor's
   elevation-free visibility index) is filled with the mean and Gaussian-smoothed with
   sigma = max(AC_Ddv_Smooting_Window * 1000 / pixel, 3) pixels;
4. green/red consistency: sum(rho_green) >= 1.08 sum(rho_red) over the DDV pixels, else the
   visibility is raised (at most 6 times);
5. no DDV: CAMS AOD550 (AUX_CAMSFO, converted with the quadratic a(z), b(z) of §6.3) when
   available (CAMS), else the start visibility `Visibility` (DEFAULT);
6. negative-reflectance check (§6.4.4; applied after every method: a map is scaled like its scene
   visibility) and, without DDV, the dark-bright-vegetation fallback (§6.4.5);
7. VIS_Update_Mode = 0: one scene value instead of a map.
8. Blue path-radiance rescaling (§6.4.6) only when Scaling_Disabler is false.

Aerosol type AUTO (§6.4.7, 20/60 m): the DDV retrieval runs with both models and the one whose
double ratio (Lp_blue/Lp_red)_scene / (Lp_blue/Lp_red)_LUT is closest to 1 is kept.

The retrieval works on the `Sample` of the working grid (sample.py). The AOT field is stored on
that grid as sea-level-equivalent AOT550 (visibility.sea_level_equivalent) and converted to each
pixel's elevation when used. Sen2Cor smooths the AOT product once more with a ~100 m Gaussian
(§6.4.8); after the kilometre-scale smoothing above that changes nothing and is not repeated.
Not used: AC_Dbv_Red_Veget_Tst_Ndvi_Th / AC_Dbv_Red_Veget_Refl_Th and AC_Limit_Area_Path_Rad_Scale
(the reference gives no algorithm for them), AC_Spr_Refl_Percentage / Promille (stop criteria of
an iterative path-radiance rescaling; the rescaling here is the single-step §6.4.6 form).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
from scipy import ndimage

from . import visibility as vis
from .evaluate import TermsEvaluator, combine, provider_range
from .neighbourhood import smooth_gaussian
from .sample import Sample
from .surface import Illumination, PixelTerms, background_free, step1

log = logging.getLogger(__name__)
F32 = np.float32

DDV_MAX_NIR = 0.38                  # §6.4.2 (hard-coded in Sen2Cor)
DDV_MAX_SUN_ZENITH = 75.0
WATER_ONLY_SHARE = 99.0             # §6.4.1
GREEN_RED_RATIO = 1.08              # §6.4.3
GREEN_RED_MAX_ITER = 6
NEGATIVE_MAX_ITER = 12
NEGATIVE_SHARE = 1.0                # percent
NEGATIVE_MAX_VIS = 120.0
DBV_MIN_PIXELS = 5
DBV_DARKEST = 10
DBV_MAX_VIS = 80.0
DBV_MAX_BETA_DIFF = 15.0
BLUE_OFFSET = 0.005                 # rho_blue = ratio * rho_red + 0.005 (Sen2Cor 2.4.0)
CELL_WIDTH_M = 915 * 60.0           # §6.4.3: cells of 915 x 1830 pixels at 60 m
CELL_HEIGHT_M = 1830 * 60.0
CHUNK = 20000
SURFACE_CHUNK = 1 << 18

METHOD_DDV, METHOD_CAMS, METHOD_DEFAULT, METHOD_FIXED = "SEN2COR_DDV", "CAMS", "DEFAULT", "FIXED"


def candidate_aots(provider: Any) -> np.ndarray:
    """AOT550 values at which the DDV inversion evaluates the table (within its range)."""
    grid = np.unique(np.concatenate([np.arange(0.0, 0.4, 0.02), np.arange(0.4, 1.0, 0.05),
                                     np.arange(1.0, 3.01, 0.1)]))
    lo, hi = provider_range(provider, "aot550", (0.0, 3.0))
    grid = grid[(grid >= lo - 1e-9) & (grid <= hi + 1e-9)]
    if grid.size == 0 or grid[0] > lo + 1e-9:
        grid = np.concatenate([[lo], grid])
    if grid[-1] < hi - 1e-9:
        grid = np.concatenate([grid, [hi]])
    return grid


@dataclass
class AerosolResult:
    """What the aerosol retrieval decided (see the module notes)."""

    method: str
    aerosol_type: str
    field_sl: np.ndarray                    # sea-level-equivalent AOT550 on the sample grid
    start_visibility_km: float
    ddv_visibility_km: Optional[float] = None
    final_visibility_km: float = 0.0
    ddv_share_percent: float = 0.0
    ddv_level: int = 0                      # 1..3: which B12 limit was used; 0 none
    ddv_b12_range: Tuple[float, float] = (0.0, 0.0)
    ddv_pixels: int = 0                     # sampled DDV pixels
    ddv_mask: Optional[np.ndarray] = None   # sample grid
    green_red_iterations: int = 0
    negative_iterations: int = 0
    dbv_used: bool = False
    blue_scale: float = 1.0
    double_ratios: Dict[str, float] = field(default_factory=dict)
    constant: bool = False
    messages: List[str] = field(default_factory=list)

    def aot_at(self, sample: Sample, values_sl, z):
        return vis.at_elevation(values_sl, z)


# ------------------------------------------------------------------------------ helpers
def _illum(sample: Sample, mask) -> Optional[Illumination]:
    if sample.cos_beta is None:
        return None
    mu = np.cos(np.radians(np.asarray(sample.get("sza", mask), dtype=F32)))
    return Illumination(cos_beta=sample.cos_beta[mask], mu_s=mu, v_sky=sample.v_sky[mask])


def _cols(x):
    return None if x is None else (x[:, None] if np.ndim(x) else x)


def surface_at(evaluator: TermsEvaluator, band: str, sample: Sample, mask, aot, wv,
               adjacency_env=None, adjacency_weight: float = 0.0, rho_terrain: float = 0.1,
               path_scale: float = 1.0):
    """Flat/terrain step-1 surface reflectance of masked sample pixels at per-pixel AOT (1-D),
    in chunks of SURFACE_CHUNK pixels (the terms of a whole tile sample at once are the
    retrieval's memory peak)."""
    toa_all = sample.toa[band][mask]
    z_all, sza_all, saa_all = (sample.get(k, mask) for k in ("z", "sza", "saa"))
    illum_all = _illum(sample, mask)
    n = toa_all.size
    out = np.empty(n, dtype=F32)
    for c0 in range(0, n, SURFACE_CHUNK):
        c1 = min(n, c0 + SURFACE_CHUNK)
        pick = lambda a: a[c0:c1] if np.ndim(a) else a  # noqa: E731
        a = pick(aot)
        combos = combine((c1 - c0,), np.asarray(a, dtype=np.float32) if np.ndim(a) else a, wv,
                         pick(z_all), pick(sza_all), pick(saa_all))
        t = PixelTerms.from_terms(evaluator.terms(band, combos), combos.gather, path_scale)
        toa = toa_all[c0:c1]
        if adjacency_env is not None and adjacency_weight:
            toa = toa + F32(adjacency_weight) * t.q * (toa - pick(adjacency_env))
        illum = None
        if illum_all is not None:
            illum = Illumination(cos_beta=illum_all.cos_beta[c0:c1], mu_s=pick(illum_all.mu_s),
                                 v_sky=illum_all.v_sky[c0:c1])
        out[c0:c1] = step1(background_free(toa, t, illum, rho_terrain), t)
    return out


def surface_candidates(evaluator: TermsEvaluator, band: str, sample: Sample, mask, wv,
                       candidates: np.ndarray, adjacency_env=None, adjacency_weight: float = 0.0,
                       rho_terrain: float = 0.1, targets: Optional[np.ndarray] = None):
    """(n, K) step-1 surface reflectance of masked sample pixels at K candidate AOT values.
    With `targets` (n,), each chunk is inverted at once (`invert_decreasing`) and the (n,)
    AOT is returned instead: the (n, K) array of a tile's DDV pixels (e.g. 800 000 x 35
    float32) would be the retrieval's memory peak."""
    toa_all = sample.toa[band][mask]
    z_all, sza_all, saa_all = (sample.get(k, mask) for k in ("z", "sza", "saa"))
    env_all = adjacency_env
    illum_all = _illum(sample, mask)
    n = toa_all.size
    out = (np.empty((n, len(candidates)), dtype=F32) if targets is None
           else np.full(n, np.nan, dtype=np.float64))
    cand = np.asarray(candidates, dtype=np.float64)[None, :]
    for c0 in range(0, max(n, 1), CHUNK):
        c1 = min(n, c0 + CHUNK)
        if c1 <= c0:
            break
        pick = lambda a: a[c0:c1] if np.ndim(a) else a  # noqa: E731
        combos = combine((c1 - c0,), 0.0, wv, pick(z_all), pick(sza_all), pick(saa_all))
        terms = evaluator.terms(band, combos, aot=cand)          # (U, K)
        inv = combos.inverse if combos.inverse is not None else np.zeros(c1 - c0, dtype=np.int32)
        t = PixelTerms.from_terms(terms, lambda v: np.asarray(v)[inv] if np.ndim(v) == 2
                                  else np.broadcast_to(v, (len(inv),) + np.shape(v)[1:]))
        toa = pick(toa_all)[:, None]
        if env_all is not None and adjacency_weight:
            toa = toa + F32(adjacency_weight) * t.q * (toa - _cols(pick(env_all)))
        illum = None
        if illum_all is not None:
            illum = Illumination(cos_beta=illum_all.cos_beta[c0:c1, None],
                                 mu_s=_cols(pick(illum_all.mu_s)), v_sky=illum_all.v_sky[c0:c1, None])
        y = background_free(toa, t, illum, rho_terrain)
        rho = step1(y, t)
        out[c0:c1] = rho if targets is None else invert_decreasing(rho, targets[c0:c1], cand[0])
    return out


def invert_decreasing(values: np.ndarray, targets: np.ndarray, candidates: np.ndarray):
    """Per row of `values` (n, K) decreasing along K, the candidate where the row equals its
    target (linear interpolation between the bracketing nodes); NaN where no bracket exists."""
    n, k = values.shape
    above = values >= targets[:, None]
    # index of the last node still at or above the target (rows decrease along K)
    idx = np.where(above.any(axis=1), k - 1 - np.argmax(above[:, ::-1], axis=1), -1)
    ok = (idx >= 0) & (idx < k - 1) & ~above[np.arange(n), np.minimum(idx + 1, k - 1)]
    out = np.full(n, np.nan, dtype=np.float64)
    i = idx[ok]
    rows = np.nonzero(ok)[0]
    v0, v1 = values[rows, i], values[rows, i + 1]
    w = np.where(v0 != v1, (v0 - targets[rows]) / (v0 - v1), 0.0)
    out[rows] = candidates[i] + np.clip(w, 0.0, 1.0) * (candidates[i + 1] - candidates[i])
    exact = above[:, -1] & (values[:, -1] == targets)
    out[exact] = candidates[-1]
    return out


def cell_means(sample: Sample, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-pixel mean of `values` over `mask` within Sen2Cor's cells (§6.4.3) (sample grid)."""
    h, w = sample.shape
    spacing = sample.spacing_m
    rows = (np.arange(h) * spacing) // CELL_HEIGHT_M
    cols = (np.arange(w) * spacing) // CELL_WIDTH_M
    cell = (rows[:, None] * (cols.max() + 1) + cols[None, :]).astype(np.int64)
    n = int(cell.max()) + 1
    sums = np.bincount(cell[mask], weights=values[mask].astype(np.float64), minlength=n)
    counts = np.bincount(cell[mask], minlength=n)
    overall = float(values[mask].mean()) if mask.any() else 0.0
    means = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
    return means[cell].astype(F32)


def smooth_field(sample: Sample, values: np.ndarray, weight: np.ndarray, fill: float,
                 sigma_px: float) -> np.ndarray:
    """Sen2Cor's gap filling and smoothing: `values` where `weight`, `fill` elsewhere, then a
    Gaussian of `sigma_px` working-grid pixels (evaluated on the sample grid)."""
    filled = np.where(weight, values, fill).astype(np.float64)
    return smooth_gaussian(filled, sigma_px / sample.step)


# ----------------------------------------------------------------------------- the retrieval
class AerosolRetrieval:
    """One run of §6.4 on a sample (see the module notes)."""

    def __init__(self, sample: Sample, evaluators: Mapping[str, TermsEvaluator], config: Any,
                 water_vapour_cm: float, adjacency: bool, codes: Any = None,
                 cams_aod550: Any = None, ddv_b12_update: bool = False):
        self.s = sample
        self.evaluators = dict(evaluators)
        self.cfg = config
        self.ac = config.ac
        self.wv = float(water_vapour_cm)
        self.adjacency = bool(adjacency)
        self.codes = codes
        self.cams = cams_aod550
        self.ddv_b12_update = ddv_b12_update
        veg = getattr(codes, "VEGETATION", 4)
        self.veg, self.soil = veg, getattr(codes, "NOT_VEGETATED", 5)
        self.water_code = getattr(codes, "WATER", 6)
        self.nodata_code = getattr(codes, "NO_DATA", 0)
        self.valid = np.isfinite(sample.toa["B04"]) & (sample.scl != self.nodata_code)
        self.sigma_px = max(float(self.ac.ddv_smoothing_window) * 1000.0 / sample.resolution, 3.0)

    # -- small helpers ------------------------------------------------------------------
    def _z_mean(self, mask=None) -> float:
        z = self.s.z
        if np.ndim(z) == 0:
            return float(z)
        sel = self.valid if mask is None else mask
        return float(np.nanmean(z[sel])) if sel.any() else 0.0

    def _aot_px(self, field_sl: np.ndarray, mask) -> np.ndarray:
        z = self.s.get("z", mask)
        return np.asarray(vis.at_elevation(field_sl[mask], z), dtype=np.float32)

    def _scene_visibility(self, field_sl: np.ndarray) -> float:
        land = self.valid & (self.s.scl != self.water_code)
        sel = land if land.any() else self.valid
        mean_sl = float(np.mean(field_sl[sel])) if sel.any() else float(np.mean(field_sl))
        return float(vis.aot550_to_visibility(mean_sl, 0.0))

    def _field_for_visibility(self, vis_km: float) -> np.ndarray:
        return np.full(self.s.shape, vis.visibility_to_aot550(vis_km, 0.0), dtype=np.float64)

    def _rescale_to(self, field_sl: np.ndarray, vis_old: float, vis_new: float) -> np.ndarray:
        old = vis.visibility_to_aot550(vis_old, 0.0)
        new = vis.visibility_to_aot550(vis_new, 0.0)
        return field_sl * (new / old)

    # -- DDV --------------------------------------------------------------------------------
    def ddv_masks(self, evaluator: TermsEvaluator):
        """(mask of level k for k = 1..3, rho_B12, non-water count, water share %)."""
        s, ac = self.s, self.ac
        valid = self.valid
        water = valid & (s.scl == self.water_code)
        n_valid = int(valid.sum())
        water_share = 100.0 * int(water.sum()) / max(1, n_valid)
        nonwater = int(valid.sum() - water.sum())
        base = valid & (s.scl == self.veg) & ~s.cloud_near
        sza_mean = float(np.nanmean(s.sza)) if np.ndim(s.sza) else float(s.sza)
        if math.cos(math.radians(sza_mean)) <= math.cos(math.radians(DDV_MAX_SUN_ZENITH)):
            base[:] = False
        red, nir = s.toa["B04"], s.toa["B8A"]
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi = (nir - red) / (nir + red)
        base &= (ndvi > float(ac.swir_refl_ndvi_th)) & (nir < DDV_MAX_NIR)
        rho12 = np.full(s.shape, np.nan, dtype=F32)
        if base.any():
            aot23 = vis.visibility_to_aot550(vis.DDV_REFERENCE_VISIBILITY_KM, s.get("z", base))
            rho12[base] = surface_at(evaluator, "B12", s, base, aot23, self.wv)
        levels = []
        limits = ((ac.ddv_swir_refl_th1, ac.ddv_16um_refl_th1), (ac.ddv_swir_refl_th2, ac.ddv_16um_refl_th2),
                  (ac.ddv_swir_refl_th3, ac.ddv_16um_refl_th3))
        with np.errstate(invalid="ignore"):
            for b12_max, red_max in limits:
                levels.append(base & (rho12 > float(ac.swir_refl_lower_th)) & (rho12 < float(b12_max))
                              & (red <= float(red_max)))
        return levels, rho12, nonwater, water_share

    def ddv_inversion(self, evaluator: TermsEvaluator, mask: np.ndarray, rho12: np.ndarray):
        """Per-DDV-pixel AOT550 (at the pixel's elevation; NaN without solution) and the red
        reference reflectance."""
        s, ac = self.s, self.ac
        target = float(ac.swir_22um_red_refl_ratio) * rho12[mask]
        env = None
        if self.adjacency:
            sel = self.valid & np.isin(s.scl, (self.veg, self.soil, self.water_code))
            env = cell_means(s, s.toa["B04"], sel)[mask]
        cands = candidate_aots(evaluator.provider)
        aot = surface_candidates(evaluator, "B04", s, mask, self.wv, cands, env,
                                 0.5 if self.adjacency else 0.0, float(ac.terrain_refl_start),
                                 targets=target.astype(np.float64))
        return aot, target

    def run_ddv(self, evaluator: TermsEvaluator, result: AerosolResult):
        """DDV steps 2-3; fills `result` and returns the per-pixel arrays (or None)."""
        s, ac = self.s, self.ac
        levels, rho12, nonwater, water_share = self.ddv_masks(evaluator)
        if water_share > WATER_ONLY_SHARE:
            result.messages.append(f"{water_share:.1f} % water: no DDV retrieval")
            return None
        minimum = float(ac.min_ddv_area)
        limits = (ac.ddv_swir_refl_th1, ac.ddv_swir_refl_th2, ac.ddv_swir_refl_th3)
        for k, mask in enumerate(levels, start=1):
            share = 100.0 * int(mask.sum()) / max(1, nonwater)
            result.ddv_share_percent = share
            if share >= minimum and mask.any():
                result.ddv_level = k
                result.ddv_b12_range = (float(ac.swir_refl_lower_th), float(limits[k - 1]))
                break
            result.messages.append(f"DDV share {share:.2f} % < {minimum} % with rho_B12 < {limits[k - 1]}")
        else:
            return None
        mask = levels[result.ddv_level - 1]
        aot, target = self.ddv_inversion(evaluator, mask, rho12)
        if self.ddv_b12_update:              # optional refinement (not Sen2Cor): rho_B12 at the retrieved AOT
            ok = np.isfinite(aot)
            if ok.any():
                z = s.get("z", mask)
                aot_b12 = np.where(ok, aot, np.nanmean(aot))
                rho12 = rho12.copy()
                rho12[mask] = surface_at(evaluator, "B12", s, mask, aot_b12.astype(F32), self.wv)
                aot, target = self.ddv_inversion(evaluator, mask, rho12)
                del z
        ok = np.isfinite(aot)
        if not ok.any():
            result.messages.append("no DDV pixel matched the red reference reflectance")
            return None
        result.ddv_pixels = int(ok.sum())
        z = s.get("z", mask)
        aot_sl = np.asarray(vis.sea_level_equivalent(np.where(ok, aot, 0.01), z), dtype=np.float64)
        mean_sl = float(aot_sl[ok].mean())
        values = np.zeros(s.shape, dtype=np.float64)
        weight = np.zeros(s.shape, dtype=bool)
        idx = np.nonzero(mask)
        values[idx[0][ok], idx[1][ok]] = aot_sl[ok]
        weight[idx[0][ok], idx[1][ok]] = True
        result.ddv_mask = weight
        result.field_sl = smooth_field(s, values, weight, mean_sl, self.sigma_px)
        result.ddv_visibility_km = float(vis.aot550_to_visibility(mean_sl, 0.0))
        return {"mask": mask, "aot": np.where(ok, aot, np.nanmean(aot)), "target": target, "ok": ok}

    # -- checks -------------------------------------------------------------------------------
    def green_red_check(self, evaluator: TermsEvaluator, result: AerosolResult) -> None:
        mask = result.ddv_mask
        if mask is None or not mask.any():
            return
        for it in range(GREEN_RED_MAX_ITER):
            aot = self._aot_px(result.field_sl, mask)
            green = surface_at(evaluator, "B03", self.s, mask, aot, self.wv)
            red = surface_at(evaluator, "B04", self.s, mask, aot, self.wv)
            if float(np.nansum(green)) >= GREEN_RED_RATIO * float(np.nansum(red)):
                return
            old = self._scene_visibility(result.field_sl)
            new = vis.next_visibility(old)
            if new <= old:
                return
            result.field_sl = self._rescale_to(result.field_sl, old, new)
            result.green_red_iterations = it + 1

    def negative_check(self, evaluator: TermsEvaluator, result: AerosolResult) -> None:
        s, ac = self.s, self.ac
        land = self.valid & np.isin(s.scl, (self.veg, self.soil))
        if not land.any():
            return
        nf = min(max(1000.0 / s.resolution, 3.0), 51.0)
        for it in range(NEGATIVE_MAX_ITER):
            vis_now = self._scene_visibility(result.field_sl)
            if vis_now >= NEGATIVE_MAX_VIS:
                return
            aot = self._aot_px(result.field_sl, self.valid)
            bad = np.zeros(int(land.sum()), dtype=bool)
            for band, limit in (("B04", ac.cut_off_aot_iter_vegetation), ("B8A", ac.cut_off_aot_iter_water)):
                rho = np.full(s.shape, np.nan, dtype=F32)
                rho[self.valid] = surface_at(evaluator, band, s, self.valid, aot, self.wv)
                if self.adjacency:
                    t = evaluator.terms(band, combine((1,), float(np.mean(aot)), self.wv,
                                                      self._z_mean(), float(np.nanmean(s.sza)),
                                                      float(np.nanmean(s.saa))))
                    q = float(np.asarray(t.q).ravel()[0])
                    env = smooth_gaussian(np.where(self.valid, np.minimum(rho, 0.40), 0.0), nf / s.step)
                    env /= np.maximum(smooth_gaussian(self.valid, nf / s.step), 1e-6)
                    rho += F32(q) * (rho - env.astype(F32))
                    del env
                bad |= rho[land] < float(limit)
            share = 100.0 * float(bad.mean())
            if share <= NEGATIVE_SHARE:
                return
            new = vis.next_visibility(vis_now)
            result.messages.append(f"negative-reflectance check: {share:.2f} % of pixels below the "
                                   f"limits, visibility {vis_now:.1f} -> {new:.1f} km")
            result.field_sl = self._rescale_to(result.field_sl, vis_now, new)
            result.negative_iterations = it + 1

    def dbv_fallback(self, evaluator: TermsEvaluator, result: AerosolResult) -> None:
        s, ac = self.s, self.ac
        red, nir = s.toa["B04"], s.toa["B8A"]
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi = (nir - red) / (nir + red)
            cand = self.valid & (nir > float(ac.dbv_nir_refl_th)) & (ndvi > float(ac.dbv_ndvi_th))
        if s.cos_beta is not None:
            beta = np.degrees(np.arccos(np.clip(s.cos_beta, -1, 1)))
            cand &= np.abs(beta - np.asarray(s.sza)) < DBV_MAX_BETA_DIFF
        if not cand.any():
            return
        aot_now = self._aot_px(result.field_sl, cand)
        rho_red = surface_at(evaluator, "B04", s, cand, aot_now, self.wv)
        keep = rho_red > float(ac.cut_off_aot_iter_vegetation)
        if int(keep.sum()) < DBV_MIN_PIXELS:
            return
        idx = np.nonzero(cand)
        order = np.argsort(rho_red[keep])[:DBV_DARKEST]
        rows, cols = idx[0][keep][order], idx[1][keep][order]
        dark = np.zeros(s.shape, dtype=bool)
        dark[rows, cols] = True
        cands = candidate_aots(evaluator.provider)
        rho = surface_candidates(evaluator, "B04", s, dark, self.wv, cands,
                                 rho_terrain=float(ac.terrain_refl_start))
        aot = invert_decreasing(rho.mean(axis=0, keepdims=True), np.array([float(ac.red_ref_refl_th)]),
                                cands)[0]
        if not np.isfinite(aot):
            return
        vis_dbv = float(vis.aot550_to_visibility(aot, self._z_mean(dark)))
        vis_now = self._scene_visibility(result.field_sl)
        if vis_now < vis_dbv <= DBV_MAX_VIS:
            result.messages.append(f"dark-bright-vegetation fallback: visibility {vis_now:.1f} -> "
                                   f"{vis_dbv:.1f} km")
            result.field_sl = self._field_for_visibility(vis_dbv)
            result.dbv_used = True

    # -- type AUTO and blue rescaling ---------------------------------------------------------
    def path_ratios(self, evaluator: TermsEvaluator, ddv) -> Tuple[float, float]:
        """(double ratio (Lp_blue/Lp_red)_scene / (Lp_blue/Lp_red)_LUT, blue scale factor
        Lp_blue,scene / Lp_blue,LUT) over the DDV pixels."""
        s, ac = self.s, self.ac
        mask, aot, target = ddv["mask"], ddv["aot"], ddv["target"]
        n = int(mask.sum())
        combos = combine((n,), np.asarray(aot, dtype=F32), self.wv, s.get("z", mask),
                         s.get("sza", mask), s.get("saa", mask))
        paths, scene = {}, {}
        refs = {"B04": target, "B02": float(ac.red_blue_refl_ratio) * target + BLUE_OFFSET}
        for band, ref in refs.items():
            t = PixelTerms.from_terms(evaluator.terms(band, combos), combos.gather)
            trans = t.tg_tup * t.t_down
            ref = np.asarray(ref, dtype=F32)
            scene[band] = float(np.mean(s.toa[band][mask] - trans * ref / (1.0 - t.s * ref)))
            paths[band] = float(np.mean(np.broadcast_to(t.path, (n,))))
        double = (scene["B02"] / scene["B04"]) / (paths["B02"] / paths["B04"])
        return float(double), float(scene["B02"] / paths["B02"])

    # -- the whole thing ----------------------------------------------------------------------
    def run(self, aerosol_type: str) -> Tuple[AerosolResult, str]:
        """The retrieval; returns (result, the aerosol model used)."""
        ac, cfg = self.ac, self.cfg
        start_vis = float(cfg.visibility)
        models = list(self.evaluators)
        wanted = str(aerosol_type).upper()
        chosen = wanted if wanted in self.evaluators else models[0]
        ratios: Dict[str, float] = {}
        ddv_by_model: Dict[str, Tuple[AerosolResult, Any]] = {}
        if wanted == "AUTO" and len(models) > 1:
            for model in models:
                r = AerosolResult(METHOD_DDV, model, self._field_for_visibility(start_vis), start_vis)
                ddv = self.run_ddv(self.evaluators[model], r)
                ddv_by_model[model] = (r, ddv)
                if ddv is not None:
                    ratios[model] = self.path_ratios(self.evaluators[model], ddv)[0]
            if ratios:
                chosen = min(ratios, key=lambda m: abs(ratios[m] - 1.0))
            else:
                chosen = "RURAL" if "RURAL" in self.evaluators else models[0]
        evaluator = self.evaluators[chosen]
        if chosen in ddv_by_model:
            result, ddv = ddv_by_model[chosen]
        else:
            result = AerosolResult(METHOD_DDV, chosen, self._field_for_visibility(start_vis), start_vis)
            ddv = self.run_ddv(evaluator, result)
        result.double_ratios = ratios
        if wanted == "AUTO":
            result.messages.append(f"aerosol type AUTO -> {chosen} (double ratios "
                                   + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()) + ")")
        if ddv is not None:
            result.method = METHOD_DDV
            self.green_red_check(evaluator, result)
            if not bool(ac.scaling_disabler):
                sc = self.path_ratios(evaluator, ddv)[1]
                if bool(ac.scaling_limiter):
                    sc = min(max(sc, float(ac.min_sc_blu)), float(ac.max_sc_blu))
                if abs(sc - 1.0) > float(ac.aerosol_type_ratio_th):
                    result.blue_scale = sc
        else:
            result.ddv_mask = None
            cams = self._cams_field()
            if cams is not None:
                result.method = METHOD_CAMS
                result.field_sl = cams
            else:
                result.method = METHOD_DEFAULT
                result.field_sl = self._field_for_visibility(start_vis)
        self.negative_check(evaluator, result)
        if ddv is None:
            self.dbv_fallback(evaluator, result)
        if int(cfg.vis_update_mode) == 0:
            land = self.valid & (self.s.scl != self.water_code)
            sel = land if land.any() else self.valid
            mean_sl = float(result.field_sl[sel].mean()) if sel.any() else float(result.field_sl.mean())
            result.field_sl = np.full(self.s.shape, mean_sl)
            result.constant = True
        result.final_visibility_km = self._scene_visibility(result.field_sl)
        return result, chosen

    def _cams_field(self) -> Optional[np.ndarray]:
        """Sea-level-equivalent AOT field from CAMS AOD550 (scalar or a 2-D array on any grid
        covering the tile, resized to the sample grid), quadratic a(z), b(z) of §6.3."""
        if self.cams is None:
            return None
        cams = np.asarray(self.cams, dtype=np.float64)
        if cams.ndim == 0:
            if not np.isfinite(cams) or cams <= 0:
                return None
            z = self._z_mean()
            v = vis.aot550_to_visibility(float(cams), z, "quadratic")
            return self._field_for_visibility(float(v))
        if not np.isfinite(cams).any():
            return None
        cams = np.where(np.isfinite(cams), cams, np.nanmean(cams))
        zoom = (self.s.shape[0] / cams.shape[0], self.s.shape[1] / cams.shape[1])
        grid = ndimage.zoom(cams, zoom, order=1, mode="nearest", grid_mode=True)[:self.s.shape[0], :self.s.shape[1]]
        if grid.shape != self.s.shape:
            grid = np.pad(grid, ((0, self.s.shape[0] - grid.shape[0]), (0, self.s.shape[1] - grid.shape[1])),
                          mode="edge")
        z = self.s.z if np.ndim(self.s.z) else np.full(self.s.shape, float(self.s.z))
        z = np.nan_to_num(np.asarray(z, dtype=np.float64), nan=self._z_mean())
        v = vis.aot550_to_visibility(np.maximum(grid, 1e-4), z, "quadratic")
        return np.asarray(vis.visibility_to_aot550(v, 0.0), dtype=np.float64)
