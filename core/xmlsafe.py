"""Safe XML parsing for every metadata and configuration file.

Product and configuration files come from users and archives; the parser must never resolve
external entities, load a DTD or touch the network (XXE, billion-laughs), whatever the file says.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

from lxml import etree

from .errors import Sen2CorError

_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def safe_parser() -> etree.XMLParser:
    """A fresh lxml parser that refuses entities, DTDs and network access."""
    return etree.XMLParser(**_PARSER_OPTIONS)


def _reject_doctype_entities(tree: etree._ElementTree, where: str, error_type: type) -> None:
    docinfo = tree.docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.system_url:
        raise error_type("XML declares a DOCTYPE/entities, refused for safety", where)


def parse_xml_bytes(data: bytes, where: Union[str, Path], error_type: type = Sen2CorError) -> etree._ElementTree:
    """Parse XML held in memory; errors name `where` (the file the bytes came from)."""
    if not data.strip():
        raise error_type("file is empty", where)
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise error_type(f"malformed XML ({exc.msg}, line {exc.lineno})", where) from None
    tree = root.getroottree()
    _reject_doctype_entities(tree, str(where), error_type)
    return tree


def parse_xml_file(path: Union[str, Path], error_type: type = Sen2CorError) -> etree._ElementTree:
    """Parse an XML file from disk with the safe parser."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error_type("file not found", path) from None
    except IsADirectoryError:
        raise error_type("is a folder, expected an XML file", path) from None
    except OSError as exc:
        raise error_type(f"cannot read file ({exc.strerror})", path) from None
    return parse_xml_bytes(data, path, error_type)


def local_name(element: etree._Element) -> str:
    """Element tag without its namespace."""
    return etree.QName(element).localname


def find_local(element: etree._Element, path: str) -> "etree._Element | None":
    """Find by a '/'-separated path of local names, ignoring namespaces (PSD 12/14/15 differ)."""
    found = element.xpath(_local_xpath(path))
    return found[0] if found else None


def findall_local(element: etree._Element, path: str) -> list:
    """All matches of a '/'-separated local-name path; './/' prefixes search at any depth."""
    return list(element.xpath(_local_xpath(path)))


def _local_xpath(path: str) -> str:
    deep = path.startswith(".//")
    parts = [p for p in path.lstrip("./").split("/") if p]
    steps = [f"*[local-name()='{p}']" for p in parts]
    return (".//" if deep else "./") + "/".join(steps)
