"""Scene classification on generated L1C products (against the generator's truth) and NO_DATA on
the real 60 m band fixture.

Accuracy is measured on patch interiors: pixels whose 5 x 5 neighbourhood (20 m) has one truth
class. Run with `-s` (or `-rP`) to see the per-group tables. Three sets of products:

* the default scenes (layout "patches", seeds SEEDS): every land cover, clouds, shadows, cirrus;
* the "shadowed_covers" layout (seeds SHADOW_SEEDS): water | snow | urban strips with clouds
  whose shadows fall on each cover (tools/sample_product/scene.py);
* both with an ESA CCI-like land-cover map (300 m, LCCS codes) and water-bodies map (150 m) made
  from the truth on the real CCI grids (geographic, 1/360 and 1/720 degree, majority of the 10 m
  land covers) and put on the tile grid by the product's auxiliary-data reader (load_esacci).
"""
import importlib.util
import json

import numpy as np
import pytest
from osgeo import gdal, osr
from scipy import ndimage

from sen2cor_qgis.core.sceneclass import classify, product_inputs

HAS_GENERATOR = importlib.util.find_spec("sen2cor_qgis.tools.sample_product.generator") is not None
needs_generator = pytest.mark.skipif(not HAS_GENERATOR,
                                     reason="tools/sample_product generator not available yet")
SEEDS = (0, 1, 2, 3)
SHADOW_SEEDS = (0, 1, 2)
MODES = ("evolution", "classic")
REQUIRED = 97.0
MIN_SHADOW_PIXELS = 250          # per cover, 20 m interiors, over SHADOW_SEEDS
MAX_COMMISSION = 1.0             # % of truth water / snow / urban interiors classed CLOUD_SHADOWS
# Thin cirrus: Sen2Cor's B10 test (T1_B10) on the 60 m B10 upsampled to 20 m. The truth puts a
# shadow before the cirrus, Sen2Cor zeroes the shadow term on thin cirrus (reference §5.4), so
# shadow pixels near cirrus whose B10 (cirrus + up to 0.004 from the ground) can pass 0.012 are
# kept out of the shadow groups.
CIRRUS_T1_B10 = 0.012
GROUND_B10_MAX = 0.004

# Groups of the truth map: (truth SCL, land-cover codes or None, expected SCL classes).
# Land covers of the generator: 1 dense dark vegetation, 2 vegetation, 3 bare soil, 4 urban,
# 5 water, 6 snow.
GROUPS = {
    "vegetation": (4, None, (4,)),
    "bare soil": (5, (3,), (5,)),
    "water": (6, None, (6,)),
    "snow": (11, None, (11,)),
    "opaque cloud": ((8, 9), None, (8, 9)),
    "thin cirrus": (10, (1, 2, 3, 4, 5), (10,)),
    "cloud shadow on vegetation/soil": (3, (1, 2, 3), (3,)),
    "urban": (5, (4,), (5,)),
    "thin cirrus over snow": (10, (6,), (10,)),
    "cloud shadow on urban": (3, (4,), (3,)),
    "cloud shadow on water": (3, (5,), (3,)),
    "cloud shadow on snow": (3, (6,), (3,)),
}
# Commission of the cloud-shadow tests: truth water / snow / urban interiors classed 3.
COMMISSION = {
    "false shadow on water": (6, (5,)),
    "false shadow on snow": (11, (6,)),
    "false shadow on urban": (5, (4,)),
}
BASE = ("vegetation", "bare soil", "water", "snow", "opaque cloud", "thin cirrus",
        "cloud shadow on vegetation/soil")
