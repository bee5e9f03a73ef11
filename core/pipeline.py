"""One product, one call: the contract every entry point uses (CLI, QGIS, batch runner).

    result = process_product(l1c_path, options, progress=callback, cancel=event, log=logger)

`options` is plain data (picklable for Dask workers). `progress(fraction, message)` is called at
each stage and block; `cancel` (anything with `is_set()`) is checked at the same places (and
inside the image encoders) and stops the run with `CancelledError`, leaving nothing behind (the
product is written under a temporary name and renamed only at the end).

What runs (this build):
* ``--cr_only``: the empty L2A product tree and its metadata.
* ``--sc_only``: scene classification only (reference §3.1, §3.2), as a complete L2A product:
  classification at 20 m (60 m derived when Downsample_20_to_60) or natively at 60 m with
  ``--resolution 60``, with the DEM, the ESA CCI maps and the snow climatology when they are
  configured/installed; see `SceneClassificationOnly` for the files it writes.
* full processing (no flag): atmospheric correction does not exist yet ->
  NotImplementedYetError before anything is read or written.

The resolution scheduling (`Schedule`), the layer export and the metadata updates are written so
that the full pipeline extends them: it adds the atmospheric correction between classification
and export, replaces the TOA reflectance and zero AOT/WVP images by BOA/AOT/WVP, and adds the
10 m run.
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from .errors import CancelledError, ConfigError

ProgressCallback = Callable[[float, str], None]
OUTPUT_FORMATS = ("JP2", "TIF", "RAW")
DEFAULT_TOOLBOX_BASELINE = "99.99"


@dataclass
class ProcessingOptions:
    """Everything one L2A_Process run needs besides the input product (Sen2Cor's options)."""

    output_dir: Optional[str] = None            # default: the folder holding the input product
    resolution: Optional[int] = None            # None: 20 m then 10 m; or 10, 20, 60
    work_dir: Optional[str] = None
    img_database_dir: Optional[str] = None
    res_database_dir: Optional[str] = None
    processing_centre: Optional[str] = None
    archiving_centre: Optional[str] = None
    processing_baseline: Optional[str] = None   # 'dd.dd'; None: L2A_PB_GIPP.xml
    output_format: str = "JP2"                  # JP2 | TIF | RAW
    sc_only: bool = False
    sc_classic: bool = False
    sc_cog: bool = False
    cr_only: bool = False
    debug: bool = False
    gip_l2a: Optional[str] = None
    gip_sc: Optional[str] = None
    gip_ac: Optional[str] = None
    gip_pb: Optional[str] = None
    overrides: Dict[str, Any] = field(default_factory=dict)  # L2A_GIPP parameter -> value
    sen2cor_home: Optional[str] = None          # None: $SEN2COR_HOME or ~/sen2cor/2.11
    # Auxiliary-data folder: GlobalSnowMap.tiff and the ESA CCI maps under Sen2Cor's names (an
    # extension: Sen2Cor reads <installation>/aux_data). None: <SEN2COR_HOME>/aux_data, the home
    # folder the configuration was loaded with. Files absent there are tolerated (logged, with
    # what the classification loses); see SceneClassificationOnly.prepare_auxiliary.
    aux_data_dir: Optional[str] = None
    # Memory cap in MB (an extension; 0: none): the full processing lowers its parallelism (bands
    # corrected at once, images queued for encoding) so that its full-tile buffers fit into half
    # of it; see FullProcessing.parallelism. Logged when the run's peak exceeds it.
    memory_limit_mb: int = 0
    # CAMS netCDF files in the auxiliary-data folder under Sen2Cor 3's layout (an extension; see
    # core.auxdata.cams_inputs): AUTO uses them when found, ON requires them, OFF never looks.
    cams: str = "AUTO"
    # DEM downloads (an extension; core.auxdata.dem_download.DownloadSettings): seconds without
    # data before an attempt fails, and extra attempts after the first one.
    dem_download_timeout: float = 30.0
    dem_download_retries: int = 3

    def __post_init__(self) -> None:
        self.output_format = self.output_format.upper()
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {self.output_format!r}")
        if self.resolution not in (None, 10, 20, 60):
            raise ValueError(f"resolution must be 10, 20 or 60, got {self.resolution!r}")
        if int(self.memory_limit_mb or 0) < 0:
            raise ValueError(f"memory_limit_mb must be 0 (no cap) or positive, got {self.memory_limit_mb!r}")
        mode = str(self.cams or "").strip().upper()       # core.auxdata.cams_inputs.CAMS_MODES
        if mode not in ("AUTO", "ON", "OFF"):
            raise ValueError(f"cams must be AUTO, ON or OFF, got {self.cams!r}")
        self.cams = mode
        if not float(self.dem_download_timeout) > 0:
            raise ValueError(f"dem_download_timeout must be positive, got {self.dem_download_timeout!r}")
        if int(self.dem_download_retries) < 0:
            raise ValueError(f"dem_download_retries must be 0 or more, got {self.dem_download_retries!r}")


@dataclass
class ProcessingResult:
    """What one run produced."""

    product_path: Path
    seconds: float
    resolutions: tuple = ()
    image_content_qi: Dict[str, Any] = field(default_factory=dict)   # MTD_TL Image_Content_QI values


def default_output_dir(input_path: Union[str, Path]) -> Path:
    """Sen2Cor's default output folder: the one that holds the input product."""
    p = Path(input_path).absolute()
    if p.name.upper() == "MTD_MSIL1C.XML":
        p = p.parent
    return p.parent


def output_baseline(options: ProcessingOptions, config: Any) -> str:
    """Baseline of the output product name: --processing_baseline, else a PB GIPP the user named
    with --GIP_L2A_PB, else 99.99 (N9999), the standalone toolbox default users know."""
    if options.processing_baseline:
        return options.processing_baseline
    if options.gip_pb:
        return config.pb.baseline_version
    return DEFAULT_TOOLBOX_BASELINE


def _checker(progress: Optional[ProgressCallback], cancel: Any, log: logging.Logger):
    """step(fraction, message, detail=False): check cancel, log (detail: DEBUG), report. The
    reported fraction never goes back (bands corrected in parallel report interleaved)."""
    reached = [0.0]

    def step(fraction: float, message: str, detail: bool = False) -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("processing cancelled")
        log.log(logging.DEBUG if detail else logging.INFO, message)
        if progress is not None:
            reached[0] = max(reached[0], min(1.0, max(0.0, fraction)))
            progress(reached[0], message)
            if cancel is not None and cancel.is_set():   # cancelled from the callback itself
                raise CancelledError("processing cancelled")
    return step


def _span(step, start: float, end: float):
    """A progress(fraction, message) for a sub-stage mapped onto [start, end] of the run."""
    def report(fraction: float, message: str) -> None:
        step(start + (end - start) * min(1.0, max(0.0, fraction)), message, detail=True)
    return report


# ----------------------------------------------------------------------------- scheduling
@dataclass(frozen=True)
class Schedule:
    """Which grids one run computes (Sen2Cor's resolution scheduling, reference §3.2)."""

    classification: int                 # resolution of the scene classification (20 or 60)
    native: Tuple[int, ...]             # resolutions processed on their own grid
    derived: Tuple[int, ...] = ()       # resolutions derived from the finer run (60 m from 20 m)

    @property
    def resolutions(self) -> Tuple[int, ...]:
        """Every resolution the product holds images for."""
        return tuple(sorted(set(self.native) | set(self.derived)))


def sc_only_schedule(resolution: Optional[int], downsample_20_to_60: bool) -> Schedule:
    """--sc_only (reference §3.1, §3.2): scene classification at 20 m when --resolution is absent
    or 20, with the 60 m product derived from it when Downsample_20_to_60 is TRUE; natively at
    60 m with --resolution 60 (Downsample_20_to_60 is then forced FALSE). There is no 10 m run:
    no classification is computed at 10 m and --sc_only forces no 20 m pre-run, so
    --resolution 10 is refused, as the command line does."""
    if resolution == 10:
        raise ConfigError("--sc_only runs at 20 m or 60 m only (scene classification is never "
                          "computed at 10 m); use --resolution 20 or 60")
    if resolution == 60:
        return Schedule(classification=60, native=(60,))
    return Schedule(classification=20, native=(20,), derived=(60,) if downsample_20_to_60 else ())


def ozone_choice(config: Any, product: Any) -> Tuple[str, float]:
    """(OZONE_SOURCE, OZONE_VALUE in DU), reference §4.6: Ozone_Content > 0 -> CONFIG and that
    value; 0 -> the mean of the positive AUX_ECMWFT total-ozone values (AUX_ECMWFT); no readable
    AUX field -> 331 DU (OTHER)."""
    configured = float(getattr(config, "ozone_content", 0) or 0)
    if configured > 0:
        return "CONFIG", configured
    mean = product.granule.auxiliary.mean_ozone_du
    if mean is not None:
        return "AUX_ECMWFT", float(mean)
    return "OTHER", 331.0


# ------------------------------------------------------------------------------ entry point
def process_product(l1c_path: Union[str, Path], options: ProcessingOptions,
                    progress: Optional[ProgressCallback] = None, cancel: Any = None,
                    log: Optional[logging.Logger] = None) -> ProcessingResult:
    """Convert one Level-1C product; returns where the Level-2A product is.

    Raises Sen2CorError subclasses (one-line messages naming the file) on bad input, and
    NotImplementedYetError for processing that this build does not contain yet (full L2A
    processing: atmospheric correction).
    """
    from .config import load_config
    from .product.run_report import RunReport

    log = log or logging.getLogger("sen2cor_qgis")
    started = time.monotonic()
    step = _checker(progress, cancel, log)
    config = load_config(gip_l2a=options.gip_l2a, gip_sc=options.gip_sc, gip_ac=options.gip_ac,
                         gip_pb=options.gip_pb, overrides=options.overrides, home=options.sen2cor_home)
    level = logging.DEBUG if options.debug else config.log_level     # Sen2Cor's Log_Level
    log.setLevel(level)
    report = RunReport(level)
    log.addHandler(report)
    try:
        with gdal_block_cache(options.memory_limit_mb):
            return _process(l1c_path, options, config, log, report, step, progress, cancel, started)
    finally:
        log.removeHandler(report)


GDAL_CACHE_MB = 32


@contextmanager
def gdal_block_cache(memory_limit_mb: int = 0):
    """GDAL's block cache bounded for the run, then restored. Its default (5 % of the RAM) fills
    with decoded JPEG 2000 tiles of the bands read and with the dirty blocks of the staged image
    files written strip by strip - gigabytes that the run does not need: reads are aligned to
    the tiles and every strip is written once. 32 MB, or an eighth of a memory cap if smaller."""
    from osgeo import gdal

    budget = GDAL_CACHE_MB if not memory_limit_mb else max(32, min(GDAL_CACHE_MB, int(memory_limit_mb) // 8))
    previous = gdal.GetCacheMax()
    gdal.SetCacheMax(min(previous, budget * 2 ** 20))
    try:
        yield
    finally:
        gdal.SetCacheMax(previous)


def _process(l1c_path, options: ProcessingOptions, config: Any, log: logging.Logger, report: Any,
             step, progress, cancel, started: float) -> ProcessingResult:
    from .product.l1c_reader import read_l1c
    from .product.l2a_tree import create_l2a_tree

    if options.cr_only and options.sc_only:
        raise ConfigError("--cr_only and --sc_only exclude each other")
    from .full_processing import FullProcessing, full_schedule
    downsample = bool(config.downsample_20_to_60)
    schedule = None                                          # refuses before anything is read
    if options.sc_only:
        schedule = sc_only_schedule(options.resolution, downsample)
    elif not options.cr_only:
        schedule = full_schedule(options.resolution, downsample)
    step(0.0, "reading the Level-1C product")
    product = read_l1c(l1c_path)
    output_dir = Path(options.output_dir) if options.output_dir else default_output_dir(l1c_path)
    for folder in (options.work_dir, options.img_database_dir, options.res_database_dir):
        if folder:
            os.makedirs(folder, exist_ok=True)
    tree = dict(baseline=output_baseline(options, config), product_doi=config.product_doi,
                processing_centre=options.processing_centre,
                archiving_centre=options.archiving_centre, output_format=options.output_format)
    if schedule is None:
        step(0.02, "creating the Level-2A product tree")
        l2a = create_l2a_tree(product, output_dir, **tree)
        resolutions: tuple = ()
        qi: Dict[str, Any] = {}
    else:
        from .roi import WindowedProduct, describe, resolve_roi
        window = resolve_roi(config, product, log)      # ConfigError before anything is written
        if window is not None:
            log.info("region of interest: %s; outside it the product is NO_DATA", describe(window))
        work = WindowedProduct(product, window) if window is not None else product
        kind = SceneClassificationOnly if options.sc_only else FullProcessing
        run = kind(work, options, config, schedule, step, cancel, log)
        run.report = report
        run.prepare_auxiliary()     # DEM (may stop the run), ESA CCI, snow: before anything is written
        step(run.TREE, "creating the Level-2A product tree")
        l2a = create_l2a_tree(product, output_dir, resolutions=schedule.resolutions,
                              dem_type=run.production_dem_type,
                              dem_resolutions=run.dem_output_resolutions,
                              aux_references=run.aux_references(), populate=run.populate, **tree)
        resolutions, qi = run.schedule.resolutions, run.image_content_qi
    log.info("Level-2A product %s written in %.1f s", l2a.name, time.monotonic() - started)
    _write_home_report(report, config, options, l2a.name, log)
    if progress is not None:
        progress(1.0, "Level-2A product complete")
    return ProcessingResult(product_path=l2a, seconds=time.monotonic() - started,
                            resolutions=resolutions, image_content_qi=qi)


def _write_home_report(report: Any, config: Any, options: ProcessingOptions, name: str,
                       log: logging.Logger) -> None:
    """The whole run's report in $SEN2COR_HOME/log (Sen2Cor's place); a failure to write it is
    logged, never fatal (the product is complete)."""
    home = getattr(getattr(config, "sources", None), "home", None)
    if home is None:
        from .config import sen2cor_home
        home = sen2cor_home(options.sen2cor_home)
    try:
        path = report.write(report.home_report_path(home, name), name)
        log.debug("processing report: %s", path)
    except OSError as exc:
        log.warning("cannot write the processing report in %s/log: %s", home, exc)


# -------------------------------------------------------------------------------- --sc_only
class SceneClassificationOnly:
    """`--sc_only`: the scene classification written as a complete Level-2A product.

    Reference §3.1: "reflectance bands are exported as TOA, AOT/WVP/VIS/DDV as zero images". For
    the classification resolution R (20, or 60 with --resolution 60) and, from a 20 m run with
    Downsample_20_to_60, the derived 60 m, the product gets:
    * IMG_DATA/R<res>m: every layer of ESA's list (naming.RESOLUTION_LAYERS, §9.3) -
      reflectance bands as TOA: the L1C DN on the grid (§4.5: block mean + 0.5 for finer bands,
      bicubic/bilinear for B01/B09 from 60 m, NO_DATA 0) - the very arrays the classification
      read; the L2A encoding equals the L1C one (BOA_ADD_OFFSET = RADIO_ADD_OFFSET), so
      (DN + BOA_ADD_OFFSET) / 10000 gives the TOA reflectance; AOT and WVP zero images (no
      retrieval ran: NO_DATA everywhere); SCL; TCI (Generate_TCI_Output) from the TOA B04/B03/B02.
      The derived 60 m layers are 3 x 3 block means of the 20 m ones, the 60 m SCL the 3 x 3
      median then nearest (§4.5, §5.6). VIS is a temporary layer of Sen2Cor, never exported.
    * QI_DATA: MSK_CLDPRB_<res>m and MSK_SNWPRB_<res>m (uint8 %; 60 m by 3 x 3 block mean),
      MSK_DDVPXL_<R>m as a zero image when Generate_DDV_Output, and the 343 x 343 PVI from the
      coarsest TCI. No 10 m layer: the 10 m SCL is never a file (§5.6) and no 10 m run happens.
    * metadata: IMAGE_FILE lists exactly the images written; Image_Content_QI of MTD_MSIL2A.xml
      and MTD_TL.xml (class percentages of the classification grid, §5.7; accuracies 0.0 as
      Sen2Cor; GRANULE_MEAN_AOT/WV 0.0 - the zero images; AOT_RETRIEVAL_METHOD NONE; ozone per
      §4.6); L2A_QUALITY.xml scene-classification check list, the values known without an
      atmospheric correction (zero AOT/WV, ozone, sun zenith) and the auxiliary-data check list
      (below), global status PASSED (WARNING after a DEM fallback); manifest.safe (written by
      create_l2a_tree after this).
    Mode: 'evolution' by default, 'classic' with --sc_classic. Output format: JP2 / TIF / RAW,
    the SCL as COG with --sc_cog.

    Auxiliary data (`prepare_auxiliary`, called before the product tree is written, so that a
    DEM error with Force_Exit_On_DEM_Error TRUE leaves nothing behind; reference §2.1, §5, §7.3,
    §7.4), all on the classification grid:
    * DEM (DEM_Directory != NONE): core.auxdata.dem.prepare_dem. The classification gets the
      elevation (it derives slope, hillshade and cast shadows itself with the mean sun angles:
      thin-cirrus height limit, DEM water/shadow cleaning, topographic shadow, evolution-mode
      terrain shadows). A DEM problem: Force_Exit_On_DEM_Error TRUE -> DemError (one line, the
      command line exits 1, nothing written); FALSE -> flat terrain, WARNING in the log (by
      prepare_dem), DEM_STATUS 'FLAT_TERRAIN_FALLBACK: <reason>', globalStatus WARNING and the
      same text in the Notes of L2A_QUALITY.xml.
    * ESA CCI water bodies, land cover and the month's snow condition from the auxiliary-data
      folder (ProcessingOptions.aux_data_dir, default <SEN2COR_HOME>/aux_data; file names from
      L2A_CAL_SC_GIPP.xml): core.auxdata.esacci.load_esacci. Absent files: a WARNING naming what
      the classification loses, processing continues (as Sen2Cor). The water bodies also give
      CLOUDY_PIXEL_OVER_LAND_PERCENTAGE its land mask (§5.7).
    * Whether snow is possible (§5.2): GlobalSnowMap.tiff (Snow_Map) of that folder; absent ->
      the built-in latitude/elevation/month rule of core.auxdata.snow (with the DEM's highest
      ground when there is one), logged.
    * Metadata: Auxiliary_Data_Info PRODUCTION_DEM_TYPE (e.g. CopernicusDEM90), and
      SNOW_CLIMATOLOGY_MAP / ESACCI_* the names of the files actually used ('None' otherwise);
      L2A_QUALITY.xml L2A_AUX: DEM_TYPE, DEM_MEAN_ALTITUDE_KM, DEM_MEAN_SLOPE,
      GROUND_ELEVATION_ABOVE_3_KM, SOLAR_ZENITH_ANGLE_ABOVE_70_DEG, OZONE_SOURCE, AUX_DATA_FILES
      (names of the auxiliary files used: AUX_ECMWFT when it gave the ozone, DEM tiles, ESA CCI
      maps, GlobalSnowMap) and the extension value DEM_STATUS (core.product.l2a_quality).
    * Generate_DEM_Output TRUE with a DEM: AUX_DATA/T<tile>_<datatake start>_DEM_<res>m.<ext> in
      the product's output format, uint16 = elevation m + 10000 (§7.3 item 6, §9.1), for the
      resolution the classification ran at (no DEM file for the derived 60 m, as Sen2Cor 2.8's
      60 m export list), listed in MTD_MSIL2A IMAGE_FILE as GRANULE/<granule>/AUX_DATA/<stem>.
      Without a DEM (NONE or fallback) no DEM file is written (logged).
    """

    # progress fractions of the run (AUX: the auxiliary data, before the product tree)
    AUX, TREE, READ, CLASSIFY, EXPORT, METADATA, MANIFEST = 0.01, 0.09, 0.10, 0.20, 0.60, 0.95, 0.98

    def __init__(self, product: Any, options: ProcessingOptions, config: Any, schedule: Schedule,
                 step, cancel: Any, log: logging.Logger) -> None:
        self.product, self.options, self.config, self.schedule = product, options, config, schedule
        self.step, self.cancel, self.log = step, cancel, log
        self.mode = "classic" if options.sc_classic else "evolution"
        self.image_content_qi: Dict[str, Any] = {}
        self.dem: Any = None                        # core.auxdata.dem.DemResult
        self.elevation: Dict[int, np.ndarray] = {}  # DEM elevation (m, float32) by resolution
        self.cci: Any = None                        # core.auxdata.esacci.CciLayers
        self.snow: Any = None                       # core.auxdata.snow.SnowDecision
        self.snow_map_file: Optional[Path] = None   # GlobalSnowMap used (None: built-in rule)
        self.aux_dir: Optional[Path] = None
        self.report: Any = None                     # core.product.run_report.RunReport
        self._dem_outputs: Tuple[int, ...] = ()

    # -- auxiliary data ------------------------------------------------------------------------
    def aux_data_folder(self) -> Path:
        """--aux_data_dir, else <SEN2COR_HOME>/aux_data (the home the configuration came from)."""
        if self.options.aux_data_dir:
            return Path(self.options.aux_data_dir).expanduser()
        home = getattr(getattr(self.config, "sources", None), "home", None)
        if home is None:
            from .config import sen2cor_home
            home = sen2cor_home(self.options.sen2cor_home)
        return Path(home) / "aux_data"

    def prepare_auxiliary(self) -> None:
        """DEM, ESA CCI layers and the snow decision on the classification grid (class notes).
        Raises DemError (Force_Exit_On_DEM_Error TRUE) or CancelledError; writes nothing."""
        from .auxdata.dem import STATUS_DEM, prepare_dem
        from .auxdata.dem_download import DownloadSettings
        from .auxdata.esacci import LOST, CciLayers, load_esacci
        from .auxdata.snow import snow_possible

        cfg, granule = self.config, self.product.granule
        res = self.schedule.classification
        month = int(self.product.datatake_sensing_start.month)
        cci_stage = self.AUX + 0.8 * (self.TREE - self.AUX)
        dem_dir = cfg.dem_path()
        self.step(self.AUX, f"preparing the DEM ({dem_dir})" if dem_dir is not None
                  else "reading the auxiliary data")
        # No sun angles: the classification derives its hillshade from the mean sun angles itself.
        dem = prepare_dem(granule.geocoding, self.dem_resolutions, dem_dir, cfg.dem_reference,
                          force_exit_on_error=bool(cfg.force_exit_on_dem_error), cancel=self.cancel,
                          progress=_span(self.step, self.AUX, cci_stage), log=self.log,
                          threads=cfg.threads(),
                          download=DownloadSettings(timeout=float(self.options.dem_download_timeout),
                                                    retries=int(self.options.dem_download_retries)),
                          flat_rule=(cfg.ac.dem_p2p_val, cfg.ac.slope_th, cfg.ac.topo_corr_th))
        if dem.status == STATUS_DEM and dem.terrain is not None:
            self.elevation = {r: np.ascontiguousarray(t.elevation, dtype=np.float32)
                              for r, t in dem.terrain.items()}
            # slope, aspect and sky view are the atmospheric correction's: free them here
            dem.layers.clear()
        self.dem = dem
        if cfg.generate_dem_output:
            self._dem_outputs = tuple(r for r in self.schedule.native if r in self.elevation)

        self.step(cci_stage, "reading the ESA CCI maps and the snow climatology")
        folder = self.aux_data_folder()
        self.aux_dir = folder
        snow_map = folder / cfg.sc.snow_map
        if folder.is_dir():
            self.cci = load_esacci(granule.geocoding, res, folder, month,
                                   landcover_map=cfg.sc.esacci_landcover_map,
                                   waterbodies_map=cfg.sc.esacci_waterbodies_map,
                                   snowcondition_dir=cfg.sc.esacci_snowcondition_map_dir,
                                   logger=self.log)
            if not snow_map.is_file():
                self.log.warning("snow climatology %s not found: the built-in snow rule decides "
                                 "whether snow is possible on the tile", snow_map)
        else:
            self.cci = CciLayers(res, messages=[f"auxiliary-data folder {folder} not found"])
            self.log.warning(
                "auxiliary-data folder %s not found (Sen2Cor's aux_data: GlobalSnowMap.tiff and the "
                "ESA CCI maps; set --aux_data_dir): without ESA CCI land cover %s; without water "
                "bodies %s; without the snow condition %s; without GlobalSnowMap the built-in snow "
                "rule decides whether snow is possible", folder, LOST["landcover"],
                LOST["waterbodies"], LOST["snow_condition"])
        found_map = snow_map if snow_map.is_file() else None
        self.snow = snow_possible(granule.geocoding, month, snow_map=found_map,
                                  max_elevation_m=dem.max_elevation_m if self.elevation else None,
                                  logger=self.log)
        self.snow_map_file = found_map if self.snow.source == "GlobalSnowMap" else None
        self.log.info("snow possible on the tile: %s (%s: %s)%s", "yes" if self.snow.possible else "no",
                      self.snow.source, self.snow.reason,
                      "" if self.snow.possible else "; the snow branch of the classification is skipped")
        used = [name for name, layer in (("water bodies", self.cci.waterbodies),
                                         ("land cover", self.cci.landcover),
                                         ("snow condition", self.cci.snow_condition)) if layer is not None]
        self.log.info("ESA CCI layers used: %s", ", ".join(used) if used else "none")

    @property
    def dem_resolutions(self) -> Tuple[int, ...]:
        """Grids the DEM is prepared on: the classification's."""
        return (self.schedule.classification,)

    @property
    def production_dem_type(self) -> str:
        """PRODUCTION_DEM_TYPE of the product ('None' without a DEM)."""
        return self.dem.production_dem_type if self.dem is not None else "None"

    @property
    def dem_output_resolutions(self) -> Tuple[int, ...]:
        """Resolutions of the AUX_DATA DEM files (Generate_DEM_Output with a DEM), fixed by
        `prepare_auxiliary`."""
        return self._dem_outputs

    def aux_references(self) -> Dict[str, str]:
        """Auxiliary_Data_Info map entries: the names of the files actually used, 'None' for a
        reference not used (as Sen2Cor writes for a file that is not installed)."""
        from .product.l2a_settings import DEFAULT_AUX_REFERENCES
        refs = {key: "None" for key in DEFAULT_AUX_REFERENCES}
        if self.snow_map_file is not None:
            refs["SNOW_CLIMATOLOGY_MAP"] = self.snow_map_file.name
        cci = self.cci
        if cci is not None:
            for key, layer, value in (
                    ("ESACCI_WaterBodies_Map", "waterbodies", None),
                    ("ESACCI_LandCover_Map", "landcover", None),
                    ("ESACCI_SnowCondition_Map_Dir", "snow_condition",
                     self.config.sc.esacci_snowcondition_map_dir)):
                if getattr(cci, layer) is not None:
                    refs[key] = value or Path(cci.files[layer]).name
        return refs

    def aux_data_files(self, ozone_source: str) -> list:
        """AUX_DATA_FILES of L2A_QUALITY.xml: names of the auxiliary files the run used."""
        files = []
        ecmwft = self.product.granule.auxiliary.ecmwft_path
        if ozone_source == "AUX_ECMWFT" and ecmwft:
            files.append(Path(ecmwft).name)
        if self.dem is not None and self.dem.dem_type != "NONE":        # a DEM was used
            files += [Path(f).name for f in self.dem.source_files]
        if self.cci is not None:
            files += [Path(f).name for f in self.cci.files.values()]
        if self.snow_map_file is not None:
            files.append(self.snow_map_file.name)
        return files

    # -- the populate callback of create_l2a_tree ---------------------------------------------
    def populate(self, tmp: Path, names) -> None:
        from .sceneclass.product_inputs import product_source

        res = self.schedule.classification
        self.step(self.READ, f"reading the Level-1C bands at {res} m")
        inputs = product_source(self.product, res, progress=_span(self.step, self.READ, self.CLASSIFY))
        result = self.classify(inputs, self.EXPORT)
        source = inputs[0]
        del inputs
        if not self.dem_output_resolutions:
            self.elevation = {}          # not needed any more
        percentages = result.percentages(None if self.cci is None else self.cci.waterbodies)
        self.log.info("scene classification: %s", ", ".join(
            f"{k} {v:.2f}" for k, v in percentages.items() if v))
        with self.open_images(tmp, names) as images:      # files encoded in parallel
            self.export(images, result, source)
        del source
        self.write_dem_outputs(tmp, names)
        self.step(self.METADATA, "updating the product metadata")
        self.update_metadata(tmp, names, images, percentages)
        self.write_report(tmp, names)
        self.step(self.MANIFEST, "writing manifest.safe (checksums of every file)")

    def classify(self, inputs, progress_end: float):
        """The scene classification of the `product_source` inputs on the classification grid,
        with the auxiliary layers prepared by `prepare_auxiliary` (progress up to `progress_end`)."""
        from .sceneclass.product_inputs import classify_product

        res = self.schedule.classification
        self.step(self.CLASSIFY, f"scene classification at {res} m ({self.mode} mode)")
        cci = self.cci
        return classify_product(
            self.product, res, config=self.config, mode=self.mode, inputs=inputs,
            dem=self.elevation.get(res),
            esacci_water=None if cci is None else cci.waterbodies,
            esacci_landcover=None if cci is None else cci.landcover,
            snow_climatology=None if cci is None else cci.snow_condition,
            snow_possible=True if self.snow is None else bool(self.snow.possible),
            progress=_span(self.step, self.CLASSIFY, progress_end), cancel=self.cancel)

    @property
    def tile_geocoding(self) -> Any:
        """The tile's grids (the outputs keep them with a region of interest)."""
        return getattr(self.product, "full_product", self.product).granule.geocoding

    @contextmanager
    def open_images(self, tmp: Path, names):
        """The product's image writer (core.raster.l2a_images), fed with arrays of the processed
        window when a region of interest is set (core.roi.WindowedImages)."""
        from .raster.l2a_images import L2AImageWriter
        from .roi import WindowedImages

        with L2AImageWriter(tmp, names, self.tile_geocoding, self.options.output_format,
                            sc_cog=self.options.sc_cog, threads=self.config.threads(),
                            cancel=self.cancel, workers=self.writer_workers()) as images:
            window = getattr(self.product, "window", None)
            yield WindowedImages(images, window) if window is not None else images

    def writer_workers(self) -> Optional[int]:
        """Images encoded at once (None: one per thread, the writer's default)."""
        return None

    def write_report(self, tmp: Path, names) -> None:
        """The run's report so far into QI_DATA (core.product.run_report), before the manifest."""
        from .product.run_report import PRODUCT_REPORT
        if self.report is not None:
            self.log.info("writing the processing report %s", PRODUCT_REPORT)
            self.report.write(tmp / "GRANULE" / names.granule / "QI_DATA" / PRODUCT_REPORT,
                              names.product)

    # -- images --------------------------------------------------------------------------------
    def _files_planned(self) -> int:
        from .product import naming
        count = 0
        for res in self.schedule.resolutions:
            count += len(naming.RESOLUTION_LAYERS[res]) + len(naming.PROBABILITY_MASKS)
        return count + 1 + len(self.dem_output_resolutions)

    def write_dem_outputs(self, tmp: Path, names) -> None:
        """Generate_DEM_Output: AUX_DATA/T<tile>_<datatake start>_DEM_<res>m.<ext>, uint16 =
        elevation + 10000 (core.auxdata.dem.dem_output_array), on the tile grid."""
        from .auxdata.dem import dem_output_array
        from .raster.grid import Grid
        from .raster.writers import write_raster
        from .roi import embed

        if self.config.generate_dem_output and not self.dem_output_resolutions:
            self.log.info("Generate_DEM_Output is TRUE but no DEM was prepared (%s): no DEM file",
                          self.dem.status if self.dem is not None else "no DEM")
        planned, outputs = self._files_planned(), self.dem_output_resolutions
        for i, res in enumerate(outputs):
            done = planned - len(outputs) + i          # the images before it are written
            self.step(self.EXPORT + (self.METADATA - self.EXPORT) * done / planned,
                      f"writing the DEM at {res} m (AUX_DATA)")
            path = tmp / names.dem_relpath(res)
            grid = Grid.from_geocoding(self.tile_geocoding, res)
            write_raster(path, embed(dem_output_array(self.elevation.pop(res)),
                                     getattr(self.product, "window", None), res, grid.shape),
                         grid,
                         self.options.output_format, nodata=None,
                         descriptions=("Digital Elevation Model (elevation in m + 10000)",),
                         resolution=res, threads=self.config.threads(), cancel=self.cancel)
        self.elevation = {}

    def toa_dn(self, band: str, res: int, source) -> np.ndarray:
        """TOA DN of a band on the `res` grid (§4.5): the classification's own array when it
        read the band at its native or a finer resolution (taken out of `source`: the export
        consumes the classification inputs, so memory shrinks as files are written); B01/B09/B10
        from 60 m upsampled (bicubic / bilinear) with NO_DATA where the 60 m pixel is NO_DATA;
        else read and block-averaged."""
        from .product.model import NATIVE_RESOLUTION
        from .raster.resample import upsample_dn
        from .sceneclass.product_inputs import band_dn_at

        native = NATIVE_RESOLUTION[band]
        if native <= res and band in source.arrays:
            return np.asarray(source.arrays.pop(band))     # in memory, or read from a work database
        if native > res:
            nod_value = self.product.special_values.get("NODATA", 0)
            return upsample_dn(self.product.read_band(band), native // res, band,
                               nodata_value=nod_value, mark_nodata=True)[0]
        return band_dn_at(self.product, band, res)[0]

    def export(self, images, sc, source) -> None:
        """Write every image of the schedule (see the class docstring)."""
        from .product import naming
        from .raster.l2a_images import REFLECTANCE_BANDS
        from .raster.resample import block_mean_dn
        from .raster.tci import TCI_BANDS, true_colour_from

        product, cfg = self.product, self.config
        res = self.schedule.classification
        nod = product.special_values.get("NODATA", 0)
        offsets = {b: product.bands[b].radio_add_offset for b in product.bands}
        derive_60 = 60 in self.schedule.derived
        planned, done = self._files_planned(), [0]

        def wrote(message: str) -> None:
            done[0] += 1
            self.step(self.EXPORT + (self.METADATA - self.EXPORT) * done[0] / planned, message,
                      detail=True)

        def write_resolution(r: int, bands: Dict[str, np.ndarray], scl, cloud, snow,
                             keep_for_60: Optional[Dict[str, np.ndarray]]) -> np.ndarray:
            tci = None
            self.step(self.EXPORT + (self.METADATA - self.EXPORT) * done[0] / planned,
                      f"writing the {r} m images")
            for layer in naming.RESOLUTION_LAYERS[r]:
                if layer in REFLECTANCE_BANDS:
                    dn = bands[layer] if layer in bands else self.toa_dn(layer, r, source)
                    images.write_image(layer, r, dn)
                    if keep_for_60 is not None:
                        keep_for_60[layer] = block_mean_dn(dn, 3, nod)[0]
                    if layer in TCI_BANDS:
                        bands[layer] = dn
                elif layer == "TCI":
                    tci = true_colour_from(bands, offsets, nod)
                    for band in TCI_BANDS:      # no longer needed here (queued files keep theirs)
                        bands.pop(band, None)
                    if cfg.generate_tci_output:
                        images.write_image("TCI", r, tci)
                elif layer in ("AOT", "WVP"):
                    images.write_image(layer, r, np.zeros(images.grid(r).shape, dtype=np.uint16))
                elif layer == "SCL":
                    images.write_image("SCL", r, scl)
                else:   # a layer this run does not produce would be a programming error
                    raise RuntimeError(f"no rule to export {layer}")
                wrote(f"{layer} at {r} m")
            images.write_mask("MSK_CLDPRB", r, cloud)
            wrote(f"MSK_CLDPRB at {r} m")
            images.write_mask("MSK_SNWPRB", r, snow)
            wrote(f"MSK_SNWPRB at {r} m")
            return tci

        coarse: Optional[Dict[str, np.ndarray]] = {} if derive_60 else None
        tci = write_resolution(res, {}, sc.scl, sc.cloud_probability, sc.snow_probability, coarse)
        if cfg.generate_ddv_output:
            images.write_mask(naming.DDV_MASK, res, np.zeros(images.grid(res).shape, dtype=np.uint8))
        preview_res = res
        if derive_60:
            for band in naming.RESOLUTION_LAYERS[60]:
                if band in REFLECTANCE_BANDS and band not in coarse:     # B09: not a 20 m layer
                    coarse[band] = block_mean_dn(self.toa_dn(band, res, source), 3, nod)[0]
            scl60, cloud60, snow60 = sc.at_60m()
            tci = write_resolution(60, coarse, scl60, cloud60, snow60, None)
            preview_res = 60
        images.write_preview(tci, preview_res)
        wrote("the preview image (PVI)")

    # -- metadata ------------------------------------------------------------------------------
    def update_metadata(self, tmp: Path, names, images, percentages: Dict[str, float]) -> None:
        """IMAGE_FILE list, Image_Content_QI (product and tile), L2A_QUALITY.xml."""
        from .auxdata.dem import STATUS_DEM
        from .product.l2a_mtd import update_image_files
        from .product.l2a_qi import PRODUCT_QI_ORDER, update_image_content_qi
        from .product.l2a_quality import (CHECK_LISTS, DEM_STATUS_DEM, DEM_STATUS_NO_DEM, FILE_NAME,
                                          update_l2a_quality)
        from .product.l2a_tree import MTD_PRODUCT, MTD_TILE

        granule = tmp / "GRANULE" / names.granule
        dem_entries = [f"GRANULE/{names.granule}/AUX_DATA/{names.image_stem('DEM', r)}"
                       for r in self.dem_output_resolutions]
        update_image_files(tmp / MTD_PRODUCT, images.image_file_entries() + dem_entries)
        ozone_source, ozone_value = ozone_choice(self.config, self.product)
        common = {"RADIATIVE_TRANSFER_ACCURACY": 0.0, "WATER_VAPOUR_RETRIEVAL_ACCURACY": 0.0,
                  "AOT_RETRIEVAL_ACCURACY": 0.0, "AOT_RETRIEVAL_METHOD": "NONE",
                  "GRANULE_MEAN_AOT": 0.0, "GRANULE_MEAN_WV": 0.0,
                  "OZONE_SOURCE": ozone_source, "OZONE_VALUE": ozone_value}
        degraded = self.product.granule.degraded_msi_data_percentage
        tile_values: Dict[str, Any] = dict(percentages)
        tile_values["DEGRADED_MSI_DATA_PERCENTAGE"] = float(degraded or 0.0)
        tile_values.update(common)
        product_values = {k: v for k, v in tile_values.items() if k in PRODUCT_QI_ORDER}
        update_image_content_qi(tmp / MTD_PRODUCT, product_values)
        update_image_content_qi(granule / MTD_TILE, tile_values)
        scene_class_names = [n for _, names_ in CHECK_LISTS[0][2] for n in names_]
        quality = {n: tile_values[n] for n in scene_class_names}
        # What is determined without an atmospheric correction: no AOT/WV retrieval (zero maps),
        # the ozone choice and the sun; the other AC values stay empty (nothing ran). Auxiliary
        # data: the DEM values and status, the files used.
        sza = float(self.product.granule.mean_sun_zenith)
        quality.update(AOT_RETRIEVAL_ACCURACY=0.0, GRANULE_MEAN_AOT=0.0, WV_RETRIEVAL_ACCURACY=0.0,
                       GRANULE_MEAN_WV=0.0, AOT_RETRIEVAL_METHOD="NONE", OZONE_VALUE=ozone_value,
                       OZONE_SOURCE=ozone_source, AVERAGE_SOLAR_ZENITH_ANGLE=sza,
                       SOLAR_ZENITH_ANGLE_ABOVE_70_DEG=sza > 70.0,
                       AUX_DATA_FILES=self.aux_data_files(ozone_source))
        status, notes = "PASSED", None
        if self.dem is not None:
            quality.update(self.dem.quality_values())
            quality["DEM_STATUS"] = self.dem.quality_warning or (
                DEM_STATUS_DEM if self.dem.status == STATUS_DEM else DEM_STATUS_NO_DEM)
            status = self.dem.global_status or status
            notes = self.dem.quality_warning
        else:
            quality.update(DEM_TYPE="NONE", DEM_STATUS=DEM_STATUS_NO_DEM)
        update_l2a_quality(granule / "QI_DATA" / FILE_NAME, quality, global_status=status, notes=notes)
        self.image_content_qi = tile_values
