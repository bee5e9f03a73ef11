"""Resumable batch state: one SQLite file (by default in the output folder).

Tables (schema version 1):

* ``products`` - one row per input product: ``input`` (absolute path, primary key), ``name``,
  ``key`` (identity, see products.py), ``status`` (pending | running | done | failed | skipped),
  ``attempts`` (times a worker started it, over all runs), ``output`` (L2A product path),
  ``error`` (last one-line error), ``detail`` (its traceback), ``worker``, ``started``/``finished``
  (Unix times of the last attempt), ``seconds`` (processing time), ``peak_memory_mb`` (peak
  resident memory of the worker process during the attempt), ``note``, ``added``, ``updated``.
* ``attempts`` - one row per start of a product on a worker: ``token`` (primary key), ``input``,
  ``run_id``, ``worker``, ``pid``, ``started``, ``finished``, ``outcome`` (done | failed |
  cancelled | lost (its worker died) | interrupted | NULL while running), ``error``.
* ``runs`` - one row per batch invocation: ``started``, ``finished``, ``command``, ``settings``
  (JSON), ``outcome`` (running | complete | failed | interrupted), ``host``, ``pid``.
* ``meta`` - ``schema_version``; view ``summary`` - products with readable times.

Every change is one transaction, so the file is consistent whatever stops the batch (Ctrl-C,
kill, power loss); only the driver process writes it (never the workers: SQLite on shared file
systems is unreliable under concurrent writers). A lock file ``<state>.lock`` keeps two batches
from using the same state at once.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Union

from .common import BatchError

SCHEMA_VERSION = 1
STATUSES = ("pending", "running", "done", "failed", "skipped")
FINISHED = ("done", "skipped")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    finished REAL,
    command TEXT,
    settings TEXT,
    outcome TEXT NOT NULL DEFAULT 'running',
    host TEXT,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS products (
    input TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    output TEXT,
    error TEXT,
    detail TEXT,
    worker TEXT,
    started REAL,
    finished REAL,
    seconds REAL,
    peak_memory_mb REAL,
    note TEXT,
    added REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS products_status ON products (status);
CREATE TABLE IF NOT EXISTS attempts (
    token TEXT PRIMARY KEY,
    input TEXT NOT NULL REFERENCES products (input),
    run_id INTEGER REFERENCES runs (id),
    worker TEXT,
    pid INTEGER,
    started REAL,
    finished REAL,
    outcome TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS attempts_input ON attempts (input);
CREATE VIEW IF NOT EXISTS summary AS
    SELECT name, status, attempts, round(seconds, 2) AS seconds,
           round(peak_memory_mb) AS peak_memory_mb,
           datetime(finished, 'unixepoch') AS finished_utc, output, error, input
    FROM products ORDER BY name;
"""


def _lock(handle) -> None:
    """Exclusive, non-blocking lock of an open file (OSError when someone holds it)."""
    try:
        import fcntl
    except ImportError:                       # Windows (QGIS)
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(handle) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class ProductRecord:
    input: str
    name: str
    key: Optional[str]
    status: str
    attempts: int
    output: Optional[str]
    error: Optional[str]
    detail: Optional[str]
    worker: Optional[str]
    started: Optional[float]
    finished: Optional[float]
    seconds: Optional[float]
    peak_memory_mb: Optional[float]
    note: Optional[str]
    added: float
    updated: float


@dataclass(frozen=True)
class AttemptRecord:
    token: str
    input: str
    run_id: Optional[int]
    worker: Optional[str]
    pid: Optional[int]
    started: Optional[float]
    finished: Optional[float]
    outcome: Optional[str]
    error: Optional[str]


