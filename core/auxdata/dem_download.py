"""Download of missing DEM tiles from DEM_Reference into the DEM folder (a shared cache).

One file, `fetch_tile`:

1. A per-tile lock file (`<DEM folder>/.locks/<tile>.lock`, `fcntl.flock`; `msvcrt.locking` on
   Windows) serialises processes and threads that want the same tile. Whoever gets the lock second
   finds the finished file and downloads nothing. The lock waits are bounded and cancellable.
2. Each candidate URL (`DemTile.remote_paths`) is streamed in chunks to a uniquely named
   temporary file in the DEM folder (`.<name>.<random>.tmp<ext>`, invisible to tile look-ups).
   `cancel.is_set()` is checked between chunks; `progress(fraction, message)` is called as bytes
   arrive. A socket timeout bounds every wait for data; `max_seconds` bounds a whole attempt (a
   server trickling bytes cannot hold a run forever).
3. Verification: the byte count must equal Content-Length when the server sent one; a zip must
   pass `testzip` and hold the tile's GeoTIFF (which is extracted, the zip dropped, as Sen2Cor
   does); a tar must list a `*_DEM.tif`; every raster must open in GDAL and read completely
   (`Checksum`), in a geographic CRS.
4. `os.replace` moves the verified file into place: readers see either no file or a complete one.
5. Failures are retried (`retries` extra attempts, exponential back-off `backoff * 2**n` capped
   at `max_backoff` seconds): time-outs, connection errors, HTTP 5xx/429, truncated or corrupt
   files. HTTP 404/410 on every candidate means the tile does not exist (ocean): it is appended to
   `sen2cor_qgis_missing_tiles.list` in the DEM folder and never requested again (delete the
   list to retry). Other HTTP 4xx fail at once (403 usually means a wrong URL or credentials).

Credentials in the URL (`http://user:password@host/...`, as in Sen2Cor's historic CGIAR
reference) are sent as HTTP basic authentication and never logged.
"""
from __future__ import annotations

import base64
import http.client
import logging
import os
import socket
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple

from osgeo import gdal

from ..errors import CancelledError, DemError
from .dem_sources import MISSING_LIST, DemTile, FolderIndex
from .geo import GdalCallError, gdal_call, honour_pixel_is_point

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]
USER_AGENT = "sen2cor_qgis-dem-downloader"
TEMP_MARK = ".tmp"
STALE_TEMP_SECONDS = 6 * 3600


@dataclass(frozen=True)
class DownloadSettings:
    """Network behaviour of DEM downloads (defaults suit real servers; tests shorten them)."""

    timeout: float = 30.0          # seconds without data before an attempt fails
    retries: int = 3               # extra attempts after the first one
    backoff: float = 2.0           # first back-off (seconds); doubles each retry
    max_backoff: float = 60.0
    max_seconds: float = 1800.0    # whole attempt (one file), however the bytes trickle
    chunk_size: int = 1 << 16
    lock_wait: float = 3600.0      # longest wait for another process downloading the same tile


class TileMissing(Exception):
    """The server says the tile does not exist (HTTP 404/410 on every candidate)."""


class _Retryable(Exception):
    """A failure worth another attempt (time-out, connection, 5xx, truncated or corrupt file)."""


class _Fatal(Exception):
    """A failure another attempt will not fix (HTTP 4xx other than 404/410/429)."""


