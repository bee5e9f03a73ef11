"""CAMS netCDF inputs as Sen2Cor 3 lays them out (reference §7.2), on the tile grid.

Files (under the auxiliary-data folder `aux_dir`):
    ECMWF/daily/YYYYMMDD/CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_YYYY-MM-DD.nc
    ECMWF/monthly/YYYYMM/*.nc
    geopotential (optional): z_cams_c_ecmf_*_z.nc anywhere under ECMWF/ (surface height = z / g)

Variables aod550, tcwv (kg m-2), msl (Pa), gtco3 (kg m-2), packed or not (GDAL applies
scale_factor/add_offset), on the 0.4° global grid (GDAL geotransform [-0.2, 0.4, 0, 90.2, 0, -0.4],
longitudes 0..359.6) or any regular lon/lat grid. Times come from the netCDF dimensions GDAL
reports per band: CF-1.6 `time`, or CF-1.7 `forecast_reference_time` (+ `forecast_period`), or
`valid_time`, in '<unit> since <date>' units (hours since 1900-01-01 in CAMS files).

Interpolation: linear in time between the two analysis times around the sensing time (the day's
file and, for times after 18 UTC / before 00 UTC, the neighbouring day's file); a sensing time
outside all analyses uses the nearest one if it is at most `max_gap_hours` away. Then bilinear in
space (periodic in longitude on a global grid), evaluated on nodes every `node_step_m` metres of
the tile grid and interpolated bilinearly to the pixels (the fields vary over ~40 km).

Units returned follow `AuxiliaryData`: water vapour in cm (kg m-2 / 10), pressure in hPa
(Pa / 100), ozone in Dobson units (kg m-2 / 6.428e-3 * 300), AOD unitless.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from osgeo import gdal

from ..errors import AuxiliaryDataError
from ..product.auxiliary import kg_m2_to_dobson
from ..product.model import TileGeocoding
from .geo import GdalCallError, gdal_call, separable_linear, tile_grid, to_lonlat, unwrap_longitudes

log = logging.getLogger(__name__)

CAMS_VARIABLES = ("aod550", "tcwv", "msl", "gtco3")
GRAVITY = 9.80665
_UNITS = re.compile(r"^\s*(\w+)\s+since\s+(\d{1,4})-(\d{1,2})-(\d{1,2})"
                    r"(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?)?", re.IGNORECASE)
_SECONDS = {"second": 1.0, "seconds": 1.0, "s": 1.0, "minute": 60.0, "minutes": 60.0, "hour": 3600.0,
            "hours": 3600.0, "h": 3600.0, "day": 86400.0, "days": 86400.0}


def daily_file(aux_dir: Path, day: datetime) -> Path:
    return (Path(aux_dir) / "ECMWF" / "daily" / day.strftime("%Y%m%d") /
            f"CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_{day.strftime('%Y-%m-%d')}.nc")


def candidate_files(aux_dir: Union[str, Path], when: datetime) -> List[Path]:
    """Daily files of the day before, the day and the day after; monthly files of the month (and
    of the neighbouring month within a day of its boundary). Only existing files."""
    aux_dir = Path(aux_dir)
    files: List[Path] = []
    for delta in (-1, 0, 1):
        day = when + timedelta(days=delta)
        path = daily_file(aux_dir, day)
        if path.is_file():
            files.append(path)
        else:                           # tolerate other file names in the day folder
            folder = path.parent
            if folder.is_dir():
                files.extend(sorted(p for p in folder.glob("*.nc") if p.is_file()))
    months = {when.strftime("%Y%m"), (when - timedelta(days=1)).strftime("%Y%m"),
              (when + timedelta(days=1)).strftime("%Y%m")}
    for month in sorted(months):
        folder = aux_dir / "ECMWF" / "monthly" / month
        if folder.is_dir():
            files.extend(sorted(p for p in folder.glob("*.nc") if p.is_file()))
    unique: List[Path] = []
    for p in files:
        if p not in unique:
            unique.append(p)
    return unique


def parse_time_units(units: str) -> Tuple[datetime, float]:
    """'hours since 1900-01-01 00:00:00.0' -> (epoch, seconds per unit)."""
    m = _UNITS.match(units or "")
    if not m or m.group(1).lower() not in _SECONDS:
        raise ValueError(f"unsupported time units {units!r}")
    sec = float(m.group(7) or 0)
    epoch = datetime(int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5) or 0),
                     int(m.group(6) or 0), int(sec), int(round((sec % 1) * 1e6)))
    return epoch, _SECONDS[m.group(1).lower()]


@dataclass(frozen=True)
class CamsSlice:
    """One 2-D field of one file at one time."""

    time: datetime
    path: Path
    variable: str
    band: int


def _band_times(ds: gdal.Dataset) -> List[Optional[datetime]]:
    md = ds.GetMetadata() or {}

    def convert(dim: str, value: str) -> Optional[datetime]:
        units = md.get(f"{dim}#units")
        if units is None:
            return None
        epoch, scale = parse_time_units(units)
        return epoch + timedelta(seconds=float(value) * scale)

    out: List[Optional[datetime]] = []
    for i in range(1, ds.RasterCount + 1):
        bmd = ds.GetRasterBand(i).GetMetadata() or {}
        dims = {k[len("NETCDF_DIM_"):]: v for k, v in bmd.items() if k.startswith("NETCDF_DIM_")}
        t: Optional[datetime] = None
        if "valid_time" in dims:
            t = convert("valid_time", dims["valid_time"])
        elif "time" in dims:
            t = convert("time", dims["time"])
        elif "forecast_reference_time" in dims:
            t = convert("forecast_reference_time", dims["forecast_reference_time"])
        if t is not None and "time" not in dims and "valid_time" not in dims:
            for lead in ("forecast_period", "step", "leadtime"):
                if lead in dims:
                    units = md.get(f"{lead}#units", "hours")
                    scale = _SECONDS.get(units.split()[0].lower(), 3600.0)
                    t = t + timedelta(seconds=float(dims[lead]) * scale)
                    break
        out.append(t)
    return out


def _open_variable(path: Path, variable: str) -> gdal.Dataset:
    return gdal_call(f"cannot read {variable} from {path}", gdal.OpenEx, f'NETCDF:"{path}":{variable}',
                     gdal.OF_RASTER | gdal.OF_READONLY)


def list_slices(files: Sequence[Path], variable: str) -> List[CamsSlice]:
    """Every (time, file, band) of a variable in the files; files without it are skipped."""
    slices: List[CamsSlice] = []
    for path in files:
        try:
            ds = _open_variable(path, variable)
            times = _band_times(ds)
        except (GdalCallError, ValueError) as exc:
            log.debug("CAMS: %s", exc)
            continue
        for band, t in enumerate(times, start=1):
            if t is not None:
                slices.append(CamsSlice(t, path, variable, band))
    slices.sort(key=lambda s: (s.time, str(s.path)))
    return slices


def _read_slice(s: CamsSlice) -> Tuple[np.ndarray, Tuple[float, ...]]:
    ds = _open_variable(s.path, s.variable)
    band = ds.GetRasterBand(s.band)
    values = gdal_call(f"cannot read {s.variable} from {s.path}", band.ReadAsArray).astype(np.float64)
    nodata = band.GetNoDataValue()
    if nodata is not None:
        values[values == nodata] = np.nan
    scale, offset = band.GetScale(), band.GetOffset()
    values = values * (1.0 if scale is None else scale) + (0.0 if offset is None else offset)
    return values, tuple(ds.GetGeoTransform())


@dataclass
class CamsField:
    """A variable interpolated to the sensing time, on its lon/lat grid (float64, NaN = none)."""

    variable: str
    values: np.ndarray
    geotransform: Tuple[float, ...]
    times: Tuple[datetime, ...]          # analysis times used (1 or 2)
    weights: Tuple[float, ...]
    files: Tuple[str, ...]

    def sample(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Bilinear values at (lon, lat) degrees (periodic in longitude on a global grid)."""
        gt = self.geotransform
        ny, nx = self.values.shape
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        periodic = abs(nx * gt[1] - 360.0) < 1e-3 * abs(gt[1]) * nx
        if periodic:
            lon = gt[0] + np.mod(lon - gt[0], 360.0)
        x = (lon - gt[0]) / gt[1] - 0.5
        y = (lat - gt[3]) / gt[5] - 0.5
        y = np.clip(y, 0.0, ny - 1.0)
        y0 = np.minimum(np.floor(y).astype(np.int64), max(ny - 2, 0))
        wy = y - y0
        y1 = np.minimum(y0 + 1, ny - 1)
        if periodic:
            x0f = np.floor(x)
            wx = x - x0f
            x0 = np.mod(x0f.astype(np.int64), nx)
            x1 = np.mod(x0 + 1, nx)
        else:
            x = np.clip(x, 0.0, nx - 1.0)
            x0 = np.minimum(np.floor(x).astype(np.int64), max(nx - 2, 0))
            wx = x - x0
            x1 = np.minimum(x0 + 1, nx - 1)
        v = self.values
        return ((v[y0, x0] * (1 - wx) + v[y0, x1] * wx) * (1 - wy)
                + (v[y1, x0] * (1 - wx) + v[y1, x1] * wx) * wy)


