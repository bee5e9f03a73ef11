"""The plugin layout and the one-way dependency rule (core never imports QGIS or Qt)."""
import ast
import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("qgis", "PyQt5", "PyQt6", "PySide2", "PySide6", "sip")


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_never_imports_qgis_or_qt():
    offenders = []
    for path in sorted((REPO / "core").rglob("*.py")):
        for module in _imported_modules(path):
            if module.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def test_plugin_layout_present():
    for name in ("metadata.txt", "__init__.py", "plugin.py", "algorithms", "core", "ui", "i18n",
                 "resources.qrc", "tests", "tools", "README.md", "LICENSE", "Makefile", ".ci/run"):
        assert (REPO / name).exists(), name


def test_metadata_txt_has_required_fields():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "metadata.txt", encoding="utf-8")
    general = cfg["general"]
    for key in ("name", "description", "version", "qgisMinimumVersion", "author", "email", "about",
                "tracker", "repository", "icon"):
        assert general.get(key), key
    assert general["hasProcessingProvider"] == "yes"
    assert general["qgisMinimumVersion"] == "3.22"
    assert "plugin" not in general["name"].lower()
    assert (REPO / general["icon"]).is_file()


def test_engine_imports_without_qgis(monkeypatch):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('qgis', 'PyQt5'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import sen2cor_qgis.core.cli, sen2cor_qgis.core.product.model\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
