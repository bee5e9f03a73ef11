"""Reads run ahead of their consumer in a background thread.

The L1C bands are decoded one after the other and each is then resampled and stored; GDAL's
JPEG 2000 decoding uses every core, the resampling one. `ReadAhead` runs a known sequence of
reads in a thread of its own, `ahead` results in advance, so that the next band decodes while
the current one is resampled (memory: `ahead` + 2 results at most).

    ahead = ReadAhead([(key, lambda: product.read_band(band, window)), ...], ahead=1)
    try:
        data = ahead.get(key)          # in the order of the sequence
    finally:
        ahead.close()                  # stops the thread (after its current read) and joins it
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Hashable, Iterable, Optional, Tuple

_POLL_S = 0.1


class ReadAhead:
    """A sequence of (key, read) run in order by a background thread; `get(key)` returns the
    results in the same order and raises the read's exception where it failed."""

    def __init__(self, reads: Iterable[Tuple[Hashable, Callable[[], Any]]], ahead: int = 1,
                 name: str = "sen2cor-read-ahead") -> None:
        self._queue: "queue.Queue[Tuple[Hashable, Any, Optional[BaseException]]]" = queue.Queue(
            maxsize=max(1, int(ahead)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(list(reads),), name=name, daemon=True)
        self._thread.start()

    def _run(self, reads) -> None:
        for key, read in reads:
            if self._stop.is_set():
                return
            try:
                item = (key, read(), None)
            except BaseException as exc:               # handed to the consumer
                item = (key, None, exc)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=_POLL_S)
                    break
                except queue.Full:
                    continue
            if item[2] is not None:
                return

    def get(self, key: Hashable) -> Any:
        """The result of the read `key`, the next one of the sequence."""
        while True:
            try:
                got, value, error = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError(f"read-ahead ended before {key!r}") from None
        if error is not None:
            raise error
        if got != key:
            raise RuntimeError(f"read-ahead out of order: {got!r} came for {key!r}")
        return value

    def close(self) -> None:
        """Stop after the read under way, drop what was read ahead, wait for the thread."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    def __enter__(self) -> "ReadAhead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
