"""What runs on a Dask worker for one product: `convert_one(task) -> dict`.

It calls `core.pipeline.process_product` and turns everything that can happen into a small plain
dict (never raises, so nothing unpicklable travels back): converted, failed (one-line error,
traceback, whether retrying can help) or cancelled. Around the call it

* recognises a product that an earlier attempt of this batch completed before its worker died
  (the product appeared but the result was lost) and adopts it instead of converting again;
* removes the temporary folder a killed attempt of the same product left behind;
* sends progress to the driver as Dask worker events (topic `task.topic`), at most one per
  `progress_interval` seconds besides the first and last;
* checks the batch's cancel flag (a `distributed.Event`) when the pipeline checks its `cancel`;
* measures the peak resident memory of the worker process while the product runs;
* writes the product's log to `<log_dir>/<L1C name>.log` (attempts appended).

Outside Dask (no worker) it runs as well, without events or cancel flag.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from ..errors import CancelledError, ConfigError, NotImplementedYetError, ProductError, Sen2CorError
from ..pipeline import ProcessingOptions, process_product
from .products import matching_products, remove_stale_partials, restore_set_aside, set_aside

TEST_KILL_MARKER_ENV = "SEN2COR_QGIS_BATCH_TEST_KILL_MARKER"
PERMANENT_ERRORS = (ProductError, ConfigError, NotImplementedYetError)
MAX_ERROR_CHARS = 400


@dataclass(frozen=True)
class ProductTask:
    """Plain, picklable description of one conversion."""

    input: str
    name: str
    options: ProcessingOptions          # output_dir resolved (never None)
    key: Optional[str] = None
    baseline_tag: Optional[str] = None  # 'N0211': the output baseline, to recognise our products
    replace: Tuple[str, ...] = ()       # names of products to remove once converted (--overwrite)
    topic: Optional[str] = None         # Dask event topic for progress
    cancel_event: Optional[str] = None  # name of the batch's distributed.Event
    log_dir: Optional[str] = None
    progress_interval: float = 1.0


def one_line(exc: BaseException) -> str:
    """The one-line error of an exception (Sen2CorError messages are already one line)."""
    text = str(exc) if isinstance(exc, Sen2CorError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


class _PeakMemory:
    """Peak resident memory of this process, sampled by a thread while the product runs."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        try:
            import psutil

            self._process = psutil.Process()
        except Exception:  # noqa: BLE001 - psutil comes with distributed; stay usable without it
            self._process = None
        self._thread = threading.Thread(target=self._run, name="sen2cor-peak-memory", daemon=True)

    def _sample(self) -> None:
        if self._process is not None:
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except Exception:  # noqa: BLE001
                pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "_PeakMemory":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._sample()

    @property
    def megabytes(self) -> Optional[float]:
        return self.peak / 2 ** 20 if self.peak else None


class _Cancel:
    """`is_set()` of the batch's distributed.Event, asked at most once per `interval` seconds."""

    def __init__(self, name: Optional[str], interval: float = 1.0) -> None:
        self.name, self.interval = name, interval
        self._event = None
        self._last = float("-inf")
        self._value = False

    def is_set(self) -> bool:
        if self._value or self.name is None:
            return self._value
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            try:
                if self._event is None:
                    from distributed import Event

                    self._event = Event(self.name)
                self._value = bool(self._event.is_set())
            except Exception:  # noqa: BLE001 - no scheduler reachable: keep going
                pass
        return self._value


def _worker():
    try:
        from distributed import get_worker

        return get_worker()
    except Exception:  # noqa: BLE001 - not inside a Dask task
        return None


class _Events:
    """Progress events to the driver (Dask worker events), throttled."""

    def __init__(self, task: ProductTask, worker, token: str) -> None:
        self.task, self.worker, self.token = task, worker, token
        self._last = float("-inf")

    def send(self, kind: str, **fields: Any) -> None:
        if self.worker is None or self.task.topic is None:
            return
        message = {"kind": kind, "input": self.task.input, "token": self.token, **fields}
        try:
            self.worker.log_event(self.task.topic, message)
        except Exception:  # noqa: BLE001 - progress is best effort
            pass

    def progress(self, fraction: float, text: str) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last >= self.task.progress_interval:
            self._last = now
            self.send("progress", fraction=float(fraction), message=str(text)[:200])


def _test_hook(task: ProductTask, stage: str) -> None:
    """Test-only, inert unless $SEN2COR_QGIS_BATCH_TEST_KILL_MARKER names an existing file.

    The file holds {"match": text in the input path, "at": "start" | "end", "action": "kill" |
    "sleep", "seconds": s}. kill: this worker process kills itself (SIGKILL) at that stage of the
    matching product, once (the file is consumed, so the retry goes through); sleep: the product
    takes `seconds` longer (the file stays), to make products slow enough to interrupt."""
    marker = os.environ.get(TEST_KILL_MARKER_ENV)
    if not marker or not os.path.exists(marker):
        return
    try:
        with open(marker) as handle:
            spec = json.load(handle)
    except (OSError, ValueError):
        return
    if spec.get("at", "start") != stage or spec.get("match", "") not in task.input:
        return
    if spec.get("action", "kill") == "sleep":
        time.sleep(float(spec.get("seconds", 1.0)))
        return
    try:
        os.rename(marker, marker + ".used")      # claim it: exactly one worker dies
    except OSError:
        return
    time.sleep(float(spec.get("seconds", 0.5)))  # let the 'started' event reach the driver
    os.kill(os.getpid(), signal.SIGKILL)


