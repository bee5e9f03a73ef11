"""MTD_MSIL2A.xml, built from the L1C product metadata (reference §9.5).

Sections that Level-2A keeps unchanged (product times, datatake, special values, display order,
reflectance conversion, spectral information, physical gains, footprint, CRS, L1C GIPP list,
auxiliary references, technical quality, quality checks) are copied element by element from the
raw MTD_MSIL1C.xml so their texts stay byte-identical; Level-2A elements are generated. Image
content values are placeholders filled later through core.product.l2a_qi.
"""
from __future__ import annotations

from typing import Optional

from lxml import etree

from ..errors import ProductError
from . import naming
from .l2a_qi import PLACEHOLDER, PRODUCT_CLOUD_COVER, PRODUCT_QI_ORDER
from .l2a_settings import L2ASettings
from .l2a_xml import (copied, copy_children, find_local, findall_local, local_name, new_root,
                      parse_bytes, psd_namespace, section, sub)
from .model import L1CProduct
from .naming import L2ANames

PRODUCT_SCHEMA = "User_Product_Level-2A.xsd"
BOA_QUANTIFICATION_VALUE = 10000
AOT_QUANTIFICATION_VALUE = 1000.0
WVP_QUANTIFICATION_VALUE = 1000.0
BOA_ADD_OFFSET = -1000
N_BANDS = 13
# Scene_Classification_List: SCL value -> SCENE_CLASSIFICATION_TEXT (reference §2.2).
SCENE_CLASSES = (
    "SC_NODATA", "SC_SATURATED_DEFECTIVE", "SC_DARK_FEATURE_SHADOW", "SC_CLOUD_SHADOW",
    "SC_VEGETATION", "SC_NOT_VEGETATED", "SC_WATER", "SC_UNCLASSIFIED", "SC_CLOUD_MEDIUM_PROBA",
    "SC_CLOUD_HIGH_PROBA", "SC_THIN_CIRRUS", "SC_SNOW_ICE",
)
L2A_QUALITY_CHECK = "L2A_QUALITY"


def l1c_metadata_root(product: L1CProduct) -> etree._Element:
    """Parsed MTD_MSIL1C.xml from the model's raw bytes (read from `mtd_path` when absent)."""
    data = product.mtd_xml
    if not data and product.mtd_path:
        from .l2a_files import read_bytes
        data = read_bytes(product.mtd_path)
    if not data:
        raise ProductError("the L1C product metadata (MTD_MSIL1C.xml) is not available", product.input_path)
    return parse_bytes(data, product.mtd_path or "MTD_MSIL1C.xml")


def image_file_entries(names: L2ANames, settings: L2ASettings):
    """IMAGE_FILE texts (no extension) for every layer of every resolution the product holds."""
    granule = f"GRANULE/{names.granule}"
    entries = [f"{granule}/IMG_DATA/R{res}m/{names.image_stem(layer, res)}"
               for res in settings.resolutions for layer in naming.RESOLUTION_LAYERS[res]]
    entries += [f"{granule}/AUX_DATA/{names.image_stem('DEM', res)}" for res in settings.dem_resolutions]
    return entries


def update_image_files(mtd_path, entries) -> None:
    """Replace the Granule's IMAGE_FILE list of an MTD_MSIL2A.xml on disk with `entries` (texts
    without extension, in order): processing calls it with the files it actually wrote."""
    from .l2a_xml import parse_file, write_xml
    root = parse_file(mtd_path)
    granule = find_local(root, "General_Info/Product_Info/Product_Organisation/Granule_List/Granule")
    if granule is None:
        raise ProductError("no Granule in the product metadata", mtd_path)
    for element in findall_local(granule, "IMAGE_FILE"):
        granule.remove(element)
    for entry in entries:
        sub(granule, "IMAGE_FILE", entry)
    write_xml(root, mtd_path)


