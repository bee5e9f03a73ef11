"""Scene classification: every per-pixel rule of reference §5.1/§5.2 on constructed spectra on
both sides of its thresholds, and the same rule with a GIPP threshold changed (the threshold is
read from L2A_CAL_SC_GIPP.xml, not hard-coded)."""
import numpy as np
import pytest

from sen2cor_qgis.core.config import apply_overrides, default_config
from sen2cor_qgis.core.sceneclass import ClassCodes, NOT_CLASSIFIED, classify
from sen2cor_qgis.core.sceneclass import classes, cirrus, cloud, snow
from sen2cor_qgis.core.sceneclass.bands import Bands
from sen2cor_qgis.core.sceneclass.ramps import normalized_difference, ramp, ratio
from sen2cor_qgis.core.sceneclass.testing import pixels, spectrum

CFG = default_config()
TH = CFG.sc.thresholds
CODES = ClassCodes.from_classificators(CFG.sc.classificators)


def th(**overrides):
    return apply_overrides(CFG, overrides).sc.thresholds


def bands_of(*spectra):
    toa = pixels(spectra)
    return Bands(**{f"b{k[1:].lower()}": v for k, v in toa.items()})


def fresh(n, p=None):
    cls = np.full((1, n), NOT_CLASSIFIED, dtype=np.uint8)
    pp = np.zeros((1, n), dtype=np.float32) if p is None else np.array([p], dtype=np.float32)
    return cls, pp


# ------------------------------------------------------------------------------------- ramps
def test_ramp_matches_reference_definition():
    x = np.array([-1.0, 0.06, 0.10, 0.155, 0.25, 2.0], dtype=np.float32)
    expected = (np.clip(x, 0.06, 0.25) - 0.06) / (0.25 - 0.06)
    np.testing.assert_allclose(ramp(x, 0.06, 0.25), expected, rtol=1e-6)
    assert ramp(x, 0.06, 0.25).dtype == np.float32
    np.testing.assert_array_equal(ramp(np.array([0.1, 0.2]), 0.15, 0.15), [0.0, 1.0])


def test_ratio_and_normalized_difference_floor_the_denominator():
    assert np.isfinite(ratio(np.float32(0.1), np.float32(0.0)))
    assert ratio(np.float32(0.1), np.float32(0.0)) == pytest.approx(1e5, rel=1e-3)
    assert normalized_difference(np.float32(0.3), np.float32(0.1)) == pytest.approx(0.5)
    assert np.isfinite(normalized_difference(np.float32(0.0), np.float32(0.0)))


# ---------------------------------------------------------------------------- step 1, 2, 10
def test_step1_brightness_probability_is_squared_ramp_of_b04():
    b04 = [0.03, 0.06, 0.12, 0.20, 0.25, 0.5]
    b = bands_of(*[{"base": "bare_soil", "B04": v, "B8A": 0.3} for v in b04])
    cls, p = fresh(len(b04))
    cloud.brightness_step(b, cls, p, TH, CODES)
    expected = ((np.clip(b04, 0.06, 0.25) - 0.06) / 0.19) ** 2
    np.testing.assert_allclose(p[0], expected, rtol=1e-5)
    cls, p = fresh(len(b04))
    cloud.brightness_step(b, cls, p, th(T1_B04=0.10, T2_B04=0.20), CODES)
    np.testing.assert_allclose(p[0], ((np.clip(b04, 0.1, 0.2) - 0.1) / 0.1) ** 2, rtol=1e-5)


def test_step1_dark_features():
    # B04 < 0.1 and 0.04 < B8A < 0.15 -> DARK_FEATURES with P = 0
    b = bands_of({"base": "water", "B04": 0.05, "B8A": 0.10},   # dark
                 {"base": "water", "B04": 0.05, "B8A": 0.03},   # B8A too low
                 {"base": "water", "B04": 0.05, "B8A": 0.16},   # B8A too high
                 {"base": "water", "B04": 0.11, "B8A": 0.10})   # B04 too high
    cls, p = fresh(4)
    cloud.brightness_step(b, cls, p, TH, CODES)
    assert cls[0].tolist() == [CODES.DARK_FEATURES, NOT_CLASSIFIED, NOT_CLASSIFIED, NOT_CLASSIFIED]
    assert p[0, 0] == 0


