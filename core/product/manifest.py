"""manifest.safe of a Level-2A product (XFDU, reference §9.10), built from the files present.

The manifest is always derived from what is on disk: one dataObject per file with its real byte
size (Sen2Cor 2.8 wrote a wrong one) and checksum, relative href and MIME type. The descriptive
metadata (acquisition period, platform, orbit, frame set) is copied from the L1C manifest when it
has one; `rebuild_manifest` keeps those and re-scans the files, so processing calls it again after
writing rasters.
"""
from __future__ import annotations

import copy
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from lxml import etree

from ..errors import ProductError
from .l2a_xml import local_name, parse_bytes, parse_file, write_xml

XFDU = "urn:ccsds:schema:xfdu:1"
SAFE = "http://www.esa.int/safe/sentinel/1.1"
GML = "http://www.opengis.net/gml"
NSMAP = {"xfdu": XFDU, "safe": SAFE, "gml": GML}
VERSION = "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"
MANIFEST = "manifest.safe"
BASE_METADATA_IDS = ("acquisitionPeriod", "measurementOrbitReference", "platform", "processing",
                     "measurementFrameSet")
PROCESSING_NAME = "Generation of Level-2A User Product"
CHECKSUMS = {"MD5": hashlib.md5, "SHA3-256": hashlib.sha3_256}
MIME_TYPES = {".xml": "text/xml", ".gml": "application/xml", ".xsd": "text/xml", ".xsl": "text/xml",
              ".html": "text/html", ".hdr": "text/plain", ".png": "image/png", ".jpg": "image/jpeg"}
_OLQC = {"FORMAT_CORRECTNESS": "Format", "GENERAL_QUALITY": "General", "GEOMETRIC_QUALITY": "Geometric",
         "RADIOMETRIC_QUALITY": "Radiometric", "SENSOR_QUALITY": "Sensor", "L2A_QUALITY": "L2A_QUALITY"}