class BatchState:
    """The state file of a batch; use as a context manager (or call close())."""

    def __init__(self, path: Union[str, Path], lock: bool = True) -> None:
        self.path = Path(path).expanduser().absolute()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"cannot create the folder of the state file ({exc.strerror})", self.path) from None
        self._lock_file = None
        if lock:
            self._acquire_lock()
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) != SCHEMA_VERSION:
                    raise BatchError(f"state file has schema version {row[0]}, this program reads "
                                     f"{SCHEMA_VERSION}; use another --state file", self.path)
        except sqlite3.DatabaseError as exc:
            self._release_lock()
            raise BatchError(f"not a usable batch state file ({exc})", self.path) from None
        except BaseException:
            self._release_lock()
            raise

    # ------------------------------------------------------------------ plumbing
    def _acquire_lock(self) -> None:
        lock_path = Path(str(self.path) + ".lock")
        handle = open(lock_path, "a+")
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise BatchError(f"state file in use by {holder}: one batch at a time per state file",
                             self.path) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                self._lock_file.truncate(0)
                _unlock(self._lock_file)
            self._lock_file.close()
            self._lock_file = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; ROLLBACK on any exception, KeyboardInterrupt included."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
            self.conn = None
        self._release_lock()

    def __enter__(self) -> "BatchState":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ runs
    def start_run(self, command: str = "", settings: Optional[dict] = None) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO runs (started, command, settings, host, pid) VALUES (?, ?, ?, ?, ?)",
                            (time.time(), command, json.dumps(settings or {}, sort_keys=True, default=str),
                             socket.gethostname(), os.getpid()))
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, outcome: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE runs SET finished = ?, outcome = ? WHERE id = ?", (time.time(), outcome, run_id))

    def runs(self) -> List[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM runs ORDER BY id")]

    def previous_settings(self) -> Optional[dict]:
        row = self.conn.execute("SELECT settings FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row and row[0] else None

    # ------------------------------------------------------------------ products
    def add_inputs(self, inputs: Iterable) -> None:
        """Register L1CInput-like objects (path, name, key); known inputs are kept as they are."""
        now = time.time()
        with self.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO products (input, name, key, added, updated) VALUES (?, ?, ?, ?, ?)",
                          [(i.path, i.name, i.key, now, now) for i in inputs])
            c.executemany("UPDATE products SET key = ? WHERE input = ? AND key IS NULL AND ? IS NOT NULL",
                          [(i.key, i.path, i.key) for i in inputs])

    def product(self, input_path: str) -> Optional[ProductRecord]:
        row = self.conn.execute("SELECT * FROM products WHERE input = ?", (input_path,)).fetchone()
        return ProductRecord(**dict(row)) if row else None

    def products(self, inputs: Optional[Sequence[str]] = None) -> List[ProductRecord]:
        rows = self.conn.execute("SELECT * FROM products ORDER BY name, input").fetchall()
        records = [ProductRecord(**dict(r)) for r in rows]
        if inputs is not None:
            wanted = set(inputs)
            records = [r for r in records if r.input in wanted]
        return records

    def attempts(self, input_path: Optional[str] = None) -> List[AttemptRecord]:
        if input_path is None:
            rows = self.conn.execute("SELECT * FROM attempts ORDER BY started, token").fetchall()
        else:
            rows = self.conn.execute("SELECT * FROM attempts WHERE input = ? ORDER BY started, token",
                                     (input_path,)).fetchall()
        return [AttemptRecord(**dict(r)) for r in rows]

    def counts(self, inputs: Optional[Sequence[str]] = None) -> Dict[str, int]:
        result = {s: 0 for s in STATUSES}
        for record in self.products(inputs):
            result[record.status] += 1
        return result

    def _open_attempt(self, c: sqlite3.Connection, token: str, input_path: str, run_id: Optional[int],
                      worker: Optional[str], pid: Optional[int], started: Optional[float]) -> bool:
        """Insert the attempt if new (counting it); earlier open attempts of the product are lost."""
        if c.execute("SELECT 1 FROM attempts WHERE token = ?", (token,)).fetchone():
            return False
        c.execute("UPDATE attempts SET outcome = 'lost', finished = ? WHERE input = ? AND outcome IS NULL",
                  (started or time.time(), input_path))
        c.execute("INSERT INTO attempts (token, input, run_id, worker, pid, started) VALUES (?, ?, ?, ?, ?, ?)",
                  (token, input_path, run_id, worker, pid, started))
        c.execute("UPDATE products SET attempts = attempts + 1 WHERE input = ?", (input_path,))
        return True

    def attempt_started(self, token: str, input_path: str, run_id: Optional[int], worker: Optional[str],
                        pid: Optional[int], started: float) -> bool:
        """A worker started the product; returns False if this attempt was already known."""
        with self.transaction() as c:
            new = self._open_attempt(c, token, input_path, run_id, worker, pid, started)
            if new:
                c.execute("UPDATE products SET status = 'running', worker = ?, started = ?, finished = NULL, "
                          "updated = ? WHERE input = ? AND status NOT IN ('done', 'skipped')",
                          (worker, started, time.time(), input_path))
            return new

    def _close_attempt(self, c, result: dict, run_id: Optional[int], outcome: str, error: Optional[str]) -> None:
        token = result.get("token")
        if not token:
            return
        self._open_attempt(c, token, result["input"], run_id, result.get("worker"), result.get("pid"),
                           result.get("started"))
        c.execute("UPDATE attempts SET finished = ?, outcome = ?, error = ? WHERE token = ?",
                  (result.get("finished") or time.time(), outcome, error, token))

    def record_done(self, result: dict, run_id: Optional[int], note: Optional[str] = None) -> None:
        """A product converted (result: the task's dict: input, token, output, seconds, ...)."""
        with self.transaction() as c:
            self._close_attempt(c, result, run_id, "done", None)
            c.execute("UPDATE products SET status = 'done', output = ?, error = NULL, detail = NULL, worker = ?, "
                      "started = ?, finished = ?, seconds = ?, peak_memory_mb = ?, note = ?, updated = ? "
                      "WHERE input = ?",
                      (result.get("output"), result.get("worker"), result.get("started"), result.get("finished"),
                       result.get("seconds"), result.get("peak_memory_mb"), note, time.time(), result["input"]))

    def record_failed(self, result: dict, run_id: Optional[int], final: bool = True) -> None:
        """A failed attempt (result: input, error, detail and, when the task reported, token etc.).

        Without a token (the worker died: no report) the product's open attempts are 'lost'.
        final: the product stays 'failed'; otherwise it goes back to 'pending' (retried now)."""
        with self.transaction() as c:
            if result.get("token"):
                self._close_attempt(c, result, run_id, "failed", result.get("error"))
            else:
                c.execute("UPDATE attempts SET outcome = 'lost', finished = ?, error = ? "
                          "WHERE input = ? AND outcome IS NULL", (time.time(), result.get("error"), result["input"]))
            c.execute("UPDATE products SET status = ?, error = ?, detail = ?, worker = COALESCE(?, worker), "
                      "started = COALESCE(?, started), finished = ?, seconds = ?, peak_memory_mb = ?, "
                      "updated = ? WHERE input = ?",
                      ("failed" if final else "pending", result.get("error"), result.get("detail"),
                       result.get("worker"), result.get("started"), result.get("finished") or time.time(),
                       result.get("seconds"), result.get("peak_memory_mb"), time.time(), result["input"]))

    def record_cancelled(self, result: dict, run_id: Optional[int]) -> None:
        """The product stopped on cancel (or never started): pending again, its open attempts
        closed as 'cancelled' and not counted."""
        with self.transaction() as c:
            if result.get("token"):
                self._open_attempt(c, result["token"], result["input"], run_id, result.get("worker"),
                                   result.get("pid"), result.get("started"))
            self._uncount_open(c, result["input"], "cancelled")
            c.execute("UPDATE products SET status = 'pending', updated = ? "
                      "WHERE input = ? AND status NOT IN ('done', 'skipped')", (time.time(), result["input"]))

    @staticmethod
    def _uncount_open(c: sqlite3.Connection, input_path: str, outcome: str) -> int:
        rows = c.execute("SELECT token FROM attempts WHERE input = ? AND outcome IS NULL", (input_path,)).fetchall()
        for (token,) in rows:
            c.execute("UPDATE attempts SET outcome = ?, finished = ? WHERE token = ?", (outcome, time.time(), token))
        if rows:
            c.execute("UPDATE products SET attempts = MAX(attempts - ?, 0) WHERE input = ?", (len(rows), input_path))
        return len(rows)

    def has_attempt(self, token: str) -> bool:
        return self.conn.execute("SELECT 1 FROM attempts WHERE token = ?", (token,)).fetchone() is not None

    def record_skipped(self, input_path: str, output: str, note: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE products SET status = 'skipped', output = ?, error = NULL, note = ?, updated = ? "
                      "WHERE input = ?", (output, note, time.time(), input_path))

    def record_adopted(self, input_path: str, output: str, note: str) -> None:
        """A product made by an earlier, interrupted attempt of this batch is found complete."""
        with self.transaction() as c:
            c.execute("UPDATE attempts SET outcome = 'done', finished = COALESCE(finished, ?) "
                      "WHERE input = ? AND outcome IS NULL", (time.time(), input_path))
            c.execute("UPDATE products SET status = 'done', output = ?, error = NULL, detail = NULL, note = ?, "
                      "updated = ? WHERE input = ?", (output, note, time.time(), input_path))

    def set_pending(self, inputs: Sequence[str], reset_attempts: bool = False) -> None:
        with self.transaction() as c:
            c.executemany("UPDATE products SET status = 'pending', updated = ?"
                          + (", attempts = 0" if reset_attempts else "") + " WHERE input = ?",
                          [(time.time(), i) for i in inputs])

    def interrupt_open(self, run_id: Optional[int] = None, outcome: str = "interrupted") -> List[str]:
        """The run stops: attempts still open are closed (not counted) and products still running
        go back to pending. Returns the inputs concerned."""
        with self.transaction() as c:
            inputs = [r[0] for r in c.execute("SELECT DISTINCT input FROM attempts WHERE outcome IS NULL")]
            inputs += [r[0] for r in c.execute("SELECT input FROM products WHERE status = 'running'")
                       if r[0] not in inputs]
            for input_path in inputs:
                self._uncount_open(c, input_path, outcome)
            c.execute("UPDATE products SET status = 'pending', updated = ? WHERE status = 'running'", (time.time(),))
            return inputs
