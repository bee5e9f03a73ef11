"""Running a `sen2cor` algorithm in the background from the plugin's own action.

The algorithm runs in a `QgsProcessingAlgRunnerTask` (a `QgsTask` in the task manager, where it
can be cancelled) -- the same code path as the toolbox; the algorithm itself never creates a
task. The feedback lives in the main thread and re-emits progress and log lines as signals, so
every message-bar update happens in the main thread:

* while running: a message-bar item with the current step, a progress bar and a Cancel button;
* warnings and errors of the log: message-bar messages;
* at the end: success, failure or cancellation, with a "Show log" button opening the run's log;
  result layers are loaded as the toolbox would load them.

Message bars without widgets (test stubs) get `pushMessage(title, text, level, duration)` only.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from qgis.core import (Qgis, QgsApplication, QgsMessageOutput, QgsProcessingAlgRunnerTask,
                       QgsProcessingContext, QgsProcessingFeedback, QgsProject)
from qgis.PyQt.QtCore import QObject, pyqtSignal, pyqtSlot
from qgis.PyQt.QtWidgets import QProgressBar, QPushButton

from ..algorithms.translation import Translatable

SUCCESS_SECONDS = 15


class BarFeedback(QgsProcessingFeedback):
    """Feedback that re-emits log lines as a signal (delivered in the receiver's thread)."""

    line = pyqtSignal(str, int)

    def pushInfo(self, info):  # noqa: N802 (QGIS API)
        super().pushInfo(info)
        self.line.emit(info, int(Qgis.Info))

    def pushWarning(self, warning):  # noqa: N802
        super().pushWarning(warning)
        self.line.emit(warning, int(Qgis.Warning))

    def reportError(self, error, fatalError=False):  # noqa: N802, N803
        super().reportError(error, fatalError)
        self.line.emit(error, int(Qgis.Critical))

    def pushDebugInfo(self, info):  # noqa: N802
        super().pushDebugInfo(info)
        self.line.emit(info, -1)


class BackgroundRun(Translatable, QObject):
    """One algorithm run as a task, reported in the message bar; keep a reference until
    `finished` is emitted."""

    finished = pyqtSignal(bool, dict)

    def __init__(self, iface, algorithm_id: str, parameters: Dict[str, Any],
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.iface = iface
        self.algorithm_id = algorithm_id
        self.parameters = dict(parameters)
        self.algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        if self.algorithm is None:
            raise ValueError(f"unknown algorithm {algorithm_id}")
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = BarFeedback()
        self.feedback.progressChanged.connect(self._on_progress)
        self.feedback.line.connect(self._on_line)
        self.task: Optional[QgsProcessingAlgRunnerTask] = None
        self.log: List[Tuple[int, str]] = []
        self.ok: Optional[bool] = None
        self.results: Dict[str, Any] = {}
        self.done = False
        self._item = None
        self._progress: Optional[QProgressBar] = None

    @property
    def title(self) -> str:
        return self.tr("Sentinel-2 L2A")

    @property
    def bar(self):
        return self.iface.messageBar()

    def _widgets(self) -> bool:
        return hasattr(self.bar, "pushWidget")

    # -- starting and stopping ----------------------------------------------------------------
    def start(self) -> "BackgroundRun":
        description = self.tr("{0}: {1}").format(self.title, self.algorithm.displayName())
        self._show_progress()
        self.task = QgsProcessingAlgRunnerTask(self.algorithm, self.parameters, self.context,
                                               self.feedback)
        self.task.setDescription(description)
        if self.task.isCanceled():          # prepareAlgorithm refused the parameters
            self._finish(False, {}, cancelled=False)
            return self
        self.task.executed.connect(self._on_executed)
        QgsApplication.taskManager().addTask(self.task)
        return self

    def cancel(self) -> None:
        if self.task is not None and not self.done:
            self.task.cancel()
        self.feedback.cancel()

    # -- message bar ----------------------------------------------------------------------------
    def _show_progress(self) -> None:
        if not self._widgets():
            return
        from qgis.gui import QgsMessageBar

        self._item = QgsMessageBar.createMessage(self.title, self.tr("Starting {0}…").format(
            self.algorithm.displayName()))
        self._progress = QProgressBar()
        self._progress.setRange(0, 100)
        self._progress.setMaximumWidth(200)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.clicked.connect(self.cancel)
        self._item.layout().addWidget(self._progress)
        self._item.layout().addWidget(cancel)
        self.bar.pushWidget(self._item, Qgis.Info, 0)

    def _close_progress(self) -> None:
        if self._item is not None:
            try:
                self.bar.popWidget(self._item)
            except RuntimeError:   # already closed by the user
                pass
            self._item = None
            self._progress = None

    @pyqtSlot(float)
    def _on_progress(self, percent: float) -> None:
        if self._progress is not None:
            self._progress.setValue(int(percent))

    @pyqtSlot(str, int)
    def _on_line(self, text: str, level: int) -> None:
        self.log.append((level, text))
        if level < 0:
            return
        if self._item is not None:          # the progress item shows the latest line
            if level == int(Qgis.Info):
                self._item.setText(text)
            elif level == int(Qgis.Warning):
                self._item.setText(self.tr("Warning: {0}").format(text))
        elif level == int(Qgis.Warning):    # a bar without widgets: one message per warning
            self.bar.pushMessage(self.title, text, Qgis.Warning, SUCCESS_SECONDS)

    def _push_final(self, text: str, level) -> None:
        duration = SUCCESS_SECONDS if level == Qgis.Success else 0
        if not self._widgets():
            self.bar.pushMessage(self.title, text, level, duration)
            return
        from qgis.gui import QgsMessageBar

        item = QgsMessageBar.createMessage(self.title, text)
        button = QPushButton(self.tr("Show log"))
        button.clicked.connect(self.show_log)
        item.layout().addWidget(button)
        self.bar.pushWidget(item, level, duration)

    def log_text(self) -> str:
        return "\n".join(text for _level, text in self.log)

    def show_log(self) -> None:
        output = QgsMessageOutput.createMessageOutput()
        output.setTitle(self.tr("{0}: log").format(self.title))
        output.setMessage(self.log_text(), QgsMessageOutput.MessageText)
        output.showMessage()

    # -- end ----------------------------------------------------------------------------------
    @pyqtSlot(bool, "QVariantMap")
    def _on_executed(self, ok: bool, results: dict) -> None:
        self._finish(ok, results, cancelled=self.feedback.isCanceled())

    def _finish(self, ok: bool, results: dict, cancelled: bool) -> None:
        if self.done:
            return
        self.done, self.ok, self.results = True, bool(ok), dict(results or {})
        self._close_progress()
        warnings = sum(1 for level, _text in self.log if level == int(Qgis.Warning))
        if ok:
            self._load_results()
            text = self.tr("Finished: {0}").format(self.results.get("OUTPUT", ""))
            if warnings and self._widgets():
                text += " " + self.tr("({0} warnings, see the log)").format(warnings)
            self._push_final(text, Qgis.Success)
        elif cancelled:
            self._push_final(self.tr("Cancelled; nothing was written."), Qgis.Warning)
        else:
            errors = [text for level, text in self.log if level == int(Qgis.Critical)]
            reason = errors[-1] if errors else self.tr("see the log")
            self._push_final(self.tr("Failed: {0}").format(reason), Qgis.Critical)
        self.finished.emit(self.ok, self.results)

    def _load_results(self) -> None:
        if not self.context.layersToLoadOnCompletion():
            return
        try:
            from processing.gui.Postprocessing import handleAlgorithmResults
        except ImportError:
            return
        handleAlgorithmResults(self.algorithm, self.context, self.feedback, False, self.parameters)
