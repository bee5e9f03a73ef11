"""Reading and copying L1C files that may live in a folder or inside a zip (/vsizip/ paths).

The L1C reader hands out GDAL-openable paths; plain paths are copied with the OS, GDAL virtual
paths (/vsizip/, /vsicurl/, ...) through GDAL's VSI layer, streaming, so that large masks or a
20 MB datastrip file never need to sit in memory.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional, Union

from osgeo import gdal

from ..errors import ProductError

CHUNK = 4 * 1024 * 1024


def is_vsi(path: str) -> bool:
    return str(path).startswith("/vsi")


def join(folder: str, *names: str) -> str:
    """Join a GDAL path and names with '/', valid for plain and /vsi paths alike."""
    return "/".join([str(folder).rstrip("/")] + [n.strip("/") for n in names])


def basename(path: str) -> str:
    return str(path).rstrip("/").rsplit("/", 1)[-1]


@contextmanager
def _quiet_gdal() -> Iterator[None]:
    """Silence GDAL's own error printing; failures are reported as ProductError by the caller."""
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        yield
    finally:
        gdal.PopErrorHandler()


def exists(path: str) -> bool:
    if not is_vsi(path):
        return os.path.exists(path)
    with _quiet_gdal():
        try:
            return gdal.VSIStatL(str(path)) is not None
        except RuntimeError:
            return False


def list_dir(folder: str) -> List[str]:
    """Names in a folder (plain or /vsi), sorted; [] when it does not exist."""
    if not is_vsi(folder):
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    with _quiet_gdal():
        try:
            names = gdal.ReadDir(str(folder)) or []
        except RuntimeError:
            names = []
    return sorted(n for n in names if n not in (".", ".."))


def is_file(path: str) -> bool:
    if not is_vsi(path):
        return os.path.isfile(path)
    with _quiet_gdal():
        try:
            stat = gdal.VSIStatL(str(path))
        except RuntimeError:
            stat = None
    return stat is not None and not stat.IsDirectory()


def read_bytes(path: str) -> bytes:
    """Whole content of a (small) file; ProductError naming the file when unreadable."""
    if not is_vsi(path):
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ProductError(f"cannot read file ({exc.strerror})", path) from None
    chunks = []
    with _open_vsi(path) as handle:
        while True:
            data = gdal.VSIFReadL(1, CHUNK, handle)
            if not data:
                break
            chunks.append(bytes(data))
    return b"".join(chunks)


def copy_file(source: str, target: Union[str, Path]) -> Path:
    """Copy one file to a local path, streaming; returns the target."""
    target = Path(target)
    if not is_vsi(source):
        try:
            shutil.copyfile(source, target)
        except OSError as exc:
            raise ProductError(f"cannot copy file to {target} ({exc.strerror})", source) from None
        return target
    with _open_vsi(source) as handle, open(target, "wb") as out:
        while True:
            data = gdal.VSIFReadL(1, CHUNK, handle)
            if not data:
                break
            out.write(data)
    return target


@contextmanager
def _open_vsi(path: str) -> Iterator[object]:
    with _quiet_gdal():
        try:
            handle: Optional[object] = gdal.VSIFOpenL(str(path), "rb")
        except RuntimeError:
            handle = None
    if handle is None:
        raise ProductError("cannot open file (missing or unreadable)", path)
    try:
        yield handle
    finally:
        gdal.VSIFCloseL(handle)