_NCNAME_BAD = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the product as the manifest lists it."""

    relpath: str           # 'GRANULE/L2A_.../MTD_TL.xml'
    object_id: str         # dataObject ID
    container: Tuple[Tuple[str, str], ...]  # (ID, textInfo) of the enclosing contentUnits
    unit_type: str         # 'Metadata Unit' | 'Measurement Data Unit' | 'Data Unit'
    mime_type: str
    size: int
    checksum: str


def file_checksum(path: Union[str, Path], algorithm: str = "MD5") -> str:
    """Hex digest of a file, read in chunks."""
    digest = CHECKSUMS[algorithm]()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mime_type(name: str) -> str:
    return MIME_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def _ncname(text: str) -> str:
    text = _NCNAME_BAD.sub("_", text)
    return text if re.match(r"^[A-Za-z_]", text) else "_" + text


def classify(relpath: str) -> Tuple[str, Tuple[Tuple[str, str], ...], str]:
    """(dataObject ID, containers, unit type) of a product file, following ESA's ID patterns."""
    parts = relpath.split("/")
    name = parts[-1]
    stem = name.split(".")[0]
    if relpath == "MTD_MSIL2A.xml":
        return "S2_Level-2A_Product_Metadata", (), "Metadata Unit"
    if relpath == "INSPIRE.xml":
        return "INSPIRE_Metadata", (), "Metadata Unit"
    if parts[0] == "HTML":
        known = {"UserProduct_index.html": "HTML_Presentation", "UserProduct_index.xsl": "HTML_Presentation_Stylesheet"}
        return known.get(name, _ncname(f"HTML_{name}")), (("HTML", "HTML container"),), "Data Unit"
    if parts[0] == "rep_info":
        return _ncname(f"Schema_{stem}"), (("rep_info", "Schemas container"),), "Data Unit"
    if parts[0] == "DATASTRIP" and len(parts) >= 3:
        where = (("Datastrips", "Datastrips Container"), ("Datastrip1", "Datastrip Container"))
        if name == "MTD_DS.xml" and len(parts) == 3:
            return "S2_Level-2A_Datastrip1_Metadata", where, "Metadata Unit"
        label = _OLQC.get(stem)
        object_id = f"{label}_OLQC_Report_Datastrip1_InformationData" if label else _ncname(f"{stem}_Datastrip1_Data")
        return object_id, where + (("QI_DATA_Datastrip1", "Quality Control Container"),), "Measurement Data Unit"
    if parts[0] == "GRANULE" and len(parts) >= 3:
        tile = (("Tiles", "Tiles Container"), ("Tile1", "Tile Container"))
        folder = parts[2] if len(parts) > 3 else ""
        if name == "MTD_TL.xml" and len(parts) == 3:
            return "S2_Level-2A_Tile1_Metadata", tile, "Metadata Unit"
        if folder == "IMG_DATA":
            # T34UCF_20230823T095559_B02_10m.jp2 -> IMG_DATA_Band_B02_10m_Tile1_Data
            layer = "_".join(stem.split("_")[2:]) or stem
            suffix = "Header" if name.lower().endswith(".hdr") else "Data"
            return (_ncname(f"IMG_DATA_Band_{layer}_Tile1_{suffix}"),
                    tile + (("IMG_DATA_Tile1", "Image Data Container"),), "Measurement Data Unit")
        if folder == "QI_DATA":
            label = _OLQC.get(stem)
            if label:
                object_id = f"{label}_OLQC_Report_Tile1_InformationData"
            elif stem.endswith("_PVI"):
                object_id = "Preview_Tile1_Data"
            else:
                object_id = _ncname(f"QI_DATA_{name.replace('.', '_')}_Tile1_Data")
            return object_id, tile + (("QI_DATA_Tile1", "Quality Control Container"),), "Measurement Data Unit"
        if folder == "AUX_DATA":
            known = {"AUX_CAMSFO": "CAMS_Tile1_Data", "AUX_ECMWFT": "ECMWF_Tile1_Data"}
            object_id = known.get(name) or _ncname(f"AUX_DATA_{name.replace('.', '_')}_Tile1_Data")
            return object_id, tile + (("AUX_DATA_GranuleTile1", "Auxiliary Container"),), "Measurement Data Unit"
    return _ncname(f"File_{relpath.replace('/', '_')}"), (("Other", "Other files"),), "Data Unit"


def scan_product(product_dir: Union[str, Path], algorithm: str = "MD5",
                 threads: int = 0) -> List[ManifestEntry]:
    """Every file of the product (manifest.safe and hidden temporary files excluded), sorted by
    path. The checksums run in `threads` threads (default: the cores; hashlib releases the GIL
    on large buffers, and the image files are most of a product's gigabyte)."""
    root = Path(product_dir)
    files = []
    for path in sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: _order(p.relative_to(root))):
        relpath = path.relative_to(root).as_posix()
        if relpath == MANIFEST or any(part.startswith(".") for part in relpath.split("/")):
            continue
        files.append((path, relpath))
    with ThreadPoolExecutor(max_workers=max(1, int(threads) or os.cpu_count() or 1)) as pool:
        checksums = list(pool.map(lambda item: file_checksum(item[0], algorithm), files))
    entries: List[ManifestEntry] = []
    used: Dict[str, int] = {}
    for (path, relpath), checksum in zip(files, checksums):
        object_id, container, unit_type = classify(relpath)
        used[object_id] = used.get(object_id, 0) + 1
        if used[object_id] > 1:
            object_id = f"{object_id}_{used[object_id]}"
        entries.append(ManifestEntry(relpath, object_id, container, unit_type, mime_type(relpath),
                                     path.stat().st_size, checksum))
    return entries


_TOP_ORDER = ("MTD_MSIL2A.xml", "INSPIRE.xml", "HTML", "rep_info", "DATASTRIP", "GRANULE")


def _order(relpath: Path) -> Tuple[int, str]:
    """ESA's listing order: product metadata, INSPIRE, HTML, schemas, datastrip, granule."""
    top = relpath.parts[0]
    return (_TOP_ORDER.index(top) if top in _TOP_ORDER else len(_TOP_ORDER), relpath.as_posix())


