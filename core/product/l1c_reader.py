"""`read_l1c`: a compact-SAFE Level-1C product (folder, .zip or MTD_MSIL1C.xml) -> L1CProduct.

Reads and checks all metadata, locates band, mask, preview and AUX files, and reads the small
AUX GRIB fields; band pixels are left for `bands` to read lazily. What is refused, and how:
  missing path, unreadable or malformed file, missing granule/band file -> ProductError;
  old standard SAFE (S2?_OPER_PRD_MSIL1C*, granules S2?_OPER_MSI_L1C_TL_*, PSD < 14), wrong level
  (MSIL2A product or MTD_MSIL2A.xml), unsupported PSD/baseline -> UnsupportedProductError.
Every message is one line naming the file.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from ..errors import ProductError, UnsupportedProductError
from .auxiliary import find_aux_files, read_auxiliary
from .container import SafeContainer, open_container
from .masks import resolve_quality_masks
from .metadata_product import OLD_FORMAT_MESSAGE, ProductMetadata, parse_product_metadata
from .metadata_tile import TileMetadata, parse_tile_metadata
from .model import BAND_NAMES, Granule, L1CProduct

log = logging.getLogger(__name__)

MTD_NAME = "MTD_MSIL1C.xml"
TILE_MTD_NAME = "MTD_TL.xml"
_OLD_PRODUCT = re.compile(r"^S2[A-D_]_OPER_PRD_MSIL1C", re.IGNORECASE)
_OLD_GRANULE = re.compile(r"^S2[A-D_]_OPER_MSI_L1C_TL_", re.IGNORECASE)
_OLD_MTD = re.compile(r"^S2[A-D_]_OPER_MTD_SAFL1C_.*\.xml$", re.IGNORECASE)
_OTHER_LEVEL = re.compile(r"^S2[A-D_]_MSIL(2A|1B|1A|0)", re.IGNORECASE)
_OTHER_LEVEL_MTD = re.compile(r"(^|_)MTD_MSIL(2A|1B|1A)\.xml$", re.IGNORECASE)
_COMPACT = re.compile(r"^S2[A-D]_MSIL1C_\d{8}T\d{6}_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}_\d{8}T\d{6}(\.SAFE)?$")
_ORBIT_IN_NAME = re.compile(r"_A(\d{6})_")
_IMAGE_EXTENSIONS = {"JPEG2000": ".jp2", "GEOTIFF": ".tif", "TIFF": ".tif"}


def read_l1c(path: Union[str, Path]) -> L1CProduct:
    """Parse a Level-1C product: a .SAFE folder, a .zip holding one, or its MTD_MSIL1C.xml."""
    input_path = str(path)
    container = _open_input(Path(path))
    _check_safe_name(container)
    mtd_rel = _find_product_mtd(container)
    mtd_xml = container.read_bytes(mtd_rel)
    meta = parse_product_metadata(mtd_xml, container.gdal_path(mtd_rel))
    granule_rel = _find_granule(container, meta)
    tile_rel = f"{granule_rel}/{TILE_MTD_NAME}"
    if not container.is_file(tile_rel):
        raise ProductError(f"granule has no {TILE_MTD_NAME}", container.gdal_path(tile_rel))
    tile_xml = container.read_bytes(tile_rel)
    tile = parse_tile_metadata(tile_xml, container.gdal_path(tile_rel))
    _cross_check(meta, tile, container.gdal_path(tile_rel))
    granule = _granule(container, meta, tile, granule_rel)
    manifest = container.read_bytes("manifest.safe") if container.is_file("manifest.safe") else b""
    return L1CProduct(
        input_path=input_path,
        safe_path=container.gdal_path(),
        safe_name=container.safe_name,
        is_zip=container.is_zip,
        product_uri=meta.product_uri,
        spacecraft=meta.spacecraft,
        spacecraft_name=meta.spacecraft_name,
        processing_level=meta.processing_level,
        product_type=meta.product_type,
        processing_baseline=meta.processing_baseline,
        psd_version=meta.psd_version,
        product_start_time=meta.product_start_time,
        product_stop_time=meta.product_stop_time,
        generation_time=meta.generation_time,
        datatake_identifier=meta.datatake_identifier,
        datatake_type=meta.datatake_type,
        datatake_sensing_start=meta.datatake_sensing_start,
        sensing_orbit_number=meta.sensing_orbit_number,
        sensing_orbit_direction=meta.sensing_orbit_direction,
        product_format=meta.product_format,
        quantification_value=meta.quantification_value,
        special_values=dict(meta.special_values),
        display_order=meta.display_order,
        reflectance_conversion_u=meta.reflectance_conversion_u,
        bands=dict(meta.bands),
        footprint=list(meta.footprint),
        granule=granule,
        datastrip_path=_datastrip(container),
        product_doi=meta.product_doi,
        cloud_coverage_assessment=meta.cloud_coverage_assessment,
        mtd_path=container.gdal_path(mtd_rel),
        mtd_xml=mtd_xml,
        tile_mtd_path=container.gdal_path(tile_rel),
        tile_mtd_xml=tile_xml,
        manifest_xml=manifest,
    )


def _open_input(path: Path) -> SafeContainer:
    """Container of the product the user named; errors say what was expected instead."""
    if not path.exists():
        raise ProductError("no such file or folder", path)
    container = open_container(path)
    if container is not None:
        return container
    name = path.name
    if name.upper() == MTD_NAME.upper():
        return open_container(path.absolute().parent)   # the .SAFE folder holding it
    if _OTHER_LEVEL_MTD.search(name):
        level = _OTHER_LEVEL_MTD.search(name).group(2).upper()
        raise UnsupportedProductError(f"is Level-{level} product metadata, expected a Level-1C product", path)
    if _OLD_MTD.match(name):
        raise UnsupportedProductError(OLD_FORMAT_MESSAGE, path)
    raise ProductError(f"expected a .SAFE folder, a .zip of one, or its {MTD_NAME}", path)


def _check_safe_name(container: SafeContainer) -> None:
    name = container.safe_name
    where = container.gdal_path()
    if _OLD_PRODUCT.match(name):
        raise UnsupportedProductError(OLD_FORMAT_MESSAGE, where)
    other = _OTHER_LEVEL.match(name)
    if other:
        raise UnsupportedProductError(f"is a Level-{other.group(1).upper()} product, expected Level-1C", where)
    if not _COMPACT.match(name):
        log.warning("%s: folder name does not follow the compact naming S2x_MSIL1C_..._Txxxxx_....SAFE", where)


def _find_product_mtd(container: SafeContainer) -> str:
    if container.is_file(MTD_NAME):
        return MTD_NAME
    names = container.listdir("")
    for name in names:
        if name.upper() == MTD_NAME.upper():
            return name
    where = container.gdal_path()
    for name in names:
        m = _OTHER_LEVEL_MTD.search(name)
        if m:
            raise UnsupportedProductError(
                f"holds {name}: a Level-{m.group(2).upper()} product, expected Level-1C", where)
        if _OLD_MTD.match(name):
            raise UnsupportedProductError(OLD_FORMAT_MESSAGE, where)
    raise ProductError(f"no {MTD_NAME} in the product folder", where)


def _find_granule(container: SafeContainer, meta: ProductMetadata) -> str:
    """SAFE-relative folder of the product's one granule."""
    folders = [n for n in container.listdir("GRANULE") if container.is_dir(f"GRANULE/{n}")]
    if any(_OLD_GRANULE.match(n) for n in folders):
        raise UnsupportedProductError(f"granule folder S2x_OPER_MSI_L1C_TL_*: {OLD_FORMAT_MESSAGE}",
                                      container.gdal_path("GRANULE"))
    named = meta.granule_folder
    if named is not None:
        rel = container.check_rel(f"GRANULE/{named}")
        if not container.is_dir(rel):
            raise ProductError(f"granule folder named in {MTD_NAME} is missing", container.gdal_path(rel))
        return rel
    if not folders:
        raise ProductError("the product holds no granule folder", container.gdal_path("GRANULE"))
    if len(folders) > 1:
        raise ProductError(f"{len(folders)} granule folders and {MTD_NAME} names none of them",
                           container.gdal_path("GRANULE"))
    return f"GRANULE/{folders[0]}"


