"""MTD_TL.xml parsing, field by field on the three real tile metadata files, plus angle merging."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from sen2cor_qgis.core.errors import ProductError, UnsupportedProductError
from sen2cor_qgis.core.product.metadata_tile import merge_detector_grids, parse_tile_metadata
from sen2cor_qgis.core.product.model import BAND_NAMES, AngleGrid

from .test_reader_support import DETECTOR_AZIMUTH, DETECTOR_ZENITH, SUN_ZENITH, Spec, tile_mtd

T23LLF = "S2A_MSIL1C_N0207_T23LLF_MTD_TL.xml"   # 02.07, psd-14, 7 detectors
T29SQB = "S2B_MSIL1C_N0205_T29SQB_MTD_TL.xml"   # 02.05, psd-12, 6 detectors
T34VCL = "S2A_MSIL1C_N0204_T34VCL_MTD_TL.xml"   # 02.04, psd-12, 4 detectors, old long mask names


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def tile(real_metadata_dir):
    cache = {}

    def parse(name: str):
        if name not in cache:
            path = real_metadata_dir / name
            cache[name] = parse_tile_metadata(path.read_bytes(), str(path))
        return cache[name]
    return parse


@pytest.mark.parametrize("name", [T23LLF, T29SQB, T34VCL])
def test_sizes_and_grid_shapes(tile, name):
    t = tile(name)
    assert t.geocoding.sizes == {10: (10980, 10980), 20: (5490, 5490), 60: (1830, 1830)}
    assert t.sun_angles.zenith.shape == t.sun_angles.azimuth.shape == (23, 23)
    assert (t.sun_angles.row_step, t.sun_angles.col_step) == (5000, 5000)
    assert not np.isnan(t.sun_angles.zenith).any()
    assert set(t.viewing_angles) == set(BAND_NAMES)
    assert set(t.mean_viewing_angles) == set(BAND_NAMES)
    for grid in t.viewing_angles_by_detector.values():
        assert grid.zenith.shape == (23, 23)
    for res in (10, 20, 60):
        ulx, uly, xdim, ydim = t.geocoding.geopositions[res]
        assert (xdim, ydim) == (res, -res)


def test_t23llf(tile):
    t = tile(T23LLF)
    assert t.psd_version == 14
    assert t.tile_id == "S2A_OPER_MSI_L1C_TL_SGS__20190425T164208_A020055_T23LLF_N02.07"
    assert t.tile_number == "23LLF"
    assert t.absolute_orbit == 20055
    assert t.datastrip_id == "S2A_OPER_MSI_L1C_DS_SGS__20190425T164208_S20190425T132236_N02.07"
    assert t.downlink_priority == "NOMINAL"
    assert t.sensing_time == utc(2019, 4, 25, 13, 26, 0, 865611)
    assert t.archiving_centre == "SGS_"
    assert t.archiving_time == utc(2019, 4, 25, 17, 19, 33, 692949)
    g = t.geocoding
    assert (g.cs_name, g.epsg) == ("WGS84 / UTM zone 23S", 32723)
    assert g.geopositions[10] == (300000, 8600020, 10, -10)
    assert g.geotransform(60) == (300000, 60, 0.0, 8600020, 0.0, -60)
    assert t.mean_sun_zenith == pytest.approx(35.736120160094)
    assert t.mean_sun_azimuth == pytest.approx(43.3890691221155)
    assert t.sun_angles.zenith[0, 0] == pytest.approx(35.7343)
    assert t.sun_angles.zenith[-1, -1] == pytest.approx(35.7485)
    assert t.sun_angles.azimuth[0, 0] == pytest.approx(44.5087)
    # 13 bands x 7 detectors
    assert len(t.viewing_angles_by_detector) == 91
    assert all(t.detectors(b) == [2, 3, 4, 5, 6, 7, 8] for b in BAND_NAMES)
    assert t.viewing_angles_by_detector[("B01", 2)].zenith[0, :2].tolist() == [8.66123, 8.27989]
    assert np.isnan(t.viewing_angles_by_detector[("B01", 2)].zenith[0, 2])
    assert t.mean_viewing_angles["B01"] == pytest.approx((4.0361274527807, 110.69891667113))
    assert t.mean_viewing_angles["B12"] == pytest.approx((3.98051145446127, 110.356710842433))
    assert t.cloudy_pixel_percentage == 0 and t.degraded_msi_data_percentage == 0
    assert t.snow_pixel_percentage is None
    assert t.pvi_filename == "GRANULE/L1C_T23LLF_A020055_20190425T132236/QI_DATA/T23LLF_20190425T132241_PVI.jp2"
    assert len(t.masks) == 13 * 5 + 1
    assert t.masks[0].mask_type == "MSK_DEFECT" and t.masks[0].band == "B01"
    clouds = [m for m in t.masks if m.mask_type == "MSK_CLOUDS"]
    assert len(clouds) == 1 and clouds[0].band is None
    assert clouds[0].filename.endswith("QI_DATA/MSK_CLOUDS_B00.gml")


def test_t29sqb_psd12(tile):
    t = tile(T29SQB)
    assert t.psd_version == 12
    assert t.tile_number == "29SQB" and t.absolute_orbit == 2594
    assert t.geocoding.epsg == 32629
    assert t.geocoding.geopositions[60] == (699960, 4200000, 60, -60)
    assert t.sensing_time == utc(2017, 9, 4, 11, 18, 25, 839000)
    assert t.mean_sun_zenith == pytest.approx(33.5697804526302)
    assert t.mean_sun_azimuth == pytest.approx(151.033631887749)
    assert t.sun_angles.zenith[0, 0] == pytest.approx(34.258)
    assert t.detectors("B01") == [4, 5, 6, 7, 8, 9]
    assert len(t.viewing_angles_by_detector) == 78
    assert t.mean_viewing_angles["B01"] == pytest.approx((3.07083507767877, 179.269862381923))
    assert t.cloudy_pixel_percentage == pytest.approx(0.055)
    assert t.masks[0].filename == "GRANULE/L1C_T29SQB_A002594_20170904T111825/QI_DATA/MSK_DEFECT_B01.gml"


def test_t34vcl_old_names_and_low_sun(tile):
    t = tile(T34VCL)
    assert t.psd_version == 12
    assert t.tile_id == "S2A_OPER_MSI_L1C_TL_SGS__20161122T171118_A007412_T34VCL_N02.04"
    assert t.tile_number == "34VCL" and t.absolute_orbit == 7412
    assert (t.geocoding.epsg, t.geocoding.geopositions[60][:2]) == (32634, (300000, 6600000))
    assert t.mean_sun_zenith == pytest.approx(79.492357640255)   # not clipped by the reader
    assert t.sun_angles.zenith.max() > 79.9
    assert t.detectors("B01") == [1, 2, 3, 4]
    assert len(t.viewing_angles_by_detector) == 52
    assert t.cloudy_pixel_percentage == 100
    assert t.masks[0].filename == "S2A_OPER_MSK_DEFECT_SGS__20161122T171118_A007412_T34VCL_B01_MSIL1C.gml"
    assert (t.masks[0].mask_type, t.masks[0].band) == ("MSK_DEFECT", "B01")
    assert t.masks[-1].filename == "S2A_OPER_MSK_CLOUDS_SGS__20161122T171118_A007412_T34VCL_B00_MSIL1C.gml"
    assert t.pvi_filename == "S2A_OPER_PVI_L1C_TL_SGS__20161122T171118_A007412_T34VCL"


@pytest.mark.parametrize("name", [T23LLF, T29SQB, T34VCL])
def test_merged_grid_takes_a_detector_value_at_every_covered_node(tile, name):
    t = tile(name)
    for band in BAND_NAMES:
        merged = t.viewing_angles[band]
        stack = np.stack([t.viewing_angles_by_detector[(band, d)].zenith for d in t.detectors(band)])
        covered = np.isfinite(stack).any(axis=0)
        assert np.array_equal(np.isfinite(merged.zenith), covered)
        assert np.array_equal(np.isfinite(merged.azimuth), covered)
        # each merged value is one of the detectors' values at that node
        assert np.all(np.any(stack == merged.zenith, axis=0)[covered])


def test_merged_grid_full_for_23llf(tile):
    merged = tile(T23LLF).viewing_angles["B01"]
    assert not np.isnan(merged.zenith).any()
    assert merged.zenith.min() > 0 and merged.zenith.max() < 12


def test_merge_prefers_lower_detector_and_keeps_pairs():
    grids = [AngleGrid(DETECTOR_ZENITH[d], DETECTOR_AZIMUTH[d], 5000, 5000) for d in (1, 2)]
    merged = merge_detector_grids(grids)
    assert merged.zenith[0].tolist() == [5.0, 4.0, 2.0]
    assert merged.azimuth[0].tolist() == [100.0, 101.0, 281.0]    # node 1: detector 1's pair, never a mean
    nan = np.full((2, 2), np.nan)
    only_nan = merge_detector_grids([AngleGrid(nan, nan, 5000, 5000)])
    assert np.isnan(only_nan.zenith).all() and np.isnan(only_nan.azimuth).all()


def test_generated_tile_metadata():
    t = parse_tile_metadata(tile_mtd(Spec()), "MTD_TL.xml")
    assert t.geocoding.sizes == {10: (36, 36), 20: (18, 18), 60: (6, 6)}
    assert np.array_equal(t.sun_angles.zenith, SUN_ZENITH)
    assert t.detectors("B8A") == [1, 2]        # sorted although written 2, 1
    assert t.viewing_angles["B01"].zenith[0].tolist() == [5.0, 4.0, 2.0]
    assert t.viewing_angles["B02"].zenith[0].tolist() == pytest.approx([5.1, 4.1, 2.1])
    assert t.snow_pixel_percentage == pytest.approx(0.0096)
    assert t.mean_viewing_angles["B8A"] == pytest.approx((3.8, 198.0))


def test_level2a_tile_refused():
    with pytest.raises(UnsupportedProductError, match="Level-2A"):
        parse_tile_metadata(tile_mtd(Spec(level="Level-2A")), "GRANULE/x/MTD_TL.xml")


def test_product_metadata_is_not_tile_metadata(real_metadata_dir):
    path = real_metadata_dir / "S2B_MSIL1C_N0509_T34UDD_MTD_MSIL1C.xml"
    with pytest.raises(ProductError, match="product metadata"):
        parse_tile_metadata(path.read_bytes(), str(path))


@pytest.mark.parametrize("old,new,message", [
    (b"<HORIZONTAL_CS_CODE>EPSG:32634</HORIZONTAL_CS_CODE>", b"<HORIZONTAL_CS_CODE>UTM34</HORIZONTAL_CS_CODE>",
     "not of the form EPSG"),
    (b'<Size resolution="20"><NROWS>18</NROWS><NCOLS>18</NCOLS></Size>', b"", "no Size for 20 m"),
    (b"<VALUES>40 40.5 41</VALUES>", b"<VALUES>40 40.5</VALUES>", "different lengths"),
    (b"<VALUES>40 40.5 41</VALUES>", b"<VALUES>40 x 41</VALUES>", "not a number"),
    (b"<Mean_Sun_Angle>", b"<Mean_Sun_Angle_X>", "Mean_Sun_Angle/ZENITH_ANGLE"),
])
def test_broken_tile_metadata(old, new, message):
    xml = tile_mtd(Spec())
    assert old in xml
    if new.startswith(b"<Mean_Sun_Angle_X>"):
        xml = xml.replace(b"</Mean_Sun_Angle>", b"</Mean_Sun_Angle_X>")
    with pytest.raises(ProductError, match=message) as err:
        parse_tile_metadata(xml.replace(old, new, 1), "/g/MTD_TL.xml")
    assert str(err.value).startswith("/g/MTD_TL.xml: ")
