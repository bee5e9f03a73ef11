"""The `sen2cor` processing provider: its algorithms and the provider settings."""
import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..core.version import PLUGIN_VERSION
from . import settings
from .translation import Translatable

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "ui", "icons", "icon.svg")


def algorithm_classes():
    """The provider's algorithm classes, in toolbox order."""
    from .batch_convert import BatchL2AAlgorithm
    from .l2a_process import L2AProcessAlgorithm
    from .product_tree import CreateProductTreeAlgorithm
    from .roi_process import RoiProcessAlgorithm
    from .scene_classification import SceneClassificationAlgorithm

    return (L2AProcessAlgorithm, SceneClassificationAlgorithm, RoiProcessAlgorithm,
            CreateProductTreeAlgorithm, BatchL2AAlgorithm)


class Sen2CorProvider(Translatable, QgsProcessingProvider):
    def id(self):  # noqa: A003 (QGIS API)
        return "sen2cor"

    def name(self):
        return self.tr("Sentinel-2 L2A (Sen2Cor)")

    def longName(self):  # noqa: N802 (QGIS API name)
        return self.tr("Sentinel-2 Level-2A processor {0} (Sen2Cor 2.11 compatible)").format(PLUGIN_VERSION)

    def helpId(self):  # noqa: N802
        return "sen2cor"

    def icon(self):
        return QIcon(ICON_PATH)

    def load(self):
        settings.register()
        self.refreshAlgorithms()
        return True

    def unload(self):
        settings.unregister()

    def loadAlgorithms(self):  # noqa: N802 (QGIS API name)
        for cls in algorithm_classes():
            self.addAlgorithm(cls())
