"""Generated auxiliary data for the tests of core/auxdata (no tests here).

DEM tiles are written at their real sizes and pixel conventions (SRTM 6000 x 6000 at 3", origin
half a pixel outside the 5° corner; Copernicus 3600 x 3600 / 1200 x 1200 PixelIsPoint GeoTIFFs;
DTED level 1 via GDAL's DTED driver), but only a box around the synthetic product holds the
analytic surface; the rest is a constant so that the files compress to almost nothing.
"""
from __future__ import annotations

import http.server
import math
import shutil
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np
from osgeo import gdal, osr

from sen2cor_qgis.core.auxdata.dem_sources import DemKind, DemTile
from sen2cor_qgis.core.product.model import AngleGrid, TileGeocoding

gdal.UseExceptions()

# -- the analytic surface ------------------------------------------------------------------------
LON0, LAT0 = 10.0, 45.0          # a 4-tile corner of SRTM (5°) and Copernicus/DTED (1°) grids


def surface(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Smooth relief of ~1.9 km around (10°E, 45°N): wavelengths ~20 km, slopes up to ~15°."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return (1300.0 + 700.0 * np.sin(2 * np.pi * (lon - LON0) / 0.25 + 0.4) * np.cos(2 * np.pi * (lat - LAT0) / 0.2)
            + 1800.0 * (lat - LAT0) + 900.0 * (lon - LON0))


