"""`L2A_Batch`: convert many Level-1C products with L2A_Process's options, on a Dask cluster.

    L2A_Batch /archive/2023 list.txt 'more/*.zip' --output_dir /l2a --cr_only
    L2A_Batch inputs.txt --output_dir /l2a --cluster slurm --cluster-config slurm.yaml
    L2A_Batch inputs.txt --output_dir /l2a --scheduler tcp://head-node:8786

Exit status: 0 all products converted (or already present), 1 some failed, 2 argument errors,
130 interrupted (Ctrl-C: running products stop cleanly; run the same command again to resume).
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional, Sequence

from .. import cli as process_cli
from ..errors import Sen2CorError
from ..version import PLUGIN_VERSION, SEN2COR_VERSION
from .cluster import DEFAULT_MEMORY_PER_PRODUCT, JOBQUEUE_KINDS

PROG = "L2A_Batch"


_positive_int = process_cli.whole_number_at_least(1)
_non_negative_int = process_cli.whole_number_at_least(0)


def _memory(value: str) -> float:
    from .common import parse_memory_gb

    try:
        return parse_memory_gb(value)
    except Sen2CorError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(f"Convert many Sentinel-2 Level-1C products to Level-2A (Sen2Cor {SEN2COR_VERSION} "
                     "compatible) on a Dask cluster: local, an existing scheduler, or SLURM/LSF/PBS. "
                     "Resumable: run the same command again to convert what is missing."),
        epilog="Exit status: 0 all converted, 1 some failed, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="Level-1C products (.SAFE folders, .zip), MTD_MSIL1C.xml files, glob patterns "
                             "(quote them), folders (searched recursively) or text files listing any of these")
    process_cli.add_processing_arguments(parser, pdgs=False)
    batch = parser.add_argument_group("batch")
    batch.add_argument("--retries", type=_non_negative_int, default=2, metavar="N",
                       help="attempts beyond the first for a product that fails or whose worker dies, "
                            "counted over runs (default 2)")
    batch.add_argument("--overwrite", action="store_true",
                       help="convert again products already present in the output folder (the previous "
                            "product is removed once the new one is complete)")
    batch.add_argument("--reset-failed", action="store_true",
                       help="give the products that failed for good a new set of attempts")
    batch.add_argument("--state", metavar="FILE", default=None,
                       help="batch state file (SQLite; default <output_dir>/L2A_Batch.sqlite, or the "
                            "current folder without --output_dir)")
    batch.add_argument("--progress-file", metavar="FILE", default=None,
                       help="plain-text progress file, a line per finished product (default beside the state "
                            "file: <state>.progress.txt)")
    batch.add_argument("--log-dir", metavar="DIR", default=None,
                       help="folder of the per-product log files (default beside the state file: <state>.logs)")
    batch.add_argument("--no-progress-bar", action="store_true", help="plain lines instead of the live bar")
    where = parser.add_argument_group("cluster")
    where.add_argument("--cluster", choices=("local",) + JOBQUEUE_KINDS, default="local",
                       help="local Dask cluster (default) or a dask-jobqueue cluster on an HPC scheduler")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="use an existing Dask scheduler (e.g. tcp://head:8786) instead of starting a cluster")
    where.add_argument("--workers", type=_positive_int, default=None,
                       help="local worker processes (default: as many as cores and memory allow)")
    where.add_argument("--threads-per-worker", type=_positive_int, default=None,
                       help="products one local worker process may run at once (default 1)")
    where.add_argument("--memory-per-product", type=_memory, default=None, metavar="SIZE",
                       help=f"memory one product needs, declared to the scheduler so that a worker never runs "
                            f"more products than fit (e.g. 4GB; default {DEFAULT_MEMORY_PER_PRODUCT:g}GB)")
    where.add_argument("--dashboard-address", default=":8787", metavar="ADDRESS",
                       help="where the local/job-queue cluster serves the Dask dashboard (default :8787)")
    jobs = parser.add_argument_group("job-queue clusters (--cluster slurm|lsf|pbs)")
    jobs.add_argument("--cluster-config", metavar="YAML", default=None,
                      help="YAML file of dask-jobqueue options: queue, walltime, cores, memory, processes, "
                           "jobs, adapt, job_extra_directives, ... (flags below override it)")
    jobs.add_argument("--queue", default=None, help="queue / partition")
    jobs.add_argument("--walltime", default=None, help="job wall time (e.g. 02:00:00; LSF 02:00)")
    jobs.add_argument("--job-cores", type=_positive_int, default=None, help="cores per job")
    jobs.add_argument("--job-memory", default=None, metavar="SIZE", help="memory per job (e.g. 64GB)")
    jobs.add_argument("--processes", type=_positive_int, default=None,
                      help="worker processes per job (default: job memory // memory per product)")
    jobs.add_argument("--jobs", type=_positive_int, default=None, help="number of jobs to start (default 1)")
    jobs.add_argument("--job-extra", action="append", default=None, metavar="DIRECTIVE",
                      help="extra scheduler directive, repeatable (e.g. --job-extra=--account=myproject)")
    jobs.add_argument("--print-job-script", action="store_true",
                      help="print the job script the job-queue cluster would submit, and exit")
    parser.add_argument("--version", action="version",
                        version=f"{PROG} {PLUGIN_VERSION} (Sen2Cor {SEN2COR_VERSION} compatible)")
    process_cli.add_override_arguments(parser)
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    process_cli.validate_processing_arguments(parser, args)
    if args.scheduler and args.cluster != "local":
        parser.error("--scheduler and --cluster exclude each other")
    jobqueue_flags = [f for f in ("cluster_config", "queue", "walltime", "job_cores", "job_memory", "processes",
                                  "jobs", "job_extra") if getattr(args, f) is not None]
    if jobqueue_flags and args.cluster == "local":
        parser.error("--" + jobqueue_flags[0].replace("_", "-") + " needs --cluster slurm, lsf or pbs")
    if args.print_job_script and args.cluster == "local":
        parser.error("--print-job-script needs --cluster slurm, lsf or pbs")
    if (args.workers or args.threads_per_worker) and (args.scheduler or args.cluster != "local"):
        parser.error("--workers and --threads-per-worker size the local cluster only")
    return args


def cluster_spec_from_args(args: argparse.Namespace):
    from .cluster import ClusterSpec, load_cluster_config

    memory = args.memory_per_product or DEFAULT_MEMORY_PER_PRODUCT
    if args.scheduler:
        return ClusterSpec(kind="scheduler", address=args.scheduler, memory_per_product=memory)
    if args.cluster == "local":
        return ClusterSpec(kind="local", workers=args.workers, threads_per_worker=args.threads_per_worker,
                           memory_per_product=memory, dashboard_address=args.dashboard_address)
    options = load_cluster_config(args.cluster_config, args.cluster) if args.cluster_config else {}
    from_file = options.pop("memory_per_product", None)
    memory = args.memory_per_product or from_file or DEFAULT_MEMORY_PER_PRODUCT   # flag > file > default
    for flag, key in (("queue", "queue"), ("walltime", "walltime"), ("job_cores", "cores"),
                      ("job_memory", "memory"), ("processes", "processes"), ("jobs", "jobs")):
        if getattr(args, flag) is not None:
            options[key] = getattr(args, flag)
    if args.job_extra:
        existing = options.get("job_extra_directives") or []
        options["job_extra_directives"] = list(existing if isinstance(existing, list) else [existing]) + args.job_extra
    return ClusterSpec(kind=args.cluster, memory_per_product=memory, jobqueue=options,
                       dashboard_address=args.dashboard_address)


def _setup_logging(reporter, debug: bool) -> logging.Handler:
    root = logging.getLogger("sen2cor_qgis")
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    handler = reporter.log_handler(logging.DEBUG if debug else logging.INFO)
    root.addHandler(handler)
    return handler


def main(argv: Optional[List[str]] = None) -> int:
    """Console entry point; returns the exit status."""
    args = parse_args(argv)
    from .report import TerminalProgress, format_summary

    try:
        spec = cluster_spec_from_args(args)
        if args.print_job_script:
            from .cluster import render_job_script

            print(render_job_script(spec.kind, spec.jobqueue, spec.memory_per_product))
            return 0
    except Sen2CorError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    reporter = TerminalProgress(sys.stderr)
    if args.no_progress_bar:
        reporter.tty = False
    handler = _setup_logging(reporter, args.debug)
    try:
        from .runner import run_batch

        summary = run_batch(args.inputs, process_cli.options_from_args(args), spec, state_path=args.state,
                            progress_file=args.progress_file, log_dir=args.log_dir, retries=args.retries,
                            overwrite=args.overwrite, reset_failed=args.reset_failed, progress=reporter,
                            command=" ".join([PROG] + [str(a) for a in (argv if argv is not None else sys.argv[1:])]))
    except Sen2CorError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the state file is consistent: run the same command again to resume",
              file=sys.stderr)
        return 130
    finally:
        logging.getLogger("sen2cor_qgis").removeHandler(handler)
    print(format_summary(summary), flush=True)
    return summary.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
