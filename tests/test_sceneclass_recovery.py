"""Recoveries (reference §5.5) and the DEM layers they use (terrain), each on constructed pixels;
the optional inputs (DEM, ESA CCI) switch their steps on."""
import math

import numpy as np
import pytest

from sen2cor_qgis.core.config import apply_overrides, default_config
from sen2cor_qgis.core.sceneclass import ClassCodes, NOT_CLASSIFIED, classify, recovery, terrain
from sen2cor_qgis.core.sceneclass.bands import Bands
from sen2cor_qgis.core.sceneclass.testing import pixels, uniform

CFG = default_config()
TH = CFG.sc.thresholds
C = ClassCodes()
U = NOT_CLASSIFIED


def bands_of(*spectra):
    return Bands(**{f"b{k[1:].lower()}": v for k, v in pixels(spectra).items()})


def row(*values):
    return np.array([values], dtype=np.uint8)


def test_dark_vegetation_recovery():
    b = bands_of({"base": "shadowed_vegetation"},                       # NDVI 0.24, B8A/B03 0.89
                 {"base": "shadowed_vegetation", "B8A": 0.08},           # NDVI 0.44 -> 4
                 {"base": "shadowed_vegetation", "B04": 0.06, "B8A": 0.15, "B03": 0.05},  # ratio 3 -> 4
                 {"base": "shadowed_vegetation", "B8A": 0.08})           # class 6: untouched
    cls = row(C.DARK_FEATURES, U, C.DARK_FEATURES, C.WATER)
    recovery.dark_vegetation_recovery(b, cls, TH, C)
    assert cls[0].tolist() == [C.DARK_FEATURES, C.VEGETATION, C.VEGETATION, C.WATER]
    cls = row(C.DARK_FEATURES, U, C.DARK_FEATURES, C.WATER)
    recovery.dark_vegetation_recovery(b, cls, apply_overrides(CFG, {"T2_NDVI": 0.5, "T2_R_B8A_B03": 3.5}).sc.thresholds, C)
    assert cls[0].tolist() == [C.DARK_FEATURES, U, C.DARK_FEATURES, C.WATER]


def test_water_recovery():
    w = {"base": "water"}
    b = bands_of(w, w, {**w, "B8A": 0.04, "B04": 0.05, "B11": 0.002},
                 {**w, "B11": 0.03})                                   # B02/B11 3.5 < 4
    cls = row(C.DARK_FEATURES, U, U, C.DARK_FEATURES)
    recovery.water_recovery(b, cls, TH, C)
    assert cls[0].tolist() == [C.WATER, C.WATER, C.WATER, C.DARK_FEATURES]
    cls = row(C.DARK_FEATURES, U, U, C.DARK_FEATURES)
    recovery.water_recovery(b, cls, apply_overrides(CFG, {"T22_R_B02_B11": 3.0}).sc.thresholds, C)
    assert cls[0, 3] == C.WATER


def test_cci_water_recovery():
    cls = row(C.DARK_FEATURES, C.CLOUD_SHADOWS, U, C.UNCLASSIFIED, C.VEGETATION, C.DARK_FEATURES)
    recovery.cci_water_recovery(cls, row(2, 2, 2, 2, 2, 1), C)
    assert cls[0].tolist() == [6, 6, 6, 6, 4, 2]


def test_dem_cleanings_and_topographic_shadow():
    t = terrain.Terrain(slope=np.array([[20.0, 10.0, 20.0, 0.0, 0.0, 0.0, 0.0]], dtype=np.float32),
                        hillshade=row(100, 100, 200, 20, 0, 100, 100))
    cls = row(C.WATER, C.WATER, C.WATER, C.CLOUD_SHADOWS, C.CLOUD_SHADOWS, U, C.MEDIUM_PROBA_CLOUDS)
    recovery.dem_water_cleaning(cls, t, C)
    recovery.dem_shadow_cleaning(cls, t, C)
    assert cls[0, :5].tolist() == [C.DARK_FEATURES, C.WATER, C.WATER, C.DARK_FEATURES, C.CLOUD_SHADOWS]
    b = bands_of(*(["vegetation"] * 5 + [{"base": "bare_soil", "B02": 0.25, "B04": 0.2, "B8A": 0.15}] * 2))
    recovery.topographic_shadow_recovery(b, cls, t, row(1, 1, 1, 1, 1, 1, 2), C)
    assert cls[0, 5:].tolist() == [C.DARK_FEATURES, C.MEDIUM_PROBA_CLOUDS]   # CCI water keeps the last


def test_snow_and_soil_recoveries():
    b = bands_of("snow", {"base": "snow", "B11": 0.9}, "bare_soil", "vegetation")
    cls = row(U, U, C.DARK_FEATURES, C.DARK_FEATURES)
    near_snow = np.array([[True, True, False, False]])
    recovery.snow_recovery(b, cls, near_snow, C)
    recovery.soil_recovery(b, cls, C)
    # B02/B11: soil 0.42 < 0.65 -> 5; vegetation 0.47 < 0.65 -> 5 as well (the rule only looks at it)
    assert cls[0].tolist() == [C.SNOW_ICE, U, C.NOT_VEGETATED, C.NOT_VEGETATED]


