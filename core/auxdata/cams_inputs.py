"""The CAMS inputs of one tile for the atmospheric correction, from Sen2Cor 3's netCDF files.

`cams.py` reads and interpolates the files; this module turns them into exactly what
core.atmcorr.correct takes, and decides - from ProcessingOptions.cams - whether a run uses them:

* `aod550`: AOD550 at the sensing time as a float32 2-D field on the tile's coarsest grid (60 m
  for a full tile). The no-DDV fallback of the aerosol retrieval (`AerosolRetrieval._cams_field`)
  resizes any grid covering the tile to its sample grid; the 60 m grid also satisfies the stricter
  rule of a fixed AOT map (`correct._field_strip`: the working grid or one coarser by an integer
  factor - 3 at 20 m, 6 at 10 m), so the same array serves either use. The fields vary over
  ~40 km, so a coarser grid would hold the same information, but no other grid fits both rules
  for every window size; 1830 x 1830 float32 is 13 MB.
* tile means of total column water vapour (cm) and ozone (DU): the scalars `aux_water_vapour_cm`
  and `aux_ozone_du` of correct (AUX_ECMWFT's role), None when the files lack the variable.
* the files used, for L2A_QUALITY.xml AUX_DATA_FILES.

Modes (`CAMS_MODES`): AUTO uses the files when the auxiliary-data folder holds some for the
sensing time (`load_cams_inputs`); ON requires them (AuxiliaryDataError when missing); OFF never
looks. A file that is there but broken (unreadable, or the day's own file without aod550 near the
sensing time, grids that differ) stops the run in AUTO and ON alike: the user put it there, and
processing without it would silently give another product than the one asked for.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
from osgeo import gdal

from ..errors import AuxiliaryDataError
from ..product.model import TileGeocoding
from .cams import _CONVERT, candidate_files, daily_file, load_field, tile_nodes
from .geo import GdalCallError, gdal_call, separable_linear

log = logging.getLogger(__name__)

CAMS_MODES = ("AUTO", "ON", "OFF")
_GEOPOTENTIAL = re.compile(r"^z_cams.*_z\.nc$", re.IGNORECASE)


def cams_mode(value: object) -> str:
    """'auto'/'On'/... -> one of CAMS_MODES; ValueError for anything else."""
    mode = str(value or "").strip().upper()
    if mode not in CAMS_MODES:
        raise ValueError(f"cams must be one of {', '.join(CAMS_MODES)}, got {value!r}")
    return mode


@dataclass
class CamsInputs:
    """What core.atmcorr.correct takes from CAMS for one tile (module notes)."""

    aod550: np.ndarray                        # float32, the tile's `resolution` grid
    resolution: int
    mean_aod550: float
    mean_water_vapour_cm: Optional[float] = None
    mean_ozone_du: Optional[float] = None
    times: Tuple[datetime, ...] = ()          # analysis times interpolated between
    files: Tuple[str, ...] = ()
    messages: List[str] = field(default_factory=list)

    @property
    def file_names(self) -> List[str]:
        """Names of the files used (L2A_QUALITY.xml AUX_DATA_FILES)."""
        return [Path(f).name for f in self.files]


def _naive_utc(when: datetime) -> datetime:
    """The netCDF times are naive UTC; product times are aware UTC."""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


def _positive_mean(values: np.ndarray) -> Optional[float]:
    valid = values[np.isfinite(values) & (values > 0)]
    return float(valid.mean()) if valid.size else None


def _check_readable(path: Path) -> None:
    try:
        gdal_call("not a readable netCDF file", gdal.OpenEx, str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    except GdalCallError as exc:
        raise AuxiliaryDataError(f"CAMS file unreadable ({exc})", path) from None


def load_cams_inputs(aux_dir: Union[str, Path], geocoding: TileGeocoding, sensing_time: datetime, *,
                     resolution: Optional[int] = None, node_step_m: float = 5000.0,
                     max_gap_hours: float = 12.0,
                     logger: Optional[logging.Logger] = None) -> Optional[CamsInputs]:
    """The CAMS inputs of the tile at the sensing time (module notes), or None when the folder
    holds no CAMS file for the sensing time (Sen2Cor 3's layout, cams.candidate_files: the day's
    and the neighbouring days' daily files, the month's monthly files).

    AuxiliaryDataError (one line naming the file) when a file is unreadable, or when the day's or
    the month's own files have no aod550 near the sensing time (a misfiled or truncated file; the
    neighbouring days' files alone only count when their analyses reach the sensing time).
    Water vapour and ozone are optional: a file without them gives None means and a message
    (AUX_ECMWFT or the configuration then decides, as without CAMS).
    """
    lg = logger or log
    when = _naive_utc(sensing_time)
    files = [p for p in candidate_files(aux_dir, when) if not _GEOPOTENTIAL.match(p.name)]
    if not files:
        return None
    own = (daily_file(Path(aux_dir), when).parent, Path(aux_dir) / "ECMWF" / "monthly" / f"{when:%Y%m}")
    day_files = any(p.parent in own for p in files)
    for path in files:
        _check_readable(path)
    res = int(resolution) if resolution is not None else max(geocoding.sizes)
    nrows, ncols = geocoding.sizes[res]
    lon, lat, step = tile_nodes(geocoding, node_step_m)
    rows = (np.arange(nrows) + 0.5) * res / step
    cols = (np.arange(ncols) + 0.5) * res / step

    def on_grid(variable: str) -> Tuple[np.ndarray, object]:
        fld = load_field(aux_dir, variable, when, max_gap_hours, files)
        nodes = _CONVERT[variable][1](fld.sample(lon, lat))
        if not np.isfinite(nodes).any():
            raise AuxiliaryDataError(f"CAMS {variable} has no value over the tile", fld.files[0])
        nodes = np.where(np.isfinite(nodes), nodes, np.nanmean(nodes))
        return separable_linear(nodes, rows, cols), fld

    try:
        aod, fld = on_grid("aod550")
    except AuxiliaryDataError:
        if day_files:
            raise
        return None             # only a neighbouring day's file, whose analyses do not reach
    times = list(fld.times)
    used = list(dict.fromkeys(fld.files))          # both analysis times may come from one file
    out = CamsInputs(aod550=aod, resolution=res, mean_aod550=float(np.mean(aod)))
    for variable, attr in (("tcwv", "mean_water_vapour_cm"), ("gtco3", "mean_ozone_du")):
        try:
            values, fld = on_grid(variable)
        except AuxiliaryDataError as exc:
            out.messages.append(f"CAMS {variable} not used: {exc}")
            lg.warning("CAMS %s not used: %s", variable, exc)
            continue
        setattr(out, attr, _positive_mean(values))
        times.extend(t for t in fld.times if t not in times)
        used.extend(f for f in fld.files if f not in used)
        del values
    out.times, out.files = tuple(sorted(times)), tuple(used)
    return out


def cams_inputs_for_run(mode: str, aux_dir: Optional[Union[str, Path]], geocoding: TileGeocoding,
                        sensing_time: datetime,
                        logger: Optional[logging.Logger] = None) -> Optional[CamsInputs]:
    """ProcessingOptions.cams applied (module notes): None with OFF, or with AUTO when no file is
    there; AuxiliaryDataError with ON when none is (naming the file expected)."""
    lg = logger or log
    mode = cams_mode(mode)
    if mode == "OFF":
        return None
    when = _naive_utc(sensing_time)
    folder = Path(aux_dir).expanduser() if aux_dir else None
    inputs = load_cams_inputs(folder, geocoding, when, logger=lg) if folder is not None else None
    if inputs is None:
        expected = daily_file(folder or Path("<aux_data_dir>"), when)
        if mode == "ON":
            raise AuxiliaryDataError(f"CAMS ON but no CAMS netCDF file for {when:%Y-%m-%d} (daily file "
                                     f"or ECMWF/monthly/{when:%Y%m}/*.nc)", expected)
        lg.info("no CAMS netCDF file for %s (%s): the product's own auxiliary data are used",
                f"{when:%Y-%m-%d}", expected)
        return None
    lg.info("CAMS netCDF at %s (analyses %s): AOD550 %.3f, water vapour %s, ozone %s; files %s",
            f"{when:%Y-%m-%d %H:%M}", ", ".join(f"{t:%Y-%m-%d %H:%M}" for t in inputs.times),
            inputs.mean_aod550,
            "-" if inputs.mean_water_vapour_cm is None else f"{inputs.mean_water_vapour_cm:.2f} cm",
            "-" if inputs.mean_ozone_du is None else f"{inputs.mean_ozone_du:.1f} DU",
            ", ".join(inputs.file_names))
    return inputs
