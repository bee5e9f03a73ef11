"""Visibility <-> AOT550 (reference §6.3, "ATCOR manual, coefficients from Rolf Richter").

    AOT550 = exp(a(z) + b(z) ln VIS),   VIS in km, ground elevation z in km

Two forms of a(z), b(z): the quadratic one (used by Sen2Cor to turn CAMS AOT into visibility) and
the tabulated one (nodes z = 0, 0.7, 2.5 km, linear in between; used for the AOT product). They
agree at the three nodes. Inverse VIS = exp((ln AOT - a) / b), clipped to 0..650 km.

Sen2Cor's visibility grid (§6.2) and the visibility steps of the negative-reflectance check
(§6.4.4) are expressed in km; the project's look-up tables use AOT550 as their aerosol axis, so
every visibility is converted with these relations at the pixel's elevation.
"""
from __future__ import annotations

from typing import Union

import numpy as np

Number = Union[float, np.ndarray]

# Sen2Cor's tabulated visibilities (§6.2) and the start visibility of the DDV reference pixels.
LUT_VISIBILITIES_KM = (5.0, 7.0, 10.0, 15.0, 23.0, 40.0, 80.0, 120.0)
DDV_REFERENCE_VISIBILITY_KM = 23.0
MAX_VISIBILITY_KM = 650.0

_TAB_Z = np.array([0.0, 0.7, 2.5])
_TAB_A = np.array([1.54641, 1.40593, 0.926640])
_TAB_B = np.array([-0.854022, -0.844382, -0.805663])


def coefficients(elevation_km: Number, form: str = "tabulated"):
    """(a(z), b(z)) as float64 arrays; form 'tabulated' (clamped to 0..2.5 km as np.interp does,
    then the quadratic beyond 2.5 km) or 'quadratic'."""
    z = np.asarray(elevation_km, dtype=np.float64)
    qa = -0.026235 * z ** 2 - 0.182321 * z + 1.54641
    qb = 0.003096 * z ** 2 + 0.011604 * z - 0.854022
    if form == "quadratic":
        return qa, qb
    if form != "tabulated":
        raise ValueError(f"form must be 'tabulated' or 'quadratic', got {form!r}")
    a = np.where(z > 2.5, qa, np.interp(z, _TAB_Z, _TAB_A))
    b = np.where(z > 2.5, qb, np.interp(z, _TAB_Z, _TAB_B))
    return a, b


def visibility_to_aot550(vis_km: Number, elevation_km: Number = 0.0, form: str = "tabulated"):
    """AOT550 of a visibility (km) at a ground elevation (km)."""
    a, b = coefficients(elevation_km, form)
    vis = np.maximum(np.asarray(vis_km, dtype=np.float64), 1e-3)
    out = np.exp(a + b * np.log(vis))
    return float(out) if np.ndim(out) == 0 else out


def aot550_to_visibility(aot550: Number, elevation_km: Number = 0.0, form: str = "tabulated"):
    """Visibility (km, 0..650) of an AOT550 at a ground elevation (km)."""
    a, b = coefficients(elevation_km, form)
    aot = np.maximum(np.asarray(aot550, dtype=np.float64), 1e-6)
    out = np.clip(np.exp((np.log(aot) - a) / b), 0.0, MAX_VISIBILITY_KM)
    return float(out) if np.ndim(out) == 0 else out


def sea_level_equivalent(aot550: Number, elevation_km: Number):
    """AOT550 at sea level of the visibility that gives `aot550` at `elevation_km`: the
    elevation-free aerosol amount that Sen2Cor's visibility index represents (its index grid is
    evenly spaced in sea-level optical depth), used to smooth AOT maps across relief."""
    return visibility_to_aot550(aot550_to_visibility(aot550, elevation_km), 0.0)


def at_elevation(aot550_sea_level: Number, elevation_km: Number):
    """Inverse of `sea_level_equivalent`."""
    return visibility_to_aot550(aot550_to_visibility(aot550_sea_level, 0.0), elevation_km)


def next_visibility(vis_km: float) -> float:
    """One step of the negative-reflectance check (§6.4.4): < 23 km -> 23; < 26 -> +3; < 30 ->
    +4; < 40 -> +5; < 100 -> +10; else 120 (29 and 39 are rounded to 30 and 40)."""
    v = float(vis_km)
    if v < 23.0:
        new = 23.0
    elif v < 26.0:
        new = v + 3.0
    elif v < 30.0:
        new = v + 4.0
    elif v < 40.0:
        new = v + 5.0
    elif v < 100.0:
        new = v + 10.0
    else:
        new = 120.0
    if round(new) in (29, 39):
        new = float(round(new) + 1)
    return min(new, 120.0) if v < 120.0 else max(v, 120.0)