def test_step2_ndsi_ramp_and_reset_of_dark_features():
    # NDSI = (B03 - B11) / (B03 + B11); choose B03 = 0.3 and B11 giving NDSI -0.3, -0.2, -0.1
    ndsi = np.array([-0.3, -0.2, -0.1])
    b11 = 0.3 * (1 - ndsi) / (1 + ndsi)
    b = bands_of(*[{"base": "cloud", "B03": 0.3, "B11": float(v)} for v in b11])
    cls, p = fresh(3, [1.0, 1.0, 1.0])
    cls[0, 0] = CODES.DARK_FEATURES
    cloud.ndsi_cloud_step(b, cls, p, TH, CODES)
    np.testing.assert_allclose(p[0], [0.0, 0.5, 1.0], atol=1e-4)
    assert cls[0, 0] == NOT_CLASSIFIED            # ramp 0 resets dark features
    cls, p = fresh(3, [1.0, 1.0, 1.0])
    cloud.ndsi_cloud_step(b, cls, p, th(T1_NDSI_CLD=-0.35, T2_NDSI_CLD=-0.25), CODES)
    np.testing.assert_allclose(p[0], [0.5, 1.0, 1.0], atol=1e-4)


def test_step10_cloud_probability_classes():
    cls, p = fresh(6, [0.0, 0.1, 0.2, 0.5, 0.8, 0.95])
    cloud.cloud_class_step(cls, p, TH, CODES)
    assert cls[0].tolist() == [NOT_CLASSIFIED, CODES.UNCLASSIFIED, CODES.MEDIUM_PROBA_CLOUDS,
                               CODES.MEDIUM_PROBA_CLOUDS, CODES.HIGH_PROBA_CLOUDS, CODES.HIGH_PROBA_CLOUDS]
    cls, p = fresh(6, [0.0, 0.1, 0.2, 0.5, 0.8, 0.95])
    cloud.cloud_class_step(cls, p, th(T_CLOUD_MP=0.35, T_CLOUD_HP=0.9), CODES)
    assert cls[0].tolist() == [NOT_CLASSIFIED, CODES.UNCLASSIFIED, CODES.UNCLASSIFIED,
                               CODES.MEDIUM_PROBA_CLOUDS, CODES.MEDIUM_PROBA_CLOUDS, CODES.HIGH_PROBA_CLOUDS]


# ------------------------------------------------------------------------------- snow, step 3
def _snow(b, p, thresholds=TH, **kw):
    cls, pp = fresh(b.b02.shape[1], p)
    ndsi = normalized_difference(b.b03, b.b11)
    s = snow.snow_step(b, cls, pp, ndsi, thresholds, CODES, **kw)
    return cls, pp, s


def test_snow_filters_each_threshold():
    base = spectrum("snow")
    cases = [base,
             {**base, "B11": 0.35},                  # NDSI ~0.39: partial filter 1
             {**base, "B05": 0.60},                  # B05/B8A < 0.85: filter 1bis
             {**base, "B8A": 0.20, "B05": 0.20},     # B8A ramp 0.25
             {**base, "B02": 0.19},                  # B02 ramp 0.25, B02/B04 < 0.85
             {**base, "B02": 0.74}]                  # B02/B04 = 0.912: ramp 0.62
    b = bands_of(*cases)
    cls, p, s = _snow(b, [1.0] * len(cases))
    ndsi1 = (0.799 - 0.35) / (0.799 + 0.35)
    assert s[0, 0] == pytest.approx(1.0)
    assert s[0, 1] == pytest.approx((ndsi1 - 0.35) / 0.15, abs=1e-4)
    assert s[0, 2] == 0.0
    assert s[0, 3] == pytest.approx(0.25, abs=1e-4)
    assert s[0, 4] == 0.0
    assert s[0, 5] == pytest.approx((0.74 / 0.811 - 0.85) / 0.10, abs=1e-3)
    assert cls[0, 0] == CODES.SNOW_ICE and cls[0, 2] != CODES.SNOW_ICE
    # the NDSI snow ramp is read from the GIPP
    _, _, s2 = _snow(b, [1.0] * len(cases), th(T1_NDSI_SNW=0.2, T2_NDSI_SNW=0.42))
    assert s2[0, 1] == pytest.approx((ndsi1 - 0.2) / 0.22, abs=1e-4)


