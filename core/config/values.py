"""Value kinds of GIPP elements: parse element text, check Python values, format text back.

Every GIPP value goes through these functions, whether it comes from a file, the command line or
the QGIS dialog, so that all three accept and refuse exactly the same things with the same words.
A problem is raised as `ValueProblem` holding only the tail of the message ("is out of range
(5 to 120)"); the caller knows where the value came from and adds the file and element.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from .parameters import Param

ROI_MAX = 10980          # 10 m pixels of a Sentinel-2 tile side
ROI_DIVISOR = 6          # so that the window maps exactly onto the 20 m and 60 m grids
ROI_WORDS = ("OFF", "AUTO")


class Kind(str, enum.Enum):
    """How an element's text is read and written."""

    ENUM = "enum"            # one of a list of words
    BOOL = "bool"            # TRUE/FALSE (L2A_GIPP) or true/false (AC flags)
    INT = "int"              # integer, optional range or list of allowed integers
    FLOAT = "float"          # decimal number (exponents accepted), optional range
    STR = "str"              # free text, optional regular-expression pattern
    ROI = "roi"              # Region_Of_Interest child: OFF, AUTO or integer divisible by 6
    THREADS = "threads"      # Nr_Threads: AUTO or an integer in range
    FLOAT_LIST = "list"      # repeated element (one value per band), fixed length
    PSD_SCHEMES = "psd_schemes"  # the repeated PSD_Scheme blocks of L2A_GIPP


class ValueProblem(ValueError):
    """A value breaks its declaration; the text is the message tail after the value."""


@dataclass(frozen=True)
class PsdScheme:
    """One PSD_Scheme block: which product-specification schemas belong to a PSD version."""

    psd_version: str
    psd_reference: str
    up_scheme_1c: str = "S2_User_Product_Level-1C_Metadata"
    up_scheme_2a: str = "S2_User_Product_Level-2A_Metadata"
    tile_scheme_1c: str = "S2_PDI_Level-1C_Tile_Metadata"
    tile_scheme_2a: str = "S2_PDI_Level-2A_Tile_Metadata"
    ds_scheme_1c: str = "S2_PDI_Level-1C_Datastrip_Metadata"
    ds_scheme_2a: str = "S2_PDI_Level-2A_Datastrip_Metadata"


# Child elements of PSD_Scheme in file order, with the PsdScheme attribute holding each.
PSD_SCHEME_CHILDREN: Tuple[Tuple[str, str], ...] = (
    ("UP_Scheme_1C", "up_scheme_1c"),
    ("UP_Scheme_2A", "up_scheme_2a"),
    ("Tile_Scheme_1C", "tile_scheme_1c"),
    ("Tile_Scheme_2A", "tile_scheme_2a"),
    ("DS_Scheme_1C", "ds_scheme_1c"),
    ("DS_Scheme_2A", "ds_scheme_2a"),
)
_PSD_VERSION_RE = re.compile(r"[0-9]{2}\.[0-9]")
_SCHEMA_NAME_RE = re.compile(r"S2.+")


# --------------------------------------------------------------------------------------- words

def describe_allowed(param: "Param") -> str:
    """What the declaration allows, in the words used inside error messages' parentheses."""
    kind = param.kind
    if kind is Kind.ENUM or (kind is Kind.INT and param.choices):
        return ", ".join(str(c) for c in param.choices)
    if kind is Kind.BOOL:
        return f"{param.true_text}, {param.false_text}"
    if kind is Kind.ROI:
        return f"OFF, AUTO or an integer 0 to {ROI_MAX} divisible by {ROI_DIVISOR}"
    if kind is Kind.THREADS:
        return f"AUTO or an integer {_fmt_bound(param.minimum)} to {_fmt_bound(param.maximum)}"
    if kind in (Kind.INT, Kind.FLOAT, Kind.FLOAT_LIST):
        what = "an integer" if kind is Kind.INT else "a number"
        bounds = _describe_range(param)
        text = f"{what} {bounds}" if bounds else what
        if kind is Kind.FLOAT_LIST:
            text = f"{param.length} values, each {text}"
        return text
    if kind is Kind.STR:
        return f"text matching {param.pattern}" if param.pattern else "any text"
    if kind is Kind.PSD_SCHEMES:
        return "PSD_Scheme blocks with PSD_Version dd.d and S2… schema names"
    return ""  # pragma: no cover


