"""The QGIS-facing plugin object: registers the processing provider.

The provider is registered in `initProcessing()` so that `qgis_process` (which has no iface)
sees it; GUI actions belong in `initGui()` only.
"""
from qgis.core import QgsApplication


class Sen2CorPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API name)
        from .algorithms.provider import Sen2CorProvider

        self.provider = Sen2CorProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API name)
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
