"""Typed access to the values of one parsed metadata file.

Both MTD_MSIL1C.xml and MTD_TL.xml are read through `MetadataDoc`, so that every missing element or
unreadable value becomes a one-line ProductError naming the file and the element path, and so that
namespaces (psd-12 / psd-14 / psd-15) never matter: paths are local names only.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from lxml import etree

from ..errors import ProductError
from ..xmlsafe import find_local, findall_local, local_name, parse_xml_bytes

_PSD = re.compile(r"psd-(\d+)\.sentinel2", re.IGNORECASE)
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_utc(text: str) -> datetime:
    """UTC-aware datetime of a PSD time stamp ('2023-06-01T09:45:49.024Z', 6 or 3 decimals).

    Written by hand because `datetime.fromisoformat` only accepts 'Z' from Python 3.11 on.
    """
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a date-time")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                     tzinfo=timezone.utc)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


def psd_version_of(root: etree._Element) -> Optional[int]:
    """Major PSD version from the root namespace ('https://psd-14.sentinel2...' -> 14)."""
    m = _PSD.search(etree.QName(root).namespace or "")
    return int(m.group(1)) if m else None


class MetadataDoc:
    """A parsed metadata file and its name; getters raise ProductError naming both."""

    def __init__(self, xml: bytes, where: str) -> None:
        self.where = str(where)
        self.root = parse_xml_bytes(xml, self.where, ProductError).getroot()
        self.root_name = local_name(self.root)
        self.psd_version = psd_version_of(self.root)

    def error(self, problem: str) -> ProductError:
        return ProductError(problem, self.where)

    def node(self, path: str, parent: Optional[etree._Element] = None,
             required: bool = True) -> Optional[etree._Element]:
        found = find_local(self.root if parent is None else parent, path)
        if found is None and required:
            raise self.error(f"missing element {self._full(path, parent)}")
        return found

    def nodes(self, path: str, parent: Optional[etree._Element] = None) -> list:
        return findall_local(self.root if parent is None else parent, path)

    def text(self, path: str, parent: Optional[etree._Element] = None,
             required: bool = True) -> Optional[str]:
        element = self.node(path, parent, required)
        if element is None:
            return None
        value = (element.text or "").strip()
        if not value and required:
            raise self.error(f"element {self._full(path, parent)} is empty")
        return value or None

    def float(self, path: str, parent: Optional[etree._Element] = None,
              required: bool = True) -> Optional[float]:
        value = self.text(path, parent, required)
        return None if value is None else self.to_float(value, self._full(path, parent))

    def int(self, path: str, parent: Optional[etree._Element] = None,
            required: bool = True) -> Optional[int]:
        value = self.text(path, parent, required)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise self.error(f"element {self._full(path, parent)}: '{value}' is not an integer") from None

    def time(self, path: str, parent: Optional[etree._Element] = None,
             required: bool = True) -> Optional[datetime]:
        value = self.text(path, parent, required)
        if value is None:
            return None
        try:
            return parse_utc(value)
        except ValueError:
            raise self.error(f"element {self._full(path, parent)}: '{value}' is not a date-time") from None

    def to_float(self, value: str, what: str) -> float:
        try:
            return float(value)
        except ValueError:
            raise self.error(f"element {what}: '{value}' is not a number") from None

    def attr_int(self, element: etree._Element, name: str, *alternatives: str) -> int:
        """Integer attribute (e.g. bandId; RADIO_ADD_OFFSET spells it band_id)."""
        for key in (name,) + alternatives:
            value = element.get(key)
            if value is not None:
                try:
                    return int(value)
                except ValueError:
                    raise self.error(
                        f"attribute {local_name(element)}@{key}: '{value}' is not an integer") from None
        raise self.error(f"element {local_name(element)} has no {name} attribute")

    def _full(self, path: str, parent: Optional[etree._Element]) -> str:
        if parent is None:
            return path
        return f"{local_name(parent)}/{path}"