def test_land_recovery_thresholds():
    stats = recovery.LandStatistics()
    n = 200
    cls = np.full((n, n), C.VEGETATION, dtype=np.uint8)
    cls[:, :100] = C.HIGH_PROBA_CLOUDS                     # 50 % HPC
    b10 = np.where(cls == C.HIGH_PROBA_CLOUDS, 0.03, 0.002).astype(np.float32)
    b10[:, :50] = 0.01
    toa = uniform((n, n), "vegetation")
    toa["B10"] = b10
    b = Bands(**{f"b{k[1:].lower()}": v for k, v in toa.items()})
    stats.add(b, cls, C)
    t = recovery.land_thresholds(stats, 300.0, classic=True)          # 0.09 km2 pixels -> 1800 km2 land
    assert t.run
    hpc = stats.hpc_b10
    assert t.b10 == pytest.approx(max(0.0015, min(0.002, hpc.mean - 2 * hpc.std)))
    assert t.ratio == pytest.approx(stats.land_ratio.mean + stats.land_ratio.std)
    assert not recovery.land_thresholds(stats, 20.0, classic=True).run    # 8 km2 of land < 121
    # 2 % <= HPC <= 20 %: Sen2Cor 2.8 gives exactly 0.0015 (classic); evolution uses big HPC blobs
    mid = recovery.LandStatistics(valid=100, land=90, hpc=10)
    mid.land_b10.add(np.full(90, 0.004))
    mid.land_ratio.add(np.full(90, 0.3))
    mid.hpc_blob_b10.add(np.array([0.02, 0.03]))
    assert recovery.land_thresholds(mid, 2000.0, classic=True).b10 == 0.0015
    assert recovery.land_thresholds(mid, 2000.0, classic=False).b10 == pytest.approx(0.004)
    low = recovery.LandStatistics(valid=100, land=99, hpc=1)
    low.land_b10.add(np.full(99, 0.004))
    low.land_ratio.add(np.full(99, 0.3))
    assert recovery.land_thresholds(low, 2000.0, classic=True).b10 == pytest.approx(0.004)


def test_land_and_cirrus_recovery_rules():
    b = bands_of({"base": "bright_ground", "B10": 0.001, "B09": 0.05},
                 {"base": "bright_ground", "B10": 0.001, "B09": 0.05},
                 {"base": "bright_ground", "B10": 0.01, "B09": 0.05})
    cls = row(C.HIGH_PROBA_CLOUDS, C.HIGH_PROBA_CLOUDS, C.MEDIUM_PROBA_CLOUDS)
    t = recovery.LandThresholds(True, b10=0.002, ratio=0.2)
    recovery.land_recovery(b, cls, row(10, 210, 10), t, C)
    assert cls[0].tolist() == [C.NOT_VEGETATED, C.HIGH_PROBA_CLOUDS, C.MEDIUM_PROBA_CLOUDS]
    cs = recovery.CirrusStatistics()
    cls = row(C.NOT_VEGETATED, C.WATER, C.VEGETATION)
    cs.add(bands_of({"B10": 0.001, "base": "bare_soil"}, {"B10": 0.0005, "base": "water"}, "vegetation"), cls, C)
    land_t, water_t = cs.thresholds()
    assert land_t == 0.0030 and water_t == 0.0020                    # floors
    b = bands_of({"base": "bare_soil", "B10": 0.004}, {"base": "water", "B10": 0.0025},
                 {"base": "vegetation", "B10": 0.002})
    recovery.cirrus_recovery(b, cls, (land_t, water_t), C)
    assert cls[0].tolist() == [C.THIN_CIRRUS, C.THIN_CIRRUS, C.VEGETATION]


def test_urban_and_bare_recovery_by_blobs():
    cls = np.full((12, 12), C.VEGETATION, dtype=np.uint8)
    cci = np.zeros((12, 12), dtype=np.uint8)
    cci[2:5, 2:5] = 190
    cls[3, 3] = C.MEDIUM_PROBA_CLOUDS                 # blob on urban, clear ring -> 5
    cls[2, 4] = U                                     # not classified on urban -> 5
    cci[7:11, 7:11] = 201
    cls[8:10, 8:10] = C.UNCLASSIFIED                  # blob on bare area with a cloudy ring -> kept
    cls[7, 7:11] = C.HIGH_PROBA_CLOUDS
    cls[10, 7:11] = C.HIGH_PROBA_CLOUDS
    done = recovery.urban_bare_recovery(cls, cci, C)
    assert cls[3, 3] == C.NOT_VEGETATED and cls[2, 4] == C.NOT_VEGETATED
    assert (cls[8:10, 8:10] == C.UNCLASSIFIED).all() and done == {"urban": 1, "bare": 0}


