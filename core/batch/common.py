"""Small shared pieces of the batch engine: its error type and size parsing."""
from __future__ import annotations

import re
from typing import Optional, Union

from ..errors import Sen2CorError

_SIZE = re.compile(r"^\s*(?P<num>\d+(\.\d*)?|\.\d+)\s*(?P<unit>[kmgtp]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "k": 1e3, "kb": 1e3, "kib": 2 ** 10, "ki": 2 ** 10, "m": 1e6, "mb": 1e6,
          "mib": 2 ** 20, "mi": 2 ** 20, "g": 1e9, "gb": 1e9, "gib": 2 ** 30, "gi": 2 ** 30,
          "t": 1e12, "tb": 1e12, "tib": 2 ** 40, "ti": 2 ** 40}


class BatchError(Sen2CorError):
    """The batch as a whole cannot run (bad inputs, unusable cluster settings, state in use)."""


def parse_memory_gb(value: Union[str, int, float, None]) -> Optional[float]:
    """Memory in GB (10**9 bytes, as schedulers count) from '4GB', '4G', '3.5 GiB', '512MB' or 4.

    A bare number is GB. None stays None.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        amount = float(value)
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise BatchError(f"memory size '{value}' not understood (e.g. 4GB, 3.5GiB, 512MB)")
        unit = (match.group("unit") or "").lower()
        if unit and unit not in _UNITS:
            raise BatchError(f"memory size '{value}' has an unknown unit")
        amount = float(match.group("num")) * (_UNITS[unit] / 1e9 if unit else 1.0)
    if amount <= 0:
        raise BatchError(f"memory size '{value}' must be positive")
    return amount