def redact(url: str) -> str:
    """URL without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, f"{parts.username or ''}:***@{host}", parts.path,
                                    parts.query, parts.fragment))


def join_url(reference: str, relative: str) -> str:
    ref = reference.strip()
    if not ref.endswith("/"):
        ref += "/"
    return ref + "/".join(urllib.parse.quote(p) for p in relative.split("/"))


def _request(url: str) -> urllib.request.Request:
    parts = urllib.parse.urlsplit(url)
    headers = {"User-Agent": USER_AGENT}
    if parts.username is not None:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        url = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        token = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    return urllib.request.Request(url, headers=headers)


def _check_cancel(cancel: Any) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("DEM download cancelled")


def _sleep(seconds: float, cancel: Any) -> None:
    end = time.monotonic() + seconds
    while True:
        _check_cancel(cancel)
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.1))


# -- locking -----------------------------------------------------------------------------------------
@contextmanager
def file_lock(path: Path, cancel: Any = None, wait: float = 3600.0) -> Iterator[None]:
    """Exclusive lock on `path` (created if needed), between processes and between threads
    (each call opens its own descriptor). Polls so that `cancel` and `wait` are honoured."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + wait
        delay = 0.02
        while True:
            if _try_lock(fd):
                break
            _check_cancel(cancel)
            if time.monotonic() > deadline:
                raise DemError(f"another process has held the lock for more than {wait:.0f} s", path)
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


try:                                            # POSIX
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
except ImportError:                             # Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)   # type: ignore[attr-defined]
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)       # type: ignore[attr-defined]


# -- temporary files ----------------------------------------------------------------------------------
def temp_path(folder: Path, final_name: str) -> Path:
    """Unique hidden temporary name next to the final file, keeping its extension (GDAL's
    /vsizip/ and /vsitar/ go by extension)."""
    ext = Path(final_name).suffix
    return folder / f".{final_name}.{uuid.uuid4().hex[:12]}{TEMP_MARK}{ext}"


def clean_stale_temporaries(folder: Path, max_age: float = STALE_TEMP_SECONDS) -> int:
    """Remove temporary files left by killed runs (older than `max_age` seconds)."""
    removed = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    now = time.time()
    for path in entries:
        if path.name.startswith(".") and TEMP_MARK in path.name and path.is_file():
            try:
                if now - path.stat().st_mtime > max_age:
                    path.unlink()
                    removed += 1
            except OSError:
                pass
    return removed


def _unlink(path: Optional[Path]) -> None:
    if path is not None:
        try:
            path.unlink()
        except OSError:
            pass


# -- verification ------------------------------------------------------------------------------------
def verify_raster(gdal_path: str) -> None:
    """Raise _Retryable unless GDAL opens the raster, reads every pixel and finds a geographic CRS."""
    try:
        with honour_pixel_is_point():
            ds = gdal_call("cannot open", gdal.OpenEx, gdal_path, gdal.OF_RASTER | gdal.OF_READONLY)
            if ds.RasterCount < 1 or ds.RasterXSize < 2 or ds.RasterYSize < 2:
                raise _Retryable("not a DEM raster (no band or too small)")
            band = ds.GetRasterBand(1)
            gdal.ErrorReset()
            gdal_call("cannot read pixels", band.Checksum)
            if gdal.GetLastErrorType() >= gdal.CE_Failure:
                raise _Retryable(f"cannot read pixels: {gdal.GetLastErrorMsg()}")
            srs = ds.GetSpatialRef()
            if srs is None or not srs.IsGeographic():
                raise _Retryable("has no geographic (longitude/latitude) coordinate system")
    except GdalCallError as exc:
        raise _Retryable(str(exc)) from None


def _zip_member(zf: zipfile.ZipFile, tile: DemTile) -> str:
    wanted = tile.name.lower() + ".tif"
    names = zf.namelist()
    for name in names:
        if Path(name).name.lower() == wanted:
            return name
    tifs = [n for n in names if n.lower().endswith((".tif", ".tiff"))]
    if len(tifs) == 1:
        return tifs[0]
    raise _Retryable(f"zip holds no {tile.name}.tif")


def tar_dem_member(path: Path) -> str:
    """Name of the `*_DEM.tif` member of a Copernicus tar (raises _Retryable)."""
    try:
        with tarfile.open(path) as tf:
            for member in tf:
                if member.isfile() and member.name.lower().endswith("_dem.tif"):
                    return member.name
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _Retryable(f"corrupt tar ({exc})") from None
    raise _Retryable("tar holds no *_DEM.tif")


