"""Region of interest on the tile's 10 m grid (Sen2Cor's Region_Of_Interest, reference §2.1).

Sen2Cor's Region_Of_Interest gives the **midpoint** (row0, col0) and the size (nrow_win,
ncol_win) of a window in 10 m pixels, every value divisible by 6 so that the window maps onto
the 20 m and 60 m grids. The window covers rows row0 - nrow_win/2 ... row0 + nrow_win/2 - 1.

A map extent (or the bounding box of polygons) is converted by covering it with 10 m pixels,
widening to whole 60 m pixels, and making each side a multiple of 12 pixels (so that the midpoint
falls on the 60 m grid too), clipped to the tile. This module does not import QGIS: the
algorithm reprojects the extent into the tile's CRS first.

Processing a window (`resolve_roi`, `WindowedProduct`, `embed`): the pipeline reads, classifies
and corrects only the window - a `WindowedProduct` serves the window of every band, its
geocoding and the sun-angle offsets - and the outputs keep the full tile grid, NO_DATA (0)
outside the window, as Sen2Cor writes them. `AUTO` takes the bounding box of the data pixels
(from the 60 m B01 footprint, the cheapest band) and runs the standard whole-tile processing
when the data cover more than 85 % of the tile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .config.values import ROI_DIVISOR, ROI_MAX

RESOLUTION = 10.0


AUTO_STANDARD_SHARE = 0.85     # AUTO: whole-tile processing above this share of data pixels


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


# ------------------------------------------------------------------------------ processing
def resolve_roi(config: Any, product: Any, log: Any = None) -> Optional[RoiWindow]:
    """The window to process from L2A_GIPP's Region_Of_Interest, or None for the whole tile.
    Raises core.errors.ConfigError (one line) for a window that is invalid for this tile."""
    from .errors import ConfigError

    values = {k: getattr(config, f"roi_{k}") for k in ("row0", "col0", "nrow_win", "ncol_win")}
    words = {k: str(v).upper() for k, v in values.items() if isinstance(v, str)}
    if words.get("row0") == "OFF" or words.get("col0") == "OFF":
        return None
    _, _, rows, cols = tile_grid(product)
    if "AUTO" in words.values():
        window = auto_window(product)
        if log is not None:
            log.info("region of interest AUTO: %s", describe(window) if window is not None else
                     f"data cover more than {AUTO_STANDARD_SHARE:.0%} of the tile: whole tile")
        return window
    try:
        window = RoiWindow(int(values["row0"]), int(values["col0"]), int(values["nrow_win"]),
                           int(values["ncol_win"]))
        check_window(window, rows, cols)
    except (RoiError, TypeError, ValueError) as exc:
        raise ConfigError(f"Region_Of_Interest: {exc}") from None
    if window.first_row == 0 and window.first_col == 0 and window.nrow_win == rows \
            and window.ncol_win == cols:
        return None
    return window


def auto_window(product: Any) -> Optional[RoiWindow]:
    """Bounding box of the data pixels (60 m B01 footprint) as a window; None when the data
    cover more than AUTO_STANDARD_SHARE of the tile (standard processing)."""
    band = "B01" if "B01" in product.granule.image_files else next(iter(product.granule.image_files))
    dn = product.read_band(band)
    valid = dn != product.special_values.get("NODATA", 0)
    _, _, rows, cols = tile_grid(product)
    if not valid.any():
        return None
    if valid.mean() > AUTO_STANDARD_SHARE:
        return None
    f = rows // valid.shape[0]
    r = np.nonzero(valid.any(axis=1))[0]
    c = np.nonzero(valid.any(axis=0))[0]
    return window_from_pixels(r[0] * f, (r[-1] + 1) * f, c[0] * f, (c[-1] + 1) * f, rows, cols)


def window_at(window: RoiWindow, resolution: int) -> Tuple[int, int, int, int]:
    """(first row, first column, rows, columns) of the window on a grid of `resolution` m."""
    f = int(resolution) // 10
    return window.first_row // f, window.first_col // f, window.nrow_win // f, window.ncol_win // f


class WindowedProduct:
    """An L1CProduct seen through a window: bands, sizes and geocoding of the window; every other
    attribute is the product's. `full_product` is the product itself (writers use its grids)."""

    def __init__(self, product: Any, window: RoiWindow) -> None:
        self.full_product = product
        self.window = window
        geocoding = product.granule.geocoding
        sizes, positions = {}, {}
        for res in geocoding.sizes:
            r0, c0, n, m = window_at(window, res)
            ulx, uly, xdim, ydim = geocoding.geopositions[res]
            sizes[res] = (n, m)
            positions[res] = (ulx + c0 * xdim, uly + r0 * ydim, xdim, ydim)
        self.granule = replace(product.granule, geocoding=replace(geocoding, sizes=sizes,
                                                                  geopositions=positions))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.full_product, name)

    def grid_offset(self, resolution: int) -> Tuple[int, int]:
        """(row, column) of the window's first pixel on the tile grid of `resolution`."""
        r0, c0, _, _ = window_at(self.window, resolution)
        return r0, c0

    def band_size(self, band: str) -> Tuple[int, int]:
        res = self.full_product.bands[band].resolution
        return self.granule.geocoding.sizes[res]

    def _native_window(self, band: str, sub: Optional[Tuple[int, int, int, int]]):
        res = self.full_product.bands[band].resolution
        r0, c0, n, m = window_at(self.window, res)
        if sub is None:
            return (r0, c0, n, m)
        sr, sc, sn, sm = sub
        return (r0 + sr, c0 + sc, sn, sm)

    def read_band(self, band: str, window: Optional[Tuple[int, int, int, int]] = None) -> np.ndarray:
        return self.full_product.read_band(band, self._native_window(band, window))

    def read_toa(self, band: str, window: Optional[Tuple[int, int, int, int]] = None):
        return self.full_product.read_toa(band, self._native_window(band, window))