def _describe_range(param: "Param") -> str:
    lo, hi = param.minimum, param.maximum
    if lo is None and hi is None:
        return ""
    if param.min_exclusive or param.max_exclusive:
        parts = []
        if lo is not None:
            parts.append(f"{'greater than' if param.min_exclusive else 'at least'} {_fmt_bound(lo)}")
        if hi is not None:
            parts.append(f"{'less than' if param.max_exclusive else 'at most'} {_fmt_bound(hi)}")
        return " and ".join(parts)
    if lo is not None and hi is not None:
        return f"{_fmt_bound(lo)} to {_fmt_bound(hi)}"
    return f"at least {_fmt_bound(lo)}" if lo is not None else f"at most {_fmt_bound(hi)}"


def _fmt_bound(value: Optional[float]) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# --------------------------------------------------------------------------------------- parse

def parse_text(param: "Param", text: Optional[str]) -> Any:
    """Typed value of one element's text; raises ValueProblem when the declaration refuses it."""
    raw = (text or "").strip()
    kind = param.kind
    if kind is Kind.ENUM:
        if raw not in param.choices:
            raise ValueProblem(f"is not allowed ({describe_allowed(param)})")
        return raw
    if kind is Kind.BOOL:
        return _parse_bool(param, raw)
    if kind is Kind.INT:
        return _check_int(param, _parse_int(param, raw))
    if kind is Kind.FLOAT:
        return _check_float(param, _parse_float(param, raw))
    if kind is Kind.STR:
        return _check_str(param, raw)
    if kind is Kind.ROI:
        if raw in ROI_WORDS:
            return raw
        return _check_roi(param, _parse_int(param, raw, allowed=describe_allowed(param)))
    if kind is Kind.THREADS:
        if raw == "AUTO":
            return raw
        return _check_int(param, _parse_int(param, raw, allowed=describe_allowed(param)))
    raise TypeError(f"{param.path}: kind {kind} is not a single text")  # lists are read per item


def parse_item(param: "Param", text: Optional[str]) -> float:
    """One entry of a FLOAT_LIST element (a band's fwhm, wavelength or c0/c1)."""
    return _check_float(param, _parse_float(param, (text or "").strip()))


def _parse_bool(param: "Param", raw: str) -> bool:
    low = raw.lower()
    if low == "true" or (param.gipp == "AC" and low == "1"):
        return True
    if low == "false" or (param.gipp == "AC" and low == "0"):
        return False
    raise ValueProblem(f"is not allowed ({describe_allowed(param)})")


def _decimal(raw: str) -> Optional[Decimal]:
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _parse_float(param: "Param", raw: str) -> float:
    number = _decimal(raw)
    if number is None:
        raise ValueProblem(f"is not a number ({describe_allowed(param)})")
    return float(number)


def _parse_int(param: "Param", raw: str, allowed: Optional[str] = None) -> int:
    number = _decimal(raw)
    if number is None or number != number.to_integral_value():
        raise ValueProblem(f"is not an integer ({allowed or describe_allowed(param)})")
    return int(number)


# --------------------------------------------------------------------------------------- check

def check_value(param: "Param", value: Any) -> Any:
    """Normalised typed value from a Python object or a text (overrides from CLI or dialog)."""
    if isinstance(value, str) and param.kind not in (Kind.FLOAT_LIST, Kind.PSD_SCHEMES):
        return parse_text(param, value)
    kind = param.kind
    if kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
        raise ValueProblem(f"is not allowed ({describe_allowed(param)})")
    if kind in (Kind.INT, Kind.ROI, Kind.THREADS):
        number = _as_int(value)
        if number is None:
            raise ValueProblem(f"is not an integer ({describe_allowed(param)})")
        return _check_roi(param, number) if kind is Kind.ROI else _check_int(param, number)
    if kind is Kind.FLOAT:
        return _check_float(param, _as_float(param, value))
    if kind is Kind.FLOAT_LIST:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ValueProblem(f"is not a list ({describe_allowed(param)})")
        items = tuple(_check_float(param, _as_float(param, v) if not isinstance(v, str)
                                   else _parse_float(param, v.strip())) for v in value)
        return check_length(param, items)
    if kind is Kind.PSD_SCHEMES:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not all(
                isinstance(v, PsdScheme) for v in value):
            raise ValueProblem(f"is not a list of PsdScheme ({describe_allowed(param)})")
        return tuple(check_psd_scheme(v) for v in value)
    # ENUM and STR only come as text; anything else is refused.
    raise ValueProblem(f"is not allowed ({describe_allowed(param)})")