def test_snow_needs_a_cloud_probability_and_confidence_above_t1_snow():
    b = bands_of("snow", "snow", {"base": "snow", "B11": 0.37})
    cls, p, s = _snow(b, [0.0, 1.0, 1.0])
    assert s[0, 0] == 0 and cls[0, 0] == NOT_CLASSIFIED   # P = 0: not a potential cloud
    conf = float(s[0, 2])
    assert 0 < conf < 0.2
    expected = CODES.SNOW_ICE if conf > TH.T1_SNOW else NOT_CLASSIFIED
    assert cls[0, 2] == expected
    cls, p, s = _snow(b, [0.0, 1.0, 1.0], th(T1_SNOW=conf + 0.01))
    assert cls[0, 2] == NOT_CLASSIFIED


def test_snow_ring_clears_cloud_probability_where_b12_is_low():
    toa = pixels(["cloud"] * 9)
    for k in toa:
        toa[k] = np.repeat(toa[k], 9, axis=0)
    for k, v in spectrum("snow").items():
        toa[k][4, 4] = v
    toa["B12"][4, 6] = 0.10            # ring pixel (distance 2) with B12 < T2_SNOW
    toa["B12"][0, 0] = 0.10            # outside the ring (distance 8)
    b = Bands(**{f"b{k[1:].lower()}": v for k, v in toa.items()})
    cls = np.full((9, 9), NOT_CLASSIFIED, dtype=np.uint8)
    p = np.ones((9, 9), dtype=np.float32)
    snow.snow_step(b, cls, p, normalized_difference(b.b03, b.b11), TH, CODES)
    assert cls[4, 4] == CODES.SNOW_ICE and p[4, 4] == 0
    assert p[4, 6] == 0 and p[0, 0] == 1 and p[4, 5] == 1    # B12 of the cloud is 0.279 > 0.25


def test_snow_cci_water_rule_and_occurrence_gate():
    b = bands_of("snow", "snow", "snow")
    cci = np.array([[254, 3, 0]], dtype=np.uint8)
    facts = snow.climatology_facts(np.array([[254, 3, 0, 5, 255]], dtype=np.uint8))
    assert facts.water_rule and facts.snow_possible and facts.mean_occurrence == pytest.approx(8 / 3)
    cls, p, s = _snow(b, [1, 1, 1], cci_snow=cci, water_rule=True)
    assert s[0, 0] == 0 and cls[0, 1] == CODES.SNOW_ICE and cls[0, 2] == CODES.SNOW_ICE
    cls, p, s = _snow(b, [1, 1, 1], cci_snow=cci, water_rule=True, occurrence_gate=True)
    assert cls[0].tolist() == [NOT_CLASSIFIED, CODES.SNOW_ICE, NOT_CLASSIFIED]
    assert not snow.climatology_facts(np.array([[0, 0, 254]], dtype=np.uint8)).snow_possible


# --------------------------------------------------------------------- steps 4, 6, 7, 8, 9
def test_step4_vegetation():
    # NDVI 0.5 and B02 < 0.15 -> 4; NDVI 0.5 but B02 0.16 -> stays; NDVI 0.39 -> P *= 0.5
    b = bands_of({"base": "vegetation", "B04": 0.1, "B8A": 0.3},
                 {"base": "vegetation", "B04": 0.1, "B8A": 0.3, "B02": 0.16},
                 {"base": "vegetation", "B04": 0.1, "B8A": 0.1 * 1.39 / 0.61})
    cls, p = fresh(3, [0.4, 0.4, 0.4])
    classes.vegetation_step(b, cls, p, TH, CODES)
    assert cls[0].tolist() == [CODES.VEGETATION, NOT_CLASSIFIED, NOT_CLASSIFIED]
    assert p[0, 0] == pytest.approx(0.4) and p[0, 2] == pytest.approx(0.2, abs=1e-3)
    cls, p = fresh(3, [0.4, 0.4, 0.4])
    classes.vegetation_step(b, cls, p, th(T1_NDVI=0.2, T2_NDVI=0.38), CODES)
    assert cls[0, 2] == CODES.VEGETATION


