"""Scene classification on generated L1C products (against the generator's truth) and NO_DATA on
the real 60 m band fixture.

Accuracy is measured on patch interiors: pixels whose 5 x 5 neighbourhood (20 m) has one truth
class. Run with `-s` (or `-rP`) to see the per-class table."""
import importlib.util
import json

import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage

from sen2cor_qgis.core.sceneclass import classify, product_inputs

HAS_GENERATOR = importlib.util.find_spec("sen2cor_qgis.tools.sample_product.generator") is not None
needs_generator = pytest.mark.skipif(not HAS_GENERATOR,
                                     reason="tools/sample_product generator not available yet")
SEEDS = (0, 1, 2, 3)
REQUIRED = 97.0
# Groups of the truth map: (truth SCL, land-cover codes or None, expected SCL classes, asserted)
# Land covers of the generator: 1 dense dark vegetation, 2 vegetation, 3 bare soil, 4 urban,
# 5 water, 6 snow. Pixels with thin cirrus (truth CIRRUS > 0.012 in B10) are kept out of the
# shadow groups: Sen2Cor zeroes the shadow term on thin cirrus (reference §5.4), the truth puts
# the shadow first.
GROUPS = {
    "vegetation": (4, None, (4,), True),
    "bare soil": (5, (3,), (5,), True),
    "water": (6, None, (6,), True),
    "snow": (11, None, (11,), True),
    "opaque cloud": ((8, 9), None, (8, 9), True),
    "thin cirrus": (10, (1, 2, 3, 4, 5), (10,), True),
    "cloud shadow on vegetation/soil": (3, (1, 2, 3), (3,), True),
    # reported, not asserted (see the notes printed with the table)
    "urban": (5, (4,), (5,), False),
    "thin cirrus over snow": (10, (6,), (10,), False),
    "cloud shadow on urban": (3, (4,), (3,), False),
    "cloud shadow on water": (3, (5,), (3,), False),
    "cloud shadow on snow": (3, (6,), (3,), False),
}
NOTES = {
    "urban": "Sen2Cor leaves dark-street mixtures UNCLASSIFIED without the ESA CCI urban recovery",
    "thin cirrus over snow": "Sen2Cor's thin-cirrus test needs B02 < 0.5; bright snow stays snow",
    "cloud shadow on urban": "shadowed built-up areas pass the water test",
    "cloud shadow on water": "Sen2Cor zeroes the shadow term on water (B02/B11 > 6)",
    "cloud shadow on snow": "shadowed snow is brighter than the reference shadow spectrum",
}


def _read(path):
    ds = gdal.Open(str(path))
    try:
        return ds.ReadAsArray()
    finally:
        ds = None


def _landcover_20m(truth):
    lc10 = _read(truth / "LANDCOVER_10m.tif")
    n = lc10.shape[0] // 2
    best = np.full((n, n), -1)
    lc = np.zeros((n, n), dtype=np.uint8)
    for code in range(7):
        count = (lc10 == code).reshape(n, 2, n, 2).sum(axis=(1, 3))
        take = count > best
        lc[take], best[take] = code, count[take]
    return lc


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    if not HAS_GENERATOR:
        pytest.skip("tools/sample_product generator not available yet")
    from sen2cor_qgis.tools.sample_product import generate_product
    from sen2cor_qgis.tools.sample_product.generator import truth_dir_for
    from sen2cor_qgis.core.product.l1c_reader import read_l1c
    out = []
    for seed in SEEDS:
        safe = generate_product(tmp_path_factory.mktemp(f"sc{seed}"), size="tiny", seed=seed)
        out.append((read_l1c(safe), truth_dir_for(safe)))
    return out


def _score(generated, mode):
    hits = {g: [0, 0] for g in GROUPS}
    for product, truth in generated:
        scl_truth = _read(truth / "SCL_20m.tif")
        lc = _landcover_20m(truth)
        cirrus10 = _read(truth / "CIRRUS_10m.tif")
        n = scl_truth.shape[0]
        cirrus = cirrus10.reshape(n, 2, n, 2).max(axis=(1, 3)) > 0.012
        result = product_inputs.classify_product(product, 20, mode=mode)
        for name, (tclass, covers, expected, _) in GROUPS.items():
            m = np.isin(scl_truth, tclass)
            interior = ndimage.minimum_filter(m.astype(np.uint8), size=5) == 1
            if covers is not None:
                interior &= np.isin(lc, covers)
            if tclass == 3:
                interior &= ~cirrus
            hits[name][0] += int(np.isin(result.scl[interior], expected).sum())
            hits[name][1] += int(interior.sum())
    return hits


