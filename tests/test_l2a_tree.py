"""L2A product tree writer (`--cr_only`): names, tree, metadata, manifest, atomicity, zip input.

The L1C reader is written separately, so the L1CProduct is built here from model.py with real
metadata: MTD_MSIL1C.xml of S2B T34UDD (baseline 05.09) and, as tile metadata, the full-angle-grid
MTD_TL.xml of S2A T23LLF (02.07; different tile, used for its geometry and masks). The L1C folder
(masks, reports, AUX files, datastrip) is synthesised in a temporary folder, its masks named after
that MTD_TL's Pixel_Level_QI list. Contains modified Copernicus Sentinel data [2019, 2023].
"""
from __future__ import annotations

import dataclasses

import hashlib
import os
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from lxml import etree
from osgeo import gdal

from sen2cor_qgis.core.errors import ConfigError, ProductError
from sen2cor_qgis.core.product import l2a_tree, manifest, naming
from sen2cor_qgis.core.product.atomic import atomic_product_dir
from sen2cor_qgis.core.product.l2a_qi import (PRODUCT_QI_ORDER, TILE_QI_ORDER, pending_qi, qi_values,
                                              update_image_content_qi)
from sen2cor_qgis.core.product.l2a_quality import (VALUE_NAMES, pending_quality, quality_values,
                                                   update_l2a_quality)
from sen2cor_qgis.core.product.l2a_tile_mtd import l2a_mask_name
from sen2cor_qgis.core.product.model import (BAND_NAMES, AngleGrid, AuxiliaryData, Granule,
                                             L1CProduct, QualityMask, SpectralBand, TileGeocoding)
from sen2cor_qgis.core.xmlsafe import find_local, findall_local, local_name, parse_xml_bytes, parse_xml_file

L1C_MTD = "S2B_MSIL1C_N0509_T34UDD_MTD_MSIL1C.xml"
L1C_TILE = "S2A_MSIL1C_N0207_T23LLF_MTD_TL.xml"
L1C_NAME = "S2B_MSIL1C_20230601T094549_N0509_R079_T34UDD_20230601T115221.SAFE"
GRANULE = "L1C_T34UDD_A032566_20230601T094549"
DS_FOLDER = "DS_2BPS_20230601T115221_S20230601T094549"
TILE_ID = "S2B_OPER_MSI_L1C_TL_2BPS_20230601T115221_A032566_T34UDD_N05.09"
DS_ID = "S2B_OPER_MSI_L1C_DS_2BPS_20230601T115221_S20230601T094549_N05.09"
GEN = datetime(2024, 5, 6, 7, 8, 9)
PRODUCT_PATTERN = re.compile(r"^S2[ABC]_MSIL2A_\d{8}T\d{6}_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}_\d{8}T\d{6}\.SAFE$")
GRANULE_PATTERN = re.compile(r"^L2A_T\d{2}[A-Z]{3}_A\d{6}_\d{8}T\d{6}$")
TILE_ID_PATTERN = re.compile(r"^S2[ABC]_OPER_MSI_L2A_TL_[A-Z0-9_]{4}_\d{8}T\d{6}_A\d{6}_T\d{2}[A-Z]{3}_N\d{2}\.\d{2}$")
DS_ID_PATTERN = re.compile(r"^S2[ABC]_OPER_MSI_L2A_DS_[A-Z0-9_]{4}_\d{8}T\d{6}_S\d{8}T\d{6}_N\d{2}\.\d{2}$")
DS_FOLDER_PATTERN = re.compile(r"^DS_[A-Z0-9_]{4}_\d{8}T\d{6}_S\d{8}T\d{6}$")

# Every element of reference §9.5, in document order (local-name paths below the root).
MTD_ELEMENTS = [
    "General_Info", "General_Info/Product_Info",
    *[f"General_Info/Product_Info/{t}" for t in (
        "PRODUCT_START_TIME", "PRODUCT_STOP_TIME", "PRODUCT_URI", "PROCESSING_LEVEL", "PRODUCT_TYPE",
        "PROCESSING_BASELINE", "PRODUCT_DOI", "GENERATION_TIME", "PREVIEW_IMAGE_URL", "PREVIEW_GEO_INFO",
        "Datatake", "Query_Options", "Product_Organisation")],
    "General_Info/Product_Image_Characteristics",
    *[f"General_Info/Product_Image_Characteristics/{t}" for t in (
        "Special_Values", "Image_Display_Order", "QUANTIFICATION_VALUES_LIST", "BOA_ADD_OFFSET_VALUES_LIST",
        "Reflectance_Conversion", "Spectral_Information_List", "PHYSICAL_GAINS", "REFERENCE_BAND",
        "Scene_Classification_List")],
    "Geometric_Info", "Geometric_Info/Product_Footprint", "Geometric_Info/Coordinate_Reference_System",
    "Auxiliary_Data_Info",
    *[f"Auxiliary_Data_Info/{t}" for t in (
        "GIPP_List", "PRODUCTION_DEM_TYPE", "IERS_BULLETIN_FILENAME", "GRI_List", "ECMWF_DATA_REF", "LUT_List",
        "SNOW_CLIMATOLOGY_MAP", "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map", "ESACCI_SnowCondition_Map_Dir")],
    "Quality_Indicators_Info",
    *[f"Quality_Indicators_Info/{t}" for t in (
        "Cloud_Coverage_Assessment", "Technical_Quality_Assessment", "Quality_Control_Checks", "Image_Content_QI")],
]


# ----------------------------------------------------------------------------------------- factory

def _time(text: str) -> datetime:
    return datetime.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")


def _bands(root: etree._Element) -> Dict[str, SpectralBand]:
    bands = {}
    e0 = {int(e.get("bandId")): float(e.text) for e in findall_local(root, ".//SOLAR_IRRADIANCE")}
    gains = {int(e.get("bandId")): float(e.text) for e in findall_local(root, ".//PHYSICAL_GAINS")}
    offsets = {int(e.get("band_id")): float(e.text) for e in findall_local(root, ".//RADIO_ADD_OFFSET")}
    for info in findall_local(root, ".//Spectral_Information"):
        band_id = int(info.get("bandId"))
        values = np.array(find_local(info, "Spectral_Response/VALUES").text.split(), dtype=float)
        bands[BAND_NAMES[band_id]] = SpectralBand(
            band_id=band_id, name=BAND_NAMES[band_id], resolution=int(find_local(info, "RESOLUTION").text),
            wavelength_min=float(find_local(info, "Wavelength/MIN").text),
            wavelength_max=float(find_local(info, "Wavelength/MAX").text),
            wavelength_central=float(find_local(info, "Wavelength/CENTRAL").text),
            response_step=1.0, response=values, solar_irradiance=e0[band_id],
            physical_gain=gains.get(band_id), radio_add_offset=offsets.get(band_id, 0.0))
    return bands


def _mask_names(tile_xml: bytes) -> List[str]:
    root = parse_xml_bytes(tile_xml, L1C_TILE).getroot()
    return [e.text.rsplit("/", 1)[-1] for e in findall_local(root, ".//Pixel_Level_QI/MASK_FILENAME")]


