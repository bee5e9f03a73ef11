"""Per-pixel atmospheric terms at the cost of a few table look-ups.

The terms of a band depend on AOT550, water vapour, ground elevation, sun zenith and relative
azimuth, which all vary over a tile, but smoothly or in few distinct values. `combine` quantises
them (steps `STEPS`, well below what changes a reflectance by 1e-4: AOT 0.002, water vapour
0.01 cm, elevation 10 m, sun zenith 0.1 deg, sun azimuth 0.5 deg - Sen2Cor itself uses 20 m
elevation classes and optical-depth steps of 0.006) and finds the distinct combinations of a
strip; `TermsEvaluator.terms` asks the provider for those only, and callers gather per pixel
with `Combos.inverse`. Inputs may be scalars (no cost) or arrays of the strip's shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from .geometry import Geometry, relative_azimuth
from .terms import AtmosphericTerms

STEPS: Dict[str, float] = {"aot": 0.002, "wv": 0.01, "z": 0.01, "sza": 0.1, "saa": 0.5}
_ORDER = ("aot", "wv", "z", "sza", "saa")
_LEVELS = {"aot": 4096, "wv": 2048, "z": 1024, "sza": 1024, "saa": 1024}   # levels per axis
DENSE_CODES = 1 << 20      # code ranges up to this (4 MB lookup) are factorised by a table, not a sort


@dataclass
class Combos:
    """Distinct quantised (aot, wv, z, sza, saa) of a strip; `inverse` maps pixels to them
    (None when every input was a scalar: one combination for every pixel)."""

    values: Dict[str, np.ndarray]        # axis -> float64 array of the distinct values
    inverse: Optional[np.ndarray]        # uint8/uint16/int32 array of the strip shape, or None
    shape: Tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.values["aot"])

    def gather(self, vector):
        """Per-pixel values of a per-combination vector (a scalar when there is one)."""
        vector = np.asarray(vector)
        if self.inverse is None:
            return vector.reshape(-1)[0] if vector.ndim else vector
        # take(mode='clip') is about twice as fast as fancy indexing (the index is in range)
        return np.take(vector, self.inverse, axis=0, mode="clip")


def combine(shape, aot, wv, z, sza, saa, steps: Mapping[str, float] = STEPS) -> Combos:
    """Quantise the inputs (scalars or arrays of `shape`; NaN counts as 0) and find the distinct
    combinations, in lexicographic order of (aot, wv, z, sza, saa)."""
    inputs = {"aot": aot, "wv": wv, "z": z, "sza": sza, "saa": saa}
    scalars: Dict[str, float] = {}
    levels: Dict[str, np.ndarray] = {}            # axis -> quantised levels (int32, >= 0)
    for axis in _ORDER:
        value = inputs[axis]
        step = float(steps[axis])
        if np.ndim(value) == 0:
            scalars[axis] = round(float(value) / step) * step if np.isfinite(value) else 0.0
            continue
        levels[axis] = _quantise(np.asarray(value), step, axis)
    if not levels:
        return Combos({a: np.array([scalars[a]]) for a in _ORDER}, None, tuple(shape))
    lows = {a: int(q.min()) for a, q in levels.items()}
    radix = {a: int(q.max()) - lows[a] + 1 for a, q in levels.items()}
    span = int(np.prod([radix[a] for a in levels], dtype=np.float64))
    code = None
    code_type = np.int32 if span < 2 ** 31 else np.int64
    for axis, q in levels.items():             # mixed radix over the strip's own ranges
        part = q - np.int32(lows[axis]) if lows[axis] else q
        code = part.astype(code_type, copy=False) if code is None else code * code_type(radix[axis]) + part
    code_shape = code.shape
    code = code.ravel()
    if span <= DENSE_CODES:                    # O(n) factorisation over the dense code range
        present = np.zeros(span, dtype=bool)
        present[code] = True
        uniq = np.flatnonzero(present)
        lookup = np.zeros(span, dtype=np.int32)
        lookup[uniq] = np.arange(uniq.size, dtype=np.int32)
        inverse = lookup[code]
    else:
        uniq, inverse = np.unique(code, return_inverse=True)
    values: Dict[str, np.ndarray] = {}
    rest = uniq.astype(np.int64)
    for axis in reversed(list(levels)):
        values[axis] = ((rest % radix[axis]) + lows[axis]).astype(np.float64) * float(steps[axis])
        rest = rest // radix[axis]
    for axis, v in scalars.items():
        values[axis] = np.full(len(uniq), v)
    values = {a: values[a] for a in _ORDER}
    # the index is kept for every strip of the tile (shared by all bands): smallest type
    dtype = np.uint8 if len(uniq) <= 255 else np.uint16 if len(uniq) <= 65535 else np.int32
    return Combos(values, inverse.reshape(code_shape).astype(dtype, copy=False), tuple(code_shape))


def _quantise(arr: np.ndarray, step: float, axis: str) -> np.ndarray:
    """Levels round(value / step) as int32, clipped to the axis' radix (NaN -> 0); the sun
    azimuth wraps at 360 degrees."""
    q = np.multiply(arr, np.float32(1.0 / step), dtype=np.float32)
    np.rint(q, out=q)
    q[~np.isfinite(q)] = 0
    np.clip(q, 0, _LEVELS[axis] - 1, out=q)
    out = q.astype(np.int32)
    if axis == "saa":
        turn = int(round(360.0 / step))
        if out.size and int(out.max()) >= turn:
            out[out >= turn] -= turn
    return out


class TermsEvaluator:
    """Terms of every band at the combinations of a strip, from one provider."""

    def __init__(self, provider: Any, geometry: Geometry, ozone_du: float):
        self.provider = provider
        self.geometry = geometry
        self.ozone_du = float(ozone_du)

    def terms(self, band: str, combos: Combos, aot=None) -> AtmosphericTerms:
        """AtmosphericTerms (float32 vectors over the combinations). `aot` replaces the
        combinations' AOT (any array broadcasting against a column of combinations, e.g. a
        row of candidate AOT values gives (n_combos, n_candidates) arrays)."""
        vza, vaa = self.geometry.view(band)
        v = combos.values
        raa = relative_azimuth(v["saa"], vaa)
        if aot is None:
            a, col = v["aot"], lambda x: x  # noqa: E731
        else:
            a, col = np.asarray(aot, dtype=np.float64), lambda x: np.asarray(x)[:, None]  # noqa: E731
        return self.provider.terms(band, a, col(v["sza"]), vza, col(raa), col(v["z"]),
                                   col(v["wv"]), self.ozone_du)


def provider_range(provider: Any, name: str, default: Tuple[float, float]) -> Tuple[float, float]:
    """Usable range of a provider axis: its `<name>_range` attribute ('aot550_range',
    'water_vapour_range'), else `coverage.ranges[<name>]` (core.atmcorr.lut.AtmosphereLUT while
    its build is incomplete), else `default`."""
    r = getattr(provider, f"{name}_range", None)
    if r is None:
        cov = getattr(provider, "coverage", None)
        ranges = getattr(cov, "ranges", None) or {}
        key = {"water_vapour": "water_vapour_cm"}.get(name, name)
        r = ranges.get(key) or ranges.get(name)
    return (float(r[0]), float(r[1])) if r is not None else default
