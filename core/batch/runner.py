"""The batch driver: `run_batch(inputs, options, cluster, ...) -> BatchSummary`.

One Dask task per product (task.convert_one -> core.pipeline.process_product). The driver alone
writes the state file; it plans (skip what is done or already present, adopt what an interrupted
run completed), submits, follows progress events, records each result in one transaction,
retries and reports. Failures:

* a product whose input is bad (ProductError, ConfigError, NotImplementedYetError) fails alone,
  at once (retrying cannot help within the run; a later run retries it while attempts remain);
* any other error, and a worker that dies (killed, out of memory, node lost), costs one attempt:
  Dask itself moves the product to another worker (`allowed-failures` = retries on the clusters
  this process starts), and the driver resubmits other failures, up to 1 + retries attempts in
  all, counted over runs;
* cancel (the `cancel` object, or Ctrl-C when run in the main thread) stops submitting, lets the
  running products stop at their next check (nothing half-written stays), waits at most
  `cancel_grace` seconds and leaves every unfinished product pending in the state. A second
  Ctrl-C stops at once (KeyboardInterrupt), the state still consistent.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import queue
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ..pipeline import ProcessingOptions, default_output_dir
from .cluster import ClusterSpec, missing_dependencies, start_cluster
from .common import BatchError
from .inputs import L1CInput, expand_inputs
from .products import L2AProduct, key_from_metadata, matching_products, scan_output_dir
from .report import BatchSummary, BatchUpdate, Counts, ProductUpdate
from .state import BatchState
from .task import ProductTask, convert_one, one_line

log = logging.getLogger("sen2cor_qgis.batch")

STATE_NAME = "L2A_Batch.sqlite"
ProgressCallback = Callable[[BatchUpdate], None]
_STATUSES = ("done", "skipped", "failed", "running", "queued", "pending")


def default_state_path(options: ProcessingOptions) -> Path:
    """<output_dir>/L2A_Batch.sqlite; the current folder when products go next to their inputs."""
    folder = Path(options.output_dir) if options.output_dir else Path.cwd()
    return (folder / STATE_NAME).expanduser().absolute()


def companion_paths(state_path: Path) -> Dict[str, Path]:
    """Progress file and log folder that go with a state file: <stem>.progress.txt, <stem>.logs/."""
    return {"progress_file": state_path.with_name(state_path.stem + ".progress.txt"),
            "log_dir": state_path.with_name(state_path.stem + ".logs")}


def expected_baseline_tag(options: ProcessingOptions) -> Optional[str]:
    """'N9999': the baseline the products will carry, as the pipeline decides it (this loads and
    so validates the configuration before any cluster starts)."""
    from ..config import load_config
    from ..pipeline import output_baseline
    from ..product import naming

    config = load_config(gip_l2a=options.gip_l2a, gip_sc=options.gip_sc, gip_ac=options.gip_ac,
                         gip_pb=options.gip_pb, overrides=options.overrides, home=options.sen2cor_home)
    return naming.baseline_tag(output_baseline(options, config))


@dataclasses.dataclass
class _Live:
    """What the driver knows of one product while the batch runs."""

    item: L1CInput
    task: Optional[ProductTask] = None
    status: str = "pending"   # pending | queued | running | done | skipped | failed
    fraction: float = 0.0
    token: Optional[str] = None
    submissions: int = 0


class _BatchRun:
    def memory_cap_mb(self) -> int:
        return _memory_cap_mb(self.options, self.spec)

    def __init__(self, items: List[L1CInput], options: ProcessingOptions, spec: ClusterSpec, *,
                 state_path: Path, progress_file: Optional[Path], log_dir: Optional[Path], retries: int,
                 overwrite: bool, reset_failed: bool, callbacks: List[ProgressCallback], cancel: Any,
                 handle_sigint: bool, cancel_grace: float, command: str, baseline_tag: Optional[str]) -> None:
        self.items, self.options, self.spec = items, options, spec
        self.state_path, self.progress_file, self.log_dir = state_path, progress_file, log_dir
        self.retries, self.overwrite, self.reset_failed = retries, overwrite, reset_failed
        self.callbacks, self.cancel, self.handle_sigint = callbacks, cancel, handle_sigint
        self.cancel_grace, self.command, self.baseline_tag = cancel_grace, command, baseline_tag
        self.max_attempts = 1 + retries
        self.live: Dict[str, _Live] = {i.path: _Live(i) for i in items}
        self.status_counts: Dict[str, int] = {st: 0 for st in _STATUSES}
        self.status_counts["pending"] = len(self.live)
        self.running_fraction = 0.0
        self.uid = uuid.uuid4().hex[:12]
        self.topic = f"sen2cor-l2a-{self.uid}"
        self.cancel_name = f"sen2cor-l2a-cancel-{self.uid}"
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.futures: Dict[str, Any] = {}          # future key -> future
        self.future_input: Dict[str, str] = {}     # future key -> input
        self.stop_reason: Optional[str] = None
        self.sigint = False
        self.stopping_since: Optional[float] = None
        self.started = time.monotonic()
        self.first_submit: Optional[float] = None
        self.done_now: List[float] = []            # processing seconds of the products converted now
        self.converted_now = 0
        self.finished_now = 0
        self.peak_mb: Optional[float] = None
        self.done_before = 0
        self.handle = None
        self.state: Optional[BatchState] = None
        self.run_id: Optional[int] = None
        self._last_tick = 0.0

    # ----------------------------------------------------------------- reporting
    def set_status(self, live: _Live, status: str, fraction: Optional[float] = None) -> None:
        """Change a product's live status (and fraction), keeping the counters in step."""
        if live.status == "running":
            self.running_fraction -= live.fraction
        self.status_counts[live.status] -= 1
        live.status = status
        if fraction is not None:
            live.fraction = fraction
        self.status_counts[status] += 1
        if status == "running":
            self.running_fraction += live.fraction

    def set_fraction(self, live: _Live, fraction: float) -> None:
        if live.status == "running":
            self.running_fraction += fraction - live.fraction
        live.fraction = fraction

    def counts(self) -> Counts:
        return Counts(total=len(self.live), **{s: self.status_counts[s] for s in _STATUSES})

    def fraction(self) -> float:
        if not self.live:
            return 1.0
        c = self.status_counts
        finished = c["done"] + c["skipped"] + c["failed"]
        return min(1.0, (finished + max(0.0, self.running_fraction)) / len(self.live))

    def eta(self) -> Optional[float]:
        if not self.finished_now or self.first_submit is None:
            return None
        c = self.status_counts
        remaining = c["queued"] + c["running"] - max(0.0, self.running_fraction)
        per_product = (time.monotonic() - self.first_submit) / self.finished_now
        return max(0.0, remaining * per_product)

    def emit(self, kind: str, product: Optional[ProductUpdate] = None, message: str = "") -> None:
        update = BatchUpdate(kind=kind, counts=self.counts(), fraction=self.fraction(),
                             elapsed=time.monotonic() - self.started, eta_seconds=self.eta(),
                             product=product, message=message)
        for callback in self.callbacks:
            callback(update)

    def product_update(self, live: _Live, status: str, **fields: Any) -> ProductUpdate:
        record = self.state.product(live.item.path) if self.state else None
        return ProductUpdate(input=live.item.path, name=live.item.name, status=status,
                             fraction=live.fraction, attempt=record.attempts if record else 0,
                             max_attempts=self.max_attempts, **fields)

    # ----------------------------------------------------------------- planning
    def output_dir(self, item: L1CInput) -> Path:
        if self.options.output_dir:
            return Path(self.options.output_dir).expanduser().absolute()
        return default_output_dir(item.path)

    def plan(self) -> List[_Live]:
        """Decide for every product: finished already, adopted, present (skip), given up, or to do."""
        state = self.state
        scans: Dict[Path, dict] = {}
        todo: List[_Live] = []
        if self.reset_failed:
            state.set_pending([r.input for r in state.products([i.path for i in self.items])
                               if r.status == "failed"], reset_attempts=True)
        for item in self.items:
            live = self.live[item.path]
            record = state.product(item.path)
            out = self.output_dir(item)
            if record.status == "done" and record.output and (Path(record.output) / "MTD_MSIL2A.xml").is_file():
                self.set_status(live, "done")
                self.done_before += 1
                continue
            if out not in scans:
                scans[out] = scan_output_dir(out)
            present = matching_products(out, item.key, self.baseline_tag, scans[out])
            replace: tuple = ()
            if present:
                ours = self._made_by_this_batch(item, present)
                if ours is not None:
                    state.record_adopted(item.path, str(ours.path), "completed by an interrupted run")
                    self.set_status(live, "done")
                    self.done_before += 1
                    continue
                if not self.overwrite:
                    if record.status != "skipped" or record.output != str(present[-1].path):
                        state.record_skipped(item.path, str(present[-1].path), "already present in the output folder")
                    self.set_status(live, "skipped")
                    continue
                replace = tuple(p.name for p in present)
            if record.status == "failed" and record.attempts >= self.max_attempts:
                self.set_status(live, "failed")
                continue
            if record.status not in ("pending", "failed"):
                state.set_pending([item.path])
            options = dataclasses.replace(self.options, output_dir=str(out),
                                          memory_limit_mb=self.memory_cap_mb())
            live.task = ProductTask(input=item.path, name=item.name, options=options, key=item.key,
                                    baseline_tag=self.baseline_tag, replace=replace, topic=self.topic,
                                    cancel_event=self.cancel_name,
                                    log_dir=str(self.log_dir) if self.log_dir else None)
            todo.append(live)
        return todo

    def _made_by_this_batch(self, item: L1CInput, present: List[L2AProduct]) -> Optional[L2AProduct]:
        """The newest present product generated after an attempt of this batch started, if any."""
        starts = [a.started for a in self.state.attempts(item.path) if a.started]
        if not starts:
            return None
        first = min(starts)
        ours = [p for p in present if p.generated.timestamp() >= first - 1.0]
        return ours[-1] if ours else None

    # ----------------------------------------------------------------- running
    def submit(self, live: _Live) -> None:
        client = self.handle.client
        live.submissions += 1
        key = f"l2a-{live.item.name[:60]}-{self.uid}-{live.submissions}"
        future = client.submit(convert_one, live.task, key=key, pure=False,
                               resources=self.handle.task_resources)
        self.futures[future.key] = future
        self.future_input[future.key] = live.item.path
        self.as_completed.add(future)
        self.set_status(live, "queued", 0.0)
        live.token = None
        if self.first_submit is None:
            self.first_submit = time.monotonic()

    def on_event(self, message: dict) -> None:
        live = self.live.get(message.get("input", ""))
        if live is None or live.status not in ("queued", "running"):
            return
        token = message.get("token")
        if message.get("kind") == "started":
            if self.state.attempt_started(token, live.item.path, self.run_id, message.get("worker"),
                                          message.get("pid"), message.get("started") or time.time()):
                if live.token is not None and live.token != token:
                    log.warning("%s restarted on %s: the worker of the previous attempt was lost",
                                live.item.name, message.get("worker"))
                live.token = token
                self.set_status(live, "running", 0.0)
                self.emit("product", self.product_update(live, "running", worker=message.get("worker"),
                                                         message="started"))
        elif message.get("kind") == "progress" and token == live.token:
            self.set_fraction(live, float(message.get("fraction", 0.0)))
            self.emit("product", self.product_update(live, "running", message=message.get("message", "")))

    def on_future(self, future) -> None:
        input_path = self.future_input.pop(future.key, None)
        self.futures.pop(future.key, None)
        if input_path is None:
            return
        live = self.live[input_path]
        if future.status == "finished":
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001
                result = {"input": input_path, "ok": False, "error": one_line(exc), "permanent": False}
        elif future.status == "cancelled":
            result = {"input": input_path, "ok": False, "cancelled": True}
        else:
            exc = future.exception()
            if type(exc).__name__ == "KilledWorker":
                error = "worker died while converting this product (killed, out of memory or node lost)"
            else:
                error = one_line(exc)
            result = {"input": input_path, "ok": False, "error": error, "permanent": False, "lost": True}
        future.release()
        self.on_result(live, result)

    def on_result(self, live: _Live, result: dict) -> None:
        state = self.state
        if result.get("ok"):
            note = "adopted: completed by an earlier attempt" if result.get("adopted") else None
            state.record_done(result, self.run_id, note=note)
            self.set_status(live, "done", 1.0)
            self.finished_now += 1
            self.converted_now += 1
            if result.get("seconds") is not None and not result.get("adopted"):
                self.done_now.append(float(result["seconds"]))
            if result.get("peak_memory_mb"):
                self.peak_mb = max(self.peak_mb or 0.0, float(result["peak_memory_mb"]))
            self.emit("product", self.product_update(
                live, "done", output=result.get("output"), seconds=result.get("seconds"),
                peak_memory_mb=result.get("peak_memory_mb"), worker=result.get("worker"), note=note))
            return
        if result.get("cancelled"):
            state.record_cancelled(result, self.run_id)
            self.set_status(live, "pending", 0.0)
            self.emit("product", self.product_update(live, "pending", message="cancelled"))
            return
        record = state.product(live.item.path)
        token = result.get("token")
        attempts = record.attempts + (0 if not token or state.has_attempt(token) else 1)
        retry = (not result.get("permanent") and self.stop_reason is None
                 and attempts < self.max_attempts and live.submissions < self.max_attempts)
        state.record_failed(result, self.run_id, final=not retry)
        fields = dict(error=result.get("error"), worker=result.get("worker"), seconds=result.get("seconds"))
        if retry:
            self.emit("product", self.product_update(live, "retrying", **fields))
            self.submit(live)
        else:
            self.set_status(live, "failed", 0.0)
            self.finished_now += 1
            self.emit("product", self.product_update(live, "failed", **fields))

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        self.stopping_since = time.monotonic()
        log.warning("stopping: %s; waiting for the running products to stop (at most %.0f s)",
                    reason, self.cancel_grace)
        try:
            from distributed import Event

            Event(self.cancel_name, client=self.handle.client).set()
        except Exception:  # noqa: BLE001
            pass
        waiting = [f for k, f in self.futures.items()
                   if self.live[self.future_input[k]].status == "queued"]
        if waiting:
            self.handle.client.cancel(waiting)

    def loop(self) -> None:
        while self.futures:
            try:
                message = self.events.get(timeout=0.1)
                self.on_event(message)
                while True:
                    self.on_event(self.events.get_nowait())
            except queue.Empty:
                pass
            if self.as_completed.has_ready():
                for future in self.as_completed.next_batch(block=False):
                    self.on_future(future)
            if self.stop_reason is None and self.sigint:
                self.request_stop("interrupted (Ctrl-C; press again to stop at once)")
            if self.stop_reason is None and self.cancel is not None and self.cancel.is_set():
                self.request_stop("cancelled")
            if self.stopping_since is not None and time.monotonic() - self.stopping_since > self.cancel_grace:
                log.warning("products still running after %.0f s are abandoned", self.cancel_grace)
                self.handle.client.cancel(list(self.futures.values()))
                self.futures.clear()
            now = time.monotonic()
            if now - self._last_tick >= 1.0:
                self._last_tick = now
                self.emit("tick")

    def execute(self) -> BatchSummary:
        from distributed import as_completed

        previous_handler = None
        if self.handle_sigint and threading.current_thread() is threading.main_thread():
            def on_sigint(signum, frame):   # only a flag: the loop acts on it at its next turn
                if self.sigint or self.handle is None:
                    raise KeyboardInterrupt
                self.sigint = True
            previous_handler = signal.signal(signal.SIGINT, on_sigint)
        outcome = "interrupted"
        try:
            with BatchState(self.state_path) as state:
                self.state = state
                settings = {"options": dataclasses.asdict(self.options), "retries": self.retries,
                            "overwrite": self.overwrite, "cluster": self.spec.kind}
                self.run_id = state.start_run(self.command, settings)
                try:
                    state.add_inputs(self.items)
                    todo = self.plan()
                    counts = self.counts()
                    message = (f"{counts.total} product(s): {len(todo)} to convert, {self.done_before} done before, "
                               f"{counts.skipped} already present, {counts.failed} failed for good")
                    if todo:
                        log.info("%s; starting the cluster", message)
                        self.handle = start_cluster(self.spec, allowed_failures=self.retries)
                        self.as_completed = as_completed(with_results=False)
                        message += f"; {self.handle.description}"
                        link = self.handle.dashboard_link
                        if link:
                            note = self.handle.dashboard_note
                            message += f"; dashboard {link}" + (f" ({note})" if note else "")
                        self.handle.client.subscribe_topic(self.topic, lambda event: self.events.put(event[1]))
                    self.emit("start", message=message)
                    for live in todo:
                        if self.sigint or (self.cancel is not None and self.cancel.is_set()):
                            break
                        self.submit(live)
                    if todo:
                        self.loop()
                    interrupted = state.interrupt_open(self.run_id)
                    for live in self.live.values():
                        if live.status in ("queued", "running") or live.item.path in interrupted:
                            if live.status not in ("done", "skipped", "failed"):
                                self.set_status(live, "pending", 0.0)
                    counts = self.counts()
                    if self.stop_reason is not None or counts.pending:
                        outcome = "interrupted"
                    else:
                        outcome = "failed" if counts.failed else "complete"
                finally:
                    if outcome == "interrupted":
                        try:
                            state.interrupt_open(self.run_id)
                        except Exception:  # noqa: BLE001
                            pass
                    state.finish_run(self.run_id, outcome)
                summary = self.summary(outcome)
                self.emit("end", message=f"{outcome}; {summary.done_now} converted now, "
                                         f"{counts.failed} failed, {counts.pending} not run")
                return summary
        finally:
            if self.handle is not None:
                self.handle.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)

    def summary(self, outcome: str) -> BatchSummary:
        failures = [(r.name, r.attempts, r.error or "") for r in self.state.products(list(self.live))
                    if r.status == "failed"]
        return BatchSummary(counts=self.counts(), done_now=self.converted_now, done_before=self.done_before, outcome=outcome,
                            wall_seconds=time.monotonic() - self.started, seconds=list(self.done_now),
                            busy_seconds=time.monotonic() - self.first_submit if self.first_submit else 0.0,
                            peak_memory_mb=self.peak_mb, failures=failures, state_path=str(self.state_path),
                            progress_file=str(self.progress_file) if self.progress_file else None,
                            log_dir=str(self.log_dir) if self.log_dir else None,
                            dashboard=self.handle.dashboard_link if self.handle else None,
                            cluster=self.handle.description if self.handle else "")


