"""Cloud shadows (reference §5.4): kernel geometry, projection offset for a given sun position
and cloud height, radiometric term, and the shadow class on a synthetic scene."""
import math

import numpy as np
import pytest
from scipy import ndimage

from sen2cor_qgis.core.config import default_config
from sen2cor_qgis.core.sceneclass import classify, shadow
from sen2cor_qgis.core.sceneclass.bands import Bands
from sen2cor_qgis.core.sceneclass.codes import ClassCodes
from sen2cor_qgis.core.sceneclass.testing import disk_mask, paint, pixels, uniform

TH = default_config().sc.thresholds
C = ClassCodes()


def test_height_profile_shape():
    prof = shadow.height_profile()
    assert prof.size == 201
    k1 = np.arange(51)
    np.testing.assert_allclose(prof[:51], (1 / (1 + (k1 / 30.0) ** 10))[::-1], rtol=1e-6)
    np.testing.assert_allclose(prof[51:], 1 / (1 + (np.arange(150) / 90.0) ** 10), rtol=1e-6)
    # half weight at 20 samples (600 m) on the rising side and 51 + 90 samples (4230 m) falling
    assert prof[20] == pytest.approx(0.5, abs=1e-6) and prof[141] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("azimuth", [90.0, 164.0, 180.0, 225.0, 300.0])
@pytest.mark.parametrize("zenith,height,res", [(45.0, 1500.0, 20.0), (30.0, 3000.0, 20.0),
                                               (60.0, 1200.0, 60.0)])
def test_cloud_casts_its_shadow_at_the_expected_offset(azimuth, zenith, height, res):
    # a delta height distribution at `height` isolates the geometry of the projection
    profile = np.zeros(201, dtype=np.float32)
    profile[int(round(height / 30.0))] = 1.0
    kernel = shadow.shadow_kernel(zenith, azimuth, res, profile=profile)
    n = 201
    cloud = np.zeros((n, n), dtype=bool)
    cloud[100, 100] = True
    g = shadow.geometric_part(cloud, kernel, np.zeros((n, n), dtype=bool), 0, n)
    r, c = np.unravel_index(np.argmax(g), g.shape)
    d = height * math.tan(math.radians(zenith)) / res
    exp_r = 100 + d * math.cos(math.radians(azimuth))        # rows grow southwards
    exp_c = 100 - d * math.sin(math.radians(azimuth))        # shadow opposite to the sun
    assert shadow.shadow_offset_px(height, zenith, azimuth, res) == pytest.approx((exp_r - 100, exp_c - 100))
    assert abs(r - exp_r) <= 1.0 and abs(c - exp_c) <= 1.0


def test_kernel_points_away_from_the_sun_and_covers_the_height_range():
    k = shadow.shadow_kernel(45.0, 180.0, 20.0)          # sun due south: shadows to the north
    rows, cols = np.nonzero(k.weights > 0.5)
    off_r = rows - k.origin[0]
    assert (off_r <= 0).all() and (np.abs(cols - k.origin[1]) <= 1).all()
    # weights >= 0.5 between 600 m and 4230 m of cloud height, i.e. 30 to 211 px at 20 m, SZA 45
    assert -off_r.min() == pytest.approx(211, abs=2) and -off_r.max() == pytest.approx(30, abs=2)


def test_geometric_part_in_strips_equals_whole_image():
    rng = np.random.default_rng(3)
    cloud = np.zeros((150, 90), dtype=bool)
    for _ in range(6):
        cloud |= disk_mask(cloud.shape, (rng.uniform(0, 150), rng.uniform(0, 90)), rng.uniform(3, 9))
    nod = np.zeros_like(cloud)
    nod[:, :5] = True
    k = shadow.shadow_kernel(40.0, 150.0, 20.0)
    whole = shadow.geometric_part(cloud, k, nod, 0, 150)
    strips = np.vstack([shadow.geometric_part(cloud, k, nod, r, min(150, r + 37)) for r in range(0, 150, 37)])
    np.testing.assert_allclose(strips, whole, atol=1e-5)
    assert (whole[nod] == 0).all() and whole.max() <= 1.0


def _bands(spectra):
    toa = pixels(spectra)
    toa = {k: np.repeat(np.repeat(v, 3, axis=0), 3, axis=1) for k, v in toa.items()}
    return Bands(**{f"b{k[1:].lower()}": v for k, v in toa.items()})


