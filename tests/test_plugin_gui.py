"""The plugin's GUI: menu/toolbar actions, the background task and its message-bar reports."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings not installed")
pytestmark = pytest.mark.qgis

from qgis.core import Qgis, QgsApplication, QgsProcessingAlgRunnerTask  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication  # noqa: E402
from qgis.PyQt.QtWidgets import QProgressBar, QPushButton  # noqa: E402

from sen2cor_qgis.core.errors import CancelledError  # noqa: E402

TITLE = "Sentinel-2 L2A"


@pytest.fixture(scope="module")
def l1c(tmp_path_factory):
    root = tmp_path_factory.mktemp("l1c")
    try:
        from sen2cor_qgis.tools.sample_product import generate_product
    except ImportError:
        from tests.test_reader_support import build_safe
        return build_safe(root)
    return generate_product(root, size="tiny")


class _Menus:
    """The raster-menu calls QGIS has and pytest-qgis 2.1.0's iface stub lacks."""

    def __init__(self):
        self.entries = []

    def add(self, menu, action):
        self.entries.append((menu, action))

    def remove(self, menu, action):
        self.entries.remove((menu, action))


@pytest.fixture(scope="module")
def gui(qgis_iface, qgis_processing):
    from sen2cor_qgis import classFactory

    menus = _Menus()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(qgis_iface, "addPluginToRasterMenu", menus.add, raising=False)
        mp.setattr(qgis_iface, "removePluginRasterMenu", menus.remove, raising=False)
        plugin = classFactory(qgis_iface)
        plugin.initGui()
        plugin.menus = menus
        yield plugin
        plugin.unload()
        assert menus.entries == []
        assert QgsApplication.processingRegistry().providerById("sen2cor") is None


@pytest.fixture
def bar(qgis_iface):
    bar = qgis_iface.messageBar()
    for level in bar.messages:
        bar.messages[level] = []
    return bar


def _wait(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        QCoreApplication.processEvents()
        time.sleep(0.01)
        assert time.monotonic() < deadline, "timed out"
    QCoreApplication.processEvents()


class SlowCore:
    """Stands in for process_product: reports progress and a warning, honours cancel."""

    def __init__(self):
        self.started = threading.Event()
        self.thread = None

    def __call__(self, path, options, progress=None, cancel=None, log=None):
        self.thread = threading.current_thread()
        log.warning("slow core: DEM folder not found, flat terrain")
        for step in range(3000):
            if cancel.is_set():
                raise CancelledError("processing cancelled")
            progress(step / 3000, "working")
            self.started.set()
            time.sleep(0.01)
        raise AssertionError("never cancelled")


def test_init_gui_adds_actions_to_the_raster_menu_and_toolbar(gui, qgis_iface):
    assert QgsApplication.processingRegistry().providerById("sen2cor") is gui.provider
    texts = [action.text() for _menu, action in gui.menus.entries]
    assert texts == ["Convert L1C to L2A…", "Convert L1C to L2A in the background…"]
    assert all(menu == "Sentinel-2 L2A (Sen2Cor)" for menu, _ in gui.menus.entries)
    assert not gui.actions[0].icon().isNull()


def test_convert_action_opens_the_l2a_dialog(gui, monkeypatch):
    import processing

    calls = []
    monkeypatch.setattr(processing, "execAlgorithmDialog", lambda alg_id, params: calls.append((alg_id, params)))
    gui.actions[0].trigger()
    assert calls == [("sen2cor:l2a_process", {})]


def test_background_action_asks_for_a_product_then_runs_it(gui, monkeypatch):
    import sen2cor_qgis.plugin as plugin_module

    started = []
    monkeypatch.setattr(plugin_module.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args: ("/data/S2B_MSIL1C_X.SAFE/MTD_MSIL1C.xml", "")))
    monkeypatch.setattr(gui, "run_in_background", lambda params, *a: started.append(params))
    gui.actions[1].trigger()
    assert started == [{"INPUT": "/data/S2B_MSIL1C_X.SAFE/MTD_MSIL1C.xml"}]


