"""One product, one call: the contract every entry point uses (CLI, QGIS, batch runner).

    result = process_product(l1c_path, options, progress=callback, cancel=event, log=logger)

`options` is plain data (picklable for Dask workers). `progress(fraction, message)` is called at
each stage; `cancel` (anything with `is_set()`) is checked at the same places and stops the run
with `CancelledError`, leaving nothing behind (the product is written under a temporary name and
renamed only at the end).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

from .errors import CancelledError, NotImplementedYetError

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
    def step(fraction: float, message: str) -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("processing cancelled")
        log.info(message)
        if progress is not None:
            progress(fraction, message)
    return step


def process_product(l1c_path: Union[str, Path], options: ProcessingOptions,
                    progress: Optional[ProgressCallback] = None, cancel: Any = None,
                    log: Optional[logging.Logger] = None) -> ProcessingResult:
    """Convert one Level-1C product; returns where the Level-2A product is.

    Raises Sen2CorError subclasses (one-line messages naming the file) on bad input, and
    NotImplementedYetError for processing that this build does not contain yet.
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
    if not options.cr_only:
        what = ("scene classification (--sc_only)" if options.sc_only
                else "L2A processing (scene classification and atmospheric correction)")
        raise NotImplementedYetError(f"{what} is not implemented yet; use --cr_only to create the product tree")
    step(0.0, "reading the Level-1C product")
    product = read_l1c(l1c_path)
    output_dir = Path(options.output_dir) if options.output_dir else default_output_dir(l1c_path)
    for folder in (options.work_dir, options.img_database_dir, options.res_database_dir):
        if folder:
            os.makedirs(folder, exist_ok=True)
    step(0.1, "creating the Level-2A product tree")
    l2a = create_l2a_tree(
        product, output_dir, baseline=output_baseline(options, config),
        product_doi=config.product_doi, processing_centre=options.processing_centre,
        archiving_centre=options.archiving_centre, output_format=options.output_format,
    )
    if progress is not None:
        progress(1.0, "Level-2A product complete")
    return ProcessingResult(product_path=l2a, seconds=time.monotonic() - started)
