"""Translations: the German .ts is complete and current, builds to .qm, and the plugin uses it."""
from __future__ import annotations

import ast
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings not installed")
pytestmark = pytest.mark.qgis

REPO = Path(__file__).resolve().parents[1]
TS = REPO / "i18n" / "sen2cor_qgis_de.ts"
sys.path.insert(0, str(REPO / "tools"))
import build_translations  # noqa: E402

sys.path.pop(0)


def _messages(path: Path):
    root = ET.parse(path).getroot()
    return {(context.findtext("name"), message.findtext("source")): message.find("translation")
            for context in root.iter("context") for message in context.iter("message")}


def test_german_translation_is_complete():
    messages = _messages(TS)
    assert len(messages) > 100
    unfinished = [source for (_ctx, source), tr in messages.items()
                  if tr.get("type") in ("unfinished", "obsolete", "vanished") or not (tr.text or "").strip()]
    assert unfinished == []
    for (_ctx, source), tr in messages.items():       # placeholders survive translation
        for placeholder in ("{0}", "{1}", "{path}", "{help}", "{default}", "{allowed}", "{file}"):
            assert (placeholder in source) == (placeholder in tr.text), (source, tr.text)


def test_translation_source_is_current(tmp_path):
    """Every tr() string of the plugin is in the .ts (pylupdate5 run on the sources)."""
    try:
        build_translations.pylupdate()
    except build_translations.ToolMissing as exc:
        pytest.skip(str(exc))
    copy = tmp_path / "repo"
    (copy / "i18n").mkdir(parents=True)
    for name in ("plugin.py", "__init__.py"):
        shutil.copy(REPO / name, copy / name)
    for name in ("algorithms", "ui"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    fresh = build_translations.update(["de"], root=copy)[0]
    assert set(_messages(fresh)) == set(_messages(TS))


def test_tr_calls_use_literal_strings():
    """pylupdate5 only extracts literals: tr(variable) would never be translated."""
    offenders = []
    for path in build_translations.source_files(REPO):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "tr":
                if not node.args or not isinstance(node.args[0], ast.Constant):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert [o for o in offenders if not o.startswith("translation.py")] == []


@pytest.fixture
def german(tmp_path, monkeypatch, qgis_app):
    try:
        built = build_translations.compile_all(out_dir=tmp_path)
    except build_translations.ToolMissing as exc:
        pytest.skip(str(exc))
    assert [p.name for p in built] == ["sen2cor_qgis_de.qm"]
    import sen2cor_qgis.plugin as plugin_module

    monkeypatch.setattr(plugin_module, "I18N_DIR", tmp_path)
    translator = plugin_module.load_translator("de_DE")
    assert translator is not None
    yield plugin_module
    from qgis.PyQt.QtCore import QCoreApplication

    QCoreApplication.removeTranslator(translator)


def test_plugin_loads_the_translation_for_the_qgis_locale(german, monkeypatch):
    from sen2cor_qgis.algorithms.gipp_parameters import GippParameters, select_parameters
    from sen2cor_qgis.algorithms.l2a_process import L2AProcessAlgorithm
    from sen2cor_qgis.algorithms.provider import Sen2CorProvider

    alg = L2AProcessAlgorithm()
    assert alg.displayName() == "L2A-Prozessierung (Sen2Cor)"
    assert alg.group() == "Sentinel-2 Level-2A"
    assert alg.output_labels()["SCL"] == "Szenenklassifikation (SCL)"   # base-class context
    assert GippParameters(select_parameters()).labels()["aerosol_type"] == "Aerosoltyp"
    assert Sen2CorProvider().longName().startswith("Sentinel-2-Level-2A-Prozessor")
    # the locale QGIS reports decides which file is loaded
    monkeypatch.setattr(german.QgsApplication, "locale", staticmethod(lambda: "de"))
    translator = german.load_translator()
    assert translator is not None
    german.QCoreApplication.removeTranslator(translator)
    monkeypatch.setattr(german.QgsApplication, "locale", staticmethod(lambda: "xx"))
    assert german.load_translator() is None