def _cross_check(meta: ProductMetadata, tile: TileMetadata, where: str) -> None:
    """Inconsistencies that do not stop processing are logged, never silently ignored."""
    if meta.granule_identifier and tile.tile_id and meta.granule_identifier != tile.tile_id:
        log.warning("%s: TILE_ID %s differs from the granuleIdentifier %s of %s",
                    where, tile.tile_id, meta.granule_identifier, MTD_NAME)
    if f"_T{tile.tile_number}_" not in meta.product_uri:
        log.warning("%s: tile %s is not the tile of product %s", where, tile.tile_number, meta.product_uri)


def _image_files(container: SafeContainer, meta: ProductMetadata) -> Dict[str, str]:
    """Band (and 'TCI') -> GDAL path; ProductError for a spectral band file that is missing."""
    extension = _IMAGE_EXTENSIONS.get(meta.image_format.upper(), ".jp2")
    files: Dict[str, str] = {}
    for band in BAND_NAMES + ("TCI",):
        entry = meta.image_file(band)
        if entry is None:
            if band == "TCI":
                continue
            raise ProductError(f"lists no IMAGE_FILE for band {band}", meta.where)
        rel = container.check_rel(entry if Path(entry).suffix.lower() in (".jp2", ".tif") else entry + extension)
        if not container.is_file(rel):
            if band == "TCI":
                log.warning("%s: true-colour image missing", container.gdal_path(rel))
                continue
            raise ProductError(f"band {band} file is missing", container.gdal_path(rel))
        files[band] = container.gdal_path(rel)
    return files


