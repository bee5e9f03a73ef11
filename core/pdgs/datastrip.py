"""`--mode generate_datastrip`: the L2A datastrip folder made from an L1C datastrip.

The L2A MTD_DS.xml is the L1C one converted exactly as the toolbox product's datastrip is
(core.product.l2a_datastrip.convert_l1c_datastrip): Level-2A root and namespace, DATASTRIP_ID,
processing centre, time and baseline, archiving centre and time, BOA/AOT/WVP quantification
values, the L2A GIPP list and auxiliary-data references. Its Tile_List is empty: the tiles are
processed afterwards by separate jobs, which must not all rewrite one shared file.

The folder also holds L1C_DATASTRIP.json, the record of the L1C datastrip it was made from:
tile processing needs L1C values that the L2A metadata no longer states (the L1C processing
baseline and TOA quantification) and reads them from there. The folder appears atomically
(written under a temporary name, renamed when complete) and an existing one is never replaced.
"""
from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import Optional, Union

from ..errors import ProductError
from ..product import naming
from ..product.atomic import atomic_product_dir
from ..product.l2a_datastrip import MTD_DS, convert_l1c_datastrip
from ..product.l2a_settings import L2ASettings, gipp_entries, to_utc_naive, utc_now
from ..product.l2a_xml import psd_major, write_xml
from . import inputs
from .datastrip_info import read_datastrip

log = logging.getLogger(__name__)
SOURCE_RECORD = "L1C_DATASTRIP.json"


def generate_datastrip(l1c_datastrip: Union[str, Path], output_dir: Union[str, Path], *,
                       processing_centre: str, archiving_centre: str, baseline: str,
                       generation_time: Optional[datetime] = None) -> Path:
    """Write DS_<centre>_<creation>_S<start> into `output_dir`; returns its path.

    `baseline`: the L2A processing baseline 'dd.dd'. Raises ProductError (one line naming the
    file) for a missing or wrong input and when the folder exists already."""
    folder, mtd = inputs.l1c_datastrip(l1c_datastrip)
    info = read_datastrip(mtd, "1C")
    created = to_utc_naive(generation_time or utc_now())
    pb = naming.normalise_baseline(baseline)
    settings = L2ASettings(baseline=pb, generation_time=created, processing_centre=processing_centre,
                           archiving_centre=archiving_centre, output_format="JP2",
                           psd=psd_major(info.psd), gipps=gipp_entries(None, pb))
    datastrip_id = naming.l2a_datastrip_id(info.spacecraft, processing_centre, created,
                                           info.sensing_start, pb)
    name = naming.datastrip_folder_name(processing_centre, created, info.sensing_start)
    record = {"l1c_datastrip": str(folder), "l1c_metadata": str(mtd),
              "l1c_datastrip_id": info.datastrip_id, "l2a_datastrip_id": datastrip_id}
    root = convert_l1c_datastrip(info.root, (), datastrip_id, settings)
    log.info("creating the Level-2A datastrip %s from %s", name, folder)
    with atomic_product_dir(output_dir, name) as tmp:
        write_xml(root, tmp / MTD_DS)
        qi = tmp / "QI_DATA"
        qi.mkdir()
        if (folder / "QI_DATA").is_dir():
            for report in sorted((folder / "QI_DATA").glob("*.xml")):
                shutil.copy2(report, qi / report.name)
        (tmp / SOURCE_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return Path(output_dir).expanduser().absolute() / name


def l1c_metadata_of(l2a_datastrip: Path) -> Path:
    """The L1C MTD_DS.xml an L2A datastrip folder was made from (its L1C_DATASTRIP.json)."""
    record = l2a_datastrip / SOURCE_RECORD
    if not record.is_file():
        raise ProductError(f"--datastrip: no {SOURCE_RECORD} (the record of the L1C datastrip); "
                           "make the L2A datastrip with --mode generate_datastrip", l2a_datastrip)
    try:
        values = json.loads(record.read_text(encoding="utf-8"))
        path = Path(values["l1c_metadata"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProductError(f"unreadable record of the L1C datastrip ({exc})", record) from None
    if not path.is_file():
        raise ProductError(f"the L1C datastrip metadata it records is not there any more: {path}", record)
    return path
