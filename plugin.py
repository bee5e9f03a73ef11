"""The QGIS-facing plugin object: provider registration, translator, GUI actions.

`initProcessing()` registers only the provider, so that `qgis_process` (which calls
`classFactory(None)` and then `initProcessing()`) sees the algorithms; everything touching the
interface is in `initGui()`. The translator for the QGIS locale is installed when the plugin is
created, so algorithm names are translated in qgis_process too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QFileDialog

from .algorithms.translation import Translatable

PLUGIN_DIR = Path(__file__).resolve().parent
ICON_PATH = PLUGIN_DIR / "ui" / "icons" / "icon.svg"
I18N_DIR = PLUGIN_DIR / "i18n"
PROVIDER_ID = "sen2cor"
L2A_ALGORITHM = "sen2cor:l2a_process"
LOG_TAG = "Sen2Cor"


def qgis_locale() -> str:
    """The user interface language of QGIS ('de', 'fr', 'pt_BR', ...): the locale set in the
    QGIS options when overridden there, else the system's."""
    return str(QgsApplication.locale() or QLocale().name())


def load_translator(locale: Optional[str] = None) -> Optional[QTranslator]:
    """Install the translator of `i18n/sen2cor_qgis_<locale>.qm` (full locale, then language);
    None when there is no compiled translation for it."""
    locale = locale or qgis_locale()
    for code in dict.fromkeys((locale, locale.split("_")[0])):
        path = I18N_DIR / f"sen2cor_qgis_{code}.qm"
        if code and path.is_file():
            translator = QTranslator()
            if translator.load(str(path)):
                QCoreApplication.installTranslator(translator)
                return translator
    return None


class Sen2CorPlugin(Translatable):
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions: List[QAction] = []
        self.runs: List[Any] = []
        self.translator = load_translator()

    # -- processing -------------------------------------------------------------------------
    def initProcessing(self):  # noqa: N802 (QGIS API name)
        if self.provider is not None:
            return
        from .algorithms.provider import Sen2CorProvider

        registry = QgsApplication.processingRegistry()
        if registry.providerById(PROVIDER_ID) is not None:
            QgsMessageLog.logMessage(self.tr("The provider 'sen2cor' is registered already."),
                                     LOG_TAG, Qgis.Warning)
            return
        provider = Sen2CorProvider()
        if registry.addProvider(provider):   # False: QGIS has deleted the object
            self.provider = provider

    # -- GUI ----------------------------------------------------------------------------------
    def initGui(self):  # noqa: N802 (QGIS API name)
        self.initProcessing()
        icon = QIcon(str(ICON_PATH))
        parent = self.iface.mainWindow()
        convert = QAction(icon, self.tr("Convert L1C to L2A…"), parent)
        convert.setObjectName("sen2cor_convert")
        convert.setToolTip(self.tr("Open the L2A processing dialog"))
        convert.triggered.connect(self.open_dialog)
        background = QAction(icon, self.tr("Convert L1C to L2A in the background…"), parent)
        background.setObjectName("sen2cor_convert_background")
        background.setToolTip(self.tr("Choose a Level-1C product and process it as a background "
                                      "task with the GIPP settings"))
        background.triggered.connect(self.choose_and_run_in_background)
        for action in (convert, background):
            self.iface.addPluginToRasterMenu(self.menu_name(), action)
            self.actions.append(action)
        self.iface.addToolBarIcon(convert)

    def menu_name(self) -> str:
        return self.tr("Sentinel-2 L2A (Sen2Cor)")

    def open_dialog(self, parameters: Optional[Dict[str, Any]] = None):
        import processing

        return processing.execAlgorithmDialog(L2A_ALGORITHM, parameters or {})

    def choose_and_run_in_background(self):
        path, _ = QFileDialog.getOpenFileName(
            self.iface.mainWindow(), self.tr("Level-1C product to convert"), "",
            self.tr("Sentinel-2 Level-1C (MTD_MSIL1C.xml *.zip)"))
        if path:
            return self.run_in_background({"INPUT": path})
        return None

    def run_in_background(self, parameters: Dict[str, Any], algorithm_id: str = L2A_ALGORITHM):
        """Run an algorithm of the provider as a task reported in the message bar."""
        from .ui.background import BackgroundRun

        run = BackgroundRun(self.iface, algorithm_id, parameters)
        self.runs.append(run)
        run.finished.connect(lambda *_: self._forget(run))
        return run.start()

    def _forget(self, run) -> None:
        if run in self.runs:
            self.runs.remove(run)

    # -- unloading ----------------------------------------------------------------------------
    def unload(self):
        for run in list(self.runs):
            run.cancel()
        if self.iface is not None:
            for action in self.actions:
                self.iface.removePluginRasterMenu(self.menu_name(), action)
                self.iface.removeToolBarIcon(action)
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
