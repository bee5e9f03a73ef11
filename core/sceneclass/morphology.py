"""Neighbourhood operations used by the classification (all scipy.ndimage, vectorised).

Each function documents its reach in pixels (the halo a block needs around it). Image borders
use scipy's default 'reflect' handling, so a block that touches the image edge gives the same
result as the whole image.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

# The 3 x 3 median (a sorting network) lives with the resampling rules, which need it for the
# 60 m SCL (core.raster.resample); re-exported here for the classification steps.
from ..raster.resample import median3  # noqa: F401

CROSS = ndimage.generate_binary_structure(2, 1)   # 3 x 3 cross (4-connectivity)
SQUARE = ndimage.generate_binary_structure(2, 2)  # 3 x 3 square (8-connectivity)


def diamond(radius: int) -> np.ndarray:
    """Diamond (city-block disk) of the given radius = `radius` iterations of the 3 x 3 cross."""
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (np.abs(yy) + np.abs(xx)) <= r


def disk(radius: float) -> np.ndarray:
    """Euclidean disk structuring element."""
    r = int(np.floor(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy * yy + xx * xx) <= radius * radius + 1e-9


def dilate(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """Binary dilation (reach: half the structure size)."""
    if not mask.any():
        return np.zeros_like(mask, dtype=bool)
    return ndimage.binary_dilation(mask, structure=structure)


def dilate_diamond(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilation by a diamond of `radius` (reference §5.2: 3 x iterated 3 x 3 cross)."""
    return dilate(mask, diamond(radius)) if radius > 0 else mask.astype(bool, copy=True)


def label_objects(mask: np.ndarray, connectivity: int = 8):
    """Connected components: (labels int32, count)."""
    structure = SQUARE if connectivity == 8 else CROSS
    labels, count = ndimage.label(mask, structure=structure)
    return labels.astype(np.int32, copy=False), int(count)
