"""Lazy, windowed access to the L1C band files at their native resolution.

Nothing is read when a product is parsed. A `BandReader` opens its file on the first read, checks
it against the tile metadata (raster size of the band's resolution, one UInt16 band) and then
reads windows `(row, col, nrows, ncols)` on the band's own grid.

NODATA convention (`read_toa` / `dn_to_toa`): a `ToaBlock` of three arrays of the window's shape:
  reflectance  float32, (DN + RADIO_ADD_OFFSET) / QUANTIFICATION_VALUE, NaN where DN == NODATA;
  nodata       bool, DN == NODATA (special value, 0): distinct from any reflectance, including the
               negative ones an offset of -1000 gives for DN 1..999 (valid data, kept as is);
  saturated    bool, DN == SATURATED (65535); those pixels keep their computed reflectance.
Plain arrays rather than a numpy masked array: NaN propagates through arithmetic, the boolean
masks are what scene classification needs (NO_DATA, saturation), and both pickle cheaply.

A reader holds one GDAL dataset and is not thread-safe: use one reader per thread. It pickles
without the dataset (reopened on the next read), so readers can be shipped to Dask workers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, NamedTuple, Optional, Tuple

import numpy as np
from osgeo import gdal

from ..errors import ProductError
from .gdalio import Window, check_window, open_raster, raster_epsg, read_window

if TYPE_CHECKING:
    from .model import L1CProduct


class ToaBlock(NamedTuple):
    """TOA reflectance of a window and its NODATA / SATURATED flags (see module docstring)."""

    reflectance: np.ndarray
    nodata: np.ndarray
    saturated: np.ndarray


def dn_to_toa(dn: np.ndarray, offset: float, quantification: float, nodata_value: int = 0,
              saturated_value: int = 65535) -> ToaBlock:
    """TOA reflectance of L1C digital numbers (Sen2Cor: (DN + RADIO_ADD_OFFSET) / QUANTIFICATION)."""
    nodata = dn == nodata_value
    saturated = dn == saturated_value
    reflectance = dn.astype(np.float32)
    if offset:
        reflectance += np.float32(offset)
    reflectance /= np.float32(quantification)
    reflectance[nodata] = np.nan
    return ToaBlock(reflectance, nodata, saturated)


class BandReader:
    """One band file of a product, opened lazily and checked against the metadata grid."""

    def __init__(self, path: str, band: str, resolution: int, size: Tuple[int, int], offset: float,
                 quantification: float, nodata_value: int = 0, saturated_value: int = 65535) -> None:
        self.path = path
        self.band = band
        self.resolution = resolution
        self.shape = (int(size[0]), int(size[1]))       # (nrows, ncols) from MTD_TL
        self.offset = float(offset)
        self.quantification = float(quantification)
        self.nodata_value = int(nodata_value)
        self.saturated_value = int(saturated_value)
        self._dataset: Optional[gdal.Dataset] = None

    @classmethod
    def from_product(cls, product: "L1CProduct", band: str) -> "BandReader":
        """Reader of a band ('B8A', 'B01', 'B1') of a parsed product."""
        from .model import band_name, band_id
        name = band_name(band_id(band))
        spectral = product.bands[name]
        return cls(
            path=product.granule.image_files[name],
            band=name,
            resolution=spectral.resolution,
            size=product.granule.geocoding.sizes[spectral.resolution],
            offset=spectral.radio_add_offset,
            quantification=product.quantification_value,
            nodata_value=product.special_values.get("NODATA", 0),
            saturated_value=product.special_values.get("SATURATED", 65535),
        )

    # -- file access --------------------------------------------------------------------------
    def dataset(self) -> gdal.Dataset:
        """The open, checked GDAL dataset (opened on first use)."""
        if self._dataset is None:
            dataset = open_raster(self.path, f"band {self.band}")
            self._check(dataset)
            self._dataset = dataset
        return self._dataset

    def _check(self, dataset: gdal.Dataset) -> None:
        size = (dataset.RasterYSize, dataset.RasterXSize)
        if size != self.shape:
            raise ProductError(
                f"band {self.band} raster is {size[0]} x {size[1]} pixels, the tile metadata says "
                f"{self.shape[0]} x {self.shape[1]} at {self.resolution} m", self.path)
        if dataset.RasterCount < 1:
            raise ProductError(f"band {self.band} file holds no raster band", self.path)
        data_type = dataset.GetRasterBand(1).DataType
        if data_type != gdal.GDT_UInt16:
            raise ProductError(
                f"band {self.band} has data type {gdal.GetDataTypeName(data_type)}, expected UInt16", self.path)

    def close(self) -> None:
        self._dataset = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_dataset"] = None
        return state

    # -- reading ------------------------------------------------------------------------------
    def read_dn(self, window: Optional[Window] = None) -> np.ndarray:
        """Digital numbers (uint16) of a window; the whole band when window is None."""
        dataset = self.dataset()
        win = check_window(window, *self.shape)
        return read_window(dataset, self.path, 1, win, buf_type=gdal.GDT_UInt16)

    def read_toa(self, window: Optional[Window] = None) -> ToaBlock:
        """TOA reflectance and NODATA/SATURATED flags of a window (see module docstring)."""
        return dn_to_toa(self.read_dn(window), self.offset, self.quantification,
                         self.nodata_value, self.saturated_value)

    def geotransform(self) -> Tuple[float, ...]:
        """The file's own geotransform (for checks against the tile metadata)."""
        return tuple(self.dataset().GetGeoTransform())

    def epsg(self) -> Optional[int]:
        """The file's own CRS as an EPSG code."""
        return raster_epsg(self.dataset())


def iter_windows(shape: Tuple[int, int], block_rows: int, block_cols: Optional[int] = None) -> Iterator[Window]:
    """Windows tiling a grid in row-major order (edge windows are smaller)."""
    nrows, ncols = shape
    block_cols = block_cols or ncols
    if block_rows <= 0 or block_cols <= 0:
        raise ValueError("block sizes must be positive")
    for row in range(0, nrows, block_rows):
        for col in range(0, ncols, block_cols):
            yield (row, col, min(block_rows, nrows - row), min(block_cols, ncols - col))


def check_band_files(product: "L1CProduct") -> None:
    """Open every spectral band and check its size against the metadata (fail fast, no pixels)."""
    for name in product.bands:
        reader = BandReader.from_product(product, name)
        reader.dataset()
        reader.close()
