"""Path-reflectance interpolation over the geometry that follows the aerosol phase function.

6S's aerosol path reflectance carries the fine structure of the aerosol phase function as a
function of the scattering angle Theta: ripples of 3-10 deg period and ~5 % amplitude (measured
for the maritime model at 487.5 nm: up to 3.4e-3 in path reflectance between the 10 deg sun-zenith
nodes at AOT 0.5). A separable spline over sun zenith, view zenith and azimuth cannot follow them,
but the table's own nodes sample Theta densely: 80 distinct angles between 98 and 180 deg, no gap
wider than 3.3 deg (the 8 sun zeniths x 11 view directions). So, per band (README.md):

    path(q) = spline over the nodes of (path - h) at q  +  h(q),
    h       = w(sza, vza, tau_a, tau_r) * F(Theta),
    w       = (tau_a / tau) (1 - exp(-tau (1/mu_s + 1/mu_v))) / (4 (mu_s + mu_v))

w is the single-scattering weight of the aerosol in a homogeneous layer of optical depth
tau = tau_a + tau_r; F, a piecewise-linear function of Theta on 1 deg knots, is fitted to the
nodes' (path - Rayleigh path) / w, averaged over AOT and elevation, together with a smooth
low-order function of the geometry that takes up what is not a function of Theta (multiple
scattering), with a second-difference penalty on F. The result is exact at every node (the
spline reproduces path - h there); between nodes only the part of the path that is not a function
of Theta is left to the spline, and that part is smooth.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from .interp import SplineAxis, TableInterpolator

STEP_DEG = 1.0            # knot spacing of F (the ripples have 3-10 deg periods)
SMOOTHING = 3e-3          # weight of F's second differences against the fit (scale-free)
MIN_TAU_AEROSOL = 0.01    # (AOT, elevation) nodes used for the fit: band aerosol depth above this


def scattering_angle(sza, vza, raa) -> np.ndarray:
    """Scattering angle (degrees) for the relative azimuth convention of the table: raa 0 = sun
    and sensor on the same side, i.e. Theta = 180 - |sza - vza| (backscattering)."""
    s, v, r = (np.radians(np.asarray(x, dtype=np.float64)) for x in (sza, vza, raa))
    c = -np.cos(s) * np.cos(v) - np.sin(s) * np.sin(v) * np.cos(r)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def single_scattering_weight(sza, vza, tau_aerosol, tau_rayleigh) -> np.ndarray:
    """w of the module notes: the aerosol single-scattering reflectance is w * omega * P(Theta)."""
    mu_s = np.cos(np.radians(np.asarray(sza, dtype=np.float64)))
    mu_v = np.cos(np.radians(np.asarray(vza, dtype=np.float64)))
    ta = np.asarray(tau_aerosol, dtype=np.float64)
    tau = ta + np.asarray(tau_rayleigh, dtype=np.float64)
    frac = np.divide(ta, tau, out=np.zeros(np.broadcast_shapes(ta.shape, tau.shape)),
                     where=tau > 0)
    return frac * -np.expm1(-tau * (1.0 / mu_s + 1.0 / mu_v)) / (4.0 * (mu_s + mu_v))


def _hat_basis(knots: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(len(x), len(knots)) weights of linear interpolation on `knots` (what np.interp does)."""
    x = np.clip(np.ravel(x), knots[0], knots[-1])
    i = np.clip(np.searchsorted(knots, x, side="right") - 1, 0, knots.size - 2)
    f = (x - knots[i]) / (knots[i + 1] - knots[i])
    basis = np.zeros((x.size, knots.size))
    rows = np.arange(x.size)
    basis[rows, i] = 1.0 - f
    basis[rows, i + 1] += f
    return basis


def _smooth_basis(sza, vza, raa) -> np.ndarray:
    """Low-order functions of the geometry for the part of the path that does not follow
    Theta (cubic in mu_s and the sun air mass 1/mu_s; air-mass and azimuth terms of the view).
    Without 1/mu_s, F took up part of the path's smooth growth towards low sun (measured:
    continental B01 path errors up to 3.4e-4 instead of 1.6e-4)."""
    mu = np.cos(np.radians(sza))
    air = 1.0 / np.cos(np.radians(vza)) - 1.0
    az = np.sin(np.radians(vza)) * np.cos(np.radians(raa))
    return np.stack([np.ones_like(mu), mu, mu ** 2, mu ** 3, 1.0 / mu, air, air * mu, az,
                     az * mu, az * mu ** 2], axis=-1)


@dataclass(frozen=True)
class PhaseRipple:
    """F(Theta): piecewise linear on `knots` (degrees)."""

    knots: np.ndarray
    values: np.ndarray

    def __call__(self, theta) -> np.ndarray:
        return np.interp(theta, self.knots, self.values)


