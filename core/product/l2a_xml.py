"""Small lxml helpers shared by the L2A metadata writers.

Sentinel-2 metadata qualify only the root and its top-level sections with the `n1` namespace;
everything below is unqualified. These helpers build and copy elements in that style, parse only
through core.xmlsafe, and write files atomically (temporary file + rename) so that an update of an
existing product's metadata can never leave a truncated file.
"""
from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Iterable, Optional, Union

from lxml import etree

from ..errors import ProductError
from ..xmlsafe import find_local, findall_local, local_name, parse_xml_bytes, parse_xml_file

XSI = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_PSD = 14
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'


def psd_namespace(psd: int, schema: str) -> str:
    """'https://psd-14.sentinel2.eo.esa.int/PSD/<schema>' for a PSD major version."""
    return f"https://psd-{int(psd)}.sentinel2.eo.esa.int/PSD/{schema}"


def psd_major(psd_version: Union[str, int, None]) -> int:
    """Major PSD number from '14', '14.9', 15 or None (-> 14, the version Sen2Cor 2.11 writes)."""
    if psd_version is None or str(psd_version).strip() == "":
        return DEFAULT_PSD
    text = str(psd_version).strip().lower().replace("psd-", "")
    try:
        major = int(float(text)) if "." in text else int(text)
    except ValueError:
        raise ProductError(f"invalid PSD version '{psd_version}' (expected e.g. 14 or 14.9)") from None
    if major not in (14, 15):
        raise ProductError(f"PSD version {psd_version} is not supported for writing (14 or 15)")
    return major


def new_root(namespace: str, local: str) -> etree._Element:
    """Root element 'n1:<local>' with the namespace as its own schemaLocation (as ESA writes it)."""
    root = etree.Element(etree.QName(namespace, local), nsmap={"n1": namespace, "xsi": XSI})
    root.set(etree.QName(XSI, "schemaLocation"), namespace)
    return root


def section(root: etree._Element, local: str, **attrib: str) -> etree._Element:
    """A top-level 'n1:' section under the root."""
    return etree.SubElement(root, etree.QName(etree.QName(root).namespace, local), attrib)


def sub(parent: etree._Element, tag: str, text: Optional[object] = None, **attrib: str) -> etree._Element:
    """Unqualified child element with optional text and attributes."""
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        element.text = str(text)
    return element


def copied(element: etree._Element) -> etree._Element:
    """Deep copy of an element (tail dropped), to be inserted in another document."""
    clone = copy.deepcopy(element)
    clone.tail = None
    return clone


def copy_children(source: Optional[etree._Element], target: etree._Element,
                  skip: Iterable[str] = ()) -> None:
    """Copy every child element of `source` into `target`, except local names in `skip`."""
    if source is None:
        return
    skipped = set(skip)
    for child in source:
        if isinstance(child.tag, str) and local_name(child) not in skipped:
            target.append(copied(child))


def retag_namespace(element: etree._Element, old: Optional[str], new: str) -> None:
    """Move every element of namespace `old` in a subtree to namespace `new` (L1C -> L2A sections)."""
    for node in element.iter():
        if isinstance(node.tag, str) and etree.QName(node).namespace == old:
            node.tag = etree.QName(new, etree.QName(node).localname)


def text_of(root: etree._Element, path: str, default: Optional[str] = None) -> Optional[str]:
    found = find_local(root, path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def set_text(root: etree._Element, path: str, value: object) -> bool:
    """Set the text of the element at a local-name path; False when it is absent."""
    found = find_local(root, path)
    if found is None:
        return False
    found.text = str(value)
    return True


def parse_bytes(data: bytes, where: Union[str, Path]) -> etree._Element:
    return parse_xml_bytes(data, where, ProductError).getroot()


def parse_file(path: Union[str, Path]) -> etree._Element:
    return parse_xml_file(path, ProductError).getroot()


def to_bytes(root: etree._Element) -> bytes:
    """Indented UTF-8 document with ESA's XML declaration."""
    tree = copy.deepcopy(root)
    etree.indent(tree, space="  ")
    etree.cleanup_namespaces(tree)
    return XML_DECLARATION + etree.tostring(tree, encoding="UTF-8") + b"\n"


def write_xml(root: etree._Element, path: Union[str, Path]) -> Path:
    """Write a document atomically: a crash leaves either the old or the new file, never a mix."""
    path = Path(path)
    data = to_bytes(root)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


__all__ = [
    "XSI", "psd_namespace", "psd_major", "new_root", "section", "sub", "copied", "copy_children",
    "retag_namespace", "text_of", "set_text", "parse_bytes", "parse_file", "to_bytes", "write_xml",
    "find_local", "findall_local", "local_name",
]
