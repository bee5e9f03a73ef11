"""DEM preparation for one tile: the call the pipeline makes (reference §2.1, §6.7, §7.3).

    result = prepare_dem(geocoding, (20, 60), cfg.dem_path(), cfg.dem_reference,
                         sun_angles=granule.sun_angles, force_exit_on_error=cfg.force_exit_on_dem_error,
                         cancel=cancel, progress=progress, log=log)
    if result.terrain is None: ...flat terrain (elevation cfg.altitude)...
    else: result.terrain[20].elevation / .slope / .aspect / .sky_view / .cos_illumination

Semantics of Sen2Cor's parameters:
* `DEM_Directory` NONE (dem_directory None): no DEM, flat terrain, status NO_DEM, no warning
  (Sen2Cor's default configuration).
* `DEM_Directory` a folder: tiles are looked up there (any of the supported namings, see
  `dem_sources`); missing ones are downloaded from `DEM_Reference` (unless NONE) and cached
  there. A file instead of a folder: that single GeoTIFF/VRT (any CRS) is the DEM.
* `Force_Exit_On_DEM_Error` TRUE: any DEM problem raises `DemError` (one line naming the
  file/tile/URL and the problem). FALSE: the run continues on flat terrain; the result has status
  FLAT_FALLBACK, `warning` holds the text (logged at WARNING level, prominently), and
  `quality_values()`/`global_status` give what L2A_QUALITY.xml should record (see DemResult).
  A cancel always raises CancelledError, never falls back.
* The DEM is not flattened when it is merely flat: Sen2Cor's flat-terrain rule (§6.7) only
  switches the terrain correction off (`flat_terrain`); the elevation is still used for the LUTs.

DEM output (`Generate_DEM_Output`, §7.3 item 6): uint16 = elevation in metres + 10000 (so that
negative elevations survive), file `T<tile>_<datatake start>_DEM_<res>m.jp2` in AUX_DATA: see
`dem_output`.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import CancelledError, DemError, Sen2CorError
from ..product.model import AngleGrid, TileGeocoding
from ..product.naming import dem_file_name
from . import terrain as T
from .dem_download import DownloadSettings, fetch_tiles, tar_dem_member, zip_dem_member
from .dem_mosaic import SourceRaster, build_mosaic, reproject, user_dem_to_grid
from .dem_sources import DemKind, DemTile, FolderIndex, choose_source, describe_tiles
from .geo import TileGrid, footprint_lonlat, separable_linear, tile_grid

ProgressCallback = Callable[[float, str], None]

STATUS_DEM = "DEM"                      # a DEM was prepared
STATUS_NO_DEM = "NO_DEM"                # DEM_Directory NONE: flat terrain by configuration
STATUS_FLAT_FALLBACK = "FLAT_FALLBACK"  # DEM problem, Force_Exit_On_DEM_Error FALSE
DEM_OUTPUT_OFFSET = 10000               # §7.3 item 6
HORIZON_RESOLUTION = 60                 # grid of the horizon search (m)


@dataclass
class TerrainLayers:
    """DEM-derived layers of one resolution on the tile grid (float32, rows x cols)."""

    resolution: int
    elevation: np.ndarray                    # metres
    slope: np.ndarray                        # degrees
    aspect: np.ndarray                       # degrees clockwise from north, downslope; 0 flat
    sky_view: np.ndarray                     # 0..1
    cos_illumination: Optional[np.ndarray]   # cos(i); None without sun angles

    def hillshade(self) -> Optional[np.ndarray]:
        """gdaldem-style uint8 hillshade (1..255), as Sen2Cor derives cos(i) from it."""
        return None if self.cos_illumination is None else T.hillshade_uint8(self.cos_illumination)


@dataclass
class DemResult:
    """Outcome of `prepare_dem`.

    `status`: DEM | NO_DEM | FLAT_FALLBACK. `terrain`: layers by resolution, None when flat by
    configuration or by fallback. `warning`: the one-line text of a fallback (also logged).

    For L2A_QUALITY.xml (§9.7): `quality_values()` fills DEM_TYPE (e.g. SRTM_90,
    COPERNICUS_30, AWS_COPERNICUS_90, DTED_90, USER; 'NONE' without a DEM), DEM_MEAN_ALTITUDE_KM,
    DEM_MEAN_SLOPE and GROUND_ELEVATION_ABOVE_3_KM; `global_status` is 'WARNING' after a fallback;
    `quality_warning` is the text to record. The current L2A_QUALITY writer has no free-text
    value: the writer should gain one (proposed value name DEM_STATUS in the L2A_AUX check list,
    holding `quality_warning`, e.g. "FLAT_TERRAIN_FALLBACK: <reason>"), until then the pipeline can
    put it in the header's Notes element.
    """

    status: str
    kind: Optional[DemKind] = None
    layers: Dict[int, TerrainLayers] = field(default_factory=dict)
    flat_terrain: bool = True
    warning: Optional[str] = None
    source_files: Tuple[str, ...] = ()
    downloaded: Tuple[str, ...] = ()
    missing_tiles: Tuple[str, ...] = ()
    notes: List[str] = field(default_factory=list)
    mean_elevation_m: Optional[float] = None
    mean_slope_deg: Optional[float] = None
    max_elevation_m: Optional[float] = None
    seconds: float = 0.0

    @property
    def terrain(self) -> Optional[Dict[int, TerrainLayers]]:
        return self.layers if self.status == STATUS_DEM and self.layers else None

    @property
    def dem_type(self) -> str:
        return self.kind.value if (self.kind is not None and self.status == STATUS_DEM) else "NONE"

    @property
    def production_dem_type(self) -> str:
        """PRODUCTION_DEM_TYPE of MTD_MSIL2A.xml ('None' without a DEM, as the writer's default)."""
        return self.kind.production_name if (self.kind is not None and self.status == STATUS_DEM) else "None"

    @property
    def global_status(self) -> Optional[str]:
        return "WARNING" if self.status == STATUS_FLAT_FALLBACK else None

    @property
    def quality_warning(self) -> Optional[str]:
        return f"FLAT_TERRAIN_FALLBACK: {self.warning}" if self.warning else None

    def quality_values(self) -> Dict[str, object]:
        values: Dict[str, object] = {"DEM_TYPE": self.dem_type}
        if self.status == STATUS_DEM and self.mean_elevation_m is not None:
            values["DEM_MEAN_ALTITUDE_KM"] = self.mean_elevation_m / 1000.0
            values["DEM_MEAN_SLOPE"] = float(self.mean_slope_deg or 0.0)
            # (inferred) True when any ground pixel lies above 3 km, where the LUTs end (2.5 km)
            values["GROUND_ELEVATION_ABOVE_3_KM"] = bool((self.max_elevation_m or 0.0) > 3000.0)
        else:
            values["DEM_MEAN_ALTITUDE_KM"] = 0.0
            values["DEM_MEAN_SLOPE"] = 0.0
            values["GROUND_ELEVATION_ABOVE_3_KM"] = False
        return values


def dem_output_array(elevation: np.ndarray) -> np.ndarray:
    """Generate_DEM_Output encoding: uint16 = round(elevation m) + 10000, clipped to 0..65535."""
    return np.clip(np.rint(np.asarray(elevation, dtype=np.float64)) + DEM_OUTPUT_OFFSET, 0, 65535).astype(np.uint16)


def dem_output(result: DemResult, resolution: int, tile: str, datatake_start: datetime,
               output_format: str = "JP2") -> Optional[Tuple[np.ndarray, str]]:
    """(uint16 array, AUX_DATA file name) for Generate_DEM_Output; None without a DEM."""
    terrain = result.terrain
    if terrain is None or resolution not in terrain:
        return None
    name = dem_file_name(tile, datatake_start, resolution, output_format)
    return dem_output_array(terrain[resolution].elevation), name


def _none(value: Optional[Union[str, Path]]) -> bool:
    return value is None or str(value).strip().upper() in ("", "NONE")


def _gdal_path(path: Path, tile: Optional[DemTile]) -> str:
    name = path.name.lower()
    if name.endswith(".zip") and tile is not None:
        return f"/vsizip/{path}/{zip_dem_member(path, tile)}"
    if name.endswith(".tar"):
        return f"/vsitar/{path}/{tar_dem_member(path)}"
    return str(path)


class _Steps:
    """progress/cancel helper: fractions of the DEM stage."""

    def __init__(self, progress: Optional[ProgressCallback], cancel: Any) -> None:
        self.progress, self.cancel = progress, cancel

    def __call__(self, fraction: float, message: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("DEM preparation cancelled")
        if self.progress is not None:
            self.progress(max(0.0, min(1.0, fraction)), message)

    def sub(self, start: float, stop: float) -> ProgressCallback:
        return lambda f, m: self(start + (stop - start) * f, m)


def prepare_dem(geocoding: TileGeocoding, resolutions: Union[int, Iterable[int]],
                dem_directory: Optional[Union[str, Path]], dem_reference: Optional[str] = None, *,
                sun_angles: Optional[AngleGrid] = None,
                mean_sun_angles: Optional[Tuple[float, float]] = None,
                force_exit_on_error: bool = False, cancel: Any = None,
                progress: Optional[ProgressCallback] = None, log: Optional[logging.Logger] = None,
                download: DownloadSettings = DownloadSettings(), source_kind: Optional[DemKind] = None,
                absent_tiles_are_sea: bool = False, margin_m: float = 2000.0,
                svf_radius_m: float = 3000.0, svf_directions: int = 16,
                flat_rule: Tuple[float, float, float] = (50.0, 6.0, 0.01),
                max_void_px: int = 200, threads: Optional[int] = None) -> DemResult:
    """Prepare elevation, slope, aspect, sky-view factor and illumination on the tile grids.

    geocoding: the L1C tile grids; resolutions: 10/20/60 (one or several).
    dem_directory: `cfg.dem_path()` (None for NONE). dem_reference: `cfg.dem_reference`.
    sun_angles: the granule's sun angle grid (per-pixel illumination); else mean_sun_angles
    (zenith, azimuth) degrees; neither: no cos_illumination.
    flat_rule: (AC_Dem_P2p_Val m, AC_Slope_Th deg, AC_Topo_Corr_Th fraction).
    absent_tiles_are_sea: without DEM_Reference, treat tiles absent from the folder as sea
    (0 m) instead of failing.
    """
    lg = log or logging.getLogger("sen2cor_qgis")
    single = isinstance(resolutions, (int, np.integer))
    res_list = sorted({int(resolutions)} if single else {int(r) for r in resolutions})  # type: ignore[arg-type]
    steps = _Steps(progress, cancel)
    started = time.monotonic()
    steps(0.0, "preparing the DEM")
    if _none(dem_directory):
        lg.info("DEM_Directory is NONE: flat terrain (no DEM)")
        return DemResult(STATUS_NO_DEM)
    reference = None if _none(dem_reference) else str(dem_reference).strip()
    try:
        result = _prepare(geocoding, res_list, Path(str(dem_directory)), reference, sun_angles,
                          mean_sun_angles, steps, lg, download, source_kind, absent_tiles_are_sea,
                          margin_m, svf_radius_m, svf_directions, flat_rule, max_void_px, threads)
    except (CancelledError, MemoryError):
        raise
    except Exception as exc:            # noqa: BLE001 - any DEM problem: Sen2Cor's flat fallback
        if isinstance(exc, Sen2CorError):
            reason = str(exc)
        else:
            reason = " ".join(f"{exc}".split()) or type(exc).__name__
            lg.debug("DEM preparation failed", exc_info=True)
        if force_exit_on_error:
            raise DemError(f"DEM preparation failed (Force_Exit_On_DEM_Error is TRUE): {reason}") from exc
        warning = (f"DEM preparation failed: {reason}. Processing continues with FLAT TERRAIN "
                   f"(no terrain correction, constant elevation); set Force_Exit_On_DEM_Error to TRUE "
                   f"to stop instead")
        lg.warning("*** %s ***", warning)
        return DemResult(STATUS_FLAT_FALLBACK, warning=warning, seconds=time.monotonic() - started)
    result.seconds = time.monotonic() - started
    steps(1.0, "DEM ready")
    return result


def _prepare(geocoding: TileGeocoding, res_list: Sequence[int], folder: Path, reference: Optional[str],
             sun_angles: Optional[AngleGrid], mean_sun: Optional[Tuple[float, float]], steps: _Steps,
             lg: logging.Logger, download: DownloadSettings, source_kind: Optional[DemKind],
             absent_sea: bool, margin_m: float, svf_radius_m: float, svf_directions: int,
             flat_rule: Tuple[float, float, float], max_void_px: int, threads: Optional[int]) -> DemResult:
    for res in res_list:
        if res not in geocoding.sizes:
            raise DemError(f"the tile has no {res} m grid")
    hres = HORIZON_RESOLUTION if HORIZON_RESOLUTION in geocoding.sizes else max(geocoding.sizes)
    hhalo = int(math.ceil(svf_radius_m / hres)) + 1
    margin = max(margin_m, hhalo * hres + 1000.0)
    bounds = footprint_lonlat(geocoding, margin_m=margin)
    downloaded: List[str] = []
    missing_names: List[str] = []
    notes: List[str] = []

    if folder.is_file():
        kind = DemKind.USER
        sources_desc = (str(folder),)
        lg.info("DEM: user raster %s", folder)

        def to_grid(grid: TileGrid) -> np.ndarray:
            data, filled = user_dem_to_grid(str(folder), grid, max_void_px=max_void_px, threads=threads)
            if filled:
                notes.append(f"{filled} void pixels filled on the {grid.resolution:g} m grid")
            return data
    else:
        if not folder.is_dir():
            if reference is None:
                raise DemError("DEM folder does not exist (and DEM_Reference is NONE)", folder)
            folder.mkdir(parents=True, exist_ok=True)
        index = FolderIndex.scan(folder)
        try:
            choice = choose_source(bounds, index, reference, preferred=source_kind)
        except ValueError as exc:
            raise DemError(str(exc), folder) from None
        kind = choice.kind
        lg.info("DEM: %s tiles (%s) for %s: %s", kind.value, choice.reason, bounds.describe(),
                describe_tiles(choice.tiles))
        found: List[Tuple[DemTile, Path]] = []
        missing: List[DemTile] = []
        absent: List[DemTile] = []
        for tile in choice.tiles:
            path = index.find(tile)
            if path is not None:
                found.append((tile, path))
            elif index.is_missing(tile):
                missing.append(tile)
            else:
                absent.append(tile)
        if absent:
            if reference is not None:
                steps(0.02, f"downloading {len(absent)} DEM tile(s)")
                fetched = fetch_tiles(absent, folder, reference, settings=download, cancel=steps.cancel,
                                      progress=steps.sub(0.02, 0.5), logger=lg)
                for r in fetched:
                    if r.path is not None:
                        found.append((r.tile, r.path))
                        if r.downloaded:
                            downloaded.append(r.path.name)
                    else:
                        missing.append(r.tile)
            elif absent_sea:
                lg.warning("DEM tiles not in %s, treated as sea (0 m): %s", folder, describe_tiles(absent))
                missing.extend(absent)
            else:
                raise DemError(f"DEM tile(s) missing from the folder and DEM_Reference is NONE: "
                               f"{describe_tiles(absent)}", folder)
        missing_names = [t.file_name for t in missing]
        if not found:
            raise DemError(f"no {kind.value} tile with data covers the tile ({bounds.describe()}); "
                           f"all {len(missing)} covering tile(s) are missing (sea)", folder)
        steps(0.5, "mosaicking the DEM tiles")
        sources = [SourceRaster(_gdal_path(p, t), t) for t, p in found]
        mosaic = build_mosaic(sources, missing, bounds, max_void_px=max_void_px, cancel=steps.cancel, logger=lg)
        notes.extend(mosaic.notes)
        if mosaic.resampled_sources:
            notes.append(f"{mosaic.resampled_sources} tile(s) of another pixel spacing resampled (cubic)")
        sources_desc = tuple(str(p) for _, p in found)

        def to_grid(grid: TileGrid) -> np.ndarray:
            return reproject(mosaic, grid, "cubicspline", threads=threads)

    # the horizon grid (coarse, wide halo): sky view, flat-terrain rule and statistics
    steps(0.6, f"reprojecting the DEM to the {hres} m grid")
    hgrid = tile_grid(geocoding, hres, halo=hhalo)
    hdem = to_grid(hgrid)
    hslope, _ = T.slope_aspect(_crop(hdem, hhalo - 1), hres)
    hslope = _crop(hslope, 1)
    helev = _crop(hdem, hhalo)
    steps(0.65, "computing the horizon sky-view factor")
    hsvf = T.horizon_sky_view(hdem, hres, radius_m=svf_radius_m, directions=svf_directions, halo=hhalo)
    p2p, slope_th, steep = flat_rule
    flat = T.is_flat(helev, hslope, p2p, slope_th, steep)

    layers: Dict[int, TerrainLayers] = {}
    for i, res in enumerate(res_list):
        steps(0.7 + 0.3 * i / len(res_list), f"terrain layers at {res} m")
        if res == hres:
            dem_h = _crop(hdem, hhalo - 1)
        else:
            dem_h = to_grid(tile_grid(geocoding, res, halo=1))
        elevation = _crop(dem_h, 1)         # a view: the 1-pixel halo stays attached, no copy
        slope, aspect, svf, cos_i = _layers(dem_h, res, hsvf, hres, sun_angles, mean_sun)
        layers[res] = TerrainLayers(res, elevation, slope, aspect, svf, cos_i)
    mean_elev = float(np.mean(helev, dtype=np.float64))
    result = DemResult(STATUS_DEM, kind, layers, flat_terrain=flat, source_files=sources_desc,
                       downloaded=tuple(downloaded), missing_tiles=tuple(missing_names), notes=notes,
                       mean_elevation_m=mean_elev, mean_slope_deg=float(np.mean(hslope, dtype=np.float64)),
                       max_elevation_m=float(np.max(helev)))
    lg.info("DEM ready: %s, mean %.0f m, range %.0f..%.0f m, mean slope %.1f°%s", kind.value, mean_elev,
            float(helev.min()), float(helev.max()), result.mean_slope_deg,
            " (flat terrain: no terrain correction)" if flat else "")
    return result


def _crop(a: np.ndarray, k: int) -> np.ndarray:
    """`a` without a border of k pixels."""
    return a[k:a.shape[0] - k, k:a.shape[1] - k]


def _layers(dem_h: np.ndarray, res: int, hsvf: np.ndarray, hres: float, sun_angles: Optional[AngleGrid],
            mean_sun: Optional[Tuple[float, float]], block_rows: int = 1024):
    """Slope, aspect, sky view and cos(i) of a DEM with a 1-pixel halo, in row blocks so that the
    temporaries stay small (a 10 m tile holds only the four float32 outputs at full size)."""
    nrows, ncols = dem_h.shape[0] - 2, dem_h.shape[1] - 2
    slope = np.empty((nrows, ncols), np.float32)
    aspect = np.empty((nrows, ncols), np.float32)
    svf = np.empty((nrows, ncols), np.float32)
    cos_i = np.empty((nrows, ncols), np.float32) if (sun_angles is not None or mean_sun is not None) else None
    cols = (np.arange(ncols) + 0.5) * res / hres - 0.5
    for r0 in range(0, nrows, block_rows):
        r1 = min(nrows, r0 + block_rows)
        s, a = T.slope_aspect(dem_h[r0:r1 + 2], res)
        s, a = _crop(s, 1), _crop(a, 1)
        slope[r0:r1], aspect[r0:r1] = s, a
        rows = (np.arange(r0, r1) + 0.5) * res / hres - 0.5
        svf[r0:r1] = np.minimum(T.sky_view_slope(s), separable_linear(hsvf, rows, cols))
        if cos_i is not None:
            if sun_angles is not None:
                sza, saa = T.sun_angles_on_grid(sun_angles, res, (r1 - r0, ncols), row_offset=r0)
            else:
                assert mean_sun is not None
                sza, saa = min(float(mean_sun[0]), 70.0), float(mean_sun[1])   # SZA clipped as §4.3
            cos_i[r0:r1] = T.cos_illumination(s, a, sza, saa)
    return slope, aspect, svf, cos_i
