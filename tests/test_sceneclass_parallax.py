"""Evolution mode: the MSI inter-band parallax test (a bright static false cloud is removed, a real
displaced cloud is kept), its shift measurement, and the other evolution-only steps."""
import numpy as np
import pytest
from scipy import ndimage

from sen2cor_qgis.core.sceneclass import ClassCodes, ParallaxSettings, classify, parallax
from sen2cor_qgis.core.sceneclass.testing import disk_mask, paint, texture, uniform

C = ClassCodes()
SHAPE = (140, 140)
# Per-band displacement (rows, cols) of a cloud aloft relative to B02: the bands are acquired by
# detector stripes at different along-track positions, so an object above the DEM surface is not
# co-registered (here up to 4 px at 20 m, e.g. a cloud top at ~5 km).
CLOUD_SHIFT = {"B02": (0, 0), "B03": (1, 0), "B04": (1, 0), "B05": (2, 0), "B8A": (3, 1),
               "B09": (3, 1), "B10": (4, 1), "B11": (4, 1), "B12": (4, 1)}


def parallax_scene(roof_b10=0.003, cloud_kind="cloud"):
    toa = uniform(SHAPE, "vegetation")
    tex = texture(SHAPE, 0.04, seed=1)
    for b in toa:
        toa[b] *= tex
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    # bright static ground: a block of white roofs separated by streets, identical in every band
    roofs = ((yy >= 20) & (yy < 50) & (xx >= 15) & (xx < 55)
             & ((yy - 20) % 10 != 0) & ((xx - 15) % 10 != 0))
    paint(toa, roofs, {"base": "bright_ground", "B10": roof_b10})
    # a real cloud, its texture and edges displaced from band to band
    cloud = disk_mask(SHAPE, (95, 90), 16, squash=0.8)
    paint(toa, cloud, {"base": cloud_kind, "B10": 0.008}, shift=CLOUD_SHIFT)
    ctex = texture(SHAPE, 0.06, seed=2, scale=2)
    for band, (dr, dc) in CLOUD_SHIFT.items():
        m = np.roll(np.roll(cloud, dr, 0), dc, 1)
        toa[band][m] *= np.roll(np.roll(ctex, dr, 0), dc, 1)[m]
    return toa, roofs, cloud


def test_parallax_removes_bright_ground_false_cloud_and_keeps_the_displaced_cloud():
    toa, roofs, cloud = parallax_scene()
    classic = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode="classic")
    evolution = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode="evolution")
    # classic (Sen2Cor 2.9): the roofs are a high-probability cloud
    assert (classic.scl[roofs] == C.HIGH_PROBA_CLOUDS).all()
    assert (classic.cloud_probability[roofs] == 100).all()
    # evolution: no parallax -> bright ground (not vegetated), cloud probability 0
    assert (evolution.scl[roofs] == C.NOT_VEGETATED).mean() > 0.99
    assert (evolution.cloud_probability[roofs] == 0).all()
    # the real cloud stays a cloud in both modes
    assert np.isin(evolution.scl[cloud], (8, 9)).mean() > 0.98
    assert np.isin(classic.scl[cloud], (8, 9)).mean() > 0.75
    rep = evolution.parallax
    rejected = [o for o in rep.objects if o.action == "rejected cloud"]
    confirmed = [o for o in rep.objects if o.action == "confirmed cloud"]
    assert len(rejected) == 12 and all(o.verdict == "static" for o in rejected)
    assert all(abs(o.shift[0]) < 0.2 and abs(o.shift[1]) < 0.2 and o.corr_zero > 0.9 for o in rejected)
    (real,) = confirmed
    # measured B8A displacement relative to B02 (3, 1) px
    assert real.shift == pytest.approx((3.0, 1.0), abs=0.2)
    assert real.corr_peak > 0.95 and real.corr_zero < 0.5
    # the cloud edges that classic misclassifies as snow (misregistration) are given back
    assert (classic.scl[cloud] == C.SNOW_ICE).sum() > 20
    assert not (evolution.scl[cloud] == C.SNOW_ICE).any()


