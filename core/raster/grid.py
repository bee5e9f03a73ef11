"""The georeferenced pixel grid a raster is written on (tile grid of one resolution, or the PVI's).

A `Grid` is plain data (EPSG code, GDAL geotransform, shape) so that it pickles to workers and is
built the same way from the L1C tile geocoding, from a file, or by hand in tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from osgeo import osr

GeoTransform = Tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class Grid:
    """A north-up grid: `geotransform` (ulx, xres, 0, uly, 0, -yres), `shape` (rows, cols)."""

    epsg: int
    geotransform: GeoTransform
    shape: Tuple[int, int]

    @classmethod
    def from_geocoding(cls, geocoding, resolution: int) -> "Grid":
        """The tile grid of one resolution from the L1C `TileGeocoding` (MTD_TL.xml)."""
        nrows, ncols = geocoding.sizes[resolution]
        return cls(int(geocoding.epsg), tuple(float(v) for v in geocoding.geotransform(resolution)),
                   (int(nrows), int(ncols)))

    @property
    def resolution(self) -> float:
        """Pixel width in CRS units (metres)."""
        return abs(float(self.geotransform[1]))

    @property
    def extent(self) -> Tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax)."""
        ulx, xres, _, uly, _, yres = self.geotransform
        xs = (ulx, ulx + xres * self.shape[1])
        ys = (uly, uly + yres * self.shape[0])
        return (min(xs), min(ys), max(xs), max(ys))

    def resized(self, shape: Tuple[int, int]) -> "Grid":
        """The same extent divided into `shape` pixels (e.g. the 343 x 343 preview)."""
        ulx, xres, rx, uly, ry, yres = self.geotransform
        width, height = xres * self.shape[1], yres * self.shape[0]
        return Grid(self.epsg, (ulx, width / shape[1], rx, uly, ry, height / shape[0]),
                    (int(shape[0]), int(shape[1])))

    def srs_wkt(self) -> str:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(int(self.epsg))
        return srs.ExportToWkt()
