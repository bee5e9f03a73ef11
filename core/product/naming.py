"""Names of everything in a Level-2A product (reference §9.1) and the layers each resolution holds.

Every writer and every later processing step asks this module for a name, so that the product
name, the granule and datastrip folders, the metadata identifiers and the image files always agree.
Functions are pure: they take values, never read files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, Optional, Tuple, Union

from ..errors import ConfigError, ProductError

BASELINE_PATTERN = re.compile(r"^\d{2}\.\d{2}$")
_BASELINE_INPUT = re.compile(r"^\d{1,2}(\.\d{1,2})?$")
COMPACT_TIME = "%Y%m%dT%H%M%S"

# Layers of each IMG_DATA/R<res>m folder, in the order of ESA's IMAGE_FILE list (baseline 05.09,
# reference §9.3). Choice: B01 at 20 m is included, as in ESA's operational products of
# Sen2Cor 2.10/2.11; Sen2Cor 2.8 standalone did not write it. B08 (only 10 m) and B10 (never) follow
# the same rules in both. TCI/AOT/WVP/SCL are derived layers, the rest are BOA reflectance bands.
RESOLUTION_LAYERS: Dict[int, Tuple[str, ...]] = {
    10: ("B02", "B03", "B04", "B08", "TCI", "AOT", "WVP"),
    20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12",
         "TCI", "AOT", "WVP", "SCL"),
    60: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12",
         "TCI", "AOT", "WVP", "SCL"),
}
DERIVED_LAYERS: Tuple[str, ...] = ("TCI", "AOT", "WVP", "SCL")
# Scene-classification probability masks (QI_DATA) exist where scene classification runs.
PROBABILITY_MASKS: Tuple[str, ...] = ("MSK_CLDPRB", "MSK_SNWPRB")
PROBABILITY_MASK_RESOLUTIONS: Tuple[int, ...] = (20, 60)
DDV_MASK = "MSK_DDVPXL"

# Output format -> (image file extension, Granule@imageFormat text). Sen2Cor: default JPEG 2000,
# --tif GeoTIFF, --raw ENVI raw files with the '.rawl' extension (plus an ENVI '.hdr' header).
OUTPUT_FORMATS: Dict[str, Tuple[str, str]] = {
    "JP2": (".jp2", "JPEG2000"),
    "TIF": (".tif", "GEOTIFF"),
    "RAW": (".rawl", "RAW"),
}
_FORMAT_ALIASES = {"JP2": "JP2", "JPEG2000": "JP2", "TIF": "TIF", "TIFF": "TIF", "GTIFF": "TIF",
                   "GEOTIFF": "TIF", "RAW": "RAW", "ENVI": "RAW"}


def normalise_baseline(value: Union[str, float]) -> str:
    """'dd.dd' form of a processing baseline ('5.1' -> '05.10', 99.99 -> '99.99'); ConfigError if invalid."""
    text = f"{value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value).strip()
    if not _BASELINE_INPUT.match(text):
        raise ConfigError(f"processing baseline '{value}' must have the form dd.dd (e.g. 02.11, 99.99)")
    normalised = f"{float(text):05.2f}"
    if not BASELINE_PATTERN.match(normalised):
        raise ConfigError(f"processing baseline '{value}' must have the form dd.dd (e.g. 02.11, 99.99)")
    return normalised


def baseline_tag(baseline: Union[str, float]) -> str:
    """'N' + baseline without the dot, as in product names: 02.11 -> 'N0211', 99.99 -> 'N9999'."""
    return "N" + normalise_baseline(baseline).replace(".", "")


def baseline_dotted(baseline: Union[str, float]) -> str:
    """'N' + baseline with the dot, as in tile and datastrip identifiers: 'N02.11'."""
    return "N" + normalise_baseline(baseline)


def compact_time(moment: datetime) -> str:
    """'YYYYMMDDTHHMMSS' (UTC) as used in product, datastrip and file names."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(COMPACT_TIME)


def normalise_output_format(output_format: str) -> str:
    """'JP2', 'TIF' or 'RAW' from any accepted spelling (jp2, GTiff, GeoTIFF, ENVI, ...)."""
    key = _FORMAT_ALIASES.get(str(output_format).strip().upper())
    if key is None:
        raise ConfigError(f"output format '{output_format}' is not one of JP2, TIF, RAW")
    return key


def image_extension(output_format: str) -> str:
    return OUTPUT_FORMATS[normalise_output_format(output_format)][0]


def l2a_product_name(spacecraft: str, datatake_start: datetime, baseline: Union[str, float],
                     relative_orbit: int, tile: str, generation_time: datetime) -> str:
    """'S2B_MSIL2A_<datatake start>_N<pb>_R<orbit>_T<tile>_<generation>.SAFE'."""
    return (f"{spacecraft}_MSIL2A_{compact_time(datatake_start)}_{baseline_tag(baseline)}"
            f"_R{int(relative_orbit):03d}_T{tile}_{compact_time(generation_time)}.SAFE")


def l2a_granule_name(tile: str, absolute_orbit: int, datastrip_start: str) -> str:
    """'L2A_T<tile>_A<absolute orbit, 6 digits>_<datastrip sensing start>'."""
    return f"L2A_T{tile}_A{int(absolute_orbit):06d}_{datastrip_start}"


