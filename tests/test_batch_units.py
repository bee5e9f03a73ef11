"""Batch engine pieces that need no Dask cluster: inputs, product identity, state, cluster
configuration (SLURM/LSF/PBS job scripts rendered, no real scheduler), CLI, reports."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sen2cor_qgis.core.batch import cli as batch_cli
from sen2cor_qgis.core.batch import cluster as bcluster
from sen2cor_qgis.core.batch.common import BatchError, parse_memory_gb
from sen2cor_qgis.core.batch.inputs import L1CInput, expand_inputs, product_name
from sen2cor_qgis.core.batch.products import (key_from_l1c_name, matching_products, parse_l2a_name,
                                              remove_stale_partials, restore_set_aside, scan_output_dir,
                                              set_aside)
from sen2cor_qgis.core.batch.report import (BatchSummary, BatchUpdate, Counts, ProductUpdate, ProgressFile,
                                            TerminalProgress, format_summary)
from sen2cor_qgis.core.batch.state import BatchState

L1C_A = "S2B_MSIL1C_20230412T094504_N0509_R079_T34UDD_20230412T115139"
L1C_B = "S2A_MSIL1C_20230415T101031_N0509_R022_T33TUN_20230415T120000"
L1C_C = "S2C_MSIL1C_20240101T100000_N0511_R108_T31UFQ_20240101T110000"
L2A_A = "S2B_MSIL2A_20230412T094504_N9999_R079_T34UDD_20261121T061708.SAFE"


def _safe(folder: Path, name: str) -> Path:
    path = folder / (name + ".SAFE")
    path.mkdir(parents=True)
    (path / "MTD_MSIL1C.xml").write_text("<x/>")
    return path


def _l2a(folder: Path, name: str, complete: bool = True) -> Path:
    path = folder / name
    path.mkdir(parents=True)
    if complete:
        (path / "MTD_MSIL2A.xml").write_text("<x/>")
    return path


# --------------------------------------------------------------------------- inputs
def test_inputs_paths_folders_globs_lists_zip_mtd_and_dedupe(tmp_path):
    archive = tmp_path / "archive"
    a = _safe(archive / "2023" / "04", L1C_A)
    b_zip = archive / "2023" / (L1C_B + ".zip")
    b_zip.parent.mkdir(parents=True, exist_ok=True)
    b_zip.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    _l2a(archive / "2023", L2A_A)                                   # an L2A product: never an input
    _safe(archive / ".hidden", L1C_C)                               # hidden folders are skipped
    (a / "GRANULE" / "inner.SAFE").mkdir(parents=True)              # never search inside a product
    c = _safe(tmp_path / "elsewhere", L1C_C)
    listing = tmp_path / "lists" / "products.txt"
    listing.parent.mkdir()
    listing.write_text(f"# my products\n\n../elsewhere/{L1C_C}.SAFE\n{a}\n{tmp_path}/missing/{L1C_A[:-1]}X.SAFE\n")
    found = expand_inputs([archive, str(listing), str(c / "MTD_MSIL1C.xml"), str(tmp_path / "archive/**/*.zip")])
    paths = [f.path for f in found]
    assert paths == [str(b_zip), str(a), str(c), f"{tmp_path}/missing/{L1C_A[:-1]}X.SAFE"]
    assert all(isinstance(f, L1CInput) for f in found)
    assert found[0].key == "S2A_20230415T101031_R022_T33TUN"
    assert found[1].name == L1C_A and found[1].key == "S2B_20230412T094504_R079_T34UDD"


def test_inputs_same_product_as_safe_and_zip_is_given_once(tmp_path):
    a = _safe(tmp_path, L1C_A)
    z = tmp_path / (L1C_A + ".SAFE.zip")
    z.write_bytes(b"PK")
    warnings = []
    found = expand_inputs([a, z, a, str(a) + "/"], warnings)
    assert [f.path for f in found] == [str(a)]
    assert any("same product" in w for w in warnings)


def test_inputs_errors(tmp_path):
    with pytest.raises(BatchError, match="input not found"):
        expand_inputs([tmp_path / "nope.SAFE"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match="no Level-1C product"):
        expand_inputs([tmp_path / "empty"])
    binary = tmp_path / "image.tif"
    binary.write_bytes(b"II*\0" + b"\0" * 100)
    with pytest.raises(BatchError, match="not a product"):
        expand_inputs([binary])
    warnings = []
    with pytest.raises(BatchError):
        expand_inputs([str(tmp_path / "*.SAFE")], warnings)
    assert warnings and "no file matches" in warnings[0]


def test_product_names_and_keys():
    assert product_name(f"/x/{L1C_A}.SAFE.zip") == L1C_A
    assert key_from_l1c_name(L1C_A + ".SAFE") == "S2B_20230412T094504_R079_T34UDD"
    assert key_from_l1c_name("renamed.SAFE") is None
    key, tag, generated = parse_l2a_name(L2A_A)
    assert key == key_from_l1c_name(L1C_A) and tag == "N9999" and generated.year == 2026
    assert parse_l2a_name("S2B_MSIL1C_x.SAFE") is None


def test_output_scan_recognises_complete_products_only(tmp_path):
    key = key_from_l1c_name(L1C_A)
    _l2a(tmp_path, L2A_A)
    _l2a(tmp_path, L2A_A.replace("N9999", "N0211"))
    _l2a(tmp_path, L2A_A.replace("061708", "071708"), complete=False)         # no MTD: not complete
    partial = _l2a(tmp_path, "." + L2A_A.replace("061708", "081708") + ".partial-abcd1234", complete=False)
    assert [p.name for p in matching_products(tmp_path, key, "N9999")] == [L2A_A]
    assert len(matching_products(tmp_path, key, None)) == 2
    assert matching_products(tmp_path, None, None) == []
    assert set(scan_output_dir(tmp_path)) == {key}
    assert remove_stale_partials(tmp_path, "S2B_20230412T094504_R080_T34UDD") == []   # other product
    assert remove_stale_partials(tmp_path, key) == [partial.name] and not partial.exists()


def test_set_aside_and_restore(tmp_path):
    key = key_from_l1c_name(L1C_A)
    product = _l2a(tmp_path, L2A_A)
    aside = set_aside(product, "0123456789")
    assert not product.exists() and aside.name.startswith(".") and matching_products(tmp_path, key, None) == []
    assert restore_set_aside(tmp_path, key) == [L2A_A]
    assert product.is_dir() and not aside.exists()


def test_memory_sizes():
    assert parse_memory_gb("4GB") == 4 and parse_memory_gb(4) == 4 and parse_memory_gb("4") == 4
    assert parse_memory_gb("512MB") == pytest.approx(0.512)
    assert parse_memory_gb("2GiB") == pytest.approx(2.147483648)
    assert parse_memory_gb(None) is None
    for bad in ("lots", "-1GB", "0", "4XB"):
        with pytest.raises(BatchError):
            parse_memory_gb(bad)


# --------------------------------------------------------------------------- state
def _inputs(n=3):
    return [L1CInput(f"/in/p{i}.SAFE", f"p{i}", f"K{i}") for i in range(n)]


def test_state_records_attempts_results_and_survives_reopening(tmp_path):
    path = tmp_path / "out" / "L2A_Batch.sqlite"
    with BatchState(path) as state:
        run = state.start_run("L2A_Batch x", {"retries": 2})
        state.add_inputs(_inputs())
        state.add_inputs(_inputs())                                  # idempotent
        assert state.counts()["pending"] == 3
        assert state.attempt_started("t1", "/in/p0.SAFE", run, "w1", 11, 100.0)
        assert not state.attempt_started("t1", "/in/p0.SAFE", run, "w1", 11, 100.0)   # same attempt
        assert state.attempt_started("t2", "/in/p0.SAFE", run, "w2", 12, 101.0)       # w1 lost
        state.record_done({"input": "/in/p0.SAFE", "token": "t2", "output": "/out/X.SAFE", "seconds": 3.5,
                           "peak_memory_mb": 800.0, "started": 101.0, "finished": 104.5, "worker": "w2"}, run)
        # a result that arrives before its start event still counts its attempt
        state.record_failed({"input": "/in/p1.SAFE", "token": "t3", "error": "ProductError: bad", "permanent": True,
                             "detail": "Traceback ..."}, run, final=True)
        state.attempt_started("t4", "/in/p2.SAFE", run, "w1", 11, 105.0)
        state.record_failed({"input": "/in/p2.SAFE", "error": "worker died"}, run, final=False)   # no token: lost
        state.finish_run(run, "failed")
    with BatchState(path) as state:
        p0, p1, p2 = (state.product(f"/in/p{i}.SAFE") for i in range(3))
        assert (p0.status, p0.attempts, p0.output, p0.seconds, p0.peak_memory_mb) == ("done", 2, "/out/X.SAFE", 3.5, 800.0)
        assert [a.outcome for a in state.attempts("/in/p0.SAFE")] == ["lost", "done"]
        assert (p1.status, p1.attempts, p1.error) == ("failed", 1, "ProductError: bad")
        assert (p2.status, p2.attempts) == ("pending", 1)
        assert [a.outcome for a in state.attempts("/in/p2.SAFE")] == ["lost"]
        assert state.runs()[0]["outcome"] == "failed" and state.previous_settings() == {"retries": 2}
    rows = sqlite3.connect(path).execute("SELECT name, status FROM summary").fetchall()
    assert rows == [("p0", "done"), ("p1", "failed"), ("p2", "pending")]


def test_state_interrupt_and_cancel_do_not_count_attempts(tmp_path):
    with BatchState(tmp_path / "s.sqlite") as state:
        run = state.start_run()
        state.add_inputs(_inputs(2))
        state.attempt_started("a", "/in/p0.SAFE", run, "w", 1, 1.0)
        state.attempt_started("b", "/in/p1.SAFE", run, "w", 1, 1.0)
        state.record_cancelled({"input": "/in/p1.SAFE", "token": "b"}, run)
        assert state.interrupt_open(run) == ["/in/p0.SAFE"]
        for i in range(2):
            record = state.product(f"/in/p{i}.SAFE")
            assert (record.status, record.attempts) == ("pending", 0)
        assert {a.outcome for a in state.attempts()} == {"interrupted", "cancelled"}


def test_state_is_locked_and_transactions_roll_back(tmp_path):
    path = tmp_path / "s.sqlite"
    with BatchState(path) as state:
        with pytest.raises(BatchError, match="in use"):
            BatchState(path)
        state.add_inputs(_inputs(1))
        with pytest.raises(KeyboardInterrupt):
            with state.transaction() as c:
                c.execute("UPDATE products SET status = 'done'")
                raise KeyboardInterrupt                              # Ctrl-C in the middle of a change
        assert state.product("/in/p0.SAFE").status == "pending"
    BatchState(path).close()                                        # free again
    (tmp_path / "junk.sqlite").write_text("not a database at all" * 100)
    with pytest.raises(BatchError, match="not a usable"):
        BatchState(tmp_path / "junk.sqlite")


# --------------------------------------------------------------------------- cluster configuration
def test_local_layout_follows_cores_and_memory():
    layout = bcluster.local_layout(4.0, cores=16, memory_bytes=32e9)
    assert layout.workers == 7 and layout.threads_per_worker == 1          # 28.8 GB usable / 4 GB
    assert layout.resources["MEMORY"] >= 4.0
    assert bcluster.local_layout(4.0, cores=2, memory_bytes=24e9).workers == 2   # cores bound
    assert bcluster.local_layout(None, cores=3, memory_bytes=1e9).resources is None
    two = bcluster.local_layout(2.0, workers=1, threads_per_worker=2, cores=2, memory_bytes=10e9)
    assert two.workers == 1 and two.threads_per_worker == 2 and two.resources == {"MEMORY": 9.0}
    with pytest.raises(BatchError, match="fewer --workers"):
        bcluster.local_layout(8.0, workers=4, cores=4, memory_bytes=16e9)


SLURM_OPTIONS = {"queue": "normal", "walltime": "02:00:00", "cores": 8, "memory": "32GB",
                 "job_extra_directives": ["--account=s2proj", "--constraint=skylake"]}


def test_slurm_job_script_carries_the_directives():
    script = bcluster.render_job_script("slurm", SLURM_OPTIONS, memory_per_product=8)
    lines = script.splitlines()
    for directive in ("#SBATCH -p normal", "#SBATCH -t 02:00:00", "#SBATCH --cpus-per-task=8",
                      "#SBATCH --account=s2proj", "#SBATCH --constraint=skylake", "#SBATCH -J sen2cor-l2a"):
        assert directive in lines, directive
    assert any(line.startswith("#SBATCH --mem=") and line.endswith("G") for line in lines)
    worker = next(line for line in lines if "dask_worker" in line)
    assert "--nworkers 4" in worker and "--resources MEMORY=8" in worker    # 32 GB / 8 GB per product


def test_lsf_and_pbs_job_scripts_carry_the_directives(tmp_path):
    config = tmp_path / "cluster.yaml"
    config.write_text("walltime: '01:30'\ncores: 4\nmemory: 16GB\nprocesses: 2\n"
                      "lsf:\n  queue: short\n  job_extra_directives: ['-P myproject', '-R \"select[avx2]\"']\n"
                      "slurm:\n  queue: never-used\n")
    options = bcluster.load_cluster_config(config, "lsf")
    assert options["queue"] == "short" and "slurm" not in options
    script = bcluster.render_job_script("lsf", options, memory_per_product=6)
    lines = script.splitlines()
    for directive in ("#BSUB -q short", "#BSUB -W 01:30", "#BSUB -n 4", "#BSUB -P myproject",
                      '#BSUB -R "select[avx2]"'):
        assert directive in lines, directive
    assert any(line.startswith("#BSUB -M ") for line in lines)
    assert "--resources MEMORY=8" in script and "--nworkers 2" in script
    pbs = bcluster.render_job_script("pbs", {"queue": "workq", "walltime": "01:00:00", "cores": 4,
                                             "memory": "16GB", "job_extra_directives": ["-A acct"]}, 4)
    assert "#PBS -q workq" in pbs and "#PBS -l walltime=01:00:00" in pbs and "#PBS -A acct" in pbs
    assert "ncpus=4" in pbs


def test_jobqueue_settings_check_memory_and_scaling():
    kwargs, scaling = bcluster.jobqueue_settings("slurm", dict(SLURM_OPTIONS, jobs=5), 4)
    assert kwargs["processes"] == 8 and scaling == {"jobs": 5}
    _, scaling = bcluster.jobqueue_settings("pbs", dict(SLURM_OPTIONS, adapt={"maximum_jobs": 20}), 4)
    assert scaling == {"adapt": {"maximum_jobs": 20}}
    with pytest.raises(BatchError, match="needs 'cores' and 'memory'"):
        bcluster.jobqueue_settings("slurm", {"queue": "x"}, 4)
    with pytest.raises(BatchError, match="lower 'processes'"):
        bcluster.jobqueue_settings("slurm", dict(SLURM_OPTIONS, processes=8), 8)
    with pytest.raises(BatchError):
        bcluster.jobqueue_settings("local", SLURM_OPTIONS, 4)


def test_bad_cluster_specs():
    with pytest.raises(BatchError):
        bcluster.ClusterSpec(kind="kubernetes")
    with pytest.raises(BatchError):
        bcluster.ClusterSpec(kind="scheduler")
    assert bcluster.ClusterSpec(address="tcp://h:8786").kind == "scheduler"
    assert bcluster.ClusterSpec(memory_per_product="6GB").memory_per_product == 6


# --------------------------------------------------------------------------- CLI
def test_cli_takes_l2a_process_options_and_batch_options(tmp_path):
    args = batch_cli.parse_args(["a.SAFE", "b.zip", "--output_dir", "/o", "--cr_only", "--tif",
                                 "--resolution", "20", "--Nr_Threads", "2", "--retries", "4", "--overwrite",
                                 "--workers", "2", "--threads-per-worker", "1", "--memory-per-product", "3GB",
                                 "--state", "/s.sqlite", "--progress-file", "/p.txt"])
    assert args.inputs == ["a.SAFE", "b.zip"] and args.retries == 4 and args.overwrite
    from sen2cor_qgis.core.cli import options_from_args

    options = options_from_args(args)
    assert options.cr_only and options.output_format == "TIF" and options.resolution == 20
    assert options.overrides == {"nr_threads": 2}
    spec = batch_cli.cluster_spec_from_args(args)
    assert (spec.kind, spec.workers, spec.memory_per_product) == ("local", 2, 3)
    spec = batch_cli.cluster_spec_from_args(batch_cli.parse_args(["a.SAFE", "--scheduler", "tcp://h:8786"]))
    assert spec.kind == "scheduler" and spec.address == "tcp://h:8786"


def test_cli_job_queue_options_from_yaml_and_flags(tmp_path, capsys):
    config = tmp_path / "slurm.yaml"
    config.write_text("queue: normal\ncores: 8\nmemory: 32GB\nmemory_per_product: 8GB\n"
                      "job_extra_directives: ['--account=a']\n")
    args = batch_cli.parse_args(["a.SAFE", "--cluster", "slurm", "--cluster-config", str(config),
                                 "--walltime", "04:00:00", "--job-extra=--qos=long", "--jobs", "3"])
    spec = batch_cli.cluster_spec_from_args(args)
    assert spec.memory_per_product == 8 and spec.jobqueue["walltime"] == "04:00:00"
    assert spec.jobqueue["job_extra_directives"] == ["--account=a", "--qos=long"] and spec.jobqueue["jobs"] == 3
    assert batch_cli.main(["a.SAFE", "--cluster", "slurm", "--cluster-config", str(config),
                           "--walltime", "04:00:00", "--job-extra=--qos=long", "--print-job-script"]) == 0
    script = capsys.readouterr().out
    assert "#SBATCH --qos=long" in script and "#SBATCH -t 04:00:00" in script and "MEMORY=8" in script


@pytest.mark.parametrize("argv, message", [
    (["a.SAFE", "--cr_only", "--sc_only"], "exclude each other"),
    (["a.SAFE", "--scheduler", "x", "--cluster", "slurm"], "exclude each other"),
    (["a.SAFE", "--queue", "q"], "needs --cluster"),
    (["a.SAFE", "--cluster", "lsf", "--workers", "2"], "local cluster only"),
    (["a.SAFE", "--retries", "-1"], "0 or more"),
    (["a.SAFE", "--memory-per-product", "much"], "not understood"),
    ([], "required"),
])
def test_cli_rejects_bad_combinations(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        batch_cli.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- reports
def _update(kind="product", status="done", **fields):
    counts = Counts(total=10, done=3, failed=1, running=2, queued=4)
    product = ProductUpdate(input="/in/p.SAFE", name="p", status=status, output="/out/P.SAFE", seconds=12.3,
                            peak_memory_mb=812, error="ProductError: bad", attempt=1, max_attempts=3)
    return BatchUpdate(kind=kind, counts=counts, fraction=0.45, elapsed=65, eta_seconds=125,
                       product=product if kind == "product" else None, **fields)


def test_progress_file_and_terminal_lines(tmp_path):
    pfile = ProgressFile(tmp_path / "progress.txt")
    pfile(_update("start", message="10 product(s)"))
    pfile(_update(status="running"))                                 # not a finished product: no line
    pfile(_update(status="done"))
    pfile(_update(status="failed"))
    pfile(_update("end", message="failed"))
    lines = (tmp_path / "progress.txt").read_text().splitlines()
    assert len(lines) == 4
    assert "start: 10 product(s)" in lines[0]
    assert "3/10 done, 1 failed, 2 running, 4 waiting" in lines[1] and "ETA 0:02:05" in lines[1]
    assert "done    p (12.3 s, 812 MB) -> /out/P.SAFE" in lines[1]
    assert "FAILED  p (attempt 1/3): ProductError: bad" in lines[2]

    class Tty:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

        def isatty(self):
            return True

    tty = Tty()
    bar = TerminalProgress(tty)
    bar(_update("tick"))
    bar(_update(status="done"))
    assert "\r\x1b[K[" in tty.text and "45.0%" in tty.text and "ETA 0:02:05" in tty.text
    assert "done    p" in tty.text


def test_summary_table():
    summary = BatchSummary(counts=Counts(total=5, done=3, skipped=1, failed=1), done_now=2, done_before=1,
                           outcome="failed", wall_seconds=100, seconds=[10.0, 30.0], peak_memory_mb=900,
                           failures=[("S2B_bad", 3, "ProductError: MTD_MSIL1C.xml: not XML")],
                           state_path="/o/L2A_Batch.sqlite")
    text = format_summary(summary)
    assert "L2A_Batch: failed" in text and "median 20.0 s" in text and "total 0:00:40" in text
    assert "S2B_bad  attempts 3  ProductError: MTD_MSIL1C.xml: not XML" in text
    assert summary.exit_code == 1 and summary.median_seconds == 20.0


def test_inputs_keep_one_l1c_per_datatake_orbit_tile(tmp_path):
    older = _safe(tmp_path, L1C_A.replace("N0509", "N0400"))
    newer = _safe(tmp_path, L1C_A)
    warnings = []
    found = expand_inputs([older, newer], warnings)
    assert [f.path for f in found] == [str(newer)] and "another L1C processing baseline" in warnings[0]


def test_python_for_local_workers_inside_qgis(tmp_path):
    assert bcluster.python_for_workers("/usr/bin/python3.11", "/usr") is None
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").write_text("")
    assert bcluster.python_for_workers("/usr/bin/qgis", str(tmp_path)) == str(tmp_path / "bin" / "python3")
    (tmp_path / "python.exe").write_text("")
    assert bcluster.python_for_workers("C:/OSGeo4W/bin/qgis-bin.exe", str(tmp_path)) == str(tmp_path / "python.exe")


def test_python_shim_of_another_installation_is_not_used_for_workers(tmp_path):
    """Embedded Python may report a `python3` found on PATH (e.g. a pyenv shim of another
    version): workers must start with this installation's interpreter of the same version."""
    import sys

    versioned = tmp_path / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    versioned.parent.mkdir()
    versioned.write_text("")
    assert bcluster.python_for_workers("/root/.pyenv/shims/python3", str(tmp_path)) == str(versioned)
    assert bcluster.python_for_workers(str(tmp_path / "bin" / "python3"), str(tmp_path)) is None


def test_without_dask_the_batch_says_what_to_install(monkeypatch):
    import sys

    from sen2cor_qgis.core.batch import missing_dependencies, run_batch

    monkeypatch.setitem(sys.modules, "distributed", None)
    assert "pip install" in missing_dependencies()
    with pytest.raises(BatchError, match="needs Dask"):
        run_batch(["/nowhere"])


def test_each_product_gets_the_memory_the_cluster_reserves_as_its_cap():
    from sen2cor_qgis.core.batch.cluster import ClusterSpec
    from sen2cor_qgis.core.batch.runner import _memory_cap_mb
    from sen2cor_qgis.core.pipeline import ProcessingOptions

    assert _memory_cap_mb(ProcessingOptions(), ClusterSpec(memory_per_product=2.5)) == 2560
    assert _memory_cap_mb(ProcessingOptions(memory_limit_mb=900), ClusterSpec(memory_per_product=4)) == 900
    assert _memory_cap_mb(ProcessingOptions(), ClusterSpec(memory_per_product=None)) == 0