def load_field(aux_dir: Union[str, Path], variable: str, when: datetime,
               max_gap_hours: float = 12.0, files: Optional[Sequence[Path]] = None) -> CamsField:
    """One variable linearly interpolated to `when` (AuxiliaryDataError when not available)."""
    files = list(files) if files is not None else candidate_files(aux_dir, when)
    if not files:
        raise AuxiliaryDataError(f"no CAMS file for {when:%Y-%m-%d} (expected {daily_file(Path(aux_dir), when)})")
    slices = list_slices(files, variable)
    if not slices:
        raise AuxiliaryDataError(f"no {variable} field with a time in the CAMS files", files[0])
    before = [s for s in slices if s.time <= when]
    after = [s for s in slices if s.time >= when]
    if before and after:
        s0, s1 = before[-1], after[0]
    else:
        nearest = min(slices, key=lambda s: abs((s.time - when).total_seconds()))
        gap = abs((nearest.time - when).total_seconds()) / 3600.0
        if gap > max_gap_hours:
            raise AuxiliaryDataError(f"nearest CAMS {variable} analysis ({nearest.time:%Y-%m-%d %H:%M}) is "
                                     f"{gap:.1f} h from the sensing time", nearest.path)
        s0 = s1 = nearest
    v0, gt0 = _read_slice(s0)
    if s1 == s0 or s1.time == s0.time:
        return CamsField(variable, v0, gt0, (s0.time,), (1.0,), (str(s0.path),))
    v1, gt1 = _read_slice(s1)
    if v1.shape != v0.shape or not np.allclose(gt0, gt1):
        raise AuxiliaryDataError(f"CAMS {variable} grids differ between {s0.path} and {s1.path}")
    w = (when - s0.time).total_seconds() / (s1.time - s0.time).total_seconds()
    return CamsField(variable, (1.0 - w) * v0 + w * v1, gt0, (s0.time, s1.time), (1.0 - w, w),
                     (str(s0.path), str(s1.path)))


