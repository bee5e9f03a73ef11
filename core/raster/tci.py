"""True-colour image (TCI) and preview (PVI) of the L2A product (reference §9.8).

TCI: bands B04, B03, B02 (red, green, blue), each channel

    uint8(clip(v, 0, 2500) * 254 / 2500 + 1),   0 where the band's DN is NO_DATA (0),

computed in exact integer arithmetic (254 v // 2500 + 1, i.e. truncation) so valid pixels are
1..255 and 0 is reserved for NO_DATA. `v` is reflectance x 10000: the DN plus the band's additive
offset (-1000 in products of baseline 04.00 and later, 0 before), which keeps the appearance
independent of the baseline (the reference leaves open whether Sen2Cor >= 2.10 does this; see
§9.8). NO_DATA is decided per channel, as the reference states it.

PVI: the TCI resampled by nearest neighbour to 343 x 343 pixels over the tile extent (the L1C
preview's georeferencing box), written to QI_DATA.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

from .grid import Grid
from .resample import resize_nearest

TCI_BANDS: Tuple[str, str, str] = ("B04", "B03", "B02")
TCI_SATURATION = 2500          # reflectance x 10000 shown as full brightness
PVI_SIZE = 343


def tci_channel(dn: np.ndarray, offset: float = 0.0, nodata_value: int = 0) -> np.ndarray:
    """One TCI channel (uint8) from band DN and its additive offset (see module docstring)."""
    v = dn.astype(np.int32)
    if offset:
        v += int(round(offset))
    np.clip(v, 0, TCI_SATURATION, out=v)
    v *= 254
    v //= TCI_SATURATION
    v += 1
    out = v.astype(np.uint8)
    out[dn == nodata_value] = 0
    return out


def true_colour(red: np.ndarray, green: np.ndarray, blue: np.ndarray,
                offsets: Sequence[float] = (0.0, 0.0, 0.0), nodata_value: int = 0) -> np.ndarray:
    """(3, rows, cols) uint8 TCI from the B04, B03, B02 DN arrays (any window of them)."""
    out = np.empty((3,) + red.shape, dtype=np.uint8)
    for i, (dn, offset) in enumerate(zip((red, green, blue), offsets)):
        out[i] = tci_channel(dn, offset, nodata_value)
    return out


def true_colour_from(bands: Mapping[str, np.ndarray], offsets: Optional[Mapping[str, float]] = None,
                     nodata_value: int = 0, rows: Optional[slice] = None) -> np.ndarray:
    """TCI from a band -> DN mapping holding B04, B03, B02 (optionally a strip of rows)."""
    rows = rows or slice(None)
    offsets = offsets or {}
    return true_colour(*(bands[b][rows] for b in TCI_BANDS),
                       offsets=[offsets.get(b, 0.0) for b in TCI_BANDS], nodata_value=nodata_value)


def preview(tci: np.ndarray, size: int = PVI_SIZE) -> np.ndarray:
    """The (3, size, size) preview: nearest-neighbour resampling of a (3, rows, cols) TCI."""
    return np.ascontiguousarray(resize_nearest(tci, (size, size)))


def preview_grid(grid: Grid, size: int = PVI_SIZE) -> Grid:
    """Georeferencing of the preview: the tile extent divided into size x size pixels."""
    return grid.resized((size, size))
