"""The product's descriptive side files: INSPIRE.xml, HTML/ and rep_info/.

None of them is read by Sen2Cor or GDAL; they exist because the SAFE format lists them. INSPIRE.xml
is the L1C record with the product name replaced (or a compact ISO 19139 record when the L1C has
none); HTML/ holds a small index page of our own; rep_info/ holds schema stubs named after the
Level-2A PSD schemas (ESA's schemas are not redistributed; the stubs say so and validate nothing).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from lxml import etree

from ..errors import ProductError
from .l2a_files import join, read_bytes
from .l2a_settings import L2ASettings
from .l2a_xml import XSI, parse_bytes, psd_namespace, to_bytes
from .model import L1CProduct
from .naming import L2ANames

GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
GML = "http://www.opengis.net/gml"
XS = "http://www.w3.org/2001/XMLSchema"
SCHEMAS = ("S2_User_Product_Level-2A_Metadata.xsd", "S2_PDI_Level-2A_Tile_Metadata.xsd",
           "S2_PDI_Level-2A_Datastrip_Metadata.xsd")
_SCHEMA_NAMESPACES = {"S2_User_Product_Level-2A_Metadata.xsd": "User_Product_Level-2A.xsd",
                      "S2_PDI_Level-2A_Tile_Metadata.xsd": "S2_PDI_Level-2A_Tile_Metadata.xsd",
                      "S2_PDI_Level-2A_Datastrip_Metadata.xsd": "S2_PDI_Level-2A_Datastrip_Metadata.xsd"}


def write_inspire(product: L1CProduct, names: L2ANames, settings: L2ASettings, target: Path) -> Path:
    """INSPIRE.xml: the L1C record with the L1C product name replaced, else a compact record."""
    root = _l1c_inspire(product)
    if root is not None:
        l1c_names = {product.safe_name, product.product_uri, product.safe_name.replace(".SAFE", ""),
                     product.product_uri.replace(".SAFE", "")}
        for node in root.iter():
            if isinstance(node.tag, str) and node.text and node.text.strip() in l1c_names:
                node.text = names.product if node.text.strip().endswith(".SAFE") else names.product[:-5]
    else:
        root = _compact_inspire(product, names, settings)
    target.write_bytes(to_bytes(root))
    return target


def _l1c_inspire(product: L1CProduct) -> Optional[etree._Element]:
    if not product.safe_path:
        return None
    path = join(product.safe_path, "INSPIRE.xml")
    try:
        return parse_bytes(read_bytes(path), path)
    except ProductError:
        return None


def _compact_inspire(product: L1CProduct, names: L2ANames, settings: L2ASettings) -> etree._Element:
    g = lambda tag: f"{{{GMD}}}{tag}"  # noqa: E731
    def text(parent: etree._Element, tag: str, value: str, kind: str = "CharacterString") -> None:
        etree.SubElement(etree.SubElement(parent, g(tag)), f"{{{GCO}}}{kind}").text = value

    root = etree.Element(g("MD_Metadata"), nsmap={"gmd": GMD, "gco": GCO, "gml": GML, "xsi": XSI})
    root.set(etree.QName(XSI, "schemaLocation"),
             f"{GMD} http://schemas.opengis.net/iso/19139/20060504/gmd/gmd.xsd")
    text(root, "fileIdentifier", names.product[:-5])
    language = etree.SubElement(etree.SubElement(root, g("language")), g("LanguageCode"),
                                codeList="http://www.loc.gov/standards/iso639-2/", codeListValue="eng")
    language.text = "eng"
    text(root, "dateStamp", settings.generation_time.strftime("%Y-%m-%d"), "Date")
    text(root, "metadataStandardName", "ISO19115")
    text(root, "metadataStandardVersion", "2003/Cor.1:2006")
    ident = etree.SubElement(etree.SubElement(root, g("identificationInfo")), g("MD_DataIdentification"))
    citation = etree.SubElement(etree.SubElement(ident, g("citation")), g("CI_Citation"))
    text(citation, "title", names.product)
    text(ident, "abstract", "Sentinel-2 MSI Level-2A (bottom-of-atmosphere reflectance) product made from "
         f"{product.product_uri}")
    extent = etree.SubElement(etree.SubElement(ident, g("extent")), g("EX_Extent"))
    if product.footprint:
        lats = [p[0] for p in product.footprint]
        lons = [p[1] for p in product.footprint]
        box = etree.SubElement(etree.SubElement(extent, g("geographicElement")), g("EX_GeographicBoundingBox"))
        for tag, value in (("westBoundLongitude", min(lons)), ("eastBoundLongitude", max(lons)),
                           ("southBoundLatitude", min(lats)), ("northBoundLatitude", max(lats))):
            text(box, tag, repr(float(value)), "Decimal")
    return root


def write_html_index(product: L1CProduct, names: L2ANames, settings: L2ASettings, folder: Path) -> Path:
    """HTML/UserProduct_index.html: a plain summary page of the product."""
    folder.mkdir(exist_ok=True)
    rows = [("Product", names.product), ("Processing level", "Level-2A"),
            ("Processing baseline", settings.baseline), ("Generation time", settings.generation_text),
            ("Spacecraft", product.spacecraft_name), ("Tile", names.tile),
            ("Sensing start", product.datatake_sensing_start.isoformat()),
            ("Level-1C input", product.product_uri)]
    body = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(names.product)}</title>"
            f"</head>\n<body><h1>Sentinel-2 Level-2A product</h1>\n<table>\n{body}\n</table></body></html>\n")
    target = folder / "UserProduct_index.html"
    target.write_text(page, encoding="utf-8")
    return target


def write_schema_stubs(settings: L2ASettings, folder: Path) -> None:
    """rep_info/: one stub per Level-2A schema, naming the PSD namespace it stands for."""
    folder.mkdir(exist_ok=True)
    for name in SCHEMAS:
        namespace = psd_namespace(settings.psd, _SCHEMA_NAMESPACES[name])
        root = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS}, targetNamespace=namespace)
        note = etree.SubElement(etree.SubElement(root, f"{{{XS}}}annotation"), f"{{{XS}}}documentation")
        note.text = (f"Placeholder for ESA's {name} (Sentinel-2 PSD {settings.psd}), which is not "
                     "redistributed with this product; obtain it from ESA to validate the metadata.")
        (folder / name).write_bytes(to_bytes(root))