def write_l1c_folder(base: Path, mtd: bytes, tile_xml: bytes) -> Path:
    """A small L1C SAFE folder: metadata, GML masks of the tile MTD, QI reports, AUX, datastrip, manifest."""
    safe = base / L1C_NAME
    granule = safe / "GRANULE" / GRANULE
    for folder in (granule / "QI_DATA", granule / "AUX_DATA", granule / "IMG_DATA",
                   safe / "DATASTRIP" / DS_FOLDER / "QI_DATA"):
        folder.mkdir(parents=True)
    (safe / "MTD_MSIL1C.xml").write_bytes(mtd)
    (granule / "MTD_TL.xml").write_bytes(tile_xml)
    for name in _mask_names(tile_xml):
        (granule / "QI_DATA" / name).write_text(
            f'<?xml version="1.0"?><eop:Mask xmlns:eop="http://www.opengis.net/eop/2.0" gml:id="{name}" '
            'xmlns:gml="http://www.opengis.net/gml/3.2"/>\n')
    (granule / "QI_DATA" / "GENERAL_QUALITY.xml").write_text("<Earth_Explorer_File>tile report</Earth_Explorer_File>\n")
    (granule / "QI_DATA" / "T34UDD_20230601T094549_PVI.jp2").write_bytes(b"\x00\x00\x00\x0cjP  L1C preview")
    rng = np.random.default_rng(3)
    (granule / "AUX_DATA" / "S2B_OPER_AUX_ECMWFT_2BPS_20230601T115221_V20230601T060000_20230601T180000").write_bytes(
        b"GRIB" + rng.integers(0, 255, 3000, dtype=np.uint8).tobytes() + b"7777")
    (granule / "AUX_DATA" / "AUX_CAMSFO").write_bytes(b"GRIB" + rng.integers(0, 255, 2000, dtype=np.uint8).tobytes())
    ds = safe / "DATASTRIP" / DS_FOLDER
    (ds / "MTD_DS.xml").write_text(L1C_DATASTRIP_XML)
    for report in ("FORMAT_CORRECTNESS.xml", "GENERAL_QUALITY.xml"):
        (ds / "QI_DATA" / report).write_text(f"<Earth_Explorer_File>{report}</Earth_Explorer_File>\n")
    (safe / "manifest.safe").write_text(L1C_MANIFEST_XML)
    (safe / "INSPIRE.xml").write_text(
        '<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco">'
        f"<gmd:identificationInfo><gmd:title><gco:CharacterString>{L1C_NAME}</gco:CharacterString></gmd:title>"
        "</gmd:identificationInfo></gmd:MD_Metadata>")
    return safe


def make_product(safe_path: str, mtd: bytes, tile_xml: bytes, *, is_zip: bool = False,
                 with_manifest: bool = True) -> L1CProduct:
    """L1CProduct as the reader would return it for the folder written by write_l1c_folder."""
    root = parse_xml_bytes(mtd, L1C_MTD).getroot()
    info = find_local(root, "General_Info/Product_Info")
    tile_root = parse_xml_bytes(tile_xml, L1C_TILE).getroot()
    granule_path = f"{safe_path}/GRANULE/{GRANULE}"
    grid = AngleGrid(zenith=np.full((23, 23), 35.7), azimuth=np.full((23, 23), 43.4), row_step=5000, col_step=5000)
    masks = [QualityMask(mask_type=e.get("type"), band=(BAND_NAMES[int(e.get("bandId"))] if e.get("bandId") else None),
                         path=f"{granule_path}/QI_DATA/{e.text.rsplit('/', 1)[-1]}", raster=False)
             for e in findall_local(tile_root, ".//Pixel_Level_QI/MASK_FILENAME")]
    granule = Granule(
        folder_name=GRANULE, path=granule_path, tile_id=TILE_ID, tile_number="34UDD", datastrip_id=DS_ID,
        sensing_time=datetime(2023, 6, 1, 9, 57, 1, 123000), absolute_orbit=32566, archiving_centre="2BPS",
        archiving_time=datetime(2023, 6, 1, 12, 30), geocoding=TileGeocoding(
            cs_name="WGS84 / UTM zone 34N", epsg=32634, sizes={10: (10980, 10980), 20: (5490, 5490), 60: (1830, 1830)},
            geopositions={r: (399960.0, 5900040.0, float(r), -float(r)) for r in (10, 20, 60)}),
        sun_angles=grid, mean_sun_zenith=35.7, mean_sun_azimuth=43.4,
        viewing_angles={b: grid for b in BAND_NAMES}, viewing_angles_by_detector={},
        mean_viewing_angles={b: (3.5, 110.0) for b in BAND_NAMES},
        image_files={b: f"{granule_path}/IMG_DATA/T34UDD_20230601T094549_{b}.jp2" for b in BAND_NAMES},
        quality_masks=masks, pvi_path=f"{granule_path}/QI_DATA/T34UDD_20230601T094549_PVI.jp2",
        auxiliary=AuxiliaryData(ecmwft_path=None, camsfo_path=f"{granule_path}/AUX_DATA/AUX_CAMSFO"),
        cloudy_pixel_percentage=0.0, degraded_msi_data_percentage=0.0)
    footprint = [float(v) for v in find_local(root, ".//EXT_POS_LIST").text.split()]
    return L1CProduct(
        input_path=safe_path, safe_path=safe_path, safe_name=L1C_NAME, is_zip=is_zip,
        product_uri=find_local(info, "PRODUCT_URI").text, spacecraft="S2B", spacecraft_name="Sentinel-2B",
        processing_level="Level-1C", product_type="S2MSI1C", processing_baseline="05.09", psd_version=14,
        product_start_time=_time(find_local(info, "PRODUCT_START_TIME").text),
        product_stop_time=_time(find_local(info, "PRODUCT_STOP_TIME").text),
        generation_time=_time(find_local(info, "GENERATION_TIME").text),
        datatake_identifier=find_local(info, "Datatake").get("datatakeIdentifier"), datatake_type="INS-NOBS",
        datatake_sensing_start=_time(find_local(info, "Datatake/DATATAKE_SENSING_START").text),
        sensing_orbit_number=79, sensing_orbit_direction="ASCENDING", product_format="SAFE_COMPACT",
        quantification_value=10000.0, special_values={"NODATA": 0, "SATURATED": 65535}, display_order=(3, 2, 1),
        reflectance_conversion_u=0.973872714002463, bands=_bands(root),
        footprint=list(zip(footprint[0::2], footprint[1::2])), granule=granule,
        datastrip_path=f"{safe_path}/DATASTRIP/{DS_FOLDER}", product_doi="https://doi.org/10.5270/S2_-742ikth",
        cloud_coverage_assessment=0.0874914150915226, mtd_path=f"{safe_path}/MTD_MSIL1C.xml", mtd_xml=mtd,
        tile_mtd_path=f"{granule_path}/MTD_TL.xml", tile_mtd_xml=tile_xml,
        manifest_xml=L1C_MANIFEST_XML.encode() if with_manifest else b"")


L1C_DATASTRIP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-1C_DataStrip_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1C_Datastrip_Metadata.xsd">
  <n1:General_Info>
    <Datatake_Info datatakeIdentifier="GS2B_20230601T094549_032566_N05.09">
      <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE><SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME>
    </Datatake_Info>
    <Datastrip_Time_Info><DATASTRIP_SENSING_START>2023-06-01T09:45:49.024Z</DATASTRIP_SENSING_START></Datastrip_Time_Info>
    <Processing_Info><PROCESSING_CENTER>2BPS</PROCESSING_CENTER><UTC_DATE_TIME>2023-06-01T11:52:21.000Z</UTC_DATE_TIME>
      <PROCESSING_BASELINE>05.09</PROCESSING_BASELINE></Processing_Info>
    <Archiving_Info><ARCHIVING_CENTRE>2BPS</ARCHIVING_CENTRE><ARCHIVING_TIME>2023-06-01T12:30:00.000Z</ARCHIVING_TIME></Archiving_Info>
  </n1:General_Info>
  <n1:Image_Data_Info>
    <Tiles_Information><Tile_List><Tile tileId="S2B_OPER_MSI_L1C_TL_2BPS_20230601T115221_A032566_T34UDD_N05.09"/></Tile_List></Tiles_Information>
    <Radiometric_Info><QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE><U>0.973872714002463</U></Radiometric_Info>
  </n1:Image_Data_Info>
  <n1:Auxiliary_Data_Info><GIPP_List><GIPP_FILENAME type="GIP_PROBAS" version="0509">S2B_OPER_GIP_PROBAS</GIPP_FILENAME></GIPP_List>
    <PRODUCTION_DEM_TYPE>S2__OPER_DEM_GLOBEF</PRODUCTION_DEM_TYPE></n1:Auxiliary_Data_Info>
