"""Scene classification orchestration: NO_DATA and SATURATED_DEFECTIVE classes, probability
encoding, strip-wise processing, Median_Filter, classic vs evolution, 10/60 m derivation and the
metadata percentages."""
import threading

import numpy as np
import pytest

from sen2cor_qgis.core.config import apply_overrides, default_config
from sen2cor_qgis.core.errors import CancelledError
from sen2cor_qgis.core.sceneclass import (ClassCodes, SceneClassificationError, class_percentages,
                                          classify, encode_probability, median_filter_scl,
                                          probability_20_to_60, scl_20_to_10, scl_20_to_60)
from sen2cor_qgis.core.sceneclass.testing import disk_mask, paint, pixels, texture, uniform

CODES = ClassCodes()


def scene(n=96, seed=0):
    """Vegetation with soil, water and snow patches, two clouds and a thin-cirrus band."""
    toa = uniform((n, n), "vegetation")
    tex = texture((n, n), 0.05, seed=seed)
    for b in toa:
        toa[b] *= tex
    yy, xx = np.mgrid[0:n, 0:n]
    paint(toa, (xx < n // 4), "bare_soil")
    paint(toa, (yy > 3 * n // 4) & (xx > n // 2), "water")
    paint(toa, (yy < n // 5) & (xx > 3 * n // 4), "snow")
    paint(toa, disk_mask((n, n), (n * 0.6, n * 0.45), n / 10), "cloud")
    paint(toa, disk_mask((n, n), (n * 0.3, n * 0.6), n / 14), "cloud")
    toa["B10"][(np.abs(yy - xx) < 4)] += 0.02
    return toa


def test_nodata_where_any_band_is_nodata():
    toa = scene()
    toa["B8A"][0:5, :] = np.nan
    toa["B10"][:, 0:3] = np.nan              # an optional band counts too
    nodata = np.zeros((96, 96), dtype=bool)
    nodata[50, 50] = True                    # given by the caller (e.g. B01 = 0)
    r = classify(toa, nodata, sun_zenith=35, sun_azimuth=150, resolution=20)
    expected = np.zeros((96, 96), dtype=bool)
    expected[0:5, :] = True
    expected[:, 0:3] = True
    expected[50, 50] = True
    np.testing.assert_array_equal(r.scl == 0, expected)
    assert (r.cloud_probability[expected] == 0).all() and (r.snow_probability[expected] == 0).all()


def test_saturated_and_l1c_quality_mask():
    toa = pixels(["vegetation"] * 4)
    sat = np.array([[True, False, False, False]])
    qlt = np.array([[False, True, False, False]])
    nod = np.array([[False, False, False, True]])
    r = classify(toa, nod, saturated=sat, l1c_quality_mask=qlt, sun_zenith=30, sun_azimuth=150,
                 resolution=20, mode="classic")
    assert r.scl[0].tolist() == [1, 4, 4, 0]           # Handle_L1C_QLT_Mask FALSE by default
    cfg = apply_overrides(default_config(), {"Handle_L1C_QLT_Mask": True})
    r = classify(toa, nod, saturated=sat, l1c_quality_mask=qlt, sun_zenith=30, sun_azimuth=150,
                 resolution=20, mode="classic", config=cfg)
    assert r.scl[0].tolist() == [1, 1, 4, 0]


def test_probability_encoding():
    np.testing.assert_array_equal(encode_probability(np.array([0.0, 0.004, 0.005, 0.333, 0.995, 1.0, 1.7, -1])),
                                  [0, 0, 1, 33, 100, 100, 100, 0])
    grey = {"B02": 0.25, "B03": 0.22, "B04": 0.06 + 0.19 * 0.7, "B05": 0.2, "B8A": 0.21,
            "B09": 0.1, "B10": 0.001, "B11": 0.2, "B12": 0.15}      # no land test catches it
    r = classify(pixels([grey]), sun_zenith=30, sun_azimuth=150, resolution=20, mode="classic")
    assert r.cloud_probability.dtype == np.uint8
    assert r.cloud_probability[0, 0] == 49                   # P = ramp(B04)^2 = 0.49
    assert r.scl[0, 0] == 8


def test_strips_give_the_same_result_as_one_block():
    toa = scene(n=120, seed=4)
    for mode in ("classic", "evolution"):
        whole = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode=mode, block_rows=4096)
        strips = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode=mode, block_rows=16)
        np.testing.assert_array_equal(whole.scl, strips.scl)
        np.testing.assert_array_equal(whole.cloud_probability, strips.cloud_probability)
        np.testing.assert_array_equal(whole.snow_probability, strips.snow_probability)
        assert len(np.unique(whole.scl)) >= 6


def test_classic_and_evolution_differ_as_designed():
    toa = scene(n=120, seed=1)
    classic = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="classic")
    evolution = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="evolution")
    clouds_c = np.isin(classic.scl, (8, 9)).sum()
    clouds_e = np.isin(evolution.scl, (8, 9)).sum()
    assert clouds_e > clouds_c                       # dilation of clouds
    assert "parallax" in evolution.info["steps"] and "parallax" not in classic.info["steps"]
    assert "cloud_shadow_dilation" in evolution.info["steps"]
    assert classic.parallax is None and evolution.parallax is not None
    with pytest.raises(SceneClassificationError):
        classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="fancy")


def test_median_filter_option():
    toa = scene(n=64)
    toa["B02"][10:12, :] = np.nan
    cfg = apply_overrides(default_config(), {"Median_Filter": 5})
    plain = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="classic")
    filtered = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="classic", config=cfg)
    assert "median_filter_5" in filtered.info["steps"]
    np.testing.assert_array_equal(filtered.scl == 0, plain.scl == 0)     # NO_DATA unchanged
    assert (filtered.scl != plain.scl).any()
    # isolated pixels disappear, the majority class of the window wins
    scl = np.full((7, 7), 4, dtype=np.uint8)
    scl[3, 3] = 9
    scl[0, :] = 0
    out = median_filter_scl(scl, 3, CODES)
    assert out[3, 3] == 4 and (out[0] == 0).all() and (out[1:] != 0).all()


