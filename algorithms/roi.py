"""Region of interest on the tile's 10 m grid: checks and conversion from map coordinates.

Sen2Cor's Region_Of_Interest gives the **midpoint** (row0, col0) and the size (nrow_win,
ncol_win) of a window in 10 m pixels, every value divisible by 6 so that the window maps onto
the 20 m and 60 m grids. The window covers rows row0 - nrow_win/2 ... row0 + nrow_win/2 - 1.

A map extent (or the bounding box of polygons) is converted by covering it with 10 m pixels,
widening to whole 60 m pixels, and making each side a multiple of 12 pixels (so that the midpoint
falls on the 60 m grid too), clipped to the tile. This module does not import QGIS: the
algorithm reprojects the extent into the tile's CRS first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from ..core.config.values import ROI_DIVISOR, ROI_MAX

RESOLUTION = 10.0


class RoiError(ValueError):
    """A region of interest that cannot be used; the text is a complete sentence."""


@dataclass(frozen=True)
class RoiWindow:
    """A window on the 10 m grid, in Sen2Cor's terms."""

    row0: int
    col0: int
    nrow_win: int
    ncol_win: int

    @property
    def first_row(self) -> int:
        return self.row0 - self.nrow_win // 2

    @property
    def first_col(self) -> int:
        return self.col0 - self.ncol_win // 2

    def overrides(self) -> Dict[str, int]:
        """The L2A_GIPP Region_Of_Interest values, keyed by the core's Python names."""
        return {"roi_row0": self.row0, "roi_col0": self.col0,
                "roi_nrow_win": self.nrow_win, "roi_ncol_win": self.ncol_win}


def check_values(**values: int) -> None:
    """RoiError unless every value is an integer 0..10980 divisible by 6 (window sizes > 0)."""
    for name, value in values.items():
        if not 0 <= value <= ROI_MAX:
            raise RoiError(f"{name} = {value} is outside 0 to {ROI_MAX}")
        if value % ROI_DIVISOR:
            raise RoiError(f"{name} = {value} is not divisible by {ROI_DIVISOR}")
        if name.endswith("_win") and value <= 0:
            raise RoiError(f"{name} = {value}: the window size must be positive")


def check_window(window: RoiWindow, tile_rows: int = ROI_MAX, tile_cols: int = ROI_MAX) -> None:
    """RoiError unless every value is an integer 0..10980 divisible by 6, the window is not empty
    and lies inside a tile of `tile_rows` x `tile_cols` 10 m pixels."""
    check_values(row0=window.row0, col0=window.col0, nrow_win=window.nrow_win,
                 ncol_win=window.ncol_win)
    for axis, first, size, limit in (("rows", window.first_row, window.nrow_win, tile_rows),
                                     ("columns", window.first_col, window.ncol_win, tile_cols)):
        if first < 0 or first + size > limit:
            raise RoiError(f"the window covers {axis} {first} to {first + size - 1}, outside the "
                           f"tile's 0 to {limit - 1}")


def _axis(start: float, end: float, size: int, what: str) -> Tuple[int, int]:
    """(midpoint, window) on one axis for the pixel interval [start, end) in a tile of `size`."""
    step = ROI_DIVISOR
    limit = (size // step) * step
    first = max(0, math.floor(start / step) * step)
    last = min(limit, math.ceil(end / step) * step)
    if last <= first:
        raise RoiError(f"the area does not overlap the tile ({what})")
    if ((last - first) // step) % 2:      # make the window a multiple of 12: midpoint on 60 m
        if last + step <= limit:
            last += step
        elif first - step >= 0:
            first -= step
        else:
            raise RoiError(f"the tile is too small for a region of interest ({what})")
    window = last - first
    return first + window // 2, window


def window_from_pixels(first_row: float, end_row: float, first_col: float, end_col: float,
                       tile_rows: int, tile_cols: int) -> RoiWindow:
    """Smallest valid window covering rows [first_row, end_row) and columns [first_col, end_col)
    (fractional pixel coordinates allowed), clipped to the tile."""
    row0, nrow = _axis(first_row, end_row, tile_rows, "rows")
    col0, ncol = _axis(first_col, end_col, tile_cols, "columns")
    window = RoiWindow(row0, col0, nrow, ncol)
    check_window(window, tile_rows, tile_cols)
    return window


def window_from_extent(xmin: float, ymin: float, xmax: float, ymax: float,
                       geotransform: Sequence[float], tile_rows: int, tile_cols: int) -> RoiWindow:
    """Window covering a rectangle given in the tile's CRS (geotransform of the 10 m grid)."""
    ulx, xres, _, uly, _, yres = geotransform
    if xmax <= xmin or ymax <= ymin:
        raise RoiError("the extent is empty")
    col_a, col_b = (xmin - ulx) / xres, (xmax - ulx) / xres
    row_a, row_b = (ymax - uly) / yres, (ymin - uly) / yres
    return window_from_pixels(min(row_a, row_b), max(row_a, row_b), min(col_a, col_b),
                              max(col_a, col_b), tile_rows, tile_cols)


def tile_grid(product) -> Tuple[int, Tuple[float, ...], int, int]:
    """(EPSG code, 10 m geotransform, rows, columns) of an `L1CProduct`'s tile."""
    geocoding = product.granule.geocoding
    rows, cols = geocoding.sizes[10]
    return geocoding.epsg, geocoding.geotransform(10), rows, cols


def describe(window: Optional[RoiWindow]) -> str:
    if window is None:
        return "whole tile"
    return (f"row0={window.row0} col0={window.col0} nrow_win={window.nrow_win} "
            f"ncol_win={window.ncol_win} (rows {window.first_row}-"
            f"{window.first_row + window.nrow_win - 1}, columns {window.first_col}-"
            f"{window.first_col + window.ncol_win - 1})")
