"""Identity of a Level-1C input and of the Level-2A products made from it.

An L2A product name carries its generation time (`S2B_MSIL2A_<datatake>_N<pb>_R<orbit>_T<tile>_<gen>.SAFE`),
so an already converted product is recognised by its identity, not by its name: spacecraft,
datatake sensing start, relative orbit and tile (the *key*, read from the L1C name, or from its
metadata when the input was renamed), plus the output processing baseline.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Union

L1C_NAME = re.compile(
    r"^(?P<sc>S2[A-D])_MSIL1C_(?P<start>\d{8}T\d{6})_N(?P<pb>\d{4})_R(?P<orbit>\d{3})"
    r"_T(?P<tile>\w{5})_(?P<gen>\d{8}T\d{6})(\.SAFE)?(\.zip)?$", re.IGNORECASE)
L2A_NAME = re.compile(
    r"^(?P<sc>S2[A-D])_MSIL2A_(?P<start>\d{8}T\d{6})_N(?P<pb>\d{4})_R(?P<orbit>\d{3})"
    r"_T(?P<tile>\w{5})_(?P<gen>\d{8}T\d{6})\.SAFE$")
PARTIAL_MARK = ".partial-"          # core.product.atomic's temporary folders: '.<name>.partial-<hex>'
REPLACED_MARK = ".replaced-"        # --overwrite: the previous product, set aside until the new one is complete
L2A_MTD = "MTD_MSIL2A.xml"


def make_key(spacecraft: str, datatake_start: str, orbit: Union[int, str], tile: str) -> str:
    """'S2B_20230412T094504_R079_T34UDD'."""
    return f"{spacecraft.upper()}_{datatake_start}_R{int(orbit):03d}_T{tile.upper()}"


def key_from_l1c_name(name: str) -> Optional[str]:
    """Key of an L1C product from its file name (.SAFE, .zip, .SAFE.zip); None if not a standard name."""
    match = L1C_NAME.match(name)
    if not match:
        return None
    return make_key(match["sc"], match["start"], match["orbit"], match["tile"])


def key_from_metadata(path: Union[str, Path]) -> Optional[str]:
    """Key read from the product's metadata (for renamed inputs); None if it cannot be read."""
    try:
        from ..product.l1c_reader import read_l1c

        product = read_l1c(path)
        start = product.datatake_sensing_start
        if start.tzinfo is not None:
            start = start.astimezone(timezone.utc)
        return make_key(product.spacecraft, start.strftime("%Y%m%dT%H%M%S"),
                        product.sensing_orbit_number, product.granule.tile_number)
    except Exception:  # noqa: BLE001 - a corrupt input fails later, in its own task
        return None


@dataclass(frozen=True)
class L2AProduct:
    """An L2A product found in an output folder."""

    path: Path
    key: str
    baseline_tag: str        # 'N0211'
    generated: datetime      # UTC, from the name

    @property
    def name(self) -> str:
        return self.path.name


def parse_l2a_name(name: str) -> Optional[tuple]:
    """(key, baseline tag, generation time) of an L2A product name, None if not one."""
    match = L2A_NAME.match(name)
    if not match:
        return None
    generated = datetime.strptime(match["gen"], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    return make_key(match["sc"], match["start"], match["orbit"], match["tile"]), "N" + match["pb"], generated


def scan_output_dir(output_dir: Union[str, Path]) -> Dict[str, List[L2AProduct]]:
    """Complete L2A products of a folder by key (partial, hidden and metadata-less folders ignored)."""
    found: Dict[str, List[L2AProduct]] = {}
    try:
        entries = list(os.scandir(output_dir))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        parsed = parse_l2a_name(entry.name)
        if parsed is None or not entry.is_dir() or not os.path.isfile(os.path.join(entry.path, L2A_MTD)):
            continue
        key, tag, generated = parsed
        found.setdefault(key, []).append(L2AProduct(Path(entry.path), key, tag, generated))
    for products in found.values():
        products.sort(key=lambda p: (p.generated, p.name))
    return found


def matching_products(output_dir: Union[str, Path], key: Optional[str], baseline_tag: Optional[str],
                      scanned: Optional[Dict[str, List[L2AProduct]]] = None) -> List[L2AProduct]:
    """The complete L2A products of `output_dir` made from the L1C `key` with `baseline_tag`
    (any baseline when None), oldest first."""
    if key is None:
        return []
    products = (scanned if scanned is not None else scan_output_dir(output_dir)).get(key, [])
    return [p for p in products if baseline_tag is None or p.baseline_tag == baseline_tag]


def remove_stale_partials(output_dir: Union[str, Path], key: Optional[str]) -> List[str]:
    """Remove temporary folders left by a killed attempt at the product `key`; returns their names.

    The atomic writer removes its temporary folder on any error; only a killed process (SIGKILL,
    out of memory, node lost) leaves one behind. One batch per output folder is assumed.
    """
    if key is None:
        return []
    sc, start, orbit, tile = key.split("_")
    prefix = f".{sc}_MSIL2A_{start}_"
    suffix = f"_{orbit}_{tile}_"
    removed = []
    try:
        entries = list(os.scandir(output_dir))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        if entry.name.startswith(prefix) and PARTIAL_MARK in entry.name and suffix in entry.name:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def set_aside(product_dir: Path, token: str) -> Path:
    """Rename a product to be replaced (--overwrite) to a hidden name until the new one is complete."""
    aside = product_dir.with_name(f".{product_dir.name}{REPLACED_MARK}{token[:8]}")
    os.rename(product_dir, aside)
    return aside


def restore_set_aside(output_dir: Union[str, Path], key: Optional[str]) -> List[str]:
    """Put back products that a killed --overwrite attempt had set aside; returns their names."""
    if key is None:
        return []
    restored = []
    try:
        entries = list(os.scandir(output_dir))
    except (FileNotFoundError, NotADirectoryError):
        return restored
    for entry in entries:
        if not entry.name.startswith(".") or REPLACED_MARK not in entry.name:
            continue
        original = entry.name[1:].split(REPLACED_MARK, 1)[0]
        parsed = parse_l2a_name(original)
        if parsed is None or parsed[0] != key:
            continue
        target = os.path.join(os.path.dirname(entry.path), original)
        if os.path.lexists(target):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.rename(entry.path, target)
            restored.append(original)
    return restored
