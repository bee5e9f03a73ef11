"""Work databases: HDF5 files (PyTables) that hold the bands of one product and resolution on
disk while a run works through them, so memory stays bounded by a few strips instead of a full
tile per band (reference §1.1: Sen2Cor keeps "all bands of one resolution" in `*_imgdb.h5` /
`*_resdb.h5` databases and deletes them at the end).

    WorkDatabase          one HDF5 file under a unique temporary name; chunked 2-D arrays
                          (uint8 / uint16 / int16 / uint32 / float32), written and read in strips;
                          removed on close, on an exception and on cancel unless `keep` (--debug)
    DatabaseBandSource    DN bands in a WorkDatabase served as TOA reflectance strips through the
                          classification's BandSource interface (an ArraySource whose `arrays`
                          read from disk)
    resolve_work_folders  --work_dir / --img_database_dir / --res_database_dir with Sen2Cor's
                          defaults, created when missing

Compression (`Calibration/Database_Compression_Level`, reference §2.1: "zlib level of the HDF5
work databases", 0-9, default 0): level 0 stores chunks uncompressed (no filter at all, the
fastest); levels 1-9 are the zlib level of HDF5's deflate filter, with PyTables' default byte
shuffle in front (it groups the high and low bytes of uint16 DN, which is what makes them
compress). Another PyTables library (e.g. 'blosc:lz4') can be chosen with `complib`; the GIPP
value is then that library's level.

Chunks are row strips over the full width (`DEFAULT_CHUNK_ROWS` rows): the classification and
the correction read full-width strips, so one strip read touches few chunks and decompresses
each once. tools/bench_workdb.py (a real 60 m band mirrored to 5490 x 5490 uint16, 60.3 MB)
measured zlib level 1 at 24.9 MB with 128-row strips against 35.4 MB with 256 x 256 tiles, at
similar speeds; level 9 gains another 9 % for a write 15 times slower (about 2 MB/s), which is
why Sen2Cor's default 0 (uncompressed, disk-speed) stays the default here.

HDF5 is not thread-safe: every access to the file goes through one lock per database (the
correction reads bands from a thread pool); the DN -> reflectance conversion runs outside it.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import weakref
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..sceneclass.bands import ArraySource, canonical_band

log = logging.getLogger("sen2cor_qgis")

PathLike = Union[str, "os.PathLike[str]"]

DTYPES: Tuple[np.dtype, ...] = tuple(np.dtype(t) for t in
                                     ("uint8", "uint16", "int16", "uint32", "float32"))
DEFAULT_CHUNK_ROWS = 128        # = the correction's block rows; divides the classification's 512
DEFAULT_COMPLIB = "zlib"        # Sen2Cor's Database_Compression_Level is a zlib level
# HDF5's chunk cache is per dataset (one per band): 6 MB holds two full-width 10 m uint16 chunks
# of 128 rows, what a strip read crosses; 32 MB per band cost ~380 MB for the 12 bands at 20 m.
CHUNK_CACHE_BYTES = 6 * 2 ** 20
# Uncompressed (Database_Compression_Level 0, the default) a chunk costs nothing to read again:
# chunks larger than the cache go straight between the file (page cache) and the caller's buffer,
# and the caches of the 16 bands (up to 96 MB) would only add to the run's memory peak.
UNCOMPRESSED_CHUNK_CACHE_BYTES = 2 ** 20
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _tables():
    """PyTables, imported on first use: only runs that use a database need it installed."""
    try:
        import tables
    except ImportError as exc:    # pragma: no cover - Debian's python3-tables is a dependency
        raise ImportError("the work databases need PyTables (Debian: python3-tables)") from exc
    return tables


def filters_for(level: int, complib: str = DEFAULT_COMPLIB):
    """PyTables filters for a Database_Compression_Level: None (no filter) at 0, else `complib`
    at that level with byte shuffle."""
    level = int(level)
    if not 0 <= level <= 9:
        raise ValueError(f"Database_Compression_Level must be 0-9, got {level}")
    if level == 0:
        return None
    return _tables().Filters(complevel=level, complib=complib, shuffle=True)


def _close_and_remove(h5file, path: str, keep: bool) -> None:
    """Close the HDF5 file and delete it (shared by close() and the garbage-collection
    finalizer, so a database that is never closed still leaves nothing behind)."""
    try:
        if h5file.isopen:
            h5file.close()
    finally:
        if not keep:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


# One lock for every database: Debian's HDF5 is not built thread-safe, so (as PyTables' threading
# guide advises) no two threads may be inside the library at once, whichever file they use.
_HDF5_LOCK = threading.RLock()


class WorkDatabase:
    """One HDF5 work database (one product and resolution) in `folder`.

    The file is created under a unique name `<stem>_<random>.h5`, so parallel runs sharing a
    work folder never collide. Use it as a context manager: leaving the block closes it and
    deletes the file, also when the block raises (errors, CancelledError); `keep=True` (--debug)
    leaves the file for inspection and logs its path.
    """

    def __init__(self, folder: PathLike, stem: str = "sen2cor_db", *, compression_level: int = 0,
                 complib: str = DEFAULT_COMPLIB, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 chunk_cols: Optional[int] = None, keep: bool = False) -> None:
        tables = _tables()
        self.filters = filters_for(compression_level, complib)
        self.compression_level = int(compression_level)
        if int(chunk_rows) < 1 or (chunk_cols is not None and int(chunk_cols) < 1):
            raise ValueError("chunk sizes must be positive")
        self.chunk_rows = int(chunk_rows)
        self.chunk_cols = None if chunk_cols is None else int(chunk_cols)
        self.keep = bool(keep)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=f"{stem}_", suffix=".h5", dir=folder)
        os.close(fd)
        self.path = Path(path)
        self._lock = _HDF5_LOCK
        try:
            cache = CHUNK_CACHE_BYTES if self.compression_level > 0 else UNCOMPRESSED_CHUNK_CACHE_BYTES
            self._h5 = tables.open_file(path, mode="w", title=stem, chunk_cache_size=cache)
        except BaseException:
            os.unlink(path)
            raise
        self._finalizer = weakref.finalize(self, _close_and_remove, self._h5, path, self.keep)

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Close the file and delete it unless `keep` (idempotent)."""
        if self._finalizer.detach() is None:
            return
        with self._lock:
            _close_and_remove(self._h5, str(self.path), self.keep)
        if self.keep:
            log.debug("work database kept: %s", self.path)

    def __enter__(self) -> "WorkDatabase":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def flush(self) -> None:
        with self._lock:
            self._h5.flush()

    def size_bytes(self) -> int:
        """Size of the file on disk now (after a flush)."""
        self.flush()
        return self.path.stat().st_size

    # -- arrays -------------------------------------------------------------------------------
    @property
    def names(self) -> List[str]:
        with self._lock:
            self._check_open()
            return sorted(node._v_name for node in self._h5.root._f_iter_nodes())

    def __contains__(self, name: str) -> bool:
        with self._lock:
            self._check_open()
            return f"/{name}" in self._h5

    def _node(self, name: str):
        self._check_open()
        try:
            return self._h5.get_node("/", name)
        except Exception as exc:       # tables.NoSuchNodeError
            raise KeyError(f"no array {name!r} in the work database {self.path.name}") from exc

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"work database {self.path.name} is closed")

    def shape(self, name: str) -> Tuple[int, int]:
        with self._lock:
            return tuple(int(n) for n in self._node(name).shape)

    def dtype(self, name: str) -> np.dtype:
        with self._lock:
            return np.dtype(self._node(name).dtype)

    def chunkshape(self, name: str) -> Tuple[int, int]:
        with self._lock:
            return tuple(int(n) for n in self._node(name).chunkshape)

    def create(self, name: str, shape: Sequence[int], dtype: Any) -> None:
        """A new chunked 2-D array of zeros (chunks are only written when data arrive)."""
        tables = _tables()
        dtype = np.dtype(dtype)
        if dtype not in DTYPES:
            raise TypeError(f"work databases hold {', '.join(map(str, DTYPES))}, not {dtype}")
        if not _NAME.match(name):
            raise ValueError(f"invalid array name {name!r} (letters, digits, '_')")
        rows, cols = (int(n) for n in shape)
        if rows < 1 or cols < 1:
            raise ValueError(f"empty array shape {tuple(shape)}")
        chunk = (min(self.chunk_rows, rows), cols if self.chunk_cols is None
                 else min(self.chunk_cols, cols))
        with self._lock:
            self._check_open()
            if name in self:
                raise ValueError(f"array {name!r} exists already in {self.path.name}")
            self._h5.create_carray("/", name, atom=tables.Atom.from_dtype(dtype),
                                   shape=(rows, cols), filters=self.filters, chunkshape=chunk)

    def remove(self, name: str) -> None:
        """Drop an array (its space is reused by later arrays of this file)."""
        with self._lock:
            self._node(name)._f_remove()

    def put(self, name: str, array: np.ndarray) -> None:
        """Store a whole array (replacing one of that name), written strip by strip so that the
        library's conversion buffers stay at one chunk row."""
        array = np.asarray(array)
        if array.ndim != 2:
            raise ValueError("work database arrays are 2-D")
        if name in self:
            self.remove(name)
        self.create(name, array.shape, array.dtype)
        step = self.chunk_rows
        for r0 in range(0, array.shape[0], step):
            self.put_strip(name, r0, array[r0:r0 + step])

    def put_strip(self, name: str, row0: int, strip: np.ndarray, col0: int = 0) -> None:
        """Write `strip` at rows [row0, row0 + len(strip)), cols from `col0`. The strip must have
        the array's data type or one that converts to it without loss (the round trip is exact)."""
        strip = np.asarray(strip)
        if strip.ndim != 2:
            raise ValueError("strips are 2-D")
        with self._lock:
            node = self._node(name)
            dtype = np.dtype(node.dtype)
            if strip.dtype != dtype and not np.can_cast(strip.dtype, dtype, casting="safe"):
                raise TypeError(f"cannot store {strip.dtype} in the {dtype} array {name!r} exactly")
            rows, cols = node.shape
            r1, c1 = row0 + strip.shape[0], col0 + strip.shape[1]
            if row0 < 0 or col0 < 0 or r1 > rows or c1 > cols:
                raise IndexError(f"strip rows {row0}:{r1}, cols {col0}:{c1} outside {name!r} "
                                 f"({rows} x {cols})")
            node[row0:r1, col0:c1] = strip.astype(dtype, copy=False)

    def read(self, name: str, row0: int, row1: int, col0: int = 0,
             col1: Optional[int] = None) -> np.ndarray:
        """Rows [row0, row1), cols [col0, col1) as a new numpy array (numpy slice semantics)."""
        with self._lock:
            return self._node(name)[row0:row1, col0:col1]

    def get(self, name: str) -> np.ndarray:
        """The whole array in memory (for the steps that need a full tile)."""
        with self._lock:
            return self._node(name)[:, :]

    def getitem(self, name: str, key: Any) -> np.ndarray:
        """numpy-style indexing of a stored array (slices, integers)."""
        with self._lock:
            return self._node(name)[key]

    def strips(self, name: str, rows: Optional[int] = None) -> Iterator[Tuple[int, np.ndarray]]:
        """(row0, strip) over the whole array, `rows` rows at a time (default: one chunk row)."""
        step = int(rows or self.chunk_rows)
        nrows = self.shape(name)[0]
        for r0 in range(0, nrows, step):
            yield r0, self.read(name, r0, min(nrows, r0 + step))


