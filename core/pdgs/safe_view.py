"""A compact SAFE view of one PDGS tile, so that the toolbox engine processes it unchanged.

    <work>/S2B_MSIL1C_<datatake>_N<pb>_R<orbit>_T<tile>_<generation>.SAFE/
        MTD_MSIL1C.xml                      written (core.pdgs.view_metadata)
        DATASTRIP/DS_<centre>_<gen>_S<start>/MTD_DS.xml -> the L1C datastrip metadata (link)
        GRANULE/L1C_T<tile>_A<orbit>_<datastrip start>/
            MTD_TL.xml                      copy of the tile's, mask paths pointing at this granule
            IMG_DATA, QI_DATA, AUX_DATA  -> the tile's folders (links)

Links keep the view cheap (no pixel is copied); where the file system refuses symbolic links
the folders are copied instead. The granule is always given its compact name, because the
reader refuses standard-naming granules (S2x_OPER_MSI_L1C_TL_*) as old-format products and the
L2A granule name is derived from it.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import Dict

from ..errors import ProductError
from ..product import naming
from ..product.l2a_xml import find_local, findall_local, parse_bytes, write_xml
from ..product.metadata_common import parse_utc
from .datastrip_info import DatastripInfo
from .view_metadata import IMAGE_FORMATS, build_view_metadata

log = logging.getLogger(__name__)
_ORBIT = re.compile(r"_A(\d{6})(_|$)")
_COMPACT_TILE = re.compile(r"^L1C_T\w{5}_A\d{6}_\d{8}T\d{6}$")


def absolute_orbit(tile_folder: Path, tile) -> int:
    """Absolute orbit of a tile: from its folder name, else from TILE_ID."""
    match = _ORBIT.search(tile_folder.name)
    if match:
        return int(match.group(1))
    if tile.absolute_orbit is not None:
        return int(tile.absolute_orbit)
    raise ProductError("--tile: no absolute orbit in the folder name nor in TILE_ID", tile.where)


def granule_name(tile_folder: Path, tile, ds: DatastripInfo) -> str:
    """'L1C_T<tile>_A<orbit>_<datastrip sensing start>' (the folder's own name when compact)."""
    if _COMPACT_TILE.match(tile_folder.name):
        return tile_folder.name
    return f"L1C_T{tile.tile_number}_A{absolute_orbit(tile_folder, tile):06d}_{ds.sensing_start}"


def view_name(ds: DatastripInfo, tile) -> str:
    """Compact L1C product name of the view."""
    start = parse_utc(ds.datatake_sensing_start)
    generated = ds.processing_time or tile.archiving_time or tile.sensing_time
    return (f"{ds.spacecraft}_MSIL1C_{naming.compact_time(start)}_{naming.baseline_tag(ds.processing_baseline)}"
            f"_R{ds.sensing_orbit_number:03d}_T{tile.tile_number}_{naming.compact_time(generated)}.SAFE")


def build_safe_view(parent: Path, ds: DatastripInfo, ds_folder: Path, tile, tile_folder: Path,
                    tile_xml: bytes, bands: Dict[str, Path]) -> Path:
    """Write the view of `tile_folder` under `parent`; returns the .SAFE path.

    `ds`: the L1C datastrip (its MTD_DS.xml at ds.path, folder `ds_folder`); `tile`: the parsed
    L1C MTD_TL.xml (core.product.metadata_tile.TileMetadata) whose bytes are `tile_xml`;
    `bands`: band -> image file (core.pdgs.inputs.band_files)."""
    safe = parent / view_name(ds, tile)
    granule = granule_name(tile_folder, tile, ds)
    granule_dir = safe / "GRANULE" / granule
    granule_dir.mkdir(parents=True)
    for name in ("IMG_DATA", "QI_DATA", "AUX_DATA"):
        source = tile_folder / name
        if source.is_dir():
            _link(source, granule_dir / name)
        else:
            (granule_dir / name).mkdir()
    write_xml(_tile_metadata(tile_xml, tile.where, granule), granule_dir / "MTD_TL.xml")
    datastrip = safe / "DATASTRIP" / naming.datastrip_folder_name(
        ds.processing_centre or "____", ds.processing_time or tile.sensing_time, ds.sensing_start)
    datastrip.mkdir(parents=True)
    _link(ds.path, datastrip / "MTD_DS.xml")
    if (ds_folder / "QI_DATA").is_dir():
        _link(ds_folder / "QI_DATA", datastrip / "QI_DATA")
    extension = bands["B02"].suffix.lower()
    entries = {band: f"GRANULE/{granule}/IMG_DATA/{path.stem}" for band, path in bands.items()
               if path.suffix.lower() == extension}
    root = build_view_metadata(ds, tile, safe.name, entries, IMAGE_FORMATS.get(extension, "JPEG2000"))
    write_xml(root, safe / "MTD_MSIL1C.xml")
    log.debug("compact SAFE view of %s: %s", tile_folder, safe)
    return safe


def _tile_metadata(tile_xml: bytes, where: str, granule: str):
    """The tile metadata with SAFE-relative mask and preview paths pointing into the view."""
    root = parse_bytes(tile_xml, where)
    qi = find_local(root, "Quality_Indicators_Info")
    if qi is not None:
        for element in findall_local(qi, "Pixel_Level_QI/MASK_FILENAME") + findall_local(qi, "PVI_FILENAME"):
            text = (element.text or "").strip()
            if "/" in text:
                element.text = f"GRANULE/{granule}/QI_DATA/{text.rsplit('/', 1)[-1]}"
    return root


def _link(source: Path, target: Path) -> None:
    """Symbolic link, or a copy where links are refused (some Windows set-ups)."""
    try:
        os.symlink(source, target, target_is_directory=source.is_dir())
    except OSError as exc:
        log.debug("cannot link %s (%s): copying", source, exc)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
