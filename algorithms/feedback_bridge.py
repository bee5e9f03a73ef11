"""The core's callbacks mapped onto a `QgsProcessingFeedback`.

    with FeedbackBridge(feedback) as bridge:
        process_product(path, options, progress=bridge.progress, cancel=bridge.cancel,
                        log=bridge.logger)

* progress(fraction, message) -> feedback.setProgress(percent) (the message reaches the log
  through the core's own `log.info`, so it is not pushed twice);
* log records of the `sen2cor_qgis` loggers -> pushDebugInfo / pushInfo / pushWarning /
  reportError, through a `logging.Handler` attached for the duration of the run;
* cancel -> an object whose `is_set()` is `feedback.isCanceled()`.

Several runs may go on at once (tasks in the background): each handler only takes records from
the thread it was attached in, or from helper threads not owned by another run.
"""
from __future__ import annotations

import logging
import threading
from typing import Optional, Set

LOGGER_NAME = "sen2cor_qgis"

_active_threads: Set[int] = set()
_active_lock = threading.Lock()


class FeedbackCancel:
    """`is_set()` for the core, answered by the QGIS feedback (Cancel button, task manager)."""

    def __init__(self, feedback) -> None:
        self._feedback = feedback

    def is_set(self) -> bool:
        return self._feedback is not None and self._feedback.isCanceled()


class FeedbackLogHandler(logging.Handler):
    """Forwards log records to a processing feedback, by level."""

    def __init__(self, feedback, owner_thread: Optional[int] = None) -> None:
        super().__init__(logging.DEBUG)
        self.feedback = feedback
        self.owner_thread = owner_thread if owner_thread is not None else threading.get_ident()
        self.setFormatter(logging.Formatter("%(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 (logging API)
        if record.thread == self.owner_thread:
            return True
        with _active_lock:
            return record.thread not in _active_threads   # a worker of this run, not another run

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if record.levelno >= logging.ERROR:
                self.feedback.reportError(text, False)
            elif record.levelno >= logging.WARNING:
                self.feedback.pushWarning(text)
            elif record.levelno >= logging.INFO:
                self.feedback.pushInfo(text)
            else:
                self.feedback.pushDebugInfo(text)
        except Exception:  # noqa: BLE001 - logging must never break processing
            self.handleError(record)


class FeedbackBridge:
    """Context manager: progress, cancel and logging of one core run, bound to a feedback."""

    def __init__(self, feedback, debug: bool = False) -> None:
        self.feedback = feedback
        self.cancel = FeedbackCancel(feedback)
        self.logger = logging.getLogger(LOGGER_NAME)
        self._debug = debug
        self._handler: Optional[FeedbackLogHandler] = None
        self._thread = threading.get_ident()

    def progress(self, fraction: float, message: str = "") -> None:
        if self.feedback is not None:
            self.feedback.setProgress(max(0.0, min(100.0, 100.0 * float(fraction))))

    def __enter__(self) -> "FeedbackBridge":
        if self.logger.level == logging.NOTSET or self._debug:
            # the core sets Log_Level itself once the GIPP is read; until then INFO (or DEBUG)
            self.logger.setLevel(logging.DEBUG if self._debug else logging.INFO)
        if self.feedback is not None:
            self._handler = FeedbackLogHandler(self.feedback, self._thread)
            self.logger.addHandler(self._handler)
        with _active_lock:
            _active_threads.add(self._thread)
        return self

    def __exit__(self, *exc) -> None:
        with _active_lock:
            _active_threads.discard(self._thread)
        if self._handler is not None:
            self.logger.removeHandler(self._handler)
            self._handler = None
