"""Read access to the files of one .SAFE product, whether a folder or inside a .zip.

A zip is read in place: Python's zipfile for the small XML files, GDAL's /vsizip/ for rasters and
GRIB. Archives are checked before anything is read: every member must stay inside the archive (no
absolute paths, no '..', no symbolic links) and the archive must hold exactly one *.SAFE product.
Paths taken from metadata are checked the same way, so a hostile MTD cannot point outside the
product. Inside the product, paths are '/'-separated and relative to the .SAFE folder.
"""
from __future__ import annotations

import os
import posixpath
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Set

from ..errors import ProductError

MAX_XML_BYTES = 64 * 1024 * 1024   # metadata files are < 1 MB; refuse zip-bomb sized members
_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_relative_path(path: str) -> bool:
    """True if a '/'- or '\\'-separated path is absolute or climbs out with '..'."""
    normal = path.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal):
        return True
    return any(part == ".." for part in normal.split("/"))


class SafeContainer:
    """Files of one .SAFE product; subclasses for a folder and for a zip archive."""

    is_zip = False

    def __init__(self, safe_name: str) -> None:
        self.safe_name = safe_name

    # -- to implement -------------------------------------------------------------------------
    def gdal_path(self, rel: str = "") -> str:
        """GDAL-openable path of a file or folder of the product ('' = the .SAFE folder)."""
        raise NotImplementedError

    def is_file(self, rel: str) -> bool:
        raise NotImplementedError

    def is_dir(self, rel: str) -> bool:
        raise NotImplementedError

    def listdir(self, rel: str) -> List[str]:
        """Sorted names in a folder of the product; [] if it does not exist."""
        raise NotImplementedError

    def _read(self, rel: str) -> bytes:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def check_rel(self, rel: str) -> str:
        """A product-relative path from metadata, refused if it leaves the product."""
        rel = rel.strip().replace("\\", "/")
        if unsafe_relative_path(rel):
            raise ProductError(f"metadata names a file outside the product: '{rel}'", self.gdal_path())
        return posixpath.normpath(rel) if rel else rel

    def read_bytes(self, rel: str) -> bytes:
        """Whole content of a (small, metadata) file; ProductError naming it when unreadable."""
        rel = self.check_rel(rel)
        if not self.is_file(rel):
            raise ProductError("file not found", self.gdal_path(rel))
        return self._read(rel)


class FolderContainer(SafeContainer):
    """A .SAFE folder on disk."""

    def __init__(self, root: Path) -> None:
        super().__init__(root.name)
        self.root = root

    def gdal_path(self, rel: str = "") -> str:
        return str(self.root / rel) if rel else str(self.root)

    def is_file(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return (self.root / rel).is_dir()

    def listdir(self, rel: str) -> List[str]:
        try:
            return sorted(os.listdir(self.root / rel))
        except OSError:
            return []

    def _read(self, rel: str) -> bytes:
        path = self.root / rel
        try:
            if path.stat().st_size > MAX_XML_BYTES:
                raise ProductError(f"file larger than {MAX_XML_BYTES // 2**20} MB, refused", path)
            return path.read_bytes()
        except OSError as exc:
            raise ProductError(f"cannot read file ({exc.strerror})", path) from None


class ZipContainer(SafeContainer):
    """A .SAFE folder inside a zip archive (members under `prefix`)."""

    is_zip = True

    def __init__(self, zip_path: Path, prefix: str, infos: Dict[str, zipfile.ZipInfo]) -> None:
        super().__init__(prefix.rstrip("/").rsplit("/", 1)[-1])
        self.zip_path = zip_path.absolute()
        self.prefix = prefix.rstrip("/") + "/"
        self._files = {name[len(self.prefix):]: info for name, info in infos.items()
                       if name.startswith(self.prefix) and not name.endswith("/")}
        self._dirs: Set[str] = {""}
        for name in infos:
            if not name.startswith(self.prefix):
                continue
            rel = name[len(self.prefix):]
            parts = rel.rstrip("/").split("/")
            parents = len(parts) if rel.endswith("/") else len(parts) - 1   # explicit dir entries
            for i in range(1, parents + 1):
                self._dirs.add("/".join(parts[:i]))

    def _archive(self) -> str:
        path = str(self.zip_path)
        # GDAL finds the archive boundary by the '.zip' extension; braces say it explicitly.
        return path if path.lower().endswith(".zip") else "{" + path + "}"

    def gdal_path(self, rel: str = "") -> str:
        inner = self.prefix + rel if rel else self.prefix.rstrip("/")
        return f"/vsizip/{self._archive()}/{inner}"

    def is_file(self, rel: str) -> bool:
        return rel in self._files

    def is_dir(self, rel: str) -> bool:
        return rel.rstrip("/") in self._dirs

    def listdir(self, rel: str) -> List[str]:
        base = rel.rstrip("/")
        base = base + "/" if base else ""
        names = {p[len(base):].split("/", 1)[0] for p in list(self._files) + list(self._dirs)
                 if p.startswith(base) and len(p) > len(base)}
        return sorted(names)

    def _read(self, rel: str) -> bytes:
        info = self._files[rel]
        if info.file_size > MAX_XML_BYTES:
            raise ProductError(f"file larger than {MAX_XML_BYTES // 2**20} MB, refused", self.gdal_path(rel))
        try:
            with zipfile.ZipFile(self.zip_path) as archive:
                return archive.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
            raise ProductError(f"cannot read archive member ({exc})", self.gdal_path(rel)) from None


def _zip_infos(zip_path: Path) -> Dict[str, zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise ProductError("not a valid zip archive", zip_path) from None
    except OSError as exc:
        raise ProductError(f"cannot read archive ({exc.strerror})", zip_path) from None
    for info in infos:
        if unsafe_relative_path(info.filename):
            raise ProductError(
                f"archive member '{info.filename}' escapes the archive (absolute path or '..'), refused", zip_path)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ProductError(f"archive member '{info.filename}' is a symbolic link, refused", zip_path)
    return {info.filename.replace("\\", "/"): info for info in infos}


def _safe_prefixes(names: List[str]) -> Set[str]:
    prefixes = set()
    for name in names:
        parts = name.split("/")
        for i, part in enumerate(parts):
            if part.upper().endswith(".SAFE") and (i < len(parts) - 1):
                prefixes.add("/".join(parts[: i + 1]))
                break
    return prefixes


def open_zip(zip_path: Path) -> ZipContainer:
    """Check an archive and return its one .SAFE product."""
    infos = _zip_infos(zip_path)
    prefixes = _safe_prefixes(list(infos))
    if not prefixes:
        raise ProductError("the archive holds no .SAFE product", zip_path)
    if len(prefixes) > 1:
        listed = ", ".join(sorted(p.rsplit("/", 1)[-1] for p in prefixes))
        raise ProductError(f"the archive holds {len(prefixes)} .SAFE products ({listed}), expected exactly one",
                           zip_path)
    return ZipContainer(zip_path, prefixes.pop(), infos)


def open_container(path: Path) -> Optional[SafeContainer]:
    """Container for a .SAFE folder or a .zip; None if `path` is neither (a file to inspect)."""
    if path.is_dir():
        return FolderContainer(path)
    if path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)):
        return open_zip(path)
    return None