def check_length(param: "Param", items: Tuple[float, ...]) -> Tuple[float, ...]:
    """A per-band list must hold exactly one value per band."""
    if param.length is not None and len(items) != param.length:
        raise ValueProblem(f"has {len(items)} values, expected {param.length}")
    return items


def check_psd_scheme(scheme: PsdScheme) -> PsdScheme:
    """PSD_Scheme attributes and schema names follow the 2.11 XSD patterns."""
    if not _PSD_VERSION_RE.fullmatch(scheme.psd_version):
        raise ValueProblem(f"has PSD_Version {scheme.psd_version!r}, expected the form dd.d")
    if not _SCHEMA_NAME_RE.fullmatch(scheme.psd_reference):
        raise ValueProblem(f"has PSD_Reference {scheme.psd_reference!r}, expected S2…")
    for element, attr in PSD_SCHEME_CHILDREN:
        name = getattr(scheme, attr)
        if not _SCHEMA_NAME_RE.fullmatch(name):
            raise ValueProblem(f"has {element} {name!r}, expected S2…")
    return scheme


def _as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _as_float(param: "Param", value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem(f"is not a number ({describe_allowed(param)})")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueProblem(f"is not a number ({describe_allowed(param)})")
    return number


def _check_int(param: "Param", number: int) -> int:
    if param.choices and number not in param.choices:
        raise ValueProblem(f"is not allowed ({describe_allowed(param)})")
    if not _in_range(param, number):
        raise ValueProblem(f"is out of range ({describe_allowed(param)})")
    return number


def _check_float(param: "Param", number: float) -> float:
    if not _in_range(param, number):
        raise ValueProblem(f"is out of range ({describe_allowed(param)})")
    return number


def _check_roi(param: "Param", number: int) -> int:
    if not 0 <= number <= ROI_MAX:
        raise ValueProblem(f"is out of range ({describe_allowed(param)})")
    if number % ROI_DIVISOR:
        raise ValueProblem(f"is not divisible by {ROI_DIVISOR} ({describe_allowed(param)})")
    return number


def _check_str(param: "Param", raw: str) -> str:
    if param.pattern and not re.fullmatch(param.pattern, raw):
        raise ValueProblem(f"is not allowed ({describe_allowed(param)})")
    return raw


def _in_range(param: "Param", number: float) -> bool:
    lo, hi = param.minimum, param.maximum
    if lo is not None and (number <= lo if param.min_exclusive else number < lo):
        return False
    if hi is not None and (number >= hi if param.max_exclusive else number > hi):
        return False
    return True


# --------------------------------------------------------------------------------------- format

def format_value(param: "Param", value: Any) -> str:
    """Element text for a single value, in the file's own conventions (TRUE vs true)."""
    kind = param.kind
    if kind is Kind.BOOL:
        return param.true_text if value else param.false_text
    if kind in (Kind.FLOAT, Kind.FLOAT_LIST):
        return format_number(value)
    return str(value)


def format_number(value: float) -> str:
    """Shortest text that reads back as the same float, never in exponent form (XSD decimals)."""
    text = format(Decimal(repr(float(value))), "f")
    if "." not in text:
        text += ".0"
    return text


def same_number(text: Optional[str], value: float) -> bool:
    """True when `text` already spells `value` (so a template's '1.000' is kept as written)."""
    number = _decimal((text or "").strip())
    return number is not None and float(number) == float(value)
