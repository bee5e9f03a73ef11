"""The plugin registers the `sen2cor` provider with QGIS, also headless for qgis_process."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings not installed")
pytestmark = pytest.mark.qgis


def test_provider_registers_through_init_processing(qgis_app):
    from sen2cor_qgis import classFactory

    plugin = classFactory(None)  # qgis_process passes no iface
    plugin.initProcessing()
    try:
        registry = qgis_core.QgsApplication.processingRegistry()
        provider = registry.providerById("sen2cor")
        assert provider is not None
        assert provider.name()
    finally:
        plugin.unload()
    assert qgis_core.QgsApplication.processingRegistry().providerById("sen2cor") is None


@pytest.mark.skipif(shutil.which("qgis_process.bin") is None, reason="qgis_process.bin not installed")
def test_qgis_process_lists_the_plugin(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "sen2cor_qgis").symlink_to(REPO, target_is_directory=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "cfg"),
               QGIS_PLUGINPATH=str(plugins))
    enable = subprocess.run(["qgis_process.bin", "plugins", "enable", "sen2cor_qgis"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert "sen2cor_qgis" in enable.stdout, enable.stdout + enable.stderr
    listing = subprocess.run(["qgis_process.bin", "plugins"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert "sen2cor_qgis" in listing.stdout
    assert "error starting plugin" not in listing.stdout + listing.stderr