def datatake_identifier_for(identifier: str, baseline: str) -> str:
    """Datatake identifier with its trailing '_Ndd.dd' set to the L2A baseline (as the L2A datastrip)."""
    head, sep, _ = identifier.rpartition("_N")
    return f"{head}_N{baseline}" if sep else identifier


def build_product_metadata(product: L1CProduct, names: L2ANames, settings: L2ASettings) -> etree._Element:
    """The complete MTD_MSIL2A.xml tree."""
    l1c = l1c_metadata_root(product)
    ns = psd_namespace(settings.psd, PRODUCT_SCHEMA)
    root = new_root(ns, "Level-2A_User_Product")
    _general_info(section(root, "General_Info"), l1c, names, settings)
    geometric = find_local(l1c, "Geometric_Info")
    geo = section(root, "Geometric_Info")
    copy_children(geometric, geo)
    _auxiliary_info(section(root, "Auxiliary_Data_Info"), l1c, settings)
    _quality_info(section(root, "Quality_Indicators_Info"), l1c)
    return root


def _general_info(general: etree._Element, l1c: etree._Element, names: L2ANames,
                  settings: L2ASettings) -> None:
    info_l1c = _required(l1c, "General_Info/Product_Info")
    info = sub(general, "Product_Info")
    for tag in ("PRODUCT_START_TIME", "PRODUCT_STOP_TIME"):
        _copy_one(info_l1c, tag, info)
    sub(info, "PRODUCT_URI", names.product)
    sub(info, "PROCESSING_LEVEL", "Level-2A")
    sub(info, "PRODUCT_TYPE", "S2MSI2A")
    sub(info, "PROCESSING_BASELINE", settings.baseline)
    sub(info, "PRODUCT_DOI", settings.product_doi)
    sub(info, "GENERATION_TIME", settings.generation_text)
    for tag in ("PREVIEW_IMAGE_URL", "PREVIEW_GEO_INFO"):
        if _copy_one(info_l1c, tag, info) is None:
            sub(info, tag, "Not applicable")
    datatake = _copy_one(info_l1c, "Datatake", info)
    if datatake is not None:
        if datatake.get("datatakeIdentifier"):
            datatake.set("datatakeIdentifier",
                         datatake_identifier_for(datatake.get("datatakeIdentifier"), settings.baseline))
    _copy_one(info_l1c, "Query_Options", info)
    granule_list = sub(sub(info, "Product_Organisation"), "Granule_List")
    granule = sub(granule_list, "Granule", datastripIdentifier=names.datastrip_id,
                  granuleIdentifier=names.tile_id,
                  imageFormat=naming.OUTPUT_FORMATS[settings.output_format][1])
    for entry in image_file_entries(names, settings):
        sub(granule, "IMAGE_FILE", entry)

    chars_l1c = _required(l1c, "General_Info/Product_Image_Characteristics")
    chars = sub(general, "Product_Image_Characteristics")
    for element in findall_local(chars_l1c, "Special_Values"):
        chars.append(copied(element))
    _copy_one(chars_l1c, "Image_Display_Order", chars)
    quantification = sub(chars, "QUANTIFICATION_VALUES_LIST")
    sub(quantification, "BOA_QUANTIFICATION_VALUE", BOA_QUANTIFICATION_VALUE, unit="none")
    sub(quantification, "AOT_QUANTIFICATION_VALUE", AOT_QUANTIFICATION_VALUE, unit="none")
    sub(quantification, "WVP_QUANTIFICATION_VALUE", WVP_QUANTIFICATION_VALUE, unit="cm")
    if settings.boa_offset:
        offsets = sub(chars, "BOA_ADD_OFFSET_VALUES_LIST")
        for band_id in range(N_BANDS):
            sub(offsets, "BOA_ADD_OFFSET", BOA_ADD_OFFSET, band_id=band_id)
    for tag in ("Reflectance_Conversion", "Spectral_Information_List"):
        _copy_one(chars_l1c, tag, chars)
    for element in findall_local(chars_l1c, "PHYSICAL_GAINS"):
        chars.append(copied(element))
    _copy_one(chars_l1c, "REFERENCE_BAND", chars)
    classes = sub(chars, "Scene_Classification_List")
    for index, text in enumerate(SCENE_CLASSES):
        entry = sub(classes, "Scene_Classification_ID")
        sub(entry, "SCENE_CLASSIFICATION_TEXT", text)
        sub(entry, "SCENE_CLASSIFICATION_INDEX", index)


