"""The folders the PDGS modes are given: checked before anything is written.

Datastrip and tile folders come in two namings (reference §8.2, §3.3): the ground segment's
standard one (S2B_OPER_MSI_L1C_DS_..., S2B_OPER_MSI_L1C_TL_..., metadata S2B_OPER_MTD_L1C_DS_...
.xml) and the compact one found inside user products (DS_..., L1C_T..., MTD_DS.xml,
MTD_TL.xml). Every refusal is one line naming the option and the path.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Pattern, Tuple, Union

from ..errors import ProductError
from ..product.model import BAND_NAMES

L1C_DATASTRIP_NAME = re.compile(r"^(S2[A-D_]_OPER_MSI_L1C_DS|DS_)")
L2A_DATASTRIP_NAME = re.compile(r"^(S2[A-D_]_OPER_MSI_L2A_DS|DS_)")
L1C_TILE_NAME = re.compile(r"^(S2[A-D_]_OPER_MSI_L1C_TL|L1C_T)")
DATASTRIP_MTD = re.compile(r"^(MTD_DS|S2[A-D_]_OPER_MTD_L(1C|2A)_DS_.*)\.xml$", re.IGNORECASE)
TILE_MTD = re.compile(r"^(MTD_TL|S2[A-D_]_OPER_MTD_L1C_TL_.*)\.xml$", re.IGNORECASE)
_BAND_FILE = re.compile(r"_(B0[1-9]|B1[0-2]|B8A|TCI)\.(jp2|tif)$", re.IGNORECASE)

PathLike = Union[str, Path]


def folder(path: PathLike, option: str) -> Path:
    """An existing folder given with --<option>, as an absolute path."""
    p = Path(path).expanduser().absolute()
    if not p.exists():
        raise ProductError(f"--{option}: no such folder", p)
    if not p.is_dir():
        raise ProductError(f"--{option}: expected a folder, this is a file", p)
    return p


def _named(p: Path, pattern: Pattern[str], option: str, expected: str) -> None:
    if not pattern.match(p.name):
        raise ProductError(f"--{option}: folder name must match {expected}", p)


def metadata_file(where: Path, pattern: Pattern[str], expected: str, option: str) -> Path:
    """The one metadata file of a datastrip or tile folder."""
    hits = sorted(p for p in where.iterdir() if p.is_file() and pattern.match(p.name))
    if not hits:
        raise ProductError(f"--{option}: the folder holds no {expected}", where)
    if len(hits) > 1:
        raise ProductError(f"--{option}: the folder holds {len(hits)} metadata files "
                           f"({', '.join(p.name for p in hits)}), expected one {expected}", where)
    return hits[0]


def l1c_datastrip(path: PathLike, option: str = "datastrip") -> Tuple[Path, Path]:
    """(folder, metadata file) of an L1C datastrip (S2?_OPER_MSI_L1C_DS* or DS_*)."""
    p = folder(path, option)
    _named(p, L1C_DATASTRIP_NAME, option, "S2?_OPER_MSI_L1C_DS* or DS_* (an L1C datastrip)")
    return p, metadata_file(p, DATASTRIP_MTD, "MTD_DS.xml", option)


def l2a_datastrip(path: PathLike, option: str = "datastrip") -> Tuple[Path, Path]:
    """(folder, metadata file) of an L2A datastrip made by --mode generate_datastrip."""
    p = folder(path, option)
    _named(p, L2A_DATASTRIP_NAME, option,
           "S2?_OPER_MSI_L2A_DS* or DS_* (the L2A datastrip made by --mode generate_datastrip)")
    return p, metadata_file(p, DATASTRIP_MTD, "MTD_DS.xml", option)


def l1c_tile(path: PathLike, option: str = "tile") -> Tuple[Path, Path]:
    """(folder, metadata file) of an L1C tile (S2?_OPER_MSI_L1C_TL* or L1C_T*)."""
    p = folder(path, option)
    _named(p, L1C_TILE_NAME, option, "S2?_OPER_MSI_L1C_TL* or L1C_T* (an L1C tile)")
    return p, metadata_file(p, TILE_MTD, "MTD_TL.xml", option)


def band_files(tile: Path, option: str = "tile") -> Dict[str, Path]:
    """Band name ('B01' ... 'B12', 'B8A', 'TCI') -> image file in the tile's IMG_DATA, found by
    the band suffix of the file name, so that both namings work. Every spectral band is needed."""
    img = tile / "IMG_DATA"
    if not img.is_dir():
        raise ProductError(f"--{option}: the tile has no IMG_DATA folder", tile)
    found: Dict[str, Path] = {}
    for p in sorted(img.iterdir()):
        m = _BAND_FILE.search(p.name)
        if m and p.is_file():
            band = m.group(1).upper()
            if band in found:
                raise ProductError(f"--{option}: two image files for band {band} "
                                   f"({found[band].name}, {p.name})", img)
            found[band] = p
    missing = [b for b in BAND_NAMES if b not in found]
    if missing:
        raise ProductError(f"--{option}: no image file for band(s) {', '.join(missing)}", img)
    return found