def _memory_cap_mb(options: ProcessingOptions, spec: ClusterSpec) -> int:
    """Each product's memory cap: the options' own, else the memory the cluster reserves for a
    product (the Dask resource MEMORY), so that the engine keeps within what it was given."""
    if options.memory_limit_mb:
        return int(options.memory_limit_mb)
    gb = getattr(spec, "memory_per_product", None)
    return int(float(gb) * 1024) if gb else 0


def run_batch(inputs: Sequence[Union[str, os.PathLike, L1CInput]], options: Optional[ProcessingOptions] = None,
              cluster: Optional[ClusterSpec] = None, *, state_path: Optional[Union[str, os.PathLike]] = None,
              progress_file: Union[str, os.PathLike, None, bool] = None,
              log_dir: Union[str, os.PathLike, None, bool] = None, retries: int = 2, overwrite: bool = False,
              reset_failed: bool = False, progress: Optional[ProgressCallback] = None, cancel: Any = None,
              handle_sigint: bool = True, cancel_grace: float = 30.0, command: str = "") -> BatchSummary:
    """Convert many Level-1C products on a Dask cluster; resumable; returns the summary.

    inputs: paths, globs, folders (searched recursively), list files (see inputs.py) or L1CInput.
    options: the ProcessingOptions of every product (as for process_product; output_dir None:
      each product next to its input). cluster: ClusterSpec (default: a local cluster sized from
      the cores and 4 GB per product). state_path: default <output_dir>/L2A_Batch.sqlite (the
      current folder without output_dir). progress_file / log_dir: default beside the state file
      (<stem>.progress.txt, <stem>.logs/); False: none. retries: attempts beyond the first, over
      all runs. overwrite: convert again products already present in the output folder (the
      previous one is removed once the new one is complete). reset_failed: give products that
      exhausted their attempts a new set. progress: called in this thread with BatchUpdate
      events (per product: running + fraction, done, failed, retrying). cancel: anything with
      is_set(); when set, the batch stops cleanly (summary.outcome 'interrupted').
    Raises BatchError (no input, state in use, cluster settings), ConfigError (options).
    """
    options = options or ProcessingOptions()
    spec = cluster or ClusterSpec()
    missing = missing_dependencies(spec.kind)
    if missing:
        raise BatchError(missing)
    if retries < 0:
        raise BatchError("retries must be 0 or more")
    items: List[L1CInput] = []
    plain = [i for i in inputs if not isinstance(i, L1CInput)]
    items = [i for i in inputs if isinstance(i, L1CInput)]
    if plain:
        items += expand_inputs(plain)
    if not items:
        raise BatchError("no Level-1C product found in the inputs given")
    items = [dataclasses.replace(i, key=key_from_metadata(i.path)) if i.key is None and os.path.exists(i.path)
             else i for i in items]
    baseline_tag = expected_baseline_tag(options)
    state = Path(state_path).expanduser().absolute() if state_path else default_state_path(options)
    companions = companion_paths(state)
    pfile = None if progress_file is False else Path(progress_file or companions["progress_file"]).absolute()
    ldir = None if log_dir is False else Path(log_dir or companions["log_dir"]).absolute()
    callbacks: List[ProgressCallback] = []
    if pfile is not None:
        from .report import ProgressFile

        callbacks.append(ProgressFile(pfile))
    if progress is not None:
        callbacks.append(progress)
    run = _BatchRun(items, options, spec, state_path=state, progress_file=pfile, log_dir=ldir, retries=retries,
                    overwrite=overwrite, reset_failed=reset_failed, callbacks=callbacks, cancel=cancel,
                    handle_sigint=handle_sigint, cancel_grace=cancel_grace, command=command,
                    baseline_tag=baseline_tag)
    return run.execute()
