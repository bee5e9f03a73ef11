"""QGIS plugin entry point of the Sentinel-2 L2A processor (package `sen2cor_qgis`).

Nothing here imports QGIS at module level: the engine in `core/` is imported as
`sen2cor_qgis.core` by the command line and the batch runner, without QGIS.
"""


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """Called by QGIS (and by qgis_process with iface=None) to create the plugin."""
    from .plugin import Sen2CorPlugin

    return Sen2CorPlugin(iface)
