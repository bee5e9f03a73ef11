"""Raster I/O of the processor: grids, writers (JP2 / GeoTIFF / COG / ENVI), Sen2Cor's resampling
rules, the true-colour image and preview, and the L2A image writer used by the pipeline.

    grid      Grid: EPSG + geotransform + shape (tile grid of one resolution)
    writers   write_raster(path, array, grid, fmt, ...), RasterWriter (block-wise)
    resample  block means (+0.5 truncation), median + centre decimation (SCL), nearest, bilinear,
              bicubic upsampling (reference §4.5)
    tci       TCI (§9.8) and the 343 x 343 PVI
    l2a_images  L2AImageWriter: layer -> file name, data type, nodata, format of an L2A product

core/ never imports QGIS; everything here is numpy/scipy/GDAL.
"""
from .grid import Grid
from .writers import (EXTENSIONS, FORMATS, JP2_PROFILES, RasterWriteError, RasterWriter,
                      write_raster)

__all__ = ["Grid", "EXTENSIONS", "FORMATS", "JP2_PROFILES", "RasterWriteError", "RasterWriter",
           "write_raster"]
