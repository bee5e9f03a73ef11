"""`L2A_Process`: Sen2Cor 2.11's command line, option for option.

The options, their names and their semantics are Sen2Cor's; each L2A_GIPP.xml parameter can
also be overridden by a flag derived from the configuration declaration. Errors end the run
with one line naming the file and the problem, and exit status 1 (argument errors: 2).
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

from .errors import Sen2CorError
from .memory import limit_malloc_arenas
from .version import PLUGIN_VERSION, SEN2COR_VERSION

log = logging.getLogger("sen2cor_qgis")

CENTRE_PATTERN = re.compile(r"^[A-Z_]{4}$")
BASELINE_PATTERN = re.compile(r"^\d{2}\.\d{2}$")
MODES = ("generate_datastrip", "process_tile")
PROG = "L2A_Process"


def _centre(value: str) -> str:
    if not CENTRE_PATTERN.match(value):
        raise argparse.ArgumentTypeError(f"'{value}' must be four characters A-Z or '_' (e.g. SGS_)")
    return value


def _baseline(value: str) -> str:
    if not BASELINE_PATTERN.match(value):
        raise argparse.ArgumentTypeError(f"'{value}' must have the form dd.dd (e.g. 02.11, 99.99)")
    return value


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0:
        raise argparse.ArgumentTypeError(f"'{value}' must be a positive number")
    return number


def whole_number_at_least(minimum: int):
    """An argparse type: a whole number >= minimum (shared with L2A_Batch's flags)."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
        if number < minimum:
            limit = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"'{value}' must be {limit}")
        return number
    return parse


_non_negative_int = whole_number_at_least(0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: Sen2Cor's options plus the derived L2A_GIPP overrides."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            f"Sentinel-2 Level-2A processor (Sen2Cor {SEN2COR_VERSION} compatible command line). "
            "Converts a Level-1C product (.SAFE folder, .zip or MTD_MSIL1C.xml) into a Level-2A product."
        ),
    )
    parser.add_argument("input_dir", nargs="?", default=None,
                        help="Level-1C product: .SAFE folder, .zip of one, or its MTD_MSIL1C.xml "
                             "(required in toolbox mode)")
    add_processing_arguments(parser, pdgs=True)
    parser.add_argument("--version", action="version",
                        version=f"{PROG} {PLUGIN_VERSION} (Sen2Cor {SEN2COR_VERSION} compatible)")
    add_override_arguments(parser)
    return parser