def test_urban_recovery_evolution_takes_dark_streets_and_8_connected_blobs():
    cci = np.full((9, 9), 190, dtype=np.uint8)
    cls = np.full((9, 9), C.NOT_VEGETATED, dtype=np.uint8)
    cls[1, 1] = cls[1, 7] = C.DARK_FEATURES              # dark street pixels
    keep = np.zeros((9, 9), dtype=bool)
    keep[1, 7] = True                                    # ... one in the terrain's cast shadow
    # an oblique street: a diagonal staircase of UNCLASSIFIED pixels, and two cloudy pixels
    # (shadow) beside its upper end
    for i in range(3, 9):
        cls[i, i - 3] = C.UNCLASSIFIED
    cls[2, 0] = cls[2, 1] = C.CLOUD_SHADOWS
    classic, evolution = cls.copy(), cls.copy()
    recovery.urban_bare_recovery(classic, cci, C)
    recovery.urban_bare_recovery(evolution, cci, C, evolution=True, keep=keep)
    assert classic[1, 1] == C.DARK_FEATURES and evolution[1, 1] == C.NOT_VEGETATED
    assert evolution[1, 7] == C.DARK_FEATURES
    # 4-connected (classic): six one-pixel blobs; the top one's ring is mostly the two shadow
    # pixels (ring pixels it shares with the next blob count for that one) -> kept
    assert classic[3, 0] == C.UNCLASSIFIED and (classic[4:9, 1:6].diagonal() == C.NOT_VEGETATED).all()
    # 8-connected (evolution): one street whose ring has 2 cloudy pixels of 22
    assert all(evolution[i, i - 3] == C.NOT_VEGETATED for i in range(3, 9))


def test_cci_water_recovery_keeps_the_given_shadows():
    cls = row(C.CLOUD_SHADOWS, C.CLOUD_SHADOWS, C.DARK_FEATURES)
    recovery.cci_water_recovery(cls, np.full(cls.shape, 2, dtype=np.uint8), C,
                                keep=np.array([[True, False, False]]))
    assert cls.tolist() == [[C.CLOUD_SHADOWS, C.WATER, C.WATER]]


# ----------------------------------------------------------------------------- terrain layers
def test_hillshade_and_slope_like_gdaldem():
    flat = np.zeros((5, 5), dtype=np.float32)
    t = terrain.terrain_layers(flat, 20.0, 40.0, 150.0)
    assert (t.slope == 0).all()
    assert (t.hillshade == round(1 + 254 * math.cos(math.radians(40)))).all()
    # a plane rising to the north at 30 deg faces south; with the sun in the south at SZA 60 the
    # incidence angle is 30 deg
    yy = np.arange(7, dtype=np.float32)[:, None] * np.ones((1, 7), dtype=np.float32)
    plane = (6 - yy) * 20.0 * math.tan(math.radians(30))
    t = terrain.terrain_layers(plane, 20.0, 60.0, 180.0)
    assert t.slope[3, 3] == pytest.approx(30.0, abs=0.01)
    assert t.hillshade[3, 3] == round(1 + 254 * math.cos(math.radians(30)))
    t = terrain.terrain_layers(plane, 20.0, 60.0, 0.0)          # sun in the north: 90 deg -> grazing
    assert t.hillshade[3, 3] <= 2


def test_cast_shadow_behind_a_ridge():
    # a 500 m wall along row 60, sun in the south at SZA 45: the shadow reaches 500 m = 25 px north
    dem = np.zeros((80, 10), dtype=np.float32)
    dem[60, :] = 500.0
    shadow = terrain.cast_shadow(dem, 20.0, 45.0, 180.0)
    assert shadow[36:60, 5].all()
    assert not shadow[33, 5] and not shadow[61:, 5].any()
    assert not terrain.cast_shadow(np.zeros((5, 5), dtype=np.float32), 20.0, 45.0, 180.0).any()


def test_dem_steps_run_only_with_a_dem():
    toa = uniform((30, 30), "water")
    dem = np.tile(np.arange(30, dtype=np.float32) * 20.0, (30, 1))      # 45 deg slope facing west
    plain = classify(toa, sun_zenith=50, sun_azimuth=120, resolution=20, mode="classic")
    with_dem = classify(toa, dem=dem, sun_zenith=50, sun_azimuth=120, resolution=20, mode="classic")
    assert "dem_water_cleaning" not in plain.info["steps"] and "dem_water_cleaning" in with_dem.info["steps"]
    assert (plain.scl == C.WATER).all()
    assert (with_dem.scl[2:-2, 2:-2] == C.DARK_FEATURES).all()     # dark "water" on a shaded slope


def test_cci_steps_run_only_with_cci_layers():
    toa = uniform((30, 30), "shadowed_vegetation")
    cci_w = np.full((30, 30), 2, dtype=np.uint8)
    cci_lc = np.full((30, 30), 210, dtype=np.uint8)
    plain = classify(toa, sun_zenith=50, sun_azimuth=120, resolution=20, mode="classic")
    with_cci = classify(toa, esacci_water=cci_w, esacci_landcover=cci_lc, sun_zenith=50,
                        sun_azimuth=120, resolution=20, mode="classic")
    assert (plain.scl == C.DARK_FEATURES).all() and (with_cci.scl == C.WATER).all()
    assert "urban_bare_recovery" in with_cci.info["steps"] and "cci_water_recovery" in with_cci.info["steps"]
