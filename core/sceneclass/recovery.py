"""Recoveries (reference §5.5, step 12), run in the listed order after the cloud shadows.

Per-pixel recoveries work on strips (`Bands` of the strip and the strip's class map, in place).
The land-pixel and cirrus recoveries need tile-wide statistics: `MomentSum` accumulates them
strip by strip, and the thresholds are derived once the whole tile has been seen. Recoveries
that need auxiliary data (DEM -> `terrain.Terrain`, ESA CCI water bodies / land cover) are run
by the caller only when those inputs are given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np
from scipy import ndimage

from .bands import Bands
from .codes import NOT_CLASSIFIED, ClassCodes
from .morphology import SQUARE, label_objects
from .ramps import normalized_difference, ratio
from .terrain import Terrain

# §5.5 water recovery (hard-coded): not-classified pixels also need B8A < 0.3.
WATER_RECOVERY_B8A_MAX = np.float32(0.3)
# §5.5 DEM recoveries (hard-coded): hillshade and slope limits.
DEM_WATER_HILLSHADE_MAX = 128
DEM_WATER_SLOPE_MIN_DEG = np.float32(15.0)
DEM_SHADOW_HILLSHADE_MAX = 32
TOPO_HILLSHADE_MAX = 128
TOPO_B02_MIN = np.float32(0.20)
TOPO_B02_MINUS_B04 = np.float32(0.034)
# §5.5 snow recovery (hard-coded): the snow mask is dilated by a diamond of radius 3.
SNOW_RECOVERY_RADIUS = 3
# §5.5 soil recovery (hard-coded): B02/B11 < 0.65 on dark features.
SOIL_RECOVERY_RATIO = np.float32(0.65)
# §2.2 / §5.5 ESA CCI codes.
CCI_WB_WATER = 2
CCI_LC_URBAN = (190,)
CCI_LC_BARE = (200, 201, 202)
CCI_LC_WATER = 210
# §5.5 land-pixel recovery (hard-coded): minimum land share and area, HPC share limits, B10 floor,
# minimum HPC blob size (300 m side).
LAND_MIN_SHARE = 0.05
LAND_MIN_AREA_KM2 = 121.0
HPC_HIGH_SHARE = 0.20
HPC_LOW_SHARE = 0.02
LAND_B10_FLOOR = 0.0015
HPC_BLOB_SIDE_M = 300.0
# §5.5 cirrus recovery (hard-coded): k-sigma factors and floors of the B10 thresholds.
CIRRUS_LAND_K, CIRRUS_LAND_FLOOR = 3.0, 0.0030
CIRRUS_WATER_K, CIRRUS_WATER_FLOOR = 1.0, 0.0020
CIRRUS_RECOVERY_DEM_MAX_M = np.float32(1500.0)
# §5.5 urban/bare recovery (hard-coded): a blob is recovered when at most 35 % of its ring is cloudy.
URBAN_RING_CLOUDY_MAX = 0.35
# Connectivity of the urban/bare blobs: Sen2Cor 2.8 labels them with scipy's default structure
# (4-connectivity, classic mode); the evolution mode uses 8 (urban_bare_recovery).
URBAN_BLOB_CONNECTIVITY_CLASSIC = 4
URBAN_BLOB_CONNECTIVITY_EVOLUTION = 8


def _unc(cls: np.ndarray) -> np.ndarray:
    return cls == NOT_CLASSIFIED


def dark_vegetation_recovery(b: Bands, cls: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """Classes 2 and not-classified: NDVI > T2_NDVI -> 4; then B8A/B03 > T2_R_B8A_B03 -> 4."""
    cand = (cls == codes.DARK_FEATURES) | _unc(cls)
    cls[cand & (normalized_difference(b.b8a, b.b04) > np.float32(th.T2_NDVI))] = codes.VEGETATION
    cand = (cls == codes.DARK_FEATURES) | _unc(cls)
    cls[cand & (ratio(b.b8a, b.b03) > np.float32(th.T2_R_B8A_B03))] = codes.VEGETATION


def water_recovery(b: Bands, cls: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """B02/B11 > T22_R_B02_B11 and B8A < B04: class 2 -> 6; not classified with B8A < 0.3 -> 6."""
    base = (ratio(b.b02, b.b11) > np.float32(th.T22_R_B02_B11)) & (b.b8a < b.b04)
    hit = base & ((cls == codes.DARK_FEATURES) | (_unc(cls) & (b.b8a < WATER_RECOVERY_B8A_MAX)))
    cls[hit] = codes.WATER


def cci_water_recovery(cls: np.ndarray, cci_water: np.ndarray, codes: ClassCodes,
                       keep: Optional[np.ndarray] = None) -> None:
    """CCI water bodies = 2 on classes 2, 3, not-classified and 7 -> 6; pixels in `keep` are left
    (evolution: the shadows that the cover-specific test found against the open water)."""
    cand = np.isin(cls, (codes.DARK_FEATURES, codes.CLOUD_SHADOWS, codes.UNCLASSIFIED, NOT_CLASSIFIED))
    if keep is not None:
        cand &= ~keep
    cls[cand & (cci_water == CCI_WB_WATER)] = codes.WATER


def dem_water_cleaning(cls: np.ndarray, terrain: Terrain, codes: ClassCodes) -> None:
    """Hillshade < 128 and slope > 15 deg on WATER -> DARK_FEATURES."""
    hit = ((cls == codes.WATER) & (terrain.hillshade < DEM_WATER_HILLSHADE_MAX)
           & (terrain.slope > DEM_WATER_SLOPE_MIN_DEG))
    cls[hit] = codes.DARK_FEATURES


def dem_shadow_cleaning(cls: np.ndarray, terrain: Terrain, codes: ClassCodes) -> None:
    """0 < hillshade < 32 on CLOUD_SHADOWS -> DARK_FEATURES."""
    hit = ((cls == codes.CLOUD_SHADOWS) & (terrain.hillshade > 0)
           & (terrain.hillshade < DEM_SHADOW_HILLSHADE_MAX))
    cls[hit] = codes.DARK_FEATURES


def snow_shadow_signature(b: Bands) -> np.ndarray:
    """Sen2Cor's radiometry of shadowed snow (§5.5): B02 - B04 > 0.034, B8A < B04, B02 > 0.20
    (also the evolution mode's cloud-shadow-on-snow candidates, shadow.py)."""
    return ((b.b02 - b.b04) > TOPO_B02_MINUS_B04) & (b.b8a < b.b04) & (b.b02 > TOPO_B02_MIN)


def topographic_shadow_recovery(b: Bands, cls: np.ndarray, terrain: Terrain,
                                cci_water: np.ndarray, codes: ClassCodes) -> None:
    """Hillshade < 128, CCI water != 2 and the shadowed-snow signature on not-classified, 7 and
    8 -> DARK_FEATURES."""
    cand = np.isin(cls, (NOT_CLASSIFIED, codes.UNCLASSIFIED, codes.MEDIUM_PROBA_CLOUDS))
    hit = (cand & (terrain.hillshade < TOPO_HILLSHADE_MAX) & (cci_water != CCI_WB_WATER)
           & snow_shadow_signature(b))
    cls[hit] = codes.DARK_FEATURES


def terrain_shadow_cleaning(cls: np.ndarray, terrain: Terrain, codes: ClassCodes) -> None:
    """Evolution mode (this project's design of the 2.10 "better topographic/cast shadow
    handling"): in the terrain's own or cast shadow, CLOUD_SHADOWS are topographic shadows ->
    DARK_FEATURES, and WATER on slopes > 15 deg is a shadowed slope -> DARK_FEATURES."""
    if terrain.cast_shadow is None:
        return
    shaded = terrain.cast_shadow
    cls[shaded & (cls == codes.CLOUD_SHADOWS)] = codes.DARK_FEATURES
    cls[shaded & (cls == codes.WATER) & (terrain.slope > DEM_WATER_SLOPE_MIN_DEG)] = codes.DARK_FEATURES


def snow_recovery(b: Bands, cls: np.ndarray, snow_dilated: np.ndarray, codes: ClassCodes) -> None:
    """Dilated snow mask (diamond radius 3, computed on the tile by the caller) and B11 < B03 on
    not-classified -> SNOW_ICE."""
    cls[_unc(cls) & snow_dilated & (b.b11 < b.b03)] = codes.SNOW_ICE


def soil_recovery(b: Bands, cls: np.ndarray, codes: ClassCodes) -> None:
    """B02/B11 < 0.65 on DARK_FEATURES -> NOT_VEGETATED."""
    cls[(cls == codes.DARK_FEATURES) & (ratio(b.b02, b.b11) < SOIL_RECOVERY_RATIO)] = codes.NOT_VEGETATED


# ----------------------------------------------------------------------- tile-wide statistics
@dataclass
class MomentSum:
    """Count, sum and sum of squares (float64 scalars) of values seen strip by strip."""

    n: int = 0
    s: float = 0.0
    ss: float = 0.0

    def add(self, values: np.ndarray) -> None:
        v = values.astype(np.float64, copy=False)
        self.n += int(v.size)
        self.s += float(v.sum())
        self.ss += float(np.dot(v, v))

    @property
    def mean(self) -> float:
        return self.s / self.n if self.n else float("nan")

    @property
    def std(self) -> float:
        if not self.n:
            return float("nan")
        return math.sqrt(max(0.0, self.ss / self.n - self.mean ** 2))


@dataclass
class LandStatistics:
    """What the land-pixel recovery needs, accumulated over the tile."""

    valid: int = 0
    land: int = 0
    hpc: int = 0
    land_b10: MomentSum = field(default_factory=MomentSum)
    land_ratio: MomentSum = field(default_factory=MomentSum)     # B09/B8A
    hpc_b10: MomentSum = field(default_factory=MomentSum)        # all HPC pixels
    hpc_blob_b10: MomentSum = field(default_factory=MomentSum)   # HPC blobs >= (300 m)^2

    def add(self, b: Bands, cls: np.ndarray, codes: ClassCodes,
            big_hpc: Optional[np.ndarray] = None) -> None:
        valid = cls != codes.NO_DATA
        land = (cls == codes.VEGETATION) | (cls == codes.NOT_VEGETATED)
        hpc = cls == codes.HIGH_PROBA_CLOUDS
        self.valid += int(valid.sum())
        self.land += int(land.sum())
        self.hpc += int(hpc.sum())
        self.land_b10.add(b.b10[land])
        self.land_ratio.add(ratio(b.b09, b.b8a)[land])
        self.hpc_b10.add(b.b10[hpc])
        if big_hpc is not None:
            self.hpc_blob_b10.add(b.b10[hpc & big_hpc])


@dataclass(frozen=True)
class LandThresholds:
    run: bool
    b10: float = float("nan")
    ratio: float = float("nan")
    reason: str = ""


def land_thresholds(stats: LandStatistics, resolution: float, classic: bool) -> LandThresholds:
    """Reference §5.5 land-pixel recovery thresholds.

    The 2 % <= HPC <= 20 % branch evaluates to exactly 0.0015 in Sen2Cor 2.8 (reference §5.5,
    §9.11: an apparent bug); the classic mode keeps that value, the evolution mode computes the
    intended threshold on the HPC blobs larger than (300 m)^2.
    """
    land_area_km2 = stats.land * (resolution / 1000.0) ** 2
    if stats.valid == 0 or stats.land < LAND_MIN_SHARE * stats.valid or land_area_km2 < LAND_MIN_AREA_KM2:
        return LandThresholds(False, reason="land below 5 % of valid pixels or below 121 km2")
    mean_land = stats.land_b10.mean
    share = stats.hpc / stats.valid

    def from_hpc(m: MomentSum) -> float:
        if m.n == 0:
            return mean_land
        return min(mean_land, max(LAND_B10_FLOOR, min(mean_land, m.mean - 2.0 * m.std)))

    if share > HPC_HIGH_SHARE:
        t_b10 = from_hpc(stats.hpc_b10)
    elif share < HPC_LOW_SHARE:
        t_b10 = mean_land
    else:
        t_b10 = LAND_B10_FLOOR if classic else from_hpc(stats.hpc_blob_b10)
    t_ratio = stats.land_ratio.mean + stats.land_ratio.std
    return LandThresholds(True, float(t_b10), float(t_ratio))


def big_hpc_blobs(cls: np.ndarray, codes: ClassCodes, resolution: float) -> np.ndarray:
    """HPC pixels in 8-connected blobs of at least (300 m / res)^2 pixels (whole tile)."""
    labels, count = label_objects(cls == codes.HIGH_PROBA_CLOUDS)
    if count == 0:
        return np.zeros(cls.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    keep = sizes >= (HPC_BLOB_SIDE_M / resolution) ** 2
    keep[0] = False
    return keep[labels]


def land_recovery(b: Bands, cls: np.ndarray, cci_landcover: np.ndarray, t: LandThresholds,
                  codes: ClassCodes) -> None:
    """Classes 8 and 9 with CCI land cover != 210, B10 < T_B10 and B09/B8A < ratio -> 5."""
    if not t.run:
        return
    cand = (cls == codes.MEDIUM_PROBA_CLOUDS) | (cls == codes.HIGH_PROBA_CLOUDS)
    hit = (cand & (cci_landcover != CCI_LC_WATER) & (b.b10 < np.float32(t.b10))
           & (ratio(b.b09, b.b8a) < np.float32(t.ratio)))
    cls[hit] = codes.NOT_VEGETATED


@dataclass
class CirrusStatistics:
    soil_b10: MomentSum = field(default_factory=MomentSum)
    water_b10: MomentSum = field(default_factory=MomentSum)

    def add(self, b: Bands, cls: np.ndarray, codes: ClassCodes) -> None:
        self.soil_b10.add(b.b10[cls == codes.NOT_VEGETATED])
        self.water_b10.add(b.b10[cls == codes.WATER])

    def thresholds(self) -> Tuple[float, float]:
        """(land, water) B10 thresholds; NaN when the class is absent (no recovery there)."""
        land = (max(self.soil_b10.mean + CIRRUS_LAND_K * self.soil_b10.std, CIRRUS_LAND_FLOOR)
                if self.soil_b10.n else float("nan"))
        water = (max(self.water_b10.mean + CIRRUS_WATER_K * self.water_b10.std, CIRRUS_WATER_FLOOR)
                 if self.water_b10.n else float("nan"))
        return land, water


def cirrus_recovery(b: Bands, cls: np.ndarray, thresholds: Tuple[float, float], codes: ClassCodes,
                    dem: Optional[np.ndarray] = None) -> None:
    """Land (4, 5) above the land threshold and water (6) above the water threshold -> 10."""
    land_t, water_t = thresholds
    land = (cls == codes.VEGETATION) | (cls == codes.NOT_VEGETATED)
    hit = np.zeros(cls.shape, dtype=bool)
    if not math.isnan(land_t):
        hit |= land & (b.b10 > np.float32(land_t))
    if not math.isnan(water_t):
        hit |= (cls == codes.WATER) & (b.b10 > np.float32(water_t))
    if dem is not None:
        hit &= dem < CIRRUS_RECOVERY_DEM_MAX_M
    cls[hit] = codes.THIN_CIRRUS


def urban_bare_recovery(cls: np.ndarray, cci_landcover: np.ndarray, codes: ClassCodes,
                        evolution: bool = False,
                        keep: Optional[np.ndarray] = None) -> Dict[str, int]:
    """Whole tile. For CCI urban (190) and then bare areas (200-202): not-classified -> 5; blobs
    of classes 7/8 on those areas whose one-pixel outer ring is at most 35 % cloudy (3, 7, 8, 9,
    10) -> 5.

    Classic mode, as Sen2Cor 2.8 does it: blobs are 4-connected (scipy's default labelling); the
    ring is every pixel outside the blobs that touches one (3 x 3 neighbourhood), NO_DATA
    included (counted as not cloudy); a ring pixel touching two blobs is counted for the one
    with the larger label.

    Evolution mode (this project's design), two changes for built-up areas:
    * DARK_FEATURES on CCI urban also -> 5, except where `keep` is set (the terrain's cast
      shadow, when a DEM is given). At 20 m, asphalt, concrete and roof shadows mix into dark
      pixels (B04 < 0.1 and 0.04 < B8A < 0.15: the step-1 dark features) whose B02/B11 (about
      0.8) is above the soil recovery's 0.65, so the classic rules leave a share of every town's
      street pixels in class 2. The evolution mode keeps class 2 for topographic (cast) shadows
      (recovery.terrain_shadow_cleaning), so a dark pixel on the CCI urban map outside the
      terrain's shadow is a built-up surface, i.e. NOT_VEGETATED.
    * 8-connected blobs. Streets run at any angle: at 20 m an oblique street is a diagonal
      staircase, which 4-connectivity cuts into single pixels. The ring test judges what
      surrounds a blob (a cloud is surrounded by cloud edges, a street network by roofs); on
      single-pixel fragments next to the coarse (300 m) CCI border it mostly sees the street
      pixels just outside the CCI cell (UNCLASSIFIED, counted cloudy) and keeps them.
    """
    cloudy_classes = (codes.CLOUD_SHADOWS, codes.UNCLASSIFIED, codes.MEDIUM_PROBA_CLOUDS,
                      codes.HIGH_PROBA_CLOUDS, codes.THIN_CIRRUS)
    done: Dict[str, int] = {}
    for name, values in (("urban", CCI_LC_URBAN), ("bare", CCI_LC_BARE)):
        area = np.isin(cci_landcover, values)
        if not area.any():
            done[name] = 0
            continue
        take = _unc(cls)
        if evolution and name == "urban":
            dark = cls == codes.DARK_FEATURES
            if keep is not None:
                dark &= ~keep
            take |= dark
        cls[area & take] = codes.NOT_VEGETATED
        connectivity = URBAN_BLOB_CONNECTIVITY_EVOLUTION if evolution else URBAN_BLOB_CONNECTIVITY_CLASSIC
        blobs, count = label_objects(area & ((cls == codes.UNCLASSIFIED) | (cls == codes.MEDIUM_PROBA_CLOUDS)),
                                     connectivity=connectivity)
        if count == 0:
            done[name] = 0
            continue
        neighbour = ndimage.grey_dilation(blobs, footprint=SQUARE)
        ring = (blobs == 0) & (neighbour > 0)
        ring_labels = neighbour[ring]
        total = np.bincount(ring_labels, minlength=count + 1)
        cloudy = np.bincount(ring_labels, weights=np.isin(cls[ring], cloudy_classes), minlength=count + 1)
        ok = (total > 0) & (cloudy <= URBAN_RING_CLOUDY_MAX * total)
        ok[0] = False
        recovered = ok[blobs]
        cls[recovered] = codes.NOT_VEGETATED
        done[name] = int(ok.sum())
    return done
