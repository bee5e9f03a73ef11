"""GDAL access shared by band, mask and GRIB reading: quiet, and every failure a ProductError.

GDAL prints errors to stderr and either returns None or raises RuntimeError depending on a
process-wide switch (`gdal.UseExceptions`) that other code may set; these helpers work either way
and turn both into one-line errors naming the file.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..errors import ProductError

Window = Tuple[int, int, int, int]   # (row, col, nrows, ncols) on the raster's own grid


@contextmanager
def quiet_gdal() -> Iterator[None]:
    """Silence GDAL's error printing; the last message is still read with `last_error`."""
    gdal.ErrorReset()
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        yield
    finally:
        gdal.PopErrorHandler()


def last_error() -> str:
    return " ".join((gdal.GetLastErrorMsg() or "").split())


def open_raster(path: str, what: str = "raster", drivers: Optional[Sequence[str]] = None) -> gdal.Dataset:
    """Open read-only; ProductError naming `path` if GDAL cannot."""
    message = ""
    with quiet_gdal():
        try:
            if drivers:
                dataset = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY, allowed_drivers=list(drivers))
            else:
                dataset = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
        except RuntimeError as exc:
            dataset, message = None, str(exc)
        if dataset is None and not message:
            message = last_error()
    if dataset is None:
        raise ProductError(f"cannot open {what}" + (f" ({message})" if message else ""), path)
    return dataset


def check_window(window: Optional[Window], nrows: int, ncols: int) -> Window:
    """The full grid for None; ValueError for a window that is empty or leaves the grid."""
    if window is None:
        return (0, 0, nrows, ncols)
    if len(window) != 4:
        raise ValueError(f"window must be (row, col, nrows, ncols), got {window!r}")
    row, col, height, width = (int(v) for v in window)
    if height <= 0 or width <= 0 or row < 0 or col < 0 or row + height > nrows or col + width > ncols:
        raise ValueError(f"window {window!r} is not inside the {nrows} x {ncols} grid")
    return (row, col, height, width)


def read_window(dataset: gdal.Dataset, path: str, band_index: int, window: Window,
                buf_type: Optional[int] = None) -> np.ndarray:
    """Pixels of one band in a window; ProductError naming `path` on a decoding failure."""
    if not 1 <= band_index <= dataset.RasterCount:
        raise ProductError(f"has {dataset.RasterCount} band(s), band {band_index} requested", path)
    row, col, height, width = window
    message = ""
    with quiet_gdal():
        try:
            kwargs = {"buf_type": buf_type} if buf_type is not None else {}
            data = dataset.GetRasterBand(band_index).ReadAsArray(col, row, width, height, **kwargs)
        except RuntimeError as exc:
            data, message = None, str(exc)
        if data is None and not message:
            message = last_error()
    if data is None:
        raise ProductError("cannot read pixels" + (f" ({message})" if message else ""), path)
    return data


def raster_epsg(dataset: gdal.Dataset) -> Optional[int]:
    """EPSG code of a dataset's CRS, None when it has none or no EPSG authority."""
    srs = dataset.GetSpatialRef()
    if srs is None:
        return None
    srs.AutoIdentifyEPSG()
    code = srs.GetAuthorityCode(None)
    return int(code) if code and code.isdigit() else None