def geopotential_file(aux_dir: Union[str, Path]) -> Optional[Path]:
    root = Path(aux_dir) / "ECMWF"
    if not root.is_dir():
        return None
    hits = sorted(root.rglob("z_cams*_z.nc"))
    return hits[0] if hits else None


@dataclass
class CamsTile:
    """CAMS fields on one tile grid (float32 rows x cols; None for a variable not available)."""

    resolution: int
    aod550: Optional[np.ndarray] = None
    water_vapour_cm: Optional[np.ndarray] = None
    pressure_hpa: Optional[np.ndarray] = None
    ozone_du: Optional[np.ndarray] = None
    surface_height_m: Optional[np.ndarray] = None
    times: Tuple[datetime, ...] = ()
    files: Tuple[str, ...] = ()
    messages: List[str] = field(default_factory=list)


_CONVERT = {
    "aod550": ("aod550", lambda v: v),
    "tcwv": ("water_vapour_cm", lambda v: v / 10.0),
    "msl": ("pressure_hpa", lambda v: v / 100.0),
    "gtco3": ("ozone_du", kg_m2_to_dobson),
}


def tile_nodes(geocoding: TileGeocoding, node_step_m: float) -> Tuple[np.ndarray, np.ndarray, float]:
    """(lon, lat) of nodes every `node_step_m` from the tile's upper-left corner (covering it)."""
    grid = tile_grid(geocoding, max(geocoding.sizes))
    minx, miny, maxx, maxy = grid.bounds
    nx = int(math.ceil((maxx - minx) / node_step_m)) + 1
    ny = int(math.ceil((maxy - miny) / node_step_m)) + 1
    xs = minx + np.arange(nx) * node_step_m
    ys = maxy - np.arange(ny) * node_step_m
    xx, yy = np.meshgrid(xs, ys)
    lon, lat = to_lonlat(geocoding.epsg, xx, yy)
    return unwrap_longitudes(lon), lat, node_step_m