def test_b10_veto_keeps_a_static_object_seen_above_the_water_vapour():
    toa, roofs, _ = parallax_scene(roof_b10=0.02)
    r = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode="evolution")
    assert np.isin(r.scl[roofs], (8, 9)).all()
    assert r.parallax.count(action="kept (B10 veto)") == 12
    settings = ParallaxSettings(b10_veto=False)
    r = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode="evolution", parallax=settings)
    assert (r.scl[roofs] == C.NOT_VEGETATED).mean() > 0.99


def test_displaced_snow_like_ice_cloud_becomes_cloud():
    toa, _, cloud = parallax_scene(cloud_kind="ice_cloud")
    classic = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode="classic")
    evolution = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode="evolution")
    core = ndimage.binary_erosion(cloud, iterations=5)
    assert (classic.scl[core] == C.SNOW_ICE).mean() > 0.9          # high NDSI: classic says snow
    assert np.isin(evolution.scl[core], (8, 9)).all()
    assert (evolution.snow_probability[core] == 0).all()
    assert evolution.parallax.count(action="snow to cloud") >= 1


def test_real_snow_is_static_and_stays_snow():
    toa = uniform(SHAPE, "vegetation")
    snow = disk_mask(SHAPE, (70, 70), 20) & ~disk_mask(SHAPE, (70, 70), 6)
    paint(toa, snow, "snow")
    r = classify(toa, sun_zenith=30, sun_azimuth=150, resolution=20, mode="evolution")
    assert (r.scl[ndimage.binary_erosion(snow, iterations=3)] == C.SNOW_ICE).all()
    assert r.parallax.count(verdict="static") >= 1


@pytest.mark.parametrize("shift", [(0, 0), (2, -1), (-3, 2), (1.5, 0), (0, -2.5)])
def test_measure_shift_finds_the_displacement(shift):
    rng = np.random.default_rng(5)
    a = ndimage.gaussian_filter(rng.standard_normal((60, 60)), 1.5).astype(np.float32)
    b = ndimage.shift(a, shift, order=3, mode="nearest").astype(np.float32)
    region = np.zeros(a.shape, dtype=bool)
    region[12:48, 12:48] = True
    _, found, c0, peak, sharp = parallax.measure_shift(a, b, region, 5)
    assert found == pytest.approx(shift, abs=0.25)
    verdict = parallax.judge(found, c0, peak, sharp, ParallaxSettings())
    assert verdict == (parallax.STATIC if shift == (0, 0) else parallax.DISPLACED)


def test_small_or_featureless_objects_are_inconclusive():
    assert parallax.judge((0.1, 0.0), 0.6, 0.6, 0.2, ParallaxSettings()) == parallax.INCONCLUSIVE
    assert parallax.judge((0.1, 0.0), 0.95, 0.95, 0.01, ParallaxSettings()) == parallax.INCONCLUSIVE
    assert parallax.judge((2.0, 0.0), 0.5, 0.52, 0.1, ParallaxSettings()) == parallax.INCONCLUSIVE
    assert ParallaxSettings().radius_px(20) == 5 and ParallaxSettings().radius_px(60) == 2


def test_evolution_terrain_cast_shadow_is_not_a_cloud_shadow():
    n = 120
    toa = uniform((n, n), "bare_soil")
    cloud = disk_mask((n, n), (100, 60), 10)
    paint(toa, cloud, "cloud")
    # dark ground north of the cloud, where its shadow would fall (SZA 40, SAA 180) ...
    dark = np.zeros((n, n), dtype=bool)
    dark[20:60, 40:80] = True
    paint(toa, dark, {"base": "shadowed_vegetation", "B11": 0.02})
    # ... but behind a 1 km ridge at row 62: a topographic (cast) shadow
    dem = np.zeros((n, n), dtype=np.float32)
    dem[62, :] = 1000.0
    classic = classify(toa, dem=dem, sun_zenith=40, sun_azimuth=180, resolution=20, mode="classic")
    evolution = classify(toa, dem=dem, sun_zenith=40, sun_azimuth=180, resolution=20, mode="evolution")
    inner = ndimage.binary_erosion(dark, iterations=3)
    assert (classic.scl[inner] == C.CLOUD_SHADOWS).mean() > 0.9
    assert (evolution.scl[inner] == C.DARK_FEATURES).mean() > 0.9
    assert "terrain_shadow_cleaning" in evolution.info["steps"]
