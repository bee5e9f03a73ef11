"""Progress and cancel of the full processing on the small sample product (1830 x 1830 at 10 m):
progress is reported at least every few seconds, and a cancel requested from another thread in
any stage stops the run within 2 s, leaving nothing in the output folder.

Marked slow: it processes the small product once and cancels it five times (about a minute on
2 cores).
"""
from __future__ import annotations

import threading
import time

import pytest

from sen2cor_qgis.core.errors import CancelledError
from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product
from sen2cor_qgis.tools.sample_product import generate_product

pytestmark = pytest.mark.slow
MAX_GAP_S = 5.0
MAX_CANCEL_S = 2.0
STAGES = ("reading B05 at 20 m", "scene classification at 20 m", "surface reflectance B8A",
          "reading B04 at 10 m", "atmospheric correction at 10 m")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate_product(tmp_path_factory.mktemp("small"), size="small", spacecraft="S2B",
                            truth=False)


def test_progress_is_reported_every_few_seconds(small, tmp_path):
    times = []
    process_product(small, ProcessingOptions(output_dir=str(tmp_path / "out")),
                    progress=lambda f, m: times.append((time.monotonic(), f, m)))
    gaps = [(b[0] - a[0], a[2]) for a, b in zip(times, times[1:])]
    worst = max(gaps)
    print(f"\n{len(times)} progress calls, longest gap {worst[0]:.2f} s after '{worst[1]}'")
    assert worst[0] <= MAX_GAP_S, worst
    fractions = [f for _, f, _ in times]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.parametrize("stage", STAGES)
def test_cancel_from_another_thread_stops_within_2_s(small, tmp_path, stage):
    out = tmp_path / "out"
    event = threading.Event()
    requested = []

    def progress(fraction, message):
        if stage in message and not requested:
            def fire():
                requested.append(time.monotonic())
                event.set()
            threading.Timer(0.3, fire).start()        # the stage is under way when it fires
    with pytest.raises(CancelledError):
        process_product(small, ProcessingOptions(output_dir=str(out)), progress=progress, cancel=event)
    stopped = time.monotonic()
    assert requested, f"stage '{stage}' not reached"
    latency = stopped - requested[0]
    print(f"\ncancel during '{stage}': stopped {latency:.2f} s after the request")
    assert latency <= MAX_CANCEL_S
    assert not out.exists() or list(out.iterdir()) == []