def base_metadata_from_l1c(l1c_manifest: bytes, processing_start: datetime, *,
                           fallback: Optional[Sequence[etree._Element]] = None) -> List[etree._Element]:
    """acquisitionPeriod, measurementOrbitReference, platform, processing (renamed 2A, start=now)
    and measurementFrameSet metadataObjects, copied from the L1C manifest; `fallback` fills gaps."""
    found: Dict[str, etree._Element] = {}
    if l1c_manifest:
        try:
            root = parse_bytes(l1c_manifest, "manifest.safe")
        except ProductError:
            root = None
        if root is not None:
            for element in root.iter():
                if isinstance(element.tag, str) and local_name(element) == "metadataObject" \
                        and element.get("ID") in BASE_METADATA_IDS:
                    found[element.get("ID")] = _clean_copy(element)
    for element in fallback or ():
        found.setdefault(element.get("ID"), element)
    if "processing" in found:
        _set_processing(found["processing"], processing_start)
    return [found[i] for i in BASE_METADATA_IDS if i in found]


def _clean_copy(element: etree._Element) -> etree._Element:
    clone = copy.deepcopy(element)
    for node in clone.iter():
        if isinstance(node.tag, str):
            if node.text is not None and not node.text.strip():
                node.text = None
            node.tail = None
    return clone


