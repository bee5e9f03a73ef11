"""Batch conversion of many Level-1C products on a Dask cluster (`L2A_Batch`).

    from sen2cor_qgis.core.batch import run_batch, ClusterSpec
    summary = run_batch(["/archive/2023"], ProcessingOptions(output_dir="/l2a"),
                        ClusterSpec(workers=2, memory_per_product=4), progress=callback, cancel=event)

Modules: inputs (what to convert), products (identity of inputs and outputs), state (resumable
SQLite state), cluster (local / existing scheduler / SLURM, LSF, PBS via dask-jobqueue), task
(what a worker runs for one product), runner (the driver), report (progress bar, progress file,
summary), cli (the `L2A_Batch` command). Dask is imported only when a batch runs.
"""
from __future__ import annotations

from typing import Any

__all__ = ["run_batch", "ClusterSpec", "BatchSummary", "BatchUpdate", "ProductUpdate", "Counts",
           "BatchError", "expand_inputs", "L1CInput", "BatchState", "TerminalProgress", "format_summary",
           "missing_dependencies"]

_WHERE = {"run_batch": "runner", "ClusterSpec": "cluster", "BatchSummary": "report", "BatchUpdate": "report",
          "ProductUpdate": "report", "Counts": "report", "BatchError": "common", "expand_inputs": "inputs",
          "L1CInput": "inputs", "BatchState": "state", "TerminalProgress": "report", "format_summary": "report",
          "missing_dependencies": "cluster"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        module = importlib.import_module(f".{_WHERE[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