def utm_geocoding(lon: float = LON0, lat: float = LAT0, size_m: int = 12000, epsg: Optional[int] = None,
                  resolutions=(20, 60)) -> TileGeocoding:
    """A square synthetic tile grid centred on (lon, lat) in its UTM zone."""
    zone = int((lon + 180) // 6) + 1
    epsg = epsg or (32600 + zone if lat >= 0 else 32700 + zone)
    src = osr.SpatialReference()
    src.ImportFromEPSG(4326)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(epsg)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(src, dst).TransformPoint(lon, lat)
    ulx = math.floor((x - size_m / 2) / 60.0) * 60.0
    uly = math.floor((y + size_m / 2) / 60.0) * 60.0
    sizes = {r: (size_m // r, size_m // r) for r in resolutions}
    geo = {r: (ulx, uly, float(r), -float(r)) for r in resolutions}
    return TileGeocoding(f"WGS84 / UTM zone {zone}", epsg, sizes, geo)


def grid_lonlat(geocoding: TileGeocoding, res: int) -> Tuple[np.ndarray, np.ndarray]:
    from sen2cor_qgis.core.auxdata.geo import grid_lonlat as gl, tile_grid
    return gl(tile_grid(geocoding, res))


def sun_grid(zenith: float = 40.0, azimuth: float = 150.0, n: int = 5, step: float = 5000.0) -> AngleGrid:
    return AngleGrid(np.full((n, n), zenith), np.full((n, n), azimuth), step, step)


# -- DEM tiles ---------------------------------------------------------------------------------------
DATA_BOX = (LON0 - 0.35, LAT0 - 0.3, LON0 + 0.35, LAT0 + 0.3)    # where tiles hold the surface


def _wgs84_wkt() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    return srs.ExportToWkt()


def tile_values(gt, nx: int, ny: int, dtype, outside: float, box=DATA_BOX,
                fn: Callable = surface) -> np.ndarray:
    lon = gt[0] + (np.arange(nx) + 0.5) * gt[1]
    lat = gt[3] + (np.arange(ny) + 0.5) * gt[5]
    out = np.full((ny, nx), outside, dtype=np.float64)
    ci = np.nonzero((lon >= box[0]) & (lon <= box[2]))[0]
    ri = np.nonzero((lat >= box[1]) & (lat <= box[3]))[0]
    if ci.size and ri.size:
        lo, la = np.meshgrid(lon[ci], lat[ri])
        out[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1] = fn(lo, la)
    if np.issubdtype(dtype, np.integer):
        out = np.rint(out)
    return out.astype(dtype)


def _write_gtiff(path: Path, values: np.ndarray, gt, nodata=None, point: bool = False) -> Path:
    types = {np.dtype(np.int16): gdal.GDT_Int16, np.dtype(np.float32): gdal.GDT_Float32}
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(str(path), values.shape[1], values.shape[0], 1, types[values.dtype],
                    ["COMPRESS=DEFLATE", "TILED=YES", "PREDICTOR=2" if values.dtype == np.int16 else "PREDICTOR=3"])
    if point:
        ds.SetMetadataItem("AREA_OR_POINT", "Point")
    ds.SetGeoTransform(gt)
    ds.SetProjection(_wgs84_wkt())
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    band.WriteArray(values)
    ds = None
    return path


def srtm_geotransform(tile: DemTile):
    px = 3.0 / 3600.0
    return (tile.lon - px / 2, px, 0.0, tile.lat + 5 + px / 2, 0.0, -px)


def write_srtm(folder: Path, tile: DemTile, void: Optional[Tuple[float, float, float]] = None,
               as_zip: bool = False, fn: Callable = surface) -> Path:
    """srtm_XX_YY.tif (or .zip holding it): 6000 x 6000 Int16, nodata -32768, CGIAR geotransform.
    `void`: (lon, lat, radius in degrees) of a disc of -32768."""
    gt = srtm_geotransform(tile)
    values = tile_values(gt, 6000, 6000, np.int16, -32768, fn=fn)
    if void is not None:
        lon = gt[0] + (np.arange(6000) + 0.5) * gt[1]
        lat = gt[3] + (np.arange(6000) + 0.5) * gt[5]
        lo, la = np.meshgrid(lon, lat, sparse=True)
        values[(lo - void[0]) ** 2 + (la - void[1]) ** 2 <= void[2] ** 2] = -32768
    folder.mkdir(parents=True, exist_ok=True)
    tif = _write_gtiff(folder / f"{tile.name}.tif", values, gt, nodata=-32768)
    if not as_zip:
        return tif
    zpath = folder / f"{tile.name}.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(tif, tif.name)
        zf.writestr("readme.txt", "CGIAR-CSI SRTM 90m v4.1 (synthetic test tile)\n")
    tif.unlink()
    return zpath


def copernicus_geotransform(tile: DemTile, ncols: int, nrows: int):
    dx, dy = 1.0 / ncols, 1.0 / nrows
    return (tile.lon - dx / 2, dx, 0.0, tile.lat + 1 + dy / 2, 0.0, -dy)


def copernicus_size(kind: DemKind, lat: int) -> Tuple[int, int]:
    """(nrows, ncols) of a Copernicus tile: 3600 (GLO-30) / 1200 (GLO-90) rows; columns shrink
    towards the poles (1.5x spacing at 50-60°, 2x at 60-70°, 3x 70-80, 5x 80-85, 10x 85-90)."""
    n = 3600 if kind.nominal_arcsec == 1.0 else 1200
    a = abs(lat + 0.5)
    factor = 1 if a < 50 else 1.5 if a < 60 else 2 if a < 70 else 3 if a < 80 else 5 if a < 85 else 10
    return n, int(n / factor)


def write_copernicus(folder: Path, tile: DemTile, layout: str = "tif", fn: Callable = surface,
                     box=DATA_BOX) -> Path:
    """A Copernicus tile: layout 'tif' (classic _DEM.tif), 'tar' (classic tar), 'cog' (COG name in
    the AWS folder layout). Float32, PixelIsPoint, first pixel centre on the integer degree."""
    nrows, ncols = copernicus_size(tile.kind, tile.lat)
    gt = copernicus_geotransform(tile, ncols, nrows)
    values = tile_values(gt, ncols, nrows, np.float32, 0.0, box=box, fn=fn)
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "cog":
        cog_tile = DemTile({DemKind.COPERNICUS_30: DemKind.AWS_COPERNICUS_30,
                            DemKind.COPERNICUS_90: DemKind.AWS_COPERNICUS_90}.get(tile.kind, tile.kind),
                           tile.lat, tile.lon)
        sub = folder / cog_tile.name
        sub.mkdir(parents=True, exist_ok=True)
        return _write_gtiff(sub / f"{cog_tile.name}.tif", values, gt, point=True)
    base = tile.name
    if layout == "tif":
        return _write_gtiff(folder / f"{base}_DEM.tif", values, gt, point=True)
    staging = folder / f".staging_{base}"
    (staging / base / "DEM").mkdir(parents=True, exist_ok=True)
    _write_gtiff(staging / base / "DEM" / f"{base}_DEM.tif", values, gt, point=True)
    tpath = folder / f"{base}.tar"
    with tarfile.open(tpath, "w") as tf:
        tf.add(staging / base, arcname=base)
    shutil.rmtree(staging)
    return tpath


def write_dted(folder: Path, tile: DemTile, fn: Callable = surface) -> Path:
    """eXXX_nYY.dt1 by GDAL's DTED driver (CreateCopy): 1201 rows, 1201 columns below 50°
    (601 at 50-70°), PixelIsPoint, one shared row/column with each neighbour."""
    a = abs(tile.lat + 0.5)
    ncols = 1201 if a < 50 else 601 if a < 70 else 401 if a < 75 else 301 if a < 80 else 201
    nrows = 1201
    dx, dy = 1.0 / (ncols - 1), 1.0 / (nrows - 1)
    gt = (tile.lon - dx / 2, dx, 0.0, tile.lat + 1 + dy / 2, 0.0, -dy)
    values = tile_values(gt, ncols, nrows, np.int16, 0, fn=fn)
    src = gdal.GetDriverByName("MEM").Create("", ncols, nrows, 1, gdal.GDT_Int16)
    src.SetGeoTransform(gt)
    src.SetProjection(_wgs84_wkt())
    src.GetRasterBand(1).WriteArray(values)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / tile.name
    gdal.GetDriverByName("DTED").CreateCopy(str(path), src)
    return path


def corner_tiles(kind: DemKind) -> List[DemTile]:
    """The four tiles meeting at (10°E, 45°N)."""
    if kind is DemKind.SRTM_90:
        return [DemTile(kind, la, lo) for la in (40, 45) for lo in (5, 10)]
    return [DemTile(kind, la, lo) for la in (44, 45) for lo in (9, 10)]


# -- a local HTTP server -----------------------------------------------------------------------------
@dataclass
class ServerState:
    root: Path
    mode: str = "ok"                    # ok | 404 | stall | stall_body | truncated | truncated_declared | 500
    delay_per_chunk: float = 0.0
    requests: List[str] = field(default_factory=list)
    failures_left: Optional[int] = None  # serve `mode` this many times, then 'ok' (None: always)
    stop: threading.Event = field(default_factory=threading.Event)
    max_stall: float = 10.0
    require_auth: Optional[str] = None   # expected 'Authorization' header (else HTTP 401)


class _Handler(http.server.BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, *args):      # quiet
        pass

    def do_GET(self):                  # noqa: N802
        st = self.state
        st.requests.append(self.path)
        mode = st.mode
        if st.failures_left is not None:
            if st.failures_left > 0:
                st.failures_left -= 1
            else:
                mode = "ok"
        if st.require_auth is not None and self.headers.get("Authorization") != st.require_auth:
            self.send_error(401)
            return
        rel = self.path.lstrip("/")
        path = st.root / rel
        if mode == "404" or not path.is_file():
            self.send_error(404)
            return
        if mode == "500":
            self.send_error(500)
            return
        if mode == "stall":
            st.stop.wait(st.max_stall)          # never answers within the client's timeout
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "truncated":
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        if mode == "truncated_declared":
            cut = data[: len(data) // 2]
            self.send_header("Content-Length", str(len(cut)))
            self.end_headers()
            self.wfile.write(cut)
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "stall_body":
            self.wfile.write(data[:1000])
            self.wfile.flush()
            st.stop.wait(st.max_stall)
            return
        step = 1 << 16
        for i in range(0, len(data), step):
            if st.delay_per_chunk:
                st.stop.wait(st.delay_per_chunk)
            try:
                self.wfile.write(data[i:i + step])
            except (BrokenPipeError, ConnectionResetError):
                return


class TileServer:
    """http.server on 127.0.0.1 (random port) in a daemon thread; `with TileServer(root) as s:`."""

    def __init__(self, root: Path, **state) -> None:
        self.state = ServerState(Path(root), **state)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> "TileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.state.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
