"""The L2A engine: pure Python, numpy, SciPy and GDAL. Never imports qgis or PyQt."""
from .version import PLUGIN_VERSION, SEN2COR_VERSION

__all__ = ["PLUGIN_VERSION", "SEN2COR_VERSION"]
