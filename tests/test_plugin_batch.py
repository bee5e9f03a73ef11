"""Batch work in QGIS: the "Batch L2A conversion" algorithm (`sen2cor:batch_l2a`) on a local Dask
cluster, and the single-product algorithms in the Processing batch interface.

Products are tiny generated ones converted with CR_ONLY (the product tree), so that the tests
measure the batch machinery, not the processing.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings not installed")
pytestmark = pytest.mark.qgis

from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingException,  # noqa: E402
                       QgsProcessingFeedback, QgsProcessingMultiStepFeedback,
                       QgsProcessingOutputFile, QgsProcessingOutputNumber,
                       QgsProcessingOutputString)

BATCH = "sen2cor:batch_l2a"
TREE = "sen2cor:create_product_tree"


# ------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """Three good tiny products (two in `folder`, one in `more`) and a corrupt one (`bad`)."""
    from sen2cor_qgis.tools.sample_product import generate_product

    root = tmp_path_factory.mktemp("l1c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = [generate_product(root / ("folder" if i < 2 else "more"), size="tiny", seed=i,
                                 date=f"2023-06-{i + 1:02d}", truth=False) for i in range(3)]
        bad = generate_product(root / "bad", size="tiny", seed=9, date="2023-06-20", truth=False)
    (bad / "MTD_MSIL1C.xml").write_text("<this is not XML")
    listing = root / "more_products.txt"
    listing.write_text(f"# one good, one corrupt\n{good[2]}\n{bad}\n")
    return {"good": good, "bad": bad, "folder": root / "folder", "list": listing, "root": root}


class RecordingFeedback(QgsProcessingFeedback):
    """Keeps what the algorithm reports; cancels itself once `cancel_after` products are done."""

    def __init__(self, cancel_after=None):
        super().__init__()
        self.infos, self.errors, self.warnings, self.percents, self.texts = [], [], [], [], []
        self.cancel_after = cancel_after

    def pushInfo(self, info):  # noqa: N802
        self.infos.append(info)
        if self.cancel_after is not None and sum(i.startswith("Done: ") for i in self.infos) >= self.cancel_after:
            self.cancel()
        super().pushInfo(info)

    def reportError(self, error, fatalError=False):  # noqa: N802,N803
        self.errors.append(error)
        super().reportError(error, fatalError)

    def pushWarning(self, warning):  # noqa: N802
        self.warnings.append(warning)
        super().pushWarning(warning)

    def setProgress(self, progress):  # noqa: N802
        self.percents.append(progress)
        super().setProgress(progress)

    def setProgressText(self, text):  # noqa: N802
        self.texts.append(text)
        super().setProgressText(text)


def _run(alg_id, parameters, feedback=None, context=None):
    import processing

    return processing.run(alg_id, parameters, feedback=feedback, context=context)


def _batch_parameters(out: Path, **extra):
    parameters = {"OUTPUT_DIR": str(out), "MODE": "CR_ONLY", "WORKERS": 2, "MEMORY_PER_PRODUCT": 0.5,
                  "RETRIES": 0}
    parameters.update(extra)
    return parameters


def _l2a_products(folder: Path):
    return sorted(p.name for p in folder.glob("S2*_MSIL2A_*.SAFE") if (p / "MTD_MSIL2A.xml").is_file())


def _date(l1c: Path) -> str:
    return l1c.name.split("_")[2]


def _assert_one_l2a_per_input(out: Path, inputs):
    found = _l2a_products(out)
    assert len(found) == len(inputs), found
    assert sorted(name.split("_")[2] for name in found) == sorted(_date(p) for p in inputs)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []     # nothing half-written


# ------------------------------------------------------------------------------------- the algorithm

def test_batch_algorithm_is_registered_with_its_parameters_and_outputs(plugin):
    provider = QgsApplication.processingRegistry().providerById("sen2cor")
    alg = provider.algorithm("batch_l2a")
    assert alg is not None and alg.id() == BATCH
    assert alg.displayName() == "Batch L2A conversion" and alg.group() == "Sentinel-2 Level-2A"
    assert "L2A_Batch" in alg.shortHelpString() and not alg.icon().isNull()
    assert type(alg.createInstance()) is type(alg) and alg.createInstance() is not alg
    names = [d.name() for d in alg.parameterDefinitions()]
    for name in ("INPUT_FOLDER", "INPUT_FILES", "OUTPUT_DIR", "MODE", "RESOLUTION", "OUTPUT_FORMAT", "GIP_L2A",
                 "WORKERS", "MEMORY_PER_PRODUCT", "RETRIES", "OVERWRITE", "SCHEDULER", "THREADS_PER_WORKER",
                 "RESET_FAILED", "SC_CLASSIC", "SC_COG", "GIP_L2A_SC", "GIP_L2A_AC", "GIP_L2A_PB",
                 "PROCESSING_BASELINE", "DEBUG", "Aerosol_Type", "Nr_Threads"):
        assert name in names, name
    assert "INPUT" not in names and "row0" not in names and "T1_B02" not in names   # no ROI, no expert fields
    assert alg.parameterDefinition("MODE").options() == ["FULL", "SC_ONLY", "CR_ONLY"]
    for name in ("SCHEDULER", "THREADS_PER_WORKER", "RESET_FAILED", "GIP_L2A_PB"):
        assert alg.parameterDefinition(name).flags() & alg.parameterDefinition(name).FlagAdvanced, name
    outputs = {o.name(): type(o) for o in alg.outputDefinitions()}
    for name in ("TOTAL", "DONE", "SKIPPED", "FAILED", "NOT_RUN"):
        assert outputs[name] is QgsProcessingOutputNumber
    assert outputs["OUTCOME"] is QgsProcessingOutputString
    assert outputs["STATE_FILE"] is QgsProcessingOutputFile and "OUTPUT_DIR" in outputs


def test_batch_options_follow_the_mode(plugin, products):
    alg = QgsApplication.processingRegistry().createAlgorithmById(BATCH)
    base = {"INPUT_FOLDER": str(products["folder"])}
    tree = alg.build_options(dict(base, MODE="CR_ONLY", RESOLUTION="20", OUTPUT_FORMAT="TIF"))
    assert tree.cr_only and not tree.sc_only and tree.resolution is None and tree.output_format == "TIF"
    sc = alg.build_options(dict(base, MODE="SC_ONLY", RESOLUTION="60", SC_CLASSIC=True, Aerosol_Type="MARITIME"))
    assert sc.sc_only and sc.resolution == 60 and sc.sc_classic and sc.overrides == {"aerosol_type": "MARITIME"}
    full = alg.build_options(dict(base, RESOLUTION="10"))
    assert not full.cr_only and not full.sc_only and full.resolution == 10
    context = QgsProcessingContext()
    spec = alg.cluster_spec({"WORKERS": 3, "MEMORY_PER_PRODUCT": 2}, context)
    assert (spec.kind, spec.workers, spec.threads_per_worker, spec.memory_per_product) == ("local", 3, None, 2)
    assert alg.cluster_spec({"SCHEDULER": "tcp://head:8786"}, context).kind == "scheduler"
    ok, message = alg.checkParameterValues(dict(base, MODE="SC_ONLY", RESOLUTION="10"), context)
    assert not ok and "10 m" in message


def test_batch_converts_products_on_two_workers_and_a_corrupt_one_fails_alone(plugin, products, tmp_path):
    """A folder (2 products) and a list file (1 good, 1 corrupt): 3 converted on a 2-worker local
    cluster, the corrupt one reported with its one-line error; the algorithm returns the counts.
    The same run again does nothing (resumable: done before, failed for good with RETRIES 0)."""
    out = tmp_path / "out"
    feedback = RecordingFeedback()
    results = _run(BATCH, _batch_parameters(out, INPUT_FOLDER=str(products["folder"]),
                                            INPUT_FILES=[str(products["list"])]), feedback)
    counts = tuple(results[k] for k in ("TOTAL", "DONE", "FAILED", "SKIPPED", "NOT_RUN"))
    assert counts == (4, 3, 1, 0, 0)
    assert results["OUTCOME"] == "failed" and results["OUTPUT_DIR"] == str(out)
    assert Path(results["STATE_FILE"]) == out / "L2A_Batch.sqlite" and Path(results["STATE_FILE"]).is_file()
    assert "] done " in Path(results["PROGRESS_FILE"]).read_text()
    _assert_one_l2a_per_input(out, products["good"])
    assert any("local cluster: 2 worker process(es)" in i for i in feedback.infos), feedback.infos
    for l1c in products["good"]:                                     # one line per product finished
        done = [i for i in feedback.infos if i.startswith(f"Done: {l1c.name[:-5]} (")]
        assert len(done) == 1 and str(out) in done[0], feedback.infos
    [error] = [e for e in feedback.errors if e.startswith("Failed: ")]
    assert error.startswith(f"Failed: {products['bad'].name[:-5]} (attempt 1/1): ")
    assert "MTD_MSIL1C.xml" in error and "\n" not in error
    assert any("1 product(s) failed" in w for w in feedback.warnings)
    assert feedback.percents[-1] == 100 and max(feedback.percents) == 100
    assert any(p not in (0, 100) for p in feedback.percents)           # progress while running
    assert "4/4 done" not in feedback.texts[-1] and feedback.texts[-1].startswith("3/4 done, 1 failed")

    again = RecordingFeedback()
    second = _run(BATCH, _batch_parameters(out, INPUT_FOLDER=str(products["folder"]),
                                           INPUT_FILES=[str(products["list"])]), again)
    assert (second["DONE"], second["FAILED"]) == (3, 1)
    assert any("3 done before" in i for i in again.infos) and not any("local cluster" in i for i in again.infos)
    assert not any(i.startswith("Done: ") for i in again.infos)
    _assert_one_l2a_per_input(out, products["good"])


def test_cancel_during_the_batch_stops_cleanly_and_the_same_run_resumes(plugin, products, tmp_path, monkeypatch):
    """Cancel once the first product is done (products slowed down by the batch engine's test hook):
    the rest stays pending, nothing half-written; the same run again converts only those."""
    from sen2cor_qgis.core.batch.task import TEST_KILL_MARKER_ENV

    marker = tmp_path / "slow.json"
    marker.write_text(json.dumps({"match": "", "at": "start", "action": "sleep", "seconds": 1.0}))
    monkeypatch.setenv(TEST_KILL_MARKER_ENV, str(marker))
    out = tmp_path / "out"
    parameters = _batch_parameters(out, INPUT_FOLDER=str(products["folder"]), INPUT_FILES=[str(products["good"][2])],
                                   WORKERS=1)
    feedback = RecordingFeedback(cancel_after=1)
    results = _run(BATCH, parameters, feedback)
    assert results["OUTCOME"] == "interrupted" and results["DONE"] >= 1 and results["NOT_RUN"] >= 1
    assert results["DONE"] + results["NOT_RUN"] == 3 and results["FAILED"] == 0
    assert any(w.startswith(f"Cancelled: {results['NOT_RUN']} product(s) not run") for w in feedback.warnings)
    assert len(_l2a_products(out)) == results["DONE"]
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    marker.unlink()
    monkeypatch.delenv(TEST_KILL_MARKER_ENV)
    second = _run(BATCH, parameters, RecordingFeedback())
    assert second["OUTCOME"] == "complete" and second["DONE"] == 3 and second["NOT_RUN"] == 0
    _assert_one_l2a_per_input(out, products["good"])


def test_batch_runs_in_a_background_task_as_from_the_toolbox(plugin, products, tmp_path):
    """The Toolbox dialog runs the algorithm in a QgsProcessingAlgRunnerTask (a worker thread):
    the local cluster starts and the batch reports from there."""
    import time

    from qgis.core import QgsProcessingAlgRunnerTask
    from qgis.PyQt.QtCore import QCoreApplication

    alg = QgsApplication.processingRegistry().createAlgorithmById(BATCH)
    context, feedback = QgsProcessingContext(), RecordingFeedback()
    out = tmp_path / "out"
    task = QgsProcessingAlgRunnerTask(alg, _batch_parameters(out, INPUT_FOLDER=str(products["folder"])),
                                      context, feedback)
    finished = {}
    task.executed.connect(lambda ok, results: finished.update(ok=ok, results=results))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 60
    while "ok" not in finished:
        QCoreApplication.processEvents()
        time.sleep(0.01)
        assert time.monotonic() < deadline, "timed out"
    assert finished["ok"], feedback.errors
    assert finished["results"]["DONE"] == 2 and finished["results"]["OUTCOME"] == "complete"
    _assert_one_l2a_per_input(out, products["good"][:2])
    assert sum(i.startswith("Done: ") for i in feedback.infos) == 2


def test_cancel_before_start_leaves_nothing(plugin, products, tmp_path):
    out = tmp_path / "out"
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="Cancelled before start"):
        _run(BATCH, _batch_parameters(out, INPUT_FOLDER=str(products["folder"])), feedback)
    assert not out.exists() or list(out.iterdir()) == []
    assert not (products["folder"] / "L2A_Batch.sqlite").exists()


def test_missing_inputs_are_processing_exceptions(plugin, products, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(QgsProcessingException, match="No input given"):
        _run(BATCH, _batch_parameters(out))
    with pytest.raises(QgsProcessingException, match="input not found"):
        _run(BATCH, _batch_parameters(out, INPUT_FILES=str(tmp_path / "nowhere.SAFE")))   # one path, as qgis_process
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with pytest.raises(QgsProcessingException, match="no Level-1C product found"):
        _run(BATCH, _batch_parameters(out, INPUT_FOLDER=str(empty)))
    assert not out.exists() or list(out.iterdir()) == []


def test_missing_dask_is_a_clear_processing_exception(plugin, products, tmp_path, monkeypatch):
    from sen2cor_qgis.core.batch import cluster

    message = "the batch engine needs Dask: pip install 'dask[distributed]'"
    monkeypatch.setattr(cluster, "missing_dependencies", lambda kind="local": message)
    with pytest.raises(QgsProcessingException, match="needs Dask"):
        _run(BATCH, _batch_parameters(tmp_path / "out", INPUT_FOLDER=str(products["folder"])))
    alg = QgsApplication.processingRegistry().createAlgorithmById(BATCH)
    ok, text = alg.checkParameterValues({"INPUT_FOLDER": str(products["folder"])}, QgsProcessingContext())
    assert not ok and "needs Dask" in text


# ------------------------------------------------------------------------------------- Processing batch interface

def test_product_tree_runs_row_by_row_as_the_batch_dialog_does(plugin, products, tmp_path):
    """QGIS 3.22's batch dialog runs the rows one after another in the main thread: a fresh
    context per row, one multi-step feedback, the same registered algorithm and provider."""
    from processing.tools import dataobjects

    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("sen2cor")
    feedback = QgsProcessingFeedback()
    steps = QgsProcessingMultiStepFeedback(len(products["good"]), feedback)
    results = []
    for row, l1c in enumerate(products["good"]):
        steps.setCurrentStep(row)
        context = dataobjects.createContext(steps)
        results.append(_run(TREE, {"INPUT": str(l1c), "OUTPUT_DIR": str(tmp_path / f"row{row}")}, steps, context))
        assert registry.providerById("sen2cor") is provider
    for row, (l1c, result) in enumerate(zip(products["good"], results)):
        product = Path(result["OUTPUT"])
        assert product.parent == tmp_path / f"row{row}" and (product / "MTD_MSIL2A.xml").is_file()
        assert _date(l1c) in product.name
    assert len({r["OUTPUT"] for r in results}) == 3


class _ProxyTask:
    """Stand-in for the dialog's QgsScopedProxyProgressTask. On 3.22 the dialog connects its
    feedback (never freed) to the task's setProgress, which keeps the task 'running' in the task
    manager for good -- in a test session, QgsApplication.exitQgis() would then wait forever."""

    def __init__(self, description):
        self.description, self.progress = description, []

    def setProgress(self, progress):  # noqa: N802
        self.progress.append(progress)


def test_product_tree_in_the_batch_dialog(plugin, products, tmp_path, qgis_iface, monkeypatch):
    """The real BatchAlgorithmDialog, rows filled as a user would (the input in each row's
    widget; an output folder in the first two rows, none in the third: beside its input), run
    headless: three products, no failed row."""
    import shutil

    import processing.gui.BatchAlgorithmDialog as batch_dialog
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects

    tasks, errors = [], []

    def proxy_task(text):
        tasks.append(_ProxyTask(text))
        return tasks[-1]

    monkeypatch.setattr(batch_dialog, "QgsScopedProxyProgressTask", proxy_task)
    monkeypatch.setattr(batch_dialog.BatchFeedback, "reportError",
                        lambda self, error, fatalError=False: errors.append(error))
    beside = tmp_path / "beside"
    copy = Path(shutil.copytree(products["good"][2], beside / products["good"][2].name))
    inputs = products["good"][:2] + [copy]
    outputs = [tmp_path / "row0", tmp_path / "row1", beside]

    alg = QgsApplication.processingRegistry().createAlgorithmById(TREE)
    dialog = BatchAlgorithmDialog(alg)
    try:
        panel = dialog.mainWidget()
        panel.addRow(len(inputs) - 1)
        assert panel.batchRowCount() == 3
        context = dataobjects.createContext()
        input_column = panel.parameter_to_column["INPUT"]
        output_column = panel.parameter_to_column["OUTPUT_DIR"]
        for row, l1c in enumerate(inputs):
            panel.wrappers[row][input_column].setParameterValue(str(l1c), context)
            if row < 2:
                panel.tblParameters.cellWidget(row + 1, output_column).setValue(str(outputs[row]))
        rows = [panel.parametersForRow(row) for row in range(3)]
        assert all(ok for _, ok in rows) and [r["INPUT"] for r, _ in rows] == [str(p) for p in inputs]
        assert rows[2][0]["OUTPUT_DIR"] == ""
        panel.checkLoadLayersOnCompletion.setChecked(False)
        dialog.runAlgorithm()
    finally:
        dialog.close()
        dialog.deleteLater()
    assert errors == [] and len(tasks) == 1 and tasks[0].progress[-1] > 99
    for l1c, out in zip(inputs, outputs):
        found = _l2a_products(out)
        assert len(found) == 1 and _date(l1c) in found[0], (out, found)


@pytest.mark.parametrize("alg_id", ["sen2cor:l2a_process", "sen2cor:scene_classification"])
def test_batch_dialog_rows_leave_the_gipp_fields_unset(plugin, products, tmp_path, qgis_iface, alg_id):
    """A batch row carries a value for every parameter (hidden advanced columns included): the
    GIPP fields the user left alone must stay unset (the GIPP file decides), not become overrides."""
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects

    alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
    dialog = BatchAlgorithmDialog(alg)
    try:
        panel = dialog.mainWidget()
        panel.wrappers[0][panel.parameter_to_column["INPUT"]].setParameterValue(
            str(products["good"][0]), dataobjects.createContext())
        parameters, ok = panel.parametersForRow(0)
    finally:
        dialog.close()
        dialog.deleteLater()
    assert ok and len(parameters) == len(alg.parameterDefinitions())
    context = QgsProcessingContext()
    assert alg.checkParameterValues(parameters, context) == (True, "")
    options = alg.build_options(parameters, context)
    assert options.overrides == {} and options.output_dir is None
    assert options.processing_baseline is None and options.gip_l2a is None and options.output_format == "JP2"