class StoredArray:
    """A read-only, lazily read view of one database array: slicing reads from disk, so code
    written for numpy arrays (`a[r0:r1, c0:c1]`, `.shape`, `.dtype`) works on it unchanged;
    `np.asarray(view)` reads the whole array."""

    def __init__(self, db: WorkDatabase, name: str) -> None:
        self.db, self.name = db, name
        self.shape = db.shape(name)
        self.dtype = db.dtype(name)

    ndim = 2

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.db.getitem(self.name, key)

    def __array__(self, dtype=None) -> np.ndarray:
        data = self.db.get(self.name)
        return data if dtype is None else data.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"StoredArray({self.name!r}, {self.shape}, {self.dtype}, {self.db.path.name})"


class _StoredBands(MutableMapping):
    """`DatabaseBandSource.arrays`: band -> StoredArray. Assigning a numpy array stores it in the
    database (so a caller adding a band frees its memory once it drops its own reference);
    deleting or popping a band only forgets it (the popped view stays readable until the
    database closes), which is what `release_inputs` and the export expect."""

    def __init__(self, db: WorkDatabase, names: Mapping[str, str]) -> None:
        self.db = db
        self._views: Dict[str, StoredArray] = {b: StoredArray(db, n) for b, n in names.items()}

    def __getitem__(self, band: str) -> StoredArray:
        return self._views[band]

    def __setitem__(self, band: str, value: Any) -> None:
        if isinstance(value, StoredArray):
            self._views[band] = value
            return
        name = canonical_band(band)
        self.db.put(name, np.asarray(value))
        self._views[band] = StoredArray(self.db, name)

    def __delitem__(self, band: str) -> None:
        del self._views[band]

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)


