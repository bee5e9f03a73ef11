"""What a batch tells while it runs and when it ends.

* `BatchUpdate` / `ProductUpdate`: the events `run_batch` hands to its `progress` callback (in
  the calling thread): start, one per product change (running with its fraction, done, failed,
  retrying, skipped, back to pending), regular ticks (ETA), end.
* `TerminalProgress`: a live progress line on a terminal (done / failed / running, ETA), with a
  line per finished product above it; plain lines when the output is not a terminal.
* `ProgressFile`: a plain-text file, one line appended per finished product (for `tail -f`).
* `BatchSummary` and `format_summary`: the final table (counts, total and median time,
  failures with their one-line errors).
"""
from __future__ import annotations

import logging
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, List, Optional, Tuple


@dataclass
class Counts:
    """Products of the batch by situation (`total` = the sum)."""

    total: int = 0
    done: int = 0          # converted by this batch (this run or an earlier one)
    skipped: int = 0       # already present in the output folder, not converted again
    failed: int = 0        # failed for good (this run, or retries exhausted earlier)
    running: int = 0       # started on a worker
    queued: int = 0        # submitted, not started
    pending: int = 0       # not submitted (interrupted run)

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed


@dataclass
class ProductUpdate:
    input: str
    name: str
    status: str                       # running | done | failed | retrying | skipped | pending
    fraction: float = 0.0
    message: str = ""
    attempt: int = 0
    max_attempts: int = 1
    worker: Optional[str] = None
    output: Optional[str] = None
    error: Optional[str] = None
    seconds: Optional[float] = None
    peak_memory_mb: Optional[float] = None
    note: Optional[str] = None


@dataclass
class BatchUpdate:
    kind: str                         # start | product | tick | end
    counts: Counts
    fraction: float = 0.0             # of the whole batch, running products counted by their fraction
    elapsed: float = 0.0
    eta_seconds: Optional[float] = None
    product: Optional[ProductUpdate] = None
    message: str = ""


@dataclass
class BatchSummary:
    counts: Counts
    done_now: int = 0
    done_before: int = 0
    outcome: str = "complete"         # complete | failed (some products failed) | interrupted
    wall_seconds: float = 0.0
    busy_seconds: float = 0.0         # first submission to the end (wall time less planning and cluster start)
    seconds: List[float] = field(default_factory=list)          # products converted in this run
    peak_memory_mb: Optional[float] = None
    failures: List[Tuple[str, int, str]] = field(default_factory=list)   # (name, attempts, error)
    state_path: Optional[str] = None
    progress_file: Optional[str] = None
    log_dir: Optional[str] = None
    dashboard: Optional[str] = None
    cluster: str = ""

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds))

    @property
    def median_seconds(self) -> Optional[float]:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def throughput_per_hour(self) -> Optional[float]:
        span = self.busy_seconds or self.wall_seconds
        if not self.done_now or span <= 0:
            return None
        return self.done_now * 3600.0 / span

    @property
    def exit_code(self) -> int:
        return {"complete": 0, "failed": 1, "interrupted": 130}.get(self.outcome, 1)


def format_duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "--:--:--"
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def counts_text(counts: Counts) -> str:
    text = f"{counts.done + counts.skipped}/{counts.total} done, {counts.failed} failed, {counts.running} running"
    waiting = counts.queued + counts.pending
    return text + (f", {waiting} waiting" if waiting else "")


def product_line(update: BatchUpdate) -> Optional[str]:
    """One line for a finished/failed/retried product, None for other events."""
    p = update.product
    if p is None:
        return None
    if p.status == "done":
        extra = []
        if p.seconds is not None:
            extra.append(f"{p.seconds:.1f} s")
        if p.peak_memory_mb:
            extra.append(f"{p.peak_memory_mb:.0f} MB")
        if p.note:
            extra.append(p.note)
        return f"done    {p.name} ({', '.join(extra)}) -> {p.output}"
    if p.status == "failed":
        return f"FAILED  {p.name} (attempt {p.attempt}/{p.max_attempts}): {p.error}"
    if p.status == "retrying":
        return f"retry   {p.name} (attempt {p.attempt}/{p.max_attempts} failed): {p.error}"
    return None


