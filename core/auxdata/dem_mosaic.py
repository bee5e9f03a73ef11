"""Seamless DEM mosaic on a geographic grid, void filling, reprojection to the L1C tile grid.

Why not `gdal.Warp(all tiles -> tile grid)` directly: the warper resamples each source file on
its own, so near a tile border the interpolation kernel of one file lacks the neighbour file's
pixels and the two halves disagree (a seam; the "geometric artefacts" of merged SRTM tiles).
Here the covering tiles are first assembled on ONE geographic grid, then warped once:

1. Grid: the finest pixel size among the tiles, aligned on the finest tile's pixel centres,
   covering the footprint plus margin. Tiles already on that grid (same pixel size, whole-pixel
   offset: all SRTM tiles, all Copernicus tiles of one latitude band, DTED with its shared edge
   row/column) are copied pixel for pixel - no resampling, no half-pixel shift. Others
   (Copernicus/DTED tiles of a coarser longitude spacing towards the poles) are first assembled
   the same way on their own grid, and that partial mosaic is resampled onto the main grid in one
   warp with the interpolating cubic kernel (exact on shared nodes, no seam between them).
   Placement uses only the geotransform GDAL reports (see `dem_sources` for the conventions).
2. Nodata (-32768 SRTM, -32767 DTED voids, the file's declared nodata) becomes a void. Tiles
   known to be missing (ocean) are filled with 0 m. Voids are filled by GDAL's FillNodata
   (inverse-distance interpolation from the void edges, `max_void_px` search distance); any
   pixel still empty takes the nearest valid value.
3. One `gdal.Warp` to the tile CRS with the exact bounds and size of the tile grid (plus an
   optional halo), cubic spline as Sen2Cor, float32, transformation error < 0.01 source pixel.

Tiles crossing the antimeridian: west-of-180 tiles keep their longitudes, east-of-180 tiles are
shifted by +360 so that the grid is continuous; the grid's CRS is `+lon_wrap=180`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal
from scipy import ndimage

from ..errors import CancelledError
from .dem_sources import DemKind, DemTile
from .geo import (GeoBounds, GeoTransform, TileGrid, gdal_call, honour_pixel_is_point, mem_dataset,
                  warp_to_grid, wgs84)

log = logging.getLogger(__name__)

KNOWN_VOIDS = {DemKind.SRTM_90: (-32768.0,), DemKind.DTED_90: (-32767.0, -32768.0),
               DemKind.DTED_30: (-32767.0, -32768.0)}
ALIGN_TOLERANCE = 1e-3          # pixels: offsets closer than this to an integer count as aligned
MAX_MOSAIC_PIXELS = 400_000_000


@dataclass(frozen=True)
class SourceRaster:
    """One DEM file to mosaic: GDAL path (plain, /vsizip/, /vsitar/), its tile (for the kind's
    void values and the antimeridian shift), or None for a user raster."""

    path: str
    tile: Optional[DemTile] = None

    @property
    def lon_shift(self) -> float:
        return self.tile.lon_shift if self.tile is not None else 0.0


@dataclass
class GeoMosaic:
    """The assembled DEM on a geographic grid (float32 metres, no voids left)."""

    elevation: np.ndarray
    geotransform: GeoTransform
    lon_wrap: bool
    void_pixels: int = 0            # pixels that were voids inside real tiles (filled)
    sea_pixels: int = 0             # pixels of missing (ocean) tiles, set to 0 m
    resampled_sources: int = 0      # tiles that needed resampling onto the grid
    sources: Tuple[str, ...] = ()
    notes: List[str] = field(default_factory=list)

    def dataset(self) -> gdal.Dataset:
        return mem_dataset(self.elevation, self.geotransform, wgs84(self.lon_wrap))


def _check_cancel(cancel: Any) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("DEM preparation cancelled")


def _open(path: str) -> gdal.Dataset:
    with honour_pixel_is_point():
        return gdal_call(f"cannot open DEM file {path}", gdal.OpenEx, path, gdal.OF_RASTER | gdal.OF_READONLY)


def _shifted_gt(ds: gdal.Dataset, shift: float) -> GeoTransform:
    gt = list(ds.GetGeoTransform())
    if gt[2] != 0 or gt[4] != 0:
        raise ValueError("rotated DEM rasters are not supported")
    gt[0] += shift
    return tuple(gt)  # type: ignore[return-value]


def _void_values(source: SourceRaster, band: gdal.Band) -> Tuple[float, ...]:
    values = list(KNOWN_VOIDS.get(source.tile.kind, ())) if source.tile is not None else []
    nodata = band.GetNoDataValue()
    if nodata is not None and not math.isnan(nodata):
        values.append(float(nodata))
    return tuple(values)


def mosaic_grid(datasets: Sequence[Tuple[gdal.Dataset, float]], bounds: GeoBounds,
                pad: int = 4) -> Tuple[GeoTransform, int, int]:
    """Geotransform and size (rows, cols) of the mosaic grid for the footprint `bounds`."""
    best = None
    for ds, shift in datasets:
        gt = _shifted_gt(ds, shift)
        area = abs(gt[1] * gt[5])
        if best is None or area < best[0] - 1e-18:
            best = (area, gt)
    assert best is not None
    x0, dx, _, y0, _, dy = best[1]
    dy = -abs(dy)
    col0 = int(math.floor((bounds.west - x0) / dx)) - pad
    col1 = int(math.ceil((bounds.east - x0) / dx)) + pad
    row0 = int(math.floor((bounds.north - y0) / dy)) - pad
    row1 = int(math.ceil((bounds.south - y0) / dy)) + pad
    gt = (x0 + col0 * dx, dx, 0.0, y0 + row0 * dy, 0.0, dy)
    nrows, ncols = row1 - row0, col1 - col0
    if nrows * ncols > MAX_MOSAIC_PIXELS:
        raise ValueError(f"DEM mosaic of {nrows} x {ncols} pixels is too large")
    return gt, nrows, ncols


def _place_aligned(target: np.ndarray, gt: GeoTransform, src: gdal.Dataset, sgt: GeoTransform,
                   voids: Tuple[float, ...], path: str) -> bool:
    """Copy an aligned source into the NaN pixels of `target`; False when not aligned."""
    dx, dy = gt[1], gt[5]
    if abs(sgt[1] - dx) > 1e-6 * abs(dx) or abs(abs(sgt[5]) - abs(dy)) > 1e-6 * abs(dy) or sgt[5] > 0:
        return False
    fc = (sgt[0] - gt[0]) / dx
    fr = (sgt[3] - gt[3]) / dy
    if abs(fc - round(fc)) > ALIGN_TOLERANCE or abs(fr - round(fr)) > ALIGN_TOLERANCE:
        return False
    c_off, r_off = int(round(fc)), int(round(fr))
    nrows, ncols = target.shape
    r0, r1 = max(0, r_off), min(nrows, r_off + src.RasterYSize)
    c0, c1 = max(0, c_off), min(ncols, c_off + src.RasterXSize)
    if r0 >= r1 or c0 >= c1:
        return True
    band = src.GetRasterBand(1)
    data = gdal_call(f"cannot read DEM file {path}", band.ReadAsArray, c0 - c_off, r0 - r_off,
                     c1 - c0, r1 - r0).astype(np.float32, copy=False)
    _mark_voids(data, voids)
    window = target[r0:r1, c0:c1]
    empty = np.isnan(window)
    window[empty] = data[empty]
    return True


def _mark_voids(data: np.ndarray, voids: Tuple[float, ...]) -> None:
    for v in voids:
        data[data == np.float32(v)] = np.nan
    data[data < -12000] = np.nan        # no land or sea floor DEM value lies below this


def _place_resampled(target: np.ndarray, gt: GeoTransform, src: gdal.Dataset, sgt: GeoTransform,
                     shift: float, voids: Tuple[float, ...], path: str) -> None:
    """Resample a non-aligned source onto the grid (interpolating cubic) into NaN pixels."""
    nrows, ncols = target.shape
    if shift:
        vrt = gdal_call(f"cannot read DEM file {path}", gdal.Translate, "", src, format="VRT")
        vrt.SetGeoTransform(sgt)
        src = vrt
    band = src.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    grid = gdal.GetDriverByName("MEM").Create("", ncols, nrows, 1, gdal.GDT_Float32)
    grid.SetGeoTransform(gt)
    grid.SetSpatialRef(wgs84(gt[0] + ncols * gt[1] > 180.0))
    grid.GetRasterBand(1).Fill(float("nan"))
    grid.GetRasterBand(1).SetNoDataValue(float("nan"))
    options = dict(resampleAlg="cubic", dstNodata=float("nan"), errorThreshold=0.0,
                   srcSRS=wgs84(gt[0] + ncols * gt[1] > 180.0))
    if voids or nodata is not None:
        options["srcNodata"] = voids[0] if voids else nodata
    gdal_call(f"cannot resample DEM file {path}", gdal.Warp, grid, src, **options)
    data = grid.GetRasterBand(1).ReadAsArray().astype(np.float32, copy=False)
    _mark_voids(data, voids)
    empty = np.isnan(target) & np.isfinite(data)
    target[empty] = data[empty]


def _assemble(entries, gt: GeoTransform, nrows: int, ncols: int, cancel: Any):
    """Place every source aligned with `gt`; returns (array with NaN elsewhere, the others)."""
    target = np.full((nrows, ncols), np.nan, dtype=np.float32)
    rest = []
    for entry in entries:
        _check_cancel(cancel)
        s, ds, sgt, voids = entry
        if not _place_aligned(target, gt, ds, sgt, voids, s.path):
            rest.append(entry)
    return target, rest


def _fill_from(target: np.ndarray, gt: GeoTransform, sub: np.ndarray, sgt: GeoTransform, lon_wrap: bool) -> None:
    """Resample a partial mosaic on another grid into the NaN pixels of `target` (cubic,
    interpolating: exact where the grids share nodes, e.g. rows of equal latitude)."""
    nrows, ncols = target.shape
    src = mem_dataset(sub, sgt, wgs84(lon_wrap), nodata=float("nan"))
    grid = gdal.GetDriverByName("MEM").Create("", ncols, nrows, 1, gdal.GDT_Float32)
    grid.SetGeoTransform(gt)
    grid.SetSpatialRef(wgs84(lon_wrap))
    grid.GetRasterBand(1).Fill(float("nan"))
    grid.GetRasterBand(1).SetNoDataValue(float("nan"))
    gdal_call("cannot resample DEM tiles", gdal.Warp, grid, src, resampleAlg="cubic",
              srcNodata=float("nan"), dstNodata=float("nan"), errorThreshold=0.0)
    data = grid.GetRasterBand(1).ReadAsArray().astype(np.float32, copy=False)
    empty = np.isnan(target) & np.isfinite(data)
    target[empty] = data[empty]


def fill_voids(elevation: np.ndarray, max_void_px: int = 200) -> int:
    """Fill NaN pixels in place: GDAL FillNodata, then nearest valid value; returns the count."""
    voids = np.isnan(elevation)
    count = int(voids.sum())
    if count == 0:
        return 0
    if count == elevation.size:
        raise ValueError("the DEM holds no valid elevation")
    ds = mem_dataset(elevation.astype(np.float32), (0, 1, 0, 0, 0, -1), wgs84())
    mask = mem_dataset((~voids).astype(np.uint8), (0, 1, 0, 0, 0, -1), wgs84())
    rc = gdal_call("cannot fill DEM voids", gdal.FillNodata, ds.GetRasterBand(1), mask.GetRasterBand(1),
                   float(max_void_px), 0)
    if rc != 0:
        raise ValueError(f"cannot fill DEM voids (GDAL error {rc})")
    filled = ds.GetRasterBand(1).ReadAsArray().astype(np.float32, copy=False)
    # pixels farther than max_void_px from valid data are left as they were (NaN): nearest value
    left = np.isnan(filled)
    if left.any():
        _, (ri, ci) = ndimage.distance_transform_edt(left, return_indices=True)
        filled[left] = filled[ri[left], ci[left]]
    elevation[voids] = filled[voids]
    return count


def build_mosaic(sources: Sequence[SourceRaster], missing: Sequence[DemTile], bounds: GeoBounds, *,
                 max_void_px: int = 200, cancel: Any = None,
                 logger: Optional[logging.Logger] = None) -> GeoMosaic:
    """Assemble the covering tiles on one geographic grid (see the module notes)."""
    lg = logger or log
    if not sources:
        raise ValueError("no DEM tile covers the tile footprint")
    entries = []
    for s in sources:
        _check_cancel(cancel)
        ds = _open(s.path)
        srs = ds.GetSpatialRef()
        if srs is None or not srs.IsGeographic():
            raise ValueError(f"DEM tile {s.path} is not in longitude/latitude")
        entries.append((s, ds, _shifted_gt(ds, s.lon_shift), _void_values(s, ds.GetRasterBand(1))))
    gt, nrows, ncols = mosaic_grid([(ds, s.lon_shift) for s, ds, _, _ in entries], bounds)
    lon_wrap = gt[0] + ncols * gt[1] > 180.0
    elevation, rest = _assemble(entries, gt, nrows, ncols, cancel)
    resampled = 0
    while rest:
        # Sources on another pixel grid (coarser longitude spacing towards the poles): assemble
        # them on THEIR grid first, so that one warp sees neighbouring files together (no seam).
        sgt, srows, scols = mosaic_grid([(ds, s.lon_shift) for s, ds, _, _ in rest], bounds, pad=8)
        sub, left = _assemble(rest, sgt, srows, scols, cancel)
        if len(left) == len(rest):          # none fits a north-up grid: one by one
            for s, ds, egt, voids in rest:
                _place_resampled(elevation, gt, ds, egt, s.lon_shift, voids, s.path)
            resampled += len(rest)
            break
        _fill_from(elevation, gt, sub, sgt, lon_wrap)
        resampled += len(rest) - len(left)
        rest = left
    sea = 0
    if missing:
        lon = gt[0] + (np.arange(ncols) + 0.5) * gt[1]
        lat = gt[3] + (np.arange(nrows) + 0.5) * gt[5]
        for t in missing:
            w, so, e, n = t.bounds
            rows = (lat >= so - 1e-9) & (lat <= n + 1e-9)
            cols = (lon >= w - 1e-9) & (lon <= e + 1e-9)
            block = elevation[np.ix_(rows, cols)]
            empty = np.isnan(block)
            sea += int(empty.sum())
            block[empty] = 0.0
            elevation[np.ix_(rows, cols)] = block
    _check_cancel(cancel)
    voids = fill_voids(elevation, max_void_px)
    notes = []
    if voids:
        notes.append(f"{voids} void pixels filled ({100.0 * voids / elevation.size:.2f} % of the mosaic)")
        lg.info("DEM: %s", notes[-1])
    if sea:
        notes.append(f"{len(missing)} missing (ocean) tile(s) set to 0 m")
    return GeoMosaic(elevation, gt, lon_wrap, voids, sea, resampled, tuple(s.path for s in sources), notes)


def reproject(mosaic_or_dataset: Any, grid: TileGrid, resampling: str = "cubicspline",
              threads: Optional[int] = None) -> np.ndarray:
    """Warp the mosaic (or any georeferenced dataset) onto a tile grid; float32 metres."""
    ds = mosaic_or_dataset.dataset() if isinstance(mosaic_or_dataset, GeoMosaic) else mosaic_or_dataset
    data = warp_to_grid(ds, grid, resampling, output_type=gdal.GDT_Float32, threads=threads)
    return data.astype(np.float32, copy=False)


def user_dem_to_grid(path: str, grid: TileGrid, *, max_void_px: int = 200,
                     threads: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """A single user raster (GeoTIFF, VRT, any CRS) warped onto a tile grid; voids (nodata and
    pixels outside the raster) filled. Returns (elevation, filled pixel count)."""
    with honour_pixel_is_point():
        ds = gdal_call(f"cannot open DEM file {path}", gdal.OpenEx, path, gdal.OF_RASTER | gdal.OF_READONLY)
        if ds.GetSpatialRef() is None:
            raise ValueError(f"DEM file {path} has no coordinate system")
        nodata = ds.GetRasterBand(1).GetNoDataValue()
        data = warp_to_grid(ds, grid, "cubicspline", src_nodata=nodata, dst_nodata=float("nan"),
                            threads=threads).astype(np.float32, copy=False)
    _mark_voids(data, (nodata,) if nodata is not None and not math.isnan(nodata) else ())
    valid = np.isfinite(data)
    if not valid.any():
        raise ValueError(f"DEM file {path} does not cover the tile")
    filled = fill_voids(data, max_void_px)
    return data, filled