def l2a_tile_id(spacecraft: str, centre: str, creation: datetime, absolute_orbit: int,
                tile: str, baseline: Union[str, float]) -> str:
    """'S2B_OPER_MSI_L2A_TL_<centre>_<creation>_A<orbit>_T<tile>_N<pb with dot>'."""
    return (f"{spacecraft}_OPER_MSI_L2A_TL_{centre}_{compact_time(creation)}"
            f"_A{int(absolute_orbit):06d}_T{tile}_{baseline_dotted(baseline)}")


def l2a_datastrip_id(spacecraft: str, centre: str, creation: datetime, datastrip_start: str,
                     baseline: Union[str, float]) -> str:
    """'S2B_OPER_MSI_L2A_DS_<centre>_<creation>_S<start>_N<pb with dot>'."""
    return (f"{spacecraft}_OPER_MSI_L2A_DS_{centre}_{compact_time(creation)}"
            f"_S{datastrip_start}_{baseline_dotted(baseline)}")


def datastrip_folder_name(centre: str, creation: datetime, datastrip_start: str) -> str:
    """'DS_<centre>_<creation>_S<start>' (compact naming)."""
    return f"DS_{centre}_{compact_time(creation)}_S{datastrip_start}"


def image_stem(tile: str, datatake_start: datetime, layer: str, resolution: int) -> str:
    """'T<tile>_<datatake start>_<LAYER>_<res>m' (IMAGE_FILE entries carry no extension)."""
    return f"T{tile}_{compact_time(datatake_start)}_{layer}_{int(resolution)}m"


def image_file_name(tile: str, datatake_start: datetime, layer: str, resolution: int,
                    output_format: str = "JP2") -> str:
    return image_stem(tile, datatake_start, layer, resolution) + image_extension(output_format)


def mask_file_name(mask: str, resolution: int, output_format: str = "JP2") -> str:
    """'MSK_CLDPRB_20m.jp2', 'MSK_SNWPRB_60m.jp2', 'MSK_DDVPXL_20m.jp2' (QI_DATA)."""
    return f"{mask}_{int(resolution)}m" + image_extension(output_format)


def pvi_file_name(tile: str, datatake_start: datetime, output_format: str = "JP2") -> str:
    """'T<tile>_<datatake start>_PVI.jp2' (QI_DATA)."""
    return f"T{tile}_{compact_time(datatake_start)}_PVI" + image_extension(output_format)


def dem_file_name(tile: str, datatake_start: datetime, resolution: int, output_format: str = "JP2") -> str:
    """'T<tile>_<datatake start>_DEM_<res>m.jp2' (AUX_DATA)."""
    return image_file_name(tile, datatake_start, "DEM", resolution, output_format)


_COMPACT_GRANULE = re.compile(r"^L1C_T(?P<tile>\w{5})_A(?P<orbit>\d{6})_(?P<start>\d{8}T\d{6})$")
_DATASTRIP_START = re.compile(r"_S(?P<start>\d{8}T\d{6})(_|$)")
_DATASTRIP_CENTRE = re.compile(r"^S2._OPER_MSI_L1C_DS_(?P<centre>[A-Z0-9_]{4})_")


def datastrip_sensing_start(granule_folder: str, datastrip_id: str = "") -> str:
    """Datastrip sensing start 'YYYYMMDDTHHMMSS': from the L1C granule folder name, else the datastrip id."""
    match = _COMPACT_GRANULE.match(granule_folder)
    if match:
        return match.group("start")
    match = _DATASTRIP_START.search(datastrip_id)
    if match:
        return match.group("start")
    raise ProductError(f"cannot find the datastrip sensing start in granule '{granule_folder}' "
                       f"or datastrip '{datastrip_id}'")


def datastrip_centre(datastrip_id: str) -> Optional[str]:
    """Processing centre of an L1C datastrip identifier ('2BPS', 'SGS_'), None if not recognised."""
    match = _DATASTRIP_CENTRE.match(datastrip_id)
    return match.group("centre") if match else None


@dataclass(frozen=True)
class L2ANames:
    """All names of one L2A product, fixed once so that every writer uses the same ones."""

    product: str                 # '<...>.SAFE'
    granule: str                 # 'L2A_T34UCF_A033753_20230823T095553'
    datastrip_folder: str        # 'DS_2BPS_<creation>_S<start>'
    tile_id: str                 # 'S2B_OPER_MSI_L2A_TL_...'
    datastrip_id: str            # 'S2B_OPER_MSI_L2A_DS_...'
    tile: str                    # '34UCF'
    datatake_start: datetime
    baseline: str                # '99.99'
    output_format: str           # 'JP2' | 'TIF' | 'RAW'

    def image_stem(self, layer: str, resolution: int) -> str:
        return image_stem(self.tile, self.datatake_start, layer, resolution)

    def image_file(self, layer: str, resolution: int) -> str:
        return image_file_name(self.tile, self.datatake_start, layer, resolution, self.output_format)

    def image_relpath(self, layer: str, resolution: int) -> str:
        """Path of an image file relative to the product folder, with extension."""
        return f"GRANULE/{self.granule}/IMG_DATA/R{int(resolution)}m/{self.image_file(layer, resolution)}"

    def mask_relpath(self, mask: str, resolution: int) -> str:
        return f"GRANULE/{self.granule}/QI_DATA/{mask_file_name(mask, resolution, self.output_format)}"

    def pvi_relpath(self) -> str:
        return f"GRANULE/{self.granule}/QI_DATA/{pvi_file_name(self.tile, self.datatake_start, self.output_format)}"

    def dem_relpath(self, resolution: int) -> str:
        return (f"GRANULE/{self.granule}/AUX_DATA/"
                f"{dem_file_name(self.tile, self.datatake_start, resolution, self.output_format)}")
