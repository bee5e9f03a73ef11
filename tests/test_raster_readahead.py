"""core.raster.readahead: reads in order, ahead of the consumer, errors handed over, stop."""
from __future__ import annotations

import threading
import time

import pytest

from sen2cor_qgis.core.raster.readahead import ReadAhead


def test_results_come_in_order_from_the_background_thread():
    names = []

    def read(i):
        names.append(threading.current_thread().name)
        return i * i
    with ReadAhead([(i, lambda i=i: read(i)) for i in range(6)], ahead=2, name="ra") as ahead:
        assert [ahead.get(i) for i in range(6)] == [0, 1, 4, 9, 16, 25]
    assert set(names) == {"ra"}


def test_the_next_read_runs_while_the_consumer_works():
    started = []

    def read(i):
        started.append((i, time.perf_counter()))
        return i
    with ReadAhead([(i, lambda i=i: read(i)) for i in range(2)], ahead=1) as ahead:
        ahead.get(0)
        consumed = time.perf_counter()
        time.sleep(0.3)                         # the consumer's work on item 0
        assert ahead.get(1) == 1
    assert started[1][1] < consumed + 0.25      # read 1 did not wait for the consumer


def test_a_failed_read_raises_in_the_consumer_and_stops():
    calls = []

    def read(i):
        calls.append(i)
        if i == 1:
            raise OSError("B05.jp2: truncated file")
        return i
    ahead = ReadAhead([(i, lambda i=i: read(i)) for i in range(5)], ahead=1)
    assert ahead.get(0) == 0
    with pytest.raises(OSError, match="B05.jp2"):
        ahead.get(1)
    ahead.close()
    assert calls == [0, 1]


def test_out_of_order_get_is_refused_and_close_stops_the_thread():
    ahead = ReadAhead([(i, lambda i=i: i) for i in range(100)], ahead=1)
    with pytest.raises(RuntimeError, match="out of order"):
        ahead.get(5)
    ahead.close()
    assert not ahead._thread.is_alive()
