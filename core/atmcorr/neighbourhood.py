"""Neighbourhood operations on a coarse grid, so that full-tile steps stay cheap and strip-wise.

Sen2Cor's neighbourhood steps act over kilometres: the adjacency box (2 Adj_Km), the visibility
map smoothing (sigma = AC_Ddv_Smooting_Window), the terrain-reflectance neighbourhood
(AC_Rng_Nbhd_Terrain_Corr). Here the pixels are first accumulated, strip by strip, into block
means on a coarse grid (cells of about 100 m: `coarse_factor`), the filter runs on that grid, and
the result is brought back to pixels by bilinear interpolation (cell centres, clamped at the
edges). Boxes keep their exact side (partial edge cells, `box_mean`). For filters of hundreds of
metres to kilometres the difference from a full-resolution filter is nothing inside homogeneous
areas and, at a sharp edge that falls inside a box's edge cells, at most a few percent of the
filtered contrast (adjacency at Adj_Km 0.5 around a 6S disc target: <= 5 % of the adjacency
effect, tests/test_atmcorr_adjacency_6s.py), while the memory is 1/f^2 of a full-tile array and
the cost a small fraction of a pass.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage

from ..auxdata.geo import separable_linear

COARSE_CELL_M = 100.0


def coarse_factor(resolution: float, cell_m: float = COARSE_CELL_M) -> int:
    """Pixels per coarse cell side (1 at 60 m and coarser than the cell... at least 1)."""
    return max(1, int(round(cell_m / float(resolution))))


class CoarseGrid:
    """Block sums and counts of a full-tile field on a grid of `factor` x `factor` cells.
    Strips added must start on a multiple of `factor` rows (the last one may be shorter)."""

    def __init__(self, shape: Tuple[int, int], factor: int, counts: Optional[np.ndarray] = None,
                 dtype=np.float64):
        """`counts`: share the counts of another grid (same weights): only sums are added then."""
        self.shape = tuple(int(s) for s in shape)
        self.factor = int(factor)
        self.cshape = (math.ceil(self.shape[0] / self.factor), math.ceil(self.shape[1] / self.factor))
        self.sums = np.zeros(self.cshape, dtype=dtype)
        self.shared = counts is not None
        self.counts = counts if counts is not None else np.zeros(self.cshape, dtype=dtype)

    def _reduce(self, a: np.ndarray) -> np.ndarray:
        """Block sums (float64): rows first (contiguous additions), then columns on the
        f-times smaller array - three times faster than one sum over both block axes."""
        f = self.factor
        rows, cols = a.shape
        pr, pc = (-rows) % f, (-cols) % f
        if pr or pc:
            a = np.pad(a, ((0, pr), (0, pc)))
        r, c = a.shape
        by_rows = a.reshape(r // f, f, c).sum(axis=1, dtype=np.float64)
        return by_rows.reshape(r // f, c // f, f).sum(axis=2)

    def add(self, row0: int, values: np.ndarray, weight: Optional[np.ndarray] = None) -> None:
        """Accumulate `values` (rows row0.., full width) where `weight` (bool/float) is set;
        values that are not finite count as 0."""
        if row0 % self.factor:
            raise ValueError(f"strip start {row0} is not a multiple of {self.factor}")
        v = np.asarray(values, dtype=np.float32)
        if weight is None:
            w = np.isfinite(v)
        else:
            w = np.asarray(weight)
        if w.dtype == bool:
            v = np.where(w, v, np.float32(0.0))
        else:
            w = w.astype(np.float32, copy=False)
            v = np.where(w > 0, v, np.float32(0.0)) * w
        c0 = row0 // self.factor
        s = self._reduce(v)
        if not np.isfinite(s).all():          # rare: NaN or inf inside the weights
            s = self._reduce(np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0))
        self.sums[c0:c0 + s.shape[0]] += s
        if not self.shared:
            c = self._reduce(w)
            self.counts[c0:c0 + c.shape[0]] += c

    def mean(self, fill: Optional[float] = None) -> np.ndarray:
        """Cell means (float64); empty cells get `fill` (default: the overall mean)."""
        total = self.counts.sum()
        if fill is None:
            fill = float(self.sums.sum() / total) if total > 0 else 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1e-12), fill)
        return m

    def overall_mean(self) -> Optional[float]:
        total = self.counts.sum()
        return float(self.sums.sum() / total) if total > 0 else None


def upsample(coarse: np.ndarray, factor: int, row0: int, row1: int, ncols: int,
             col0: int = 0) -> np.ndarray:
    """Bilinear values of a coarse field at the centres of pixels [row0, row1) x [col0, ..)."""
    f = float(factor)
    rows = (np.arange(row0, row1, dtype=np.float64) + 0.5) / f - 0.5
    cols = (np.arange(col0, col0 + ncols, dtype=np.float64) + 0.5) / f - 0.5
    return separable_linear(coarse, rows, cols)


def box_mean(coarse: np.ndarray, size_px: float, factor: int) -> np.ndarray:
    """Moving box mean of a coarse field; `size_px` is the box side in pixels of the fine grid.

    The box keeps its exact side L = size_px / factor cells: the largest odd number m <= L of
    whole cells plus the two next cells with weight (L - m) / 2 each (separable, edges
    'nearest'). Rounding L to an odd number of whole cells instead changes the box side by up
    to a cell (Adj_Km 1 at 20 m: 21 cells = 2.1 km for Sen2Cor's 101 px = 2.02 km), which moves
    the adjacency correction near a sharp edge by up to a fifth of the adjacency effect
    (tests/test_atmcorr_adjacency_6s.py)."""
    length = float(size_px) / float(factor)
    out = coarse.astype(np.float64, copy=True)
    if length <= 1.0:
        return out
    m = int(math.floor(length))
    if m % 2 == 0:
        m -= 1
    edge = 0.5 * (length - m)                 # weight of each partial cell, 0 <= edge < 1
    half = m // 2
    for axis in (0, 1):
        inner = ndimage.uniform_filter1d(out, size=m, axis=axis, mode="nearest")
        inner *= m / length
        if edge > 1e-9:
            n = out.shape[axis]
            pad = [(0, 0), (0, 0)]
            pad[axis] = (half + 1, half + 1)
            p = np.pad(out, pad, mode="edge")
            lo = p[:n] if axis == 0 else p[:, :n]
            hi = p[2 * half + 2:] if axis == 0 else p[:, 2 * half + 2:]
            inner += (edge / length) * (lo + hi)
        out = inner
    return out


def gaussian(coarse: np.ndarray, sigma_px: float, factor: int) -> np.ndarray:
    """Gaussian smoothing of a coarse field; `sigma_px` in pixels of the fine grid."""
    sigma = float(sigma_px) / factor
    if sigma <= 0.25:
        return coarse.astype(np.float64, copy=True)
    return ndimage.gaussian_filter(coarse.astype(np.float64), sigma=sigma, mode="nearest")


def odd(n: float, lo: int = 1, hi: Optional[int] = None) -> int:
    """Nearest odd integer >= lo (and <= hi)."""
    k = int(round(n))
    if k % 2 == 0:
        k += 1
    k = max(k, lo if lo % 2 else lo + 1)
    if hi is not None and k > hi:
        k = hi if hi % 2 else hi - 1
    return k


def smooth_gaussian(values: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Gaussian smoothing (sigma in pixels of `values`, edges 'nearest'). Large sigmas run on a
    block-averaged grid (blocks of about sigma / 4 pixels) and are interpolated back bilinearly:
    the result differs from the direct filter by well under 1 % of the local contrast, at a small
    fraction of the cost."""
    a = np.asarray(values, dtype=np.float64)
    if sigma <= 0.25:
        return a.copy()
    k = int(sigma // 4)
    if k < 2:
        return ndimage.gaussian_filter(a, sigma=sigma, mode="nearest", truncate=truncate)
    h, w = a.shape
    ph, pw = (-h) % k, (-w) % k
    padded = np.pad(a, ((0, ph), (0, pw)), mode="edge") if (ph or pw) else a
    coarse = padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k).mean(axis=(1, 3))
    coarse = ndimage.gaussian_filter(coarse, sigma=sigma / k, mode="nearest", truncate=truncate)
    rows = (np.arange(h, dtype=np.float64) + 0.5) / k - 0.5
    cols = (np.arange(w, dtype=np.float64) + 0.5) / k - 0.5
    return separable_linear(coarse, rows, cols).astype(np.float64, copy=False)


def median3x3(a: np.ndarray) -> np.ndarray:
    """3 x 3 median (edges 'nearest') by a 19-exchange sorting network on shifted copies."""
    x = np.asarray(a)
    p = np.pad(x, 1, mode="edge")
    h, w = x.shape
    v = [p[i:i + h, j:j + w] for i in range(3) for j in range(3)]

    def srt(i, j):
        lo = np.minimum(v[i], v[j])
        hi = np.maximum(v[i], v[j])
        v[i], v[j] = lo, hi
    for i, j in ((1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8), (0, 3),
                 (5, 8), (4, 7), (3, 6), (1, 4), (2, 5), (4, 7), (4, 2), (6, 4), (4, 2)):
        srt(i, j)
    return np.ascontiguousarray(v[4])
