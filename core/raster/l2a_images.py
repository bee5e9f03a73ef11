"""Writing the image files of a Level-2A product: names, data types, nodata, format per layer.

    images = L2AImageWriter(product_dir, names, geocoding, "JP2", sc_cog=False, threads=2)
    images.write_image("SCL", 20, scl)              # IMG_DATA/R20m/T..._SCL_20m.jp2
    images.write_mask("MSK_CLDPRB", 20, cloud)      # QI_DATA/MSK_CLDPRB_20m.jp2
    with images.image_writer("B02", 10) as w: ...   # block-wise
    images.write_preview(tci60)                     # QI_DATA/T..._PVI.jp2 (343 x 343)
    images.image_file_entries()                     # IMAGE_FILE texts of what was written
    existing_image_path(product_dir, names, "SCL", 20)   # the file, a --sc_cog SCL included

Whole-array writes are queued to a small pool of `workers` threads (default: `threads`), each
file encoded with threads // workers codec threads: encoding several files at once uses two cores
far better than one OpenJPEG encode with Sen2Cor's small code blocks (measured on a 5490 x 5490
band, 2 cores: 4.2 s per file one at a time with 2 codec threads, 1.6 s per file two at a time).
At most `workers` files are in flight (the caller blocks until one is done: bounded memory).
`wait()` (or leaving the `with` block) finishes every file; the first error stops the others and
is raised once they stopped.

Layer properties (reference §9.3, §9.4): reflectance bands uint16 with NODATA 0; SCL uint8,
NODATA 0 (class NO_DATA); AOT and WVP uint16, NODATA 0; TCI and PVI 3 x uint8 RGB, NODATA 0;
MSK_CLDPRB / MSK_SNWPRB / MSK_DDVPXL uint8 percentages or flags without a nodata value (0 is a
valid 0 %). Band descriptions follow GDAL's SENTINEL2 driver wording. With `sc_cog` the SCL files
are Cloud-Optimized GeoTIFFs (`.tif`) whatever the output format; the IMAGE_FILE entries carry
no extension, so the metadata lists them the same way.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, Union

import numpy as np

from ..product import naming
from .grid import Grid
from .tci import PVI_SIZE, preview, preview_grid
from .writers import EXTENSIONS, RasterWriter, side_files, write_raster

log = logging.getLogger(__name__)

REFLECTANCE_BANDS: Tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A",
                                      "B09", "B10", "B11", "B12")


@dataclass(frozen=True)
class LayerSpec:
    """Data type, nodata value, band descriptions of one layer."""

    dtype: Any
    nodata: Optional[int]
    descriptions: Tuple[str, ...]

    @property
    def bands(self) -> int:
        return len(self.descriptions)


_RGB = ("Red", "Green", "Blue")
LAYER_SPECS: Dict[str, LayerSpec] = {
    **{b: LayerSpec(np.uint16, 0, (b,)) for b in REFLECTANCE_BANDS},
    "SCL": LayerSpec(np.uint8, 0, ("Scene Classification",)),
    "AOT": LayerSpec(np.uint16, 0, ("Aerosol Optical Thickness map (at 550nm)",)),
    "WVP": LayerSpec(np.uint16, 0, ("Scene-average Water Vapour map",)),
    "TCI": LayerSpec(np.uint8, 0, _RGB),
    "DEM": LayerSpec(np.uint16, None, ("Digital Elevation Model (elevation m + 10000)",)),  # §7.3 item 6
    "MSK_CLDPRB": LayerSpec(np.uint8, None, (
        "Raster mask values range from 0 for high confidence clear sky to 100 for high confidence cloudy",)),
    "MSK_SNWPRB": LayerSpec(np.uint8, None, (
        "Raster mask values range from 0 for high confidence NO snow/ice to 100 for high confidence snow/ice",)),
    "MSK_DDVPXL": LayerSpec(np.uint8, None, ("Dark dense vegetation pixels",)),
    "PVI": LayerSpec(np.uint8, 0, _RGB),
}


class _EitherEvent:
    """is_set() of the caller's cancel event or of the writer's own abort flag."""

    def __init__(self, *events: Any) -> None:
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


class L2AImageWriter:
    """Writes the image files of one L2A product folder and remembers what it wrote."""

    def __init__(self, product_dir: Union[str, Path], names: naming.L2ANames, geocoding,
                 output_format: str = "JP2", *, sc_cog: bool = False, threads: int = 1,
                 cancel: Any = None, workers: Optional[int] = None) -> None:
        self.root = Path(product_dir)
        self.names = names
        self.geocoding = geocoding
        self.output_format = naming.normalise_output_format(output_format)
        self.sc_cog = bool(sc_cog)
        self.threads = max(1, int(threads))
        self.workers = max(1, min(self.threads, int(workers) if workers else self.threads))
        self.codec_threads = max(1, self.threads // self.workers)
        self._abort = threading.Event()
        self.cancel = _EitherEvent(cancel, self._abort)
        self.images: Dict[Tuple[str, int], Path] = {}
        self.masks: Dict[Tuple[str, int], Path] = {}
        self.preview_path: Optional[Path] = None
        self._pool: Optional[ThreadPoolExecutor] = (
            ThreadPoolExecutor(self.workers, thread_name_prefix="l2a-writer") if self.workers > 1 else None)
        self._pending: Deque[Future] = deque()

    # -- the queue ----------------------------------------------------------------------------
    def _submit(self, job: Callable[[], None]) -> None:
        if self._pool is None:
            job()
            return
        while len(self._pending) >= self.workers:
            self._collect(self._pending.popleft())
        self._pending.append(self._pool.submit(job))

    def _collect(self, future: Future) -> None:
        try:
            future.result()
        except BaseException:
            self._abort.set()           # the other encoders stop at their next progress call
            self._drain()
            raise

    def _drain(self) -> None:
        while self._pending:
            try:
                self._pending.popleft().result()
            except BaseException:
                pass

    def wait(self) -> None:
        """Finish every queued file; re-raise the first error (after the others stopped)."""
        while self._pending:
            self._collect(self._pending.popleft())

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __enter__(self) -> "L2AImageWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self._abort.set()
            self._drain()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        else:
            self.close()
        return False

    # -- names and formats --------------------------------------------------------------------
    def grid(self, resolution: int) -> Grid:
        return Grid.from_geocoding(self.geocoding, resolution)

    def layer_format(self, layer: str) -> str:
        return "COG" if (layer == "SCL" and self.sc_cog) else self.output_format

    def image_path(self, layer: str, resolution: int) -> Path:
        relpath = self.names.image_relpath(layer, resolution)
        fmt = self.layer_format(layer)
        if fmt == "COG":
            relpath = relpath[: relpath.rfind(".")] + EXTENSIONS["COG"]
        return self.root / relpath

    def mask_path(self, mask: str, resolution: int) -> Path:
        return self.root / self.names.mask_relpath(mask, resolution)

    def preview_file(self) -> Path:
        return self.root / self.names.pvi_relpath()

    @staticmethod
    def spec(layer: str) -> LayerSpec:
        try:
            return LAYER_SPECS[layer]
        except KeyError:
            raise ValueError(f"unknown L2A layer {layer!r}") from None

    def _prepare(self, layer: str, data: np.ndarray) -> np.ndarray:
        spec = self.spec(layer)
        arr = np.asarray(data)
        if arr.dtype != np.dtype(spec.dtype):
            if not np.can_cast(arr.dtype, spec.dtype, casting="safe") and arr.size and \
                    (arr.min() < np.iinfo(spec.dtype).min or arr.max() > np.iinfo(spec.dtype).max):
                raise ValueError(f"{layer}: values outside the {np.dtype(spec.dtype)} range")
            arr = arr.astype(spec.dtype)
        if (arr.shape[0] if arr.ndim == 3 else 1) != spec.bands:
            raise ValueError(f"{layer} has {spec.bands} band(s), got an array of shape {arr.shape}")
        return arr

    # -- writing ------------------------------------------------------------------------------
    def write_image(self, layer: str, resolution: int, data: np.ndarray) -> Path:
        """IMG_DATA/R<res>m/T<tile>_<time>_<layer>_<res>m.<ext> from a full array (queued)."""
        spec = self.spec(layer)
        path = self.image_path(layer, resolution)
        arr = self._prepare(layer, data)
        grid, fmt = self.grid(resolution), self.layer_format(layer)

        def job() -> None:
            write_raster(path, arr, grid, fmt, nodata=spec.nodata, descriptions=spec.descriptions,
                         resolution=resolution, threads=self.codec_threads, rgb=spec.bands == 3,
                         cancel=self.cancel)
            self.images[(layer, int(resolution))] = path
            log.debug("wrote %s", path.name)
        self._submit(job)
        return path

    def image_writer(self, layer: str, resolution: int) -> "_RecordingWriter":
        """A block-wise RasterWriter for a layer (synchronous, all `threads` for its codec); the
        file is recorded when it is closed."""
        spec = self.spec(layer)
        path = self.image_path(layer, resolution)
        writer = _RecordingWriter(path, self.grid(resolution), self.layer_format(layer), spec.dtype,
                                  bands=spec.bands, nodata=spec.nodata, descriptions=spec.descriptions,
                                  resolution=resolution, threads=self.threads, rgb=spec.bands == 3,
                                  cancel=self.cancel)
        writer.on_close = lambda p: self.images.__setitem__((layer, int(resolution)), p)
        return writer

    def write_mask(self, mask: str, resolution: int, data: np.ndarray) -> Path:
        """QI_DATA/<mask>_<res>m.<ext> (MSK_CLDPRB, MSK_SNWPRB, MSK_DDVPXL) (queued)."""
        spec = self.spec(mask)
        path = self.mask_path(mask, resolution)
        arr = self._prepare(mask, data)
        grid = self.grid(resolution)

        def job() -> None:
            write_raster(path, arr, grid, self.output_format, nodata=spec.nodata,
                         descriptions=spec.descriptions, resolution=resolution,
                         threads=self.codec_threads, cancel=self.cancel)
            self.masks[(mask, int(resolution))] = path
        self._submit(job)
        return path

    def write_preview(self, tci: np.ndarray, resolution: int, size: int = PVI_SIZE) -> Path:
        """QI_DATA/T<tile>_<time>_PVI.<ext>: `tci` (3, rows, cols) of the grid of `resolution`
        resampled by nearest neighbour to size x size over the tile extent (queued)."""
        spec = self.spec("PVI")
        path = self.preview_file()
        grid = preview_grid(self.grid(resolution), size)
        arr = preview(self._prepare("PVI", tci), size)

        def job() -> None:
            write_raster(path, arr, grid, self.output_format, nodata=spec.nodata,
                         descriptions=spec.descriptions, threads=self.codec_threads, rgb=True,
                         cancel=self.cancel)
            self.preview_path = path
        self._submit(job)
        return path

    # -- bookkeeping --------------------------------------------------------------------------
    def image_file_entries(self) -> List[str]:
        """IMAGE_FILE texts (no extension) of the written layers, in ESA's order (§9.3); call
        after `wait()`."""
        entries = []
        for res in sorted(naming.RESOLUTION_LAYERS):
            for layer in naming.RESOLUTION_LAYERS[res]:
                if (layer, res) in self.images:
                    entries.append(f"GRANULE/{self.names.granule}/IMG_DATA/R{res}m/"
                                   f"{self.names.image_stem(layer, res)}")
        return entries

    def written_files(self) -> List[Path]:
        """Every file written (images with their ENVI headers, masks, preview)."""
        files: List[Path] = []
        for (layer, _), path in list(self.images.items()) + list(self.masks.items()):
            files.append(path)
            files += side_files(path, self.layer_format(layer) if layer in LAYER_SPECS else self.output_format)
        if self.preview_path is not None:
            files.append(self.preview_path)
            files += side_files(self.preview_path, self.output_format)
        return files


def existing_image_path(product_dir: Union[str, Path], names: naming.L2ANames, layer: str,
                        resolution: int) -> Optional[Path]:
    """The file of a layer in a finished product, or None: the output format's file, else (the
    SCL written with --sc_cog) the Cloud-Optimized GeoTIFF of the same stem."""
    path = Path(product_dir) / names.image_relpath(layer, resolution)
    if path.is_file():
        return path
    cog = path.with_suffix(EXTENSIONS["COG"])
    return cog if cog.is_file() else None


class _RecordingWriter(RasterWriter):
    on_close = None

    def close(self) -> Path:
        path = super().close()
        if self.on_close is not None:
            self.on_close(path)
        return path