def cams_on_tile(aux_dir: Union[str, Path], geocoding: TileGeocoding, resolution: int, when: datetime, *,
                 variables: Sequence[str] = CAMS_VARIABLES, node_step_m: float = 5000.0,
                 max_gap_hours: float = 12.0, logger: Optional[logging.Logger] = None) -> CamsTile:
    """CAMS fields interpolated to the sensing time and to the pixels of one tile grid.

    A variable that cannot be loaded is None with a message (logged as a warning); the caller falls
    back to AUX_ECMWFT/AUX_CAMSFO or the configured defaults, as Sen2Cor does.
    """
    lg = logger or log
    out = CamsTile(resolution)
    files = candidate_files(aux_dir, when)
    lon, lat, step = tile_nodes(geocoding, node_step_m)
    nrows, ncols = geocoding.sizes[resolution]
    rows = (np.arange(nrows) + 0.5) * resolution / step
    cols = (np.arange(ncols) + 0.5) * resolution / step
    times: List[datetime] = []
    used: List[str] = []
    for variable in variables:
        try:
            fld = load_field(aux_dir, variable, when, max_gap_hours, files)
        except AuxiliaryDataError as exc:
            out.messages.append(str(exc))
            lg.warning("CAMS %s not available: %s", variable, exc)
            continue
        attr, convert = _CONVERT[variable]
        nodes = convert(fld.sample(lon, lat))
        setattr(out, attr, separable_linear(nodes, rows, cols))
        times.extend(t for t in fld.times if t not in times)
        used.extend(f for f in fld.files if f not in used)
    zfile = geopotential_file(aux_dir)
    if zfile is not None:
        try:
            ds = _open_variable(zfile, "z")
            zfld = CamsField("z", _read_slice(CamsSlice(when, zfile, "z", 1))[0], tuple(ds.GetGeoTransform()),
                             (), (), (str(zfile),))
            out.surface_height_m = separable_linear(zfld.sample(lon, lat) / GRAVITY, rows, cols)
            used.append(str(zfile))
        except (GdalCallError, AuxiliaryDataError) as exc:
            out.messages.append(f"geopotential unreadable: {exc}")
    out.times = tuple(sorted(times))
    out.files = tuple(used)
    return out


def visibility_from_aod(aod550: np.ndarray, elevation_km: Union[float, np.ndarray] = 0.0) -> np.ndarray:
    """Visibility (km) from AOD550 with the quadratic a(z), b(z) of reference §6.3, 0..650 km."""
    z = np.asarray(elevation_km, dtype=np.float64)
    a = -0.026235 * z ** 2 - 0.182321 * z + 1.54641
    b = 0.003096 * z ** 2 + 0.011604 * z - 0.854022
    aod = np.maximum(np.asarray(aod550, dtype=np.float64), 1e-6)
    return np.clip(np.exp((np.log(aod) - a) / b), 0.0, 650.0)
