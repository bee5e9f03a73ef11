"""Where the products run: a local Dask cluster, an existing scheduler, or a dask-jobqueue
cluster (SLURM, LSF, PBS).

Memory is declared, not guessed: every product task asks for the abstract Dask resource
``MEMORY`` (GB, ``memory_per_product``) and every worker offers the memory it may use, so a
worker never runs more products than fit, whatever its thread count. On a local cluster the
number of workers follows from the cores and the memory (one product per worker process by
default; each product uses the cores through its own threads); on HPC each job runs
``processes`` workers that share the job's ``memory``.

The jobqueue options come from a small YAML file and/or command-line flags::

    # cluster.yaml (keys are dask-jobqueue's; a block per scheduler kind is allowed too)
    queue: normal
    walltime: "02:00:00"
    cores: 16
    memory: 64GB
    processes: 4                 # products at once per job; default memory // memory_per_product
    jobs: 10                     # jobs to start; or  adapt: {minimum_jobs: 0, maximum_jobs: 50}
    job_extra_directives: ["--account=myproject", "--constraint=skylake"]
    memory_per_product: 6GB
    # any other dask-jobqueue keyword: account, project, interface, local_directory,
    # job_script_prologue, log_directory, resource_spec, ...
"""
from __future__ import annotations

import logging
import math
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from .common import BatchError, parse_memory_gb

log = logging.getLogger(__name__)

KINDS = ("local", "scheduler", "slurm", "lsf", "pbs")
JOBQUEUE_KINDS = ("slurm", "lsf", "pbs")
_JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "lsf": "LSFCluster", "pbs": "PBSCluster"}
DEFAULT_MEMORY_PER_PRODUCT = 4.0      # GB: Sen2Cor 2.11 needs about 4 GB for a full tile
MEMORY_RESOURCE = "MEMORY"
USABLE_MEMORY_FRACTION = 0.9          # of the machine's memory, for the local workers
_SPECIAL_KEYS = ("memory_per_product", "jobs", "adapt", "processes")


