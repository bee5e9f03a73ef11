"""The L2A granule's MTD_TL.xml (reference §9.6), built from the L1C MTD_TL.xml.

Geometric_Info (tile geocoding and the full sun/viewing angle grids) is copied unchanged;
General_Info names the L1C and L2A tiles; Pixel_Level_QI lists the copied L1C masks under their
L2A paths plus the L2A cloud and snow probability masks; image content values are placeholders
filled through core.product.l2a_qi.
"""
from __future__ import annotations

import re
from typing import List, Tuple

from lxml import etree

from ..errors import ProductError
from . import naming
from .l2a_qi import PLACEHOLDER, TILE_QI_ORDER
from .l2a_settings import L2ASettings
from .l2a_xml import (copy_children, find_local, findall_local, new_root, parse_bytes,
                      psd_namespace, section, sub, text_of)
from .model import L1CProduct
from .naming import L2ANames

TILE_SCHEMA = "S2_PDI_Level-2A_Tile_Metadata.xsd"
# Old standard naming of L1C masks: S2A_OPER_MSK_<TYPE>_<centre>_<time>_A<orbit>_T<tile>_B<xx>_MSIL1C.gml
_LONG_MASK = re.compile(r"^S2._OPER_MSK_(?P<type>[A-Z]{6})_.*_(?P<band>B[0-9A]{2})_MSIL1C(?P<ext>\.\w+)$")


def l2a_mask_name(l1c_name: str) -> str:
    """Name of a copied L1C mask in the L2A QI_DATA: long PSD-12 names become MSK_<TYPE>_B<xx>.gml."""
    match = _LONG_MASK.match(l1c_name)
    return f"MSK_{match['type']}_{match['band']}{match['ext']}" if match else l1c_name


def l1c_tile_root(product: L1CProduct) -> etree._Element:
    """Parsed L1C MTD_TL.xml from the model's raw bytes (read from `tile_mtd_path` when absent)."""
    data = product.tile_mtd_xml
    if not data and product.tile_mtd_path:
        from .l2a_files import read_bytes
        data = read_bytes(product.tile_mtd_path)
    if not data:
        raise ProductError("the L1C tile metadata (MTD_TL.xml) is not available", product.input_path)
    return parse_bytes(data, product.tile_mtd_path or "MTD_TL.xml")


def build_tile_metadata(product: L1CProduct, names: L2ANames, settings: L2ASettings) -> etree._Element:
    """The complete L2A MTD_TL.xml tree."""
    l1c = l1c_tile_root(product)
    root = new_root(psd_namespace(settings.psd, TILE_SCHEMA), "Level-2A_Tile_ID")
    _general_info(section(root, "General_Info"), l1c, product, names, settings)
    geometric = find_local(l1c, "Geometric_Info")
    if geometric is None:
        raise ProductError("MTD_TL.xml has no Geometric_Info", product.tile_mtd_path)
    geo = section(root, "Geometric_Info", **dict(geometric.attrib))
    copy_children(geometric, geo)
    quality_l1c = find_local(l1c, "Quality_Indicators_Info")
    quality = section(root, "Quality_Indicators_Info", metadataLevel="Standard")
    _image_content(sub(quality, "Image_Content_QI"), product)
    pixel_qi = sub(quality, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    for band_id, mask_type, text in l2a_mask_entries(quality_l1c, names, settings):
        attrib = {"bandId": band_id} if band_id is not None else {}
        sub(pixel_qi, "MASK_FILENAME", text, **attrib, type=mask_type)
    sub(quality, "PVI_FILENAME", names.pvi_relpath())
    return root


def _general_info(general: etree._Element, l1c: etree._Element, product: L1CProduct,
                  names: L2ANames, settings: L2ASettings) -> None:
    granule = product.granule
    sub(general, "L1C_TILE_ID", text_of(l1c, "General_Info/TILE_ID", granule.tile_id), metadataLevel="Brief")
    sub(general, "TILE_ID", names.tile_id, metadataLevel="Brief")
    sub(general, "DATASTRIP_ID", names.datastrip_id, metadataLevel="Standard")
    priority = text_of(l1c, "General_Info/DOWNLINK_PRIORITY")
    if priority is not None:
        sub(general, "DOWNLINK_PRIORITY", priority, metadataLevel="Standard")
    sensing = text_of(l1c, "General_Info/SENSING_TIME")
    if sensing is None:
        sensing = granule.sensing_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sub(general, "SENSING_TIME", sensing, metadataLevel="Standard")
    archiving = sub(general, "Archiving_Info", metadataLevel="Expertise")
    sub(archiving, "ARCHIVING_CENTRE", settings.archiving_centre)
    sub(archiving, "ARCHIVING_TIME", settings.generation_text)


def _image_content(image_content: etree._Element, product: L1CProduct) -> None:
    degraded = product.granule.degraded_msi_data_percentage
    for name in TILE_QI_ORDER:
        value = PLACEHOLDER
        if name == "DEGRADED_MSI_DATA_PERCENTAGE" and degraded is not None:
            value = "%f" % degraded   # an L1C fact, known before processing
        sub(image_content, name, value)


def l2a_mask_entries(quality_l1c, names: L2ANames, settings: L2ASettings) -> List[Tuple[object, str, str]]:
    """(bandId or None, type, L2A path) of every Pixel_Level_QI MASK_FILENAME of the L2A tile."""
    entries: List[Tuple[object, str, str]] = []
    qi_dir = f"GRANULE/{names.granule}/QI_DATA"
    if quality_l1c is not None:
        for element in findall_local(quality_l1c, "Pixel_Level_QI/MASK_FILENAME"):
            name = (element.text or "").strip().rsplit("/", 1)[-1]
            if name:
                entries.append((element.get("bandId"), element.get("type", ""),
                                f"{qi_dir}/{l2a_mask_name(name)}"))
    # Probability masks exist where scene classification results are written (20 m, 60 m), so
    # only for the resolutions this product holds.
    for res in [r for r in naming.PROBABILITY_MASK_RESOLUTIONS if r in settings.resolutions]:
        for mask in naming.PROBABILITY_MASKS:
            entries.append((None, mask, names.mask_relpath(mask, res)))
    return entries
