"""qgis_process with the plugin enabled in an isolated profile, and the packaged plugin zip."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QGIS_PROCESS = shutil.which("qgis_process.bin")
pytestmark = [pytest.mark.qgis,
              pytest.mark.skipif(QGIS_PROCESS is None, reason="qgis_process.bin not installed")]


@pytest.fixture(scope="module")
def l1c(tmp_path_factory):
    root = tmp_path_factory.mktemp("l1c")
    try:
        from sen2cor_qgis.tools.sample_product import generate_product
    except ImportError:
        from tests.test_reader_support import build_safe
        return build_safe(root)
    return generate_product(root, size="tiny")


def _profile(tmp_path: Path, plugin_dir: Path) -> dict:
    """Environment of an isolated QGIS profile whose plugin path holds `plugin_dir`."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "cfg"),
               QGIS_PLUGINPATH=str(plugin_dir.parent), SEN2COR_HOME=str(tmp_path / "sen2cor_home"))
    env.pop("PYTHONPATH", None)    # qgis_process uses the system interpreter and its own paths
    enable = _qgis_process(env, "plugins", "enable", "sen2cor_qgis")
    assert "sen2cor_qgis" in enable.stdout, enable.stdout + enable.stderr
    return env


def _qgis_process(env, *args, timeout=180):
    return subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _json(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{"):])


@pytest.fixture(scope="module")
def linked_profile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qgis_profile")
    plugins = tmp / "plugins"
    plugins.mkdir()
    (plugins / "sen2cor_qgis").symlink_to(REPO, target_is_directory=True)
    return tmp, _profile(tmp, plugins / "sen2cor_qgis")


def test_qgis_process_lists_the_algorithms(linked_profile):
    _tmp, env = linked_profile
    listing = _qgis_process(env, "list")
    for alg_id in ("sen2cor:l2a_process", "sen2cor:scene_classification",
                   "sen2cor:l2a_process_roi", "sen2cor:create_product_tree"):
        assert alg_id in listing.stdout, listing.stdout[-2000:] + listing.stderr[-2000:]
    assert "error starting plugin" not in listing.stdout + listing.stderr
    help_text = _qgis_process(env, "help", "sen2cor:l2a_process").stdout
    assert "Aerosol_Type" in help_text and "T1_B02" in help_text


def test_qgis_process_json_run_of_the_product_tree(linked_profile, l1c):
    tmp, env = linked_profile
    out = tmp / "out"
    run = _qgis_process(env, "--json", "run", "sen2cor:create_product_tree", "--",
                        f"INPUT={l1c}", f"OUTPUT_DIR={out}", "OUTPUT_FORMAT=TIF",
                        "Product_DOI=https://doi.org/10.5270/test")
    assert run.returncode == 0, run.stderr[-3000:]
    report = _json(run.stdout)
    product = Path(report["results"]["OUTPUT"])
    assert product.parent == out and product.name.startswith("S2B_MSIL2A_")
    assert (product / "MTD_MSIL2A.xml").is_file()
    assert "https://doi.org/10.5270/test" in (product / "MTD_MSIL2A.xml").read_text()
    assert report["results"]["OUTPUT_DIR"] == str(out)
    assert report["algorithm_details"]["id"] == "sen2cor:create_product_tree"
    assert report["inputs"]["INPUT"] == str(l1c)
    assert any("creating the Level-2A product tree" in line for line in report["log"]["info"])
    assert not (tmp / "sen2cor_home").exists() or (tmp / "sen2cor_home" / "cfg" / "L2A_GIPP.xml").is_file()


def test_qgis_process_reports_bad_input_with_the_message(linked_profile, tmp_path):
    _tmp, env = linked_profile
    missing = tmp_path / "S2B_MSIL1C_missing.SAFE"
    run = _qgis_process(env, "--json", "run", "sen2cor:create_product_tree", "--", f"INPUT={missing}")
    assert run.returncode == 1
    assert f"{missing}: Level-1C product not found" in run.stderr + run.stdout


def test_plugin_zip_is_complete_and_installs(tmp_path):
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import build_translations
        import package_plugin
    finally:
        sys.path.pop(0)
    try:
        build_translations.lrelease()
        translations = True
    except build_translations.ToolMissing:
        translations = False
    zip_path = package_plugin.build(tmp_path / "dist", translations=translations)
    assert package_plugin.check(zip_path) == []
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    prefix = "sen2cor_qgis/"
    for required in ("__init__.py", "plugin.py", "metadata.txt", "LICENSE", "algorithms/base.py",
                     "algorithms/models/l2a_ndvi.model3", "ui/styles/scl.qml", "ui/icons/icon.svg",
                     "core/pipeline.py", "core/config/defaults/L2A_GIPP.xml", "i18n/sen2cor_qgis_de.ts"):
        assert prefix + required in names, required
    if translations:
        assert prefix + "i18n/sen2cor_qgis_de.qm" in names
    for name in names:
        assert name.startswith(prefix)
        rest = name[len(prefix):]
        assert not rest.startswith(("tests/", "tools/", ".venv", "demo/", ".git", "build/", ".ci/"))
        assert "__pycache__" not in name and not name.endswith(".pyc")
    # installed from the zip into a fresh profile, the provider loads
    plugins = tmp_path / "installed"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(plugins)
    env = _profile(tmp_path, plugins / "sen2cor_qgis")
    listing = _qgis_process(env, "list")
    assert "sen2cor:l2a_process" in listing.stdout, listing.stderr[-2000:]
