"""The L2A datastrip metadata DATASTRIP/DS_*/MTD_DS.xml.

As Sen2Cor does in toolbox mode, the L1C datastrip metadata is converted: root and sections move to
the Level-2A datastrip schema, the tile list, processing and archiving information, baseline,
quantification values and GIPP list become those of the L2A. When the L1C datastrip file cannot
be read (e.g. a product copied without its DATASTRIP folder) a compact file with the same
Level-2A elements is built from the product metadata instead.
"""
from __future__ import annotations

import logging
from typing import Optional, Sequence

from lxml import etree

from ..errors import ProductError
from .l2a_files import join, read_bytes
from .l2a_mtd import (AOT_QUANTIFICATION_VALUE, BOA_QUANTIFICATION_VALUE, WVP_QUANTIFICATION_VALUE,
                      datatake_identifier_for)
from .l2a_settings import L2ASettings
from .l2a_xml import (find_local, new_root, parse_bytes, psd_namespace, retag_namespace,
                      section, sub)
from .model import L1CProduct
from .naming import L2ANames

log = logging.getLogger(__name__)
DATASTRIP_SCHEMA = "S2_PDI_Level-2A_Datastrip_Metadata.xsd"
MTD_DS = "MTD_DS.xml"


def l1c_datastrip_root(product: L1CProduct) -> Optional[etree._Element]:
    """Parsed L1C MTD_DS.xml, or None when the product has no readable datastrip metadata."""
    if not product.datastrip_path:
        return None
    path = join(product.datastrip_path, MTD_DS)
    try:
        return parse_bytes(read_bytes(path), path)
    except ProductError as exc:
        log.warning("L1C datastrip metadata not usable, writing a compact L2A one: %s", exc)
        return None


def build_datastrip_metadata(product: L1CProduct, names: L2ANames, settings: L2ASettings) -> etree._Element:
    """The L2A MTD_DS.xml tree (converted from the L1C one when available)."""
    l1c = l1c_datastrip_root(product)
    if l1c is None:
        root = new_root(psd_namespace(settings.psd, DATASTRIP_SCHEMA), "Level-2A_DataStrip_ID")
        _compact_skeleton(root, product)
        _apply_l2a(root, (names.tile_id,), names.datastrip_id, settings)
        return root
    return convert_l1c_datastrip(l1c, (names.tile_id,), names.datastrip_id, settings)


def convert_l1c_datastrip(l1c: etree._Element, tile_ids: Sequence[str], datastrip_id: str,
                          settings: L2ASettings) -> etree._Element:
    """The L2A MTD_DS.xml tree converted from a parsed L1C one (whose children it takes over:
    the L1C tree is consumed). Shared by the toolbox product and the PDGS datastrip
    (core.pdgs), so that both write the same Level-2A elements. `tile_ids` become the Tile_List
    (empty for a PDGS datastrip made before its tiles)."""
    ns = psd_namespace(settings.psd, DATASTRIP_SCHEMA)
    root = new_root(ns, "Level-2A_DataStrip_ID")
    old_ns = etree.QName(l1c).namespace
    for child in list(l1c):
        if isinstance(child.tag, str):
            root.append(child)           # moved, not copied: the L1C tree is discarded
    retag_namespace(root, old_ns, ns)
    _apply_l2a(root, tile_ids, datastrip_id, settings)
    return root


def _compact_skeleton(root: etree._Element, product: L1CProduct) -> None:
    general = section(root, "General_Info")
    datatake = sub(general, "Datatake_Info", datatakeIdentifier=product.datatake_identifier)
    sub(datatake, "DATATAKE_TYPE", product.datatake_type)
    sub(datatake, "SPACECRAFT_NAME", product.spacecraft_name)
    sub(datatake, "DATATAKE_SENSING_START", _time_text(product.datatake_sensing_start))
    sub(datatake, "SENSING_ORBIT_NUMBER", product.sensing_orbit_number)
    sub(datatake, "SENSING_ORBIT_DIRECTION", product.sensing_orbit_direction)
    times = sub(general, "Datastrip_Time_Info")
    sub(times, "DATASTRIP_SENSING_START", _time_text(product.product_start_time))
    sub(times, "DATASTRIP_SENSING_STOP", _time_text(product.product_stop_time))
    processing = sub(general, "Processing_Info")
    for tag in ("PROCESSING_CENTER", "UTC_DATE_TIME", "PROCESSING_BASELINE"):
        sub(processing, tag)
    archiving = sub(general, "Archiving_Info")
    sub(archiving, "ARCHIVING_CENTRE")
    sub(archiving, "ARCHIVING_TIME")
    image = section(root, "Image_Data_Info")
    sub(sub(image, "Tiles_Information"), "Tile_List")
    sub(image, "Radiometric_Info")
    aux = section(root, "Auxiliary_Data_Info")
    sub(aux, "GIPP_List")