@dataclass
class ClusterSpec:
    """Where to run. kind: local | scheduler (address) | slurm | lsf | pbs (jobqueue options)."""

    kind: str = "local"
    address: Optional[str] = None
    workers: Optional[int] = None
    threads_per_worker: Optional[int] = None
    memory_per_product: Optional[float] = DEFAULT_MEMORY_PER_PRODUCT   # GB; None: not declared
    dashboard_address: Optional[str] = ":8787"
    jobqueue: Dict[str, Any] = field(default_factory=dict)
    silence_logs: int = logging.ERROR

    def __post_init__(self) -> None:
        if self.address and self.kind == "local":
            self.kind = "scheduler"
        if self.kind not in KINDS:
            raise BatchError(f"cluster kind must be one of {', '.join(KINDS)}, got '{self.kind}'")
        if self.kind == "scheduler" and not self.address:
            raise BatchError("an existing scheduler needs its address (e.g. tcp://host:8786)")
        for name in ("workers", "threads_per_worker"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise BatchError(f"{name.replace('_', '-')} must be at least 1")
        self.memory_per_product = parse_memory_gb(self.memory_per_product)


def missing_dependencies(kind: str = "local") -> Optional[str]:
    """None when Dask (and dask-jobqueue for SLURM/LSF/PBS) can be imported, else what to install."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return "the batch engine needs Dask: pip install -c constraints.txt 'dask[distributed]' (see requirements.txt)"
    if kind in JOBQUEUE_KINDS:
        try:
            import dask_jobqueue  # noqa: F401
        except ImportError:
            return f"a {kind.upper()} cluster needs dask-jobqueue: pip install dask-jobqueue"
    return None


# ---------------------------------------------------------------------------- configuration
def load_cluster_config(path: Union[str, Path], kind: Optional[str] = None) -> Dict[str, Any]:
    """Options of a cluster YAML file: the top-level keys, updated by the block named after
    `kind` ('slurm:', 'lsf:', 'pbs:') when present; blocks of other kinds are dropped."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise BatchError(f"cannot read the cluster configuration ({exc.strerror})", path) from None
    except yaml.YAMLError as exc:
        raise BatchError(f"invalid YAML ({' '.join(str(exc).split())})", path) from None
    if not isinstance(data, dict):
        raise BatchError("the cluster configuration must be a mapping of options", path)
    options = {k: v for k, v in data.items() if k not in JOBQUEUE_KINDS and k != "local"}
    block = data.get(kind) if kind else None
    if block is not None:
        if not isinstance(block, dict):
            raise BatchError(f"'{kind}' must be a mapping of options", path)
        options.update(block)
    return options


@dataclass(frozen=True)
class LocalLayout:
    workers: int
    threads_per_worker: int
    memory_limit: int                 # bytes per worker process
    resources: Optional[Dict[str, float]]


def local_layout(memory_per_product: Optional[float], workers: Optional[int] = None,
                 threads_per_worker: Optional[int] = None, cores: Optional[int] = None,
                 memory_bytes: Optional[int] = None) -> LocalLayout:
    """Workers × threads of a local cluster: by default one product per worker process and as
    many workers as both the cores and the memory allow (at least one)."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if memory_bytes is None:
        from distributed.system import MEMORY_LIMIT

        memory_bytes = MEMORY_LIMIT
    usable = memory_bytes * USABLE_MEMORY_FRACTION
    threads = int(threads_per_worker or 1)
    if workers is None:
        by_cores = max(1, cores // threads)
        if memory_per_product:
            by_memory = max(1, int(usable / 1e9 // (memory_per_product * threads)))
            workers = min(by_cores, by_memory)
        else:
            workers = by_cores
    workers = int(workers)
    memory_limit = int(usable // workers)
    resources = None
    if memory_per_product:
        per_worker_gb = math.floor(memory_limit / 1e9 * 100) / 100
        if per_worker_gb < memory_per_product:
            raise BatchError(
                f"a product needs {memory_per_product:g} GB but each of the {workers} local workers has "
                f"{per_worker_gb:g} GB: use fewer --workers or a smaller --memory-per-product")
        resources = {MEMORY_RESOURCE: per_worker_gb}
    return LocalLayout(workers, threads, memory_limit, resources)


def _as_list(value: Any) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def jobqueue_settings(kind: str, options: Dict[str, Any],
                      memory_per_product: Optional[float]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(keyword arguments of the dask-jobqueue cluster class, scaling: {'jobs': n} or {'adapt': {...}})."""
    if kind not in JOBQUEUE_KINDS:
        raise BatchError(f"not a job-queue cluster kind: '{kind}' (one of {', '.join(JOBQUEUE_KINDS)})")
    opts = dict(options)
    for special in ("memory_per_product",):
        opts.pop(special, None)
    cores, memory = opts.get("cores"), opts.get("memory")
    if not cores or not memory:
        raise BatchError(f"a {kind.upper()} cluster needs 'cores' and 'memory' per job "
                         "(cluster configuration file or --job-cores/--job-memory)")
    cores = int(cores)
    memory_gb = parse_memory_gb(memory)
    opts["cores"] = cores
    opts["memory"] = memory if isinstance(memory, str) else f"{memory_gb:g}GB"
    processes = opts.pop("processes", None)
    if processes is None:
        processes = (max(1, min(cores, int(memory_gb // memory_per_product))) if memory_per_product else 1)
    processes = int(processes)
    if processes < 1 or processes > cores:
        raise BatchError(f"processes per job must be between 1 and cores ({cores}), got {processes}")
    opts["processes"] = processes
    extra = _as_list(opts.pop("worker_extra_args", None))
    if memory_per_product:
        per_worker_gb = math.floor(memory_gb / processes * 100) / 100
        if per_worker_gb < memory_per_product:
            raise BatchError(f"a product needs {memory_per_product:g} GB but each of the {processes} workers "
                             f"of a job gets {per_worker_gb:g} GB of the job's {memory}: "
                             "lower 'processes' or raise 'memory'")
        extra += ["--resources", f"{MEMORY_RESOURCE}={per_worker_gb:g}"]
    opts["worker_extra_args"] = extra
    directives = _as_list(opts.pop("job_extra", None)) + _as_list(opts.pop("job_extra_directives", None))
    if directives:
        opts["job_extra_directives"] = directives
    opts.setdefault("job_name", "sen2cor-l2a")
    scaling: Dict[str, Any] = {}
    jobs, adapt = opts.pop("jobs", None), opts.pop("adapt", None)
    if adapt:
        if not isinstance(adapt, dict):
            adapt = {"minimum_jobs": 0, "maximum_jobs": int(adapt)}
        scaling["adapt"] = dict(adapt)
    else:
        scaling["jobs"] = int(jobs or 1)
    return opts, scaling


def make_jobqueue_cluster(kind: str, options: Dict[str, Any], memory_per_product: Optional[float],
                          **overrides: Any):
    """The dask-jobqueue cluster object (its scheduler runs in this process; no job submitted)."""
    import dask_jobqueue

    kwargs, _ = jobqueue_settings(kind, options, memory_per_product)
    kwargs.update(overrides)
    cls = getattr(dask_jobqueue, _JOBQUEUE_CLASSES[kind])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise BatchError(f"invalid {kind.upper()} cluster option: {exc}") from None


def render_job_script(kind: str, options: Dict[str, Any],
                      memory_per_product: Optional[float] = DEFAULT_MEMORY_PER_PRODUCT) -> str:
    """The job script a SLURM/LSF/PBS cluster would submit (nothing is submitted): to check a
    configuration (`L2A_Batch --cluster slurm --cluster-config c.yaml --print-job-script`)."""
    opts = dict(options)
    scheduler_options = dict(opts.pop("scheduler_options", None) or {})
    scheduler_options.setdefault("dashboard_address", None)
    if "interface" not in opts:
        scheduler_options.setdefault("host", "127.0.0.1")
    cluster = make_jobqueue_cluster(kind, opts, memory_per_product, scheduler_options=scheduler_options)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


# ---------------------------------------------------------------------------- running
def _bokeh_available() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


class _IgnoreSigint:
    """Worker plugin for the local cluster: Ctrl-C in the terminal reaches the worker processes
    too (same process group); they ignore it and let the driver stop the batch cleanly."""

    name = "sen2cor-ignore-sigint"

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def teardown(self, worker) -> None:
        pass


def _worker_plugin():
    from distributed import WorkerPlugin

    class IgnoreSigint(_IgnoreSigint, WorkerPlugin):
        pass

    return IgnoreSigint()


def python_for_workers(executable: Optional[str] = None, exec_prefix: Optional[str] = None) -> Optional[str]:
    """The Python interpreter local worker processes must start with when this process is not a
    plain Python (inside QGIS, sys.executable is qgis or qgis-bin.exe); None when it is."""
    import shutil
    import sys

    executable = executable if executable is not None else sys.executable
    prefix = exec_prefix if exec_prefix is not None else sys.exec_prefix
    home = Path(executable).absolute().parent
    if Path(executable).name.lower().startswith("python") and home in (Path(prefix), Path(prefix) / "bin"):
        return None  # a plain interpreter of this very installation
    # Embedded (QGIS) or a python found elsewhere on PATH (a shim of another installation):
    # prefer this installation's own interpreter of the same version.
    versioned = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [Path(prefix) / "bin" / versioned, Path(prefix) / "python.exe", Path(prefix) / "python3.exe",
                  Path(prefix) / "bin" / "python3", Path(prefix) / "bin" / "python"]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("python3") or shutil.which("python")
    return found


def _use_python_for_workers() -> None:
    python = python_for_workers()
    if python:
        import multiprocessing

        log.info("local workers start with %s", python)
        multiprocessing.get_context("spawn").set_executable(python)


class ClusterHandle:
    """A connected client and, when this process started it, the cluster; close() ends both."""

    def __init__(self, client, cluster=None, description: str = "",
                 task_resources: Optional[Dict[str, float]] = None) -> None:
        self.client = client
        self.cluster = cluster
        self.description = description
        self.task_resources = task_resources

    @property
    def dashboard_link(self) -> Optional[str]:
        try:
            services = self.client.scheduler_info().get("services", {})
        except Exception:  # noqa: BLE001
            services = {}
        if self.cluster is not None and "dashboard" not in services:
            return None
        try:
            return self.client.dashboard_link
        except Exception:  # noqa: BLE001
            return None

    @property
    def dashboard_note(self) -> str:
        """'' or why the dashboard page may not show (bokeh missing in the scheduler's process)."""
        if self.cluster is not None and not _bokeh_available():
            return "the dashboard needs bokeh>=3.1 (pip install bokeh)"
        return ""

    def close(self, timeout: float = 10) -> None:
        try:
            self.client.close(timeout=timeout)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        if self.cluster is not None:
            try:
                self.cluster.close()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> "ClusterHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_cluster(spec: ClusterSpec, allowed_failures: Optional[int] = None) -> ClusterHandle:
    """Start or connect to the cluster of `spec`. allowed_failures: how often Dask itself
    reschedules a product whose worker died (for the clusters this process starts)."""
    import dask
    from distributed import Client

    config = {}
    if allowed_failures is not None:
        config["distributed.scheduler.allowed-failures"] = int(allowed_failures)
    mpp = spec.memory_per_product
    with dask.config.set(config):
        if spec.kind == "local":
            from distributed import LocalCluster

            layout = local_layout(mpp, spec.workers, spec.threads_per_worker)
            _use_python_for_workers()
            cluster = LocalCluster(n_workers=layout.workers, threads_per_worker=layout.threads_per_worker,
                                   processes=True, memory_limit=layout.memory_limit,
                                   resources=layout.resources, dashboard_address=spec.dashboard_address,
                                   silence_logs=spec.silence_logs)
            try:
                client = Client(cluster)
                client.register_plugin(_worker_plugin())
            except BaseException:
                cluster.close()
                raise
            per_worker = f", {layout.resources[MEMORY_RESOURCE]:g} GB each" if layout.resources else ""
            description = (f"local cluster: {layout.workers} worker process(es) x "
                           f"{layout.threads_per_worker} thread(s){per_worker}")
            return ClusterHandle(client, cluster, description, {MEMORY_RESOURCE: mpp} if mpp else None)
        if spec.kind == "scheduler":
            try:
                client = Client(spec.address, timeout=30)
            except OSError as exc:
                raise BatchError(f"cannot connect to the Dask scheduler at {spec.address} ({exc})") from None
            resources = _external_resources(client, mpp)
            return ClusterHandle(client, None, f"scheduler {spec.address}", resources)
        options = dict(spec.jobqueue)
        scheduler_options = dict(options.pop("scheduler_options", None) or {})
        if spec.dashboard_address is not None:
            scheduler_options.setdefault("dashboard_address", spec.dashboard_address)
        cluster = make_jobqueue_cluster(spec.kind, options, mpp, scheduler_options=scheduler_options)
        try:
            _, scaling = jobqueue_settings(spec.kind, options, mpp)
            if "adapt" in scaling:
                cluster.adapt(**scaling["adapt"])
                how = f"adaptive {scaling['adapt']}"
            else:
                cluster.scale(jobs=scaling["jobs"])
                how = f"{scaling['jobs']} job(s)"
            client = Client(cluster)
        except BaseException:
            cluster.close()
            raise
        return ClusterHandle(client, cluster, f"{spec.kind.upper()} cluster: {how}",
                             {MEMORY_RESOURCE: mpp} if mpp else None)


def _external_resources(client, memory_per_product: Optional[float]) -> Optional[Dict[str, float]]:
    """Declare MEMORY per task only if the scheduler's workers offer it (else tasks would wait forever)."""
    if not memory_per_product:
        return None
    try:
        workers = client.scheduler_info().get("workers", {})
    except Exception:  # noqa: BLE001
        workers = {}
    offered = [w.get("resources", {}).get(MEMORY_RESOURCE) for w in workers.values()]
    offered = [v for v in offered if v is not None]
    if not offered:
        log.warning("the scheduler's workers declare no %s resource: memory per product is not enforced "
                     "(start workers with --resources %s=<GB>)", MEMORY_RESOURCE, MEMORY_RESOURCE)
        return None
    if max(offered) < memory_per_product:
        raise BatchError(f"a product needs {memory_per_product:g} GB but the scheduler's workers offer at most "
                         f"{max(offered):g} GB ({MEMORY_RESOURCE} resource)")
    return {MEMORY_RESOURCE: memory_per_product}