def test_radiometric_term():
    near_reference = {"B02": 0.125, "B03": 0.085, "B04": 0.065, "B05": 0.1, "B8A": 0.105,
                      "B09": 0.05, "B10": 0.001, "B11": 0.06, "B12": 0.03}
    b = _bands([{"base": "shadowed_vegetation", "B11": 0.02}, "vegetation", "water", near_reference,
                {"base": "shadowed_vegetation", "B11": 0.02}])
    cirrus = np.zeros(b.b02.shape, dtype=bool)
    cirrus[:, 12:] = True
    row = shadow.radiometric_part(b, TH, cirrus)[1, 1::3]
    assert row[0] == 1.0            # darker than the reference in all six bands
    assert row[1] == 0.0            # far from the reference spectrum
    assert row[2] == 0.0            # water (B02/B11 > 6)
    assert row[3] == pytest.approx(1 - 0.005, abs=1e-5)     # mean |d| 0.005 < T_B02_B12 = 0.018
    assert row[4] == 0.0            # thin cirrus
    from sen2cor_qgis.core.config import apply_overrides
    th2 = apply_overrides(default_config(), {"T_B02_B12": 0.004}).sc.thresholds
    assert shadow.radiometric_part(b, th2, cirrus)[1, 10] == 0.0


def test_evolution_water_exclusion_keeps_shadowed_vegetation():
    # in shadow, vegetation's SWIR vanishes: B02/B11 = 7.5 > 6 like water; its B8A stays > B04
    b = _bands(["shadowed_vegetation", "water"])
    none = np.zeros(b.b02.shape, dtype=bool)
    classic = shadow.radiometric_part(b, TH, none)[1, 1::3]
    evolution = shadow.radiometric_part(b, TH, none, water_needs_low_nir=True)[1, 1::3]
    assert classic.tolist() == [0.0, 0.0]
    assert evolution.tolist() == [1.0, 0.0]


SZA, SAA, RES, HEIGHT = 40.0, 160.0, 20.0, 1800.0


def _cloud_scene(cover, centre, n=160):
    """A uniform `cover` scene (n x n, 20 m), a cloud disc at `centre` and the disc of its shadow
    for a cloud at HEIGHT under the sun (SZA, SAA)."""
    toa = uniform((n, n), cover)
    cloud = disk_mask((n, n), centre, 12)
    dr, dc = shadow.shadow_offset_px(HEIGHT, SZA, SAA, RES)
    sh = disk_mask((n, n), (centre[0] + dr, centre[1] + dc), 12) & ~cloud
    return toa, cloud, sh, (dr, dc)


@pytest.mark.parametrize("mode", ["classic", "evolution"])
def test_shadow_class_on_a_scene(mode):
    n, sza, saa, res = 160, SZA, SAA, RES
    toa, cloud, sh, (dr, dc) = _cloud_scene("bare_soil", (120, 90), n)
    decoy = disk_mask((n, n), (120 - dr, 90 - dc + 10), 10) & ~cloud   # dark ground on the sun side
    paint(toa, sh | decoy, "shadowed_vegetation")
    toa["B11"][sh | decoy] = 0.02      # keep B02/B11 < 6 so that both modes see a shadow spectrum
    paint(toa, cloud, "cloud")
    r = classify(toa, sun_zenith=sza, sun_azimuth=saa, resolution=res, mode=mode)
    assert np.mean(r.scl[sh] == 3) > 0.9
    assert not (r.scl[decoy] == 3).any()
    assert (r.scl[cloud] == 9).mean() > 0.95


# ------------------------------------------------------ evolution: cover-specific shadow tests
def test_median_histogram():
    h = shadow.MedianHistogram()
    assert math.isnan(h.median())
    h.add(np.array([0.1, 0.2], dtype=np.float32))
    h.add(np.array([0.3, 5.0, 0.0795], dtype=np.float32))     # 5.0 lands in the last bin
    assert h.n == 5 and h.median() == pytest.approx(0.2, abs=shadow.REFERENCE_BIN)


def test_cover_shadows_against_the_open_surfaces():
    b = _bands(["shadowed_water", "water", "shadowed_urban", "shadowed_snow", "snow",
                {"base": "snow", "B02": 0.48, "B03": 0.44, "B04": 0.43, "B8A": 0.38, "B11": 0.04,
                 "B12": 0.03},                                           # sunlit snow + water
                "shadowed_vegetation"])
    cls = np.full(b.b02.shape, 100, dtype=np.uint8)
    zone = np.ones(b.b02.shape, dtype=bool)
    cand = shadow.cover_shadow_candidates(b, cls, zone, C, snow=True)[1, 1::3]
    # water-like (1) and/or with the shadowed-snow signature (2); sunlit snow is both
    assert cand.tolist() == [1, 1, 1, 3, 3, 3, 0]
    refs = shadow.CoverReferences(water_b02=0.105, water_b03=0.079, water_pixels=500,
                                  snow_b02=0.857, snow_b04_b02=0.949, snow_pixels=500)
    full = shadow.cover_shadow_candidates(b, cls, zone, C, snow=True)
    hit = shadow.cover_shadows(b, full, refs)[1, 1::3]
    # the sunlit snow + water mixture is darker than the open snow but has its colour
    assert hit.tolist() == [True, False, True, True, False, False, False]
    # no open water (or snow) of MIN_REFERENCE_PIXELS: that test is not run
    few = shadow.CoverReferences(0.105, 0.079, shadow.MIN_REFERENCE_PIXELS - 1, 0.857, 0.949, 0)
    assert not shadow.cover_shadows(b, full, few).any()
    # outside the projected zone, on clouds, cirrus or NO_DATA: no candidates
    assert not shadow.cover_shadow_candidates(b, cls, ~zone, C, snow=True).any()
    for c in (0, 8, 9, 10, 3):
        assert not shadow.cover_shadow_candidates(b, np.full_like(cls, c), zone, C, snow=True).any()
    assert (shadow.cover_shadow_candidates(b, cls, zone, C, snow=False) & shadow.CANDIDATE_SNOW == 0).all()