def _apply_l2a(root: etree._Element, tile_ids: Sequence[str], datastrip_id: str,
               settings: L2ASettings) -> None:
    when = settings.generation_time.strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"
    general = _ensure(root, "General_Info", top=True)
    identifier = find_local(general, "DATASTRIP_ID")
    if identifier is not None:           # the L1C identifier becomes the L2A one
        identifier.text = datastrip_id
    datatake = find_local(general, "Datatake_Info")
    if datatake is not None and datatake.get("datatakeIdentifier"):
        datatake.set("datatakeIdentifier", datatake_identifier_for(datatake.get("datatakeIdentifier"),
                                                                   settings.baseline))
    processing = _ensure(general, "Processing_Info")
    _set(processing, "PROCESSING_CENTER", settings.processing_centre)
    _set(processing, "UTC_DATE_TIME", when)
    _set(processing, "PROCESSING_BASELINE", settings.baseline)
    archiving = _ensure(general, "Archiving_Info")
    _set(archiving, "ARCHIVING_CENTRE", settings.archiving_centre)
    _set(archiving, "ARCHIVING_TIME", when)

    image = _ensure(root, "Image_Data_Info", top=True)
    tile_list = _ensure(_ensure(image, "Tiles_Information"), "Tile_List")
    for tile in list(tile_list):
        tile_list.remove(tile)
    for tile_id in tile_ids:
        sub(tile_list, "Tile", tileId=tile_id)
    radiometric = _ensure(image, "Radiometric_Info")
    old = find_local(radiometric, "QUANTIFICATION_VALUE")
    values = etree.Element("QUANTIFICATION_VALUES_LIST")
    sub(values, "BOA_QUANTIFICATION_VALUE", BOA_QUANTIFICATION_VALUE, unit="none")
    sub(values, "AOT_QUANTIFICATION_VALUE", AOT_QUANTIFICATION_VALUE, unit="none")
    sub(values, "WVP_QUANTIFICATION_VALUE", WVP_QUANTIFICATION_VALUE, unit="cm")
    if old is not None:
        radiometric.replace(old, values)
    elif find_local(radiometric, "QUANTIFICATION_VALUES_LIST") is None:
        radiometric.insert(0, values)

    aux = _ensure(root, "Auxiliary_Data_Info", top=True)
    gipps = _ensure(aux, "GIPP_List")
    for gipp_type, version, name in settings.gipps:
        sub(gipps, "GIPP_FILENAME", name, type=gipp_type, version=version)
    _set(aux, "PRODUCTION_DEM_TYPE", settings.dem_type)
    lut = _ensure(aux, "LUT_List")
    if find_local(lut, "LUT_FILENAME") is None:
        sub(lut, "LUT_FILENAME", "None")
    for tag in ("SNOW_CLIMATOLOGY_MAP", "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map",
                "ESACCI_SnowCondition_Map_Dir"):
        _set(aux, tag, settings.aux_references.get(tag, "None"))


def _ensure(parent: etree._Element, tag: str, top: bool = False) -> etree._Element:
    """Existing child `tag`, or a new one appended (top-level sections in the root's namespace)."""
    found = find_local(parent, tag)
    if found is not None:
        return found
    if top:
        return section(parent, tag)
    return sub(parent, tag)


def _set(parent: etree._Element, tag: str, value: object) -> None:
    _ensure(parent, tag).text = str(value)


def _time_text(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
