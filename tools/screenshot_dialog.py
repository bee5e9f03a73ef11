"""Render the L2A processing dialog offscreen and save it as a PNG (for the README).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=/usr/share/qgis/python/plugins \
        .venv/bin/python tools/screenshot_dialog.py docs/l2a_dialog.png [algorithm_id]

Uses the plugin from this checkout through a temporary plugin folder, so the picture always shows
the parameters generated from the current configuration declaration.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else REPO / "docs" / "l2a_dialog.png"
    algorithm_id = argv[2] if len(argv) > 2 else "sen2cor:l2a_process"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="sen2cor-shot-"))
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = str(work / "profile")
    os.environ.setdefault("SEN2COR_HOME", str(work / "sen2cor_home"))

    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    import importlib

    plugins = work / "plugins"
    plugins.mkdir()
    (plugins / "sen2cor_qgis").symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(plugins))
    plugin = importlib.import_module("sen2cor_qgis").classFactory(None)
    plugin.initProcessing()

    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.PyQt.QtCore import QSize

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
    if algorithm is None:
        print(f"unknown algorithm {algorithm_id}", file=sys.stderr)
        return 1
    dialog = AlgorithmDialog(algorithm)
    dialog.resize(QSize(900, 760))
    dialog.show()
    for _ in range(20):
        app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = dialog.grab().save(str(out), "PNG")
    dialog.close()
    plugin.unload()
    print(out if ok else f"could not save {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