def embed(values: np.ndarray, window: Optional[RoiWindow], resolution: int,
          tile_shape: Tuple[int, int], fill: int = 0) -> np.ndarray:
    """`values` of the window placed on the full tile grid (`fill` outside); bands last for RGB
    arrays of shape (3, rows, cols)."""
    if window is None:
        return values
    r0, c0, n, m = window_at(window, resolution)
    shape = values.shape[:-2] + tuple(tile_shape)
    out = np.full(shape, fill, dtype=values.dtype)
    out[..., r0:r0 + n, c0:c0 + m] = values
    return out


class WindowedImages:
    """An L2AImageWriter (core.raster.l2a_images) fed with window arrays: each image, mask and
    preview is placed on the full tile grid (`embed`, 0 = NO_DATA outside) before it is queued;
    `grid(res).shape` is the window's. Everything else is the writer's."""

    class _Shape:
        def __init__(self, shape: Tuple[int, int]) -> None:
            self.shape = shape

    def __init__(self, images: Any, window: RoiWindow) -> None:
        self.images = images
        self.window = window

    def __getattr__(self, name: str) -> Any:
        return getattr(self.images, name)

    def grid(self, resolution: int) -> "_Shape":
        _, _, n, m = window_at(self.window, resolution)
        return self._Shape((n, m))

    def _full(self, data: np.ndarray, resolution: int) -> np.ndarray:
        return embed(data, self.window, resolution, self.images.grid(resolution).shape)

    def write_image(self, layer: str, resolution: int, data: np.ndarray):
        return self.images.write_image(layer, resolution, self._full(data, resolution))

    def write_mask(self, mask: str, resolution: int, data: np.ndarray):
        return self.images.write_mask(mask, resolution, self._full(data, resolution))

    def write_preview(self, tci: np.ndarray, resolution: int, *args: Any, **kwargs: Any):
        return self.images.write_preview(self._full(tci, resolution), resolution, *args, **kwargs)

    def image_writer(self, layer: str, resolution: int) -> "_OffsetWriter":
        """The writer's block-wise image writer, taking blocks in window coordinates (the rest of
        the tile stays 0, NO_DATA: unwritten blocks of the sparse staging file)."""
        r0, c0, _, _ = window_at(self.window, resolution)
        return _OffsetWriter(self.images.image_writer(layer, resolution), r0, c0)


class _OffsetWriter:
    """A RasterWriter whose blocks are given relative to (row0, col0)."""

    def __init__(self, writer: Any, row0: int, col0: int) -> None:
        self.writer, self.row0, self.col0 = writer, row0, col0

    def write(self, block: np.ndarray, row0: int = 0, col0: int = 0, band: Optional[int] = None) -> None:
        self.writer.write(block, row0 + self.row0, col0 + self.col0, band=band)

    def close(self):
        return self.writer.close()

    def abort(self) -> None:
        self.writer.abort()
