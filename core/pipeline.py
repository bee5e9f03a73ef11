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
  ``--resolution 60``; see `SceneClassificationOnly` for the files it writes.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from .errors import CancelledError, ConfigError, NotImplementedYetError

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

    def __post_init__(self) -> None:
        self.output_format = self.output_format.upper()
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {self.output_format!r}")
        if self.resolution not in (None, 10, 20, 60):
            raise ValueError(f"resolution must be 10, 20 or 60, got {self.resolution!r}")


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
    """step(fraction, message, detail=False): check cancel, log (detail: DEBUG), report."""
    def step(fraction: float, message: str, detail: bool = False) -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("processing cancelled")
        log.log(logging.DEBUG if detail else logging.INFO, message)
        if progress is not None:
            progress(min(1.0, max(0.0, fraction)), message)
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
    from .product.l1c_reader import read_l1c
    from .product.l2a_tree import create_l2a_tree

    log = log or logging.getLogger("sen2cor_qgis")
    started = time.monotonic()
    step = _checker(progress, cancel, log)
    config = load_config(gip_l2a=options.gip_l2a, gip_sc=options.gip_sc, gip_ac=options.gip_ac,
                         gip_pb=options.gip_pb, overrides=options.overrides, home=options.sen2cor_home)
    log.setLevel(logging.DEBUG if options.debug else config.log_level)  # Sen2Cor's Log_Level
    if options.cr_only and options.sc_only:
        raise ConfigError("--cr_only and --sc_only exclude each other")
    if not (options.cr_only or options.sc_only):
        raise NotImplementedYetError(
            "L2A processing (scene classification and atmospheric correction) is not implemented "
            "yet; use --sc_only for the scene classification or --cr_only to create the product tree")
    schedule = (sc_only_schedule(options.resolution, bool(config.downsample_20_to_60))
                if options.sc_only else None)                # refuses before anything is read
    step(0.0, "reading the Level-1C product")
    product = read_l1c(l1c_path)
    output_dir = Path(options.output_dir) if options.output_dir else default_output_dir(l1c_path)
    for folder in (options.work_dir, options.img_database_dir, options.res_database_dir):
        if folder:
            os.makedirs(folder, exist_ok=True)
    tree = dict(baseline=output_baseline(options, config), product_doi=config.product_doi,
                processing_centre=options.processing_centre,
                archiving_centre=options.archiving_centre, output_format=options.output_format)
    step(0.02, "creating the Level-2A product tree")
    if schedule is None:
        l2a = create_l2a_tree(product, output_dir, **tree)
        resolutions: tuple = ()
        qi: Dict[str, Any] = {}
    else:
        run = SceneClassificationOnly(product, options, config, schedule, step, cancel, log)
        l2a = create_l2a_tree(product, output_dir, resolutions=schedule.resolutions,
                              aux_references=run.aux_references(), populate=run.populate, **tree)
        resolutions, qi = schedule.resolutions, run.image_content_qi
    if progress is not None:
        progress(1.0, "Level-2A product complete")
    return ProcessingResult(product_path=l2a, seconds=time.monotonic() - started,
                            resolutions=resolutions, image_content_qi=qi)


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
      atmospheric correction (zero AOT/WV, ozone, sun zenith, no DEM), global status PASSED;
      manifest.safe (written by create_l2a_tree after this).
    Mode: 'evolution' by default, 'classic' with --sc_classic. Output format: JP2 / TIF / RAW,
    the SCL as COG with --sc_cog.
    """

    # progress fractions of the run
    READ, CLASSIFY, EXPORT, METADATA, MANIFEST = 0.03, 0.15, 0.60, 0.95, 0.98

    def __init__(self, product: Any, options: ProcessingOptions, config: Any, schedule: Schedule,
                 step, cancel: Any, log: logging.Logger) -> None:
        self.product, self.options, self.config, self.schedule = product, options, config, schedule
        self.step, self.cancel, self.log = step, cancel, log
        self.mode = "classic" if options.sc_classic else "evolution"
        self.image_content_qi: Dict[str, Any] = {}

    def aux_references(self) -> Dict[str, str]:
        """Auxiliary_Data_Info map entries: this build's classification reads no ESA CCI map nor
        snow climatology yet (no DEM either: PRODUCTION_DEM_TYPE None), so they are 'None', as
        Sen2Cor writes for a reference it did not use."""
        from .product.l2a_settings import DEFAULT_AUX_REFERENCES
        return {key: "None" for key in DEFAULT_AUX_REFERENCES}

    # -- the populate callback of create_l2a_tree ---------------------------------------------
    def populate(self, tmp: Path, names) -> None:
        from .raster.l2a_images import L2AImageWriter
        from .sceneclass.product_inputs import classify_product, product_source

        res = self.schedule.classification
        self.step(self.READ, f"reading the Level-1C bands at {res} m")
        inputs = product_source(self.product, res, progress=_span(self.step, self.READ, self.CLASSIFY))
        self.step(self.CLASSIFY, f"scene classification at {res} m ({self.mode} mode)")
        result = classify_product(self.product, res, config=self.config, mode=self.mode, inputs=inputs,
                                  progress=_span(self.step, self.CLASSIFY, self.EXPORT), cancel=self.cancel)
        source = inputs[0]
        del inputs
        percentages = result.percentages()
        self.log.info("scene classification: %s", ", ".join(
            f"{k} {v:.2f}" for k, v in percentages.items() if v))
        with L2AImageWriter(tmp, names, self.product.granule.geocoding, self.options.output_format,
                            sc_cog=self.options.sc_cog, threads=self.config.threads(),
                            cancel=self.cancel) as images:      # files encoded in parallel
            self.export(images, result, source)
        del source
        self.step(self.METADATA, "updating the product metadata")
        self.update_metadata(tmp, names, images, percentages)
        self.step(self.MANIFEST, "writing manifest.safe (checksums of every file)")

    # -- images --------------------------------------------------------------------------------
    def _files_planned(self) -> int:
        from .product import naming
        count = 0
        for res in self.schedule.resolutions:
            count += len(naming.RESOLUTION_LAYERS[res]) + len(naming.PROBABILITY_MASKS)
        return count + 1

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
            return source.arrays.pop(band)
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
        from .product.l2a_mtd import update_image_files
        from .product.l2a_qi import PRODUCT_QI_ORDER, update_image_content_qi
        from .product.l2a_quality import CHECK_LISTS, FILE_NAME, update_l2a_quality
        from .product.l2a_tree import MTD_PRODUCT, MTD_TILE

        granule = tmp / "GRANULE" / names.granule
        update_image_files(tmp / MTD_PRODUCT, images.image_file_entries())
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
        # no DEM, the ozone choice and the sun; the other AC values stay empty (nothing ran).
        sza = float(self.product.granule.mean_sun_zenith)
        quality.update(AOT_RETRIEVAL_ACCURACY=0.0, GRANULE_MEAN_AOT=0.0, WV_RETRIEVAL_ACCURACY=0.0,
                       GRANULE_MEAN_WV=0.0, AOT_RETRIEVAL_METHOD="NONE", OZONE_VALUE=ozone_value,
                       OZONE_SOURCE=ozone_source, AVERAGE_SOLAR_ZENITH_ANGLE=sza,
                       SOLAR_ZENITH_ANGLE_ABOVE_70_DEG=sza > 70.0, DEM_TYPE="None")
        update_l2a_quality(granule / "QI_DATA" / FILE_NAME, quality, global_status="PASSED")
        self.image_content_qi = tile_values
