"""Separable cubic-spline interpolation of small tables at many points (numpy/SciPy only).

A cubic spline through the nodes of one axis is linear in the node values, so its value at x is
`sum_i w_i(x) y_i` with weights w(x) = the spline through the unit vectors (`SplineAxis.weights`,
an (N, n) matrix). A table over several axes is interpolated by contracting it with one weight
matrix per axis (`contract`):

* axes whose query is a single value are contracted first, on the table itself (cost ~ table
  size), so a call where only AOT and elevation vary costs like a 2-D interpolation;
* the remaining axes are contracted per point: one matrix product for the first axis, then an
  element-wise product and sum per further axis, in chunks of `CHUNK` points (memory stays below
  ~60 MB whatever the number of points).

Boundary conditions per axis: 'not-a-knot' (default), 'natural', or 'even' (first derivative 0 at
both ends: the relative azimuth, an even and 360-periodic variable folded into 0..180). Queries
outside the node range are clamped to it (no extrapolation). An axis with one node is constant.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
from scipy.interpolate import CubicSpline

CHUNK = 16384


class SplineAxis:
    """One table axis: nodes, an optional coordinate transform and the spline's boundary
    conditions."""

    def __init__(self, nodes: Sequence[float], bc: str = "not-a-knot",
                 transform: Optional[Callable[[np.ndarray], np.ndarray]] = None, name: str = ""):
        self.name = name
        self.values = np.asarray(nodes, dtype=np.float64)
        if self.values.ndim != 1 or self.values.size == 0:
            raise ValueError(f"axis {name}: nodes must be a non-empty 1-D sequence")
        if np.any(np.diff(self.values) <= 0):
            raise ValueError(f"axis {name}: nodes must increase strictly")
        self.transform = transform
        self.coords = self._t(self.values)
        if np.any(np.diff(self.coords) <= 0):
            raise ValueError(f"axis {name}: the transform must keep the nodes increasing")
        self.bc = bc
        n = self.values.size
        self.n = n
        self._spline = None
        if n >= 2:
            eye = np.eye(n)
            if n == 2:
                bc_type = "not-a-knot"                   # a straight line
            elif bc == "even":
                bc_type = ((1, np.zeros(n)), (1, np.zeros(n)))
            elif bc == "natural":
                bc_type = "natural"
            elif bc == "not-a-knot":
                bc_type = "not-a-knot"
            else:
                raise ValueError(f"axis {name}: unknown boundary condition {bc!r}")
            self._spline = CubicSpline(self.coords, eye, axis=0, bc_type=bc_type)

    def _t(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self.transform(x) if self.transform is not None else x

    def clamp(self, x):
        return np.clip(np.asarray(x, dtype=np.float64), self.values[0], self.values[-1])

    def weights(self, x) -> np.ndarray:
        """(N, n) spline weights of the 1-D query points x (clamped to the node range)."""
        x = self.clamp(np.ravel(x))
        if self.n == 1:
            return np.ones((x.size, 1))
        c = self._t(x)
        w = self._spline(c)
        # exact node hits: exact unit weights (avoids 1e-16 noise on the other nodes)
        return w


def contract(table: np.ndarray, axes: Sequence[SplineAxis], queries: Sequence,
             out_dtype=np.float64) -> np.ndarray:
    """Interpolate `table` (shape = the axes' node counts) at the points given by `queries`
    (one array per axis, all broadcastable to one shape). Returns an array of the broadcast
    shape."""
    if table.ndim != len(axes) or len(queries) != len(axes):
        raise ValueError("contract: one axis and one query per table dimension")
    for ax, size in zip(axes, table.shape):
        if ax.n != size:
            raise ValueError(f"contract: axis {ax.name} has {ax.n} nodes, table {size}")
    qs = [np.asarray(q, dtype=np.float64) for q in queries]
    shape = np.broadcast_shapes(*[q.shape for q in qs])
    t = np.asarray(table, dtype=np.float64)
    varying = []
    # 1. contract the axes queried at a single value (from the last axis backwards keeps the
    #    remaining axis order)
    for k in range(len(axes) - 1, -1, -1):
        q = qs[k]
        if q.size == 1 or (q.size > 1 and _uniform(q)):
            w = axes[k].weights(q.ravel()[:1])[0]
            t = np.tensordot(t, w, axes=([k], [0]))
        else:
            varying.insert(0, k)
    if not varying:
        return np.full(shape, t, dtype=out_dtype) if shape else np.asarray(t, dtype=out_dtype)
    # 2. per point over the varying axes (in table order)
    npts = int(np.prod(shape)) if shape else 1
    flat = [np.broadcast_to(qs[k], shape).reshape(-1) for k in varying]
    out = np.empty(npts, dtype=out_dtype)
    sizes = [axes[k].n for k in varying]
    t2 = t.reshape(sizes[0], -1)
    for start in range(0, npts, CHUNK):
        stop = min(start + CHUNK, npts)
        w0 = axes[varying[0]].weights(flat[0][start:stop])
        x = w0 @ t2                                   # (m, prod(sizes[1:]))
        rest = int(np.prod(sizes[1:])) if len(sizes) > 1 else 1
        for j in range(1, len(varying)):
            wj = axes[varying[j]].weights(flat[j][start:stop])
            rest //= sizes[j]
            x = np.einsum("mir,mi->mr", x.reshape(stop - start, sizes[j], rest), wj)
        out[start:stop] = x.reshape(stop - start)
    return out.reshape(shape)


def _uniform(q: np.ndarray) -> bool:
    flat = q.reshape(-1)
    return bool(flat[0] == flat.min() == flat.max()) if flat.size else True


class TableInterpolator:
    """A table with its axes, interpolated fast at many points.

    Few points (< `min_points`): the exact separable spline (`contract`). Many points: the axes
    queried at one value are contracted with the spline first; the table of the remaining axes
    is then evaluated once by the spline on a grid `refine` times finer than the nodes (per axis,
    in the axis coordinate) and interpolated multilinearly on it - 2^k gathers per point for k
    varying axes, against a few microseconds per point for the spline itself. The refined tables
    are cached per set of single values (e.g. one view zenith and ozone per band and scene). The
    difference to the spline is h^2/8 |f''| with h the refined step: below 1e-5 in reflectance for
    the 6S terms with the default refinement (README.md)."""

    def __init__(self, table: np.ndarray, axes: Sequence[SplineAxis],
                 refine: Sequence[int] = None, min_points: int = 4096, cache_size: int = 16,
                 max_values: int = 2_000_000):
        self.table = np.asarray(table, dtype=np.float64)
        self.axes = list(axes)
        if self.table.shape != tuple(ax.n for ax in self.axes):
            raise ValueError("TableInterpolator: table shape does not match the axes")
        self.refine = list(refine) if refine is not None else [4] * len(self.axes)
        self.min_points = min_points
        self._cache = {}
        self._order = []
        self.cache_size = cache_size
        self.max_values = max_values            # refinement is halved until the table fits

    def __call__(self, queries: Sequence) -> np.ndarray:
        qs = [np.asarray(q, dtype=np.float64) for q in queries]
        shape = np.broadcast_shapes(*[q.shape for q in qs])
        npts = int(np.prod(shape)) if shape else 1
        if npts < self.min_points:
            return contract(self.table, self.axes, qs)
        scal, vary = [], []
        for k, q in enumerate(qs):
            if self.axes[k].n == 1 or q.size == 1 or _uniform(q):
                scal.append(k)
            else:
                vary.append(k)
        if not vary:
            return contract(self.table, self.axes, qs)
        key = (tuple(vary),) + tuple(round(float(qs[k].reshape(-1)[0]), 9) for k in scal)
        fine = self._cache.get(key)
        if fine is None:
            fine = self._refined(qs, scal, vary)
            self._cache[key] = fine
            self._order.append(key)
            if len(self._order) > self.cache_size:
                self._cache.pop(self._order.pop(0), None)
        table, grids, rs = fine
        flat_table = table.reshape(-1)
        strides = np.cumprod([1] + [g.size for g in grids[::-1]][:-1])[::-1]
        cols = [np.broadcast_to(qs[k], shape).reshape(-1) for k in vary]
        out = np.empty(npts, dtype=np.float64)
        for start in range(0, npts, CHUNK):
            stop = min(start + CHUNK, npts)
            base = np.zeros(stop - start, dtype=np.int64)
            weights = np.ones((stop - start, 1))
            offsets = np.zeros(1, dtype=np.int64)
            for j, k in enumerate(vary):
                ax = self.axes[k]
                c = ax._t(ax.clamp(cols[j][start:stop]))
                nodes = ax.coords
                iv = np.clip(np.searchsorted(nodes, c, side="right") - 1, 0, ax.n - 2)
                r = rs[j]
                pos = (iv + (c - nodes[iv]) / (nodes[iv + 1] - nodes[iv])) * r
                i = np.clip(pos.astype(np.int64), 0, grids[j].size - 2)
                f = pos - i
                base += i * strides[j]
                weights = np.concatenate([weights * (1.0 - f)[:, None], weights * f[:, None]],
                                         axis=1)
                offsets = np.concatenate([offsets, offsets + strides[j]])
            vals = flat_table[base[:, None] + offsets[None, :]]
            out[start:stop] = np.einsum("nc,nc->n", weights, vals)
        return out.reshape(shape)

    def _refined(self, qs, scal, vary):
        t = self.table
        for k in sorted(scal, reverse=True):
            w = self.axes[k].weights(qs[k].reshape(-1)[:1])[0]
            t = np.tensordot(t, w, axes=([k], [0]))
        rs = [max(int(self.refine[k]), 1) for k in vary]
        while np.prod([(self.axes[k].n - 1) * r + 1 for k, r in zip(vary, rs)]) > self.max_values \
                and max(rs) > 1:
            big = int(np.argmax(rs))
            rs[big] = max(rs[big] // 2, 1)
        grids = []
        for j, k in enumerate(vary):
            ax = self.axes[k]
            r = rs[j]
            frac = np.arange(r) / r
            c = (ax.coords[:-1, None] + np.diff(ax.coords)[:, None] * frac[None, :]).reshape(-1)
            c = np.append(c, ax.coords[-1])
            w = ax._spline(c)                                  # (n_fine, n)
            t = np.moveaxis(np.tensordot(t, w, axes=([j], [1])), -1, j)
            grids.append(c)
        return np.ascontiguousarray(t), grids, rs