def _auxiliary_info(aux: etree._Element, l1c: etree._Element, settings: L2ASettings) -> None:
    aux_l1c = find_local(l1c, "Auxiliary_Data_Info")
    gipps = sub(aux, "GIPP_List")
    if aux_l1c is not None:
        copy_children(find_local(aux_l1c, "GIPP_List"), gipps)
    for gipp_type, version, name in settings.gipps:
        sub(gipps, "GIPP_FILENAME", name, type=gipp_type, version=version)
    sub(aux, "PRODUCTION_DEM_TYPE", settings.dem_type)
    if aux_l1c is not None:
        _copy_one(aux_l1c, "IERS_BULLETIN_FILENAME", aux)
        gri_list = find_local(aux_l1c, "GRI_List")
        if gri_list is not None:
            aux.append(copied(gri_list))
        else:  # older products list GRI_FILENAME directly: the L2A schema wants a GRI_List
            gri = sub(aux, "GRI_List")
            for element in findall_local(aux_l1c, "GRI_FILENAME"):
                gri.append(copied(element))
        _copy_one(aux_l1c, "ECMWF_DATA_REF", aux)
    sub(sub(aux, "LUT_List"), "LUT_FILENAME", "None")
    for tag in ("SNOW_CLIMATOLOGY_MAP", "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map",
                "ESACCI_SnowCondition_Map_Dir"):
        sub(aux, tag, settings.aux_references.get(tag, "None"))


def _quality_info(quality: etree._Element, l1c: etree._Element) -> None:
    quality_l1c = find_local(l1c, "Quality_Indicators_Info")
    sub(quality, PRODUCT_CLOUD_COVER, PLACEHOLDER)
    if quality_l1c is not None:
        _copy_one(quality_l1c, "Technical_Quality_Assessment", quality)
        checks = find_local(quality_l1c, "Quality_Control_Checks")
        if checks is not None:
            checks = copied(checks)
            _add_l2a_quality_check(checks)
            quality.append(checks)
    image_content = sub(quality, "Image_Content_QI")
    for name in PRODUCT_QI_ORDER:
        sub(image_content, name, PLACEHOLDER)


def _add_l2a_quality_check(checks: etree._Element) -> None:
    """Add quality_check L2A_QUALITY (alphabetical place, as ESA lists it); old *_FLAG lists converted."""
    inspections = find_local(checks, "Quality_Inspections")
    if inspections is None:
        inspections = etree.Element("Quality_Inspections")
        checks.insert(0, inspections)
    entries = [(e.get("checkType") if local_name(e) == "quality_check" else local_name(e)[:-5], e.text)
               for e in inspections if isinstance(e.tag, str)
               and (local_name(e) == "quality_check" or local_name(e).endswith("_FLAG"))]
    entries = [(t, v) for t, v in entries if t != L2A_QUALITY_CHECK] + [(L2A_QUALITY_CHECK, "PASSED")]
    for child in list(inspections):
        inspections.remove(child)
    for check_type, value in sorted(entries):
        sub(inspections, "quality_check", value, checkType=check_type)


def _required(root: etree._Element, path: str) -> etree._Element:
    found = find_local(root, path)
    if found is None:
        raise ProductError(f"MTD_MSIL1C.xml has no {path}")
    return found


def _copy_one(source: etree._Element, tag: str, target: etree._Element) -> Optional[etree._Element]:
    found = find_local(source, tag)
    if found is None:
        return None
    target.append(copied(found))
    return target[-1]