def add_processing_arguments(parser: argparse.ArgumentParser, pdgs: bool = True) -> None:
    """Sen2Cor's processing options (everything but the input and --version), shared by
    L2A_Process and L2A_Batch. pdgs=False leaves out the PDGS-only --mode/--datastrip/--tile."""
    if pdgs:
        parser.add_argument("--mode", choices=MODES, default=None,
                            help="PDGS operation mode; absent: toolbox mode (standalone processing)")
    parser.add_argument("--resolution", type=int, choices=(10, 20, 60), default=None,
                        help="target resolution; absent: 20 m then 10 m (plus 60 m when Downsample_20_to_60)")
    if pdgs:
        parser.add_argument("--datastrip", default=None, help="datastrip folder (PDGS modes)")
        parser.add_argument("--tile", default=None, help="tile (granule) folder (process_tile mode)")
    parser.add_argument("--output_dir", default=None,
                        help="output folder, created if missing (default: the folder holding the input product)")
    parser.add_argument("--work_dir", default=None, help="work folder (created if missing)")
    parser.add_argument("--img_database_dir", default=None,
                        help="folder of the L1C image database (default: the work folder)")
    parser.add_argument("--res_database_dir", default=None,
                        help="folder of the result database (default: the work folder)")
    parser.add_argument("--processing_centre", type=_centre, default=None,
                        help="processing centre, 4 characters ^[A-Z_]{4}$, e.g. SGS_")
    parser.add_argument("--archiving_centre", type=_centre, default=None,
                        help="archiving centre, 4 characters ^[A-Z_]{4}$")
    parser.add_argument("--processing_baseline", type=_baseline, default=None,
                        help="processing baseline dd.dd of the output (overrides L2A_PB_GIPP.xml)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--raw", action="store_true", help="write images as ENVI raw files instead of JPEG 2000")
    fmt.add_argument("--tif", action="store_true", help="write images as GeoTIFF instead of JPEG 2000")
    parser.add_argument("--sc_only", action="store_true", help="scene classification only (20 m or 60 m)")
    parser.add_argument("--sc_classic", action="store_true",
                        help="classic scene classification (Sen2Cor 2.9 behaviour) instead of the evolution mode")
    parser.add_argument("--sc_cog", action="store_true", help="write the SCL as a Cloud-Optimized GeoTIFF")
    parser.add_argument("--cr_only", action="store_true",
                        help="create the empty L2A product tree and metadata only, no processing")
    parser.add_argument("--debug", action="store_true", help="log level DEBUG")
    parser.add_argument("--aux_data_dir", default=None, metavar="FOLDER",
                        help="auxiliary-data folder holding GlobalSnowMap.tiff and the ESA CCI maps "
                             "under Sen2Cor's file names (default: $SEN2COR_HOME/aux_data). An "
                             "extension of this processor: Sen2Cor reads <installation>/aux_data and "
                             "has no such option")
    parser.add_argument("--cams", type=str.upper, choices=("AUTO", "ON", "OFF"), default="AUTO",
                        help="CAMS netCDF files in the auxiliary-data folder under Sen2Cor 3's layout "
                             "(ECMWF/daily/YYYYMMDD/*.nc, ECMWF/monthly/YYYYMM/*.nc): AUTO uses them "
                             "when found, ON requires them, OFF never looks (an extension of this "
                             "processor; they take precedence over the product's AUX_CAMSFO/AUX_ECMWFT)")
    parser.add_argument("--dem_download_timeout", type=_positive_float, default=30.0, metavar="S",
                        help="seconds without data before a DEM download attempt fails (an "
                             "extension of this processor; default 30)")
    parser.add_argument("--dem_download_retries", type=_non_negative_int, default=3, metavar="N",
                        help="extra DEM download attempts after the first one (an extension of this "
                             "processor; default 3)")
    parser.add_argument("--memory_limit_mb", type=int, default=0, metavar="MB",
                        help="memory cap in MB (0: none): the processing lowers its parallelism "
                             "so that its full-tile buffers fit (an extension of this processor)")
    for name, what in (("GIP_L2A", "L2A_GIPP.xml"), ("GIP_L2A_SC", "L2A_CAL_SC_GIPP.xml"),
                       ("GIP_L2A_AC", "L2A_CAL_AC_GIPP.xml"), ("GIP_L2A_PB", "L2A_PB_GIPP.xml")):
        parser.add_argument(f"--{name}", default=None,
                            help=f"alternative {what}: a path, or a file name in $SEN2COR_HOME/cfg")


def add_override_arguments(parser: argparse.ArgumentParser) -> None:
    """The "L2A_GIPP overrides" flags (one per user parameter of L2A_GIPP.xml); add them last."""
    from .config import cli_args as cli_overrides

    cli_overrides.add_override_arguments(parser)


def validate_processing_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Cross-option rules that concern processing (shared by L2A_Process and L2A_Batch)."""
    if args.cr_only and args.sc_only:
        parser.error("--cr_only and --sc_only exclude each other")
    if args.sc_only and args.resolution == 10:
        parser.error("--sc_only runs at 20 m or 60 m only (scene classification is never computed at 10 m)")


def _validate_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Cross-option rules of Sen2Cor's argument handling."""
    if args.mode is None:
        if not args.input_dir:
            parser.error("input_dir is required in toolbox mode (no --mode given)")
    elif args.mode == "generate_datastrip":
        missing = [o for o in ("datastrip", "processing_centre", "archiving_centre", "work_dir", "output_dir")
                   if getattr(args, o) is None]
        if missing:
            parser.error("--mode generate_datastrip requires " + ", ".join("--" + m for m in missing))
    elif args.mode == "process_tile":
        missing = [o for o in ("datastrip", "tile", "work_dir", "output_dir") if getattr(args, o) is None]
        if missing:
            parser.error("--mode process_tile requires " + ", ".join("--" + m for m in missing))
    validate_processing_arguments(parser, args)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    _validate_combinations(parser, args)
    return args