def test_step6_soil():
    # R = B02/B11; B02_FT = clip(-0.4 R + 0.46, 0.15, 0.32)
    b = bands_of({"base": "bare_soil", "B02": 0.14, "B11": 0.28},   # R 0.5, FT 0.26 -> soil
                 {"base": "bare_soil", "B02": 0.14, "B11": 0.165},  # R 0.85, FT 0.15 -> ramp 0.5
                 {"base": "bare_soil", "B02": 0.25, "B11": 0.50})   # R 0.5, B02 0.25 < FT 0.26
    cls, p = fresh(3, [0.8, 0.8, 0.8])
    classes.soil_step(b, cls, p, TH, CODES)
    assert cls[0, 0] == CODES.NOT_VEGETATED and p[0, 0] == 0
    assert cls[0, 1] == NOT_CLASSIFIED and p[0, 1] == pytest.approx(0.8 * (0.14 / 0.165 - 0.7) / 0.3, rel=1e-3)
    assert cls[0, 2] == CODES.NOT_VEGETATED
    cls, p = fresh(3, [0.8, 0.8, 0.8])
    classes.soil_step(b, cls, p, th(T12_B02=0.35), CODES)       # FT = 0.15 for R 0.5 -> not soil
    assert cls[0].tolist() == [CODES.NOT_VEGETATED, NOT_CLASSIFIED, NOT_CLASSIFIED]


def test_step7_water():
    w = spectrum("water")
    b = bands_of(w,                                               # R 26 -> water
                 {**w, "B11": 0.035, "B12": 0.02, "B03": 0.06, "B04": 0.03, "B02": 0.06},   # R 1.7
                 {**w, "B11": 0.02, "B12": 0.01, "B04": 0.06, "B02": 0.06},   # R 3: P *= 0.5
                 {**w, "B02": 0.15, "B04": 0.10, "B11": 0.2, "B12": 0.3, "B8A": 0.05})  # B02-B04
    cls, p = fresh(4, [0.6, 0.6, 0.6, 0.6])
    classes.water_step(b, cls, p, TH, CODES)
    assert cls[0].tolist() == [CODES.WATER, NOT_CLASSIFIED, NOT_CLASSIFIED, CODES.WATER]
    assert p[0, 0] == 0 and p[0, 1] == pytest.approx(0.6) and p[0, 2] == pytest.approx(0.3, rel=1e-3)
    cls, p = fresh(4, [0.6, 0.6, 0.6, 0.6])
    classes.water_step(b, cls, p, th(T21_R_B02_B11=1.0, T22_R_B02_B11=2.5), CODES)
    assert cls[0, 2] == CODES.WATER


def test_step8_rocks_and_sand():
    # R = B8A/B11 0.8, B02 0.1 < FT 0.275 and < 0.8 B11 -> 5; R 1.0 -> P *= 0.5
    b = bands_of({"base": "bare_soil", "B02": 0.10, "B8A": 0.24, "B11": 0.30},
                 {"base": "bare_soil", "B02": 0.10, "B8A": 0.30, "B11": 0.30},
                 {"base": "bare_soil", "B02": 0.26, "B8A": 0.24, "B11": 0.30})   # B02 > 0.8 B11
    cls, p = fresh(3, [0.8, 0.8, 0.8])
    classes.rocks_step(b, cls, p, TH, CODES)
    assert cls[0].tolist() == [CODES.NOT_VEGETATED, NOT_CLASSIFIED, NOT_CLASSIFIED]
    assert p[0, 1] == pytest.approx(0.4, rel=1e-3)
    cls, p = fresh(3, [0.8, 0.8, 0.8])
    classes.rocks_step(b, cls, p, th(T1_R_B8A_B11=1.05, T2_R_B8A_B11=1.2), CODES)
    assert cls[0, 1] == CODES.NOT_VEGETATED


