"""Surface reflectance from TOA reflectance: flat and terrain illumination, adjacency and
spherical albedo, BRDF factor (reference §6.1, §6.7-§6.9, in the reflectance domain of
RADIATIVE_TRANSFER.md §2).

Notation per band and pixel: `path`, `T_g`, `T_dn` (total sun-path transmittance) with its direct
part `T_sun = exp(-tau / cos SZA)` and diffuse part `T_dn - T_sun`, `T_up` (view path), `S`,
`q = T_up,dif / T_up,dir`.

Irradiance factor D (Sen2Cor's E_dir cos(beta) + E_dif ... divided by E0 cos(SZA) T_g T_up):

    flat:     D = T_dn
    terrain:  D = T_sun cos(beta)/cos(SZA)
                  + (T_dn - T_sun) (b T_sun cos(beta)/cos(SZA) + (1 - b T_sun) V_sky)      (F_pix)
                  + max(T_dn (1 - V_sky) rho_ter, 0.01 T_sun)                                (F_ter)

with b = 1 (sunlit) or 0 (cast shadow), `rho_ter` = AC_Terrain_Refl_Start in step 1 and, in step 2
(multiple terrain reflection after Sirguey 2009), rho_bar_t / (1 - (1 - V_bar_sky) rho_bar_t) with
the neighbourhood means over AC_Rng_Nbhd_Terrain_Corr. Then

    y    = (rho_TOA - path) / (T_g T_up D)                   background-free reflectance
    step 1: rho1 = min(y / (1 + S y), AC_Topo_Corr_Cutoff)   each pixel its own background
    step 2: rho0 = y (1 - S rho_bar)                         spherical albedo, background rho_bar
            rho  = rho0 + q (rho0 - rho_bar)                 adjacency (Sen2Cor's formula)

where rho_bar is the mean step-1 reflectance over the adjacency box. Step 2 is exactly 6S's model
of a pixel of reflectance rho in an environment of reflectance rho_bar,
rho_TOA = path + T_g T_dn (T_up,dir rho + T_up,dif rho_bar) / (1 - S rho_bar), solved for rho;
Sen2Cor's tables are made for a background of 0.15, hence its rho (1 - (rho_bar - 0.15) S).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

F32 = np.float32
COS_BETA_FLOOR = 26.0 / 255.0          # §6.7: floor of the illumination (beta <= 84.1 deg)


@dataclass
class PixelTerms:
    """Per-pixel (gathered) or scalar terms of one band. With `flat=True` only what the flat
    inversion needs is gathered (path, 1 / (T_g T_up T_dn), S and, with `adjacency`, q)."""

    path: object
    tg_tup: object = None      # T_g * T_up
    t_down: object = None
    t_sun: object = None       # direct part of T_down
    s: object = None
    q: object = None
    inv_flat: object = None    # 1 / (T_g T_up T_dn)

    @classmethod
    def from_terms(cls, terms, gather=None, path_scale: float = 1.0, flat: bool = False,
                   adjacency: bool = True) -> "PixelTerms":
        """From AtmosphericTerms over combinations; `gather` maps them to pixels."""
        g = (lambda v: v) if gather is None else gather  # noqa: E731
        path = terms.path_reflectance if path_scale == 1.0 else terms.path_reflectance * F32(path_scale)
        q = g(terms.q) if adjacency else None
        if flat:
            inv = (F32(1.0) / (terms.gas_transmittance * terms.t_up * terms.t_down)).astype(F32)
            return cls(path=g(path), s=g(terms.spherical_albedo), q=q, inv_flat=g(inv))
        return cls(path=g(path), tg_tup=g(terms.gas_transmittance * terms.t_up),
                   t_down=g(terms.t_down), t_sun=g(terms.t_down_direct),
                   s=g(terms.spherical_albedo), q=q)


@dataclass
class Illumination:
    """Terrain layers of a strip (arrays) or None members for flat terrain."""

    cos_beta: Optional[np.ndarray] = None    # floored at 26/255
    mu_s: object = None                      # cos(SZA) per pixel or scalar
    v_sky: Optional[np.ndarray] = None
    sunlit: Optional[np.ndarray] = None      # b: 1 sunlit, 0 cast shadow (None: all sunlit)

    @property
    def flat(self) -> bool:
        return self.cos_beta is None


def irradiance_factor(t: PixelTerms, illum: Optional[Illumination] = None,
                      rho_terrain=0.1, ) -> object:
    """D of the module notes (float32)."""
    if illum is None or illum.flat:
        return t.t_down
    ratio = illum.cos_beta / np.asarray(illum.mu_s, dtype=F32)
    t_sun = t.t_sun if illum.sunlit is None else t.t_sun * illum.sunlit
    diffuse = t.t_down - t.t_sun
    f_pix = t_sun * ratio + diffuse * (t_sun * ratio + (F32(1.0) - t_sun) * illum.v_sky)
    f_ter = np.maximum(t.t_down * (F32(1.0) - illum.v_sky) * rho_terrain, F32(0.01) * t.t_sun)
    return (f_pix + f_ter).astype(F32, copy=False)


def background_free(toa, t: PixelTerms, illum: Optional[Illumination] = None,
                    rho_terrain=0.1):
    """y = (rho_TOA - path) / (T_g T_up D)."""
    if (illum is None or illum.flat) and t.inv_flat is not None:
        return ((np.asarray(toa, dtype=F32) - t.path) * t.inv_flat).astype(F32, copy=False)
    d = irradiance_factor(t, illum, rho_terrain)
    return ((np.asarray(toa, dtype=F32) - t.path) / (t.tg_tup * d)).astype(F32, copy=False)


def step1(y, t: PixelTerms, cutoff: Optional[float] = None):
    """rho1 = y / (1 + S y), capped at `cutoff` (AC_Topo_Corr_Cutoff)."""
    rho = y / (F32(1.0) + t.s * y)
    if cutoff is not None:
        rho = np.minimum(rho, F32(cutoff))
    return rho.astype(F32, copy=False)


def step2(y, t: PixelTerms, rho_bar, adjacency: bool = True, cutoff: Optional[float] = None):
    """Spherical albedo with background rho_bar, then adjacency rho0 + q (rho0 - rho_bar)."""
    rho0 = y * (F32(1.0) - t.s * rho_bar)
    rho = rho0 + t.q * (rho0 - rho_bar) if adjacency else rho0
    if cutoff is not None:
        rho = np.minimum(rho, F32(cutoff))
    return rho.astype(F32, copy=False)


def terrain_reflectance(rho_bar_t, v_sky_bar):
    """Sirguey's multiple terrain reflection term rho_bar_t / (1 - (1 - V_bar) rho_bar_t)."""
    rho_bar_t = np.clip(rho_bar_t, F32(0.0), F32(0.9))
    return rho_bar_t / (F32(1.0) - (F32(1.0) - v_sky_bar) * rho_bar_t)


