"""Lazy windowed band access: the two real 60 m bands in minimal products, and synthetic bands."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from sen2cor_qgis.core.errors import ProductError
from sen2cor_qgis.core.product.bands import BandReader, ToaBlock, check_band_files, dn_to_toa, iter_windows
from sen2cor_qgis.core.product.l1c_reader import read_l1c

from .test_reader_support import RES, Spec, band_values, build_real_band_safe, build_safe, write_jp2

T29SQB_TILE = "S2B_MSIL1C_N0205_T29SQB_MTD_TL.xml"
T29SQB_BAND = "T29SQB_20170904_B01.jp2"
T34VCL_TILE = "S2A_MSIL1C_N0204_T34VCL_MTD_TL.xml"
T34VCL_BAND = "T34VCL_20161122_B01.jp2"


@pytest.fixture(scope="module")
def t29sqb(tmp_path_factory, real_metadata_dir, real_bands_dir):
    safe, _ = build_real_band_safe(tmp_path_factory.mktemp("t29sqb"), real_metadata_dir / T29SQB_TILE,
                                   real_bands_dir / T29SQB_BAND)
    return read_l1c(safe)


@pytest.fixture(scope="module")
def t34vcl(tmp_path_factory, real_metadata_dir, real_bands_dir):
    safe, _ = build_real_band_safe(tmp_path_factory.mktemp("t34vcl"), real_metadata_dir / T34VCL_TILE,
                                   real_bands_dir / T34VCL_BAND)
    return read_l1c(safe)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return read_l1c(build_safe(tmp_path_factory.mktemp("tiny")))


# -- real bands ---------------------------------------------------------------------------------------
def test_real_t29sqb_georeferencing_matches_tile_metadata(t29sqb):
    reader = t29sqb.band_reader("B01")
    assert reader.shape == (1830, 1830) == t29sqb.band_size("B01")
    assert reader.epsg() == 32629 == t29sqb.granule.geocoding.epsg
    assert reader.geotransform() == pytest.approx(t29sqb.granule.geocoding.geotransform(60))
    assert reader.geotransform()[0] == 699960 and reader.geotransform()[3] == 4200000


def test_real_t29sqb_values(t29sqb):
    dn = t29sqb.read_band("B01")
    assert dn.dtype == np.uint16 and dn.shape == (1830, 1830)
    assert (dn == 0).sum() == 0
    assert (dn.min(), dn.max()) == (989, 9409)
    assert dn.mean() == pytest.approx(1353.7, abs=0.05)
    toa = t29sqb.read_toa("B01")
    assert isinstance(toa, ToaBlock) and toa.reflectance.dtype == np.float32
    assert not toa.nodata.any() and not toa.saturated.any()
    np.testing.assert_allclose(toa.reflectance, dn / 10000.0, rtol=1e-6)   # 02.05: no offset


def test_real_t34vcl_nodata(t34vcl):
    reader = t34vcl.band_reader("B01")
    assert reader.epsg() == 32634
    assert reader.geotransform()[0] == 300000 and reader.geotransform()[3] == 6600000
    toa = reader.read_toa()
    assert toa.nodata.mean() * 100 == pytest.approx(35.41, abs=0.01)
    assert np.isnan(toa.reflectance[toa.nodata]).all()
    assert np.isfinite(toa.reflectance[~toa.nodata]).all()
    dn = reader.read_dn()
    valid = dn[dn != 0]
    assert (valid.min(), valid.max()) == (3238, 10128)
    assert valid.mean() == pytest.approx(6157, abs=0.5)
    np.testing.assert_allclose(toa.reflectance[~toa.nodata], valid / 10000.0, rtol=1e-6)


def test_real_windows_match_full_read(t34vcl):
    reader = t34vcl.band_reader("B01")
    full = reader.read_dn()
    window = (1000, 250, 300, 700)
    np.testing.assert_array_equal(reader.read_dn(window), full[1000:1300, 250:950])
    mosaic = np.zeros_like(full)
    for row, col, nrows, ncols in iter_windows(reader.shape, 512, 700):
        mosaic[row:row + nrows, col:col + ncols] = reader.read_dn((row, col, nrows, ncols))
    np.testing.assert_array_equal(mosaic, full)


def test_nothing_is_read_at_parse_time(t29sqb):
    # the other bands of the harness are empty placeholder files: parsing succeeded, reading fails
    with pytest.raises(ProductError) as err:
        t29sqb.read_band("B02")
    text = str(err.value)
    assert t29sqb.granule.image_files["B02"] in text and "cannot open band B02" in text and "\n" not in text


# -- synthetic bands ----------------------------------------------------------------------------------
@pytest.mark.parametrize("band", ["B01", "B02", "B8A", "B12"])
def test_native_resolution_reads(tiny, band):
    dn = tiny.read_band(band)
    spec = Spec()
    assert dn.shape == (spec.size(RES[band]),) * 2
    np.testing.assert_array_equal(dn, band_values(spec, band))


def test_toa_with_offset_and_special_values(tiny):
    toa = tiny.read_toa("B02")
    dn = band_values(Spec(), "B02")
    assert toa.nodata[0, :2].all() and toa.nodata.sum() == 2
    assert toa.saturated[-1, -1] and toa.saturated.sum() == 1
    assert np.isnan(toa.reflectance[0, :2]).all()
    expected = (dn.astype(np.float64) - 1000) / 10000
    np.testing.assert_allclose(toa.reflectance[~toa.nodata], expected[~toa.nodata], rtol=1e-6)
    assert toa.reflectance[-1, -1] == pytest.approx((65535 - 1000) / 10000)


def test_windowed_read_on_the_bands_own_grid(tiny):
    dn = tiny.read_band("B05", (3, 4, 5, 6))
    np.testing.assert_array_equal(dn, band_values(Spec(), "B05")[3:8, 4:10])
    toa = tiny.read_toa("B05", (0, 0, 1, 3))
    assert toa.reflectance.shape == toa.nodata.shape == toa.saturated.shape == (1, 3)


@pytest.mark.parametrize("window", [(0, 0, 0, 1), (-1, 0, 2, 2), (0, 0, 7, 1), (5, 5, 2, 1), (0, 0, 1)])
def test_windows_outside_the_grid_refused(tiny, window):
    with pytest.raises(ValueError):
        tiny.read_band("B01", window)


def test_dn_to_toa_values():
    dn = np.array([[0, 1, 500, 1000], [1500, 10000, 65534, 65535]], dtype=np.uint16)
    toa = dn_to_toa(dn, -1000, 10000)
    assert toa.nodata.tolist() == [[True, False, False, False], [False] * 4]
    assert toa.saturated.tolist() == [[False] * 4, [False, False, False, True]]
    np.testing.assert_allclose(toa.reflectance[0, 1:], [-0.0999, -0.05, 0.0], atol=1e-7)  # valid negatives kept
    np.testing.assert_allclose(toa.reflectance[1], [0.05, 0.9, 6.4534, 6.4535], rtol=1e-6)
    no_offset = dn_to_toa(dn, 0, 10000)
    assert no_offset.reflectance[0, 2] == pytest.approx(0.05)


def test_reader_pickles_without_its_dataset(tiny):
    reader = tiny.band_reader("B03")
    first = reader.read_dn((0, 0, 2, 2))
    clone = pickle.loads(pickle.dumps(reader))
    assert clone._dataset is None
    np.testing.assert_array_equal(clone.read_dn((0, 0, 2, 2)), first)


def test_check_band_files_passes(tiny):
    check_band_files(tiny)


def test_band_size_mismatch(tmp_path):
    spec = Spec()
    safe = build_safe(tmp_path, spec)
    path = safe / (spec.image_file("B09") + ".jp2")
    write_jp2(path, [np.ones((5, 6), np.uint16)], spec.epsg, spec.geotransform(60))
    product = read_l1c(safe)
    with pytest.raises(ProductError) as err:
        product.read_band("B09")
    text = str(err.value)
    assert str(path) in text and "5 x 6 pixels" in text and "6 x 6 at 60 m" in text
    with pytest.raises(ProductError, match="B09"):
        check_band_files(product)


def test_band_data_type_checked(tmp_path):
    spec = Spec()
    safe = build_safe(tmp_path, spec)
    write_jp2(safe / (spec.image_file("B10") + ".jp2"), [np.ones((6, 6), np.uint8)], spec.epsg, spec.geotransform(60))
    with pytest.raises(ProductError, match="data type Byte, expected UInt16"):
        read_l1c(safe).read_band("B10")


def test_corrupt_band_file(tmp_path):
    spec = Spec()
    safe = build_safe(tmp_path, spec)
    path = safe / (spec.image_file("B11") + ".jp2")
    path.write_bytes(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"garbage" * 20)
    with pytest.raises(ProductError) as err:
        read_l1c(safe).read_band("B11")
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_band_reader_direct_construction(tmp_path):
    path = write_jp2(tmp_path / "b.jp2", [np.full((4, 5), 1200, np.uint16)], 32634, (0, 10, 0, 0, 0, -10))
    reader = BandReader(str(path), "B02", 10, (4, 5), offset=-1000, quantification=10000)
    assert reader.read_toa().reflectance[0, 0] == pytest.approx(0.02)


def test_iter_windows_cover_the_grid_once():
    windows = list(iter_windows((10, 7), 4, 3))
    cover = np.zeros((10, 7), int)
    for row, col, nrows, ncols in windows:
        cover[row:row + nrows, col:col + ncols] += 1
    assert (cover == 1).all() and windows[-1] == (8, 6, 2, 1)
    assert list(iter_windows((3, 3), 5)) == [(0, 0, 3, 3)]
