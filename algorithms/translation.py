"""`tr()` with the class name as translation context, as pylupdate5 extracts it.

pylupdate5 files `self.tr("…")` under the name of the class whose body holds the call. A method
inherited from a base class runs with the subclass as `type(self)`, so the lookup walks the class
hierarchy until a context holds a translation (QGIS's own `QgisAlgorithm.tr` looks only at the
runtime class and misses strings of base classes).
"""
from qgis.PyQt.QtCore import QCoreApplication


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


class Translatable:
    """Mixin giving `self.tr(text)`; put it first among the bases of QObject subclasses."""

    def tr(self, text: str, *_args) -> str:  # noqa: D401 (Qt name)
        for cls in type(self).__mro__:
            if cls is object or cls is Translatable:
                continue
            translated = QCoreApplication.translate(cls.__name__, text)
            if translated != text:
                return translated
        return text
