"""Scene classification of one tile at 20 m or 60 m: orchestration of the steps (reference §5).

    result = classify(toa, nodata, sun_zenith=..., sun_azimuth=..., resolution=20)
    result.scl, result.cloud_probability, result.snow_probability      # uint8 maps
    result.percentages()                                                # Image_Content_QI values

Modes:
* ``classic``: the Sen2Cor 2.8/2.9 algorithm as the reference describes it (§5.1-§5.5).
* ``evolution`` (default, Sen2Cor 2.10+ behaviour as designed here): the classic steps plus the
  MSI parallax test (parallax.py), the monthly snow climatology instead of the static snow
  condition (snow.py), terrain cast shadows with a DEM (terrain.py, recovery.py), the dilation
  of clouds and cloud shadows (dilation.py), a water exclusion of the shadow test that no
  longer discards shadowed vegetation, cover-specific shadow tests on water, built-up ground
  and snow against the scene's open water and snow (shadow.py), and, with the ESA CCI land
  cover, an urban recovery that also takes dark street pixels (recovery.py).

Memory: the tile is processed in full-width strips of `block_rows` rows with the halos the
neighbourhood steps need (4 rows for the snow ring and the 3 x 3 medians; the shadow projection
reads the cloud mask over the kernel's reach). Full-tile arrays kept at once: the class map and
the encoded cloud and snow probabilities (uint8), the radiometric shadow term (float16), a few
boolean masks and, in evolution mode, the uint8 candidates of the cover-specific shadow tests
(about 10 bytes per pixel, 300 MB for a 20 m tile); bands are only read strip by strip (or
object by object for the parallax test) through a `BandSource`.

Pass order (the reference's step order is kept; steps that need the whole tile split the passes):
  1. strips: steps 1-10c (brightness, NDSI, snow, vegetation, soils, water, rocks/sand, B04/B11,
     cloud classes, thin and thick cirrus) and the radiometric shadow term;
  2. evolution: parallax test on the cloud and snow objects;
  3. strips: cloud mask -> geometric shadow projection -> CLOUD_SHADOWS (step 11); evolution:
     medians of the open water and snow outside the projected zone, and the candidates of the
     cover-specific shadow tests (bands B02, B03, B04, B8A, B11 read once more);
  3b. evolution, strips holding candidates: cover-specific CLOUD_SHADOWS (step 11, shadow.py);
  4. strips: recoveries (step 12) in the reference order; land-pixel and cirrus recoveries after
     tile-wide statistics passes; urban/bare recoveries on the whole map;
  5. evolution: cloud and shadow dilation;
  6. post-processing (step 13): not classified -> UNCLASSIFIED, SATURATED_DEFECTIVE, median
     filter, probability encoding.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional

import numpy as np

from ..errors import CancelledError, Sen2CorError
from . import cirrus, classes, cloud, recovery, shadow, snow
from .bands import REQUIRED_BANDS, ArraySource, Bands, BandSource, canonical_band
from .codes import NOT_CLASSIFIED, ClassCodes
from .dilation import dilate_clouds_and_shadows
from .morphology import dilate_diamond
from .parallax import ParallaxReport, ParallaxSettings, parallax_test
from .percentages import class_percentages
from .resample import median_filter_scl, probability_20_to_60, scl_20_to_10, scl_20_to_60
from .terrain import Terrain, terrain_layers

log = logging.getLogger(__name__)

MODES = ("evolution", "classic")
# §4.3 (hard-coded in Sen2Cor): the sun zenith angle is clipped to 0..70 degrees.
MAX_SUN_ZENITH = 70.0
# Rows of halo for the per-pixel pass: snow ring (3) + 3 x 3 median (1).
SPECTRAL_HALO = 4
# Rows of halo for the projection cloud mask: 3 x 3 median (1) + cross dilation (1).
CLOUD_MASK_HALO = 2
DEFAULT_BLOCK_ROWS = 512
# Bands the per-pixel recoveries and the land statistics read (§5.5).
RECOVERY_BANDS = ("B02", "B03", "B04", "B8A", "B09", "B10", "B11")

ProgressFn = Callable[[float, str], None]


class SceneClassificationError(Sen2CorError):
    """Invalid inputs to the scene classification."""


@dataclass
class SceneClassification:
    """Result of `classify`: SCL and probability maps (uint8) and what was run."""

    scl: np.ndarray
    cloud_probability: np.ndarray      # MSK_CLDPRB, percent
    snow_probability: np.ndarray       # MSK_SNWPRB, percent
    resolution: float
    mode: str
    codes: ClassCodes = field(default_factory=ClassCodes)
    parallax: Optional[ParallaxReport] = None
    info: Dict[str, Any] = field(default_factory=dict)

    def percentages(self, esacci_water: Optional[np.ndarray] = None) -> Dict[str, float]:
        """Image_Content_QI percentages (reference §5.7)."""
        return class_percentages(self.scl, self.codes, esacci_water)

    def scl_10m(self) -> np.ndarray:
        """10 m SCL by nearest-neighbour upsampling (20 m runs only)."""
        if self.resolution != 20:
            raise SceneClassificationError("the 10 m SCL is derived from a 20 m classification")
        return scl_20_to_10(self.scl)

    def at_60m(self):
        """(SCL, CLDPRB, SNWPRB) at 60 m derived from a 20 m run (reference §5.6)."""
        if self.resolution != 20:
            raise SceneClassificationError("60 m products are derived from a 20 m classification")
        return (scl_20_to_60(self.scl), probability_20_to_60(self.cloud_probability),
                probability_20_to_60(self.snow_probability))


def classify(toa: Mapping[str, np.ndarray], nodata: Optional[np.ndarray] = None, *,
             sun_zenith: float, sun_azimuth: float, resolution: float,
             mode: str = "evolution", config: Any = None, thresholds: Any = None,
             classificators: Any = None, saturated: Optional[np.ndarray] = None,
             l1c_quality_mask: Optional[np.ndarray] = None, dem: Optional[np.ndarray] = None,
             esacci_water: Optional[np.ndarray] = None,
             esacci_landcover: Optional[np.ndarray] = None,
             snow_climatology: Optional[np.ndarray] = None, snow_possible: bool = True,
             median_filter: Optional[int] = None, handle_l1c_qlt_mask: Optional[bool] = None,
             parallax: Optional[ParallaxSettings] = None,
             block_rows: int = DEFAULT_BLOCK_ROWS, progress: Optional[ProgressFn] = None,
             cancel: Any = None) -> SceneClassification:
    """Classify TOA reflectance bands held in memory (see `classify_source` for the arguments).

    `toa` maps band names to float32 reflectance (NaN at NO_DATA) or to L1C DN arrays already
    converted by the caller. `nodata` marks pixels that are NO_DATA in any band used at this
    resolution (reference §4.2); NaNs in the given bands are added to it.
    """
    source = ArraySource(toa)
    return classify_source(
        source, nodata, sun_zenith=sun_zenith, sun_azimuth=sun_azimuth, resolution=resolution,
        mode=mode, config=config, thresholds=thresholds, classificators=classificators,
        saturated=saturated, l1c_quality_mask=l1c_quality_mask, dem=dem,
        esacci_water=esacci_water, esacci_landcover=esacci_landcover,
        snow_climatology=snow_climatology, snow_possible=snow_possible,
        median_filter=median_filter, handle_l1c_qlt_mask=handle_l1c_qlt_mask, parallax=parallax,
        block_rows=block_rows, progress=progress, cancel=cancel)


def _check_layer(name: str, layer: Optional[np.ndarray], shape) -> Optional[np.ndarray]:
    if layer is None:
        return None
    layer = np.asarray(layer)
    if layer.shape != tuple(shape):
        raise SceneClassificationError(f"{name} has shape {layer.shape}, the tile grid is {tuple(shape)}")
    return layer


def classify_source(source: BandSource, nodata: Optional[np.ndarray] = None, *,
                    sun_zenith: float, sun_azimuth: float, resolution: float,
                    mode: str = "evolution", config: Any = None, thresholds: Any = None,
                    classificators: Any = None, saturated: Optional[np.ndarray] = None,
                    l1c_quality_mask: Optional[np.ndarray] = None, dem: Optional[np.ndarray] = None,
                    esacci_water: Optional[np.ndarray] = None,
                    esacci_landcover: Optional[np.ndarray] = None,
                    snow_climatology: Optional[np.ndarray] = None, snow_possible: bool = True,
                    median_filter: Optional[int] = None,
                    handle_l1c_qlt_mask: Optional[bool] = None,
                    parallax: Optional[ParallaxSettings] = None,
                    block_rows: int = DEFAULT_BLOCK_ROWS, progress: Optional[ProgressFn] = None,
                    cancel: Any = None) -> SceneClassification:
    """Scene classification of a tile served by `source` (reference §5).

    sun_zenith, sun_azimuth: mean solar angles of the tile (degrees; SZA clipped at 70, and both
        rounded to whole degrees for the shadow projection, as Sen2Cor).
    resolution: pixel size in metres (20 or 60).
    mode: 'evolution' (default) or 'classic'.
    config: a Sen2CorConfig (default: the shipped 2.11 defaults); `thresholds` and
        `classificators` override its cfg.sc.thresholds / cfg.sc.classificators.
    saturated: pixels with a saturated DN in any band used -> SATURATED_DEFECTIVE.
    l1c_quality_mask: defective pixels from the L1C MSK_QUALIT masks -> SATURATED_DEFECTIVE when
        Handle_L1C_QLT_Mask is TRUE (`handle_l1c_qlt_mask` overrides the configuration).
    dem (metres), esacci_water (CCI water bodies, 2 = water), esacci_landcover (CCI land cover),
        snow_climatology (CCI monthly snow condition of the sensing month): optional layers on the
        tile grid; the steps that need them run only when given.
    snow_possible: the static GlobalSnowMap condition (§5.2; True when the map is missing).
    median_filter: Median_Filter (default from the configuration).
    parallax: settings of the parallax test (evolution mode).
    progress(fraction, message), cancel (an object with is_set()): as in the pipeline contract.
    """
    if mode not in MODES:
        raise SceneClassificationError(f"unknown scene-classification mode {mode!r} (use {', '.join(MODES)})")
    if config is None and (thresholds is None or classificators is None or median_filter is None
                           or handle_l1c_qlt_mask is None):
        from ..config import default_config
        config = default_config()
    th = thresholds if thresholds is not None else config.sc.thresholds
    codes = ClassCodes.from_classificators(classificators if classificators is not None
                                           else config.sc.classificators)
    median_size = int(median_filter if median_filter is not None else config.median_filter)
    handle_qlt = bool(handle_l1c_qlt_mask if handle_l1c_qlt_mask is not None
                      else config.handle_l1c_qlt_mask)
    evolution = mode == "evolution"
    parallax_settings = parallax or ParallaxSettings()
    missing = [b for b in REQUIRED_BANDS if not source.has(b)]
    if missing:
        raise SceneClassificationError(f"scene classification needs bands {', '.join(missing)}")
    if resolution <= 0:
        raise SceneClassificationError(f"invalid resolution {resolution}")
    shape = tuple(source.shape)
    nrows, _ = shape
    block_rows = max(16, int(block_rows))

    def report(fraction: float, message: str) -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("scene classification cancelled")
        if progress is not None:
            progress(fraction, message)

    # ---- inputs -------------------------------------------------------------------------------
    used = [b for b in source.bands if canonical_band(b) in REQUIRED_BANDS + ("B09", "B10")]
    nod = _check_layer("nodata", nodata, shape)
    nod = np.zeros(shape, dtype=bool) if nod is None else nod.astype(bool, copy=True)
    if isinstance(source, ArraySource):
        nod |= source.nodata(used, 0, nrows)
    valid = ~nod
    saturated = _check_layer("saturated", saturated, shape)
    qlt = _check_layer("l1c_quality_mask", l1c_quality_mask, shape)
    dem = _check_layer("dem", dem, shape)
    cci_water = _check_layer("esacci_water", esacci_water, shape)
    cci_lc = _check_layer("esacci_landcover", esacci_landcover, shape)
    cci_snow = _check_layer("snow_climatology", snow_climatology, shape)
    has_b10, has_b09 = source.has("B10"), source.has("B09")

    sza = float(np.clip(sun_zenith, 0.0, MAX_SUN_ZENITH))
    saa = float(sun_azimuth) % 360.0
    info: Dict[str, Any] = {"mode": mode, "resolution": resolution, "sun_zenith": sza,
                            "sun_azimuth": saa, "steps": []}
    steps = info["steps"]

    snow_run, water_rule, occurrence_gate = bool(snow_possible), False, False
    if cci_snow is not None:
        facts = snow.climatology_facts(cci_snow, valid)
        water_rule = facts.water_rule
        if evolution:
            snow_run, occurrence_gate = facts.snow_possible, True
        info["snow_climatology"] = facts
    info["snow_branch"] = snow_run

    terrain: Optional[Terrain] = None
    if dem is not None:
        terrain = terrain_layers(dem.astype(np.float32, copy=False), resolution, sza, saa,
                                 with_cast_shadow=evolution)
        steps.append("terrain")

    cls = np.where(valid, np.uint8(NOT_CLASSIFIED), np.uint8(codes.NO_DATA)).astype(np.uint8)
    # The probabilities are final (apart from the parallax test) after pass 1: they are kept
    # encoded (uint8 percent), with the indicator P > 0.33 that the shadow projection needs
    # (median3(P) > 0.33 == median3(P > 0.33)).
    p = np.zeros(shape, dtype=np.uint8)
    s = np.zeros(shape, dtype=np.uint8)
    cloudy = np.zeros(shape, dtype=bool)
    radiometric = np.zeros(shape, dtype=np.float16)

    # ---- pass 1: per-pixel tests, steps 1-10c, radiometric shadow term -------------------------
    for r0 in range(0, nrows, block_rows):
        r1 = min(nrows, r0 + block_rows)
        a, b = max(0, r0 - SPECTRAL_HALO), min(nrows, r1 + SPECTRAL_HALO)
        bands = Bands.read(source, a, b)
        c = cls[a:b].copy()
        pp = np.zeros(c.shape, dtype=np.float32)
        cloud.brightness_step(bands, c, pp, th, codes)
        ndsi = cloud.ndsi_cloud_step(bands, c, pp, th, codes)
        if snow_run:
            ss = snow.snow_step(bands, c, pp, ndsi, th, codes,
                                None if cci_snow is None else cci_snow[a:b],
                                water_rule=water_rule, occurrence_gate=occurrence_gate)
        else:
            ss = np.zeros(c.shape, dtype=np.float32)
        del ndsi
        classes.vegetation_step(bands, c, pp, th, codes)
        classes.soil_step(bands, c, pp, th, codes)
        classes.water_step(bands, c, pp, th, codes)
        classes.rocks_step(bands, c, pp, th, codes)
        classes.b04_b11_step(bands, c, pp, codes)
        cloud.cloud_class_step(c, pp, th, codes)
        cirrus.thin_cirrus_step(bands, c, pp, th, codes, None if dem is None else dem[a:b])
        cirrus.thick_cirrus_step(bands, c, pp, th, codes)
        m = shadow.radiometric_part(bands, th, c == codes.THIN_CIRRUS, water_needs_low_nir=evolution)
        inner = slice(r0 - a, r1 - a)
        cls[r0:r1] = c[inner]
        cloudy[r0:r1] = pp[inner] > shadow.PROJECTION_CLOUD_P
        p[r0:r1] = encode_probability(pp[inner])
        s[r0:r1] = encode_probability(ss[inner])
        radiometric[r0:r1] = m[inner]
        del bands, c, pp, ss, m
        report(0.45 * r1 / nrows, "scene classification: spectral tests")
    steps += ["brightness", "ndsi"] + (["snow"] if snow_run else []) + [
        "vegetation", "soil", "water", "rocks", "b04_b11", "cloud_classes"]
    if has_b10:
        steps += ["thin_cirrus", "thick_cirrus"]

    # ---- pass 2: parallax (evolution) ----------------------------------------------------------
    report_parallax: Optional[ParallaxReport] = None
    if evolution:
        report_parallax = parallax_test(source, cls, p, s, th, codes, resolution, parallax_settings,
                                        cloud_indicator=cloudy)
        steps.append("parallax")
        report(0.5, "scene classification: parallax test")

    # ---- pass 3: cloud shadows (step 11) -------------------------------------------------------
    cloud_mask = np.zeros(shape, dtype=bool)
    for r0 in range(0, nrows, block_rows):
        r1 = min(nrows, r0 + block_rows)
        a, b = max(0, r0 - CLOUD_MASK_HALO), min(nrows, r1 + CLOUD_MASK_HALO)
        cloud_mask[r0:r1] = shadow.projection_cloud_mask(cloudy[a:b])[r0 - a:r1 - a]
    cloud_mask &= valid
    kernel = shadow.shadow_kernel(round(sza), round(saa), resolution)
    info["shadow_kernel_px"] = kernel.weights.shape
    n_shadow = 0
    # evolution: candidates of the cover-specific tests, then (after pass 3b) the pixels they found
    cover = np.zeros(shape, dtype=np.uint8) if evolution else None
    open_stats = shadow.OpenSurfaceStatistics() if evolution else None
    for r0 in range(0, nrows, block_rows):
        r1 = min(nrows, r0 + block_rows)
        geo = shadow.geometric_part(cloud_mask, kernel, nod, r0, r1)
        hit = shadow.shadow_mask(radiometric[r0:r1], geo)
        shadow.apply_shadows(cls[r0:r1], hit, codes)
        n_shadow += int(hit.sum())
        if evolution:
            c = cls[r0:r1]
            zone = geo > shadow.SHADOW_THRESHOLD
            if terrain is not None and terrain.cast_shadow is not None:
                # water and snow in the terrain's cast shadow are dark without any cloud: neither
                # candidates nor part of the open-surface references
                cast = terrain.cast_shadow[r0:r1]
                zone &= ~cast
                not_open = zone | cast
            else:
                not_open = zone
            if zone.any() or (c == codes.WATER).any() or (c == codes.SNOW_ICE).any():
                bands = Bands.read(source, r0, r1, only=shadow.COVER_SHADOW_BANDS)
                open_stats.add(bands, c, not_open, codes)
                cover[r0:r1] = shadow.cover_shadow_candidates(bands, c, zone, codes, snow=snow_run)
                del bands
        report(0.5 + 0.2 * r1 / nrows, "scene classification: cloud shadows")
    del radiometric, cloud_mask, cloudy
    steps.append("cloud_shadows")

    # ---- pass 3b: cover-specific cloud shadows on water and snow (evolution) -------------------
    if evolution:
        refs = open_stats.references()
        n_cover = 0
        for r0 in range(0, nrows, block_rows):
            r1 = min(nrows, r0 + block_rows)
            if not cover[r0:r1].any():
                continue
            bands = Bands.read(source, r0, r1, only=shadow.COVER_SHADOW_BANDS)
            hit = shadow.cover_shadows(bands, cover[r0:r1], refs)
            shadow.apply_shadows(cls[r0:r1], hit, codes)
            cover[r0:r1] = hit
            n_cover += int(hit.sum())
        info["cover_shadows"] = {"references": refs, "pixels": n_cover}
        n_shadow += n_cover
        steps.append("cover_shadows")

    # ---- pass 4: recoveries (step 12) ----------------------------------------------------------
    snow_dilated = dilate_diamond(cls == codes.SNOW_ICE, recovery.SNOW_RECOVERY_RADIUS)
    land_possible = cci_lc is not None and has_b10 and has_b09
    big_hpc = (recovery.big_hpc_blobs(cls, codes, resolution)
               if land_possible and evolution else None)
    land_stats = recovery.LandStatistics()
    for r0 in range(0, nrows, block_rows):
        r1 = min(nrows, r0 + block_rows)
        bands = Bands.read(source, r0, r1, only=RECOVERY_BANDS)
        c = cls[r0:r1]
        recovery.dark_vegetation_recovery(bands, c, th, codes)
        recovery.water_recovery(bands, c, th, codes)
        if cci_water is not None:
            recovery.cci_water_recovery(c, cci_water[r0:r1], codes,
                                        keep=None if cover is None else cover[r0:r1] > 0)
        if terrain is not None:
            t = terrain.crop(slice(r0, r1))
            recovery.dem_water_cleaning(c, t, codes)
            recovery.dem_shadow_cleaning(c, t, codes)
            if cci_water is not None:
                recovery.topographic_shadow_recovery(bands, c, t, cci_water[r0:r1], codes)
            if evolution:
                recovery.terrain_shadow_cleaning(c, t, codes)
        recovery.snow_recovery(bands, c, snow_dilated[r0:r1], codes)
        recovery.soil_recovery(bands, c, codes)
        if land_possible:
            land_stats.add(bands, c, codes, None if big_hpc is None else big_hpc[r0:r1])
        report(0.7 + 0.15 * r1 / nrows, "scene classification: recoveries")
    del snow_dilated, big_hpc, cover
    steps += ["dark_vegetation_recovery", "water_recovery"]
    if cci_water is not None:
        steps.append("cci_water_recovery")
    if terrain is not None:
        steps += ["dem_water_cleaning", "dem_shadow_cleaning"]
        if cci_water is not None:
            steps.append("topographic_shadow_recovery")
        if evolution:
            steps.append("terrain_shadow_cleaning")
    steps += ["snow_recovery", "soil_recovery"]

    if land_possible:
        lt = recovery.land_thresholds(land_stats, resolution, classic=not evolution)
        info["land_recovery"] = lt
        cirrus_stats = recovery.CirrusStatistics()
        for r0 in range(0, nrows, block_rows):
            r1 = min(nrows, r0 + block_rows)
            bands = Bands.read(source, r0, r1, only=("B8A", "B09", "B10"))
            c = cls[r0:r1]
            recovery.land_recovery(bands, c, cci_lc[r0:r1], lt, codes)
            cirrus_stats.add(bands, c, codes)
        if lt.run:
            steps.append("land_recovery")
        ct = cirrus_stats.thresholds()
        info["cirrus_recovery_thresholds"] = ct
        for r0 in range(0, nrows, block_rows):
            r1 = min(nrows, r0 + block_rows)
            bands = Bands.read(source, r0, r1, only=("B10",))
            recovery.cirrus_recovery(bands, cls[r0:r1], ct, codes, None if dem is None else dem[r0:r1])
        steps.append("cirrus_recovery")
    if cci_lc is not None:
        keep = terrain.cast_shadow if (evolution and terrain is not None) else None
        info["urban_bare_recovery"] = recovery.urban_bare_recovery(
            cls, cci_lc, codes, evolution=evolution, keep=keep)
        steps.append("urban_bare_recovery")
    report(0.9, "scene classification: recoveries")

    # ---- pass 5: dilation (evolution) ----------------------------------------------------------
    if evolution:
        dilate_clouds_and_shadows(cls, codes, resolution)
        steps.append("cloud_shadow_dilation")

    # ---- pass 6: post-processing (step 13) ------------------------------------------------------
    cls[cls == NOT_CLASSIFIED] = codes.UNCLASSIFIED
    if median_size > 1:
        cls = median_filter_scl(cls, median_size, codes)
        steps.append(f"median_filter_{median_size}")
    defective = np.zeros(shape, dtype=bool)
    if saturated is not None:
        defective |= saturated.astype(bool)
    if handle_qlt and qlt is not None:
        defective |= qlt.astype(bool)
    defective &= valid
    if defective.any():
        cls[defective] = codes.SATURATED_DEFECTIVE
        p[defective] = 0
        s[defective] = 0
    p[nod] = 0
    s[nod] = 0
    info["shadow_pixels"] = n_shadow
    report(1.0, "scene classification: done")
    return SceneClassification(scl=cls, cloud_probability=p, snow_probability=s,
                               resolution=resolution, mode=mode, codes=codes,
                               parallax=report_parallax, info=info)


def encode_probability(values) -> np.ndarray:
    """uint8 percent: P * 100 + 0.5 truncated (reference §5.1 step 13), P clipped to 0..1."""
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    v *= np.float32(100.0)
    v += np.float32(0.5)
    return v.astype(np.uint8)
