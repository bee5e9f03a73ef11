"""Classification inputs from an L1C product at 20 m or 60 m (reference §4.2, §4.4, §4.5).

Bands are brought to the working grid as Sen2Cor does:
* finer bands (10 -> 20, 10/20 -> 60): block mean of the DN over f x f pixels, + 0.5 and
  truncation to uint16;
* coarser bands (60 -> 20): B09 and B10 bilinear, B01 bicubic spline (pixel-centre aligned).
NO_DATA (reference §4.2: a pixel that is 0 in any band used at the resolution): Sen2Cor's block
mean is 0 only when all the source pixels are 0, so a working pixel is NO_DATA when all the
pixels under it are NO_DATA in one of the bands at native or finer resolution (the mean is then
taken over the valid source pixels only, where Sen2Cor's mean of the zeros would darken partially
covered edge pixels). Coarser (60 m) bands do not shrink the working footprint: their NO_DATA
pixels are filled from the nearest valid pixel before interpolation (at 20 m a 60 m band's edge
pixel may cover 20 m pixels that are valid in the 20 m bands). SATURATED: any saturated (65535)
source pixel.

The DN arrays (uint16) are kept in memory - 2 bytes per pixel and band - and converted to
reflectance strip by strip by `bands.ArraySource`. This module reads whole bands (strips of 10 m
rows for the 10 m bands); a tiled pipeline can serve windows through its own `BandSource`.
"""
from __future__ import annotations

import functools
import logging
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..memory import release_memory
from ..product.masks import find_mask, read_mask
from ..product.model import NATIVE_RESOLUTION, L1CProduct
from ..raster.resample import DEFAULT_UPSAMPLING_ORDER, UPSAMPLING_ORDER  # noqa: F401 (re-exported)
from ..raster.readahead import ReadAhead
from ..raster.resample import block_any, block_mean_dn, upsample_dn, upsample_nearest, upsample_spline
from .bands import OPTIONAL_BANDS, REQUIRED_BANDS, ArraySource

log = logging.getLogger(__name__)

# §4.4: bands read at 20 m and 60 m (B08 never used there).
BANDS_20_60: Tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09",
                                "B10", "B11", "B12")
CLASSIFICATION_BANDS: Tuple[str, ...] = REQUIRED_BANDS + OPTIONAL_BANDS
# §4.5: interpolation order of the upsampled 60 m bands (bilinear for B09/B10, bicubic otherwise):
# UPSAMPLING_ORDER / DEFAULT_UPSAMPLING_ORDER, imported from core.raster.resample.
# L1C MSK_QUALIT layers that make a pixel SATURATED_DEFECTIVE with Handle_L1C_QLT_Mask (inferred).
DEFECT_LAYERS: Tuple[str, ...] = ("ANC_LOST", "MSI_LOST", "QT_DEFECTIVE_PIXELS", "QT_SATURATED_PIXELS")
STRIP_ROWS_10M = 1098


# Resampling rules shared with the product writers (core.raster.resample); the old private names
# are kept for callers and tests.
def _block_reduce_dn(dn: np.ndarray, f: int, nodata_value: int = 0):
    """(DN block mean over the valid pixels of f x f blocks, + 0.5 truncated; all-NO_DATA)."""
    return block_mean_dn(dn, f, nodata_value, valid_only=True)


_block_any = block_any


def _upsample(values: np.ndarray, f: int, order: int) -> np.ndarray:
    """Pixel-centre aligned spline zoom by an integer factor (float32 output)."""
    return upsample_spline(values, f, order)


def _close_band(product: L1CProduct, band: str) -> None:
    """Close the band's open reader when the product keeps one (L1CProduct.close_band)."""
    close = getattr(product, "close_band", None)
    if close is not None:
        close(band)