def zip_dem_member(path: Path, tile: DemTile) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            return _zip_member(zf, tile)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _Retryable(f"corrupt zip ({exc})") from None


def _finish(tmp: Path, remote: str, tile: DemTile, folder: Path) -> Path:
    """Verify a downloaded temporary file and move the tile into place; returns the tile path."""
    ext = Path(remote).suffix.lower()
    if ext == ".zip":
        try:
            with zipfile.ZipFile(tmp) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise _Retryable(f"corrupt zip member {bad}")
                member = _zip_member(zf, tile)
                final = folder / tile.file_name
                out = temp_path(folder, final.name)
                try:
                    with zf.open(member) as src, open(out, "wb") as dst:
                        while True:
                            block = src.read(1 << 20)
                            if not block:
                                break
                            dst.write(block)
                    verify_raster(str(out))
                    os.replace(out, final)
                finally:
                    _unlink(out)
                return final
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise _Retryable(f"corrupt zip ({exc})") from None
    if ext == ".tar":
        member = tar_dem_member(tmp)
        verify_raster(f"/vsitar/{tmp}/{member}")
        final = folder / Path(remote).name
    else:
        verify_raster(str(tmp))
        final = folder / tile.file_name         # flat in the folder, whatever the server's layout
    os.replace(tmp, final)
    return final


