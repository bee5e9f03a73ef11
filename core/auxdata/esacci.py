"""ESA CCI layers on the tile grid (reference §2.2, §7.4) for the scene classification.

| layer           | file (Sen2Cor's name, in the auxiliary-data folder)                   | resampling   |
|-----------------|------------------------------------------------------------------------|--------------|
| water bodies    | ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif (1 land, 2 water, 0 none)  | cubic spline |
| land cover      | ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif (LCCS classes)          | nearest      |
| snow condition  | <ESACCI_SnowCondition_Map_Dir>/ESACCI-LC-L4-Snow-Cond-AggOcc-500m-     | nearest      |
|                 | MONTHLY-2000-2012-2000<MM>*-2.4.tif (occurrence; 254 water, 255 none)  |              |

The file names default to the L2A_CAL_SC_GIPP values (`cfg.sc.esacci_*`). The global rasters are
never read whole: `gdal.Warp` reads the window under the tile (also across the antimeridian).
Cubic spline on the categorical water-bodies map gives a smoothed 1..2 surface; it is rounded
back to the codes (so the water/land border is where the smoothed value crosses 1.5).

Missing files are tolerated as in Sen2Cor: the layer is None and `messages` says what the scene
classification loses (also logged as a warning).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
from osgeo import gdal

from ..product.model import TileGeocoding
from .geo import GdalCallError, gdal_call, tile_grid, warp_to_grid

log = logging.getLogger(__name__)

WATERBODIES_MAP = "ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif"
LANDCOVER_MAP = "ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif"
SNOWCONDITION_DIR = "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4"

LOST = {
    "landcover": "the urban, bare-soil and land-pixel recoveries of the scene classification are skipped",
    "waterbodies": "the water recovery and the land mask for statistics rely on the spectral tests only",
    "snow_condition": "the snow-climatology filter (CCI water rule and, in evolution mode, the per-pixel "
                      "snow occurrence gate) is skipped",
}


@dataclass
class CciLayers:
    """ESA CCI layers on one tile grid (uint8, rows x cols), None where the file is absent."""

    resolution: int
    landcover: Optional[np.ndarray] = None
    waterbodies: Optional[np.ndarray] = None
    snow_condition: Optional[np.ndarray] = None
    files: Dict[str, str] = field(default_factory=dict)      # layer -> file used
    messages: List[str] = field(default_factory=list)        # one line per absent/unreadable layer

    @property
    def complete(self) -> bool:
        return self.landcover is not None and self.waterbodies is not None and self.snow_condition is not None


def snow_condition_file(folder: Path, month: int) -> Optional[Path]:
    """The month's snow-condition raster in `folder` (…-2000<MM>…tif), or None."""
    if not folder.is_dir():
        return None
    pattern = re.compile(rf"-2000{month:02d}(\d\d)?[-_.].*\.tiff?$", re.IGNORECASE)
    hits = sorted(p for p in folder.iterdir() if p.is_file() and "snow" in p.name.lower() and pattern.search(p.name))
    return hits[0] if hits else None


def _warp_layer(path: Path, geocoding: TileGeocoding, resolution: int, resampling: str,
                fill: int) -> np.ndarray:
    ds = gdal_call(f"cannot open {path}", gdal.OpenEx, str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    if ds.GetSpatialRef() is None:
        raise GdalCallError(f"{path} has no coordinate system")
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    grid = tile_grid(geocoding, resolution)
    data = warp_to_grid(ds, grid, resampling, src_nodata=nodata, dst_nodata=float(fill),
                        output_type=gdal.GDT_Float32)
    return np.clip(np.rint(data), 0, 255).astype(np.uint8)


def load_esacci(geocoding: TileGeocoding, resolution: int, aux_dir: Optional[Union[str, Path]], month: int, *,
                landcover_map: str = LANDCOVER_MAP, waterbodies_map: str = WATERBODIES_MAP,
                snowcondition_dir: str = SNOWCONDITION_DIR,
                logger: Optional[logging.Logger] = None) -> CciLayers:
    """Crop and resample the three ESA CCI layers to the tile grid of `resolution`.

    aux_dir: Sen2Cor's auxiliary-data folder (`<installation>/aux_data`); None: all absent.
    month: month of sensing (1-12) for the snow-condition file.
    """
    lg = logger or log
    out = CciLayers(resolution)
    folder = Path(aux_dir) if aux_dir else None
    specs = (
        ("waterbodies", folder / waterbodies_map if folder else None, "cubicspline", 0),
        ("landcover", folder / landcover_map if folder else None, "near", 0),
        ("snow_condition", snow_condition_file(folder / snowcondition_dir, month) if folder else None, "near", 255),
    )
    for layer, path, resampling, fill in specs:
        if path is None or not path.is_file():
            where = (str(path) if path is not None else
                     (f"{folder / snowcondition_dir} (month {month:02d})" if folder else "no auxiliary-data folder"))
            msg = f"ESA CCI {layer.replace('_', ' ')} map not found ({where}): {LOST[layer]}"
            out.messages.append(msg)
            lg.warning(msg)
            continue
        try:
            setattr(out, layer, _warp_layer(path, geocoding, resolution, resampling, fill))
            out.files[layer] = str(path)
        except GdalCallError as exc:
            msg = f"ESA CCI {layer.replace('_', ' ')} map unreadable ({exc}): {LOST[layer]}"
            out.messages.append(msg)
            lg.warning(msg)
    return out