class DatabaseBandSource(ArraySource):
    """DN bands stored in a WorkDatabase, served as strips of TOA reflectance
    `(DN + offset) / quantification` (float32, 0 at the NODATA DN), exactly as ArraySource serves
    the same DN held in memory.

    It is an ArraySource so the classification treats it as one (it derives the NO_DATA mask
    from the DN through `nodata`, here computed strip by strip); `arrays` maps each band to a
    StoredArray, `offsets` is a plain dict (callers add bands with both, as for ArraySource).
    """

    def __init__(self, db: WorkDatabase,
                 bands: Optional[Union[Sequence[str], Mapping[str, str]]] = None,
                 offset: Union[float, Mapping[str, float]] = 0.0, quantification: float = 10000.0,
                 nodata_dn: int = 0) -> None:
        if bands is None:
            bands = db.names
        names = dict(bands) if isinstance(bands, Mapping) else {b: b for b in bands}
        names = {canonical_band(b): n for b, n in names.items()}
        if not names:
            raise ValueError("no bands for the source")
        self.db = db
        self._layout(_StoredBands(db, names), offset, quantification, nodata_dn)

    @classmethod
    def from_arrays(cls, db: WorkDatabase, arrays: Mapping[str, np.ndarray],
                    **kwargs: Any) -> "DatabaseBandSource":
        """Store in-memory DN bands in `db` and serve them (the caller may then drop its arrays)."""
        for band, array in arrays.items():
            db.put(canonical_band(band), array)
        return cls(db, [canonical_band(b) for b in arrays], **kwargs)

    def nodata(self, bands: Sequence[str], row0: int, row1: int, col0: int = 0,
               col1: Optional[int] = None) -> np.ndarray:
        """True where any of `bands` is NO_DATA, read one chunk row of strips at a time (never a
        full band of DN in memory)."""
        width = len(range(*slice(col0, col1).indices(self.shape[1])))
        row0, row1, _ = slice(row0, row1).indices(self.shape[0])
        out = np.zeros((max(0, row1 - row0), width), dtype=bool)
        step = self.db.chunk_rows
        for r0 in range(row0, row1, step):
            r1 = min(row1, r0 + step)
            part = out[r0 - row0:r1 - row0]
            for band in bands:
                data = self.arrays[canonical_band(band)][r0:r1, col0:col1]
                if np.issubdtype(data.dtype, np.integer):
                    part |= data == self.nodata_dn
                else:
                    part |= ~np.isfinite(data)
        return out


