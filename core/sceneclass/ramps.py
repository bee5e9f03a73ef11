"""Elementwise helpers of the classification: ramps, ratios and normalised differences.

All return float32 and never warn on division: denominators are floored (reference §5.1 step 2:
"denominator floored at 1e-6"), so a ratio over a zero or negative band is a large positive
number rather than inf/NaN. NaN inputs (NO_DATA) propagate; the classifier zeroes them first.
"""
from __future__ import annotations

import numpy as np

# Reference §5.1 step 2 (hard-coded in Sen2Cor): floor of the NDSI/NDVI denominators; used for
# every band ratio too.
DENOMINATOR_FLOOR = np.float32(1e-6)


def ramp(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """`(clip(x, a, b) - a) / (b - a)` (reference §0.2): 0 at or below a, 1 at or above b.

    With a == b it is the step `x >= a`; with a > b (a falling ramp) it is 1 at or below b
    and 0 at or above a.
    """
    x = np.asarray(x, dtype=np.float32)
    a32, b32 = np.float32(a), np.float32(b)
    if a32 == b32:
        return (x >= a32).astype(np.float32)
    lo, hi = min(a32, b32), max(a32, b32)
    out = (np.clip(x, lo, hi) - a32) / (b32 - a32)
    return out.astype(np.float32, copy=False)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / max(den, 1e-6) in float32."""
    return (np.asarray(num, dtype=np.float32)
            / np.maximum(np.asarray(den, dtype=np.float32), DENOMINATOR_FLOOR))


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), the sum floored at 1e-6 (NDSI = nd(B03, B11), NDVI = nd(B8A, B04))."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    return (a - b) / np.maximum(a + b, DENOMINATOR_FLOOR)