def _set_processing(element: etree._Element, start: datetime) -> None:
    for node in element.iter(f"{{{SAFE}}}processing"):
        name = node.get("name", PROCESSING_NAME)
        node.set("name", name.replace("1C", "2A").replace("1c", "2a") if "1C" in name or "1c" in name
                 else PROCESSING_NAME)
        node.set("start", start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        for child in list(node):   # L1C processing history (resources, facilities) is not ours
            node.remove(child)
        return


def metadata_object(object_id: str, text_info: str, payload: etree._Element,
                    category: str = "DMD", classification: str = "DESCRIPTION") -> etree._Element:
    """<metadataObject ID category classification><metadataWrap ...><xmlData>payload."""
    element = etree.Element("metadataObject", ID=object_id, category=category, classification=classification)
    wrap = etree.SubElement(element, "metadataWrap", mimeType="text/xml", textInfo=text_info,
                            vocabularyName="Sentinel-SAFE")
    etree.SubElement(wrap, "xmlData").append(payload)
    return element


_NSSDC = {"S2A": "2015-028A", "S2B": "2017-013A"}


def base_metadata_from_values(start: datetime, spacecraft: str, absolute_orbit: int, relative_orbit: int,
                              direction: str, footprint: Sequence[Tuple[float, float]]) -> List[etree._Element]:
    """The descriptive metadataObjects built from product values (when the L1C has no manifest)."""
    s = lambda tag: f"{{{SAFE}}}{tag}"  # noqa: E731
    period = etree.Element(s("acquisitionPeriod"))
    etree.SubElement(period, s("startTime")).text = start.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    orbit = etree.Element(s("orbitReference"))
    etree.SubElement(orbit, s("orbitNumber"), groundTrackDirection=direction.lower(), type="start").text = \
        f"{int(absolute_orbit):06d}"
    etree.SubElement(orbit, s("relativeOrbitNumber"), type="start").text = str(int(relative_orbit))
    platform = etree.Element(s("platform"))
    if spacecraft in _NSSDC:
        etree.SubElement(platform, s("nssdcIdentifier")).text = _NSSDC[spacecraft]
    etree.SubElement(platform, s("familyName")).text = "SENTINEL"
    etree.SubElement(platform, s("number")).text = spacecraft[1:]
    instrument = etree.SubElement(platform, s("instrument"))
    etree.SubElement(instrument, s("familyName"), abbreviation="MSI").text = "Multi-Spectral Instrument"
    processing = etree.Element(s("processing"), name=PROCESSING_NAME, start="")
    frame_set = etree.Element(s("frameSet"))
    footprint_element = etree.SubElement(frame_set, s("footPrint"), srsName="http://www.opengis.net/gml/srs/epsg.xml#4326")
    etree.SubElement(footprint_element, f"{{{GML}}}coordinates").text = \
        " ".join(f"{lat!r} {lon!r}" for lat, lon in footprint) + " "
    return [
        metadata_object("acquisitionPeriod", "Acquisition Period", period),
        metadata_object("measurementOrbitReference", "Orbit Reference", orbit),
        metadata_object("platform", "Platform Description", platform),
        metadata_object("processing", "Processing", processing, category="PDI", classification="PROVENANCE"),
        metadata_object("measurementFrameSet", "Frame Set", frame_set),
    ]


def build_manifest(product_dir: Union[str, Path], base_metadata: Iterable[etree._Element],
                   algorithm: str = "MD5") -> etree._Element:
    """The XFDU document for the files now in `product_dir`."""
    entries = scan_product(product_dir, algorithm)
    root = etree.Element(f"{{{XFDU}}}XFDU", nsmap=NSMAP, version=VERSION)
    package = etree.SubElement(root, "informationPackageMap")
    top = etree.SubElement(package, f"{{{XFDU}}}contentUnit", dmdID="acquisitionPeriod platform",
                           pdiID="processing", textInfo="SENTINEL-2 MSI Level-2A User Product",
                           unitType="Product_Level-2A")
    containers: Dict[Tuple[str, ...], etree._Element] = {(): top}
    for entry in entries:
        parent = top
        for depth in range(len(entry.container)):
            key = tuple(cid for cid, _ in entry.container[:depth + 1])
            if key not in containers:
                cid, text = entry.container[depth]
                containers[key] = etree.SubElement(parent, f"{{{XFDU}}}contentUnit", ID=cid, textInfo=text)
            parent = containers[key]
        unit = etree.SubElement(parent, f"{{{XFDU}}}contentUnit", ID=_unit_id(entry.object_id),
                                unitType=entry.unit_type)
        etree.SubElement(unit, "dataObjectPointer", dataObjectID=entry.object_id)

    metadata = etree.SubElement(root, "metadataSection")
    for element in base_metadata:
        metadata.append(_clean_copy(element))
    for entry in entries:
        if entry.unit_type == "Metadata Unit":
            info = etree.SubElement(metadata, "metadataObject", ID=f"{entry.object_id}_Information",
                                    category="DMD", classification="DESCRIPTION")
            etree.SubElement(info, "dataObjectPointer", dataObjectID=entry.object_id)

    objects = etree.SubElement(root, "dataObjectSection")
    for entry in entries:
        data_object = etree.SubElement(objects, "dataObject", ID=entry.object_id)
        stream = etree.SubElement(data_object, "byteStream", mimeType=entry.mime_type, size=str(entry.size))
        etree.SubElement(stream, "fileLocation", href=f"./{entry.relpath}", locatorType="URL")
        etree.SubElement(stream, "checksum", checksumName=algorithm).text = entry.checksum
    return root


def _unit_id(object_id: str) -> str:
    """contentUnit ID of a dataObject: '..._Data' -> '..._Unit', '...InformationData' -> '...InformationUnit'."""
    for suffix, replacement in (("InformationData", "InformationUnit"), ("_Data", "_Unit")):
        if object_id.endswith(suffix):
            return object_id[: -len(suffix)] + replacement
    return object_id + "_Unit"


def write_manifest(product_dir: Union[str, Path], base_metadata: Iterable[etree._Element],
                   algorithm: str = "MD5") -> Path:
    """Write manifest.safe for the files now present (atomic file replacement)."""
    return write_xml(build_manifest(product_dir, base_metadata, algorithm), Path(product_dir) / MANIFEST)


def rebuild_manifest(product_dir: Union[str, Path], algorithm: str = "MD5") -> Path:
    """Re-scan the product and rewrite manifest.safe, keeping its descriptive metadata objects.

    Call after writing or replacing any file of the product (rasters, QI, metadata updates).
    """
    path = Path(product_dir) / MANIFEST
    base: List[etree._Element] = []
    if path.exists():
        root = parse_file(path)
        base = [e for e in root.iter("metadataObject") if e.get("ID") in BASE_METADATA_IDS]
    return write_manifest(product_dir, base, algorithm)
