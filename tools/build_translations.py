#!/usr/bin/env python3
"""Translations of the QGIS plugin: extract strings into i18n/*.ts, compile them to .qm.

    python3 tools/build_translations.py             compile every i18n/sen2cor_qgis_<lang>.ts
    python3 tools/build_translations.py --update    first refresh the .ts files from the sources
    python3 tools/build_translations.py --update --lang fr    (also creates a new language)

Extraction uses `pylupdate5` (Debian package pyqt5-dev-tools) over the plugin's Python files:
strings in `self.tr("…")` are filed under their class name, as the plugin's `tr()` looks them up;
`QCoreApplication.translate("Context", "…")` under the given context. Compilation uses `lrelease`
(Debian package qttools5-dev-tools). The compiled .qm files are build products (git-ignored) and
go into the plugin zip; the .ts files are the sources.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
I18N = ROOT / "i18n"
PREFIX = "sen2cor_qgis_"
SOURCE_DIRS = ("algorithms", "ui")
SOURCE_FILES = ("__init__.py", "plugin.py")


class ToolMissing(RuntimeError):
    """pylupdate5 or lrelease is not installed."""


def _tool(names: Sequence[str], package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ToolMissing(f"{names[0]} not found: install the Debian package {package}")


def lrelease() -> str:
    return _tool(("lrelease", "lrelease-qt5"), "qttools5-dev-tools")


def pylupdate() -> str:
    return _tool(("pylupdate5",), "pyqt5-dev-tools")


def source_files(root: Path = ROOT) -> List[Path]:
    """The plugin's Python files holding translatable strings (never core/: no Qt there)."""
    files = [root / name for name in SOURCE_FILES if (root / name).is_file()]
    for folder in SOURCE_DIRS:
        files += sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)
    return files


def ts_files(i18n: Path = I18N) -> List[Path]:
    return sorted(i18n.glob(f"{PREFIX}*.ts"))


def update(languages: Optional[Sequence[str]] = None, root: Path = ROOT,
           i18n: Optional[Path] = None) -> List[Path]:
    """Refresh (or create) the .ts files from the sources; translations already made are kept,
    strings no longer in the sources are dropped."""
    i18n = i18n or root / "i18n"
    targets = [i18n / f"{PREFIX}{lang}.ts" for lang in languages] if languages else ts_files(i18n)
    if not targets:
        raise SystemExit("no .ts file yet: give --lang")
    files = [str(p.relative_to(root)) for p in source_files(root)]
    for target in targets:
        subprocess.run([pylupdate(), "-noobsolete", *files, "-ts", str(target.relative_to(root))],
                       cwd=root, check=True, capture_output=True, text=True)
    return targets


def compile_all(i18n: Path = I18N, out_dir: Optional[Path] = None) -> List[Path]:
    """Compile every .ts into a .qm beside it (or into `out_dir`); returns the .qm paths."""
    built = []
    for ts in ts_files(i18n):
        qm = (out_dir or ts.parent) / (ts.stem + ".qm")
        qm.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([lrelease(), "-silent", str(ts), "-qm", str(qm)],
                                capture_output=True, text=True)
        if result.returncode != 0 or not qm.is_file():
            raise RuntimeError(f"{ts}: lrelease failed: {result.stderr.strip() or result.stdout.strip()}")
        built.append(qm)
    return built


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="refresh the .ts files from the sources first")
    parser.add_argument("--lang", action="append", help="language code (with --update; repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.update:
            for ts in update(args.lang):
                print(f"updated {ts.relative_to(ROOT)}")
        for qm in compile_all():
            print(f"compiled {qm.relative_to(ROOT)}")
    except ToolMissing as exc:
        print(f"build_translations: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