class TerminalProgress:
    """Progress callback for a terminal: a redrawn bar on a TTY, plain lines otherwise."""

    def __init__(self, stream: Optional[IO[str]] = None, width: int = 28, min_interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.min_interval = min_interval
        self._last_draw = 0.0
        self._bar_shown = False
        self._last: Optional[BatchUpdate] = None
        self._lock = threading.RLock()

    def __call__(self, update: BatchUpdate) -> None:
        with self._lock:
            self._last = update
            if update.kind == "start":
                self.write_line(update.message)
            line = product_line(update)
            if line is not None:
                self.write_line(line)
            if update.kind == "end":
                self._draw(force=True)
                if self._bar_shown:
                    self.stream.write("\n")
                    self._bar_shown = False
                self.stream.flush()
            elif self.tty:
                self._draw(force=line is not None)

    def bar(self, update: BatchUpdate) -> str:
        filled = int(round(self.width * min(1.0, max(0.0, update.fraction))))
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * update.fraction:5.1f}%  "
                f"{counts_text(update.counts)}  elapsed {format_duration(update.elapsed)}  "
                f"ETA {format_duration(update.eta_seconds)}")

    def _draw(self, force: bool = False) -> None:
        if not self.tty or self._last is None:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self.stream.write("\r\x1b[K" + self.bar(self._last))
        self.stream.flush()
        self._bar_shown = True

    def write_line(self, text: str) -> None:
        """Print a line above the bar (the bar is redrawn after it)."""
        if not text:
            return
        with self._lock:
            if self._bar_shown:
                self.stream.write("\r\x1b[K")
                self._bar_shown = False
            self.stream.write(text + "\n")
            self.stream.flush()
            if self.tty and self._last is not None and self._last.kind != "end":
                self._draw(force=True)

    def log_handler(self, level: int = logging.INFO) -> logging.Handler:
        """A logging handler printing through write_line (keeps the bar intact)."""
        reporter = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    reporter.write_line(self.format(record))
                except Exception:  # noqa: BLE001
                    self.handleError(record)

        handler = _Handler(level)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        return handler


class ProgressFile:
    """Plain-text progress file: a line at start, one per finished product, one at the end."""

    def __init__(self, path: os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, text: str) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()

    def __call__(self, update: BatchUpdate) -> None:
        status = (f"[{counts_text(update.counts)}, elapsed {format_duration(update.elapsed)}, "
                  f"ETA {format_duration(update.eta_seconds)}]")
        if update.kind == "start":
            self._append(f"{_utc_now()} start: {update.message}")
        elif update.kind == "end":
            self._append(f"{_utc_now()} end: {update.message} {status}")
        elif update.kind == "product":
            line = product_line(update)
            if line is not None:
                self._append(f"{_utc_now()} {status} {line}")


def format_summary(summary: BatchSummary, max_failures: int = 50) -> str:
    """The final table (at most `max_failures` failures listed; all are in the state file)."""
    c = summary.counts
    rows = [
        ("products", f"{c.total}"),
        ("converted now", f"{summary.done_now}"),
        ("converted before", f"{summary.done_before}"),
        ("already present", f"{c.skipped}"),
        ("failed", f"{c.failed}"),
        ("not run", f"{c.pending + c.queued + c.running}"),
        ("wall time", format_duration(summary.wall_seconds)),
    ]
    if summary.seconds:
        rows += [("processing time", f"total {format_duration(summary.total_seconds)}, "
                                     f"median {summary.median_seconds:.1f} s, max {max(summary.seconds):.1f} s")]
    if summary.throughput_per_hour:
        rows.append(("throughput", f"{summary.throughput_per_hour:.1f} products/hour "
                                   f"(over {format_duration(summary.busy_seconds or summary.wall_seconds)} of conversion)"))
    if summary.peak_memory_mb:
        rows.append(("peak memory", f"{summary.peak_memory_mb:.0f} MB (largest worker process during a product)"))
    if summary.cluster:
        rows.append(("ran on", summary.cluster))
    width = max(len(r[0]) for r in rows)
    lines = [f"L2A_Batch: {summary.outcome}"] + [f"  {k:<{width}}  {v}" for k, v in rows]
    if summary.failures:
        lines.append("failures:")
        shown = summary.failures[:max_failures]
        name_width = min(70, max(len(f[0]) for f in shown))
        for name, attempts, error in shown:
            lines.append(f"  {name:<{name_width}}  attempts {attempts}  {error}")
        if len(summary.failures) > len(shown):
            lines.append(f"  ... and {len(summary.failures) - len(shown)} more (all in the state file: "
                         "sqlite3 <state> \"SELECT name, error FROM summary WHERE status = 'failed'\")")
    where = [(label, value) for label, value in (("state", summary.state_path),
                                                 ("progress file", summary.progress_file),
                                                 ("product logs", summary.log_dir)) if value]
    for label, value in where:
        lines.append(f"{label}: {value}")
    return "\n".join(lines)
