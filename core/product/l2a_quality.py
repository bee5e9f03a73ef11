"""QI_DATA/L2A_QUALITY.xml: the skeleton written with the tree, filled by processing (§9.7).

Every value element of the three check lists is present from the start with empty text; processing
calls `update_l2a_quality(path, values)` with the names of §9.7 (each name is unique across the
file) and, at the end, a global status. Values are formatted as Sen2Cor writes them: '%f' numbers,
'True'/'False' flags, Python-style lists of file names.

Extension values (this project's, not in Sen2Cor's file; `EXTENSION_VALUES`) are not part of the
skeleton: `update_l2a_quality` inserts them at their place when processing writes them.
* DEM_STATUS (check list L2A_AUX, right after DEM_TYPE): how the terrain was known -
  'DEM' (a DEM was prepared), 'NO_DEM' (DEM_Directory NONE: flat by configuration) or
  'FLAT_TERRAIN_FALLBACK: <reason>' (a DEM problem with Force_Exit_On_DEM_Error FALSE: the run
  went on with flat terrain). Sen2Cor records such a fallback nowhere in the product; here it
  comes with the report's globalStatus WARNING and the same text in the header's Notes
  (`update_l2a_quality(..., notes=...)`), so that a reader of the product sees it.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

from lxml import etree

from ..errors import ProductError
from .l2a_xml import XSI, parse_file, write_xml

NAMESPACE = "http://gs2.esa.int/DATA_STRUCTURE/l2aqiReport"
FILE_NAME = "L2A_QUALITY.xml"
ITEM_CLASS = "http://www.esa.int/s2#pdi_level_2a_tile_container"
GLOBAL_STATUSES = ("PASSED", "FAILED", "WARNING")
NEGATIVE_BOA_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")

# (parentID, name, [(check message, [value names])]) in the order Sen2Cor writes them.
CHECK_LISTS: Tuple[Tuple[str, str, Tuple[Tuple[str, Tuple[str, ...]], ...]], ...] = (
    ("L2A_SC", "SCENE_CLASS_QUALITY", (
        ('"Percentage of classified pixels"', (
            "CLOUDY_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE",
            "DEGRADED_MSI_DATA_PERCENTAGE", "NODATA_PIXEL_PERCENTAGE",
            "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "DARK_FEATURES_PERCENTAGE",
            "CLOUD_SHADOW_PERCENTAGE", "VEGETATION_PERCENTAGE", "NOT_VEGETATED_PERCENTAGE",
            "WATER_PERCENTAGE", "UNCLASSIFIED_PERCENTAGE", "MEDIUM_PROBA_CLOUDS_PERCENTAGE",
            "HIGH_PROBA_CLOUDS_PERCENTAGE", "THIN_CIRRUS_PERCENTAGE", "SNOW_ICE_PERCENTAGE")),
    )),
    ("L2A_AC", "ATMOSPHERIC_CORRECTION_QUALITY", (
        ("Atmospheric correction quality values", (
            "AOT_RETRIEVAL_ACCURACY", "GRANULE_MEAN_AOT", "WV_RETRIEVAL_ACCURACY", "GRANULE_MEAN_WV",
            "OZONE_VALUE", "START_VISIBILITY_KM", "VISIBILITY_FROM_DDV_KM", "FINAL_VISIBILITY_KM",
            "AVERAGE_SOLAR_ZENITH_ANGLE", "DDV_PIXEL_PERCENTAGE", "DDV_REFLECTANCE_RANGE",
            "BLUE_PATH_RADIANCE_RESCALING_FACTOR")),
        ("Atmospheric correction quality control", (
            "WV_RETRIEVAL_METHOD", "AOT_RETRIEVAL_METHOD", "VISIBILITY_LESS_THAN_5_KM", "AOT_ABOVE_1",
            "GRANULE_WV_ABOVE_5_CM")),
        ("Percentage of negative BOA pixels", NEGATIVE_BOA_BANDS),
        ("Look up table file list", ("LUT_DATA_FILES",)),
    )),
    ("L2A_AUX", "AUX_DATA_QUALITY", (
        ("AUX related parameters", (
            "DEM_TYPE", "DEM_MEAN_ALTITUDE_KM", "DEM_MEAN_SLOPE", "GROUND_ELEVATION_ABOVE_3_KM",
            "SOLAR_ZENITH_ANGLE_ABOVE_70_DEG", "OZONE_SOURCE")),
        ("AUX data file list", ("AUX_DATA_FILES",)),
    )),
)
VALUE_NAMES: Tuple[str, ...] = tuple(n for _, _, checks in CHECK_LISTS for _, names in checks for n in names)
# Extension values (module notes): name -> the Sen2Cor value it follows in the file.
EXTENSION_VALUES: Dict[str, str] = {"DEM_STATUS": "DEM_TYPE"}
DEM_STATUS_DEM = "DEM"
DEM_STATUS_NO_DEM = "NO_DEM"
DEM_STATUS_FALLBACK = "FLAT_TERRAIN_FALLBACK"


def format_quality_value(value: object) -> str:
    """'True'/'False', '%f' for numbers, "['a', 'b']" for lists, text as is."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return "%f" % float(value)
    if isinstance(value, (list, tuple)):
        return repr([str(v) for v in value])
    return str(value)


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def build_l2a_quality(mission: str, tile_id: str, granule_relpath: str, creation: datetime,
                      creator_version: str, gipp_version: str) -> etree._Element:
    """The L2A_QUALITY.xml skeleton: headers filled, every value empty, global status empty."""
    root = etree.Element(_q("L2A_Quality_File"), nsmap={None: NAMESPACE, "xsi": XSI})
    root.set(etree.QName(XSI, "schemaLocation"), f"{NAMESPACE} L2A_QUALITY.xsd")
    header = etree.SubElement(etree.SubElement(root, _q("L2A_Quality_Header")), _q("Fixed_Header"))
    for tag, text in (("File_Name", "L2A_QUALITY"),
                      ("File_Description", "Quality information obtained from Sen2Cor"),
                      ("Notes", None), ("Mission", mission), ("File_Class", "OPER"),
                      ("File_Type", "L2A_QLINFO")):
        etree.SubElement(header, _q(tag)).text = text
    validity = etree.SubElement(header, _q("Validity_Period"))
    etree.SubElement(validity, _q("Validity_Start")).text = "UTC=2015-06-22T00:00:00"
    etree.SubElement(validity, _q("Validity_Stop")).text = "UTC=2100-01-01T00:00:00"
    etree.SubElement(header, _q("File_Version")).text = "1"
    source = etree.SubElement(header, _q("Source"))
    for tag, text in (("System", "Sen2Cor"), ("Creator", "Sen2Cor"), ("Creator_Version", creator_version),
                      ("Creation_Date", "UTC=" + creation.strftime("%Y-%m-%dT%H:%M:%S"))):
        etree.SubElement(source, _q(tag)).text = text
    block = etree.SubElement(root, _q("Data_Block"), type="xml")
    report = etree.SubElement(block, _q("report"), gippVersion=gipp_version, globalStatus="",
                              date=creation.strftime("%Y-%m-%dT%H:%M:%SZ"))
    for parent_id, list_name, checks in CHECK_LISTS:
        check_list = etree.SubElement(report, _q("checkList"))
        etree.SubElement(check_list, _q("parentID")).text = parent_id
        etree.SubElement(check_list, _q("name")).text = list_name
        etree.SubElement(check_list, _q("version")).text = creator_version
        etree.SubElement(check_list, _q("item"), {"class": ITEM_CLASS, "className": "PDI Level 2A Tile Folder",
                                                 "name": tile_id, "url": granule_relpath})
        for message, names in checks:
            check = etree.SubElement(check_list, _q("check"))
            etree.SubElement(check, _q("message"), contentType="text/plain").text = message
            extra = etree.SubElement(check, _q("extraValues"))
            for name in names:
                etree.SubElement(extra, _q("value"), name=name).text = ""
    return root


