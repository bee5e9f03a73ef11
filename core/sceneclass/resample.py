"""Deriving the 10 m and 60 m classification products (reference §4.5, §5.6) and the
`Median_Filter` option (§2.1, §5.1 step 13).

* 10 m SCL: nearest-neighbour upsampling of the 20 m SCL (each 20 m pixel -> 2 x 2).
* 60 m SCL from a 20 m run: 3 x 3 median filter of the 20 m SCL, then nearest-neighbour
  decimation: the 60 m pixel takes the 20 m pixel at its centre (index 3 i + 1).
* 60 m probabilities from a 20 m run: 3 x 3 block mean, + 0.5 and truncation.
Sizes that are not multiples of the factor are handled with partial edge blocks.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..raster.resample import block_mean, block_mean_round, scl_downsample, upsample_nearest
from ..raster.resample import centre_indices as _centre_indices  # noqa: F401  (kept for callers)
from .codes import ClassCodes

__all__ = ["upsample_nearest", "scl_20_to_10", "scl_20_to_60", "block_mean", "probability_20_to_60",
           "median_filter_scl"]


def scl_20_to_10(scl20: np.ndarray) -> np.ndarray:
    return upsample_nearest(scl20, 2)


def scl_20_to_60(scl20: np.ndarray) -> np.ndarray:
    """3 x 3 median, then the centre pixel of each 3 x 3 block."""
    return scl_downsample(scl20, 3)


def probability_20_to_60(prob20: np.ndarray) -> np.ndarray:
    """uint8 percentages: 3 x 3 block mean + 0.5, truncated."""
    return block_mean_round(prob20, 3, np.uint8)


def median_filter_scl(scl: np.ndarray, size: int, codes: ClassCodes) -> np.ndarray:
    """`Median_Filter` = size > 1: median of the SCL over size x size. NO_DATA pixels stay
    NO_DATA and a data pixel never becomes NO_DATA (it keeps its class where the window median
    is NO_DATA)."""
    if size is None or size <= 1:
        return scl
    med = ndimage.median_filter(scl, size=int(size))
    nodata = scl == codes.NO_DATA
    lost = (med == codes.NO_DATA) & ~nodata
    med[lost] = scl[lost]
    med[nodata] = codes.NO_DATA
    return med