def test_background_run_reports_success_in_the_message_bar(gui, bar, l1c, tmp_path):
    run = gui.run_in_background({"INPUT": str(l1c), "OUTPUT_DIR": str(tmp_path)},
                                "sen2cor:create_product_tree")
    assert isinstance(run.task, QgsProcessingAlgRunnerTask)
    assert run in gui.runs
    _wait(lambda: run.done)
    assert run.ok
    product = Path(run.results["OUTPUT"])
    assert product.parent == tmp_path and (product / "MTD_MSIL2A.xml").is_file()
    assert bar.get_messages(Qgis.Success) == [f"{TITLE}:Finished: {product}"]
    assert bar.get_messages(Qgis.Critical) == []
    assert any("creating the Level-2A product tree" in line for line in run.log_text().splitlines())
    assert run not in gui.runs                                  # released once finished


def test_background_run_reports_failure_with_the_core_message(gui, bar, tmp_path):
    missing = tmp_path / "S2B_MSIL1C_missing.SAFE"
    run = gui.run_in_background({"INPUT": str(missing)})
    _wait(lambda: run.done)
    assert run.ok is False
    [message] = bar.get_messages(Qgis.Critical)
    assert message.startswith(f"{TITLE}:Failed: ") and str(missing) in message
    assert bar.get_messages(Qgis.Success) == []


def test_background_run_runs_in_a_task_thread_and_cancels(gui, bar, l1c, tmp_path, monkeypatch):
    import sen2cor_qgis.algorithms.base as base

    core = SlowCore()
    monkeypatch.setattr(base, "process_product", core)
    run = gui.run_in_background({"INPUT": str(l1c), "OUTPUT_DIR": str(tmp_path)})
    _wait(core.started.is_set)
    assert core.thread is not threading.main_thread()
    active = QgsApplication.taskManager().activeTasks()
    assert run.task in active                                     # visible in the task manager
    run.task.cancel()                                             # what the task manager does
    _wait(lambda: run.done)
    assert run.ok is False
    assert bar.get_messages(Qgis.Warning)[-1] == f"{TITLE}:Cancelled; nothing was written."
    assert f"{TITLE}:slow core: DEM folder not found, flat terrain" in bar.get_messages(Qgis.Warning)
    assert bar.get_messages(Qgis.Critical) == []
    assert list(tmp_path.iterdir()) == []


class _WidgetIface:
    """An iface with QGIS's real message bar (progress widget, buttons)."""

    def __init__(self):
        from qgis.gui import QgsMessageBar

        self.bar = QgsMessageBar()

    def messageBar(self):  # noqa: N802
        return self.bar


def test_real_message_bar_gets_progress_widget_and_log_button(qgis_processing, gui, l1c, tmp_path, monkeypatch):
    import sen2cor_qgis.algorithms.base as base
    import sen2cor_qgis.ui.background as background
    from sen2cor_qgis.ui.background import BackgroundRun

    core = SlowCore()
    monkeypatch.setattr(base, "process_product", core)
    iface = _WidgetIface()
    run = BackgroundRun(iface, "sen2cor:l2a_process", {"INPUT": str(l1c), "OUTPUT_DIR": str(tmp_path)}).start()
    _wait(core.started.is_set)
    _wait(lambda: run._progress is not None and run._progress.value() > 0)
    item = iface.bar.currentItem()
    assert item.findChildren(QProgressBar) and item.title() == TITLE
    assert item.text() == "Warning: slow core: DEM folder not found, flat terrain"   # latest line
    [cancel] = [b for b in item.findChildren(QPushButton) if b.text() == "Cancel"]
    cancel.click()
    _wait(lambda: run.done)
    final = iface.bar.currentItem()
    assert final is not item and final.text() == "Cancelled; nothing was written."
    assert final.level() == Qgis.Warning
    [show_log] = [b for b in final.findChildren(QPushButton) if b.text() == "Show log"]
    shown = {}

    class Output:
        def setTitle(self, title):  # noqa: N802
            shown["title"] = title

        def setMessage(self, text, kind):  # noqa: N802
            shown["text"] = text

        def showMessage(self, blocking=True):  # noqa: N802
            shown["shown"] = True

    monkeypatch.setattr(background.QgsMessageOutput, "createMessageOutput", staticmethod(Output))
    show_log.click()
    assert shown["shown"] and "slow core: DEM folder not found" in shown["text"]
    assert "processing cancelled" in shown["text"]
