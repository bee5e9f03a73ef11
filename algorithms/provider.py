"""The `sen2cor` processing provider."""
import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..core.version import PLUGIN_VERSION

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "ui", "icons", "icon.svg")


class Sen2CorProvider(QgsProcessingProvider):
    def id(self):
        return "sen2cor"

    def name(self):
        return self.tr("Sentinel-2 L2A (Sen2Cor)")

    def longName(self):  # noqa: N802 (QGIS API name)
        return self.tr("Sentinel-2 Level-2A processor {}").format(PLUGIN_VERSION)

    def icon(self):
        return QIcon(ICON_PATH)

    def loadAlgorithms(self):  # noqa: N802 (QGIS API name)
        # The algorithms (L2A processing, scene classification only, region of interest,
        # product tree only) are added with the plugin issue; the provider exists so that
        # qgis_process and the toolbox see the plugin.
        pass
