"""The Level-2A product tree (`L2A_Process --cr_only`, and the first step of full processing).

`create_l2a_tree` writes the complete SAFE tree of §9.2 — metadata, empty IMG_DATA/R10m|R20m|R60m,
the L1C masks, reports and AUX files taken over, placeholders for everything processing computes —
under a hidden temporary name, and renames it into place only when complete (core.product.atomic).

Hooks for later processing (all on the finished product folder):
* image paths: `product_names(product_dir)` gives the L2ANames (image_relpath, mask_relpath, ...);
* MTD_MSIL2A.xml / MTD_TL.xml values: core.product.l2a_qi.update_image_content_qi;
* QI_DATA/L2A_QUALITY.xml: core.product.l2a_quality.update_l2a_quality;
* manifest.safe after writing files: core.product.manifest.rebuild_manifest.
Full processing will rather pass `populate=` a callback that writes the rasters inside the
temporary folder before the rename, so that a failed run leaves nothing behind.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

from ..errors import ConfigError, ProductError
from . import naming
from .atomic import atomic_product_dir
from .l2a_copy import copy_aux_data, copy_datastrip_qi, copy_granule_qi
from .l2a_datastrip import MTD_DS, build_datastrip_metadata
from .l2a_extras import write_html_index, write_inspire, write_schema_stubs
from .l2a_mtd import build_product_metadata
from .l2a_quality import FILE_NAME as QUALITY_FILE, build_l2a_quality
from .l2a_settings import (DEFAULT_AUX_REFERENCES, DEFAULT_PRODUCT_DOI, GippValue, L2ASettings,
                           check_resolutions, gipp_entries, make_names, to_utc_naive, utc_now)
from .l2a_tile_mtd import build_tile_metadata
from .l2a_xml import find_local, parse_file, psd_major, write_xml
from .manifest import base_metadata_from_l1c, base_metadata_from_values, write_manifest
from .model import L1CProduct

log = logging.getLogger(__name__)
_CENTRE = re.compile(r"^[A-Z0-9_]{4}$")
MTD_PRODUCT = "MTD_MSIL2A.xml"
MTD_TILE = "MTD_TL.xml"


def create_l2a_tree(product: L1CProduct, output_dir: Union[str, Path], *, baseline: str = "99.99",
                    product_doi: str = DEFAULT_PRODUCT_DOI, generation_time: Optional[datetime] = None,
                    processing_centre: Optional[str] = None, archiving_centre: Optional[str] = None,
                    output_format: str = "JP2", gipp_files: Optional[Mapping[str, GippValue]] = None,
                    psd_version: Optional[str] = None, resolutions: Sequence[int] = (10, 20, 60),
                    dem_resolutions: Sequence[int] = (), dem_type: str = "None",
                    aux_references: Optional[Mapping[str, str]] = None,
                    boa_offset: Optional[bool] = None, checksum: str = "MD5",
                    populate: Optional[Callable[[Path, naming.L2ANames], None]] = None) -> Path:
    """Create the complete L2A product tree for `product` in `output_dir`; returns the product path.

    baseline: output processing baseline 'dd.dd' (N9999 for Sen2Cor's default 99.99).
    processing_centre / archiving_centre: 4 characters; default the L1C datastrip's centre and the
    L1C archiving centre. resolutions: those whose layers MTD_MSIL2A lists (§9.3).
    boa_offset: write BOA_ADD_OFFSET (default: exactly when the L1C carries RADIO_ADD_OFFSET, the
    robust rule of SEN2COR_REFERENCE §6.10; the reflectance encoder follows the same flag). populate: called with (temporary product folder, names) after the
    tree is written and before the manifest and the final rename.
    Raises ProductError if the product exists already, ConfigError for invalid settings.
    """
    settings = make_settings(product, baseline=baseline, product_doi=product_doi,
                             generation_time=generation_time, processing_centre=processing_centre,
                             archiving_centre=archiving_centre, output_format=output_format,
                             gipp_files=gipp_files, psd_version=psd_version, resolutions=resolutions,
                             dem_resolutions=dem_resolutions, dem_type=dem_type,
                             aux_references=aux_references, boa_offset=boa_offset)
    names = make_names(product, settings)
    log.info("creating Level-2A product %s", names.product)
    with atomic_product_dir(output_dir, names.product) as tmp:
        write_tree(product, names, settings, tmp)
        if populate is not None:
            populate(tmp, names)
        base = base_metadata_from_l1c(product.manifest_xml, settings.generation_time,
                                      fallback=_fallback_manifest_metadata(product))
        write_manifest(tmp, base, checksum)
    return Path(output_dir).expanduser().absolute() / names.product


def make_settings(product: L1CProduct, *, baseline: str, product_doi: str,
                  generation_time: Optional[datetime], processing_centre: Optional[str],
                  archiving_centre: Optional[str], output_format: str,
                  gipp_files: Optional[Mapping[str, GippValue]], psd_version: Optional[str],
                  resolutions: Sequence[int], dem_resolutions: Sequence[int], dem_type: str,
                  aux_references: Optional[Mapping[str, str]], boa_offset: Optional[bool]) -> L2ASettings:
    """Validate the options and fill the defaults taken from the L1C."""
    normalised = naming.normalise_baseline(baseline)
    centre = processing_centre or naming.datastrip_centre(product.granule.datastrip_id) or "SGS_"
    archive = archiving_centre or product.granule.archiving_centre or centre
    for label, value in (("processing centre", centre), ("archiving centre", archive)):
        if not _CENTRE.match(value):
            raise ConfigError(f"{label} '{value}' must be four characters A-Z, 0-9 or '_' (e.g. SGS_)")
    aux = dict(DEFAULT_AUX_REFERENCES)
    aux.update(aux_references or {})
    res = check_resolutions(resolutions, "resolutions")
    if not res:
        raise ConfigError("resolutions: at least one of 10, 20, 60 is needed")
    return L2ASettings(
        baseline=normalised,
        generation_time=to_utc_naive(generation_time or utc_now()),
        processing_centre=centre, archiving_centre=archive,
        output_format=naming.normalise_output_format(output_format),
        product_doi=product_doi, psd=psd_major(psd_version),
        resolutions=res, dem_resolutions=check_resolutions(dem_resolutions, "dem_resolutions"),
        dem_type=dem_type, aux_references=aux, gipps=gipp_entries(gipp_files, normalised),
        boa_offset=product.has_radiometric_offset if boa_offset is None else bool(boa_offset),
    )


def write_tree(product: L1CProduct, names: naming.L2ANames, settings: L2ASettings, root: Path) -> None:
    """Write every folder and file of the tree into `root` (the manifest excepted)."""
    granule = root / "GRANULE" / names.granule
    for folder in [granule / "IMG_DATA" / f"R{r}m" for r in naming.RESOLUTION_LAYERS] + \
                  [granule / "QI_DATA", granule / "AUX_DATA", root / "HTML", root / "rep_info",
                   root / "DATASTRIP" / names.datastrip_folder / "QI_DATA"]:
        folder.mkdir(parents=True, exist_ok=True)
    write_xml(build_product_metadata(product, names, settings), root / MTD_PRODUCT)
    write_xml(build_tile_metadata(product, names, settings), granule / MTD_TILE)
    datastrip = root / "DATASTRIP" / names.datastrip_folder
    write_xml(build_datastrip_metadata(product, names, settings), datastrip / MTD_DS)
    copy_datastrip_qi(product, datastrip / "QI_DATA")
    copy_granule_qi(product, granule / "QI_DATA")
    write_xml(build_l2a_quality(product.spacecraft, names.tile_id, f"GRANULE/{names.granule}",
                                settings.generation_time, settings.creator_version, settings.gipp_version),
              granule / "QI_DATA" / QUALITY_FILE)
    copy_aux_data(product, granule / "AUX_DATA")
    write_inspire(product, names, settings, root / "INSPIRE.xml")
    write_html_index(product, names, settings, root / "HTML")
    write_schema_stubs(settings, root / "rep_info")


def _fallback_manifest_metadata(product: L1CProduct):
    return base_metadata_from_values(product.product_start_time, product.spacecraft,
                                     product.granule.absolute_orbit, product.sensing_orbit_number,
                                     product.sensing_orbit_direction, product.footprint)


def product_names(product_dir: Union[str, Path]) -> naming.L2ANames:
    """L2ANames of an existing L2A product folder, recovered from its MTD_MSIL2A.xml."""
    product_dir = Path(product_dir)
    root = parse_file(product_dir / MTD_PRODUCT)
    granule = find_local(root, "General_Info/Product_Info/Product_Organisation/Granule_List/Granule")
    if granule is None:
        raise ProductError("no Granule in MTD_MSIL2A.xml", product_dir / MTD_PRODUCT)
    granules = sorted(p.name for p in (product_dir / "GRANULE").glob("L2A_*") if p.is_dir())
    datastrips = sorted(p.name for p in (product_dir / "DATASTRIP").glob("DS_*") if p.is_dir())
    if len(granules) != 1 or len(datastrips) != 1:
        raise ProductError("expected exactly one L2A granule and one datastrip folder", product_dir)
    start = find_local(root, "General_Info/Product_Info/Datatake/DATATAKE_SENSING_START")
    baseline = find_local(root, "General_Info/Product_Info/PROCESSING_BASELINE")
    image_format = {v[1]: k for k, v in naming.OUTPUT_FORMATS.items()}.get(granule.get("imageFormat"), "JP2")
    tile = granules[0].split("_")[1][1:]
    return naming.L2ANames(
        product=product_dir.name, granule=granules[0], datastrip_folder=datastrips[0],
        tile_id=granule.get("granuleIdentifier"), datastrip_id=granule.get("datastripIdentifier"),
        tile=tile, datatake_start=_parse_time(start.text if start is not None else ""),
        baseline=baseline.text if baseline is not None else "", output_format=image_format)


def _parse_time(text: str) -> datetime:
    text = text.strip().rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ProductError(f"cannot read time '{text}'")
