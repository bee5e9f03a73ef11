"""Granule QI_DATA quality masks: locating them and reading the raster ones.

Baselines < 04.00 ship GML vector masks (MSK_CLOUDS_B00, MSK_DEFECT/DETFOO/NODATA/SATURA/TECQUA_Bxx;
before compact naming also long names 'S2A_OPER_MSK_DEFECT_SGS__..._B01_MSIL1C.gml', listed in
MTD_TL.xml as bare file names). Baselines >= 04.00 ship JPEG 2000 rasters: MSK_CLASSI_B00 (layers
opaque clouds, cirrus, snow/ice), MSK_QUALIT_Bxx (8 layers, below) and MSK_DETFOO_Bxx (detector
index per pixel). Raster masks are read windowed on their own grid, like bands.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple, Union

import numpy as np

from ..errors import ProductError
from .gdalio import Window, check_window, open_raster, read_window
from .model import QualityMask

if TYPE_CHECKING:
    from .container import SafeContainer
    from .metadata_tile import MaskEntry
    from .model import Granule

log = logging.getLogger(__name__)

CLASSI_LAYERS: Tuple[str, ...] = ("OPAQUE", "CIRRUS", "SNOW_ICE")
QUALIT_LAYERS: Tuple[str, ...] = (
    "ANC_LOST", "ANC_DEG", "MSI_LOST", "MSI_DEG", "QT_DEFECTIVE_PIXELS", "QT_NODATA_PIXELS",
    "QT_PARTIALLY_CORRECTED_PIXELS", "QT_SATURATED_PIXELS",
)
_LAYERS = {"MSK_CLASSI": CLASSI_LAYERS, "MSK_QUALIT": QUALIT_LAYERS}
_MASK_NAME = re.compile(r"MSK_([A-Z]{6})_(?:.*_)?(B(?:\d{2}|8A))(?:_MSIL1C)?\.(gml|jp2)$", re.IGNORECASE)


def mask_kind(filename: str) -> Optional[Tuple[str, Optional[str]]]:
    """(mask type, band or None for B00) of a mask file name, short or old long form."""
    m = _MASK_NAME.search(filename.rsplit("/", 1)[-1])
    if not m:
        return None
    band = m.group(2).upper()
    return f"MSK_{m.group(1).upper()}", (None if band == "B00" else band)


def resolve_quality_masks(container: "SafeContainer", granule_rel: str,
                          entries: Iterable["MaskEntry"]) -> List[QualityMask]:
    """QualityMask objects for the MTD_TL entries whose files exist.

    Entries starting with 'GRANULE/' are relative to the .SAFE folder; bare (old long) names live
    in the granule's QI_DATA. A listed file that is missing is logged and left out (the masks are
    not needed to process). Without any entry, QI_DATA is scanned for MSK_* files instead.
    """
    masks: List[QualityMask] = []
    missing: List[str] = []
    entries = list(entries)
    for entry in entries:
        rel = entry.filename if "/" in entry.filename else f"{granule_rel}/QI_DATA/{entry.filename}"
        rel = container.check_rel(rel)
        if not container.is_file(rel):
            missing.append(container.gdal_path(rel))
            continue
        mask_type = entry.mask_type or (mask_kind(rel) or ("", None))[0]
        masks.append(QualityMask(mask_type, entry.band, container.gdal_path(rel), rel.lower().endswith(".jp2")))
    if missing:
        log.warning("%d of the %d quality masks listed in MTD_TL.xml are missing, e.g. %s",
                    len(missing), len(entries), missing[0])
    if not entries:
        qi = f"{granule_rel}/QI_DATA"
        for name in container.listdir(qi):
            kind = mask_kind(name)
            if kind:
                masks.append(QualityMask(kind[0], kind[1], container.gdal_path(f"{qi}/{name}"),
                                         name.lower().endswith(".jp2")))
    return masks


def find_mask(granule: "Granule", mask_type: str, band: Optional[str] = None) -> Optional[QualityMask]:
    """The granule's mask of a type ('MSK_CLASSI', 'MSK_QUALIT', ...) and band (None for B00)."""
    for mask in granule.quality_masks:
        if mask.mask_type == mask_type and mask.band == band:
            return mask
    return None


def gml_mask_paths(granule: "Granule", mask_type: Optional[str] = None,
                   band: Optional[str] = None) -> List[str]:
    """GDAL-openable paths of the granule's GML masks, optionally of one type and/or band."""
    return [m.path for m in granule.quality_masks
            if not m.raster and (mask_type is None or m.mask_type == mask_type)
            and (band is None or m.band == band)]


def layer_index(mask: QualityMask, layer: Union[int, str]) -> int:
    """1-based raster band of a layer given by number or name ('CIRRUS', 'QT_SATURATED_PIXELS')."""
    if isinstance(layer, int):
        return layer
    names = _LAYERS.get(mask.mask_type, ())
    if layer.upper() not in names:
        raise ValueError(f"{mask.mask_type} has no layer '{layer}' (layers: {', '.join(names) or 'numbered'})")
    return names.index(layer.upper()) + 1


def read_mask(mask: QualityMask, layer: Union[int, str] = 1, window: Optional[Window] = None) -> np.ndarray:
    """One layer of a raster quality mask (uint8) in a window of the mask's own grid."""
    if not mask.raster:
        raise ProductError(f"{mask.mask_type} is a GML vector mask, not a raster", mask.path)
    dataset = open_raster(mask.path, f"quality mask {mask.mask_type}")
    try:
        win = check_window(window, dataset.RasterYSize, dataset.RasterXSize)
        data = read_window(dataset, mask.path, layer_index(mask, layer), win)
    finally:
        dataset = None
    return data.astype(np.uint8, copy=False)
