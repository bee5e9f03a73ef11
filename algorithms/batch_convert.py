"""Batch L2A conversion (`L2A_Batch` in the toolbox): many Level-1C products on a Dask cluster.

Inputs are a folder searched recursively and/or a list of files (products, `.zip`,
`MTD_MSIL1C.xml`, or text files listing products, one per line). Every product is converted with
the same options -- those of the L2A algorithm that make sense for many products: output folder
and format, GIPP files and fields, processing mode (full, scene classification only, product tree
only), resolution -- by `core.batch.run_batch` on a local Dask cluster (or an existing
scheduler), resumable through the batch state file in the output folder.

`processAlgorithm` runs the batch synchronously (the Processing rules: no task of its own). The
batch engine's events reach the feedback: the overall fraction -> `setProgress`, the counts ->
`setProgressText`, a line per product finished, a red line per product failed with its one-line
error, the summary table at the end; Cancel (`feedback.isCanceled()`) stops the batch cleanly
(running products stop at their next check, unfinished ones stay pending in the state file, so
the same run again converts only what is missing). A failed product does not fail the
algorithm: it returns the counts.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingFeedback,
                       QgsProcessingOutputFile, QgsProcessingOutputNumber,
                       QgsProcessingOutputString, QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)
from ..core.errors import Sen2CorError
from .base import OUTPUT_FORMATS, Sen2CorAlgorithmBase
from .feedback_bridge import FeedbackBridge
from .gipp_parameters import _is_unset as _unset
from .gipp_parameters import select_parameters
from .qgis_compat import FILE_BEHAVIOR_FILE, FILE_BEHAVIOR_FOLDER, set_advanced

MODES = ("FULL", "SC_ONLY", "CR_ONLY")
RESOLUTIONS = ("ALL", "10", "20", "60")
DEFAULT_MEMORY_GB = 4.0          # core.batch.cluster.DEFAULT_MEMORY_PER_PRODUCT (not imported: Dask-free import)
DASHBOARD_ADDRESS = ":8787"
COMMAND = "QGIS sen2cor:batch_l2a"
_GLOB_CHARS = set("*?[")


class BatchL2AAlgorithm(Sen2CorAlgorithmBase):
    """Many Level-1C products converted on a Dask cluster, resumable, progress per product."""

    INPUT_FOLDER = "INPUT_FOLDER"
    INPUT_FILES = "INPUT_FILES"
    MODE = "MODE"
    RESOLUTION = "RESOLUTION"
    SC_CLASSIC = "SC_CLASSIC"
    SC_COG = "SC_COG"
    WORKERS = "WORKERS"
    THREADS_PER_WORKER = "THREADS_PER_WORKER"
    MEMORY_PER_PRODUCT = "MEMORY_PER_PRODUCT"
    SCHEDULER = "SCHEDULER"
    RETRIES = "RETRIES"
    OVERWRITE = "OVERWRITE"
    RESET_FAILED = "RESET_FAILED"
    # outputs (besides OUTPUT_DIR)
    TOTAL = "TOTAL"
    DONE = "DONE"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    NOT_RUN = "NOT_RUN"
    OUTCOME = "OUTCOME"
    STATE_FILE = "STATE_FILE"
    PROGRESS_FILE = "PROGRESS_FILE"

    def __init__(self) -> None:
        super().__init__()
        self._given: List[str] = []
        self._spec = None
        self._batch: Dict[str, Any] = {}
        self._notes_extra: List[str] = []

    def name(self):
        return "batch_l2a"

    def displayName(self):  # noqa: N802
        return self.tr("Batch L2A conversion")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Converts many Sentinel-2 Level-1C products to Level-2A on a Dask cluster, as the "
            "L2A_Batch command does: a local cluster on this computer (its worker processes "
            "sized from the cores and the memory a product needs) or an existing Dask scheduler.\n\n"
            "Inputs: a folder, searched recursively for .SAFE folders and .zip files (Level-2A "
            "products and hidden folders are skipped), and/or a list of files: products, "
            "MTD_MSIL1C.xml files, or text files listing products one per line.\n\n"
            "Every product is converted with the same options: processing mode (FULL, SC_ONLY: "
            "scene classification only, CR_ONLY: product tree only), resolution, image format, "
            "GIPP files and the GIPP fields below (a field left unset takes the value of the "
            "GIPP file).\n\n"
            "Resumable: the state file L2A_Batch.sqlite in the output folder (not set: each "
            "product is written beside its input and the state file beside the first one) "
            "records every product. Running the algorithm again with the same inputs converts "
            "only what is missing: finished products are skipped, products already present in "
            "the output folder are not converted again unless 'Overwrite' is checked, failed "
            "ones are retried while attempts remain. A corrupt product fails alone; a worker "
            "that dies loses only its product, which is retried elsewhere.\n\n"
            "The log shows a line per product finished or failed (with its error); Cancel stops "
            "the batch cleanly. Outputs: the output folder, the counts (done, skipped, failed, "
            "not run), the outcome (complete, failed, interrupted), the state file and the "
            "progress file. Nothing is loaded into the project.\n\n"
            "Needs Dask (pip install 'dask[distributed]').")

    # -- parameters ----------------------------------------------------------------------------
    def gipp_selection(self):
        # the L2A_GIPP.xml user fields; expert calibration through the calibration files, and no
        # region of interest (one window for tiles of different places makes no sense)
        return select_parameters(expert=False, roi=False)

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT_FOLDER, self.tr("Folder of Level-1C products (searched recursively)"),
            FILE_BEHAVIOR_FOLDER, "", None, True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUT_FILES, self.tr("Level-1C products (.zip, MTD_MSIL1C.xml) or text files listing products"),
            QgsProcessing.TypeFile, None, True))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_DIR, self.tr("Output folder (not set: each product beside its input)"),
            None, True, False))
        self.addParameter(QgsProcessingParameterEnum(
            self.MODE, self.tr("Processing (FULL: scene classification and atmospheric correction, "
                               "SC_ONLY: scene classification only, CR_ONLY: product tree only)"),
            list(MODES), False, "FULL", False, True))
        self.addParameter(QgsProcessingParameterEnum(
            self.RESOLUTION, self.tr("Resolution (ALL: 20 m, then 10 m, and 60 m from 20 m)"),
            list(RESOLUTIONS), False, "ALL", False, True))
        self.addParameter(QgsProcessingParameterEnum(
            self.OUTPUT_FORMAT, self.tr("Image format (JP2: JPEG 2000, TIF: GeoTIFF, RAW: ENVI)"),
            list(OUTPUT_FORMATS), False, "JP2", False, True))
        self.addParameter(QgsProcessingParameterFile(
            "GIP_L2A", self.tr("User configuration L2A_GIPP.xml (not set: the one in SEN2COR_HOME)"),
            FILE_BEHAVIOR_FILE, "xml", None, True))
        self.addParameter(QgsProcessingParameterNumber(
            self.WORKERS, self.tr("Products at once: local worker processes (not set: from the cores "
                                  "and the memory)"),
            QgsProcessingParameterNumber.Integer, None, True, 1))
        memory = QgsProcessingParameterNumber(
            self.MEMORY_PER_PRODUCT, self.tr("Memory a product needs (GB)"),
            QgsProcessingParameterNumber.Double, DEFAULT_MEMORY_GB, False, 0.1, 1024.0)
        self.addParameter(memory)
        self.addParameter(QgsProcessingParameterNumber(
            self.RETRIES, self.tr("Retries of a failed product (attempts beyond the first, over all runs)"),
            QgsProcessingParameterNumber.Integer, 2, False, 0, 100))
        self.addParameter(QgsProcessingParameterBoolean(
            self.OVERWRITE, self.tr("Overwrite: convert again products already in the output folder"),
            False, True))
        for definition in self.gipp.definitions():
            self.addParameter(definition)
        self.addParameter(set_advanced(QgsProcessingParameterString(
            self.SCHEDULER, self.tr("Existing Dask scheduler address, e.g. tcp://host:8786 (not set: a "
                                    "local cluster)"),
            None, False, True)))
        self.addParameter(set_advanced(QgsProcessingParameterNumber(
            self.THREADS_PER_WORKER, self.tr("Threads per local worker process (not set: 1)"),
            QgsProcessingParameterNumber.Integer, None, True, 1)))
        self.addParameter(set_advanced(QgsProcessingParameterBoolean(
            self.RESET_FAILED, self.tr("Give products that failed for good a new set of attempts"),
            False, True)))
        self.addParameter(set_advanced(QgsProcessingParameterBoolean(
            self.SC_CLASSIC, self.tr("Scene classification in CLASSIC mode (Sen2Cor 2.9) instead of "
                                     "EVOLUTION"), False, True)))
        self.addParameter(set_advanced(QgsProcessingParameterBoolean(
            self.SC_COG, self.tr("Write the SCL as Cloud-Optimized GeoTIFF"), False, True)))
        self._add_advanced_options()
        self._add_batch_outputs()

    def _add_batch_outputs(self) -> None:
        for name, label in ((self.TOTAL, self.tr("Products in the batch")),
                            (self.DONE, self.tr("Products converted (now or by an earlier run)")),
                            (self.SKIPPED, self.tr("Products already present, not converted again")),
                            (self.FAILED, self.tr("Products failed")),
                            (self.NOT_RUN, self.tr("Products not run (cancelled)"))):
            self.addOutput(QgsProcessingOutputNumber(name, label))
        self.addOutput(QgsProcessingOutputString(
            self.OUTCOME, self.tr("Outcome (complete, failed, interrupted)")))
        self.addOutput(QgsProcessingOutputFile(self.STATE_FILE, self.tr("Batch state file (SQLite)")))
        self.addOutput(QgsProcessingOutputFile(self.PROGRESS_FILE, self.tr("Progress file")))

    # -- reading the parameters -----------------------------------------------------------------
    def _given_inputs(self, parameters, context) -> List[str]:
        """The folder and the files as given (not expanded), in this order."""
        given: List[str] = []
        folder = self._text(parameters, self.INPUT_FOLDER, context, as_file=True)
        if folder:
            given.append(folder)
        if self.parameterDefinition(self.INPUT_FILES) is not None and not _unset(parameters.get(self.INPUT_FILES)):
            for path in self.parameterAsFileList(parameters, self.INPUT_FILES, context) or []:
                path = (path or "").strip()
                if path:
                    given.append(path)
        return given

    def check_input(self, parameters, context) -> str:
        given = self._given_inputs(parameters, context)
        if not given:
            raise QgsProcessingException(self.tr(
                "No input given: choose a folder of Level-1C products and/or Level-1C product files."))
        for path in given:
            if not (_GLOB_CHARS & set(path)) and not os.path.exists(path):
                raise QgsProcessingException(self.tr("{path}: input not found").format(path=path))
        return "; ".join(given)

    def _optional_int(self, parameters, name: str, context) -> Optional[int]:
        if _unset(parameters.get(name)):
            return None
        return self.parameterAsInt(parameters, name, context)

    def mode_options(self, parameters, context) -> Dict[str, Any]:
        mode = self.parameterAsEnumString(parameters, self.MODE, context) or "FULL"
        text = self.parameterAsEnumString(parameters, self.RESOLUTION, context) or "ALL"
        resolution = None if text == "ALL" or mode == "CR_ONLY" else int(text)
        return {"cr_only": mode == "CR_ONLY", "sc_only": mode == "SC_ONLY", "resolution": resolution,
                "sc_classic": self.parameterAsBool(parameters, self.SC_CLASSIC, context),
                "sc_cog": self.parameterAsBool(parameters, self.SC_COG, context)}

    def check_mode_parameters(self, parameters, context) -> None:
        mode = self.parameterAsEnumString(parameters, self.MODE, context) or "FULL"
        resolution = self.parameterAsEnumString(parameters, self.RESOLUTION, context) or "ALL"
        if mode == "SC_ONLY" and resolution == "10":
            raise QgsProcessingException(self.tr(
                "Scene classification runs at 20 m or 60 m only (it is never computed at 10 m)."))
        self._check_dask(parameters, context)
        self.cluster_spec(parameters, context)

    def _check_dask(self, parameters, context) -> None:
        from ..core.batch import missing_dependencies

        kind = "scheduler" if self._text(parameters, self.SCHEDULER, context) else "local"
        missing = missing_dependencies(kind)
        if missing:
            raise QgsProcessingException(self.tr("Batch conversion is not available: {0}").format(missing))

    def cluster_spec(self, parameters, context):
        """The `ClusterSpec` of the parameters (local cluster, or the scheduler given)."""
        from ..core.batch import ClusterSpec

        address = self._text(parameters, self.SCHEDULER, context)
        memory = self.parameterAsDouble(parameters, self.MEMORY_PER_PRODUCT, context) or DEFAULT_MEMORY_GB
        try:
            if address:
                return ClusterSpec(kind="scheduler", address=address, memory_per_product=memory)
            return ClusterSpec(kind="local", workers=self._optional_int(parameters, self.WORKERS, context),
                               threads_per_worker=self._optional_int(parameters, self.THREADS_PER_WORKER, context),
                               memory_per_product=memory, dashboard_address=DASHBOARD_ADDRESS)
        except Sen2CorError as exc:
            raise QgsProcessingException(str(exc)) from None

    # -- running ----------------------------------------------------------------------------------
    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802
        self._check_dask(parameters, context)
        self._to_load = []
        self._request = self.build_request(parameters, context, feedback)
        self._given = self._given_inputs(parameters, context)
        self._spec = self.cluster_spec(parameters, context)
        self._batch = {
            "retries": self.parameterAsInt(parameters, self.RETRIES, context),
            "overwrite": self.parameterAsBool(parameters, self.OVERWRITE, context),
            "reset_failed": self.parameterAsBool(parameters, self.RESET_FAILED, context),
        }
        if self._spec.kind == "scheduler" and (self._optional_int(parameters, self.WORKERS, context)
                                                or self._optional_int(parameters, self.THREADS_PER_WORKER, context)):
            self._notes_extra = [self.tr("Workers and threads size the local cluster only; the "
                                         "scheduler's workers are used as they are.")]
        else:
            self._notes_extra = []
        return True

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        feedback = feedback or QgsProcessingFeedback()
        if getattr(self, "_request", None) is None:
            self.prepareAlgorithm(parameters, context, feedback)
        request, spec, batch = self._request, self._spec, self._batch
        for line in list(request.notes) + list(self._notes_extra):
            feedback.pushInfo(line)
        with FeedbackBridge(feedback, debug=request.options.debug) as bridge:
            if bridge.cancel.is_set():
                raise QgsProcessingException(self.tr("Cancelled before start; nothing was written."))
            from ..core.batch import expand_inputs, format_summary, run_batch
            from ..core.batch.runner import STATE_NAME
            from ..core.pipeline import default_output_dir

            try:
                items = expand_inputs(self._given)
            except Sen2CorError as exc:
                raise QgsProcessingException(str(exc)) from None
            options = request.options
            folder = Path(options.output_dir) if options.output_dir else default_output_dir(items[0].path)
            state_path = folder.expanduser().absolute() / STATE_NAME
            feedback.pushInfo(self.tr("{0} Level-1C product(s) found; state file: {1}").format(
                len(items), state_path))
            if bridge.cancel.is_set():
                raise QgsProcessingException(self.tr("Cancelled before start; nothing was written."))
            reporter = _Reporter(self, feedback)
            try:
                summary = run_batch(items, options, spec, state_path=state_path, retries=batch["retries"],
                                    overwrite=batch["overwrite"], reset_failed=batch["reset_failed"],
                                    progress=reporter, cancel=bridge.cancel, handle_sigint=False,
                                    command=COMMAND)
            except Sen2CorError as exc:
                raise QgsProcessingException(str(exc)) from None
        counts = summary.counts
        for line in format_summary(summary).splitlines():
            feedback.pushInfo(line)
        not_run = counts.pending + counts.queued + counts.running
        if summary.outcome == "interrupted":
            feedback.pushWarning(self.tr(
                "Cancelled: {0} product(s) not run. Run the algorithm again with the same inputs and "
                "output folder to convert them.").format(not_run))
        elif counts.failed:
            feedback.pushWarning(self.tr("{0} product(s) failed; their errors are in the log above and "
                                         "in the state file {1}").format(counts.failed, summary.state_path))
        else:
            feedback.setProgress(100)
        return {
            self.OUTPUT_DIR: str(state_path.parent),
            self.TOTAL: counts.total, self.DONE: counts.done, self.SKIPPED: counts.skipped,
            self.FAILED: counts.failed, self.NOT_RUN: not_run, self.OUTCOME: summary.outcome,
            self.STATE_FILE: summary.state_path, self.PROGRESS_FILE: summary.progress_file,
        }

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        return {}                     # nothing is loaded: a batch may hold thousands of products

    def report(self, update, feedback, last: Dict[str, Any]) -> None:
        """One event of `run_batch` (in this thread) onto the feedback; `last` remembers what
        was shown, so that the ticks only update what changed."""
        percent = round(100.0 * max(0.0, min(1.0, update.fraction)), 1)
        if percent != last.get("percent"):
            last["percent"] = percent
            feedback.setProgress(percent)
        c = update.counts
        text = self.tr("{0}/{1} done, {2} failed, {3} running").format(
            c.done + c.skipped, c.total, c.failed, c.running)
        if text != last.get("text"):
            last["text"] = text
            feedback.setProgressText(text)
        if update.kind in ("start", "end") and update.message:
            feedback.pushInfo(update.message)
        p = update.product
        if p is None:
            return
        if p.status == "done":
            seconds = f"{p.seconds:.1f} s" if p.seconds is not None else "-"
            feedback.pushInfo(self.tr("Done: {0} ({1}) -> {2}").format(p.name, seconds, p.output))
        elif p.status == "failed":
            feedback.reportError(self.tr("Failed: {0} (attempt {1}/{2}): {3}").format(
                p.name, p.attempt, p.max_attempts, p.error), False)
        elif p.status == "retrying":
            feedback.pushWarning(self.tr("Retrying {0} (attempt {1}/{2} failed): {3}").format(
                p.name, p.attempt, p.max_attempts, p.error))
        elif p.status == "running" and p.message == "started":
            feedback.pushDebugInfo(self.tr("Started: {0} on {1}").format(p.name, p.worker or "?"))


class _Reporter:
    """`run_batch`'s progress callback, bound to an algorithm and its feedback."""

    def __init__(self, algorithm: BatchL2AAlgorithm, feedback) -> None:
        self.algorithm, self.feedback, self.last = algorithm, feedback, {}

    def __call__(self, update) -> None:
        self.algorithm.report(update, self.feedback, self.last)
