"""`--mode process_tile`: one L1C tile folder -> the L2A tile folder of an L2A datastrip.

Steps: check the inputs (the L2A datastrip, the L1C datastrip it records, the tile, which must
belong to that L1C datastrip); build the compact SAFE view of the tile in a private folder of
--work_dir (core.pdgs.safe_view); run `core.pipeline.process_product` on it with the processing
centre, archiving centre and baseline of the L2A datastrip; give the granule's MTD_TL.xml the L2A
datastrip identifier; move the granule into --output_dir as
S2x_OPER_MSI_L2A_TL_<centre>_<creation>_A<orbit>_T<tile>_N<pb> (its TILE_ID), atomically: the
folder is assembled under a hidden temporary name and renamed when complete; an existing folder
is never replaced. A tile already processed with that baseline in --output_dir is refused
before any work. The private work folder is removed afterwards (kept with --debug).
"""
from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Union

from ..errors import ConfigError, ProductError
from ..product import naming
from ..product.atomic import atomic_product_dir, prepare_output_dir
from ..product.l2a_xml import find_local, parse_file, write_xml
from ..product.metadata_tile import parse_tile_metadata
from . import inputs
from .datastrip import l1c_metadata_of
from .datastrip_info import read_datastrip
from .safe_view import absolute_orbit, build_safe_view

log = logging.getLogger(__name__)
PathLike = Union[str, Path]


def process_tile(l2a_datastrip: PathLike, l1c_tile: PathLike, work_dir: PathLike,
                 output_dir: PathLike, options: Any,
                 progress: Optional[Callable[[float, str], None]] = None, cancel: Any = None,
                 logger: Optional[logging.Logger] = None) -> Path:
    """Process `l1c_tile`; returns the L2A tile folder. `options`: the run's
    core.pipeline.ProcessingOptions (output folder, centres and baseline are replaced by this
    mode's). Raises Sen2CorError subclasses with one-line messages; nothing is left in
    `output_dir` on error."""
    from ..pipeline import process_product

    ds_folder, ds_mtd = inputs.l2a_datastrip(l2a_datastrip)
    l2a = read_datastrip(ds_mtd, "2A")
    for label, value in (("PROCESSING_CENTER", l2a.processing_centre),
                         ("ARCHIVING_CENTRE", l2a.archiving_centre)):
        if not value:
            raise ProductError(f"--datastrip: MTD_DS.xml states no {label}", ds_mtd)
    _check_agreement(options, l2a)
    l1c_mtd = l1c_metadata_of(ds_folder)
    l1c = read_datastrip(l1c_mtd, "1C")
    tile_folder, tile_mtd = inputs.l1c_tile(l1c_tile)
    tile_xml = tile_mtd.read_bytes()
    tile = parse_tile_metadata(tile_xml, str(tile_mtd))
    if tile.datastrip_id and l1c.datastrip_id and tile.datastrip_id != l1c.datastrip_id:
        raise ProductError(f"--tile: belongs to datastrip {tile.datastrip_id}, not to "
                           f"{l1c.datastrip_id} (the L1C datastrip of --datastrip)", tile_mtd)
    bands = inputs.band_files(tile_folder)
    orbit = absolute_orbit(tile_folder, tile)
    out = prepare_output_dir(output_dir)
    _refuse_processed(out, l1c.spacecraft, orbit, tile.tile_number, l2a.processing_baseline)

    work = Path(work_dir).expanduser().absolute()
    work.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=f".tile-T{tile.tile_number}-", dir=work))
    try:
        view = build_safe_view(private / "input", l1c, l1c_mtd.parent, tile, tile_folder,
                               tile_xml, bands)
        run_options = dataclasses.replace(
            options, output_dir=str(private / "output"), work_dir=options.work_dir or str(work),
            processing_baseline=l2a.processing_baseline,
            processing_centre=l2a.processing_centre, archiving_centre=l2a.archiving_centre)
        result = process_product(view, run_options, progress=progress, cancel=cancel, log=logger)
        granules = [p for p in (result.product_path / "GRANULE").iterdir() if p.is_dir()]
        if len(granules) != 1:      # the engine writes exactly one: a bug otherwise
            raise RuntimeError(f"expected one granule in {result.product_path}, found {len(granules)}")
        name = _finish_tile_metadata(granules[0], l2a.datastrip_id)
        with atomic_product_dir(out, name) as tmp:
            for child in sorted(granules[0].iterdir()):
                shutil.move(str(child), str(tmp / child.name))
    finally:
        if options.debug:
            log.info("work files kept (--debug): %s", private)
        else:
            shutil.rmtree(private, ignore_errors=True)
    log.info("Level-2A tile %s written", name)
    return out / name


def _check_agreement(options: Any, l2a) -> None:
    """Centres and baseline come from the L2A datastrip; a different value given on the command
    line is a contradiction, refused rather than silently ignored."""
    for option, given, stated in (
            ("processing_baseline", options.processing_baseline, l2a.processing_baseline),
            ("processing_centre", options.processing_centre, l2a.processing_centre),
            ("archiving_centre", options.archiving_centre, l2a.archiving_centre)):
        if given and stated and given != stated:
            raise ConfigError(f"--{option} {given} differs from the {stated} of the L2A datastrip "
                              f"{l2a.path.parent.name} (process_tile takes it from the datastrip)")


def _finish_tile_metadata(granule: Path, datastrip_id: str) -> str:
    """Point MTD_TL.xml at the L2A datastrip; returns its TILE_ID (the tile folder name)."""
    path = granule / "MTD_TL.xml"
    root = parse_file(path)
    tile_id = find_local(root, "General_Info/TILE_ID")
    if tile_id is None or not (tile_id.text or "").strip():
        raise ProductError("the L2A tile metadata has no TILE_ID", path)
    ds = find_local(root, "General_Info/DATASTRIP_ID")
    if ds is not None and datastrip_id:
        ds.text = datastrip_id
        write_xml(root, path)
    return tile_id.text.strip()


def _refuse_processed(out: Path, spacecraft: str, orbit: int, tile: str, baseline: str) -> None:
    """Sen2Cor does not process a tile twice: an L2A tile folder of the same tile, orbit and
    baseline in the output folder stops the run before any work."""
    pattern = f"{spacecraft}_OPER_MSI_L2A_TL_*_A{orbit:06d}_T{tile}_{naming.baseline_dotted(baseline)}"
    done = sorted(out.glob(pattern))
    if done:
        raise ProductError("the tile is already processed with this baseline; remove it or choose "
                           "another output folder (an existing tile is never overwritten)", done[0])