</n1:Level-1C_DataStrip_ID>
"""

L1C_MANIFEST_XML = """<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:gml="http://www.opengis.net/gml" xmlns:safe="http://www.esa.int/safe/sentinel/1.1" xmlns:xfdu="urn:ccsds:schema:xfdu:1" version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l1c_user_product">
  <informationPackageMap/>
  <metadataSection>
    <metadataObject ID="acquisitionPeriod" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Acquisition Period" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:acquisitionPeriod><safe:startTime>2023-06-01T09:45:49.024Z</safe:startTime></safe:acquisitionPeriod></xmlData></metadataWrap></metadataObject>
    <metadataObject ID="measurementOrbitReference" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Orbit Reference" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:orbitReference><safe:orbitNumber groundTrackDirection="descending" type="start">032566</safe:orbitNumber><safe:relativeOrbitNumber type="start">79</safe:relativeOrbitNumber></safe:orbitReference></xmlData></metadataWrap></metadataObject>
    <metadataObject ID="platform" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Platform Description" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:platform><safe:familyName>SENTINEL</safe:familyName><safe:number>2B</safe:number></safe:platform></xmlData></metadataWrap></metadataObject>
    <metadataObject ID="processing" category="PDI" classification="PROVENANCE"><metadataWrap mimeType="text/xml" textInfo="Processing" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:processing xmlns="http://www.esa.int/safe/sentinel/1.1" name="Generation of Level-1C User Product" start="2023-06-01T11:52:21.000000Z"/></xmlData></metadataWrap></metadataObject>
    <metadataObject ID="measurementFrameSet" category="DMD" classification="DESCRIPTION"><metadataWrap mimeType="text/xml" textInfo="Frame Set" vocabularyName="Sentinel-SAFE"><xmlData>
      <safe:frameSet><safe:footPrint srsName="http://www.opengis.net/gml/srs/epsg.xml#4326"><gml:coordinates>53.24 19.50 53.24 21.14 52.26 21.14 53.24 19.50</gml:coordinates></safe:footPrint></safe:frameSet></xmlData></metadataWrap></metadataObject>
    <metadataObject ID="S2_Level-1C_Product_Metadata_Information" category="DMD" classification="DESCRIPTION"><dataObjectPointer dataObjectID="S2_Level-1C_Product_Metadata"/></metadataObject>
  </metadataSection>
  <dataObjectSection/>