def _absolute_orbit(folder: str, tile: TileMetadata) -> int:
    m = _ORBIT_IN_NAME.search(folder + "_")
    if m:
        return int(m.group(1))
    if tile.absolute_orbit is not None:
        return tile.absolute_orbit
    raise ProductError("no absolute orbit in the granule folder name nor in TILE_ID", tile.where)


def _pvi(container: SafeContainer, granule_rel: str, name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    rel = name if "/" in name else f"{granule_rel}/QI_DATA/{name}"
    if not Path(rel).suffix:
        rel += ".jp2"
    rel = container.check_rel(rel)
    return container.gdal_path(rel) if container.is_file(rel) else None


def _aux_paths(container: SafeContainer, granule_rel: str) -> Tuple[Optional[str], Optional[str]]:
    aux = f"{granule_rel}/AUX_DATA"
    ecmwft, camsfo = find_aux_files(container.listdir(aux))
    return (container.gdal_path(f"{aux}/{ecmwft}") if ecmwft else None,
            container.gdal_path(f"{aux}/{camsfo}") if camsfo else None)


def _granule(container: SafeContainer, meta: ProductMetadata, tile: TileMetadata, granule_rel: str) -> Granule:
    folder = granule_rel.rsplit("/", 1)[-1]
    ecmwft, camsfo = _aux_paths(container, granule_rel)
    return Granule(
        folder_name=folder,
        path=container.gdal_path(granule_rel),
        tile_id=tile.tile_id,
        tile_number=tile.tile_number,
        datastrip_id=tile.datastrip_id,
        sensing_time=tile.sensing_time,
        absolute_orbit=_absolute_orbit(folder, tile),
        archiving_centre=tile.archiving_centre,
        archiving_time=tile.archiving_time,
        geocoding=tile.geocoding,
        sun_angles=tile.sun_angles,
        mean_sun_zenith=tile.mean_sun_zenith,
        mean_sun_azimuth=tile.mean_sun_azimuth,
        viewing_angles=dict(tile.viewing_angles),
        viewing_angles_by_detector=dict(tile.viewing_angles_by_detector),
        mean_viewing_angles=dict(tile.mean_viewing_angles),
        image_files=_image_files(container, meta),
        quality_masks=resolve_quality_masks(container, granule_rel, tile.masks),
        pvi_path=_pvi(container, granule_rel, tile.pvi_filename),
        auxiliary=read_auxiliary(ecmwft, camsfo),
        cloudy_pixel_percentage=tile.cloudy_pixel_percentage,
        degraded_msi_data_percentage=tile.degraded_msi_data_percentage,
        snow_pixel_percentage=tile.snow_pixel_percentage,
    )


def _datastrip(container: SafeContainer) -> Optional[str]:
    folders: List[str] = [n for n in container.listdir("DATASTRIP") if container.is_dir(f"DATASTRIP/{n}")]
    return container.gdal_path(f"DATASTRIP/{folders[0]}") if folders else None
