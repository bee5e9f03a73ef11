#!/usr/bin/env python3
"""Build the installable QGIS plugin zip: `sen2cor_qgis-<version>.zip` with one top folder.

    python3 tools/package_plugin.py [--output-dir build] [--no-translations]

Contents: the plugin as git sees it (tracked files and new files that are not ignored), plus
the compiled translations (i18n/*.qm, built with lrelease first). Left out: tests, developer
tools, CI files, virtual environments, demo output, caches and build files -- what the plugin
does not need at run time. The result is checked against the rules of the official plugin
repository (one top folder that is a Python identifier, __init__.py, metadata.txt with the
required fields, LICENSE, no compiled Python, at most 25 MB). Prints the zip's path.
"""
from __future__ import annotations

import argparse
import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "sen2cor_qgis"
MAX_BYTES = 25 * 1024 * 1024
EXCLUDED_DIRS = {"tests", "tools", ".ci", "demo", "build", "dist", ".git", ".venv", ".venv-6s",
                 ".pytest_cache", "__pycache__", ".qgis-cfg", "__MACOSX"}
EXCLUDED_FILES = {"Makefile", "pyproject.toml", "requirements.txt", "requirements-dev.txt",
                  "constraints.txt", ".gitignore", ".gitattributes"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", "~")
REQUIRED_METADATA = ("name", "description", "version", "qgisMinimumVersion", "author", "email",
                     "about", "tracker", "repository")


def _git_files(root: Path) -> Optional[List[str]]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in out.stdout.decode().split("\0") if name]


def _walk(root: Path) -> List[str]:
    names = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith(".venv")]
        names += [str(Path(folder, f).relative_to(root).as_posix()) for f in files]
    return names


def wanted(name: str) -> bool:
    """Whether a repository-relative path belongs in the plugin zip."""
    parts = PurePosixPath(name).parts
    if not parts or parts[0] in EXCLUDED_DIRS or parts[0].startswith(".venv"):
        return False
    if any(part in ("__pycache__", ".git", "__MACOSX") for part in parts):
        return False
    if len(parts) == 1 and parts[0] in EXCLUDED_FILES:
        return False
    if name.startswith("core/atmcorr/lut/runs/"):  # the table builder's raw 6S runs (npz ships)
        return False
    return not name.endswith(EXCLUDED_SUFFIXES)


def plugin_files(root: Path = ROOT) -> List[str]:
    names = _git_files(root)
    if names is None:
        names = _walk(root)
    names += [str(p.relative_to(root).as_posix()) for p in (root / "i18n").glob("*.qm")]
    return sorted({n for n in names if wanted(n) and (root / n).is_file()})


def metadata(root: Path = ROOT) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(root / "metadata.txt", encoding="utf-8")
    return parser["general"]


def check(zip_path: Path) -> List[str]:
    """Problems the official plugin repository would refuse (empty list: none)."""
    problems = []
    if zip_path.stat().st_size > MAX_BYTES:
        problems.append(f"larger than 25 MB ({zip_path.stat().st_size} bytes)")
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        tops = {name.split("/", 1)[0] for name in names}
        if tops != {PACKAGE}:
            problems.append(f"top-level entries {sorted(tops)}, expected only {PACKAGE}/")
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            if f"{PACKAGE}/{required}" not in names:
                problems.append(f"{required} missing")
        for name in names:
            if name.endswith((".pyc", ".pyo")) or "__pycache__" in name or ".." in name or "\\" in name:
                problems.append(f"forbidden entry {name}")
        if f"{PACKAGE}/metadata.txt" in names:
            parser = configparser.ConfigParser(interpolation=None)
            parser.optionxform = str
            parser.read_string(archive.read(f"{PACKAGE}/metadata.txt").decode("utf-8"))
            general = parser["general"] if parser.has_section("general") else {}
            for key in REQUIRED_METADATA:
                if not str(general.get(key, "")).strip():
                    problems.append(f"metadata.txt: {key} missing")
    return problems


def build(output_dir: Path, root: Path = ROOT, translations: bool = True) -> Path:
    if translations:
        sys.path.insert(0, str(root / "tools"))
        try:
            import build_translations
        finally:
            sys.path.pop(0)
        build_translations.compile_all(root / "i18n")
    version = metadata(root)["version"].strip()
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{PACKAGE}-{version}.zip"
    files = plugin_files(root)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            archive.write(root / name, f"{PACKAGE}/{name}")
    problems = check(target)
    if problems:
        target.unlink()
        raise SystemExit("package_plugin: " + "; ".join(problems))
    return target


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--no-translations", action="store_true",
                        help="do not compile i18n/*.ts (then .qm files are shipped only if present)")
    args = parser.parse_args(argv)
    print(build(args.output_dir, translations=not args.no_translations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
