"""read_l1c on small SAFE trees: folder, .zip and MTD_MSIL1C.xml inputs; masks, AUX, raw bytes."""
from __future__ import annotations

import pickle
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from sen2cor_qgis.core.errors import ProductError
from sen2cor_qgis.core.product.l1c_reader import read_l1c
from sen2cor_qgis.core.product.masks import (
    CLASSI_LAYERS, QUALIT_LAYERS, find_mask, gml_mask_paths, mask_kind, read_mask,
)
from sen2cor_qgis.core.product.model import BAND_NAMES, L1CProduct

from .test_reader_support import (
    CAMS_AOD, ECMWF_MSL, ECMWF_O3, ECMWF_WV, SUN_ZENITH, Spec, band_values, build_real_band_safe, build_safe,
    zip_tree,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def safe(tmp_path_factory):
    return build_safe(tmp_path_factory.mktemp("p"))


@pytest.fixture(scope="module")
def product(safe) -> L1CProduct:
    return read_l1c(safe)


@pytest.fixture(scope="module")
def zipped(safe, tmp_path_factory) -> L1CProduct:
    return read_l1c(zip_tree(safe, tmp_path_factory.mktemp("z") / (safe.stem + ".zip")))


def test_product_fields(product, safe):
    spec = Spec()
    assert product.input_path == str(safe)
    assert product.safe_path == str(safe) and product.safe_name == spec.safe_name and not product.is_zip
    assert product.product_uri == spec.safe_name
    assert (product.spacecraft, product.spacecraft_name) == ("S2B", "Sentinel-2B")
    assert (product.processing_level, product.product_type) == ("Level-1C", "S2MSI1C")
    assert (product.processing_baseline, product.baseline_number, product.psd_version) == ("05.09", 5.09, 14)
    assert product.product_start_time == utc(2023, 8, 23, 9, 55, 59, 24000)
    assert product.generation_time == utc(2023, 8, 23, 12, 2, 34)
    assert product.datatake_sensing_start == utc(2023, 8, 23, 9, 55, 59, 24000)
    assert product.datatake_identifier == "GS2B_20230823T095559_033753_N05.09"
    assert product.sensing_orbit_number == 122
    assert product.product_format == "SAFE_COMPACT"
    assert product.quantification_value == 10000
    assert product.special_values == {"NODATA": 0, "SATURATED": 65535}
    assert product.display_order == (3, 2, 1)
    assert product.reflectance_conversion_u == 0.978
    assert list(product.bands) == list(BAND_NAMES)
    assert product.has_radiometric_offset and product.bands["B12"].radio_add_offset == -1000
    assert product.bands["B01"].solar_irradiance == 1874.3
    assert product.footprint[0] == (55.0, 19.0)
    assert product.product_doi == "https://doi.org/10.5270/S2_-742ikth"
    assert product.cloud_coverage_assessment == 3.5
    assert product.datastrip_path == str(safe / "DATASTRIP" / "DS_2BPS_20230823T120234_S20230823T095553")


def test_granule_fields(product, safe):
    spec = Spec()
    g = product.granule
    assert g.folder_name == spec.granule_folder
    assert g.path == str(safe / "GRANULE" / spec.granule_folder)
    assert g.tile_id == spec.tile_id and g.tile_number == "34UCF"
    assert g.datastrip_id == spec.datastrip_id
    assert g.sensing_time == utc(2023, 8, 23, 9, 55, 53, 271949)
    assert g.absolute_orbit == 33753
    assert (g.archiving_centre, g.archiving_time) == ("2BPS", utc(2023, 8, 23, 12, 2, 34, 812988))
    assert g.geocoding.epsg == 32634
    assert g.geocoding.sizes == {10: (36, 36), 20: (18, 18), 60: (6, 6)}
    assert g.geocoding.geotransform(20) == (300000, 20, 0.0, 6100020, 0.0, -20)
    np.testing.assert_array_equal(g.sun_angles.zenith, SUN_ZENITH)
    assert (g.mean_sun_zenith, g.mean_sun_azimuth) == (40.7, 151.5)
    assert len(g.viewing_angles_by_detector) == 26 and set(g.viewing_angles) == set(BAND_NAMES)
    assert g.mean_viewing_angles["B01"] == (3.0, 190.0)
    assert set(g.image_files) == set(BAND_NAMES) | {"TCI"}
    assert g.image_files["B8A"] == str(safe / (spec.image_file("B8A") + ".jp2"))
    assert g.pvi_path.endswith("QI_DATA/T34UCF_20230823T095559_PVI.jp2")
    assert (g.cloudy_pixel_percentage, g.snow_pixel_percentage) == (3.34, 0.0096)
    assert g.degraded_msi_data_percentage == 0.0019


def test_raw_metadata_bytes_kept(product, safe):
    spec = Spec()
    assert product.mtd_xml == (safe / "MTD_MSIL1C.xml").read_bytes()
    assert product.mtd_path == str(safe / "MTD_MSIL1C.xml")
    tile = safe / "GRANULE" / spec.granule_folder / "MTD_TL.xml"
    assert product.tile_mtd_xml == tile.read_bytes() and product.tile_mtd_path == str(tile)
    assert product.manifest_xml == (safe / "manifest.safe").read_bytes()


def test_auxiliary_data(product):
    aux = product.granule.auxiliary
    assert aux.ecmwft_path.endswith("AUX_DATA/AUX_ECMWFT") and aux.camsfo_path.endswith("AUX_DATA/AUX_CAMSFO")
    np.testing.assert_allclose(aux.water_vapour_cm, ECMWF_WV / 10)
    np.testing.assert_allclose(aux.pressure_hpa, ECMWF_MSL / 100)
    np.testing.assert_allclose(aux.ozone_du, ECMWF_O3 / 6.428e-3 * 300, rtol=1e-6)
    np.testing.assert_allclose(aux.aod550, CAMS_AOD)
    assert aux.mean_ozone_du == pytest.approx((ECMWF_O3 / 6.428e-3 * 300).mean(), rel=1e-6)
    assert aux.ecmwft_geotransform is not None and aux.errors == ()


def test_raster_masks(product):
    g = product.granule
    assert [(m.mask_type, m.band, m.raster) for m in g.quality_masks] == [
        ("MSK_DETFOO", "B01", True), ("MSK_QUALIT", "B01", True), ("MSK_CLASSI", None, True)]
    classi = find_mask(g, "MSK_CLASSI")
    cirrus = read_mask(classi, "CIRRUS")
    assert cirrus.dtype == np.uint8 and cirrus.shape == (6, 6)
    assert (np.diag(cirrus) == 2).all() and cirrus.sum() == 12
    assert (np.diag(read_mask(classi, 3)) == CLASSI_LAYERS.index("SNOW_ICE") + 1).all()
    qualit = find_mask(g, "MSK_QUALIT", "B01")
    saturated = read_mask(qualit, "QT_SATURATED_PIXELS", window=(1, 0, 2, 3))
    assert saturated.tolist() == [[0, 8, 0], [0, 0, 8]]
    assert read_mask(qualit, QUALIT_LAYERS.index("MSI_LOST") + 1)[0, 0] == 3
    with pytest.raises(ValueError, match="no layer"):
        read_mask(qualit, "CIRRUS")
    with pytest.raises(ProductError, match="has 1 band"):
        read_mask(find_mask(g, "MSK_DETFOO", "B01"), 2)
    assert find_mask(g, "MSK_QUALIT", "B02") is None
    assert gml_mask_paths(g) == []


def test_zip_input_reads_in_place(zipped, product):
    assert zipped.is_zip and zipped.safe_path.startswith("/vsizip/") and zipped.safe_path.endswith(".SAFE")
    assert zipped.safe_name == product.safe_name
    assert zipped.granule.image_files["B01"].startswith("/vsizip/")
    np.testing.assert_array_equal(zipped.read_band("B04", (2, 3, 4, 5)), product.read_band("B04", (2, 3, 4, 5)))
    assert zipped.mtd_xml == product.mtd_xml and zipped.tile_mtd_xml == product.tile_mtd_xml
    assert zipped.manifest_xml == product.manifest_xml
    np.testing.assert_allclose(zipped.granule.auxiliary.aod550, CAMS_AOD)
    assert (np.diag(read_mask(find_mask(zipped.granule, "MSK_CLASSI"), 1)) == 1).all()
    assert zipped.granule.pvi_path.startswith("/vsizip/")
    assert zipped.datastrip_path.startswith("/vsizip/")
    # read in place: nothing extracted or written beside the archive
    assert [p.name for p in Path(zipped.input_path).parent.iterdir()] == [Path(zipped.input_path).name]


def test_zip_with_other_extension_and_nested_folder(safe, tmp_path):
    archive = zip_tree(safe, tmp_path / "download.bin", arc_root="outer/")
    p = read_l1c(archive)
    assert p.safe_path.startswith("/vsizip/{") and "/outer/" in p.safe_path
    np.testing.assert_array_equal(p.read_band("B01"), band_values(Spec(), "B01"))


def test_mtd_file_input(safe):
    p = read_l1c(safe / "MTD_MSIL1C.xml")
    assert p.input_path == str(safe / "MTD_MSIL1C.xml") and p.safe_path == str(safe)
    assert p.granule.absolute_orbit == 33753


def test_product_pickles(product):
    clone = pickle.loads(pickle.dumps(product))
    assert clone.product_uri == product.product_uri
    np.testing.assert_array_equal(clone.read_band("B02", (0, 0, 3, 3)), product.read_band("B02", (0, 0, 3, 3)))


def test_old_baseline_gml_masks_long_aux_names(tmp_path):
    spec = Spec(spacecraft="S2A", baseline="02.06", offset=None, absolute_orbit=15048, centre="MTI_")
    p = read_l1c(build_safe(tmp_path, spec, long_aux_names=True))
    assert not p.has_radiometric_offset and p.bands["B01"].radio_add_offset == 0
    toa = p.read_toa("B01")
    np.testing.assert_allclose(toa.reflectance[1, 0], band_values(spec, "B01")[1, 0] / 10000, rtol=1e-6)
    assert [(m.mask_type, m.band, m.raster) for m in p.granule.quality_masks] == [
        ("MSK_DEFECT", "B01", False), ("MSK_DETFOO", "B01", False), ("MSK_CLOUDS", None, False)]
    assert gml_mask_paths(p.granule, "MSK_CLOUDS") == [p.granule.quality_masks[2].path]
    assert len(gml_mask_paths(p.granule, band="B01")) == 2
    with pytest.raises(ProductError, match="GML vector mask"):
        read_mask(p.granule.quality_masks[0])
    aux = p.granule.auxiliary
    assert aux.ecmwft_path.endswith("S2A_OPER_AUX_ECMWFT_SGS__20230823T120234")
    assert aux.camsfo_path is None and aux.aod550 is None
    assert aux.mean_water_vapour_cm == pytest.approx(ECMWF_WV.mean() / 10)


def test_missing_listed_mask_is_dropped_with_warning(tmp_path, caplog):
    spec = Spec()
    safe = build_safe(tmp_path, spec)
    (safe / "GRANULE" / spec.granule_folder / "QI_DATA" / "MSK_QUALIT_B01.jp2").unlink()
    with caplog.at_level("WARNING"):
        p = read_l1c(safe)
    assert [m.mask_type for m in p.granule.quality_masks] == ["MSK_DETFOO", "MSK_CLASSI"]
    assert "1 of the 3 quality masks" in caplog.text and "MSK_QUALIT_B01.jp2" in caplog.text


def test_masks_found_by_scanning_when_not_listed(tmp_path):
    spec = Spec()
    safe = build_safe(tmp_path, spec)
    tile = safe / "GRANULE" / spec.granule_folder / "MTD_TL.xml"
    xml = tile.read_bytes()
    start, end = xml.index(b"<Pixel_Level_QI"), xml.index(b"</Pixel_Level_QI>") + len(b"</Pixel_Level_QI>")
    tile.write_bytes(xml[:start] + xml[end:])
    kinds = sorted((m.mask_type, m.band) for m in read_l1c(safe).granule.quality_masks)
    assert kinds == [("MSK_CLASSI", None), ("MSK_DETFOO", "B01"), ("MSK_QUALIT", "B01")]


def test_real_tile_with_old_long_mask_names(tmp_path, real_metadata_dir, real_bands_dir):
    safe, spec = build_real_band_safe(tmp_path, real_metadata_dir / "S2A_MSIL1C_N0204_T34VCL_MTD_TL.xml",
                                      real_bands_dir / "T34VCL_20161122_B01.jp2")
    p = read_l1c(safe)
    g = p.granule
    assert (p.processing_baseline, g.tile_number, g.absolute_orbit) == ("02.04", "34VCL", 7412)
    assert g.folder_name == "L1C_T34VCL_A007412_20161122T100336"
    assert g.mean_sun_zenith == pytest.approx(79.492357640255)
    assert len(g.quality_masks) == 66 and not any(m.raster for m in g.quality_masks)
    defect = find_mask(g, "MSK_DEFECT", "B01")
    assert defect.path == str(safe / "GRANULE" / g.folder_name / "QI_DATA" /
                              "S2A_OPER_MSK_DEFECT_SGS__20161122T171118_A007412_T34VCL_B01_MSIL1C.gml")
    clouds = gml_mask_paths(g, "MSK_CLOUDS")
    assert len(clouds) == 1 and clouds[0].endswith("_T34VCL_B00_MSIL1C.gml")
    assert len(gml_mask_paths(g, band="B8A")) == 5
    assert g.pvi_path is None        # 'S2A_OPER_PVI_L1C_TL_..._T34VCL' listed without extension, absent here


def test_real_tile_pvi_without_extension_is_resolved(tmp_path, real_metadata_dir, real_bands_dir):
    safe, spec = build_real_band_safe(tmp_path, real_metadata_dir / "S2A_MSIL1C_N0204_T34VCL_MTD_TL.xml",
                                      real_bands_dir / "T34VCL_20161122_B01.jp2")
    pvi = safe / "GRANULE" / spec.granule_folder / "QI_DATA" / "S2A_OPER_PVI_L1C_TL_SGS__20161122T171118_A007412_T34VCL.jp2"
    pvi.write_bytes(b"")
    assert read_l1c(safe).granule.pvi_path == str(pvi)


def test_absolute_orbit_from_tile_id_when_folder_has_none(tmp_path):
    spec = Spec()
    safe = build_safe(tmp_path, spec)
    old = safe / "GRANULE" / spec.granule_folder
    new_name = "L1C_T34UCF_renamed"
    shutil.move(old, old.parent / new_name)
    for name in ("MTD_MSIL1C.xml",):
        path = safe / name
        path.write_bytes(path.read_bytes().replace(spec.granule_folder.encode(), new_name.encode()))
    p = read_l1c(safe)
    assert p.granule.folder_name == new_name and p.granule.absolute_orbit == 33753


@pytest.mark.parametrize("name,kind", [
    ("MSK_CLASSI_B00.jp2", ("MSK_CLASSI", None)),
    ("MSK_QUALIT_B8A.jp2", ("MSK_QUALIT", "B8A")),
    ("S2A_OPER_MSK_DEFECT_SGS__20161122T171118_A007412_T34VCL_B01_MSIL1C.gml", ("MSK_DEFECT", "B01")),
    ("GRANULE/x/QI_DATA/MSK_DETFOO_B12.gml", ("MSK_DETFOO", "B12")),
    ("T34UCF_20230823T095559_PVI.jp2", None),
])
def test_mask_kind(name, kind):
    assert mask_kind(name) == kind
