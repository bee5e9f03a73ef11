"""Expand what the user names into the list of Level-1C products to convert.

An input is a .SAFE folder, a .zip of one, an MTD_MSIL1C.xml (its folder is the product), a glob
pattern, a folder (searched recursively for Level-1C products; Level-2A products, hidden and
temporary folders are skipped and a .SAFE is never entered), or a text file listing any of
these, one per line (lines starting with '#' are comments; relative paths are relative to the list file).
The same product given twice (same path, or the .SAFE and the .zip of one product) is kept once.
"""
from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Set, Union

from .common import BatchError
from .products import L1C_NAME, key_from_l1c_name

log = logging.getLogger(__name__)
MTD_L1C = "MTD_MSIL1C.XML"
_GLOB_CHARS = set("*?[")
_MAX_LIST_DEPTH = 8


@dataclass(frozen=True)
class L1CInput:
    """One product to convert: its absolute path, product name and identity key (None: unknown)."""

    path: str
    name: str
    key: Optional[str]


def product_name(path: Union[str, Path]) -> str:
    """'S2B_MSIL1C_..._20230412T115139' for '.SAFE', '.zip' and '.SAFE.zip' inputs alike."""
    name = Path(path).name
    for suffix in (".zip", ".ZIP", ".SAFE", ".safe"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _is_product_dir(path: Path) -> bool:
    return path.suffix.upper() == ".SAFE" or (path / "MTD_MSIL1C.xml").is_file()


def _is_l1c_name(name: str) -> bool:
    return "MSIL1C" in name.upper()


def _search_folder(folder: Path) -> Iterable[Path]:
    """Level-1C products under `folder` (sorted walk, never entering a .SAFE)."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        keep = []
        for d in dirs:
            if d.startswith("."):
                continue                      # hidden, and the atomic writer's temporary folders
            if d.upper().endswith(".SAFE"):
                if _is_l1c_name(d):
                    yield Path(root) / d
                continue                      # never search inside a product (L1C or L2A)
            keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            if f.lower().endswith(".zip") and _is_l1c_name(f) and not f.startswith("."):
                yield Path(root) / f


def _read_list(path: Path) -> List[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BatchError(f"cannot read the list of inputs ({exc.strerror})", path) from None
    if b"\0" in data[:4096]:
        raise BatchError("not a product, a folder or a text file listing products", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BatchError("list of inputs is not UTF-8 text", path) from None
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(line)
    return entries


class _Expander:
    def __init__(self) -> None:
        self.found: List[Path] = []
        self.warnings: List[str] = []

    def add(self, item: str, base: Optional[Path], depth: int, strict: bool) -> None:
        text = os.path.expandvars(os.path.expanduser(item.strip()))
        if base is not None and not os.path.isabs(text):
            text = str(base / text)
        if _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                self.warnings.append(f"{item}: no file matches this pattern")
            for match in matches:
                self._add_path(Path(match), depth, strict=False, from_glob=True)
            return
        self._add_path(Path(text), depth, strict, from_glob=False)

    def _add_path(self, path: Path, depth: int, strict: bool, from_glob: bool) -> None:
        if not os.path.lexists(path):
            if strict:
                raise BatchError("input not found", path)
            self.found.append(path)           # listed but missing: fails alone, recorded
            return
        if path.is_dir():
            if _is_product_dir(path):
                if "MSIL2A" in path.name.upper():
                    self.warnings.append(f"{path}: a Level-2A product, skipped")
                else:
                    self.found.append(path)
            else:
                self.found.extend(_search_folder(path))
            return
        name = path.name
        if name.upper() == MTD_L1C:
            self.found.append(path.parent)
        elif name.lower().endswith(".zip"):
            if "MSIL2A" in name.upper():
                self.warnings.append(f"{path}: a Level-2A product, skipped")
            else:
                self.found.append(path)
        elif from_glob:
            return                            # a glob also matches unrelated files: ignore them
        else:
            if depth >= _MAX_LIST_DEPTH:
                raise BatchError("lists of inputs nested too deeply", path)
            for entry in _read_list(path):
                self.add(entry, path.parent, depth + 1, strict=False)


def _l1c_baseline(name: str) -> str:
    match = L1C_NAME.match(name)
    return match["pb"] if match else ""


def _one_per_key(items: List[L1CInput], warnings: List[str]) -> List[L1CInput]:
    """Two L1C products of one datatake, orbit and tile (a reprocessing with another L1C
    baseline) would make the same L2A product: keep the most recent L1C baseline."""
    best = {}
    for item in items:
        if item.key is None:
            continue
        kept = best.get(item.key)
        if kept is None or _l1c_baseline(item.name) > _l1c_baseline(kept.name):
            best[item.key] = item
    result = []
    for item in items:
        if item.key is not None and best[item.key] is not item:
            warnings.append(f"{item.path}: same datatake, orbit and tile as {best[item.key].path} "
                            "(another L1C processing baseline); only that one is converted")
            continue
        result.append(item)
    return result


def expand_inputs(items: Sequence[Union[str, Path]], warnings: Optional[List[str]] = None) -> List[L1CInput]:
    """The products named by `items`, in order, each once. Raises BatchError when a path given
    directly does not exist or nothing is found; paths inside list files that do not exist are
    kept (their conversion fails alone and is recorded). Problems that do not stop the batch are
    appended to `warnings` (and logged)."""
    expander = _Expander()
    for item in items:
        expander.add(str(item), None, 0, strict=True)
    result: List[L1CInput] = []
    seen_paths: Set[str] = set()
    seen_names = {}
    for path in expander.found:
        absolute = os.path.abspath(path)
        real = os.path.realpath(absolute)
        if real in seen_paths:
            continue
        seen_paths.add(real)
        name = product_name(absolute)
        if name in seen_names:
            expander.warnings.append(f"{absolute}: same product as {seen_names[name]}, given once")
            continue
        seen_names[name] = absolute
        result.append(L1CInput(path=absolute, name=name, key=key_from_l1c_name(name)))
    result = _one_per_key(result, expander.warnings)
    for message in expander.warnings:
        log.warning(message)
    if warnings is not None:
        warnings.extend(expander.warnings)
    if not result:
        raise BatchError("no Level-1C product found in the inputs given")
    return result