def _geometries(sza: np.ndarray, vza: np.ndarray, raa: np.ndarray):
    """The node geometries as flat arrays (index grids and angles), nadir views once."""
    s, v, r = np.meshgrid(np.arange(sza.size), np.arange(vza.size), np.arange(raa.size),
                          indexing="ij")
    keep = ~((vza[v] == 0.0) & (r > 0))
    return s[keep], v[keep], r[keep]


def fit_phase_ripple(path: np.ndarray, rayleigh: np.ndarray, tau_aerosol: np.ndarray,
                     tau_rayleigh: np.ndarray, sza: Sequence[float], vza: Sequence[float],
                     raa: Sequence[float], step: float = STEP_DEG,
                     smoothing: float = SMOOTHING) -> Optional[PhaseRipple]:
    """F of the module notes from a band's gas-free path over (aot, sza, vza, raa, z), its
    Rayleigh path over (sza, vza, raa, z) and optical depths over (aot, z). None when the nodes
    cannot determine it (fewer than 3 sun zeniths or no off-nadir view, or no aerosol node)."""
    sza, vza, raa = (np.asarray(x, dtype=np.float64) for x in (sza, vza, raa))
    if sza.size < 3 or not np.any(vza > 0) or raa.size < 2:
        return None
    sets = np.argwhere(np.asarray(tau_aerosol) >= MIN_TAU_AEROSOL)       # (aot, z) pairs
    if sets.size == 0:
        return None
    i_s, i_v, i_r = _geometries(sza, vza, raa)
    s, v, r = sza[i_s], vza[i_v], raa[i_r]
    y = np.zeros(s.size)
    for ia, iz in sets:
        w = single_scattering_weight(s, v, tau_aerosol[ia, iz], tau_rayleigh[ia, iz])
        aerosol_path = path[ia, i_s, i_v, i_r, iz] - rayleigh[i_s, i_v, i_r, iz]
        y += aerosol_path / w
    y /= len(sets)
    theta = scattering_angle(s, v, r)
    knots = np.arange(180.0, np.floor(theta.min()) - step, -step)[::-1]
    basis = _hat_basis(knots, theta)
    smooth = _smooth_basis(s, v, r)
    second = np.diff(np.eye(knots.size), 2, axis=0)
    design = np.vstack([np.hstack([basis, smooth]),
                        np.hstack([np.sqrt(smoothing) * second,
                                   np.zeros((second.shape[0], smooth.shape[1]))])])
    rhs = np.concatenate([y, np.zeros(second.shape[0])])
    coef = np.linalg.lstsq(design, rhs, rcond=None)[0]
    return PhaseRipple(knots=knots, values=coef[:knots.size])


class PathInterpolator:
    """A band's gas-free path reflectance over (aot, sza, vza, raa, z): the spline of the path
    minus the phase-function term h, plus h (module notes). Called like a TableInterpolator."""

    def __init__(self, path: np.ndarray, rayleigh: np.ndarray, tau_aerosol: np.ndarray,
                 tau_rayleigh: np.ndarray, axes: Mapping[str, SplineAxis],
                 refine: Sequence[int]):
        self.axes = axes
        names = ("aot", "sza", "vza", "raa", "z")
        self.ripple = fit_phase_ripple(path, rayleigh, tau_aerosol, tau_rayleigh,
                                       axes["sza"].values, axes["vza"].values, axes["raa"].values)
        self._tau_a = TableInterpolator(tau_aerosol, [axes["aot"], axes["z"]], refine=[8, 8])
        self._tau_r = TableInterpolator(tau_rayleigh, [axes["aot"], axes["z"]], refine=[8, 8])
        residual = path
        if self.ripple is not None:
            s, v, r = (g[None, ..., None] for g in np.meshgrid(
                axes["sza"].values, axes["vza"].values, axes["raa"].values, indexing="ij"))
            residual = path - self._term(s, v, r, tau_aerosol[:, None, None, None, :],
                                         tau_rayleigh[:, None, None, None, :])
        self._residual = TableInterpolator(residual, [axes[n] for n in names], refine=refine)

    def _term(self, sza, vza, raa, tau_a, tau_r) -> np.ndarray:
        """h of the module notes."""
        return single_scattering_weight(sza, vza, tau_a, tau_r) * self.ripple(
            scattering_angle(sza, vza, raa))

    def __call__(self, queries: Sequence) -> np.ndarray:
        aot, sza, vza, raa, z = (np.asarray(q, dtype=np.float64) for q in queries)
        out = self._residual((aot, sza, vza, raa, z))
        if self.ripple is None:
            return out
        ax = self.axes
        s, v, r = ax["sza"].clamp(sza), ax["vza"].clamp(vza), ax["raa"].clamp(raa)
        tau_a, tau_r = self._tau_a((aot, z)), self._tau_r((aot, z))
        return out + self._term(s, v, r, tau_a, tau_r)
