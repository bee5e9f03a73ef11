"""The processing report of one run: every log record at the configured level (Log_Level, DEBUG
with --debug), kept in the product and in Sen2Cor's report folder (reference §1.1).

* In the product: GRANULE/<granule>/QI_DATA/L2A_PROCESS_REPORT.xml, written just before
  manifest.safe so that it is listed there with its checksum; it holds the run up to that point.
* In $SEN2COR_HOME/log/: <L2A product name>_<UTC time>_report.xml (Sen2Cor's place and name), the
  whole run including the final rename; written after the product appeared.

The file is the project's own simple XML: one <record time= level=> element per message, so that a
user sees what the run decided (aerosol method, visibility, DEM status, auxiliary files, ...)
next to the data. Messages are plain text (escaped by lxml).
"""
from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Tuple, Union

from lxml import etree


PRODUCT_REPORT = "L2A_PROCESS_REPORT.xml"
ROOT_TAG = "Sen2Cor_Level-2A_Report_File"


class RunReport(logging.Handler):
    """Collects the run's records (attach to the run's logger for the duration of the run)."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.records: List[Tuple[str, str, str]] = []
        self._lock_records = threading.Lock()
        self.started = datetime.now(timezone.utc)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            when = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            text = record.getMessage()
        except Exception:                     # never let reporting break the run
            self.handleError(record)
            return
        with self._lock_records:
            self.records.append((when, record.levelname, text))

    def to_xml(self, product_name: str) -> bytes:
        root = etree.Element(ROOT_TAG, product=product_name,
                             start=self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             level=logging.getLevelName(self.level))
        with self._lock_records:
            records = list(self.records)
        for when, level, text in records:
            element = etree.SubElement(root, "record", time=when, level=level)
            element.text = "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 32)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def write(self, path: Union[str, Path], product_name: str) -> Path:
        """Write the report (atomically) to `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_bytes(self.to_xml(product_name))
        os.replace(tmp, path)
        return path

    def home_report_path(self, home: Union[str, Path], product_name: str) -> Path:
        """$SEN2COR_HOME/log/<product name>_<UTC time>_report.xml; another run's report of the
        same name (same product, same second) is never overwritten: _2, _3, ... are added."""
        stem = product_name[:-5] if product_name.endswith(".SAFE") else product_name
        stamp = self.started.strftime("%Y%m%dT%H%M%S")
        folder = Path(home) / "log"
        path = folder / f"{stem}_{stamp}_report.xml"
        n = 1
        while path.exists():
            n += 1
            path = folder / f"{stem}_{stamp}_{n}_report.xml"
        return path
