"""What the PDGS modes read from a datastrip's MTD_DS.xml (L1C or L2A).

Read through core.product.metadata_common.MetadataDoc: local names only, so the psd-14/psd-15
namespaces do not matter, and every missing value is a one-line error naming the file. The
sensing start is found where real files have it (General_Info/Datastrip_Time_Info) or directly
under General_Info.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

from lxml import etree

from ..errors import ProductError, UnsupportedProductError
from ..product.metadata_common import MetadataDoc
from ..product.model import SPACECRAFTS
from ..product.naming import COMPACT_TIME

_SENSING_START_IN_ID = re.compile(r"_S(\d{8}T\d{6})(_|$)")
ROOTS = {"1C": "Level-1C_DataStrip_ID", "2A": "Level-2A_DataStrip_ID"}


@dataclass(frozen=True)
class DatastripInfo:
    """The values of one MTD_DS.xml that the PDGS modes use."""

    path: Path
    level: str                        # '1C' | '2A'
    psd: int
    datastrip_id: str
    spacecraft_name: str              # 'Sentinel-2B'
    datatake_identifier: str
    datatake_type: str
    datatake_sensing_start: str       # as written ('2023-04-12T09:45:04.024Z')
    sensing_orbit_number: int
    sensing_orbit_direction: str
    sensing_start: str                # datastrip sensing start, compact 'YYYYMMDDTHHMMSS'
    sensing_stop: Optional[str]       # as written
    processing_centre: Optional[str]
    processing_time: Optional[datetime]
    processing_baseline: str
    archiving_centre: Optional[str]
    root: etree._Element              # the parsed document (radiometric information etc.)

    @property
    def spacecraft(self) -> str:
        """'S2A' | 'S2B' | 'S2C'."""
        return SPACECRAFTS[self.spacecraft_name]


def read_datastrip(path: Path, level: str, option: str = "datastrip") -> DatastripInfo:
    """Parse and check the MTD_DS.xml of an L1C (`level` '1C') or L2A ('2A') datastrip."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProductError(f"cannot read file ({exc.strerror})", path) from None
    doc = MetadataDoc(data, str(path))
    _check_level(doc, level, option)
    general = doc.node("General_Info")
    datatake = doc.node("Datatake_Info", general)
    spacecraft_name = doc.text("SPACECRAFT_NAME", datatake)
    if spacecraft_name not in SPACECRAFTS:
        raise UnsupportedProductError(f"unknown SPACECRAFT_NAME '{spacecraft_name}'", path)
    datastrip_id = doc.text("DATASTRIP_ID", general, required=False) or ""
    processing = doc.node("Processing_Info", general)
    archiving = doc.node("Archiving_Info", general, required=False)
    return DatastripInfo(
        path=path, level=level, psd=doc.psd_version or 14, datastrip_id=datastrip_id,
        spacecraft_name=spacecraft_name,
        datatake_identifier=datatake.get("datatakeIdentifier", ""),
        datatake_type=doc.text("DATATAKE_TYPE", datatake, required=False) or "INS-NOBS",
        datatake_sensing_start=doc.text("DATATAKE_SENSING_START", datatake),
        sensing_orbit_number=doc.int("SENSING_ORBIT_NUMBER", datatake),
        sensing_orbit_direction=doc.text("SENSING_ORBIT_DIRECTION", datatake, required=False) or "",
        sensing_start=_sensing_start(doc, datastrip_id),
        sensing_stop=doc.text(".//DATASTRIP_SENSING_STOP", general, required=False),
        processing_centre=doc.text("PROCESSING_CENTER", processing, required=False),
        processing_time=doc.time("UTC_DATE_TIME", processing, required=False),
        processing_baseline=doc.text("PROCESSING_BASELINE", processing),
        archiving_centre=(doc.text("ARCHIVING_CENTRE", archiving, required=False)
                          if archiving is not None else None),
        root=doc.root,
    )


def _check_level(doc: MetadataDoc, level: str, option: str) -> None:
    if doc.root_name == ROOTS[level]:
        return
    for other, root in ROOTS.items():
        if doc.root_name == root:
            hint = (" (--datastrip of process_tile is the L2A datastrip made by "
                    "--mode generate_datastrip)" if level == "2A" else "")
            raise ProductError(f"--{option}: is Level-{other} datastrip metadata, expected "
                               f"Level-{level}{hint}", doc.where)
    raise ProductError(f"--{option}: is not Sentinel-2 datastrip metadata (root element "
                       f"{doc.root_name})", doc.where)


def _sensing_start(doc: MetadataDoc, datastrip_id: str) -> str:
    match = _SENSING_START_IN_ID.search(datastrip_id)
    if match:
        return match.group(1)
    moment = doc.time(".//DATASTRIP_SENSING_START", doc.node("General_Info"))
    return moment.strftime(COMPACT_TIME)