class _ProductLog:
    """The product's log file, attached to the 'sen2cor_qgis' logger for the time of the task."""

    def __init__(self, task: ProductTask, worker, token: str) -> None:
        self.handler = None
        self.logger = logging.getLogger("sen2cor_qgis")
        self._propagate = self.logger.propagate
        self.worker = worker
        if not task.log_dir:
            return
        try:
            os.makedirs(task.log_dir, exist_ok=True)
            self.handler = logging.FileHandler(os.path.join(task.log_dir, task.name + ".log"), encoding="utf-8")
        except OSError:
            return
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        nthreads = getattr(getattr(worker, "state", None), "nthreads", 1) if worker is not None else 1
        if nthreads and nthreads > 1:   # several products in this process: keep this thread's records
            ident = threading.get_ident()
            self.handler.addFilter(lambda record: record.thread == ident)
        self.logger.addHandler(self.handler)
        if worker is not None:
            self.logger.propagate = False   # product logs go to their files, not the worker's stderr
        where = getattr(worker, "address", None) or "this process"
        self.logger.info("attempt %s of %s on %s (pid %d)", token, task.input, where, os.getpid())

    def close(self) -> None:
        if self.handler is not None:
            self.logger.removeHandler(self.handler)
            self.handler.close()
            self.logger.propagate = self._propagate


def _remove_replaced(output_dir: Path, task: ProductTask, log: logging.Logger) -> None:
    for name in task.replace:
        old = output_dir / name
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
            log.info("removed the previous product %s (--overwrite)", old)


def _convert(task: ProductTask, output_dir: Path, events: "_Events", cancel: "_Cancel",
             log: logging.Logger, token: str) -> Path:
    """process_product, with the products to replace (--overwrite) set aside meanwhile: removed
    once the new product is complete, put back if the conversion fails."""
    aside = [(output_dir / name, set_aside(output_dir / name, token))
             for name in task.replace if (output_dir / name).is_dir()]

    def progress(fraction: float, message: str) -> None:
        if fraction >= 1.0:
            _test_hook(task, "end")
        events.progress(fraction, message)

    try:
        result = process_product(task.input, task.options, progress=progress, cancel=cancel, log=log)
    except BaseException:
        for original, moved in aside:
            if not os.path.lexists(original):
                os.rename(moved, original)
        raise
    for original, moved in aside:
        shutil.rmtree(moved, ignore_errors=True)
        log.info("removed the previous product %s (--overwrite)", original)
    return result.product_path


def convert_one(task: ProductTask) -> Dict[str, Any]:
    """Convert one product; returns a plain dict (see the module docstring), never raises."""
    token = uuid.uuid4().hex
    worker = _worker()
    started = time.time()
    base: Dict[str, Any] = {"input": task.input, "token": token, "started": started, "pid": os.getpid(),
                            "worker": getattr(worker, "address", None) or f"local:{os.getpid()}"}
    events = _Events(task, worker, token)
    events.send("started", started=started, worker=base["worker"], pid=base["pid"])
    product_log = _ProductLog(task, worker, token)
    log = product_log.logger
    cancel = _Cancel(task.cancel_event)
    peak = _PeakMemory()
    adopted = False
    try:
        with peak:
            _test_hook(task, "start")
            output_dir = Path(task.options.output_dir)
            for name in restore_set_aside(output_dir, task.key):
                log.warning("restored %s, set aside by a killed attempt", name)
            earlier = [p for p in matching_products(output_dir, task.key, task.baseline_tag)
                       if p.name not in task.replace]
            if earlier:   # a previous attempt completed it, then its worker died before reporting
                output, adopted = earlier[-1].path, True
                log.info("adopting %s, completed by an earlier attempt of this batch", output)
                _remove_replaced(output_dir, task, log)
            else:
                for name in remove_stale_partials(output_dir, task.key):
                    log.warning("removed %s, left by a killed attempt", name)
                output = _convert(task, output_dir, events, cancel, log, token)
        finished = time.time()
        return {**base, "ok": True, "output": str(output), "adopted": adopted, "finished": finished,
                "seconds": finished - started, "peak_memory_mb": peak.megabytes}
    except CancelledError:
        return {**base, "ok": False, "cancelled": True, "finished": time.time(), "error": "cancelled"}
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none kills the batch
        finished = time.time()
        error = one_line(exc)
        log.error("%s", error)
        log.debug("%s", traceback.format_exc())
        return {**base, "ok": False, "error": error, "detail": traceback.format_exc(limit=20),
                "permanent": isinstance(exc, PERMANENT_ERRORS), "finished": finished,
                "seconds": finished - started, "peak_memory_mb": peak.megabytes}
    finally:
        product_log.close()
