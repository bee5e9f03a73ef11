"""The batch engine on a real local Dask cluster (2 worker processes) converting tiny generated
products (--cr_only: the product tree; full processing drops in behind the same call later).

Fault tolerance is shown with a worker process that kills itself (SIGKILL) in the middle of a
product, through the test-only marker file hook of core.batch.task.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from sen2cor_qgis.core.batch import ClusterSpec, run_batch  # noqa: E402
from sen2cor_qgis.core.batch import cli as batch_cli  # noqa: E402
from sen2cor_qgis.core.batch.products import key_from_l1c_name, scan_output_dir  # noqa: E402
from sen2cor_qgis.core.batch.state import BatchState  # noqa: E402
from sen2cor_qgis.core.batch.task import TEST_KILL_MARKER_ENV  # noqa: E402
from sen2cor_qgis.core.pipeline import ProcessingOptions  # noqa: E402
from sen2cor_qgis.tools.sample_product import generate_product  # noqa: E402

N_GOOD = 4


@pytest.fixture(scope="module")
def l1c(tmp_path_factory):
    """Four good tiny products (distinct dates, hence names) and one corrupt one."""
    root = tmp_path_factory.mktemp("l1c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = [generate_product(root, size="tiny", seed=i, date=f"2023-06-{i + 1:02d}", truth=False)
                for i in range(N_GOOD)]
        bad = generate_product(root / "bad", size="tiny", seed=9, date="2023-06-20", truth=False)
    (bad / "MTD_MSIL1C.xml").write_text("<this is not XML")
    return {"good": good, "bad": bad, "root": root}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return str(tmp_path_factory.mktemp("sen2cor_home"))


@pytest.fixture(scope="module")
def marker_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def scheduler(marker_dir):
    """A 2-worker local cluster (processes, 1 thread, MEMORY=2) shared by the module's tests;
    its workers see the kill hook's marker path (the marker file itself exists only when a test
    writes it)."""
    marker = marker_dir / "kill.json"
    old = os.environ.get(TEST_KILL_MARKER_ENV)
    os.environ[TEST_KILL_MARKER_ENV] = str(marker)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       resources={"MEMORY": 2}, dashboard_address=":0",
                                       silence_logs=50)
    try:
        yield {"address": cluster.scheduler_address, "marker": marker, "cluster": cluster}
    finally:
        cluster.close()
        if old is None:
            os.environ.pop(TEST_KILL_MARKER_ENV, None)
        else:
            os.environ[TEST_KILL_MARKER_ENV] = old


def _spec(scheduler) -> ClusterSpec:
    return ClusterSpec(kind="scheduler", address=scheduler["address"], memory_per_product=1)


def _options(out: Path, home: str, **kw) -> ProcessingOptions:
    return ProcessingOptions(cr_only=True, output_dir=str(out), sen2cor_home=home, **kw)


def _products_by_key(out: Path) -> Counter:
    return Counter({key: len(found) for key, found in scan_output_dir(out).items()})


def _assert_each_converted_once(out: Path, inputs) -> None:
    counts = _products_by_key(out)
    for safe in inputs:
        assert counts[key_from_l1c_name(Path(safe).name)] == 1, (safe, counts)
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers


def _state(out: Path) -> BatchState:
    return BatchState(out / "L2A_Batch.sqlite", lock=False)


def test_converts_products_on_two_workers_with_progress(l1c, home, scheduler, tmp_path):
    out = tmp_path / "out"
    updates = []
    summary = run_batch(l1c["good"], _options(out, home), _spec(scheduler), progress=updates.append)
    assert summary.outcome == "complete" and summary.exit_code == 0
    assert summary.done_now == N_GOOD and summary.counts.done == N_GOOD and len(summary.seconds) == N_GOOD
    _assert_each_converted_once(out, l1c["good"])
    with _state(out) as state:
        records = state.products()
        assert {r.status for r in records} == {"done"} and {r.attempts for r in records} == {1}
        assert all(Path(r.output).is_dir() and r.seconds > 0 and r.peak_memory_mb > 10 for r in records)
        assert len({r.worker for r in records}) >= 1
    kinds = Counter(u.kind for u in updates)
    assert kinds["start"] == 1 and kinds["end"] == 1
    statuses = Counter(u.product.status for u in updates if u.product)
    assert statuses["done"] == N_GOOD and statuses["running"] >= N_GOOD       # started + fractions
    assert updates[-1].fraction == 1.0 and updates[-1].counts.done == N_GOOD
    progress = (out / "L2A_Batch.progress.txt").read_text().splitlines()
    assert len(progress) == N_GOOD + 2 and progress[-1].split(" ", 1)[1].startswith("end: complete")
    logs = sorted((out / "L2A_Batch.logs").iterdir())
    assert len(logs) == N_GOOD and "creating the Level-2A product tree" in logs[0].read_text()

    # the same command again: nothing to do, no cluster needed
    again = run_batch(l1c["good"], _options(out, home), _spec(scheduler))
    assert again.done_now == 0 and again.done_before == N_GOOD and again.outcome == "complete"
    _assert_each_converted_once(out, l1c["good"])


def test_corrupt_product_fails_alone(l1c, home, scheduler, tmp_path):
    out = tmp_path / "out"
    summary = run_batch(l1c["good"] + [l1c["bad"]], _options(out, home), _spec(scheduler), retries=2)
    assert summary.outcome == "failed" and summary.exit_code == 1
    assert summary.counts.done == N_GOOD and summary.counts.failed == 1
    _assert_each_converted_once(out, l1c["good"])
    [(name, attempts, error)] = summary.failures
    assert name == l1c["bad"].name[:-5] and attempts == 1          # bad input: no retry within the run
    assert "MTD_MSIL1C.xml" in error and "\n" not in error
    with _state(out) as state:
        record = state.product(str(l1c["bad"]))
        assert record.status == "failed" and "Traceback" in record.detail
    # a re-run retries the failed product (the file may have been fixed) until attempts run out
    for expected_attempts in (2, 3, 3):
        again = run_batch(l1c["good"] + [l1c["bad"]], _options(out, home), _spec(scheduler), retries=2)
        assert again.done_now == 0 and again.failures[0][1] == expected_attempts
    reset = run_batch([l1c["bad"]], _options(out, home), _spec(scheduler), retries=2, reset_failed=True)
    assert reset.failures[0][1] == 1


def _write_marker(scheduler, product: Path, at: str) -> None:
    scheduler["marker"].write_text(json.dumps({"match": product.name, "at": at, "action": "kill", "seconds": 0.5}))


@pytest.mark.parametrize("at", ["start", "end"])
def test_killed_worker_loses_only_its_product(l1c, home, scheduler, tmp_path, at):
    """SIGKILL of the worker process converting one product ('start': before anything is written;
    'end': after the product appeared, before the result was reported): every product still ends
    converted exactly once, the victim on a restarted or the other worker."""
    out = tmp_path / "out"
    victim = l1c["good"][1]
    _write_marker(scheduler, victim, at)
    summary = run_batch(l1c["good"], _options(out, home), _spec(scheduler), retries=2)
    assert not scheduler["marker"].exists(), "the hook did not fire"
    assert summary.outcome == "complete" and summary.counts.done == N_GOOD
    _assert_each_converted_once(out, l1c["good"])
    with _state(out) as state:
        record = state.product(str(victim))
        outcomes = [a.outcome for a in state.attempts(str(victim))]
        assert record.status == "done" and record.attempts == 2, outcomes
        assert outcomes == ["lost", "done"]
        if at == "end":
            assert record.note and "adopted" in record.note
        assert {r.attempts for r in state.products() if r.input != str(victim)} == {1}


def test_interrupted_batch_resumes_with_only_the_missing_products(l1c, home, scheduler, tmp_path):
    """Cancel after two products (the QGIS cancel button, or Ctrl-C): the running products stop
    at their next check and stay pending; the re-run converts only those."""
    out = tmp_path / "out"
    stop = threading.Event()

    def stop_after_two(update):
        if update.counts.done >= 2:
            stop.set()

    # products made slow (test hook: 1 s before each) so that two are still running at the cancel
    scheduler["marker"].write_text(json.dumps({"match": "", "at": "start", "action": "sleep", "seconds": 1.0}))
    try:
        first = run_batch(l1c["good"], _options(out, home), _spec(scheduler), progress=stop_after_two,
                          cancel=stop)
    finally:
        scheduler["marker"].unlink()
    assert first.outcome == "interrupted" and first.exit_code == 130
    assert 2 <= first.counts.done < N_GOOD and first.counts.pending == N_GOOD - first.counts.done
    with _state(out) as state:
        assert state.runs()[-1]["outcome"] == "interrupted"
        assert {r.status for r in state.products()} <= {"done", "pending"}
        done_first = {r.input for r in state.products() if r.status == "done"}
        assert all(r.attempts == 0 for r in state.products() if r.status == "pending")
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == []

    second = run_batch(l1c["good"], _options(out, home), _spec(scheduler))
    assert second.outcome == "complete" and second.done_before == len(done_first)
    assert second.done_now == N_GOOD - len(done_first)
    _assert_each_converted_once(out, l1c["good"])
    with _state(out) as state:
        assert all(r.attempts == 1 for r in state.products())
        runs = {a.run_id for r in done_first for a in state.attempts(r)}
        assert runs == {1}                                          # not converted again in run 2


def test_runs_in_a_worker_thread_as_in_qgis(l1c, home, scheduler, tmp_path):
    """The QGIS algorithm calls run_batch from a task thread: no signal handling there, progress
    callbacks in that thread."""
    result, threads = {}, set()

    def progress(update):
        threads.add(threading.get_ident())

    def body():
        result["summary"] = run_batch(l1c["good"][:2], _options(tmp_path / "out", home), _spec(scheduler),
                                      progress=progress)

    worker = threading.Thread(target=body)
    worker.start()
    worker.join(120)
    assert result["summary"].outcome == "complete" and threads == {worker.ident}


def test_present_product_is_skipped_unless_overwrite(l1c, home, scheduler, tmp_path):
    out = tmp_path / "out"
    first = run_batch(l1c["good"][:2], _options(out, home), _spec(scheduler), state_path=tmp_path / "a.sqlite")
    assert first.done_now == 2
    before = {k: v[0].name for k, v in scan_output_dir(out).items()}
    # another state (another user, or the state file was deleted): the products are recognised
    second = run_batch(l1c["good"][:3], _options(out, home), _spec(scheduler), state_path=tmp_path / "b.sqlite")
    assert second.counts.skipped == 2 and second.done_now == 1
    with BatchState(tmp_path / "b.sqlite", lock=False) as state:
        skipped = [r for r in state.products() if r.status == "skipped"]
        assert len(skipped) == 2 and all("already present" in r.note and Path(r.output).is_dir() for r in skipped)
    time.sleep(1.1)                                                # new products get a new generation time
    third = run_batch(l1c["good"][:2], _options(out, home), _spec(scheduler), state_path=tmp_path / "c.sqlite",
                      overwrite=True)
    assert third.done_now == 2 and third.counts.skipped == 0
    _assert_each_converted_once(out, l1c["good"][:3])
    after = {k: v[0].name for k, v in scan_output_dir(out).items()}
    assert all(after[k] != before[k] for k in before)             # replaced by new products


def test_memory_per_product_limits_the_products_a_worker_runs_at_once(l1c, home, tmp_path):
    """One worker with 2 threads, a product needing more than half its memory: the products run
    one after the other (the MEMORY resource, not the thread count, decides)."""
    from sen2cor_qgis.core.batch.cluster import local_layout

    worker_gb = local_layout(None, workers=1).memory_limit / 1e9
    spec = ClusterSpec(kind="local", workers=1, threads_per_worker=2, memory_per_product=0.6 * worker_gb,
                       dashboard_address=":0")
    out = tmp_path / "out"
    summary = run_batch(l1c["good"], _options(out, home), spec)
    assert summary.outcome == "complete" and "1 worker process(es) x 2 thread(s)" in summary.cluster
    with _state(out) as state:
        intervals = sorted((a.started, a.finished) for a in state.attempts())
    assert len(intervals) == N_GOOD
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        assert start >= end - 0.01, intervals                       # never two products at once


def test_external_scheduler_memory_check(scheduler):
    from sen2cor_qgis.core.batch.cluster import _external_resources
    from sen2cor_qgis.core.batch.common import BatchError

    with distributed.Client(scheduler["address"]) as client:
        assert _external_resources(client, 2) == {"MEMORY": 2}
        assert _external_resources(client, None) is None
        with pytest.raises(BatchError, match="offer at most 2"):
            _external_resources(client, 3)


def test_local_cluster_started_by_the_batch(l1c, home, tmp_path):
    out = tmp_path / "out"
    spec = ClusterSpec(kind="local", workers=2, memory_per_product=1, dashboard_address=":0")
    summary = run_batch(l1c["good"], _options(out, home), spec)
    assert summary.outcome == "complete" and summary.done_now == N_GOOD
    assert "local cluster: 2 worker process(es) x 1 thread(s)" in summary.cluster
    _assert_each_converted_once(out, l1c["good"])


def test_cli_runs_a_batch(l1c, home, scheduler, tmp_path, capsys):
    out = tmp_path / "out"
    listing = tmp_path / "inputs.txt"
    listing.write_text("\n".join(str(p) for p in l1c["good"][:2]) + "\n")
    argv = [str(listing), str(l1c["bad"]), "--output_dir", str(out), "--cr_only", "--scheduler",
            scheduler["address"], "--memory-per-product", "1GB", "--retries", "0", "--no-progress-bar"]
    os.environ["SEN2COR_HOME"], old = home, os.environ.get("SEN2COR_HOME")
    try:
        assert batch_cli.main(argv) == 1
    finally:
        if old is None:
            os.environ.pop("SEN2COR_HOME")
        else:
            os.environ["SEN2COR_HOME"] = old
    text = capsys.readouterr()
    assert "L2A_Batch: failed" in text.out and "converted now     2" in text.out
    assert "FAILED  " + l1c["bad"].name[:-5] in text.err
    _assert_each_converted_once(out, l1c["good"][:2])


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(l1c, home, tmp_path):
    """A real SIGINT to L2A_Batch and its local workers (one process group, as Ctrl-C in a
    terminal) after the first product: exit 130, consistent state, nothing half-written; the same
    command then converts only the rest. Products are slowed down (test hook) to be interruptible."""
    out = tmp_path / "out"
    marker = tmp_path / "slow.json"
    marker.write_text(json.dumps({"match": "", "at": "start", "action": "sleep", "seconds": 0.6}))
    command = [sys.executable, "-m", "sen2cor_qgis.core.batch.cli", *[str(p) for p in l1c["good"]],
               "--output_dir", str(out), "--cr_only", "--workers", "1", "--memory-per-product", "1GB",
               "--no-progress-bar", "--dashboard-address", ":0"]
    env = dict(os.environ, SEN2COR_HOME=home, **{TEST_KILL_MARKER_ENV: str(marker)})
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    progress = out / "L2A_Batch.progress.txt"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (progress.exists() and "] done " in progress.read_text()):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "L2A_Batch: interrupted" in stdout
    with _state(out) as state:
        statuses = Counter(r.status for r in state.products())
        assert set(statuses) == {"done", "pending"} and state.runs()[-1]["outcome"] == "interrupted"
        assert all(r.attempts == 0 for r in state.products() if r.status == "pending")
        done_first = statuses["done"]
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    marker.unlink()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"converted now     {N_GOOD - done_first}" in again.stdout
    _assert_each_converted_once(out, l1c["good"])


def test_full_processing_through_the_batch(l1c, home, scheduler, tmp_path):
    """The batch runs the whole L2A processing (not only the product tree): surface reflectance,
    AOT and the quality report in every product."""
    from sen2cor_qgis.core.product.l2a_qi import qi_values

    out = tmp_path / "out"
    options = ProcessingOptions(output_dir=str(out), sen2cor_home=home, resolution=20,
                                overrides={"Adj_Km": 0.0, "Altitude": 0.0})
    summary = run_batch(l1c["good"][:2], options, _spec(scheduler))
    assert summary.outcome == "complete" and summary.done_now == 2
    for product in (p for p in out.iterdir() if p.name.endswith(".SAFE")):
        qi = qi_values(product / "MTD_MSIL2A.xml")
        assert qi["AOT_RETRIEVAL_METHOD"] == "SEN2COR_DDV"
        assert list(product.glob("GRANULE/*/IMG_DATA/R20m/*_B8A_20m.jp2"))
        assert list(product.glob("GRANULE/*/QI_DATA/L2A_PROCESS_REPORT.xml"))


def test_dashboard_page_is_served(tmp_path):
    """With bokeh installed the local cluster's dashboard answers at the address the batch prints."""
    import urllib.request

    from sen2cor_qgis.core.batch.cluster import start_cluster

    spec = ClusterSpec(kind="local", workers=1, memory_per_product=1, dashboard_address="127.0.0.1:0")
    with start_cluster(spec) as handle:
        link = handle.dashboard_link
        assert link and handle.dashboard_note == ""
        with urllib.request.urlopen(link, timeout=20) as page:
            assert page.status == 200 and b"Dask" in page.read()
