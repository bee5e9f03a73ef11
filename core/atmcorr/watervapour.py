"""Water vapour by APDA with B8A (window) and B09 (945 nm absorption) (reference §6.5).

Per pixel, with the look-up table at the pixel's AOT550, elevation and geometry:

    R = (rho_TOA,B09 - path_B09(u)) / (rho_TOA,B8A - path_B8A(u))          (measured ratio)
    R_LUT(u) = [T_g T_dn T_up]_B09(u) (1 - S_B8A rho) / ([T_g T_dn T_up]_B8A(u) (1 - S_B09 rho))

(the ratio of the two bands' transmitted signals for a surface of equal reflectance rho in both;
Sen2Cor fits R = a exp(-b u^c) to table ratios at albedo 0.3; here the table curve itself is
inverted, monotone in u, on nodes 0.05 ... 8 cm). Two iterations: the path terms and rho are
taken at the start value AC_Wv_Iter_Start_<season> first, then at the first estimate.

B09 is a 60 m band: on a finer grid its values are bilinear interpolations of 60 m pixels (§4.5),
while B8A keeps its 20 m detail. The ratio of the two would then carry the B8A texture, and
the convex R -> u relation turns that texture into a positive water-vapour bias (about +5 % over
textured urban and crop land in the closed-loop tests). So B8A is first brought to B09's spatial
response - 60 m block mean, then the same bilinear upsampling (`match_b09_response`) - as the
ratio of two bands must compare the same ground. (Sen2Cor uses the 20 m B8A as it is.)

Outliers (R <= 0, R > 1, a dark B8A signal) are invalid. Then (§6.5):
* fewer than 2 valid pixels -> 1.0 cm everywhere; no land pixel (SCL 4, 5, 11) -> 1.0 cm;
* WV_Watermask 1: pixels that are not vegetation, bare soil or snow get the land average;
  2: the average of the land pixels of the same row (the land average where a row has none);
  0: keep; invalid pixels and values < 0.01 cm get the land average;
* snow (`snow_as_water`, default; not in Sen2Cor): APDA's window assumption rho_945 = rho_865
  fails over snow and ice (ice absorption: rho_945 / rho_865 ~ 0.93), which reads as ~10 % more
  water vapour and biases the B09 reflectance by +0.05; with WV_Watermask > 0 snow pixels are
  therefore handled like water (land average of vegetation and bare soil, snow excluded from
  that average) - unless the scene has no vegetation or bare-soil retrieval, when snow counts as
  land as in Sen2Cor.
* Smooth_WV_Map > 0: 3 x 3 median filter; NO_DATA -> 0.
The map is kept as uint16 cm x 1000 (WVP_QUANTIFICATION_VALUE 1000): quantised to 0.001 cm.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np

from .evaluate import TermsEvaluator, combine, provider_range

F32 = np.float32
WV_NODES = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5,
                     3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0])
DEFAULT_WV_CM = 1.0
MIN_WV_CM = 0.01
SCALE = 1000.0
MIN_WINDOW_SIGNAL = 0.005


def wv_nodes(provider: Any) -> np.ndarray:
    lo, hi = provider_range(provider, "water_vapour", (WV_NODES[0], WV_NODES[-1]))
    nodes = WV_NODES[(WV_NODES >= lo - 1e-9) & (WV_NODES <= hi + 1e-9)]
    if nodes.size == 0 or nodes[0] > lo + 1e-9:
        nodes = np.concatenate([[lo], nodes])
    if nodes[-1] < hi - 1e-9:
        nodes = np.concatenate([nodes, [hi]])
    return nodes


def transmitted_ratio_curves(evaluator: TermsEvaluator, combos, nodes: np.ndarray):
    """(U, M) curves G_B09(u) / G_B8A(u), plus S of both bands at the nodes."""
    t9 = evaluator.terms("B09", _with_wv(combos, nodes))
    t8 = evaluator.terms("B8A", _with_wv(combos, nodes))
    g9 = np.asarray(t9.total_transmittance, dtype=np.float64)
    g8 = np.asarray(t8.total_transmittance, dtype=np.float64)
    return g9 / g8, np.asarray(t9.spherical_albedo), np.asarray(t8.spherical_albedo)


class _with_wv:
    """Combinations with the water vapour replaced by a row of nodes (broadcast (U, M))."""

    def __init__(self, combos, nodes):
        self.values = {k: (v[:, None] if k != "wv" else np.asarray(nodes)[None, :])
                       for k, v in combos.values.items()}
        self.inverse = combos.inverse


def invert_curves(curves: np.ndarray, inverse, ratio: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """u per pixel: where its combination's curve (decreasing in u) equals `ratio`; clamped to
    the node range; NaN where `ratio` is NaN."""
    if curves.shape[0] <= 16:                         # few curves: one np.interp per curve
        out = np.full(ratio.shape, np.nan, dtype=F32)
        for k in range(curves.shape[0]):
            sel = slice(None) if inverse is None else (inverse == k)
            c = curves[k]
            order = np.argsort(c)
            out[sel] = np.interp(ratio[sel], c[order], nodes[order]).astype(F32)
        return np.where(np.isfinite(ratio), out, np.nan).astype(F32)
    inv = np.zeros(ratio.shape, dtype=np.int32) if inverse is None else inverse
    m = curves.shape[1]
    count = np.zeros(ratio.shape, dtype=np.int16)          # nodes whose curve value > ratio
    for k in range(m):
        count += (curves[inv, k] > ratio)
    k0 = np.clip(count - 1, 0, m - 2)
    c0 = curves[inv, k0]
    c1 = curves[inv, k0 + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(c0 != c1, (c0 - ratio) / (c0 - c1), 0.0)
    w = np.clip(w, 0.0, 1.0)
    u = nodes[k0] + w * (nodes[k0 + 1] - nodes[k0])
    return np.where(np.isfinite(ratio), u, np.nan).astype(F32)


def retrieve_strip(evaluator: TermsEvaluator, b8a, b09, aot, z, sza, saa, valid, wv_start: float,
                   iterations: int = 2):
    """APDA water vapour (cm, float32, NaN where invalid) of a strip."""
    nodes = wv_nodes(evaluator.provider)
    u = F32(wv_start)
    shape = b8a.shape
    out = np.full(shape, np.nan, dtype=F32)
    if not valid.any():
        return out
    r8, r9 = b8a[valid], b09[valid]
    sel = lambda a: a[valid] if np.ndim(a) else a  # noqa: E731
    a_, z_, s_, sa_ = sel(aot), sel(z), sel(sza), sel(saa)
    n = r8.size
    # the ratio curve hardly depends on the aerosol (both bands see it alike): scene-strip mean AOT
    a_mean = float(np.mean(a_)) if np.ndim(a_) else float(a_)
    geo = combine((n,), a_mean, 0.0, z_, s_, sa_)
    curves, s9, s8 = transmitted_ratio_curves(evaluator, geo, nodes)
    for _ in range(max(1, iterations)):
        c = combine((n,), a_, u, z_, s_, sa_)
        t8 = evaluator.terms("B8A", c)
        t9 = evaluator.terms("B09", c)
        p8, p9 = c.gather(t8.path_reflectance), c.gather(t9.path_reflectance)
        sig8 = r8 - p8
        y8 = sig8 / c.gather(t8.total_transmittance)
        rho = y8 / (F32(1.0) + c.gather(t8.spherical_albedo) * y8)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (r9 - p9) / sig8
        bad = ~np.isfinite(ratio) | (ratio <= 0) | (ratio > 1) | (sig8 < MIN_WINDOW_SIGNAL)
        # the LUT curve of this pixel's rho: ratio * (1 - S9 rho) / (1 - S8 rho) = G9 / G8
        s9p = c.gather(t9.spherical_albedo)
        s8p = c.gather(t8.spherical_albedo)
        target = np.where(bad, np.nan, ratio * (F32(1.0) - s9p * rho) / (F32(1.0) - s8p * rho))
        u = invert_curves(curves, geo.inverse, target.astype(np.float64), nodes)
        u = np.where(np.isfinite(u), u, F32(wv_start)).astype(F32)
    out[valid] = np.where(bad, np.nan, u)
    return out


@dataclass
class WaterVapourStats:
    """Accumulated during the strip pass; decides the replacements afterwards."""

    land_sum: float = 0.0
    land_count: int = 0
    valid_count: int = 0
    row_sums: Optional[np.ndarray] = None
    row_counts: Optional[np.ndarray] = None
    messages: List[str] = field(default_factory=list)

    snow_sum: float = 0.0
    snow_count: int = 0
    snow_rows: Optional[np.ndarray] = None
    snow_row_counts: Optional[np.ndarray] = None

    def add(self, row0: int, wv: np.ndarray, land: np.ndarray, snow: Optional[np.ndarray] = None) -> None:
        ok = np.isfinite(wv) & (wv >= MIN_WV_CM)
        self.valid_count += int(ok.sum())
        sel = ok & land
        self.land_sum += float(wv[sel].sum(dtype=np.float64))
        self.land_count += int(sel.sum())
        rows = slice(row0, row0 + wv.shape[0])
        if self.row_sums is not None:
            self.row_sums[rows] += np.where(sel, wv, 0).sum(axis=1, dtype=np.float64)
            self.row_counts[rows] += sel.sum(axis=1)
        if snow is not None:
            sn = ok & snow
            self.snow_sum += float(wv[sn].sum(dtype=np.float64))
            self.snow_count += int(sn.sum())
            if self.row_sums is not None:
                if self.snow_rows is None:
                    self.snow_rows = np.zeros_like(self.row_sums)
                    self.snow_row_counts = np.zeros_like(self.row_counts)
                self.snow_rows[rows] += np.where(sn, wv, 0).sum(axis=1, dtype=np.float64)
                self.snow_row_counts[rows] += sn.sum(axis=1)

    @property
    def snow_is_land(self) -> bool:
        """Snow counts as land when there is no vegetation / bare-soil retrieval."""
        return self.land_count < 2 and self.snow_count >= 2

    @property
    def land_mean(self) -> float:
        if self.valid_count < 2:
            return DEFAULT_WV_CM
        if self.snow_is_land:
            return self.snow_sum / self.snow_count
        if self.land_count < 2:
            return DEFAULT_WV_CM
        return self.land_sum / self.land_count


def finalise_strip(wv: np.ndarray, land: np.ndarray, nodata: np.ndarray, mode: int,
                   stats: WaterVapourStats, row0: int, snow: Optional[np.ndarray] = None) -> np.ndarray:
    """WV_Watermask replacements of §6.5 (cm, float32; NO_DATA -> 0)."""
    mean = F32(stats.land_mean)
    if (stats.land_count < 2 and not stats.snow_is_land) or stats.valid_count < 2:
        out = np.full(wv.shape, mean, dtype=F32)
    else:
        if snow is not None and stats.snow_is_land:
            land = land | snow
        out = np.where(np.isfinite(wv) & (wv >= MIN_WV_CM), wv, mean).astype(F32)
        if int(mode) == 1:
            out = np.where(land, out, mean)
        elif int(mode) == 2 and stats.row_sums is not None:
            rows = slice(row0, row0 + wv.shape[0])
            rs, rc = stats.row_sums[rows], stats.row_counts[rows]
            if stats.snow_is_land and stats.snow_rows is not None:
                rs, rc = stats.snow_rows[rows], stats.snow_row_counts[rows]
            row_mean = np.where(rc > 0, rs / np.maximum(rc, 1), float(mean)).astype(F32)
            out = np.where(land, out, row_mean[:, None])
    out[nodata] = 0.0
    return out


def encode(wv_cm: np.ndarray) -> np.ndarray:
    """uint16 cm x 1000 (+0.5), 0 stays 0 (NO_DATA)."""
    return np.clip(np.floor(np.nan_to_num(wv_cm) * F32(SCALE) + F32(0.5)), 0, 65535).astype(np.uint16)


def decode(dn: np.ndarray) -> np.ndarray:
    return dn.astype(F32) / F32(SCALE)


def match_b09_response(b8a_with_halo: np.ndarray, factor: int) -> np.ndarray:
    """B8A with B09's spatial response on a grid `factor` times finer than B09's 60 m: mean over
    the factor x factor blocks of the 60 m grid, then bilinear pixel-centre upsampling (as
    core.raster.resample.upsample_spline does for B09). The input must start on a 60 m row and
    column boundary and should carry one 60 m pixel of halo on each side."""
    from ..raster.resample import upsample_spline
    f = int(factor)
    if f <= 1:
        return b8a_with_halo
    h, w = b8a_with_halo.shape
    ph, pw = (-h) % f, (-w) % f
    a = np.pad(b8a_with_halo, ((0, ph), (0, pw)), mode="edge") if (ph or pw) else b8a_with_halo
    coarse = a.reshape(a.shape[0] // f, f, a.shape[1] // f, f).mean(axis=(1, 3), dtype=np.float32)
    return upsample_spline(coarse, f, 1)[:h, :w]