COVER_SHADOWS = ("cloud shadow on water", "cloud shadow on urban", "cloud shadow on snow")
# Why a group is only reported (not asserted) in a table.
NOTES = {
    "urban": "Sen2Cor leaves dark-street mixtures UNCLASSIFIED / DARK_FEATURES without the ESA CCI "
             "urban recovery",
    "thin cirrus over snow": "Sen2Cor's thin-cirrus test needs B02 < 0.5; bright snow stays snow",
    "cloud shadow on urban": "few pixels here; see the shadowed_covers table",
    "cloud shadow on water": "few pixels here; see the shadowed_covers table",
    "cloud shadow on snow": "no pixels here; see the shadowed_covers table",
}
CLASSIC_NOTES = {
    "cloud shadow on vegetation/soil": "Sen2Cor 2.9's water exclusion (B02/B11 > 6) also catches "
                                       "shadowed vegetation",
    "cloud shadow on urban": "Sen2Cor 2.9: shadowed built-up ground passes the water exclusion",
    "cloud shadow on water": "Sen2Cor 2.9 zeroes the shadow term on water (B02/B11 > 6)",
    "cloud shadow on snow": "Sen2Cor 2.9: shadowed snow is far from the reference shadow spectrum",
    "opaque cloud": "Sen2Cor 2.9: cloud edges over snow pass the snow tests (no parallax test)",
    "water": "classic mode: the shadowed_covers products are asserted in evolution mode only",
    "snow": "classic mode: the shadowed_covers products are asserted in evolution mode only",
}
CCI_NOTES = {
    "urban": "default scenes: urban patches of about 0.4 km against 300 m CCI cells, the CCI map "
             "misses part of them (see 'urban on CCI urban')",
    "urban on CCI urban": "Sen2Cor 2.9 leaves the streets' DARK_FEATURES (class 2)",
}


def _notes(mode, *extra):
    out = dict(NOTES)
    for d in extra:
        out.update(d)
    if mode == "classic":
        out.update(CLASSIC_NOTES)
        if len(extra):
            out["urban"] = CCI_NOTES["urban on CCI urban"]
    return out


# ESA CCI land cover (LCCS) codes of the generator's land covers: dense dark vegetation = tree
# cover needle-leaved evergreen, vegetation and bare soil = rainfed cropland (the bare-soil
# patches are ploughed fields cut into the crop patches), urban, water bodies, permanent snow.
CCI_LANDCOVER = np.array([0, 70, 10, 10, 190, 210, 220], dtype=np.int64)
CCI_WATERBODIES = np.array([0, 1, 1, 1, 1, 2, 1], dtype=np.int64)       # 1 land, 2 water
CCI_LANDCOVER_STEP = 1 / 360.0                                          # 300 m
CCI_WATERBODIES_STEP = 1 / 720.0                                        # 150 m


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


# --------------------------------------------------------------------- ESA CCI-like layers
def _cci_majority(truth, step, codes):
    """Majority of the 10 m truth land covers (mapped by `codes`) in the cells of the global
    geographic grid of `step` degrees: (uint8 map, west, north)."""
    ds = gdal.Open(str(truth / "LANDCOVER_10m.tif"))
    lc, gt = ds.ReadAsArray(), ds.GetGeoTransform()
    src = osr.SpatialReference(wkt=ds.GetProjection())
    ds = None
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    for srs in (src, dst):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    rows, cols = np.nonzero(lc > 0)
    xy = np.stack([gt[0] + (cols + 0.5) * gt[1], gt[3] + (rows + 0.5) * gt[5]], axis=1)
    lonlat = np.array(osr.CoordinateTransformation(src, dst).TransformPoints(xy))[:, :2]
    col = np.floor((lonlat[:, 0] + 180.0) / step).astype(np.int64)
    row = np.floor((90.0 - lonlat[:, 1]) / step).astype(np.int64)
    c0, r0 = col.min() - 1, row.min() - 1
    nc, nr = col.max() - c0 + 2, row.max() - r0 + 2
    counts = np.zeros((nr * nc, 256), dtype=np.int64)
    np.add.at(counts, ((row - r0) * nc + (col - c0), codes[lc[rows, cols]]), 1)
    out = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), 0).astype(np.uint8)
    return out.reshape(nr, nc), -180.0 + c0 * step, 90.0 - r0 * step


def _write_geographic(path, values, west, north, step):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1,
                                              gdal.GDT_Byte)
    ds.SetGeoTransform((west, step, 0.0, north, 0.0, -step))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).SetNoDataValue(0)
    ds.GetRasterBand(1).WriteArray(values)
    ds = None


def _cci_layers(product, truth, aux_dir):
    """(land cover, water bodies) on the 20 m tile grid, through the product's CCI reader."""
    from sen2cor_qgis.core.auxdata.esacci import LANDCOVER_MAP, WATERBODIES_MAP, load_esacci
    aux_dir.mkdir(parents=True, exist_ok=True)
    for name, codes, step in ((LANDCOVER_MAP, CCI_LANDCOVER, CCI_LANDCOVER_STEP),
                              (WATERBODIES_MAP, CCI_WATERBODIES, CCI_WATERBODIES_STEP)):
        _write_geographic(aux_dir / name, *_cci_majority(truth, step, codes), step)
    layers = load_esacci(product.granule.geocoding, 20, aux_dir, product.granule.sensing_time.month)
    assert layers.landcover is not None and layers.waterbodies is not None
    return layers.landcover, layers.waterbodies


