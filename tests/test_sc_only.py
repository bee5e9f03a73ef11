"""`L2A_Process --sc_only` end to end on generated products: the complete L2A product of the scene
classification (files, values, metadata, readers), its variants, cancel and the refusals."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core import cli
from sen2cor_qgis.core.config import default_config
from sen2cor_qgis.core.errors import CancelledError, ConfigError
from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product, sc_only_schedule
from sen2cor_qgis.core.product import naming
from sen2cor_qgis.core.product.l1c_reader import read_l1c
from sen2cor_qgis.core.product.l2a_qi import PRODUCT_QI_ORDER, pending_qi, qi_values
from sen2cor_qgis.core.product.l2a_quality import quality_values
from sen2cor_qgis.core.product.l2a_tree import product_names
from sen2cor_qgis.core.product.l2a_xml import find_local, findall_local, parse_file
from sen2cor_qgis.core.raster.l2a_images import existing_image_path
from sen2cor_qgis.core.raster.resample import block_mean_dn, upsample_dn
from sen2cor_qgis.core.raster.tci import true_colour
from sen2cor_qgis.core.sceneclass.product_inputs import band_dn_at, classify_product
from sen2cor_qgis.tools.sample_product import generate_product

gdal.UseExceptions()

CLASS_QI = ("DARK_FEATURES_PERCENTAGE", "CLOUD_SHADOW_PERCENTAGE", "VEGETATION_PERCENTAGE",
            "NOT_VEGETATED_PERCENTAGE", "WATER_PERCENTAGE", "UNCLASSIFIED_PERCENTAGE",
            "MEDIUM_PROBA_CLOUDS_PERCENTAGE", "HIGH_PROBA_CLOUDS_PERCENTAGE",
            "THIN_CIRRUS_PERCENTAGE", "SNOW_ICE_PERCENTAGE")


# --------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def l1c(tmp_path_factory):
    root = tmp_path_factory.mktemp("l1c")
    return {"05.09": generate_product(root / "a", size="tiny", baseline="05.09", spacecraft="S2B"),
            "02.07": generate_product(root / "b", size="tiny", baseline="02.07", spacecraft="S2A")}


@pytest.fixture(scope="module")
def product(l1c):
    return read_l1c(l1c["05.09"])


@pytest.fixture(scope="module")
def reference(product):
    """The scene classification the product must hold (same defaults as the shipped GIPP)."""
    cfg = default_config()
    return {mode: classify_product(product, 20, config=cfg, mode=mode) for mode in ("evolution", "classic")}


def _run(safe, out: Path, *extra: str) -> Path:
    assert cli.main([str(safe), "--sc_only", "--output_dir", str(out), *extra]) == 0
    (l2a,) = list(out.iterdir())
    return l2a


@pytest.fixture(scope="module")
def default_run(l1c, home, tmp_path_factory):
    return _run(l1c["05.09"], tmp_path_factory.mktemp("default") / "out")


def _granule(l2a: Path) -> Path:
    return next((l2a / "GRANULE").iterdir())


def _read(path: Path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def _image_file_entries(l2a: Path):
    root = parse_file(l2a / "MTD_MSIL2A.xml")
    granule = find_local(root, "General_Info/Product_Info/Product_Organisation/Granule_List/Granule")
    return granule, [e.text for e in findall_local(granule, "IMAGE_FILE")]


def _img_stems(l2a: Path):
    out = []
    for path in sorted(_granule(l2a).glob("IMG_DATA/R*m/*")):
        if path.suffix != ".hdr":
            out.append(path.relative_to(l2a).with_suffix("").as_posix())
    return sorted(out)


def _expected_entries(names, resolutions, layers=None):
    return [f"GRANULE/{names.granule}/IMG_DATA/R{r}m/{names.image_stem(layer, r)}"
            for r in resolutions for layer in naming.RESOLUTION_LAYERS[r]
            if layers is None or layer in layers]


# ------------------------------------------------------------------------------ scheduling
def test_schedule_rules():
    assert sc_only_schedule(None, True).resolutions == (20, 60)
    assert sc_only_schedule(20, True).derived == (60,)
    assert sc_only_schedule(None, False).resolutions == (20,)
    s60 = sc_only_schedule(60, True)
    assert (s60.classification, s60.resolutions, s60.derived) == (60, (60,), ())
    with pytest.raises(ConfigError, match="20 m or 60 m"):
        sc_only_schedule(10, True)


# ------------------------------------------------------------------------- default product
def test_default_run_writes_the_complete_tree(default_run):
    l2a = default_run
    names = product_names(l2a)
    granule = _granule(l2a)
    for res in (20, 60):
        for layer in naming.RESOLUTION_LAYERS[res]:
            assert (l2a / names.image_relpath(layer, res)).is_file(), (layer, res)
        for mask in naming.PROBABILITY_MASKS:
            assert (l2a / names.mask_relpath(mask, res)).is_file()
    assert (l2a / names.pvi_relpath()).is_file()
    assert list((granule / "IMG_DATA" / "R10m").iterdir()) == []     # no 10 m run with --sc_only
    assert not list(l2a.rglob("*.aux.xml")) and not [p for p in l2a.rglob(".*")]
    # IMAGE_FILE lists exactly the images written, in ESA's order
    element, entries = _image_file_entries(l2a)
    assert element.get("imageFormat") == "JPEG2000"
    assert entries == _expected_entries(names, (20, 60))
    assert sorted(entries) == _img_stems(l2a)
    # MTD_TL points at existing masks and preview
    tile = parse_file(granule / "MTD_TL.xml")
    for element in findall_local(tile, "Quality_Indicators_Info/Pixel_Level_QI/MASK_FILENAME"):
        assert (l2a / element.text).is_file(), element.text
    assert (l2a / find_local(tile, "Quality_Indicators_Info/PVI_FILENAME").text).is_file()
    # the manifest lists every file with its real size
    manifest = parse_file(l2a / "manifest.safe")
    listed = {}
    for obj in manifest.iter("dataObject"):
        stream = obj.find("byteStream")
        listed[stream.find("fileLocation").get("href")[2:]] = int(stream.get("size"))
    on_disk = {p.relative_to(l2a).as_posix(): p.stat().st_size for p in l2a.rglob("*")
               if p.is_file() and p.name != "manifest.safe"}
    assert listed == on_disk


def test_default_run_holds_the_classification(default_run, reference):
    l2a, names, ref = default_run, product_names(default_run), reference["evolution"]
    assert np.array_equal(_read(l2a / names.image_relpath("SCL", 20)), ref.scl)
    assert np.array_equal(_read(l2a / names.mask_relpath("MSK_CLDPRB", 20)), ref.cloud_probability)
    assert np.array_equal(_read(l2a / names.mask_relpath("MSK_SNWPRB", 20)), ref.snow_probability)
    scl60, cloud60, snow60 = ref.at_60m()
    assert np.array_equal(_read(l2a / names.image_relpath("SCL", 60)), scl60)
    assert np.array_equal(_read(l2a / names.mask_relpath("MSK_CLDPRB", 60)), cloud60)
    assert np.array_equal(_read(l2a / names.mask_relpath("MSK_SNWPRB", 60)), snow60)
    scl = gdal.Open(str(l2a / names.image_relpath("SCL", 20)))
    assert scl.GetRasterBand(1).DataType == gdal.GDT_Byte


def test_default_run_toa_bands_zero_images_tci(default_run, product):
    l2a, names = default_run, product_names(default_run)
    read = lambda layer, res: _read(l2a / names.image_relpath(layer, res))  # noqa: E731
    assert np.array_equal(read("B05", 20), product.read_band("B05"))          # native: the L1C DN
    assert np.array_equal(read("B02", 20), band_dn_at(product, "B02", 20)[0])  # 2 x 2 block mean
    b01 = upsample_dn(product.read_band("B01"), 3, "B01", mark_nodata=True)[0]
    assert np.array_equal(read("B01", 20), b01)                               # bicubic from 60 m
    for layer in ("B02", "B8A", "B12"):                                       # 60 m: 3 x 3 of 20 m
        assert np.array_equal(read(layer, 60), block_mean_dn(read(layer, 20), 3)[0])
    b09 = upsample_dn(product.read_band("B09"), 3, "B09", mark_nodata=True)[0]
    assert np.array_equal(read("B09", 60), block_mean_dn(b09, 3)[0])
    for res in (20, 60):
        for layer in ("AOT", "WVP"):
            zeros = read(layer, res)
            assert zeros.dtype == np.uint16 and not zeros.any()
        tci = read("TCI", res)
        expected = true_colour(read("B04", res), read("B03", res), read("B02", res), (-1000.0,) * 3)
        assert tci.dtype == np.uint8 and np.array_equal(tci, expected)
        ds = gdal.Open(str(l2a / names.image_relpath("B8A", res)))
        assert ds.GetGeoTransform() == pytest.approx(product.granule.geocoding.geotransform(res))
    pvi = gdal.Open(str(l2a / names.pvi_relpath()))
    assert (pvi.RasterCount, pvi.RasterXSize, pvi.RasterYSize) == (3, 343, 343)
    extent = 60 * product.granule.geocoding.sizes[60][1]
    assert pvi.GetGeoTransform()[1] == pytest.approx(extent / 343)


def test_default_run_metadata(default_run, reference, product):
    l2a = default_run
    granule = _granule(l2a)
    expected = reference["evolution"].percentages()
    for mtd in (l2a / "MTD_MSIL2A.xml", granule / "MTD_TL.xml"):
        assert pending_qi(mtd) == []
        values = qi_values(mtd)
        assert sum(float(values[n]) for n in CLASS_QI) == pytest.approx(100.0, abs=1e-3)
        for name, value in expected.items():
            if name in values:
                assert float(values[name]) == pytest.approx(value, abs=1e-6), name
        assert values["OZONE_SOURCE"] == "AUX_ECMWFT"
        assert float(values["OZONE_VALUE"]) == pytest.approx(product.granule.auxiliary.mean_ozone_du, abs=1e-5)
        assert values["AOT_RETRIEVAL_METHOD"] == "NONE" and float(values["GRANULE_MEAN_AOT"]) == 0.0
    tile = qi_values(granule / "MTD_TL.xml")
    cover = sum(float(tile[n]) for n in ("MEDIUM_PROBA_CLOUDS_PERCENTAGE", "HIGH_PROBA_CLOUDS_PERCENTAGE",
                                          "THIN_CIRRUS_PERCENTAGE"))
    assert float(tile["CLOUDY_PIXEL_PERCENTAGE"]) == pytest.approx(cover, abs=1e-5)
    root = parse_file(l2a / "MTD_MSIL2A.xml")
    assert float(find_local(root, "Quality_Indicators_Info/Cloud_Coverage_Assessment").text) == \
        pytest.approx(cover, abs=1e-5)
    assert find_local(root, ".//BOA_ADD_OFFSET_VALUES_LIST") is not None     # 05.09: offset -1000
    for tag in ("ESACCI_LandCover_Map", "SNOW_CLIMATOLOGY_MAP", "PRODUCTION_DEM_TYPE"):
        assert find_local(root, f"Auxiliary_Data_Info/{tag}").text == "None"  # none used yet
    quality = quality_values(granule / "QI_DATA" / "L2A_QUALITY.xml")
    for name in CLASS_QI + ("NODATA_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_PERCENTAGE"):
        assert float(quality[name]) == pytest.approx(float(tile[name]), abs=1e-6)
    assert quality["AOT_RETRIEVAL_METHOD"] == "NONE" and quality["OZONE_SOURCE"] == "AUX_ECMWFT"
    assert 'globalStatus="PASSED"' in (granule / "QI_DATA" / "L2A_QUALITY.xml").read_text()
    assert set(PRODUCT_QI_ORDER) <= set(qi_values(l2a / "MTD_MSIL2A.xml"))


def test_gdal_sentinel2_driver_reads_scl_and_probabilities(default_run):
    l2a, names = default_run, product_names(default_run)
    ds = gdal.Open(str(l2a / "MTD_MSIL2A.xml"))
    assert ds.GetMetadata()["PRODUCT_TYPE"] == "S2MSI2A"
    subdatasets = {v.split(":")[-2]: v for k, v in ds.GetMetadata("SUBDATASETS").items() if k.endswith("_NAME")}
    for res, (gdal_band, layer) in ((20, ("B8A", "B8A")), (60, ("B1", "B01"))):
        sub = gdal.Open(subdatasets[f"{res}m"])
        bands = {sub.GetRasterBand(i + 1).GetDescription().split(",")[0]: i + 1 for i in range(sub.RasterCount)}
        assert {"SCL", "CLD", "SNW", "AOT", "WVP", gdal_band} <= set(bands)
        scl = sub.GetRasterBand(bands["SCL"]).ReadAsArray()
        assert np.array_equal(scl, _read(l2a / names.image_relpath("SCL", res)))
        cld = sub.GetRasterBand(bands["CLD"]).ReadAsArray()
        assert np.array_equal(cld, _read(l2a / names.mask_relpath("MSK_CLDPRB", res)))
        band = sub.GetRasterBand(bands[gdal_band]).ReadAsArray()
        assert np.array_equal(band, _read(l2a / names.image_relpath(layer, res)))
        assert sub.GetGeoTransform() == pytest.approx(
            gdal.Open(str(l2a / names.image_relpath("SCL", res))).GetGeoTransform())
        sub = None


# ---------------------------------------------------------------------------------- variants
def test_resolution_60_runs_natively(l1c, product, home, tmp_path):
    l2a = _run(l1c["05.09"], tmp_path / "out", "--resolution", "60")
    names = product_names(l2a)
    granule = _granule(l2a)
    assert list((granule / "IMG_DATA" / "R20m").iterdir()) == []
    _, entries = _image_file_entries(l2a)
    assert entries == _expected_entries(names, (60,)) and sorted(entries) == _img_stems(l2a)
    ref = classify_product(product, 60, config=default_config(), mode="evolution")
    assert np.array_equal(_read(l2a / names.image_relpath("SCL", 60)), ref.scl)
    assert np.array_equal(_read(l2a / names.mask_relpath("MSK_CLDPRB", 60)), ref.cloud_probability)
    assert np.array_equal(_read(l2a / names.image_relpath("B01", 60)), product.read_band("B01"))
    assert np.array_equal(_read(l2a / names.image_relpath("B8A", 60)), band_dn_at(product, "B8A", 60)[0])
    masks = [m.text for m in findall_local(parse_file(granule / "MTD_TL.xml"), ".//MASK_FILENAME")
             if "PRB" in m.text]
    assert [m.rsplit("/", 1)[1] for m in masks] == ["MSK_CLDPRB_60m.jp2", "MSK_SNWPRB_60m.jp2"]
    assert not list(granule.glob("QI_DATA/*_20m.*"))
    assert float(qi_values(l2a / "MTD_MSIL2A.xml")["VEGETATION_PERCENTAGE"]) == \
        pytest.approx(ref.percentages()["VEGETATION_PERCENTAGE"], abs=1e-6)


@pytest.mark.parametrize("flag, ext, image_format", [("--tif", ".tif", "GEOTIFF"), ("--raw", ".rawl", "RAW")])
def test_tif_and_raw_outputs(l1c, default_run, home, tmp_path, flag, ext, image_format):
    l2a = _run(l1c["05.09"], tmp_path / "out", flag)
    names = product_names(l2a)
    granule_element, entries = _image_file_entries(l2a)
    assert granule_element.get("imageFormat") == image_format
    assert entries == _image_file_entries(default_run)[1]          # same layers as the JP2 run
    assert sorted(entries) == _img_stems(l2a)
    ref_names = product_names(default_run)
    for res in (20, 60):
        for layer in naming.RESOLUTION_LAYERS[res]:
            path = l2a / names.image_relpath(layer, res)
            assert path.suffix == ext and path.is_file()
            assert np.array_equal(_read(path), _read(default_run / ref_names.image_relpath(layer, res)))
            if flag == "--raw":
                header = path.with_suffix(".hdr").read_text()
                assert "map info" in header and "band names" in header
            ds = gdal.Open(str(path))
            if not layer == "TCI":
                assert ds.GetRasterBand(1).GetNoDataValue() == 0    # reflectance, SCL, AOT, WVP
        for mask in naming.PROBABILITY_MASKS:
            path = l2a / names.mask_relpath(mask, res)
            assert path.suffix == ext
            assert np.array_equal(_read(path), _read(default_run / ref_names.mask_relpath(mask, res)))
    scl = gdal.Open(str(l2a / names.image_relpath("SCL", 20)))
    assert scl.GetRasterBand(1).GetDescription() == "Scene Classification"
    assert (l2a / names.pvi_relpath()).suffix == ext
    tile = parse_file(_granule(l2a) / "MTD_TL.xml")
    for element in findall_local(tile, ".//MASK_FILENAME"):
        assert (l2a / element.text).is_file()


def test_sc_cog_writes_the_scl_as_cloud_optimized_geotiff(l1c, default_run, home, tmp_path):
    from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate

    l2a = _run(l1c["05.09"], tmp_path / "out", "--sc_cog")
    names = product_names(l2a)
    for res in (20, 60):
        stem = l2a / names.image_relpath("SCL", res)
        cog = stem.with_suffix(".tif")
        assert cog.is_file() and not stem.exists()
        _, errors, _ = validate(str(cog), full_check=True)
        assert errors == []
        ds = gdal.Open(str(cog))
        assert ds.GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.GetRasterBand(1).GetNoDataValue() == 0
        reference_scl = default_run / product_names(default_run).image_relpath("SCL", res)
        assert np.array_equal(ds.ReadAsArray(), _read(reference_scl))
        assert (l2a / names.image_relpath("B02", res)).suffix == ".jp2"      # the rest: JP2
        assert existing_image_path(l2a, names, "SCL", res) == cog
        assert existing_image_path(l2a, names, "B02", res) == l2a / names.image_relpath("B02", res)
    assert existing_image_path(l2a, names, "SCL", 10) is None
    _, entries = _image_file_entries(l2a)
    assert entries == _image_file_entries(default_run)[1] and sorted(entries) == _img_stems(l2a)


def test_sc_classic_differs_from_evolution_where_expected(l1c, reference, home, tmp_path):
    l2a = _run(l1c["05.09"], tmp_path / "out", "--sc_classic")
    scl = _read(l2a / product_names(l2a).image_relpath("SCL", 20))
    classic, evolution = reference["classic"].scl, reference["evolution"].scl
    assert np.array_equal(scl, classic)
    changed = classic != evolution
    assert changed.sum() > 50
    # the evolution mode's dilation of clouds and cloud shadows is what differs here: every changed
    # pixel became cloud shadow or cloud, and no classic cloud was lost
    assert np.isin(evolution[changed], (3, 8, 9)).all()
    assert np.isin(evolution[np.isin(classic, (8, 9))], (3, 8, 9, 10)).all()
    assert (evolution == 3).sum() > (classic == 3).sum()
    assert float(qi_values(l2a / "MTD_MSIL2A.xml")["CLOUD_SHADOW_PERCENTAGE"]) == \
        pytest.approx(reference["classic"].percentages()["CLOUD_SHADOW_PERCENTAGE"], abs=1e-6)


def test_gipp_options_tci_ddv_downsample(l1c, home, tmp_path):
    options = ProcessingOptions(output_dir=str(tmp_path / "out"), sc_only=True, overrides={
        "Generate_TCI_Output": False, "Generate_DDV_Output": True, "Downsample_20_to_60": False})
    result = process_product(l1c["05.09"], options)
    l2a, names = result.product_path, product_names(result.product_path)
    assert result.resolutions == (20,)
    _, entries = _image_file_entries(l2a)
    assert entries == _expected_entries(names, (20,), set(naming.RESOLUTION_LAYERS[20]) - {"TCI"})
    assert sorted(entries) == _img_stems(l2a)
    granule = _granule(l2a)
    assert list((granule / "IMG_DATA" / "R60m").iterdir()) == []
    ddv = _read(l2a / names.mask_relpath(naming.DDV_MASK, 20))
    assert ddv.dtype == np.uint8 and not ddv.any()
    assert (l2a / names.pvi_relpath()).is_file()                      # the preview is always made
    masks = [m.text.rsplit("/", 1)[1] for m in findall_local(parse_file(granule / "MTD_TL.xml"), ".//MASK_FILENAME")
             if "PRB" in m.text]
    assert masks == ["MSK_CLDPRB_20m.jp2", "MSK_SNWPRB_20m.jp2"]
    assert result.image_content_qi["CLOUDY_PIXEL_PERCENTAGE"] >= 0


def test_baseline_without_offset(l1c, home, tmp_path):
    l2a = _run(l1c["02.07"], tmp_path / "out")
    names = product_names(l2a)
    product = read_l1c(l1c["02.07"])
    assert not product.has_radiometric_offset
    read = lambda layer: _read(l2a / names.image_relpath(layer, 20))  # noqa: E731
    assert np.array_equal(read("B11"), product.read_band("B11"))
    assert np.array_equal(read("TCI"), true_colour(read("B04"), read("B03"), read("B02")))
    assert find_local(parse_file(l2a / "MTD_MSIL2A.xml"), ".//BOA_ADD_OFFSET_VALUES_LIST") is None
    assert l2a.name.startswith("S2A_MSIL2A_")


# ------------------------------------------------------------------- progress, cancel, refusals
def test_progress_reaches_every_stage(l1c, home, tmp_path):
    seen = []
    process_product(l1c["05.09"], ProcessingOptions(output_dir=str(tmp_path / "out"), sc_only=True),
                    progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) > 40
    text = " | ".join(m for _, m in seen)
    for stage in ("reading the Level-1C product", "reading B8A at 20 m", "scene classification at 20 m",
                  "cloud shadows", "writing the 20 m images", "writing the 60 m images",
                  "preview", "updating the product metadata"):
        assert stage in text, stage


@pytest.mark.parametrize("at", [0.1, 0.3, 0.7, 0.9, 0.97])
def test_cancel_leaves_nothing(l1c, home, tmp_path, at):
    out = tmp_path / "out"
    event = threading.Event()

    def progress(fraction, message):
        if fraction >= at:
            event.set()
    with pytest.raises(CancelledError):
        process_product(l1c["05.09"], ProcessingOptions(output_dir=str(out), sc_only=True),
                        progress=progress, cancel=event)
    assert not out.exists() or list(out.iterdir()) == []


def test_refusals_write_nothing(l1c, home, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="20 m or 60 m"):
        process_product(l1c["05.09"], ProcessingOptions(output_dir=str(out), sc_only=True, resolution=10))
    with pytest.raises(ConfigError, match="exclude"):
        process_product(l1c["05.09"], ProcessingOptions(output_dir=str(out), sc_only=True, cr_only=True))
    assert not out.exists()