def test_snow_branch_switches():
    toa = pixels(["snow", "vegetation"])
    r = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="classic", snow_possible=False)
    assert r.scl[0, 0] != 11 and r.info["snow_branch"] is False
    clim = np.zeros((1, 2), dtype=np.uint8)          # never snow in this month: evolution skips it
    r = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="evolution", snow_climatology=clim)
    assert r.info["snow_branch"] is False and r.scl[0, 0] != 11
    r = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="classic", snow_climatology=clim)
    assert r.scl[0, 0] == 11                          # classic keeps the static condition
    clim[0, 0] = 40
    r = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="evolution", snow_climatology=clim)
    assert r.scl[0, 0] == 11


def test_missing_band_and_wrong_layer_shape_are_reported():
    toa = pixels(["vegetation"])
    del toa["B11"]
    with pytest.raises(SceneClassificationError, match="B11"):
        classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20)
    with pytest.raises(SceneClassificationError, match="dem"):
        classify(pixels(["vegetation"]), sun_zenith=40, sun_azimuth=160, resolution=20,
                 dem=np.zeros((2, 2)))


def test_progress_and_cancel():
    seen = []
    classify(scene(n=48), sun_zenith=40, sun_azimuth=160, resolution=20, block_rows=16,
             progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 5
    ev = threading.Event()
    ev.set()
    with pytest.raises(CancelledError):
        classify(scene(n=48), sun_zenith=40, sun_azimuth=160, resolution=20, cancel=ev)


def test_optional_bands_b09_b10():
    toa = pixels(["vegetation", {"base": "vegetation", "B10": 0.02}])
    del toa["B10"], toa["B09"]
    r = classify(toa, sun_zenith=40, sun_azimuth=160, resolution=20, mode="classic")
    assert r.scl[0].tolist() == [4, 4] and "thin_cirrus" not in r.info["steps"]


# ------------------------------------------------------------------------ 10 m and 60 m
def test_scl_10m_is_nearest_upsampling():
    scl = np.array([[4, 9], [0, 6]], dtype=np.uint8)
    np.testing.assert_array_equal(scl_20_to_10(scl), [[4, 4, 9, 9], [4, 4, 9, 9], [0, 0, 6, 6], [0, 0, 6, 6]])


def test_scl_60m_is_3x3_median_then_centre_pixel():
    scl = np.full((6, 6), 4, dtype=np.uint8)
    scl[1, 1] = 9                     # isolated: removed by the median
    scl[3:6, 3:6] = 6                 # a 3x3 block of water stays water
    scl[0:3, 3:6] = 8
    scl[1, 4] = 5                     # centre of the block differs but the median is 8
    out = scl_20_to_60(scl)
    np.testing.assert_array_equal(out, [[4, 8], [4, 6]])
    assert scl_20_to_60(np.zeros((7, 8), dtype=np.uint8)).shape == (3, 3)


def test_probabilities_60m_block_mean():
    p = np.array([[0, 1, 2, 10, 10, 10], [3, 4, 5, 10, 10, 10], [6, 7, 8, 10, 10, 11]], dtype=np.uint8)
    np.testing.assert_array_equal(probability_20_to_60(p), [[4, 10]])   # 4.0 and 10.11 -> 10


def test_result_60m_and_10m_from_a_20m_run():
    r = classify(scene(n=48), sun_zenith=40, sun_azimuth=160, resolution=20)
    scl60, cld60, snw60 = r.at_60m()
    assert scl60.shape == (16, 16) and cld60.dtype == np.uint8 and snw60.shape == (16, 16)
    assert r.scl_10m().shape == (96, 96)
    r60 = classify(scene(n=48), sun_zenith=40, sun_azimuth=160, resolution=60)
    with pytest.raises(SceneClassificationError):
        r60.at_60m()


# ------------------------------------------------------------------------------ percentages
def test_percentages_definitions_and_sum():
    scl = np.array([[0, 0, 1, 2, 3, 4, 4, 4, 5, 6],
                    [7, 8, 9, 10, 11, 4, 4, 6, 6, 9]], dtype=np.uint8)
    pc = class_percentages(scl)
    assert pc["NODATA_PIXEL_PERCENTAGE"] == pytest.approx(10.0)              # of all 20
    assert pc["SATURATED_DEFECTIVE_PIXEL_PERCENTAGE"] == pytest.approx(100 / 18)  # of the data
    valid = 17
    assert pc["VEGETATION_PERCENTAGE"] == pytest.approx(500 / valid)
    assert pc["CLOUDY_PIXEL_PERCENTAGE"] == pytest.approx(400 / valid)       # 8 + 9 + 9 + 10
    classes = [k for k in pc if k not in ("NODATA_PIXEL_PERCENTAGE", "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE",
                                          "CLOUDY_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE")]
    assert len(classes) == 10 and sum(pc[k] for k in classes) == pytest.approx(100.0)
    # land without CCI: SCL > 1 and not water: 14 pixels, 4 of them cloudy
    assert pc["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] == pytest.approx(400 / 14)
    cci = np.full(scl.shape, 1, dtype=np.uint8)
    cci[1, 1:3] = 2                                                         # the 8 and first 9 on CCI water
    assert class_percentages(scl, cci_water=cci)["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] == pytest.approx(200 / 15)


def test_percentages_of_a_classification_sum_to_100():
    r = classify(scene(n=64), sun_zenith=40, sun_azimuth=160, resolution=20)
    pc = r.percentages()
    parts = [v for k, v in pc.items() if k not in ("NODATA_PIXEL_PERCENTAGE", "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE",
                                                    "CLOUDY_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE")]
    assert sum(parts) == pytest.approx(100.0)
    from sen2cor_qgis.core.product.l2a_qi import TILE_QI_ORDER
    assert set(pc) <= set(TILE_QI_ORDER)