# -------------------------------------------------------------------------------- fixtures
def _generate(tmp_path_factory, name, seeds, **kwargs):
    if not HAS_GENERATOR:
        pytest.skip("tools/sample_product generator not available yet")
    from sen2cor_qgis.tools.sample_product import generate_product
    from sen2cor_qgis.tools.sample_product.generator import truth_dir_for
    from sen2cor_qgis.core.product.l1c_reader import read_l1c
    out = []
    for seed in seeds:
        safe = generate_product(tmp_path_factory.mktemp(f"{name}{seed}"), size="tiny", seed=seed,
                                **kwargs)
        truth = truth_dir_for(safe)
        product = read_l1c(safe)
        out.append({"product": product, "truth": truth,
                    "cci": _cci_layers(product, truth, tmp_path_factory.mktemp(f"{name}{seed}_aux"))})
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return _generate(tmp_path_factory, "sc", SEEDS)


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory):
    return _generate(tmp_path_factory, "shadowed", SHADOW_SEEDS, layout="shadowed_covers")


# --------------------------------------------------------------------------------- scoring
def _score(products, mode, cci=False):
    """{group: [hits, pixels]} over GROUPS and COMMISSION; with `cci` also 'urban on CCI urban'
    (urban interiors inside the CCI urban cells)."""
    hits = {g: [0, 0] for g in list(GROUPS) + list(COMMISSION) + ["urban on CCI urban"]}
    for item in products:
        truth = item["truth"]
        scl_truth = _read(truth / "SCL_20m.tif")
        lc = _landcover_20m(truth)
        cirrus10 = _read(truth / "CIRRUS_10m.tif")
        n = scl_truth.shape[0]
        cirrus20 = cirrus10.reshape(n, 2, n, 2).max(axis=(1, 3))
        near_cirrus = ndimage.maximum_filter(cirrus20, size=3) > CIRRUS_T1_B10 - GROUND_B10_MAX
        kwargs = {}
        if cci:
            kwargs = {"esacci_landcover": item["cci"][0], "esacci_water": item["cci"][1]}
        scl = product_inputs.classify_product(item["product"], 20, mode=mode, **kwargs).scl
        # Sen2Cor's CCI cirrus recovery (§5.5) also finds cirrus thinner than the truth's 0.012
        # limit: with the CCI layers THIN_CIRRUS is right wherever the truth has some cirrus
        cirrus_ok = (scl == 10) & (cirrus20 > 0) if cci else np.zeros(scl.shape, dtype=bool)
        for name, (tclass, covers, expected) in GROUPS.items():
            m = np.isin(scl_truth, tclass)
            interior = ndimage.minimum_filter(m.astype(np.uint8), size=5) == 1
            if covers is not None:
                interior &= np.isin(lc, covers)
            if tclass == 3:
                interior &= ~near_cirrus
            ok = np.isin(scl, expected) | cirrus_ok
            hits[name][0] += int(ok[interior].sum())
            hits[name][1] += int(interior.sum())
            if cci and name == "urban":
                inside = interior & (item["cci"][0] == 190)
                hits["urban on CCI urban"][0] += int((scl[inside] == 5).sum())
                hits["urban on CCI urban"][1] += int(inside.sum())
        for name, (tclass, covers) in COMMISSION.items():
            interior = ndimage.minimum_filter((scl_truth == tclass).astype(np.uint8), size=5) == 1
            interior &= np.isin(lc, covers)
            hits[name][0] += int((scl[interior] == 3).sum())
            hits[name][1] += int(interior.sum())
    return hits


def _table(title, hits, asserted, notes=None, commission=False, skip=()):
    """Print the table; return the asserted groups below REQUIRED."""
    print(f"\n{title}:")
    failures = []
    for name, (ok, total) in hits.items():
        if (total == 0 and name not in asserted) or name in skip:
            continue
        if name in COMMISSION and not commission:
            continue
        share = 100.0 * ok / total if total else float("nan")
        note = ""
        if name in COMMISSION:
            note = "   (commission)"
        elif name not in asserted:
            note = f"   (reported only{': ' + notes[name] if notes and name in notes else ''})"
        print(f"  {name:34s} {share:6.2f} %  of {total:6d} px{note}")
        if name in asserted and not (total and share >= REQUIRED):
            failures.append(f"{name} {share:.2f} % of {total} px")
    return failures


