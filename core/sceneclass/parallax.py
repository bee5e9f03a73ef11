"""MSI inter-band parallax test (evolution mode): is a bright object at the ground or aloft?

Physics
-------
The MSI is a push-broom imager whose spectral bands are separate detector stripes on the focal
planes, side by side along track. A ground point is therefore seen by different bands at slightly
different times (inter-band lags of the order of a second, up to a few seconds) and along
slightly different lines of sight: with a ground-track speed v of about 6.7 km/s at an orbit
height H of 786 km, a lag dt makes the along-track viewing angles differ by
d_theta ~ v dt / H ~ 8.5e-3 rad per second of lag (order of magnitude; the exact lags per band
pair are instrument data not used here). The L1C orthorectification removes that
difference exactly for points on the DEM surface, so static ground is co-registered in every band
to a fraction of a pixel. A point at height h above the surface is not: between the two bands it
appears displaced along track by about

    shift = h * d_theta (+ the cloud's own motion during the time lag, wind x dt)

i.e. from about one to several 20 m pixels for clouds at 1-10 km. The sign of d_theta alternates
between the odd and even detector modules (they are staggered and look forward / backward along
track), and the track direction is tilted in the UTM grid, so the direction of the displacement is
not fixed in the image: the test searches all 2-D shifts within a radius. Bright static ground
(roofs, sand, salt, bright soils) that the spectral tests confuse with clouds shows no
displacement; real clouds do (except very low ones: a cloud at 300-500 m moves by less than half a
pixel, which is below what the test can resolve; see `ParallaxSettings.b10_veto`).

Test (per object)
-----------------
1. Objects are the 8-connected components of the candidate classes (opaque clouds 8/9; snow 11).
2. Two bands are compared (default B02 - blue, VNIR focal plane - against B8A). Their gradient
   magnitudes (Sobel) are used instead of the reflectances: an object may be brighter than its
   surroundings in one band and darker in the other (e.g. bright soil against vegetation in B8A),
   but its edges are where they are in both bands.
3. Over the object and a margin of `edge_margin_px` around it (where its edges are), the
   normalised cross-correlation NCC(s) between the gradient of band A and the gradient of band B
   shifted by s is computed for every integer shift |s| <= R (R = `search_m` / resolution), and
   the peak is refined to sub-pixel precision with a parabola in each axis.
4. Verdict:
   * static: the peak is at |s| <= `static_max_shift_px`, NCC(0) >= `static_min_corr`, and the
     correlation is sharp enough to have seen a one-pixel displacement (NCC(0) minus the mean NCC
     of the four unit shifts >= `min_sharpness`);
   * displaced: the peak is at |s| >= `displaced_min_shift_px`, NCC(peak) >= `displaced_min_corr`
     and NCC(peak) - NCC(0) >= `displaced_min_gain`;
   * otherwise inconclusive (objects too small, featureless, or bands that disagree): no change.
5. Actions: a static cloud object is bright ground -> NOT_VEGETATED, cloud probability 0, unless
   its mean B10 is at least T1_B10: B10 (1375 nm) is absorbed by the water vapour of the lower
   troposphere and sees only what rises above most of it, so such an object is aloft whatever its
   measured parallax (its own motion may cancel the parallax, or its height may be below the
   resolution of the test). A displaced snow object is a cloud (ice clouds have a snow-like
   NDSI) -> MEDIUM_PROBA_CLOUDS, P raised to T_CLOUD_MP, snow probability 0. A displaced cloud is
   confirmed (no change); inconclusive objects are left as they are.

Limits: fog and low stratus (below about 1 km at 20 m) with sharp edges and no B10 signal look
static and can be rejected; the thresholds of `ParallaxSettings` are this project's design values
(tuned on synthetic scenes, to be checked on real data).

Cost: one pass over each object's window per shift (the ~pi R^2 shifts of the disk, R = 5 px at
20 m); large objects are subsampled to `max_samples` pixels. Objects are read through the band
source, so the test runs on a tiled tile with only the class map in memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import numpy as np
from scipy import ndimage

from .bands import BandSource
from .codes import ClassCodes
from .morphology import SQUARE, disk
from .shadow import PROJECTION_CLOUD_P

STATIC, DISPLACED, INCONCLUSIVE = "static", "displaced", "inconclusive"


@dataclass(frozen=True)
class ParallaxSettings:
    """Parameters of the parallax test (project design values, not Sen2Cor GIPP entries)."""

    bands: Tuple[str, str] = ("B02", "B8A")
    search_m: float = 100.0            # search radius (5 px at 20 m, 2 px at 60 m)
    min_search_px: int = 2
    edge_margin_px: int = 2
    min_object_px: int = 6
    static_max_shift_px: float = 0.35
    static_min_corr: float = 0.80
    min_sharpness: float = 0.05
    displaced_min_shift_px: float = 0.75
    displaced_min_corr: float = 0.50
    displaced_min_gain: float = 0.05
    min_gradient: float = 1e-3         # mean gradient magnitude (reflectance / px) to be usable
    max_samples: int = 200_000
    b10_veto: bool = True
    test_snow: bool = True

    def radius_px(self, resolution: float) -> int:
        return max(self.min_search_px, int(round(self.search_m / resolution)))


@dataclass(frozen=True)
class ObjectVerdict:
    label: int
    kind: str                  # 'cloud' or 'snow'
    pixels: int
    bbox: Tuple[int, int, int, int]    # row0, row1, col0, col1
    shift: Tuple[float, float]         # (drow, dcol) of B relative to A, pixels
    corr_zero: float
    corr_peak: float
    sharpness: float
    verdict: str
    b10_mean: float = float("nan")
    action: str = "none"


@dataclass
class ParallaxReport:
    objects: List[ObjectVerdict] = field(default_factory=list)

    def count(self, verdict: Optional[str] = None, action: Optional[str] = None) -> int:
        return sum(1 for o in self.objects
                   if (verdict is None or o.verdict == verdict) and (action is None or o.action == action))


def _gradient(a: np.ndarray) -> np.ndarray:
    gx = ndimage.sobel(a, axis=1, mode="nearest")
    gy = ndimage.sobel(a, axis=0, mode="nearest")
    return np.hypot(gx, gy).astype(np.float32) / np.float32(8.0)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    return float(np.dot(a, b)) / den if den > 0 else 0.0


def _subpixel(c_minus: float, c0: float, c_plus: float) -> float:
    den = c_minus - 2.0 * c0 + c_plus
    if den >= 0:            # not a maximum
        return 0.0
    return float(np.clip(0.5 * (c_minus - c_plus) / den, -0.5, 0.5))


def measure_shift(grad_a: np.ndarray, grad_b: np.ndarray, region: np.ndarray, radius: int,
                  max_samples: int = 200_000):
    """NCC surface of grad_b shifted against grad_a over `region` (pixels at least `radius` from
    the window border). Returns (surface (2R+1)^2 with NaN outside the disk, sub-pixel peak
    (drow, dcol), NCC(0), NCC(peak), sharpness)."""
    rows, cols = np.nonzero(region)
    if rows.size > max_samples:
        step = int(math.ceil(rows.size / max_samples))
        rows, cols = rows[::step], cols[::step]
    a = grad_a[rows, cols].astype(np.float64)
    size = 2 * radius + 1
    surface = np.full((size, size), np.nan)
    inside = disk(radius)
    for i in range(size):
        for j in range(size):
            if inside[i, j]:
                surface[i, j] = _ncc(a, grad_b[rows + i - radius, cols + j - radius].astype(np.float64))
    c0 = surface[radius, radius]
    pi, pj = np.unravel_index(np.nanargmax(surface), surface.shape)
    peak = surface[pi, pj]

    def neighbour(i, j):
        if 0 <= i < size and 0 <= j < size and not np.isnan(surface[i, j]):
            return surface[i, j]
        return None

    di = dj = 0.0
    up, down = neighbour(pi - 1, pj), neighbour(pi + 1, pj)
    left, right = neighbour(pi, pj - 1), neighbour(pi, pj + 1)
    if up is not None and down is not None:
        di = _subpixel(up, peak, down)
    if left is not None and right is not None:
        dj = _subpixel(left, peak, right)
    shift = (pi - radius + di, pj - radius + dj)
    unit = [surface[radius + a_, radius + b_] for a_, b_ in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    sharp = c0 - float(np.mean(unit))
    return surface, shift, float(c0), float(peak), float(sharp)


def judge(shift: Tuple[float, float], c0: float, peak: float, sharpness: float,
          settings: ParallaxSettings) -> str:
    mag = math.hypot(*shift)
    if (mag <= settings.static_max_shift_px and c0 >= settings.static_min_corr
            and sharpness >= settings.min_sharpness):
        return STATIC
    if (mag >= settings.displaced_min_shift_px and peak >= settings.displaced_min_corr
            and peak - c0 >= settings.displaced_min_gain):
        return DISPLACED
    return INCONCLUSIVE


def parallax_test(source: BandSource, cls: np.ndarray, p: np.ndarray, s: np.ndarray, th: Any,
                  codes: ClassCodes, resolution: float,
                  settings: ParallaxSettings = ParallaxSettings(),
                  cloud_indicator: Optional[np.ndarray] = None) -> ParallaxReport:
    """Run the test on the whole class map (in place on cls and on the cloud and snow
    probabilities p, s: float 0..1, or uint8 percent); band windows are read from `source`
    object by object. `cloud_indicator` (P > 0.33, for the shadow projection) is kept in step."""
    percent = np.issubdtype(p.dtype, np.integer)
    p_mp = np.float32(th.T_CLOUD_MP)
    p_mp_value = np.uint8(np.floor(float(p_mp) * 100.0 + 0.5)) if percent else p_mp
    report = ParallaxReport()
    band_a, band_b = settings.bands
    if not (source.has(band_a) and source.has(band_b)):
        return report
    radius = settings.radius_px(resolution)
    pad = radius + settings.edge_margin_px + 2
    nrows, ncols = cls.shape
    kinds = [("cloud", (cls == codes.MEDIUM_PROBA_CLOUDS) | (cls == codes.HIGH_PROBA_CLOUDS))]
    if settings.test_snow:
        kinds.append(("snow", cls == codes.SNOW_ICE))
    margin = disk(settings.edge_margin_px)
    for kind, mask in kinds:
        labels, count = ndimage.label(mask, structure=SQUARE)
        if count == 0:
            continue
        for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            r0, r1 = max(0, sl[0].start - pad), min(nrows, sl[0].stop + pad)
            c0_, c1 = max(0, sl[1].start - pad), min(ncols, sl[1].stop + pad)
            obj = labels[r0:r1, c0_:c1] == idx
            npx = int(obj.sum())
            bbox = (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
            if npx < settings.min_object_px:
                continue
            a = source.read(band_a, r0, r1, c0_, c1)
            b = source.read(band_b, r0, r1, c0_, c1)
            ga, gb = _gradient(a), _gradient(b)
            region = ndimage.binary_dilation(obj, structure=margin)
            # keep only pixels whose shifted partner stays inside the window
            border = np.zeros_like(region)
            border[radius:-radius or None, radius:-radius or None] = True
            region &= border
            if region.sum() < settings.min_object_px or min(ga[region].mean(), gb[region].mean()) < settings.min_gradient:
                report.objects.append(ObjectVerdict(idx, kind, npx, bbox, (0.0, 0.0), float("nan"),
                                                    float("nan"), float("nan"), INCONCLUSIVE))
                continue
            _, shift, c0, peak, sharp = measure_shift(ga, gb, region, radius, settings.max_samples)
            verdict = judge(shift, c0, peak, sharp, settings)
            b10_mean = float("nan")
            action = "none"
            view = (slice(r0, r1), slice(c0_, c1))
            if kind == "cloud" and verdict == STATIC:
                vetoed = False
                if settings.b10_veto and source.has("B10"):
                    b10_mean = float(source.read("B10", r0, r1, c0_, c1)[obj].mean())
                    vetoed = b10_mean >= float(th.T1_B10)
                if vetoed:
                    action = "kept (B10 veto)"
                else:
                    cls[view][obj] = codes.NOT_VEGETATED
                    p[view][obj] = 0
                    if cloud_indicator is not None:
                        cloud_indicator[view][obj] = False
                    action = "rejected cloud"
            elif kind == "cloud" and verdict == DISPLACED:
                action = "confirmed cloud"
            elif kind == "snow" and verdict == DISPLACED:
                cls[view][obj] = codes.MEDIUM_PROBA_CLOUDS
                pv = p[view]
                pv[obj] = np.maximum(pv[obj], p_mp_value)
                s[view][obj] = 0
                if cloud_indicator is not None and p_mp > PROJECTION_CLOUD_P:
                    cloud_indicator[view][obj] = True
                action = "snow to cloud"
            report.objects.append(ObjectVerdict(idx, kind, npx, bbox, (float(shift[0]), float(shift[1])),
                                                c0, peak, sharp, verdict, b10_mean, action))
    return report