# ------------------------------------------------------------------------------------ folders
@dataclass(frozen=True)
class WorkFolders:
    """The folders of one run; `created` lists those this run made (removed again if empty)."""

    work_dir: Path
    img_database_dir: Path
    res_database_dir: Path
    created: Tuple[Path, ...] = ()

    def remove_created(self) -> None:
        """Remove the folders this run created, deepest first, where nothing else is left in
        them (a user's folder and anything kept by --debug stay)."""
        for folder in sorted(self.created, key=lambda p: len(p.parts), reverse=True):
            try:
                folder.rmdir()
            except OSError:
                pass


def resolve_work_folders(work_dir: Optional[PathLike] = None,
                         img_database_dir: Optional[PathLike] = None,
                         res_database_dir: Optional[PathLike] = None,
                         default_dir: Optional[PathLike] = None) -> WorkFolders:
    """Sen2Cor's folder rules (reference §1.1 and the command-line table): the image database
    goes to --img_database_dir, the result database to --res_database_dir, both defaulting to
    --work_dir; without --work_dir (toolbox mode) Sen2Cor keeps them inside the output product
    (GRANULE/<tile>/), so `default_dir` should be the granule folder of the L2A product being
    written (under its temporary name: the files are gone before the product is renamed). With
    no `default_dir` either, `<system temp dir>/sen2cor_qgis` is used. Missing folders are
    created (with their parents)."""
    if work_dir:
        work = Path(work_dir)
    elif default_dir:
        work = Path(default_dir)
    else:
        work = Path(tempfile.gettempdir()) / "sen2cor_qgis"
    img = Path(img_database_dir) if img_database_dir else work
    res = Path(res_database_dir) if res_database_dir else work
    created: List[Path] = []
    for folder in (work, img, res):
        missing = []
        parent = folder.absolute()
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        folder.mkdir(parents=True, exist_ok=True)
        created.extend(p for p in missing if p not in created)
    return WorkFolders(work, img, res, tuple(created))


__all__ = ["DEFAULT_CHUNK_ROWS", "DEFAULT_COMPLIB", "DTYPES", "DatabaseBandSource", "StoredArray",
           "WorkDatabase", "WorkFolders", "filters_for", "resolve_work_folders"]