def test_step9_b04_b11_ratio():
    b = bands_of({"base": "cloud", "B04": 0.6, "B11": 0.1},     # ratio 6 -> P = 0
                 {"base": "cloud", "B04": 0.45, "B11": 0.1},    # ratio 4.5 -> P *= 0.5
                 {"base": "cloud", "B04": 0.2, "B11": 0.1})     # ratio 2 -> unchanged
    cls, p = fresh(3, [1.0, 1.0, 1.0])
    classes.b04_b11_step(b, cls, p, CODES)
    np.testing.assert_allclose(p[0], [0.0, 0.5, 1.0], atol=1e-4)


# ------------------------------------------------------------------------------ 10b, 10c
def test_thin_and_thick_cirrus():
    b = bands_of({"base": "vegetation", "B10": 0.02},            # thin cirrus
                 {"base": "vegetation", "B10": 0.011},           # below T1_B10
                 {"base": "vegetation", "B10": 0.02, "B02": 0.55},   # B02 >= 0.5
                 {"base": "vegetation", "B10": 0.04},            # thick -> 8
                 {"base": "vegetation", "B10": 0.04})            # thick but P >= HP
    cls, p = fresh(5, [0.0, 0.0, 0.0, 0.5, 0.9])
    cls[0, :] = CODES.VEGETATION                                  # overwrites earlier classes
    cirrus.thin_cirrus_step(b, cls, p, TH, CODES)
    cirrus.thick_cirrus_step(b, cls, p, TH, CODES)
    assert cls[0].tolist() == [CODES.THIN_CIRRUS, CODES.VEGETATION, CODES.VEGETATION,
                               CODES.MEDIUM_PROBA_CLOUDS, CODES.VEGETATION]
    cls[0, :] = CODES.VEGETATION
    cirrus.thin_cirrus_step(b, cls, p, th(T1_B10=0.01), CODES, dem=np.array([[1000, 1000, 0, 0, 0]]))
    assert cls[0, 1] == CODES.THIN_CIRRUS
    cls[0, :] = CODES.VEGETATION
    cirrus.thin_cirrus_step(b, cls, p, TH, CODES, dem=np.array([[1600, 0, 0, 0, 0]]))
    assert cls[0, 0] == CODES.VEGETATION                          # DEM >= 1500 m


# ----------------------------------------------------------------- whole classifier on pixels
@pytest.mark.parametrize("mode", ["classic", "evolution"])
def test_land_covers_end_to_end(mode):
    names = ["vegetation", "dark_forest", "bare_soil", "water", "snow", "cloud", "bright_ground"]
    toa = pixels(names)
    toa = {k: np.repeat(np.repeat(v, 9, axis=0), 9, axis=1) for k, v in toa.items()}  # 9x9 patches
    r = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode=mode, parallax=None)
    centre = r.scl[4, 4::9]
    assert centre.tolist() == [4, 4, 5, 6, 11, 9, 9]
    assert r.cloud_probability[4, 5 * 9 + 4] == 100
    assert r.snow_probability[4, 4 * 9 + 4] == 100


def test_class_values_come_from_the_classificators():
    # the 2.11 schema fixes each value (the GIPP refuses others); the engine still takes them from
    # the Classificators object it is given, never from literals
    import dataclasses
    swapped = dataclasses.replace(CODES, WATER=12, VEGETATION=13)
    r = classify(pixels(["water", "vegetation"]), sun_zenith=30, sun_azimuth=150, resolution=20,
                 mode="classic", classificators=swapped)
    assert r.scl[0].tolist() == [12, 13]


def test_in_classes_matches_isin_for_every_type():
    from sen2cor_qgis.core.sceneclass.codes import in_classes
    rng = np.random.default_rng(4)
    scl = rng.integers(0, 256, (50, 60)).astype(np.uint8)
    for values in ((8, 9, 10), (NOT_CLASSIFIED, 0), (), (3, 300)):
        assert np.array_equal(in_classes(scl, values), np.isin(scl, values)), values
        wide = scl.astype(np.int16)
        assert np.array_equal(in_classes(wide, values), np.isin(wide, values)), values