# ---------------------------------------------------------------------------------- BRDF
def brdf_threshold_angle(sza_deg: float) -> float:
    """beta_T of §6.9: SZA < 35 -> SZA + 25; 35-45 -> +20; 45-50 -> +15; 50-60 -> +10;
    >= 60 -> max(70, SZA + 5) (degrees)."""
    s = float(sza_deg)
    if s < 35.0:
        return s + 25.0
    if s < 45.0:
        return s + 20.0
    if s < 50.0:
        return s + 15.0
    if s < 60.0:
        return s + 10.0
    return max(70.0, s + 5.0)


# Exponents per BRDF_Correction mode: (non-vegetation, vegetation below 720 nm, vegetation NIR).
# §6.9 gives "1 or 1/2 (mode-dependent)" and "0.75 ... and 1/3 or 1 in the NIR"; mode 1 takes the
# first of each pair, mode 2 the second (inferred).
BRDF_EXPONENTS = {1: (1.0, 0.75, 1.0 / 3.0), 2: (0.5, 0.75, 1.0)}
VEGETATION_EDGE_UM = 0.72


def brdf_factor(cos_beta, sza_deg: float, mode: int, lower_bound: float, wavelength_um: float,
                vegetation=None):
    """G = max((cos beta / cos beta_T)^e, g) where beta > beta_T, else 1 (float32)."""
    if not mode:
        return F32(1.0)
    e_other, e_veg_vis, e_veg_nir = BRDF_EXPONENTS.get(int(mode) % 10 if int(mode) > 2 else int(mode),
                                                       BRDF_EXPONENTS[1])
    cos_t = F32(math.cos(math.radians(brdf_threshold_angle(sza_deg))))
    cb = np.asarray(cos_beta, dtype=F32)
    ratio = np.clip(cb / cos_t, F32(0.0), F32(1.0))
    e = F32(e_other)
    if vegetation is not None:
        e_v = F32(e_veg_vis if wavelength_um < VEGETATION_EDGE_UM else e_veg_nir)
        e = np.where(vegetation, e_v, e)
    g = np.maximum(ratio ** e, F32(lower_bound))
    return np.where(cb < cos_t, g, F32(1.0)).astype(F32, copy=False)
