"""Read one GIPP XML file into typed values, and write values back into Sen2Cor's XML layout.

Reading is strict about what Sen2Cor 2.11 would refuse (wrong root, bad values) and lenient about
age: elements added after 2.8 that an older file lacks take their 2.11 defaults, and elements we
do not know are ignored; both are reported as one warning each, naming the file.
Writing starts from the shipped default file so that element order, comments and the root's
schema attributes stay exactly Sen2Cor's.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

from lxml import etree

from ..errors import ConfigError
from ..version import SEN2COR_GIPP_VERSION, SEN2COR_VERSION
from ..xmlsafe import local_name, parse_xml_bytes, parse_xml_file
from .parameters import GIPP_FILES, DEFAULT_PSD_SCHEMES, Param, params_of
from .values import (PSD_SCHEME_CHILDREN, Kind, PsdScheme, ValueProblem, check_length,
                     check_psd_scheme, format_number, format_value, parse_item, parse_text,
                     same_number)

log = logging.getLogger(__name__)

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"
PathLike = Union[str, Path]

# AC files of some releases wrap the sections in <Atmospheric_Correction>; accept both layouts.
_TRANSPARENT_WRAPPERS = {"AC": "Atmospheric_Correction"}


def default_gipp_path(gipp: str) -> Path:
    """The shipped 2.11 default of one file (L2A, SC, AC or PB)."""
    return DEFAULTS_DIR / GIPP_FILES[gipp].file_name


@dataclass
class GippContent:
    """What one file gave: typed values by Python name, and what had to be defaulted/ignored."""

    gipp: str
    path: Path
    values: Dict[str, Any]
    defaulted: Tuple[str, ...] = ()      # element paths missing from the file (post-2.8 ones)
    unknown: Tuple[str, ...] = ()        # element paths present but not part of 2.11
    outdated: Tuple[str, ...] = field(default=())  # other signs of an older release

    @property
    def is_outdated(self) -> bool:
        return bool(self.defaulted or self.outdated)


# ----------------------------------------------------------------------------------- reading

def read_gipp(path: PathLike, gipp: str, warn: bool = True) -> GippContent:
    """Parse and validate one GIPP file; ConfigError (one line, naming the file) when invalid."""
    path = Path(path)
    tree = parse_xml_file(path, ConfigError)
    return _read_tree(tree, path, gipp, warn)


def read_gipp_bytes(data: bytes, where: PathLike, gipp: str, warn: bool = True) -> GippContent:
    """Same as read_gipp for XML held in memory (`where` names it in messages)."""
    tree = parse_xml_bytes(data, where, ConfigError)
    return _read_tree(tree, Path(where), gipp, warn)


def _read_tree(tree: etree._ElementTree, path: Path, gipp: str, warn: bool) -> GippContent:
    spec = GIPP_FILES[gipp]
    root = tree.getroot()
    if local_name(root) != spec.root:
        raise ConfigError(f"root element is <{local_name(root)}>, expected <{spec.root}> "
                          f"(not a {spec.file_name})", path)
    base = _content_root(root, gipp)
    values: Dict[str, Any] = {}
    defaulted: List[str] = []
    for param in params_of(gipp):
        value = _read_param(base, param, path)
        if value is _MISSING:
            if not param.post_28:
                raise ConfigError(f"required element {param.element_path} is missing", path)
            value = param.default
            defaulted.append(param.path)
        values[param.name] = value
    problem = roi_problem(values) if gipp == "L2A" else None
    if problem:
        raise ConfigError(problem, path)
    unknown = _unknown_elements(base, gipp)
    outdated = _older_declarations(values, gipp)
    content = GippContent(gipp, path, values, tuple(defaulted), tuple(unknown), tuple(outdated))
    if warn:
        warn_about(content)
    return content


def warn_about(content: GippContent) -> None:
    """Log what an older or extended file lacked or added (one warning per kind of issue)."""
    where = content.path
    if content.defaulted:
        listed = ", ".join(f"{p}={_default_text(p, content.gipp)}" for p in content.defaulted)
        log.warning("%s: file predates Sen2Cor %s; missing elements take the %s defaults: %s",
                    where, SEN2COR_VERSION, SEN2COR_VERSION, listed)
    for text in content.outdated:
        log.warning("%s: %s", where, text)
    if content.unknown:
        log.warning("%s: unknown elements ignored: %s", where, ", ".join(content.unknown))


def _default_text(path: str, gipp: str) -> str:
    param = next(p for p in params_of(gipp) if p.path == path)
    return format_value(param, param.default)


_MISSING = object()


def _content_root(root: etree._Element, gipp: str) -> etree._Element:
    wrapper = _TRANSPARENT_WRAPPERS.get(gipp)
    if wrapper:
        children = _element_children(root)
        if len(children) == 1 and local_name(children[0]) == wrapper:
            return children[0]
    return root


def _element_children(element: etree._Element) -> List[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _find_all(base: etree._Element, path: str) -> List[etree._Element]:
    found = [base]
    for step in path.split("/"):
        found = [c for e in found for c in _element_children(e) if local_name(c) == step]
    return found


def _text_of(element: etree._Element) -> str:
    """Element text, ignoring comments placed inside it."""
    parts = [element.text or ""] + [c.tail or "" for c in element]
    return "".join(parts)


def _read_param(base: etree._Element, param: Param, path: Path) -> Any:
    elements = _find_all(base, param.element_path)
    if not elements:
        return _MISSING
    try:
        if param.kind is Kind.PSD_SCHEMES:
            return tuple(_read_psd_scheme(e, param, path) for e in elements)
        if param.kind is Kind.FLOAT_LIST:
            items = []
            for index, element in enumerate(elements):
                text = _attribute(element, param, path) if param.attribute else _text_of(element)
                try:
                    items.append(parse_item(param, text))
                except ValueProblem as problem:
                    raise ConfigError(f"{param.path}[{index}] = {text!r} {problem}", path) from None
            return check_length(param, tuple(items))
        element = elements[0]
        text = _attribute(element, param, path) if param.attribute else _text_of(element)
        try:
            return parse_text(param, text)
        except ValueProblem as problem:
            raise ConfigError(f"{param.path} = {text.strip()!r} {problem}", path) from None
    except ValueProblem as problem:
        raise ConfigError(f"{param.path} {problem}", path) from None


def _attribute(element: etree._Element, param: Param, path: Path) -> str:
    value = element.get(param.attribute)
    if value is None:
        raise ConfigError(f"{param.element_path} lacks the attribute {param.attribute}", path)
    return value


def _read_psd_scheme(element: etree._Element, param: Param, path: Path) -> PsdScheme:
    children = {local_name(c): _text_of(c).strip() for c in _element_children(element)}
    missing = [name for name, _ in PSD_SCHEME_CHILDREN if name not in children]
    if missing:
        raise ConfigError(f"{param.path} lacks {', '.join(missing)}", path)
    scheme = PsdScheme(
        psd_version=(element.get("PSD_Version") or "").strip(),
        psd_reference=(element.get("PSD_Reference") or "").strip(),
        **{attr: children[name] for name, attr in PSD_SCHEME_CHILDREN},
    )
    try:
        return check_psd_scheme(scheme)
    except ValueProblem as problem:
        raise ConfigError(f"{param.path} {problem}", path) from None


def roi_problem(values: Mapping[str, Any]) -> Optional[str]:
    """Cross-field rule of Region_Of_Interest: a numeric midpoint needs both coordinates and a
    numeric, non-empty window (Sen2Cor cuts a rectangle around that point)."""
    row0, col0 = values.get("roi_row0"), values.get("roi_col0")
    numeric = [isinstance(v, int) for v in (row0, col0)]
    where = "Common_Section/Region_Of_Interest"
    if any(numeric) and not all(numeric):
        return (f"{where}: row0 = {str(row0)!r} and col0 = {str(col0)!r} must both be integers "
                f"when one of them is (or both OFF/AUTO)")
    if all(numeric):
        for name in ("nrow_win", "ncol_win"):
            window = values.get(f"roi_{name}")
            if not isinstance(window, int) or window <= 0:
                return (f"{where}/{name} = {str(window)!r} must be a positive integer divisible "
                        f"by 6 when row0/col0 give a midpoint")
    return None


def _known_paths(gipp: str) -> Set[str]:
    known: Set[str] = set()
    for param in params_of(gipp):
        parts = param.element_path.split("/")
        for i in range(1, len(parts) + 1):
            known.add("/".join(parts[:i]))
        if param.kind is Kind.PSD_SCHEMES:
            known.update(f"{param.element_path}/{name}" for name, _ in PSD_SCHEME_CHILDREN)
    return known


def _unknown_elements(base: etree._Element, gipp: str) -> List[str]:
    known = _known_paths(gipp)
    unknown: List[str] = []

    def walk(element: etree._Element, prefix: str) -> None:
        for child in _element_children(element):
            child_path = f"{prefix}{local_name(child)}"
            if child_path not in known:
                if child_path not in unknown:
                    unknown.append(child_path)
                continue
            walk(child, child_path + "/")

    walk(base, "")
    return unknown


def _older_declarations(values: Mapping[str, Any], gipp: str) -> List[str]:
    """Signs that a complete-looking file was written for an older release."""
    problems: List[str] = []
    if gipp == "L2A":
        have = {s.psd_version for s in values["psd_schemes"]}
        lacking = [s.psd_version for s in DEFAULT_PSD_SCHEMES if s.psd_version not in have]
        if lacking:
            problems.append(f"PSD_Scheme declares PSD versions {', '.join(sorted(have))} only; "
                            f"Sen2Cor {SEN2COR_VERSION} also knows {', '.join(lacking)}")
    if gipp == "PB" and values["idp_sc_version"] < SEN2COR_GIPP_VERSION:
        problems.append(f"declares Sen2Cor {values['idp_sc_version']}, older than "
                        f"{SEN2COR_GIPP_VERSION}")
    return problems


# ----------------------------------------------------------------------------------- writing

def gipp_xml_bytes(values: Mapping[str, Any], gipp: str) -> bytes:
    """The XML of one GIPP file holding `values` (Python name -> typed value)."""
    template = default_gipp_path(gipp)
    tree = parse_xml_file(template, ConfigError)
    base = _content_root(tree.getroot(), gipp)
    for param in params_of(gipp):
        _write_param(base, param, values[param.name], template)
    etree.indent(tree, space="    ")
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_gipp(values: Mapping[str, Any], gipp: str, path: PathLike) -> Path:
    """Write one GIPP file; returns its path."""
    path = Path(path)
    path.write_bytes(gipp_xml_bytes(values, gipp))
    return path


def _write_param(base: etree._Element, param: Param, value: Any, template: Path) -> None:
    elements = _find_all(base, param.element_path)
    if not elements:  # pragma: no cover - the shipped templates hold every element
        raise ConfigError(f"template lacks {param.element_path}", template)
    if param.kind is Kind.PSD_SCHEMES:
        _write_psd_schemes(elements, value)
        return
    if param.kind is Kind.FLOAT_LIST:
        if len(elements) != len(value):  # pragma: no cover - lengths are validated on load
            raise ConfigError(f"{param.path}: {len(value)} values for {len(elements)} elements",
                              template)
        for element, item in zip(elements, value):
            _set(element, param, item)
        return
    _set(elements[0], param, value)


def _set(element: etree._Element, param: Param, value: Any) -> None:
    current = element.get(param.attribute) if param.attribute else element.text
    if param.kind in (Kind.FLOAT, Kind.FLOAT_LIST) and same_number(current, value):
        return  # keep the template's spelling ("1.000", "0.00000")
    text = format_number(value) if param.kind is Kind.FLOAT_LIST else format_value(param, value)
    if param.attribute:
        element.set(param.attribute, text)
    else:
        element.text = text


def _write_psd_schemes(elements: List[etree._Element], schemes: Tuple[PsdScheme, ...]) -> None:
    parent = elements[0].getparent()
    index = parent.index(elements[0])
    for element in elements:
        parent.remove(element)
    for offset, scheme in enumerate(schemes):
        block = etree.Element("PSD_Scheme", PSD_Version=scheme.psd_version,
                              PSD_Reference=scheme.psd_reference)
        for name, attr in PSD_SCHEME_CHILDREN:
            etree.SubElement(block, name).text = getattr(scheme, attr)
        parent.insert(index + offset, block)
