"""Files the L2A product takes over from the L1C: quality masks and reports, AUX_DATA, datastrip QI.

Sources may be plain paths or GDAL /vsizip/ paths (zipped L1C); see l2a_files. Old long names are
shortened as Sen2Cor does (masks -> MSK_<TYPE>_B<xx>.gml, S2?_OPER_AUX_ECMWFT_* -> AUX_ECMWFT).
The L1C preview (PVI) is not copied: the L2A preview is written by processing under the same name.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Dict, List, Optional

from .l2a_files import basename, copy_file, is_file, join, list_dir
from .l2a_tile_mtd import l2a_mask_name
from .model import L1CProduct

log = logging.getLogger(__name__)
AUX_TYPES = ("AUX_ECMWFT", "AUX_CAMSFO")
_AUX_NAME = re.compile(r"^(?:S2._OPER_)?(?P<type>AUX_ECMWFT|AUX_CAMSFO)(?:_.*)?$")


def aux_target_name(name: str) -> Optional[str]:
    """'AUX_ECMWFT' / 'AUX_CAMSFO' for an L1C AUX_DATA file name (short or long form), else None."""
    match = _AUX_NAME.match(name)
    return match.group("type") if match else None


def _is_pvi(name: str, product: L1CProduct) -> bool:
    pvi = basename(product.granule.pvi_path) if product.granule.pvi_path else None
    return name == pvi or name.split(".")[0].endswith("_PVI")


def granule_qi_sources(product: L1CProduct) -> Dict[str, str]:
    """L2A QI_DATA name -> L1C source path: everything in the L1C granule QI_DATA except the PVI,
    plus the reader's quality masks (in case the folder cannot be listed)."""
    folder = join(product.granule.path, "QI_DATA")
    sources: Dict[str, str] = {}
    for name in list_dir(folder):
        path = join(folder, name)
        if not _is_pvi(name, product) and is_file(path):
            sources[l2a_mask_name(name)] = path
    for mask in product.granule.quality_masks:
        sources.setdefault(l2a_mask_name(basename(mask.path)), mask.path)
    return sources


def copy_granule_qi(product: L1CProduct, target_dir: Path) -> List[str]:
    """Copy the L1C masks and quality reports into the L2A granule QI_DATA; returns the names."""
    copied = []
    for name, source in sorted(granule_qi_sources(product).items()):
        copy_file(source, target_dir / name)
        copied.append(name)
    log.debug("copied %d L1C QI files", len(copied))
    return copied


def copy_aux_data(product: L1CProduct, target_dir: Path) -> List[str]:
    """Copy AUX_ECMWFT and AUX_CAMSFO (renamed to their short names) into the L2A AUX_DATA."""
    folder = join(product.granule.path, "AUX_DATA")
    sources: Dict[str, str] = {}
    for name in list_dir(folder):
        kind = aux_target_name(name)
        if kind and kind not in sources and is_file(join(folder, name)):
            sources[kind] = join(folder, name)
    for path in (product.granule.auxiliary.ecmwft_path, product.granule.auxiliary.camsfo_path):
        kind = aux_target_name(basename(path)) if path else None
        if kind:
            sources.setdefault(kind, path)
    for kind, source in sorted(sources.items()):
        copy_file(source, target_dir / kind)
    return sorted(sources)


def copy_datastrip_qi(product: L1CProduct, target_dir: Path) -> List[str]:
    """Copy the L1C datastrip QI_DATA reports (*.xml) into the L2A datastrip QI_DATA."""
    if not product.datastrip_path:
        return []
    folder = join(product.datastrip_path, "QI_DATA")
    names = [n for n in list_dir(folder) if n.lower().endswith(".xml") and is_file(join(folder, n))]
    for name in names:
        copy_file(join(folder, name), target_dir / name)
    return names