# -- one attempt -------------------------------------------------------------------------------------
def _stream(url: str, tmp: Path, settings: DownloadSettings, cancel: Any,
            progress: Optional[ProgressCallback], label: str) -> int:
    """GET `url` into `tmp`; returns the byte count. Raises TileMissing, _Retryable or _Fatal."""
    started = time.monotonic()
    try:
        response = urllib.request.urlopen(_request(url), timeout=settings.timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (404, 410):
            raise TileMissing(f"HTTP {exc.code}") from None
        if exc.code == 429 or exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        raise _Fatal(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):            # file:// reference
            raise TileMissing("no such file") from None
        raise _Retryable(f"cannot connect ({exc.reason})") from None
    except (socket.timeout, TimeoutError) as exc:
        raise _Retryable(f"no answer within {settings.timeout:g} s ({exc})") from None
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise _Retryable(f"connection failed ({exc})") from None
    with response:
        length_text = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        expected = int(length_text) if length_text and length_text.isdigit() else None
        received = 0
        last_report = 0.0
        read = getattr(response, "read1", None) or response.read     # read1: whatever has arrived
        try:
            with open(tmp, "wb") as out:
                while True:
                    _check_cancel(cancel)
                    if time.monotonic() - started > settings.max_seconds:
                        raise _Retryable(f"download took longer than {settings.max_seconds:g} s")
                    chunk = read(settings.chunk_size)
                    if not chunk:
                        break
                    out.write(chunk)
                    received += len(chunk)
                    now = time.monotonic()
                    if progress is not None and (now - last_report > 0.5 or (expected and received >= expected)):
                        last_report = now
                        fraction = received / expected if expected else 0.0
                        progress(min(fraction, 1.0), f"downloading {label}: {received / 1e6:.1f} MB")
        except (socket.timeout, TimeoutError):
            raise _Retryable(f"stalled: no data for {settings.timeout:g} s after {received} bytes") from None
        except (ConnectionError, http.client.HTTPException) as exc:
            raise _Retryable(f"connection broken after {received} bytes ({exc})") from None
    if expected is not None and received != expected:
        raise _Retryable(f"truncated: {received} of {expected} bytes")
    if received == 0:
        raise _Retryable("empty response")
    return received


@dataclass(frozen=True)
class FetchResult:
    """Outcome for one tile: `path` of the local file, or `missing` (server has no such tile)."""

    tile: DemTile
    path: Optional[Path]
    missing: bool = False
    downloaded: bool = False


def record_missing(folder: Path, tile: DemTile) -> None:
    """Append a tile to the folder's missing-tiles list (under a lock; one name per line)."""
    lst = folder / MISSING_LIST
    with file_lock(folder / ".locks" / (MISSING_LIST + ".lock"), wait=60.0):
        names = set()
        if lst.exists():
            names = {line.strip() for line in lst.read_text(encoding="utf-8").splitlines() if line.strip()}
        if tile.name not in names:
            tmp = temp_path(folder, MISSING_LIST)
            try:
                tmp.write_text("".join(f"{n}\n" for n in sorted(names | {tile.name})), encoding="utf-8")
                os.replace(tmp, lst)
            finally:
                _unlink(tmp)


def fetch_tile(tile: DemTile, folder: Path, reference: str, *,
               settings: DownloadSettings = DownloadSettings(), cancel: Any = None,
               progress: Optional[ProgressCallback] = None,
               logger: Optional[logging.Logger] = None) -> FetchResult:
    """Make `tile` available in `folder` (download it from `reference` unless present).

    Returns FetchResult(path) or FetchResult(missing=True); raises DemError (one line: tile, URL,
    last problem) when every attempt failed, CancelledError on cancel.
    """
    lg = logger or log
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".locks" / (tile.name + ".lock")
    with file_lock(lock, cancel=cancel, wait=settings.lock_wait):
        index = FolderIndex.scan(folder)
        existing = index.find(tile)
        if existing is not None:
            return FetchResult(tile, existing)
        if index.is_missing(tile):
            return FetchResult(tile, None, missing=True)
        problems: List[str] = []
        for attempt in range(settings.retries + 1):
            if attempt:
                delay = min(settings.max_backoff, settings.backoff * 2 ** (attempt - 1))
                lg.info("DEM tile %s: retry %d of %d in %.1f s (%s)", tile.name, attempt,
                        settings.retries, delay, problems[-1])
                _sleep(delay, cancel)
            missing_count = 0
            remotes = tile.remote_paths()
            for remote in remotes:
                url = join_url(reference, remote)
                tmp = temp_path(folder, Path(remote).name)
                try:
                    size = _stream(url, tmp, settings, cancel, progress, tile.name)
                    path = _finish(tmp, remote, tile, folder)
                    lg.info("DEM tile %s downloaded from %s (%.1f MB)", tile.name, redact(url), size / 1e6)
                    return FetchResult(tile, path, downloaded=True)
                except TileMissing:
                    missing_count += 1
                    continue
                except _Fatal as exc:
                    raise DemError(f"cannot download DEM tile {tile.name}: {exc}", redact(url)) from None
                except _Retryable as exc:
                    problems.append(f"{redact(url)}: {exc}")
                    break
                finally:
                    _unlink(tmp)
            if missing_count == len(remotes):
                lg.info("DEM tile %s does not exist on %s (HTTP 404): treated as sea level (0 m)",
                        tile.name, redact(reference))
                record_missing(folder, tile)
                return FetchResult(tile, None, missing=True)
        raise DemError(f"cannot download DEM tile {tile.name} after {settings.retries + 1} attempts: "
                       f"{problems[-1] if problems else 'unknown problem'}")


def fetch_tiles(tiles: List[DemTile], folder: Path, reference: str, *,
                settings: DownloadSettings = DownloadSettings(), cancel: Any = None,
                progress: Optional[ProgressCallback] = None,
                logger: Optional[logging.Logger] = None) -> List[FetchResult]:
    """`fetch_tile` for several tiles, one after the other, with overall progress."""
    results = []
    n = max(1, len(tiles))
    clean_stale_temporaries(Path(folder))
    for i, tile in enumerate(tiles):
        def sub(fraction: float, message: str, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / n, message)
        results.append(fetch_tile(tile, folder, reference, settings=settings, cancel=cancel,
                                  progress=sub, logger=logger))
    return results


def split_found(results: List[FetchResult]) -> Tuple[List[FetchResult], List[FetchResult]]:
    return [r for r in results if r.path is not None], [r for r in results if r.missing]