@pytest.mark.parametrize("cover", ["water", "urban", "snow"])
def test_cloud_shadows_on_water_urban_and_snow(cover):
    # left quarter open water (the reference of the water test), the rest `cover`; a cloud, its
    # shadow, and a shadow-like decoy on the sun side (outside the projected zone)
    n, sza, saa, res = 160, SZA, SAA, RES
    toa, cloud, sh, (dr, dc) = _cloud_scene(cover, (125, 100), n)
    paint(toa, np.zeros((n, n), dtype=bool) | (np.arange(n)[None, :] < 40), "water")
    decoy = disk_mask((n, n), (40, 135), 9)
    paint(toa, sh | decoy, f"shadowed_{cover}")
    paint(toa, cloud, "cloud")
    evolution = classify(toa, sun_zenith=sza, sun_azimuth=saa, resolution=res, mode="evolution")
    classic = classify(toa, sun_zenith=sza, sun_azimuth=saa, resolution=res, mode="classic")
    assert np.mean(evolution.scl[sh] == 3) > 0.95
    assert np.mean(classic.scl[sh] == 3) < 0.05
    assert not (evolution.scl[decoy] == 3).any()
    assert "cover_shadows" in evolution.info["steps"] and "cover_shadows" not in classic.info["steps"]
    refs = evolution.info["cover_shadows"]["references"]
    assert refs.has_water and refs.water_b03 == pytest.approx(0.079, abs=0.001)
    # open surfaces in the projected zone stay what they are
    zone_open = disk_mask((n, n), (125 + 0.6 * dr, 100 + 0.6 * dc), 30) & ~sh & ~cloud
    zone_open &= ~ndimage.binary_dilation(sh | cloud, iterations=4)
    assert zone_open.sum() > 100 and not (evolution.scl[zone_open] == 3).any()


def test_shadowed_town_without_open_water_keeps_the_classic_exclusion():
    n = 120
    toa = uniform((n, n), "urban")
    cloud = disk_mask((n, n), (95, 60), 10)
    dr, dc = shadow.shadow_offset_px(1800.0, 40.0, 160.0, 20.0)
    sh = disk_mask((n, n), (95 + dr, 60 + dc), 10) & ~cloud
    paint(toa, sh, "shadowed_urban")
    paint(toa, cloud, "cloud")
    r = classify(toa, sun_zenith=40.0, sun_azimuth=160.0, resolution=20.0, mode="evolution")
    assert not r.info["cover_shadows"]["references"].has_water
    assert np.mean(r.scl[sh] == 3) < 0.05


def test_water_in_the_terrain_cast_shadow_is_not_a_cloud_shadow():
    """Water darkened by a ridge's cast shadow inside a cloud's projected zone stays WATER (the
    cover-specific test leaves the terrain's cast shadow out, evolution mode with a DEM)."""
    from sen2cor_qgis.core.sceneclass.terrain import cast_shadow

    n, sza, saa, res = 160, SZA, SAA, RES
    toa, cloud, dark, _ = _cloud_scene("water", (125, 100), n)
    paint(toa, dark, "shadowed_water")             # as dark as a cloud shadow, but from the ridge
    paint(toa, cloud, "cloud")
    dem = np.zeros((n, n), dtype=np.float32)
    dem[70:73, 30:150] = 3000.0                     # a ridge on the sun side of the dark water
    cast = cast_shadow(dem, res, sza, saa)
    assert cast[dark].mean() > 0.95
    with_dem = classify(toa, sun_zenith=sza, sun_azimuth=saa, resolution=res, mode="evolution", dem=dem)
    assert np.mean(with_dem.scl[dark] == C.WATER) > 0.95
    without = classify(toa, sun_zenith=sza, sun_azimuth=saa, resolution=res, mode="evolution")
    assert np.mean(without.scl[dark] == 3) > 0.95   # no DEM: nothing tells the two shadows apart
