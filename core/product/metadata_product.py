"""MTD_MSIL1C.xml: product-level metadata of a compact-SAFE Level-1C product.

`parse_product_metadata` works on the bytes of a bare file (no product tree needed), so every real
metadata file can be checked field by field, and the reader uses the same function on the product.
It also decides whether the product is one this processor handles: Level-1C, PSD 14 or 15 (the
compact SAFE; PSD 12/13 products are the old standard SAFE format), baseline 02.00 to 05.xx.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import ProductError, UnsupportedProductError
from .metadata_common import MetadataDoc
from .model import BAND_NAMES, NATIVE_RESOLUTION, SPACECRAFTS, SpectralBand, band_id, band_name

SUPPORTED_PSD = (14, 15)
OLD_FORMAT_MESSAGE = "not supported (old standard SAFE format, PSD < 14)"
MIN_BASELINE, MAX_BASELINE = 2.0, 6.0          # 02.00 <= baseline < 06.00
DEFAULT_SPECIAL_VALUES = {"NODATA": 0, "SATURATED": 65535}

_PI = "General_Info/Product_Info"
_PIC = "General_Info/Product_Image_Characteristics"
_BASELINE = re.compile(r"^\d{2}\.\d{2}$")
_GRANULE_IN_PATH = re.compile(r"^GRANULE/([^/]+)/")


@dataclass(frozen=True)
class ProductMetadata:
    """Everything MTD_MSIL1C.xml states that the processor or the L2A writer uses."""

    where: str
    psd_version: int
    product_uri: str
    processing_level: str
    product_type: str
    processing_baseline: str
    product_doi: Optional[str]
    product_start_time: datetime
    product_stop_time: datetime
    generation_time: datetime
    spacecraft: str
    spacecraft_name: str
    datatake_identifier: str
    datatake_type: str
    datatake_sensing_start: datetime
    sensing_orbit_number: int
    sensing_orbit_direction: str
    product_format: str
    granule_identifier: str
    datastrip_identifier: str
    image_format: str
    image_files: Tuple[str, ...]         # SAFE-relative, as written (no extension)
    special_values: Dict[str, int]
    display_order: Tuple[int, int, int]
    quantification_value: float
    radio_add_offsets: Dict[str, float]  # empty when the product has no Radiometric_Offset_List
    reflectance_conversion_u: float
    bands: Dict[str, SpectralBand]
    reference_band: Optional[int]
    footprint: List[Tuple[float, float]]
    cloud_coverage_assessment: Optional[float]
    snow_coverage_assessment: Optional[float]
    degraded_anc_data_percentage: Optional[float]
    degraded_msi_data_percentage: Optional[float]
    quality_checks: Dict[str, str] = field(default_factory=dict)

    @property
    def baseline_number(self) -> float:
        return float(self.processing_baseline)

    @property
    def has_radiometric_offset(self) -> bool:
        return bool(self.radio_add_offsets)

    @property
    def granule_folder(self) -> Optional[str]:
        """Granule folder named by the IMAGE_FILE paths ('L1C_T34UDD_A032566_...')."""
        for path in self.image_files:
            m = _GRANULE_IN_PATH.match(path)
            if m:
                return m.group(1)
        return None

    def image_file(self, band: str) -> Optional[str]:
        """SAFE-relative IMAGE_FILE entry of a band ('B8A', 'TCI'), without extension."""
        suffix = "_" + band
        for path in self.image_files:
            if path.endswith(suffix):
                return path
        return None


def check_level_root(doc: MetadataDoc, expected: str, expected_file: str) -> None:
    """Refuse a metadata file of the wrong kind or level with a message that says which."""
    root = doc.root_name
    if root == expected:
        return
    level = re.match(r"^Level-(\w+?)_", root)
    if level and level.group(1) != "1C":
        raise UnsupportedProductError(
            f"is Level-{level.group(1)} metadata ({root}); expected a Level-1C {expected_file}", doc.where)
    if root.endswith("_Tile_ID"):
        raise ProductError(f"is tile metadata (MTD_TL.xml), expected {expected_file}", doc.where)
    if root.endswith("_User_Product"):
        raise ProductError(f"is product metadata (MTD_MSIL1C.xml), expected {expected_file}", doc.where)
    raise ProductError(f"is not Sentinel-2 {expected_file} (root element {root})", doc.where)


def parse_product_metadata(xml: bytes, where: str) -> ProductMetadata:
    """Parse and check the bytes of an MTD_MSIL1C.xml file; `where` names it in errors."""
    doc = MetadataDoc(xml, where)
    check_level_root(doc, "Level-1C_User_Product", "MTD_MSIL1C.xml")
    psd = _check_psd(doc)
    pi = doc.node(_PI)
    level = doc.text("PROCESSING_LEVEL", pi)
    if level != "Level-1C":
        raise UnsupportedProductError(f"PROCESSING_LEVEL is {level}, expected Level-1C", doc.where)
    baseline = _check_baseline(doc, doc.text("PROCESSING_BASELINE", pi))
    product_format = doc.text("Query_Options/PRODUCT_FORMAT", pi, required=False) or "SAFE_COMPACT"
    if product_format.upper() == "SAFE":
        raise UnsupportedProductError(f"PRODUCT_FORMAT SAFE: {OLD_FORMAT_MESSAGE}", doc.where)
    datatake = doc.node("Datatake", pi)
    spacecraft_name = doc.text("SPACECRAFT_NAME", datatake)
    if spacecraft_name not in SPACECRAFTS:
        raise UnsupportedProductError(f"unknown SPACECRAFT_NAME '{spacecraft_name}'", doc.where)
    granule = doc.node("Product_Organisation/Granule_List/Granule", pi)
    pic = doc.node(_PIC)
    quantification = doc.float("QUANTIFICATION_VALUE", pic)
    if quantification <= 0:
        raise doc.error(f"QUANTIFICATION_VALUE {quantification} must be positive")
    offsets = _offsets(doc, pic)
    bands = _bands(doc, pic, offsets)
    qi = doc.node("Quality_Indicators_Info", required=False)
    return ProductMetadata(
        where=doc.where,
        psd_version=psd,
        product_uri=doc.text("PRODUCT_URI", pi),
        processing_level=level,
        product_type=doc.text("PRODUCT_TYPE", pi),
        processing_baseline=baseline,
        product_doi=doc.text("PRODUCT_DOI", pi, required=False),
        product_start_time=doc.time("PRODUCT_START_TIME", pi),
        product_stop_time=doc.time("PRODUCT_STOP_TIME", pi),
        generation_time=doc.time("GENERATION_TIME", pi),
        spacecraft=SPACECRAFTS[spacecraft_name],
        spacecraft_name=spacecraft_name,
        datatake_identifier=datatake.get("datatakeIdentifier", ""),
        datatake_type=doc.text("DATATAKE_TYPE", datatake),
        datatake_sensing_start=doc.time("DATATAKE_SENSING_START", datatake),
        sensing_orbit_number=doc.int("SENSING_ORBIT_NUMBER", datatake),
        sensing_orbit_direction=doc.text("SENSING_ORBIT_DIRECTION", datatake, required=False) or "",
        product_format=product_format,
        granule_identifier=granule.get("granuleIdentifier", ""),
        datastrip_identifier=granule.get("datastripIdentifier", ""),
        image_format=granule.get("imageFormat", "JPEG2000"),
        image_files=tuple((e.text or "").strip() for e in doc.nodes("IMAGE_FILE", granule)),
        special_values=_special_values(doc, pic),
        display_order=_display_order(doc, pic),
        quantification_value=quantification,
        radio_add_offsets=offsets,
        reflectance_conversion_u=doc.float("Reflectance_Conversion/U", pic),
        bands=bands,
        reference_band=doc.int("REFERENCE_BAND", pic, required=False),
        footprint=_footprint(doc),
        cloud_coverage_assessment=doc.float("Cloud_Coverage_Assessment", qi, required=False) if qi is not None else None,
        snow_coverage_assessment=doc.float("Snow_Coverage_Assessment", qi, required=False) if qi is not None else None,
        degraded_anc_data_percentage=(doc.float("Technical_Quality_Assessment/DEGRADED_ANC_DATA_PERCENTAGE", qi,
                                                required=False) if qi is not None else None),
        degraded_msi_data_percentage=(doc.float("Technical_Quality_Assessment/DEGRADED_MSI_DATA_PERCENTAGE", qi,
                                                required=False) if qi is not None else None),
        quality_checks=_quality_checks(doc, qi),
    )


def _check_psd(doc: MetadataDoc) -> int:
    psd = doc.psd_version
    if psd is None:
        raise doc.error("cannot tell the PSD version: the root element has no psd-NN namespace")
    if psd < SUPPORTED_PSD[0]:
        raise UnsupportedProductError(f"PSD {psd}: {OLD_FORMAT_MESSAGE}", doc.where)
    if psd > SUPPORTED_PSD[-1]:
        raise UnsupportedProductError(f"PSD {psd} is newer than the supported PSD 14.2 to 15.0", doc.where)
    return psd


def _check_baseline(doc: MetadataDoc, baseline: str) -> str:
    if not _BASELINE.match(baseline):
        raise doc.error(f"PROCESSING_BASELINE '{baseline}' is not of the form dd.dd")
    if not MIN_BASELINE <= float(baseline) < MAX_BASELINE:
        raise UnsupportedProductError(
            f"processing baseline {baseline} not supported (02.00 to 05.xx)", doc.where)
    return baseline


def _special_values(doc: MetadataDoc, pic) -> Dict[str, int]:
    values = dict(DEFAULT_SPECIAL_VALUES)
    for sv in doc.nodes("Special_Values", pic):
        values[doc.text("SPECIAL_VALUE_TEXT", sv)] = doc.int("SPECIAL_VALUE_INDEX", sv)
    return values


def _display_order(doc: MetadataDoc, pic) -> Tuple[int, int, int]:
    order = doc.node("Image_Display_Order", pic, required=False)
    if order is None:
        return (3, 2, 1)
    return tuple(doc.int(c, order) for c in ("RED_CHANNEL", "GREEN_CHANNEL", "BLUE_CHANNEL"))  # type: ignore


def _offsets(doc: MetadataDoc, pic) -> Dict[str, float]:
    offsets: Dict[str, float] = {}
    for element in doc.nodes("Radiometric_Offset_List/RADIO_ADD_OFFSET", pic):
        index = _band_index(doc, doc.attr_int(element, "band_id", "bandId"))
        offsets[band_name(index)] = doc.to_float((element.text or "").strip(), "RADIO_ADD_OFFSET")
    if offsets and len(offsets) != len(BAND_NAMES):
        missing = [b for b in BAND_NAMES if b not in offsets]
        raise doc.error(f"Radiometric_Offset_List has no RADIO_ADD_OFFSET for {', '.join(missing)}")
    return offsets


def _bands(doc: MetadataDoc, pic, offsets: Dict[str, float]) -> Dict[str, SpectralBand]:
    irradiance = {}
    for element in doc.nodes("Reflectance_Conversion/Solar_Irradiance_List/SOLAR_IRRADIANCE", pic):
        index = _band_index(doc, doc.attr_int(element, "bandId"))
        irradiance[index] = doc.to_float((element.text or "").strip(), "SOLAR_IRRADIANCE")
    gains = {}
    for element in doc.nodes("PHYSICAL_GAINS", pic):
        index = _band_index(doc, doc.attr_int(element, "bandId"))
        gains[index] = doc.to_float((element.text or "").strip(), "PHYSICAL_GAINS")
    infos = {}
    for info in doc.nodes("Spectral_Information_List/Spectral_Information", pic):
        infos[_band_index(doc, doc.attr_int(info, "bandId"))] = info
    bands: Dict[str, SpectralBand] = {}
    for index, name in enumerate(BAND_NAMES):
        if index not in infos:
            raise doc.error(f"no Spectral_Information for {name} (bandId {index})")
        if index not in irradiance:
            raise doc.error(f"no SOLAR_IRRADIANCE for {name} (bandId {index})")
        bands[name] = _spectral_band(doc, infos[index], index, irradiance[index], gains.get(index),
                                     offsets.get(name, 0.0))
    return bands


def _spectral_band(doc: MetadataDoc, info, index: int, e0: float, gain: Optional[float],
                   offset: float) -> SpectralBand:
    name = band_name(index)
    physical = info.get("physicalBand")
    if physical is not None:
        try:
            consistent = band_id(physical) == index
        except ValueError:
            consistent = False
        if not consistent:
            raise doc.error(f"Spectral_Information bandId {index} says physicalBand {physical}, expected {name}")
    # A Spectral_Response may be absent (e.g. metadata rebuilt from a datastrip that does not carry
    # it): the response stays empty and the atmospheric correction uses the unit's stored one.
    values = (doc.text("Spectral_Response/VALUES", info, required=False) or "").split()
    response = np.array([doc.to_float(v, f"Spectral_Response/VALUES of {name}") for v in values], dtype=np.float64)
    resolution = doc.int("RESOLUTION", info, required=False) or NATIVE_RESOLUTION[name]
    if resolution != NATIVE_RESOLUTION[name]:
        raise doc.error(f"{name} RESOLUTION {resolution}, expected {NATIVE_RESOLUTION[name]}")
    return SpectralBand(
        band_id=index,
        name=name,
        resolution=resolution,
        wavelength_min=doc.float("Wavelength/MIN", info),
        wavelength_max=doc.float("Wavelength/MAX", info),
        wavelength_central=doc.float("Wavelength/CENTRAL", info),
        response_step=doc.float("Spectral_Response/STEP", info, required=False) or 1.0,
        response=response,
        solar_irradiance=e0,
        physical_gain=gain,
        radio_add_offset=offset,
    )


def _band_index(doc: MetadataDoc, index: int) -> int:
    if not 0 <= index < len(BAND_NAMES):
        raise doc.error(f"bandId {index} out of range 0..{len(BAND_NAMES) - 1}")
    return index


def _footprint(doc: MetadataDoc) -> List[Tuple[float, float]]:
    text = doc.text("Geometric_Info/Product_Footprint/Product_Footprint/Global_Footprint/EXT_POS_LIST",
                    required=False)
    if not text:
        return []
    values = [doc.to_float(v, "EXT_POS_LIST") for v in text.split()]
    if len(values) % 2:
        raise doc.error("EXT_POS_LIST holds an odd number of values, expected lat lon pairs")
    return list(zip(values[0::2], values[1::2]))


def _quality_checks(doc: MetadataDoc, qi) -> Dict[str, str]:
    """checkType -> PASSED/FAILED; baseline 02.05 writes <XXX_FLAG> elements instead."""
    if qi is None:
        return {}
    inspections = doc.node("Quality_Control_Checks/Quality_Inspections", qi, required=False)
    if inspections is None:
        return {}
    checks = {}
    for element in inspections:
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1]
        key = element.get("checkType") or re.sub(r"_FLAG$", "", tag)
        checks[key] = (element.text or "").strip()
    return checks