# ------------------------------------------------------------------------------ the tables
@needs_generator
@pytest.mark.parametrize("mode", MODES)
def test_generated_products_patch_interiors(generated, mode):
    hits = _score(generated, mode)
    # classic (Sen2Cor 2.9) misses most shadows on vegetation: its water exclusion (B02/B11 > 6)
    # also catches shadowed vegetation; only the evolution mode is held to 97 % there
    asserted = BASE if mode == "evolution" else BASE[:-1]
    failures = _table(f"scene classification, {mode} mode, tiny products seeds {SEEDS}, 20 m patch "
                      "interiors", hits, asserted, _notes(mode))
    assert all(hits[n][1] > 0 for n in ("vegetation", "water", "snow", "opaque cloud", "thin cirrus"))
    assert not failures, f"below {REQUIRED} %: {failures}"


@needs_generator
@pytest.mark.parametrize("mode", MODES)
def test_cloud_shadows_on_water_urban_and_snow(shadowed, mode):
    """Evolution: the cover-specific shadow tests (core/sceneclass/shadow.py) find >= 97 % of the
    shadows on water, built-up ground and snow, and put CLOUD_SHADOWS on at most 1 % of the
    open water, snow and urban interiors. Classic (Sen2Cor 2.9) is reported."""
    hits = _score(shadowed, mode)
    evolution = mode == "evolution"
    asserted = ("water", "snow", "opaque cloud") + COVER_SHADOWS if evolution else ()
    failures = _table(f"scene classification, {mode} mode, shadowed_covers products seeds "
                      f"{SHADOW_SEEDS}, 20 m patch interiors", hits, asserted, _notes(mode),
                      commission=True)
    for name in COVER_SHADOWS:
        assert hits[name][1] >= MIN_SHADOW_PIXELS, (name, hits[name][1])
    assert not failures, f"below {REQUIRED} %: {failures}"
    assert all(hits[n][1] > 1000 for n in COMMISSION)
    commission = {n: 100.0 * hits[n][0] / hits[n][1] for n in COMMISSION}
    assert max(commission.values()) <= MAX_COMMISSION, commission


@needs_generator
@pytest.mark.parametrize("mode", MODES)
def test_esacci_urban_recovery(generated, shadowed, mode):
    """With the CCI layers the urban recovery (§5.5) classifies built-up ground NOT_VEGETATED.

    Evolution: >= 97 % of the urban interiors of the shadowed_covers strips (0.9 km wide) and of
    the urban interiors that lie in CCI urban cells of the default scenes; every other group of
    both sets stays >= 97 %. The default scenes' urban patches (about 0.4 km) are hardly larger
    than a 300 m CCI cell, so part of them is not urban on the CCI map at all ('urban',
    reported). Classic: the groups asserted without CCI stay >= 97 %."""
    evolution = mode == "evolution"
    hits = _score(generated, mode, cci=True)
    asserted = BASE + ("urban on CCI urban",) if evolution else BASE[:-1]
    failures = _table(f"scene classification with ESA CCI layers, {mode} mode, tiny products seeds "
                      f"{SEEDS}", hits, asserted, _notes(mode, CCI_NOTES))
    strips = _score(shadowed, mode, cci=True)
    asserted = ("water", "snow", "opaque cloud", "urban") + COVER_SHADOWS if evolution else ()
    failures += _table(f"scene classification with ESA CCI layers, {mode} mode, shadowed_covers "
                       f"products seeds {SHADOW_SEEDS}", strips, asserted, _notes(mode, {}),
                       commission=True, skip=("urban on CCI urban",))
    assert strips["urban"][1] > 5000 and hits["urban on CCI urban"][1] > 1000
    assert not failures, f"below {REQUIRED} %: {failures}"
    if evolution:
        commission = {n: 100.0 * strips[n][0] / strips[n][1] for n in COMMISSION}
        assert max(commission.values()) <= MAX_COMMISSION, commission


@needs_generator
def test_generated_product_nodata_matches_the_footprint(generated):
    for item in generated[:2]:
        product, truth = item["product"], item["truth"]
        for res in (20, 60):
            result = product_inputs.classify_product(product, res, mode="evolution")
            expected = _read(truth / f"SCL_{res}m.tif") == 0
            np.testing.assert_array_equal(result.scl == 0, expected)
            assert expected.any()


@needs_generator
def test_generated_product_metadata_percentages(generated):
    product, truth = generated[0]["product"], generated[0]["truth"]
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