</xfdu:XFDU>
"""


# ---------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def l1c_bytes(real_metadata_dir: Path):
    return (real_metadata_dir / L1C_MTD).read_bytes(), (real_metadata_dir / L1C_TILE).read_bytes()


@pytest.fixture()
def l1c(tmp_path: Path, l1c_bytes) -> L1CProduct:
    mtd, tile_xml = l1c_bytes
    safe = write_l1c_folder(tmp_path / "in", mtd, tile_xml)
    return make_product(str(safe), mtd, tile_xml)


@pytest.fixture(scope="module")
def built(tmp_path_factory, l1c_bytes):
    """One default product (baseline 99.99), shared by the read-only checks."""
    mtd, tile_xml = l1c_bytes
    base = tmp_path_factory.mktemp("built")
    safe = write_l1c_folder(base / "in", mtd, tile_xml)
    product = make_product(str(safe), mtd, tile_xml)
    out = l2a_tree.create_l2a_tree(product, base / "out", generation_time=GEN)
    return product, out


def _root(path: Path) -> etree._Element:
    return parse_xml_file(path).getroot()


def _granule_dir(out: Path) -> Path:
    return next((out / "GRANULE").iterdir())


def _canon(element: etree._Element):
    """Namespace-free structure of an element: (name, attributes, text, children), for equality."""
    return (local_name(element), sorted(element.attrib.items()), (element.text or "").strip(),
            [_canon(c) for c in element if isinstance(c.tag, str)])


def _paths(root: etree._Element, prefix: str = "") -> List[str]:
    """Local-name paths of every element, document order, without repeated siblings."""
    result: List[str] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        path = f"{prefix}{local_name(child)}"
        if path not in result:
            result.append(path)
        result.extend(p for p in _paths(child, path + "/") if p not in result)
    return result


# ------------------------------------------------------------------------------------------ naming

@pytest.mark.parametrize("value, tag, dotted", [
    ("99.99", "N9999", "N99.99"), ("02.11", "N0211", "N02.11"), ("5.1", "N0510", "N05.10"),
    ("05.09", "N0509", "N05.09"), ("2.11", "N0211", "N02.11"), (99.99, "N9999", "N99.99"), (4, "N0400", "N04.00"),
])
def test_baseline_strings(value, tag, dotted):
    assert naming.baseline_tag(value) == tag
    assert naming.baseline_dotted(value) == dotted
    assert naming.BASELINE_PATTERN.match(naming.normalise_baseline(value))


@pytest.mark.parametrize("bad", ["", "abc", "100.00", "1.234", "-1.00", "N0211", "02,11", "1e1", "02.11.00"])
def test_invalid_baselines_refused(bad):
    with pytest.raises(ConfigError):
        naming.normalise_baseline(bad)


@pytest.mark.parametrize("l1c_offset", [True, False])
def test_boa_offset_follows_the_l1c_radiometric_offset(tmp_path, l1c, l1c_offset):
    if not l1c_offset:
        l1c.bands = {k: dataclasses.replace(b, radio_add_offset=0.0) for k, b in l1c.bands.items()}
    for baseline in ("02.11", "99.99"):
        out = l2a_tree.create_l2a_tree(l1c, tmp_path / baseline, baseline=baseline, generation_time=GEN)
        mtd = _root(out / "MTD_MSIL2A.xml")
        offsets = findall_local(mtd, ".//BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET")
        assert len(offsets) == (13 if l1c_offset else 0)


def test_names_from_reference_examples():
    start = datetime(2023, 8, 23, 9, 55, 59, 24000)
    created = datetime(2023, 8, 23, 12, 47, 59)
    assert naming.l2a_product_name("S2B", start, "05.09", 122, "34UCF", created) == \
        "S2B_MSIL2A_20230823T095559_N0509_R122_T34UCF_20230823T124759.SAFE"
    assert naming.l2a_granule_name("34UCF", 33753, "20230823T095553") == "L2A_T34UCF_A033753_20230823T095553"
    assert naming.l2a_tile_id("S2B", "2BPS", created, 33753, "34UCF", "05.09") == \
        "S2B_OPER_MSI_L2A_TL_2BPS_20230823T124759_A033753_T34UCF_N05.09"
    assert naming.l2a_datastrip_id("S2B", "2BPS", created, "20230823T095553", "05.09") == \
        "S2B_OPER_MSI_L2A_DS_2BPS_20230823T124759_S20230823T095553_N05.09"
    assert naming.datastrip_folder_name("2BPS", created, "20230823T095553") == "DS_2BPS_20230823T124759_S20230823T095553"
    assert naming.image_file_name("34UCF", start, "B02", 10) == "T34UCF_20230823T095559_B02_10m.jp2"
    assert naming.image_file_name("34UCF", start, "SCL", 20, "TIF") == "T34UCF_20230823T095559_SCL_20m.tif"
    assert naming.image_file_name("34UCF", start, "AOT", 60, "RAW") == "T34UCF_20230823T095559_AOT_60m.rawl"
    assert naming.mask_file_name("MSK_CLDPRB", 20) == "MSK_CLDPRB_20m.jp2"
    assert naming.mask_file_name("MSK_SNWPRB", 60, "GTiff") == "MSK_SNWPRB_60m.tif"
    assert naming.mask_file_name(naming.DDV_MASK, 20) == "MSK_DDVPXL_20m.jp2"
    assert naming.pvi_file_name("34UCF", start) == "T34UCF_20230823T095559_PVI.jp2"
    assert naming.dem_file_name("34UCF", start, 20) == "T34UCF_20230823T095559_DEM_20m.jp2"
    # the 2.8 example of sen2r #380 and an aware generation time (converted to UTC)
    aware = datetime(2022, 3, 7, 11, 2, 36, tzinfo=timezone.utc).astimezone(timezone.utc)
    assert naming.l2a_product_name("S2A", datetime(2018, 8, 3, 10, 30, 21), "99.99", 108, "32TMS", aware) == \
        "S2A_MSIL2A_20180803T103021_N9999_R108_T32TMS_20220307T110236.SAFE"


def test_layer_lists_are_esa_0509():
    assert naming.RESOLUTION_LAYERS[10] == ("B02", "B03", "B04", "B08", "TCI", "AOT", "WVP")
    assert "B01" in naming.RESOLUTION_LAYERS[20] and "B09" not in naming.RESOLUTION_LAYERS[20]
    for layers in naming.RESOLUTION_LAYERS.values():
        assert "B10" not in layers
    assert "B08" not in naming.RESOLUTION_LAYERS[20] + naming.RESOLUTION_LAYERS[60]
    assert len(naming.RESOLUTION_LAYERS[60]) == 15 and "SCL" not in naming.RESOLUTION_LAYERS[10]


def test_datastrip_start_and_centre_from_l1c_names():
    assert naming.datastrip_sensing_start(GRANULE, DS_ID) == "20230601T094549"
    assert naming.datastrip_sensing_start("S2A_OPER_MSI_L1C_TL_SGS__20161122T171118_A007412_T34VCL_N02.04",
                                          "S2A_OPER_MSI_L1C_DS_SGS__20161122T171118_S20161122T100123_N02.04") \
        == "20161122T100123"
    assert naming.datastrip_centre(DS_ID) == "2BPS"
    assert naming.datastrip_centre("S2A_OPER_MSI_L1C_DS_SGS__20190425T164208_S20190425T132236_N02.07") == "SGS_"
    with pytest.raises(ProductError):
        naming.datastrip_sensing_start("weird", "")


def test_long_mask_names_shortened():
    assert l2a_mask_name("S2A_OPER_MSK_DEFECT_SGS__20161122T171118_A007412_T34VCL_B01_MSIL1C.gml") == "MSK_DEFECT_B01.gml"
    assert l2a_mask_name("S2A_OPER_MSK_CLOUDS_SGS__20161122T171118_A007412_T34VCL_B00_MSIL1C.gml") == "MSK_CLOUDS_B00.gml"
    assert l2a_mask_name("MSK_QUALIT_B8A.jp2") == "MSK_QUALIT_B8A.jp2"


# --------------------------------------------------------------------------------- tree and names

def test_product_granule_datastrip_names(built):
    product, out = built
    assert out.name == "S2B_MSIL2A_20230601T094549_N9999_R079_T34UDD_20240506T070809.SAFE"
    assert PRODUCT_PATTERN.match(out.name)
    granule = _granule_dir(out).name
    assert granule == "L2A_T34UDD_A032566_20230601T094549" and GRANULE_PATTERN.match(granule)
    ds = [p.name for p in (out / "DATASTRIP").iterdir()]
    assert ds == ["DS_2BPS_20240506T070809_S20230601T094549"] and DS_FOLDER_PATTERN.match(ds[0])
    tile = _root(out / "GRANULE" / granule / "MTD_TL.xml")
    assert find_local(tile, "General_Info/TILE_ID").text == \
        "S2B_OPER_MSI_L2A_TL_2BPS_20240506T070809_A032566_T34UDD_N99.99"
    assert find_local(tile, "General_Info/DATASTRIP_ID").text == \
        "S2B_OPER_MSI_L2A_DS_2BPS_20240506T070809_S20230601T094549_N99.99"
    assert TILE_ID_PATTERN.match(find_local(tile, "General_Info/TILE_ID").text)
    assert DS_ID_PATTERN.match(find_local(tile, "General_Info/DATASTRIP_ID").text)


@pytest.mark.parametrize("baseline, tag", [("02.11", "N0211"), ("05.10", "N0510"), ("5.1", "N0510"), ("99.99", "N9999")])
def test_processing_baseline_option(tmp_path, l1c, baseline, tag):
    out = l2a_tree.create_l2a_tree(l1c, tmp_path / "out", baseline=baseline, generation_time=GEN)
    assert out.name.split("_")[3] == tag
    mtd = _root(out / "MTD_MSIL2A.xml")
    assert find_local(mtd, "General_Info/Product_Info/PROCESSING_BASELINE").text == naming.normalise_baseline(baseline)
    has_offset = find_local(mtd, "General_Info/Product_Image_Characteristics/BOA_ADD_OFFSET_VALUES_LIST") is not None
    assert has_offset  # the 05.09 L1C carries RADIO_ADD_OFFSET, whatever the output baseline
    tile_id = find_local(_root(_granule_dir(out) / "MTD_TL.xml"), "General_Info/TILE_ID").text
    assert tile_id.endswith("_N" + naming.normalise_baseline(baseline))


def test_folder_tree(built):
    _, out = built
    granule = _granule_dir(out)
    for rel in ("MTD_MSIL2A.xml", "manifest.safe", "INSPIRE.xml", "HTML/UserProduct_index.html",
                "rep_info/S2_User_Product_Level-2A_Metadata.xsd", "rep_info/S2_PDI_Level-2A_Tile_Metadata.xsd",
                "rep_info/S2_PDI_Level-2A_Datastrip_Metadata.xsd"):
        assert (out / rel).is_file(), rel
    ds = next((out / "DATASTRIP").iterdir())
    assert (ds / "MTD_DS.xml").is_file()
    assert sorted(p.name for p in (ds / "QI_DATA").iterdir()) == ["FORMAT_CORRECTNESS.xml", "GENERAL_QUALITY.xml"]
    assert (granule / "MTD_TL.xml").is_file()
    for res in ("R10m", "R20m", "R60m"):
        assert (granule / "IMG_DATA" / res).is_dir() and not any((granule / "IMG_DATA" / res).iterdir())
    assert sorted(p.name for p in (granule / "AUX_DATA").iterdir()) == ["AUX_CAMSFO", "AUX_ECMWFT"]
    qi = {p.name for p in (granule / "QI_DATA").iterdir()}
    assert {"L2A_QUALITY.xml", "GENERAL_QUALITY.xml", "MSK_CLOUDS_B00.gml", "MSK_DEFECT_B01.gml"} <= qi
    assert "T34UDD_20230601T094549_PVI.jp2" not in qi          # L1C preview is not taken over
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no partial left
    inspire = (out / "INSPIRE.xml").read_text()
    assert out.name in inspire and L1C_NAME not in inspire


def test_copied_files_identical(built):
    product, out = built
    granule = _granule_dir(out)
    src = Path(product.granule.path)
    assert (granule / "AUX_DATA" / "AUX_ECMWFT").read_bytes() == \
        next((src / "AUX_DATA").glob("S2B_OPER_AUX_ECMWFT_*")).read_bytes()
    assert (granule / "AUX_DATA" / "AUX_CAMSFO").read_bytes() == (src / "AUX_DATA" / "AUX_CAMSFO").read_bytes()
    for name in _mask_names(product.tile_mtd_xml):
        assert (granule / "QI_DATA" / name).read_bytes() == (src / "QI_DATA" / name).read_bytes()


# ------------------------------------------------------------------------------------ MTD_MSIL2A

def test_mtd_every_reference_element_in_order(built):
    _, out = built
    root = _root(out / "MTD_MSIL2A.xml")
    assert local_name(root) == "Level-2A_User_Product"
    assert etree.QName(root).namespace == "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
    present = _paths(root)
    positions = [present.index(p) for p in MTD_ELEMENTS]     # ValueError if one is missing
    assert positions == sorted(positions)
    qi = find_local(root, "Quality_Indicators_Info/Image_Content_QI")
    assert [local_name(e) for e in qi] == list(PRODUCT_QI_ORDER)
    for section in ("General_Info", "Geometric_Info", "Auxiliary_Data_Info", "Quality_Indicators_Info"):
        assert etree.QName(find_local(root, section)).namespace == etree.QName(root).namespace


def test_mtd_level2a_values(built):
    product, out = built
    root = _root(out / "MTD_MSIL2A.xml")
    info = find_local(root, "General_Info/Product_Info")
    assert find_local(info, "PRODUCT_URI").text == out.name
    assert find_local(info, "PROCESSING_LEVEL").text == "Level-2A"
    assert find_local(info, "PRODUCT_TYPE").text == "S2MSI2A"
    assert find_local(info, "PROCESSING_BASELINE").text == "99.99"
    assert find_local(info, "PRODUCT_DOI").text == "https://doi.org/10.5270/S2_-znk9xsj"
    assert find_local(info, "GENERATION_TIME").text == "2024-05-06T07:08:09.000000Z"
    assert find_local(info, "Datatake").get("datatakeIdentifier") == "GS2B_20230601T094549_032566_N99.99"
    chars = find_local(root, "General_Info/Product_Image_Characteristics")
    q = find_local(chars, "QUANTIFICATION_VALUES_LIST")
    assert [(local_name(e), e.text, e.get("unit")) for e in q] == [
        ("BOA_QUANTIFICATION_VALUE", "10000", "none"), ("AOT_QUANTIFICATION_VALUE", "1000.0", "none"),
        ("WVP_QUANTIFICATION_VALUE", "1000.0", "cm")]
    offsets = findall_local(chars, "BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET")
    assert [(e.get("band_id"), e.text) for e in offsets] == [(str(i), "-1000") for i in range(13)]
    classes = findall_local(chars, "Scene_Classification_List/Scene_Classification_ID")
    assert [(find_local(c, "SCENE_CLASSIFICATION_TEXT").text, find_local(c, "SCENE_CLASSIFICATION_INDEX").text)
            for c in classes] == [
        ("SC_NODATA", "0"), ("SC_SATURATED_DEFECTIVE", "1"), ("SC_DARK_FEATURE_SHADOW", "2"),
        ("SC_CLOUD_SHADOW", "3"), ("SC_VEGETATION", "4"), ("SC_NOT_VEGETATED", "5"), ("SC_WATER", "6"),
        ("SC_UNCLASSIFIED", "7"), ("SC_CLOUD_MEDIUM_PROBA", "8"), ("SC_CLOUD_HIGH_PROBA", "9"),
        ("SC_THIN_CIRRUS", "10"), ("SC_SNOW_ICE", "11")]
    aux = find_local(root, "Auxiliary_Data_Info")
    gipps = findall_local(aux, "GIPP_List/GIPP_FILENAME")
    assert [(g.get("type"), g.get("version"), g.text) for g in gipps[-3:]] == [
        ("GIP_L2ACSC", "21100", "L2A_CAL_SC_GIPP"), ("GIP_L2ACAC", "21100", "L2A_CAL_AC_GIPP"),
        ("GIP_PROBA2", "9999", "L2A_PB_GIPP")]
    assert find_local(aux, "PRODUCTION_DEM_TYPE").text == "None"
    assert find_local(aux, "LUT_List/LUT_FILENAME").text == "None"
    assert find_local(aux, "SNOW_CLIMATOLOGY_MAP").text == "GlobalSnowMap.tiff"
    assert find_local(aux, "ESACCI_SnowCondition_Map_Dir").text == "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4"
    checks = findall_local(root, "Quality_Indicators_Info/Quality_Control_Checks/Quality_Inspections/quality_check")
    assert [c.get("checkType") for c in checks] == ["FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY",
                                                    "L2A_QUALITY", "RADIOMETRIC_QUALITY", "SENSOR_QUALITY"]


def test_mtd_values_copied_from_l1c(built):
    product, out = built
    l1c = parse_xml_bytes(product.mtd_xml, L1C_MTD).getroot()
    l2a = _root(out / "MTD_MSIL2A.xml")
    same = _canon
    for path in ("General_Info/Product_Info/PRODUCT_START_TIME", "General_Info/Product_Info/PRODUCT_STOP_TIME",
                 "General_Info/Product_Info/Query_Options",
                 "General_Info/Product_Image_Characteristics/Image_Display_Order",
                 "General_Info/Product_Image_Characteristics/Reflectance_Conversion",
                 "General_Info/Product_Image_Characteristics/Spectral_Information_List",
                 "General_Info/Product_Image_Characteristics/REFERENCE_BAND",
                 "Auxiliary_Data_Info/IERS_BULLETIN_FILENAME", "Auxiliary_Data_Info/GRI_List",
                 "Auxiliary_Data_Info/ECMWF_DATA_REF", "Quality_Indicators_Info/Technical_Quality_Assessment"):
        assert same(find_local(l2a, path)) == same(find_local(l1c, path)), path
    for path in ("General_Info/Product_Image_Characteristics/Special_Values",
                 "General_Info/Product_Image_Characteristics/PHYSICAL_GAINS"):
        assert [same(e) for e in findall_local(l2a, path)] == [same(e) for e in findall_local(l1c, path)]
    assert same(find_local(l2a, "Geometric_Info/Product_Footprint")) == same(find_local(l1c, "Geometric_Info/Product_Footprint"))
    assert same(find_local(l2a, "Geometric_Info/Coordinate_Reference_System")) == \
        same(find_local(l1c, "Geometric_Info/Coordinate_Reference_System"))
    l1c_gipps = [same(e) for e in findall_local(l1c, "Auxiliary_Data_Info/GIPP_List/GIPP_FILENAME")]
    assert [same(e) for e in findall_local(l2a, "Auxiliary_Data_Info/GIPP_List/GIPP_FILENAME")][:-3] == l1c_gipps
    datatake_l1c = find_local(l1c, "General_Info/Product_Info/Datatake")
    datatake_l2a = find_local(l2a, "General_Info/Product_Info/Datatake")
    assert [(local_name(e), e.text) for e in datatake_l2a] == [(local_name(e), e.text) for e in datatake_l1c]


def test_image_file_list_matches_reference_lists(built):
    _, out = built
    root = _root(out / "MTD_MSIL2A.xml")
    granule = find_local(root, "General_Info/Product_Info/Product_Organisation/Granule_List/Granule")
    granule_name = _granule_dir(out).name
    assert granule.get("imageFormat") == "JPEG2000"
    assert granule.get("granuleIdentifier") == \
        find_local(_root(out / "GRANULE" / granule_name / "MTD_TL.xml"), "General_Info/TILE_ID").text
    files = [e.text for e in findall_local(granule, "IMAGE_FILE")]
    expected = [f"GRANULE/{granule_name}/IMG_DATA/R{res}m/T34UDD_20230601T094549_{layer}_{res}m"
                for res, layers in ((10, ("B02", "B03", "B04", "B08", "TCI", "AOT", "WVP")),
                                    (20, ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12",
                                          "TCI", "AOT", "WVP", "SCL")),
                                    (60, ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11",
                                          "B12", "TCI", "AOT", "WVP", "SCL")))
                for layer in layers]
    assert files == expected


def test_resolution_and_dem_options(tmp_path, l1c):
    out = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN, resolutions=(60,), dem_resolutions=(60,),
                                   dem_type="CopernicusDEM90", output_format="TIF",
                                   aux_references={"ESACCI_LandCover_Map": "None"})
    root = _root(out / "MTD_MSIL2A.xml")
    files = [e.text for e in findall_local(root, ".//IMAGE_FILE")]
    assert len(files) == 16 and all("/R60m/" in f for f in files[:-1])
    assert files[-1].endswith("/AUX_DATA/T34UDD_20230601T094549_DEM_60m")
    assert find_local(root, ".//Granule").get("imageFormat") == "GEOTIFF"
    assert find_local(root, "Auxiliary_Data_Info/PRODUCTION_DEM_TYPE").text == "CopernicusDEM90"
    assert find_local(root, "Auxiliary_Data_Info/ESACCI_LandCover_Map").text == "None"
    tile = _root(_granule_dir(out) / "MTD_TL.xml")
    assert find_local(tile, "Quality_Indicators_Info/PVI_FILENAME").text.endswith("_PVI.tif")


def test_custom_gipps_and_psd(tmp_path, l1c):
    out = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN, baseline="02.11", psd_version="14.9",
                                   gipp_files={"GIP_L2ACSC": "/opt/cfg/L2A_CAL_SC_GIPP.xml",
                                               "GIP_L2ACAC": ("S2__OPER_GIP_L2ACAC_MPC__20220121T000004", "21003")})
    root = _root(out / "MTD_MSIL2A.xml")
    gipps = [(g.get("type"), g.get("version"), g.text) for g in findall_local(root, ".//GIPP_FILENAME")[-3:]]
    assert gipps == [("GIP_L2ACSC", "21100", "L2A_CAL_SC_GIPP"),
                     ("GIP_L2ACAC", "21003", "S2__OPER_GIP_L2ACAC_MPC__20220121T000004"),
                     ("GIP_PROBA2", "0211", "L2A_PB_GIPP")]
    with pytest.raises(ProductError):
        l2a_tree.create_l2a_tree(l1c, tmp_path / "x", psd_version="12")


def test_invalid_options_refused_before_writing(tmp_path, l1c):
    for kwargs in ({"baseline": "2.111"}, {"processing_centre": "toolong"}, {"output_format": "PNG"},
                   {"resolutions": (30,)}):
        with pytest.raises(ConfigError):
            l2a_tree.create_l2a_tree(l1c, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_centres_default_and_override(tmp_path, l1c):
    out = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN, processing_centre="SGS_",
                                   archiving_centre="MTI_")
    assert "_TL_SGS__" in find_local(_root(_granule_dir(out) / "MTD_TL.xml"), "General_Info/TILE_ID").text
    assert find_local(_root(_granule_dir(out) / "MTD_TL.xml"), ".//ARCHIVING_CENTRE").text == "MTI_"
    assert next((out / "DATASTRIP").iterdir()).name.startswith("DS_SGS__")


@pytest.mark.parametrize("fixture, baseline", [("S2A_MSIL1C_N0205_T32UMF_MTD_MSIL1C.xml", "02.11"),
                                               ("S2A_MSIL1C_N0206_T35VNE_MTD_MSIL1C.xml", "99.99")])
def test_mtd_from_older_l1c_baselines(tmp_path, l1c, real_metadata_dir, fixture, baseline):
    """02.05/02.06 metadata: no offset list, *_FLAG quality checks, bare GRI_FILENAME."""
    l1c.mtd_xml = (real_metadata_dir / fixture).read_bytes()
    l1c.bands = {k: dataclasses.replace(b, radio_add_offset=0.0) for k, b in l1c.bands.items()}
    out = l2a_tree.create_l2a_tree(l1c, tmp_path / "out", generation_time=GEN, baseline=baseline)
    root = _root(out / "MTD_MSIL2A.xml")
    present = _paths(root)
    expected = [p for p in MTD_ELEMENTS if not p.endswith("BOA_ADD_OFFSET_VALUES_LIST")
                and not (p.endswith("PHYSICAL_GAINS") or p.endswith("REFERENCE_BAND"))]
    positions = [present.index(p) for p in expected]
    assert positions == sorted(positions)
    checks = findall_local(root, ".//Quality_Inspections/quality_check")
    assert [c.get("checkType") for c in checks] == ["FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY",
                                                    "L2A_QUALITY", "RADIOMETRIC_QUALITY", "SENSOR_QUALITY"]
    assert all(c.text == "PASSED" for c in checks)
    l1c_root = parse_xml_bytes(l1c.mtd_xml, fixture).getroot()
    assert [g.text for g in findall_local(root, "Auxiliary_Data_Info/GRI_List/GRI_FILENAME")] == \
        [g.text for g in findall_local(l1c_root, ".//GRI_FILENAME")]
    assert find_local(root, ".//Reflectance_Conversion/U").text == find_local(l1c_root, ".//Reflectance_Conversion/U").text


# ----------------------------------------------------------------------- QI placeholders and hooks

def test_image_content_qi_placeholders_and_update(tmp_path, l1c):
    out = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN)
    mtd = out / "MTD_MSIL2A.xml"
    assert pending_qi(mtd) == list(PRODUCT_QI_ORDER) + ["Cloud_Coverage_Assessment"]
    values = {n: 1.5 for n in PRODUCT_QI_ORDER if n.endswith("PERCENTAGE")}
    values.update(MEDIUM_PROBA_CLOUDS_PERCENTAGE=0.994093, HIGH_PROBA_CLOUDS_PERCENTAGE=0.000269,
                  THIN_CIRRUS_PERCENTAGE=11.698925, RADIATIVE_TRANSFER_ACCURACY=0, WATER_VAPOUR_RETRIEVAL_ACCURACY=0.0,
                  AOT_RETRIEVAL_ACCURACY=0, AOT_RETRIEVAL_METHOD="SEN2COR_DDV", GRANULE_MEAN_AOT=0.138284,
                  GRANULE_MEAN_WV=4.211314, OZONE_SOURCE="AUX_ECMWFT", OZONE_VALUE=267.353922)
    update_image_content_qi(mtd, values)
    assert pending_qi(mtd) == []
    got = qi_values(mtd)
    assert got["GRANULE_MEAN_AOT"] == "0.138284" and got["OZONE_VALUE"] == "267.353922"
    assert got["RADIATIVE_TRANSFER_ACCURACY"] == "0.0" and got["AOT_RETRIEVAL_METHOD"] == "SEN2COR_DDV"
    assert got["VEGETATION_PERCENTAGE"] == "1.500000"
    assert find_local(_root(mtd), "Quality_Indicators_Info/Cloud_Coverage_Assessment").text == "12.693287"
    tile = _granule_dir(out) / "MTD_TL.xml"
    assert pending_qi(tile)[0] == "CLOUDY_PIXEL_PERCENTAGE" and "DEGRADED_MSI_DATA_PERCENTAGE" not in pending_qi(tile)
    update_image_content_qi(tile, {**values, "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE": 2.0})
    assert pending_qi(tile) == [] and qi_values(tile)["CLOUDY_PIXEL_PERCENTAGE"] == "12.693287"
    with pytest.raises(ProductError):
        update_image_content_qi(mtd, {"NOT_A_QI": 1})
    with pytest.raises(ProductError):
        update_image_content_qi(mtd, {"CLOUDY_PIXEL_PERCENTAGE": 1})   # tile-only name


def test_l2a_quality_skeleton_and_update(built, tmp_path, l1c):
    _, out = built
    path = _granule_dir(out) / "QI_DATA" / "L2A_QUALITY.xml"
    root = _root(path)
    assert local_name(root) == "L2A_Quality_File"
    assert etree.QName(root).namespace == "http://gs2.esa.int/DATA_STRUCTURE/l2aqiReport"
    assert find_local(root, "L2A_Quality_Header/Fixed_Header/File_Type").text == "L2A_QLINFO"
    assert find_local(root, "L2A_Quality_Header/Fixed_Header/Source/System").text == "Sen2Cor"
    assert find_local(root, "L2A_Quality_Header/Fixed_Header/Source/Creator_Version").text == "2.11"
    lists = findall_local(root, "Data_Block/report/checkList")
    assert [find_local(c, "parentID").text for c in lists] == ["L2A_SC", "L2A_AC", "L2A_AUX"]
    assert [find_local(c, "name").text for c in lists] == ["SCENE_CLASS_QUALITY", "ATMOSPHERIC_CORRECTION_QUALITY",
                                                           "AUX_DATA_QUALITY"]
    assert pending_quality(path) == list(VALUE_NAMES)
    assert {"START_VISIBILITY_KM", "WV_RETRIEVAL_METHOD", "LUT_DATA_FILES", "DEM_TYPE", "AUX_DATA_FILES",
            "B8A", "GRANULE_WV_ABOVE_5_CM"} <= set(VALUE_NAMES)
    own = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN)
    own_path = _granule_dir(own) / "QI_DATA" / "L2A_QUALITY.xml"
    update_l2a_quality(own_path, {"START_VISIBILITY_KM": 40, "AOT_ABOVE_1": False, "WV_RETRIEVAL_METHOD": "SEN2COR_APDA",
                                  "LUT_DATA_FILES": ["g99000_wv20_rura.atm"]}, global_status="PASSED")
    values = quality_values(own_path)
    assert values["START_VISIBILITY_KM"] == "40.000000" and values["AOT_ABOVE_1"] == "False"
    assert values["LUT_DATA_FILES"] == "['g99000_wv20_rura.atm']"
    assert find_local(_root(own_path), "Data_Block/report").get("globalStatus") == "PASSED"
    with pytest.raises(ProductError):
        update_l2a_quality(own_path, {"NOPE": 1})


# ----------------------------------------------------------------------------------- MTD_TL, DS

def test_tile_metadata(built):
    product, out = built
    granule = _granule_dir(out)
    tile = _root(granule / "MTD_TL.xml")
    l1c = parse_xml_bytes(product.tile_mtd_xml, L1C_TILE).getroot()
    assert local_name(tile) == "Level-2A_Tile_ID"
    assert etree.QName(tile).namespace == "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd"
    assert [local_name(e) for e in find_local(tile, "General_Info")] == [
        "L1C_TILE_ID", "TILE_ID", "DATASTRIP_ID", "DOWNLINK_PRIORITY", "SENSING_TIME", "Archiving_Info"]
    assert find_local(tile, "General_Info/L1C_TILE_ID").text == find_local(l1c, "General_Info/TILE_ID").text
    assert find_local(tile, "General_Info/SENSING_TIME").text == find_local(l1c, "General_Info/SENSING_TIME").text
    canon = _canon
    assert canon(find_local(tile, "Geometric_Info/Tile_Geocoding")) == canon(find_local(l1c, "Geometric_Info/Tile_Geocoding"))
    assert canon(find_local(tile, "Geometric_Info/Tile_Angles")) == canon(find_local(l1c, "Geometric_Info/Tile_Angles"))
    assert len(findall_local(tile, ".//Viewing_Incidence_Angles_Grids")) == len(findall_local(l1c, ".//Viewing_Incidence_Angles_Grids")) > 13
    assert [local_name(e) for e in find_local(tile, "Quality_Indicators_Info/Image_Content_QI")] == list(TILE_QI_ORDER)
    masks = findall_local(tile, "Quality_Indicators_Info/Pixel_Level_QI/MASK_FILENAME")
    l1c_masks = findall_local(l1c, "Quality_Indicators_Info/Pixel_Level_QI/MASK_FILENAME")
    assert len(masks) == len(l1c_masks) + 4
    assert [(m.get("type"), m.text.rsplit("/", 1)[-1]) for m in masks[-4:]] == [
        ("MSK_CLDPRB", "MSK_CLDPRB_20m.jp2"), ("MSK_SNWPRB", "MSK_SNWPRB_20m.jp2"),
        ("MSK_CLDPRB", "MSK_CLDPRB_60m.jp2"), ("MSK_SNWPRB", "MSK_SNWPRB_60m.jp2")]
    for mask in masks[:-4]:   # the taken-over masks exist in the L2A product
        assert mask.text.startswith(f"GRANULE/{granule.name}/QI_DATA/") and (out / mask.text).is_file()
    assert find_local(tile, "Quality_Indicators_Info/PVI_FILENAME").text == \
        f"GRANULE/{granule.name}/QI_DATA/T34UDD_20230601T094549_PVI.jp2"


def test_tile_metadata_with_long_l1c_mask_names(tmp_path, l1c, real_metadata_dir):
    old_tile = (real_metadata_dir / "S2A_MSIL1C_N0204_T34VCL_MTD_TL.xml").read_bytes()
    l1c.tile_mtd_xml = old_tile
    l1c.granule.quality_masks = []
    out = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN)
    tile = _root(_granule_dir(out) / "MTD_TL.xml")
    names = [m.text.rsplit("/", 1)[-1] for m in findall_local(tile, ".//MASK_FILENAME")]
    assert "MSK_DEFECT_B01.gml" in names and not any(n.startswith("S2A_OPER") for n in names)


def test_datastrip_metadata(built):
    _, out = built
    ds = next((out / "DATASTRIP").iterdir())
    root = _root(ds / "MTD_DS.xml")
    assert local_name(root) == "Level-2A_DataStrip_ID"
    ns = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Datastrip_Metadata.xsd"
    assert etree.QName(root).namespace == ns
    assert all(etree.QName(e).namespace == ns for e in root)
    assert b"Level-1C_Datastrip" not in (ds / "MTD_DS.xml").read_bytes()
    assert find_local(root, "General_Info/Processing_Info/PROCESSING_BASELINE").text == "99.99"
    assert find_local(root, "General_Info/Processing_Info/PROCESSING_CENTER").text == "2BPS"
    assert find_local(root, "General_Info/Processing_Info/UTC_DATE_TIME").text == "2024-05-06T07:08:09.000Z"
    assert find_local(root, "General_Info/Datatake_Info").get("datatakeIdentifier").endswith("_N99.99")
    assert find_local(root, "General_Info/Datastrip_Time_Info/DATASTRIP_SENSING_START").text == "2023-06-01T09:45:49.024Z"
    tile_id = find_local(_root(_granule_dir(out) / "MTD_TL.xml"), "General_Info/TILE_ID").text
    assert [t.get("tileId") for t in findall_local(root, "Image_Data_Info/Tiles_Information/Tile_List/Tile")] == [tile_id]
    assert find_local(root, "Image_Data_Info/Radiometric_Info/QUANTIFICATION_VALUE") is None
    assert find_local(root, "Image_Data_Info/Radiometric_Info/QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE").text == "10000"
    gipps = [g.get("type") for g in findall_local(root, "Auxiliary_Data_Info/GIPP_List/GIPP_FILENAME")]
    assert gipps == ["GIP_PROBAS", "GIP_L2ACSC", "GIP_L2ACAC", "GIP_PROBA2"]


def test_datastrip_metadata_without_l1c_datastrip(tmp_path, l1c):
    l1c.datastrip_path = None
    out = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN)
    root = _root(next((out / "DATASTRIP").iterdir()) / "MTD_DS.xml")
    assert find_local(root, "General_Info/Processing_Info/PROCESSING_BASELINE").text == "99.99"
    assert find_local(root, "General_Info/Datatake_Info/SPACECRAFT_NAME").text == "Sentinel-2B"
    assert find_local(root, "Image_Data_Info/Tiles_Information/Tile_List/Tile") is not None


# ------------------------------------------------------------------------------------- manifest

def test_manifest_sizes_checksums_and_sections(built):
    product, out = built
    root = _root(out / "manifest.safe")
    assert root.get("version") == "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"
    objects = findall_local(root, "dataObjectSection/dataObject")
    hrefs = {}
    for obj in objects:
        stream = find_local(obj, "byteStream")
        href = find_local(stream, "fileLocation").get("href")
        path = out / href[2:]
        data = path.read_bytes()
        assert int(stream.get("size")) == len(data), href
        checksum = find_local(stream, "checksum")
        assert checksum.get("checksumName") == "MD5"
        assert checksum.text == hashlib.md5(data).hexdigest(), href
        hrefs[href[2:]] = obj.get("ID")
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.safe"}
    assert set(hrefs) == on_disk
    assert len(set(hrefs.values())) == len(hrefs)           # IDs unique
    assert hrefs["MTD_MSIL2A.xml"] == "S2_Level-2A_Product_Metadata"
    granule = _granule_dir(out).name
    assert hrefs[f"GRANULE/{granule}/MTD_TL.xml"] == "S2_Level-2A_Tile1_Metadata"
    assert hrefs[f"GRANULE/{granule}/AUX_DATA/AUX_ECMWFT"] == "ECMWF_Tile1_Data"
    mimes = {find_local(o, "byteStream/fileLocation").get("href"): find_local(o, "byteStream").get("mimeType") for o in objects}
    assert mimes["./MTD_MSIL2A.xml"] == "text/xml"
    assert mimes[f"./GRANULE/{granule}/QI_DATA/MSK_CLOUDS_B00.gml"] == "application/xml"
    metadata_ids = [m.get("ID") for m in findall_local(root, "metadataSection/metadataObject")]
    assert metadata_ids[:5] == ["acquisitionPeriod", "measurementOrbitReference", "platform", "processing",
                                "measurementFrameSet"]
    processing = root.find(".//{http://www.esa.int/safe/sentinel/1.1}processing")
    assert processing.get("name") == "Generation of Level-2A User Product"
    assert processing.get("start") == "2024-05-06T07:08:09.000000Z"
    assert root.find(".//{http://www.esa.int/safe/sentinel/1.1}relativeOrbitNumber").text == "79"
    pointers = {p.get("dataObjectID") for p in root.iter("dataObjectPointer")}
    assert set(hrefs.values()) <= pointers
    top = find_local(root, "informationPackageMap/contentUnit")
    assert top.get("unitType") == "Product_Level-2A" and top.get("pdiID") == "processing"


def test_manifest_without_l1c_manifest_and_rebuild(tmp_path, l1c):
    l1c.manifest_xml = b""
    (Path(l1c.safe_path) / "INSPIRE.xml").unlink()          # compact INSPIRE record written instead
    out = l2a_tree.create_l2a_tree(l1c, tmp_path, generation_time=GEN)
    root = _root(out / "manifest.safe")
    assert root.find(".//{http://www.esa.int/safe/sentinel/1.1}orbitNumber").text == "032566"
    assert root.find(".//{http://www.esa.int/safe/sentinel/1.1}number").text == "2B"
    inspire = _root(out / "INSPIRE.xml")
    assert local_name(inspire) == "MD_Metadata" and out.name in etree.tostring(inspire).decode()
    assert float(find_local(inspire, ".//westBoundLongitude/Decimal").text) == pytest.approx(19.50094041209755)
    # processing writes a raster, then rebuilds the manifest
    names = l2a_tree.product_names(out)
    raster = out / names.image_relpath("SCL", 20)
    raster.write_bytes(b"\x00" * 1234)
    manifest.rebuild_manifest(out)
    root = _root(out / "manifest.safe")
    ids = {find_local(o, "byteStream/fileLocation").get("href"): o.get("ID") for o in findall_local(root, ".//dataObject")}
    assert ids[f"./{names.image_relpath('SCL', 20)}"] == "IMG_DATA_Band_SCL_20m_Tile1_Data"
    obj = [o for o in findall_local(root, ".//dataObject") if o.get("ID") == "IMG_DATA_Band_SCL_20m_Tile1_Data"][0]
    assert find_local(obj, "byteStream").get("size") == "1234"
    assert root.find(".//{http://www.esa.int/safe/sentinel/1.1}orbitNumber").text == "032566"  # kept


def test_product_names_recovered(built):
    _, out = built
    names = l2a_tree.product_names(out)
    assert names.product == out.name and names.granule == _granule_dir(out).name
    assert names.tile == "34UDD" and names.baseline == "99.99" and names.output_format == "JP2"
    assert names.image_relpath("B02", 10) == \
        f"GRANULE/{names.granule}/IMG_DATA/R10m/T34UDD_20230601T094549_B02_10m.jp2"
    assert names.mask_relpath("MSK_CLDPRB", 20) == f"GRANULE/{names.granule}/QI_DATA/MSK_CLDPRB_20m.jp2"


# ------------------------------------------------------------------------------------ atomicity

def test_existing_product_refused_and_untouched(tmp_path, l1c):
    out = l2a_tree.create_l2a_tree(l1c, tmp_path / "out", generation_time=GEN)
    marker = out / "user_file.txt"
    marker.write_text("mine")
    before = {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(ProductError, match="already exists"):
        l2a_tree.create_l2a_tree(l1c, tmp_path / "out", generation_time=GEN)
    assert {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*")} == before
    assert marker.read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [out.name]


def test_exception_midway_leaves_nothing(tmp_path, l1c, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(l2a_tree, "copy_aux_data", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        l2a_tree.create_l2a_tree(l1c, tmp_path / "out", generation_time=GEN)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupt_cleans_up(tmp_path, l1c, error):
    seen = {}

    def interrupt(folder, names):
        seen["partial"] = folder
        assert folder.name.startswith(f".{names.product}.partial-") and (folder / "MTD_MSIL2A.xml").is_file()
        raise error()
    with pytest.raises(error):
        l2a_tree.create_l2a_tree(l1c, tmp_path / "out", generation_time=GEN, populate=interrupt)
    assert not seen["partial"].exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_dir_basics(tmp_path):
    target = tmp_path / "new" / "deeper"
    with atomic_product_dir(target, "P.SAFE") as tmp:
        assert tmp.parent == target and tmp.name.startswith(".P.SAFE.partial-")
        (tmp / "a").write_text("x")
        assert not (target / "P.SAFE").exists()
    assert (target / "P.SAFE" / "a").read_text() == "x"
    with pytest.raises(ProductError):
        with atomic_product_dir(target, "P.SAFE"):
            pytest.fail("must not be entered")
    (tmp_path / "file").write_text("")
    with pytest.raises(ProductError, match="not a folder"):
        with atomic_product_dir(tmp_path / "file", "P.SAFE"):
            pass


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions are not enforced for root")
def test_unwritable_output_folder(tmp_path, l1c):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ProductError, match="not writable"):
            l2a_tree.create_l2a_tree(l1c, locked, generation_time=GEN)
    finally:
        locked.chmod(0o700)


def test_unwritable_output_folder_simulated(tmp_path, l1c, monkeypatch):
    from sen2cor_qgis.core.product import atomic
    monkeypatch.setattr(atomic.os, "access", lambda path, mode: False)
    with pytest.raises(ProductError, match="not writable"):
        l2a_tree.create_l2a_tree(l1c, tmp_path / "out", generation_time=GEN)


# ------------------------------------------------------------------------------------- zip input

def test_l1c_inside_zip(tmp_path, l1c_bytes):
    mtd, tile_xml = l1c_bytes
    safe = write_l1c_folder(tmp_path / "src", mtd, tile_xml)
    archive = tmp_path / "l1c.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(safe.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(safe.parent).as_posix())
    product = make_product(f"/vsizip/{archive}/{L1C_NAME}", mtd, tile_xml, is_zip=True)
    product.mtd_xml = b""                       # force reading through /vsizip/ too
    out = l2a_tree.create_l2a_tree(product, tmp_path / "out", generation_time=GEN)
    reference = l2a_tree.create_l2a_tree(make_product(str(safe), mtd, tile_xml), tmp_path / "ref", generation_time=GEN)
    zipped = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    plain = {p.relative_to(reference).as_posix(): p.read_bytes() for p in reference.rglob("*") if p.is_file()}
    assert set(zipped) == set(plain)
    for rel in plain:
        if "/QI_DATA/MSK_" in rel or "/AUX_DATA/" in rel or rel.startswith("DATASTRIP/") or rel.endswith("MTD_MSIL2A.xml"):
            assert zipped[rel] == plain[rel], rel
    granule = _granule_dir(out)
    assert (granule / "AUX_DATA" / "AUX_ECMWFT").stat().st_size > 3000


def test_missing_l1c_file_in_zip_is_a_clear_error(tmp_path, l1c_bytes):
    mtd, tile_xml = l1c_bytes
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"{L1C_NAME}/MTD_MSIL1C.xml", mtd)
    product = make_product(f"/vsizip/{archive}/{L1C_NAME}", mtd, tile_xml, is_zip=True)
    product.granule.quality_masks = [QualityMask("MSK_CLASSI", None, f"/vsizip/{archive}/{L1C_NAME}/x/MSK_CLASSI_B00.jp2", True)]
    with pytest.raises(ProductError, match="MSK_CLASSI_B00.jp2"):
        l2a_tree.create_l2a_tree(product, tmp_path / "out", generation_time=GEN)
    assert list((tmp_path / "out").iterdir()) == []


# ------------------------------------------------------------------------------------- GDAL client

def test_gdal_sentinel2_driver_reads_the_product(built):
    _, out = built
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        ds = gdal.Open(str(out / "MTD_MSIL2A.xml"))
    finally:
        gdal.PopErrorHandler()
    assert ds is not None and ds.GetDriver().ShortName == "SENTINEL2"
    md = ds.GetMetadata()
    assert md["PROCESSING_LEVEL"] == "Level-2A" and md["PRODUCT_TYPE"] == "S2MSI2A"
    assert md["PROCESSING_BASELINE"] == "99.99" and md["PRODUCT_URI"] == out.name
    assert md["BOA_QUANTIFICATION_VALUE"] == "10000" and md["AOT_QUANTIFICATION_VALUE"] == "1000.0"
    assert md["DATATAKE_1_SPACECRAFT_NAME"] == "Sentinel-2B"
    assert md["REFLECTANCE_CONVERSION_U"] == "0.973872714002463"
    assert md["SPECIAL_VALUE_NODATA"] == "0"
    subdatasets = ds.GetMetadata("SUBDATASETS")
    names = [v for k, v in subdatasets.items() if k.endswith("_NAME")]
    # GDAL lists the 10/20/60 m band groups from the metadata; the rasters are written by processing
    assert any(n.startswith("SENTINEL2_L2A:") and ":10m:" in n for n in names)
    assert any(":20m:" in n for n in names) and any(":60m:" in n for n in names)
    assert any("EPSG_32723" in n for n in names)      # CRS read from our MTD_TL.xml (T23LLF geometry)
    # Opening a band group: GDAL derives the image paths itself and must find our names
    messages: List[str] = []
    gdal.PushErrorHandler(lambda cls, no, msg: messages.append(msg))
    try:
        sub = gdal.Open([n for n in names if ":10m:" in n][0])
    finally:
        gdal.PopErrorHandler()
    assert sub is not None and (sub.RasterXSize, sub.RasterYSize, sub.RasterCount) == (10980, 10980, 4)
    expected = l2a_tree.product_names(out).image_relpath("B02", 10)
    assert any(expected in m and "not found" in m for m in messages), messages