@needs_generator
@pytest.mark.parametrize("mode", ["evolution", "classic"])
def test_generated_products_patch_interiors(generated, mode):
    hits = _score(generated, mode)
    print(f"\nscene classification, {mode} mode, tiny products seeds {SEEDS}, 20 m patch interiors:")
    failures = []
    for name, (ok, total) in hits.items():
        share = 100.0 * ok / total if total else float("nan")
        asserted = GROUPS[name][3]
        note = "" if asserted else f"   (reported only: {NOTES[name]})"
        print(f"  {name:34s} {share:6.2f} %  of {total:6d} px{note}")
        if asserted and total and share < REQUIRED:
            if mode == "evolution" or "shadow" not in name:
                failures.append(f"{name} {share:.2f} %")
    assert all(hits[n][1] > 0 for n in ("vegetation", "water", "snow", "opaque cloud", "thin cirrus"))
    # classic (Sen2Cor 2.9) misses most shadows on vegetation: its water exclusion (B02/B11 > 6)
    # also catches shadowed vegetation; only the evolution mode is held to 97 % there
    assert not failures, f"below {REQUIRED} %: {failures}"


@needs_generator
def test_generated_product_nodata_matches_the_footprint(generated):
    for product, truth in generated[:2]:
        for res in (20, 60):
            result = product_inputs.classify_product(product, res, mode="evolution")
            expected = _read(truth / f"SCL_{res}m.tif") == 0
            np.testing.assert_array_equal(result.scl == 0, expected)
            assert expected.any()


@needs_generator
def test_generated_product_metadata_percentages(generated):
    product, truth = generated[0]
    result = product_inputs.classify_product(product, 20)
    pc = result.percentages()
    doc = json.loads((truth / "truth.json").read_text())
    assert doc["product"] == product.safe_name
    assert 0 < pc["NODATA_PIXEL_PERCENTAGE"] < 100 and pc["CLOUDY_PIXEL_PERCENTAGE"] > 0
    scl60, cld60, snw60 = result.at_60m()
    assert scl60.shape == product.granule.geocoding.sizes[60]


# --------------------------------------------------------------------- real 60 m band fixture
def test_real_b01_nodata_footprint_is_exact(real_bands_dir):
    dn = _read(real_bands_dir / "T34VCL_20161122_B01.jp2")          # 35 % NO_DATA outside the swath
    nodata = dn == 0
    toa = (dn.astype(np.float32) / 10000.0)
    toa[nodata] = np.nan
    # the same real radiometry in every band: only the footprint matters here
    bands = {b: toa for b in ("B02", "B03", "B04", "B05", "B8A", "B09", "B10", "B11", "B12")}
    result = classify(bands, sun_zenith=79.5, sun_azimuth=190.0, resolution=60, mode="evolution")
    np.testing.assert_array_equal(result.scl == 0, nodata)
    assert 0.3 < nodata.mean() < 0.4
    assert (result.cloud_probability[nodata] == 0).all()
    pc = result.percentages()
    assert pc["NODATA_PIXEL_PERCENTAGE"] == pytest.approx(100.0 * nodata.mean())


# ------------------------------------------------------------------------ product input rules
def test_block_mean_over_valid_pixels_and_footprint_rule():
    dn = np.array([[0, 0, 1000, 2000], [0, 0, 3000, 0]], dtype=np.uint16)
    mean, empty = product_inputs._block_reduce_dn(dn, 2)
    assert mean.tolist() == [[0, 2000]] and empty.tolist() == [[True, False]]


def test_upsampled_60m_band_does_not_shrink_the_footprint():
    class FakeProduct:
        special_values = {"NODATA": 0, "SATURATED": 65535}

        def read_band(self, band, window=None):
            dn = np.full((3, 3), 1500, dtype=np.uint16)
            dn[0, 0] = 0
            return dn

    up, nod, sat = product_inputs.band_dn_at(FakeProduct(), "B09", 20)
    assert up.shape == (9, 9) and not nod.any() and not sat.any()
    assert (up > 0).all() and up.min() == 1500            # NO_DATA filled before interpolation