class _ConsoleHandler(logging.StreamHandler):
    """Logs to whatever `sys.stderr` is at the time of the record (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _setup_logging(debug: bool, level_name: str = "INFO") -> None:
    level = logging.DEBUG if debug else getattr(logging, level_name, logging.INFO)
    root = logging.getLogger("sen2cor_qgis")
    root.setLevel(level)
    if not any(isinstance(h, _ConsoleHandler) for h in root.handlers):
        root.addHandler(_ConsoleHandler())
    for h in root.handlers:
        h.setLevel(level)


def _progress(percent: float, message: str) -> None:
    print(f"Progress[%]: {percent:6.2f} : {message}", flush=True)


def options_from_args(args: argparse.Namespace):
    """The engine's ProcessingOptions for parsed command-line arguments."""
    from .config import cli_args
    from .pipeline import ProcessingOptions

    return ProcessingOptions(
        output_dir=args.output_dir, resolution=args.resolution, work_dir=args.work_dir,
        img_database_dir=args.img_database_dir, res_database_dir=args.res_database_dir,
        processing_centre=args.processing_centre, archiving_centre=args.archiving_centre,
        processing_baseline=args.processing_baseline,
        output_format="RAW" if args.raw else "TIF" if args.tif else "JP2",
        sc_only=args.sc_only, sc_classic=args.sc_classic, sc_cog=args.sc_cog, cr_only=args.cr_only,
        debug=args.debug, gip_l2a=args.GIP_L2A, gip_sc=args.GIP_L2A_SC, gip_ac=args.GIP_L2A_AC,
        gip_pb=args.GIP_L2A_PB, overrides=cli_args.overrides_from_args(args),
        aux_data_dir=getattr(args, "aux_data_dir", None),
        memory_limit_mb=getattr(args, "memory_limit_mb", 0) or 0,
        cams=getattr(args, "cams", None) or "AUTO",
        dem_download_timeout=getattr(args, "dem_download_timeout", 30.0),
        dem_download_retries=getattr(args, "dem_download_retries", 3),
    )


def run(args: argparse.Namespace) -> Path:
    """Execute one L2A_Process invocation; returns the L2A product path (PDGS modes: the L2A
    datastrip or tile folder, core.pdgs)."""
    from .pipeline import process_product

    def progress(fraction: float, message: str) -> None:
        _progress(100.0 * fraction, message)

    if args.mode == "generate_datastrip":
        return _generate_datastrip(args)
    if args.mode == "process_tile":
        from .pdgs import process_tile
        return process_tile(args.datastrip, args.tile, args.work_dir, args.output_dir,
                            options_from_args(args), progress=progress)
    result = process_product(args.input_dir, options_from_args(args), progress=progress)
    return result.product_path


def _generate_datastrip(args: argparse.Namespace) -> Path:
    """--mode generate_datastrip: the L2A baseline is --processing_baseline, else that of a PB
    GIPP named with --GIP_L2A_PB, else 99.99 (as the toolbox product's); the work folder is
    created (Sen2Cor's contract) once the datastrip is written."""
    from .config import load_config
    from .pdgs import generate_datastrip
    from .pipeline import output_baseline

    options = options_from_args(args)
    baseline = options.processing_baseline
    if not baseline:
        config = load_config(gip_l2a=options.gip_l2a, gip_sc=options.gip_sc, gip_ac=options.gip_ac,
                             gip_pb=options.gip_pb, overrides=options.overrides)
        baseline = output_baseline(options, config)
    path = generate_datastrip(args.datastrip, args.output_dir,
                              processing_centre=args.processing_centre,
                              archiving_centre=args.archiving_centre, baseline=baseline)
    Path(args.work_dir).expanduser().mkdir(parents=True, exist_ok=True)
    return path


def main(argv: Optional[List[str]] = None) -> int:
    """Console entry point; returns the exit status."""
    args = parse_args(argv)
    _setup_logging(args.debug)
    limit_malloc_arenas()       # a conversion process: its threads share two heap arenas
    started = time.monotonic()
    try:
        l2a = run(args)
    except Sen2CorError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        _progress(100.0, "Application terminated with at least one error.")
        return 1
    except KeyboardInterrupt:  # the product folder is removed by the atomic writer
        print(f"{PROG}: interrupted, nothing was written", file=sys.stderr)
        return 130
    log.info("finished in %.1f s", time.monotonic() - started)
    label = {"generate_datastrip": "L2A datastrip", "process_tile": "L2A tile"}.get(args.mode, "L2A product")
    print(f"{label}: {l2a}", flush=True)
    _progress(100.0, "Application terminated successfully.")
    return 0
