"""MTD_MSIL1C.xml parsing, field by field on the three real product metadata files, plus refusals."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from sen2cor_qgis.core.errors import ProductError, UnsupportedProductError
from sen2cor_qgis.core.product.metadata_common import parse_utc
from sen2cor_qgis.core.product.metadata_product import parse_product_metadata
from sen2cor_qgis.core.product.model import BAND_NAMES

from .test_reader_support import Spec, product_mtd

N0509 = "S2B_MSIL1C_N0509_T34UDD_MTD_MSIL1C.xml"
N0206 = "S2A_MSIL1C_N0206_T35VNE_MTD_MSIL1C.xml"
N0205 = "S2A_MSIL1C_N0205_T32UMF_MTD_MSIL1C.xml"
L2A = "S2B_MSIL2A_N0510_T21JUK_MTD_MSIL2A.xml"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def meta(real_metadata_dir):
    def parse(name: str):
        path = real_metadata_dir / name
        return parse_product_metadata(path.read_bytes(), str(path))
    return parse


# -- baseline 05.09 (S2B, with radiometric offset) -------------------------------------------------
def test_n0509_general_info(meta):
    m = meta(N0509)
    assert m.product_uri == "S2B_MSIL1C_20230601T094549_N0509_R079_T34UDD_20230601T115221.SAFE"
    assert (m.spacecraft, m.spacecraft_name) == ("S2B", "Sentinel-2B")
    assert (m.processing_level, m.product_type, m.processing_baseline) == ("Level-1C", "S2MSI1C", "05.09")
    assert m.psd_version == 14
    assert m.product_doi == "https://doi.org/10.5270/S2_-742ikth"
    assert m.product_start_time == utc(2023, 6, 1, 9, 45, 49, 24000)
    assert m.product_stop_time == m.product_start_time
    assert m.generation_time == utc(2023, 6, 1, 11, 52, 21)
    assert m.product_start_time.tzinfo is not None
    assert m.datatake_identifier == "GS2B_20230601T094549_032566_N05.09"
    assert m.datatake_type == "INS-NOBS"
    assert m.datatake_sensing_start == utc(2023, 6, 1, 9, 45, 49, 24000)
    assert m.sensing_orbit_number == 79
    assert m.sensing_orbit_direction == "ASCENDING"   # as written (README: do not rely on it)
    assert m.product_format == "SAFE_COMPACT"


def test_n0509_granule_and_files(meta):
    m = meta(N0509)
    assert m.granule_identifier == "S2B_OPER_MSI_L1C_TL_2BPS_20230601T115221_A032566_T34UDD_N05.09"
    assert m.datastrip_identifier == "S2B_OPER_MSI_L1C_DS_2BPS_20230601T115221_S20230601T094549_N05.09"
    assert m.image_format == "JPEG2000"
    assert len(m.image_files) == 14
    assert m.granule_folder == "L1C_T34UDD_A032566_20230601T094549"
    assert m.image_file("B8A") == "GRANULE/L1C_T34UDD_A032566_20230601T094549/IMG_DATA/T34UDD_20230601T094549_B8A"
    assert m.image_file("TCI").endswith("_TCI")


def test_n0509_radiometry(meta):
    m = meta(N0509)
    assert m.quantification_value == 10000
    assert m.special_values == {"NODATA": 0, "SATURATED": 65535}
    assert m.display_order == (3, 2, 1)
    assert m.reflectance_conversion_u == pytest.approx(0.973872714002463, abs=1e-15)
    assert m.has_radiometric_offset
    assert m.radio_add_offsets == {b: -1000.0 for b in BAND_NAMES}
    assert all(b.radio_add_offset == -1000 for b in m.bands.values())
    e0 = [1874.3, 1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57, 1041.28, 953.93, 817.58, 365.41,
          247.08, 87.75]
    assert [m.bands[b].solar_irradiance for b in BAND_NAMES] == e0
    assert m.bands["B01"].physical_gain == pytest.approx(3.96451848)
    assert m.bands["B12"].physical_gain == pytest.approx(108.72433217)
    assert m.reference_band == 3


def test_n0509_spectral_information(meta):
    m = meta(N0509)
    assert list(m.bands) == list(BAND_NAMES)
    b1 = m.bands["B01"]
    assert (b1.band_id, b1.name, b1.resolution) == (0, "B01", 60)
    assert (b1.wavelength_min, b1.wavelength_max, b1.wavelength_central) == (411, 456, 442.3)
    assert b1.response_step == 1
    assert b1.response.size == 46
    assert m.bands["B02"].response.size == 77
    assert m.bands["B08"].response.size == 134
    assert m.bands["B8A"].wavelength_central == 864
    assert m.bands["B12"].wavelength_central == 2185.7
    assert [m.bands[b].resolution for b in BAND_NAMES] == [60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20]
    # 05.09: counts equal MAX - MIN + 1 for every band
    for band in m.bands.values():
        assert band.response.size == band.wavelength_max - band.wavelength_min + 1
        assert band.response_wavelengths[-1] == band.wavelength_max
    assert 0.99 <= m.bands["B04"].response.max() <= 1.0


def test_n0509_geometry_and_quality(meta):
    m = meta(N0509)
    assert len(m.footprint) == 5
    assert m.footprint[0] == (53.240200815060746, 19.50094041209755)
    assert m.footprint[0] == m.footprint[-1]
    assert m.cloud_coverage_assessment == pytest.approx(0.0874914150915226)
    assert m.snow_coverage_assessment == 0.0
    assert m.degraded_msi_data_percentage == 0
    assert m.quality_checks == {k: "PASSED" for k in (
        "FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY", "RADIOMETRIC_QUALITY", "SENSOR_QUALITY")}


# -- baseline 02.06 (S2A, no offset) ---------------------------------------------------------------
def test_n0206(meta):
    m = meta(N0206)
    assert m.product_uri == "S2A_MSIL1C_20180510T094031_N0206_R036_T35VNE_20180510T114819.SAFE"
    assert (m.spacecraft, m.processing_baseline, m.sensing_orbit_number) == ("S2A", "02.06", 36)
    assert m.sensing_orbit_direction == "DESCENDING"
    assert m.product_doi is None
    assert m.product_start_time == utc(2018, 5, 10, 9, 40, 31, 24000)
    assert m.reflectance_conversion_u == pytest.approx(0.982689404862115, abs=1e-15)
    assert not m.has_radiometric_offset and m.radio_add_offsets == {}
    assert all(b.radio_add_offset == 0 for b in m.bands.values())
    assert [m.bands[b].solar_irradiance for b in ("B01", "B02", "B08", "B12")] == [1884.69, 1959.72, 1041.63, 85.25]
    assert m.bands["B01"].wavelength_central == 442.7
    assert m.bands["B02"].response.size == 95
    assert m.bands["B08"].response.size == 148
    for band in m.bands.values():
        assert band.response.size == band.wavelength_max - band.wavelength_min + 1
    assert m.reference_band is None
    assert m.granule_folder == "L1C_T35VNE_A015048_20180510T094337"
    assert m.cloud_coverage_assessment == 0.0
    assert m.footprint[0] == (58.63040715531772, 28.394882641284777)


# -- baseline 02.05 (S2A, older E0 and mismatched spectral-response counts) ------------------------
def test_n0205_counts_are_taken_from_the_values(meta):
    m = meta(N0205)
    b2, b8 = m.bands["B02"], m.bands["B08"]
    assert (b2.wavelength_min, b2.wavelength_max, b2.response.size) == (440, 538, 97)   # not 99
    assert (b8.wavelength_min, b8.wavelength_max, b8.response.size) == (760, 908, 138)  # not 149
    assert b2.response_wavelengths.size == 97 and b2.response_wavelengths[0] == 440
    assert m.bands["B01"].response.size == 28


def test_n0205_general(meta):
    m = meta(N0205)
    assert m.product_uri == "S2A_MSIL1C_20170910T104021_N0205_R008_T32UMF_20170910T104212.SAFE"
    assert (m.spacecraft, m.processing_baseline, m.sensing_orbit_number) == ("S2A", "02.05", 8)
    assert m.psd_version == 14
    assert m.reflectance_conversion_u == pytest.approx(0.98506489374813, abs=1e-15)
    assert m.bands["B01"].solar_irradiance == 1913.57
    assert m.bands["B02"].solar_irradiance == 1941.63
    assert not m.has_radiometric_offset
    assert m.reference_band == 0
    assert m.bands["B01"].physical_gain == pytest.approx(4.05258688)
    assert m.cloud_coverage_assessment == pytest.approx(20.5888)
    assert m.quality_checks["SENSOR_QUALITY"] == "PASSED"   # old <SENSOR_QUALITY_FLAG> form
    assert m.granule_identifier == "S2A_OPER_MSI_L1C_TL_SGS__20170910T142030_A011588_T32UMF_N02.05"
    assert m.generation_time == utc(2017, 9, 10, 10, 42, 12)


def test_e0_differs_between_products_of_the_same_satellite(meta):
    assert meta(N0205).bands["B01"].solar_irradiance != meta(N0206).bands["B01"].solar_irradiance


# -- refusals ---------------------------------------------------------------------------------------
def test_level2a_metadata_is_refused(real_metadata_dir):
    path = real_metadata_dir / L2A
    with pytest.raises(UnsupportedProductError) as err:
        parse_product_metadata(path.read_bytes(), str(path))
    text = str(err.value)
    assert L2A in text and "Level-2A" in text and "\n" not in text


def test_tile_metadata_is_not_product_metadata(real_metadata_dir):
    path = real_metadata_dir / "S2A_MSIL1C_N0207_T23LLF_MTD_TL.xml"
    with pytest.raises(ProductError, match="tile metadata"):
        parse_product_metadata(path.read_bytes(), str(path))


@pytest.mark.parametrize("psd,message", [(12, "old standard SAFE format, PSD < 14"), (13, "PSD < 14"),
                                         (16, "newer than the supported")])
def test_unsupported_psd(psd, message):
    with pytest.raises(UnsupportedProductError, match=message):
        parse_product_metadata(product_mtd(Spec(psd=psd)), "x/MTD_MSIL1C.xml")


@pytest.mark.parametrize("psd", [14, 15])
def test_supported_psd(psd):
    assert parse_product_metadata(product_mtd(Spec(psd=psd)), "MTD_MSIL1C.xml").psd_version == psd


@pytest.mark.parametrize("baseline", ["01.99", "06.00", "99.99"])
def test_unsupported_baseline(baseline):
    with pytest.raises(UnsupportedProductError, match="baseline"):
        parse_product_metadata(product_mtd(Spec(baseline=baseline)), "MTD_MSIL1C.xml")


@pytest.mark.parametrize("baseline", ["02.00", "04.00", "05.11", "05.99"])
def test_supported_baselines(baseline):
    assert parse_product_metadata(product_mtd(Spec(baseline=baseline)), "MTD_MSIL1C.xml").processing_baseline == baseline


def test_s2c_is_accepted_unknown_spacecraft_refused():
    assert parse_product_metadata(product_mtd(Spec(spacecraft="S2C")), "m").spacecraft == "S2C"
    with pytest.raises(UnsupportedProductError, match="SPACECRAFT_NAME"):
        parse_product_metadata(product_mtd(Spec(spacecraft="Sentinel-2D")), "m")


def test_old_product_format_refused():
    with pytest.raises(UnsupportedProductError, match="old standard SAFE"):
        parse_product_metadata(product_mtd(Spec(product_format="SAFE")), "m")


def test_missing_required_element_names_file_and_element():
    xml = product_mtd(Spec()).replace(b"<U>0.978</U>", b"")
    with pytest.raises(ProductError) as err:
        parse_product_metadata(xml, "/p/MTD_MSIL1C.xml")
    assert str(err.value) == "/p/MTD_MSIL1C.xml: missing element Product_Image_Characteristics/Reflectance_Conversion/U"


def test_bad_number_and_bad_time():
    xml = product_mtd(Spec()).replace(b">10000</QUANTIFICATION_VALUE>", b">ten</QUANTIFICATION_VALUE>")
    with pytest.raises(ProductError, match="'ten' is not a number"):
        parse_product_metadata(xml, "m")
    xml = product_mtd(Spec()).replace(b"<GENERATION_TIME>2023", b"<GENERATION_TIME>yesterday 2023")
    with pytest.raises(ProductError, match="not a date-time"):
        parse_product_metadata(xml, "m")


def test_incomplete_offset_list_refused():
    xml = product_mtd(Spec()).replace(b'<RADIO_ADD_OFFSET band_id="12">-1000</RADIO_ADD_OFFSET>', b"")
    with pytest.raises(ProductError, match="no RADIO_ADD_OFFSET for B12"):
        parse_product_metadata(xml, "m")


def test_physical_band_mismatch_refused():
    xml = product_mtd(Spec()).replace(b'bandId="8" physicalBand="B8A"', b'bandId="8" physicalBand="B9"')
    with pytest.raises(ProductError, match="physicalBand B9"):
        parse_product_metadata(xml, "m")


def test_offset_absent_gives_zero():
    m = parse_product_metadata(product_mtd(Spec(offset=None, baseline="03.01")), "m")
    assert m.radio_add_offsets == {} and m.bands["B05"].radio_add_offset == 0.0


def test_spectral_response_values_are_parsed():
    m = parse_product_metadata(product_mtd(Spec()), "m")
    assert isinstance(m.bands["B03"].response, np.ndarray)
    assert m.bands["B03"].response.size == 46


@pytest.mark.parametrize("text,expected", [
    ("2023-06-01T09:45:49.024Z", utc(2023, 6, 1, 9, 45, 49, 24000)),
    ("2023-06-01T11:52:21.000000Z", utc(2023, 6, 1, 11, 52, 21)),
    ("2019-04-25T13:26:00.865611Z", utc(2019, 4, 25, 13, 26, 0, 865611)),
    ("2019-04-25T13:26:00.8656119Z", utc(2019, 4, 25, 13, 26, 0, 865611)),
    ("2019-04-25T13:26:00", utc(2019, 4, 25, 13, 26, 0)),
    ("2019-04-25T15:26:00+02:00", utc(2019, 4, 25, 13, 26, 0)),
])
def test_parse_utc(text, expected):
    assert parse_utc(text) == expected
