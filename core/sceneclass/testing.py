"""Synthetic TOA scenes for the tests and the benchmark of the scene classification.

The spectra are TOA reflectances of the sample-product generator's land covers (6S forward model
of tools/sample_product at its default geometry, SZA 45 deg; "shadowed_*": full cloud shadow,
i.e. the direct sunlight removed), rounded, plus two designed targets:
a bright static ground material that passes Sen2Cor's cloud tests (a white roof / salt crust:
bright and flat in the VNIR, B8A/B11 > 1.1 and B02/B11 > 1, so neither the soil nor the
rocks/sand tests catch it) and an ice cloud with a snow-like NDSI.
"""
from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Tuple

import numpy as np

BANDS: Tuple[str, ...] = ("B02", "B03", "B04", "B05", "B8A", "B09", "B10", "B11", "B12")

#                    B02    B03    B04    B05    B8A    B09    B10    B11    B12
_TABLE = {
    "vegetation":   (0.101, 0.106, 0.059, 0.124, 0.417, 0.116, 0.003, 0.217, 0.099),
    "dark_forest":  (0.087, 0.075, 0.043, 0.077, 0.246, 0.072, 0.002, 0.105, 0.037),
    "bare_soil":    (0.143, 0.144, 0.178, 0.202, 0.274, 0.082, 0.004, 0.338, 0.269),
    "water":        (0.105, 0.079, 0.047, 0.035, 0.016, 0.007, 0.001, 0.004, 0.002),
    "snow":         (0.857, 0.799, 0.811, 0.794, 0.747, 0.197, 0.003, 0.077, 0.055),
    "cloud":        (0.703, 0.664, 0.693, 0.704, 0.719, 0.333, 0.029, 0.427, 0.279),
    "shadowed_vegetation": (0.082, 0.057, 0.031, 0.036, 0.051, 0.016, 0.001, 0.011, 0.004),
    "urban":        (0.147, 0.136, 0.144, 0.159, 0.208, 0.061, 0.003, 0.226, 0.189),
    "shadowed_urban": (0.093, 0.063, 0.043, 0.040, 0.031, 0.011, 0.001, 0.012, 0.007),
    "shadowed_water": (0.083, 0.051, 0.029, 0.024, 0.012, 0.007, 0.001, 0.002, 0.001),
    "shadowed_snow": (0.275, 0.195, 0.142, 0.126, 0.083, 0.023, 0.001, 0.005, 0.003),
    "bright_ground": (0.350, 0.360, 0.370, 0.380, 0.400, 0.120, 0.003, 0.340, 0.280),
    "ice_cloud":    (0.800, 0.780, 0.780, 0.770, 0.740, 0.300, 0.008, 0.160, 0.110),
}
SPECTRA: Dict[str, Dict[str, float]] = {k: dict(zip(BANDS, v)) for k, v in _TABLE.items()}


def spectrum(name_or_values) -> Dict[str, float]:
    if isinstance(name_or_values, str):
        return dict(SPECTRA[name_or_values])
    out = dict(SPECTRA[name_or_values.get("base", "vegetation")]) if "base" in name_or_values else {}
    out.update({k: v for k, v in name_or_values.items() if k != "base"})
    return out


def pixels(spectra: Iterable) -> Dict[str, np.ndarray]:
    """A 1 x N scene, one pixel per spectrum (name or {band: value, 'base': name})."""
    rows = [spectrum(s) for s in spectra]
    return {b: np.array([[r[b] for r in rows]], dtype=np.float32) for b in BANDS}


def uniform(shape: Tuple[int, int], name: str = "vegetation") -> Dict[str, np.ndarray]:
    s = SPECTRA[name]
    return {b: np.full(shape, s[b], dtype=np.float32) for b in BANDS}


def paint(toa: Mapping[str, np.ndarray], mask: np.ndarray, name_or_values,
          shift: Optional[Mapping[str, Tuple[int, int]]] = None) -> None:
    """Write a spectrum into `mask`; `shift` moves the mask per band (rows, cols) - used to
    displace an object between bands like the MSI parallax does for clouds."""
    s = spectrum(name_or_values)
    for band, arr in toa.items():
        m = mask
        if shift and band in shift:
            dr, dc = shift[band]
            m = np.roll(np.roll(mask, dr, axis=0), dc, axis=1)
        arr[m] = s[band]


def texture(shape: Tuple[int, int], amplitude: float = 0.03, seed: int = 0,
            scale: float = 3.0) -> np.ndarray:
    """Smooth multiplicative texture 1 +- amplitude (float32)."""
    from scipy import ndimage
    rng = np.random.default_rng(seed)
    n = ndimage.gaussian_filter(rng.standard_normal(shape), scale)
    n /= max(1e-9, float(np.abs(n).max()))
    return (1.0 + amplitude * n).astype(np.float32)


def disk_mask(shape: Tuple[int, int], centre: Tuple[float, float], radius: float,
              squash: float = 1.0) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return ((yy - centre[0]) / squash) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2
