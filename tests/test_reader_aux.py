"""AUX_ECMWFT / AUX_CAMSFO reading through GDAL's GRIB driver: identification, units, fallbacks."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from sen2cor_qgis.core.errors import ProductError
from sen2cor_qgis.core.product.auxiliary import (
    find_aux_files, kg_m2_to_dobson, read_auxiliary, read_camsfo, read_ecmwft, read_grib_fields,
)

from .test_reader_support import (
    CAMS_AOD, ECMWF_MSL, ECMWF_O3, ECMWF_WV, camsfo_grib1, ecmwft_grib1, grib1_message, write_grib2,
)


def test_ozone_conversion_constant():
    # reference §7.1: 0.005738 kg m-2 -> 267.8 DU; 6.428e-3 kg m-2 is 300 DU
    assert kg_m2_to_dobson(np.array([0.005738]))[0] == pytest.approx(267.8, abs=0.05)
    assert kg_m2_to_dobson(np.array([6.428e-3]))[0] == pytest.approx(300.0)


def test_ecmwf_grib1_as_ecmwf_writes_it(tmp_path):
    path = tmp_path / "AUX_ECMWFT"
    path.write_bytes(ecmwft_grib1())
    fields = read_grib_fields(str(path))
    assert [f.element for f in fields][1:] == ["MSL", "TCO3"]
    assert fields[0].element in ("TCWV", "PWC")          # GDAL's name for ECMWF parameter 128.137
    e = read_ecmwft(str(path))
    np.testing.assert_allclose(e.water_vapour_cm, ECMWF_WV / 10, rtol=1e-9)
    np.testing.assert_allclose(e.pressure_hpa, ECMWF_MSL / 100, rtol=1e-9)
    np.testing.assert_allclose(e.ozone_du, ECMWF_O3 / 6.428e-3 * 300, rtol=1e-6)
    assert e.ozone_du[0, 0] == pytest.approx(267.8, abs=0.05)
    assert e.geotransform == (18.75, 0.5, 0.0, 55.25, 0.0, -0.5)


def test_ecmwf_fields_found_by_name_in_any_order(tmp_path):
    path = tmp_path / "AUX_ECMWFT"
    path.write_bytes(ecmwft_grib1(order=("o3", "wv", "msl")))
    e = read_ecmwft(str(path))
    np.testing.assert_allclose(e.water_vapour_cm, ECMWF_WV / 10, rtol=1e-9)
    np.testing.assert_allclose(e.pressure_hpa, ECMWF_MSL / 100, rtol=1e-9)
    np.testing.assert_allclose(e.ozone_du, ECMWF_O3 / 6.428e-3 * 300, rtol=1e-6)


def test_ecmwf_grib2_wmo_codes(tmp_path):
    # WMO GRIB2 codes: 0/1/64 TCIWV, 0/3/1 PRMSL, 0/14/2 TCIOZ, written by GDAL in shuffled order
    path = write_grib2(tmp_path / "AUX_ECMWFT", [(0, 3, 1, ECMWF_MSL), (0, 14, 2, ECMWF_O3), (0, 1, 64, ECMWF_WV)])
    assert [f.element for f in read_grib_fields(str(path))] == ["PRMSL", "TCIOZ", "TCIWV"]
    e = read_ecmwft(str(path))
    np.testing.assert_allclose(e.water_vapour_cm, ECMWF_WV / 10, rtol=1e-6)
    np.testing.assert_allclose(e.pressure_hpa, ECMWF_MSL / 100, rtol=1e-6)
    np.testing.assert_allclose(e.ozone_du, ECMWF_O3 / 6.428e-3 * 300, rtol=1e-5)


def test_ecmwf_grib2_local_codes(tmp_path):
    # ECMWF local GRIB2 (discipline 192, category = table 128): GDAL cannot name them
    path = write_grib2(tmp_path / "AUX_ECMWFT", [(192, 128, 206, ECMWF_O3), (192, 128, 137, ECMWF_WV),
                                                 (192, 128, 151, ECMWF_MSL)], centre="98(ECMWF)")
    assert read_grib_fields(str(path))[0].local_parameter == (128, 206)
    e = read_ecmwft(str(path))
    np.testing.assert_allclose(e.water_vapour_cm, ECMWF_WV / 10, rtol=1e-6)
    np.testing.assert_allclose(e.ozone_du, ECMWF_O3 / 6.428e-3 * 300, rtol=1e-5)


def test_ecmwf_band_order_fallback(tmp_path, caplog):
    # unknown parameters (GRIB1 table 2, parameters 200-202): Sen2Cor's band order applies
    data = (grib1_message(ECMWF_WV, 2, 200, 2, centre=7) + grib1_message(ECMWF_MSL, 2, 201, 0, centre=7)
            + grib1_message(ECMWF_O3, 2, 202, 7, centre=7))
    path = tmp_path / "AUX_ECMWFT"
    path.write_bytes(data)
    with caplog.at_level("WARNING"):
        e = read_ecmwft(str(path))
    np.testing.assert_allclose(e.water_vapour_cm, ECMWF_WV / 10, rtol=1e-9)
    np.testing.assert_allclose(e.pressure_hpa, ECMWF_MSL / 100, rtol=1e-9)
    np.testing.assert_allclose(e.ozone_du, ECMWF_O3 / 6.428e-3 * 300, rtol=1e-6)
    assert "band order" in caplog.text


def test_ecmwf_partial_identification_does_not_reuse_a_named_band(tmp_path):
    # only ozone (named) and one unknown field: the unknown first band is taken as water vapour,
    # pressure stays None rather than reusing the ozone band
    data = grib1_message(ECMWF_WV, 2, 200, 2, centre=7) + grib1_message(ECMWF_O3, 128, 206, 7)
    path = tmp_path / "AUX_ECMWFT"
    path.write_bytes(data)
    e = read_ecmwft(str(path))
    np.testing.assert_allclose(e.water_vapour_cm, ECMWF_WV / 10, rtol=1e-9)
    assert e.pressure_hpa is None
    np.testing.assert_allclose(e.ozone_du, ECMWF_O3 / 6.428e-3 * 300, rtol=1e-6)


def test_ozone_already_in_dobson_is_not_converted(tmp_path):
    path = write_grib2(tmp_path / "g", [(0, 1, 64, ECMWF_WV), (0, 3, 1, ECMWF_MSL), (0, 14, 0, ECMWF_O3 * 50000)])
    e = read_ecmwft(str(path))
    np.testing.assert_allclose(e.ozone_du, ECMWF_O3 * 50000, rtol=1e-6)


def test_camsfo_grib1_table_210(tmp_path):
    path = tmp_path / "AUX_CAMSFO"
    path.write_bytes(camsfo_grib1())
    aod, transform = read_camsfo(str(path))
    np.testing.assert_allclose(aod, CAMS_AOD, rtol=1e-9)     # parameter 207, not the first field (213)
    assert transform[1] == 0.5


def test_camsfo_grib2_local_code(tmp_path):
    path = write_grib2(tmp_path / "AUX_CAMSFO", [(192, 210, 213, CAMS_AOD * 2), (192, 210, 207, CAMS_AOD)],
                       centre="98(ECMWF)")
    aod, _ = read_camsfo(str(path))
    np.testing.assert_allclose(aod, CAMS_AOD, rtol=1e-6)


def test_camsfo_without_aod550_refused(tmp_path):
    path = write_grib2(tmp_path / "AUX_CAMSFO", [(0, 3, 0, ECMWF_MSL), (0, 3, 1, ECMWF_MSL)])
    with pytest.raises(ProductError, match="no aod550 field"):
        read_camsfo(str(path))


def test_camsfo_single_unknown_field_taken(tmp_path):
    path = write_grib2(tmp_path / "AUX_CAMSFO", [(0, 20, 102, CAMS_AOD)])
    aod, _ = read_camsfo(str(path))
    np.testing.assert_allclose(aod, CAMS_AOD, rtol=1e-6)


def test_grib_in_zip(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("X.SAFE/AUX_DATA/AUX_ECMWFT", ecmwft_grib1())
    e = read_ecmwft(f"/vsizip/{archive}/X.SAFE/AUX_DATA/AUX_ECMWFT")
    np.testing.assert_allclose(e.pressure_hpa, ECMWF_MSL / 100, rtol=1e-9)


def test_unreadable_grib(tmp_path):
    path = tmp_path / "AUX_ECMWFT"
    path.write_bytes(b"GRIB garbage")
    with pytest.raises(ProductError) as err:
        read_ecmwft(str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_read_auxiliary_collects_errors(tmp_path):
    good = tmp_path / "AUX_CAMSFO"
    good.write_bytes(camsfo_grib1())
    bad = tmp_path / "AUX_ECMWFT"
    bad.write_bytes(b"not grib")
    aux = read_auxiliary(str(bad), str(good))
    assert aux.ozone_du is None and aux.mean_ozone_du is None
    np.testing.assert_allclose(aux.aod550, CAMS_AOD, rtol=1e-9)
    assert aux.mean_aod550 == pytest.approx(CAMS_AOD.mean())
    assert len(aux.errors) == 1 and str(bad) in aux.errors[0]
    empty = read_auxiliary(None, None)
    assert empty.errors == () and empty.water_vapour_cm is None


def test_find_aux_files():
    assert find_aux_files(["AUX_CAMSFO", "AUX_ECMWFT"]) == ("AUX_ECMWFT", "AUX_CAMSFO")
    long_name = "S2A_OPER_AUX_ECMWFT_SGS__20161122T171118_A007412_T34VCL_N02.04"
    assert find_aux_files([long_name]) == (long_name, None)
    assert find_aux_files(["AUX_ECMWFT.aux.xml", "README"]) == (None, None)