def _strip_rows(product: L1CProduct, band: str, f: int) -> int:
    """Rows per strip when a band is block-averaged by f: a multiple of f and, when the file's
    internal tiles allow it within about STRIP_ROWS_10M..3 x STRIP_ROWS_10M rows, of the tile
    height (every JPEG 2000 tile decoded once)."""
    try:
        block = int(product.band_block_rows(band))
    except (AttributeError, RuntimeError):
        block = 0
    if block > 0:
        unit = block * f // math.gcd(block, f)
        if unit <= 3 * STRIP_ROWS_10M:
            return unit * max(1, STRIP_ROWS_10M // unit)
    return max(f, (STRIP_ROWS_10M // f) * f)


def band_windows(product: L1CProduct, band: str, resolution: int):
    """The reads of a band brought to `resolution`: windows (row, col, nrows, ncols) of strips
    for a finer band that is block-averaged, else [None] (the whole band)."""
    native = NATIVE_RESOLUTION[band]
    if native >= resolution:
        return [None]
    f = resolution // native
    nrows, ncols = product.band_size(band)
    step = _strip_rows(product, band, f)
    return [(r0, 0, min(step, nrows - r0), ncols) for r0 in range(0, nrows, step)]


def band_dn_at(product: L1CProduct, band: str, resolution: int, native_sink=None, read=None):
    """(DN uint16, nodata bool, saturated bool) of a band on the `resolution` grid.

    `native_sink(row0, dn)`: receives every native-resolution strip of a band that is
    block-averaged (a 10 m band read at 20 m), so that a later 10 m run need not decode it again.
    `read(band, window)`: where the windows of `band_windows` come from (default
    product.read_band; product_source reads them ahead)."""
    read = read or product.read_band
    native = NATIVE_RESOLUTION[band]
    nod_value = product.special_values.get("NODATA", 0)
    sat_value = product.special_values.get("SATURATED", 65535)
    if native == resolution:
        dn = read(band, None)
        _close_band(product, band)
        return dn, dn == nod_value, dn == sat_value
    if native < resolution:
        f = resolution // native
        parts, nods, sats = [], [], []
        for window in band_windows(product, band, resolution):
            r0 = window[0]
            dn = read(band, window)
            if native_sink is not None:
                native_sink(r0, dn)
            mean, empty = _block_reduce_dn(dn, f, nod_value)
            parts.append(mean)
            nods.append(empty)
            sats.append(_block_any(dn == sat_value, f))
        _close_band(product, band)
        return np.vstack(parts), np.vstack(nods), np.vstack(sats)
    f = native // resolution
    dn = read(band, None)
    _close_band(product, band)
    nod = dn == nod_value
    sat = dn == sat_value
    up, _ = upsample_dn(dn, f, band, nodata_value=nod_value, mark_nodata=False)
    nod_up = upsample_nearest(nod, f) if nod.all() else np.zeros(up.shape, dtype=bool)
    return up, nod_up, upsample_nearest(sat, f)


def quality_defects(product: L1CProduct, resolution: int,
                    bands=BANDS_20_60) -> Optional[np.ndarray]:
    """Defective/lost/saturated pixels of the raster MSK_QUALIT masks (baseline >= 04.00) on the
    working grid, any band; None when the product has no raster quality masks."""
    out = None
    for band in bands:
        mask = find_mask(product.granule, "MSK_QUALIT", band)
        if mask is None or not mask.raster:
            continue
        bad = None
        native = NATIVE_RESOLUTION[band]
        window = None
        if hasattr(product, "grid_offset"):        # a region of interest (core.roi.WindowedProduct)
            window = tuple(product.grid_offset(native)) + tuple(product.band_size(band))
        for layer in DEFECT_LAYERS:
            data = read_mask(mask, layer, window=window) != 0
            bad = data if bad is None else (bad | data)
        if native < resolution:
            bad = _block_any(bad, resolution // native)
        elif native > resolution:
            f = native // resolution
            bad = np.repeat(np.repeat(bad, f, axis=0), f, axis=1)
        out = bad if out is None else (out | bad)
    return out


def product_source(product: L1CProduct, resolution: int, progress=None, database=None,
                   bands=None, native_database=None, native_nodata=None):
    """(source of the bands as DN, nodata, saturated) on the working grid.

    `bands`: which of BANDS_20_60 the source keeps (default: the classification's; all bands
    are read for NO_DATA and saturation). `database`: a core.raster.workdb.WorkDatabase - each
    band is stored there as soon as it is read and the source is a DatabaseBandSource, so that
    only one band is in memory at a time; else an in-memory ArraySource.
    `native_database`: a WorkDatabase that receives the 10 m bands at 10 m as they are decoded
    for their block means (each under its band name), for the 10 m run.
    `progress(fraction, message)` is called before each band is read."""
    if resolution not in (20, 60):
        raise ValueError("scene classification runs at 20 m or 60 m")
    keep = CLASSIFICATION_BANDS if bands is None else tuple(bands)
    arrays: Dict[str, np.ndarray] = {}
    kept = []
    nodata = saturated = None
    present = [b for b in BANDS_20_60 if b in product.granule.image_files]
    # the next band decodes (GDAL, every core) while this one is resampled and stored (one core)
    plan = [((band, window), functools.partial(product.read_band, band, window))
            for band in present for window in band_windows(product, band, resolution)]
    native_nodata_dn = product.special_values.get("NODATA", 0)
    with ReadAhead(plan, ahead=1, name="sen2cor-read-l1c") as ahead:
        for band in present:
            if progress is not None:
                progress(BANDS_20_60.index(band) / len(BANDS_20_60), f"reading {band} at {resolution} m")
            sink = None
            if native_database is not None and NATIVE_RESOLUTION[band] == 10:
                native_database.create(band, product.band_size(band), np.uint16)
                def sink(r0, strip, band=band):
                    native_database.put_strip(band, r0, strip)
                    if native_nodata is not None:
                        native_nodata.or_rows(r0, strip == native_nodata_dn)
            dn, nod, sat = band_dn_at(product, band, resolution, native_sink=sink,
                                      read=lambda b, window: ahead.get((b, window)))
            nodata = nod if nodata is None else (nodata | nod)
            saturated = sat if saturated is None else (saturated | sat)
            if band in keep:
                kept.append(band)
                if database is not None:
                    database.put(band, dn)
                else:
                    arrays[band] = dn
            del dn, nod, sat
            release_memory()                 # the resampling temporaries of this band
    offsets = {b: product.bands[b].radio_add_offset for b in kept}
    nodata_dn = product.special_values.get("NODATA", 0)
    if database is not None:
        from ..raster.workdb import DatabaseBandSource
        source = DatabaseBandSource(database, kept, offset=offsets,
                                    quantification=product.quantification_value, nodata_dn=nodata_dn)
    else:
        source = ArraySource(arrays, offset=offsets, quantification=product.quantification_value,
                             nodata_dn=nodata_dn)
    return source, nodata, saturated


def classify_product(product: L1CProduct, resolution: int = 20, *, config: Any = None,
                     mode: str = "evolution", inputs: Optional[Tuple[ArraySource, Any, Any]] = None,
                     **kwargs):
    """Classify an L1C product read by `read_l1c` at 20 or 60 m with the product's mean sun
    angles; `kwargs` go to `classify_source` (dem, esacci_*, snow_climatology, progress, cancel,
    ...). `inputs`: the `product_source(product, resolution)` triple when the caller has read it
    already (the pipeline keeps the DN arrays to export them)."""
    from .classify import classify_source
    source, nodata, saturated = inputs if inputs is not None else product_source(product, resolution)
    handle = kwargs.pop("handle_l1c_qlt_mask", None)
    if handle is None:
        handle = bool(getattr(config, "handle_l1c_qlt_mask", False)) if config is not None else False
    qlt = quality_defects(product, resolution) if handle else None
    g = product.granule
    return classify_source(source, nodata, sun_zenith=g.mean_sun_zenith,
                           sun_azimuth=g.mean_sun_azimuth, resolution=resolution, mode=mode,
                           config=config, saturated=saturated, l1c_quality_mask=qlt,
                           handle_l1c_qlt_mask=handle, **kwargs)