def update_l2a_quality(path: Union[str, Path], values: Mapping[str, object],
                       global_status: Optional[str] = None, notes: Optional[str] = None) -> Path:
    """Fill values (names of VALUE_NAMES, or of EXTENSION_VALUES: inserted after the value they
    follow when absent), optionally the report's globalStatus and the header's Notes text
    (replaced); atomic rewrite."""
    unknown = sorted(set(values) - set(VALUE_NAMES) - set(EXTENSION_VALUES))
    if unknown:
        raise ProductError(f"unknown L2A_QUALITY value names: {', '.join(unknown)}", path)
    if global_status is not None and global_status not in GLOBAL_STATUSES:
        raise ProductError(f"global status must be one of {', '.join(GLOBAL_STATUSES)}", path)
    root = parse_file(path)
    by_name = {e.get("name"): e for e in root.iter(_q("value"))}
    for name, value in values.items():
        if name not in by_name and name in EXTENSION_VALUES:
            anchor = by_name.get(EXTENSION_VALUES[name])
            if anchor is not None:
                element = etree.Element(_q("value"), name=name)
                element.tail = anchor.tail
                anchor.addnext(element)
                by_name[name] = element
        if name not in by_name:
            raise ProductError(f"value {name} missing in the file", path)
        by_name[name].text = format_quality_value(value)
    if global_status is not None:
        for report in root.iter(_q("report")):
            report.set("globalStatus", global_status)
    if notes is not None:
        for element in root.iter(_q("Notes")):
            element.text = " ".join(str(notes).split()) or None
    return write_xml(root, path)


def quality_values(path: Union[str, Path]) -> Dict[str, str]:
    """Current value texts by name."""
    return {e.get("name"): (e.text or "") for e in parse_file(path).iter(_q("value"))}


def pending_quality(path: Union[str, Path]) -> List[str]:
    """Value names still empty."""
    return [name for name, text in quality_values(path).items() if not text.strip()]


def report_status(path: Union[str, Path]) -> Tuple[str, str]:
    """(report globalStatus, header Notes text) of a file ('' where empty)."""
    root = parse_file(path)
    report = next(root.iter(_q("report")), None)
    notes = next(root.iter(_q("Notes")), None)
    return ((report.get("globalStatus") or "") if report is not None else "",
            (notes.text or "") if notes is not None else "")
