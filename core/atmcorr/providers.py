"""The look-up tables one product is corrected with (reference §4.6, §6.2, §6.4.7).

`providers_for_product` loads the project's 6S table (core.atmcorr.lut) integrated with the
product's own spectral responses (MTD_MSIL1C Spectral_Information: S2A, S2B and S2C are each
corrected with their own response; the gas tables are those of the product's unit), one table
per aerosol model the configuration asks for, and checks - before anything is written - that the
table covers the scene: sun zenith range of the tile (clipped to 70 deg as Sen2Cor), view zenith
(clipped to 12 deg), ground elevation range and the whole AOT550 axis (the retrieval may move
anywhere between 5 and 120 km visibility).

The table is built offline in stages (lut/README.md); while it is incomplete a scene outside
the finished part is refused with a one-line LUTNotAvailableError naming what is missing, never
corrected with clamped (wrong) terms. With Aerosol_Type AUTO a model whose table does not cover
the scene is left out (logged): the retrieval then runs with the other model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .geometry import MAX_SUN_ZENITH, MAX_VIEW_ZENITH
from .lut import AtmosphereLUT, LUTNotAvailableError
from .lut import grid as lut_grid

MODELS = ("RURAL", "MARITIME")


@dataclass
class SceneEnvelope:
    """The extreme values of the table inputs over one scene."""

    sun_zenith: Tuple[float, float]
    view_zenith_max: float
    elevation_km: Tuple[float, float]

    @classmethod
    def of_product(cls, product: Any, elevation_km: Tuple[float, float]) -> "SceneEnvelope":
        g = product.granule
        zen = np.asarray(getattr(g.sun_angles, "zenith", None) if g.sun_angles is not None else [],
                         dtype=np.float64)
        zen = zen[np.isfinite(zen) & (zen > 0)]
        if zen.size == 0:
            zen = np.array([float(g.mean_sun_zenith)])
        views = [v[0] for v in g.mean_viewing_angles.values() if v and v[0] is not None]
        views = [float(v) for v in views if np.isfinite(float(v))] or [0.0]
        return cls(sun_zenith=(min(float(zen.min()), MAX_SUN_ZENITH), min(float(zen.max()), MAX_SUN_ZENITH)),
                   view_zenith_max=min(max(views), MAX_VIEW_ZENITH),
                   elevation_km=(float(elevation_km[0]), float(elevation_km[1])))


@dataclass
class ProviderChoice:
    """The tables of one run: {Sen2Cor aerosol name: AtmosphereLUT} and what was left out."""

    providers: Dict[str, AtmosphereLUT]
    response_source: str
    notes: List[str] = field(default_factory=list)

    @property
    def files(self) -> List[str]:
        return sorted({f for p in self.providers.values() for f in p.files})


def product_responses(product: Any) -> Dict[str, Tuple[float, np.ndarray]]:
    """{band: (first wavelength nm, response at 1 nm steps)} from the product metadata."""
    out: Dict[str, Tuple[float, np.ndarray]] = {}
    for name, band in product.bands.items():
        values = np.asarray(band.response, dtype=np.float64)
        if values.size < 2:
            continue
        step = float(band.response_step or 1.0)
        if abs(step - 1.0) > 1e-6:
            wl = band.response_wavelengths
            grid = np.arange(wl[0], wl[-1] + 1e-9, 1.0)
            values = np.interp(grid, wl, values)
        out[name] = (float(band.wavelength_min), values)
    return out


def _missing(cov, env: SceneEnvelope, nodes_aot: Tuple[float, ...]) -> List[str]:
    """What the covered box of `cov` lacks for the scene (empty: usable)."""
    if not cov.ranges:
        return ["no scattering node computed yet"]
    out = []
    lo, hi = cov.ranges["aot550"]
    if lo > min(nodes_aot) + 1e-9 or hi < max(nodes_aot) - 1e-9:
        out.append(f"AOT550 {lo:g}..{hi:g} of {min(nodes_aot):g}..{max(nodes_aot):g}")
    for label, (want_lo, want_hi), key in (
            ("sun zenith", env.sun_zenith, "sza"),
            ("elevation", env.elevation_km, "elevation_km")):
        lo, hi = cov.ranges[key]
        if want_lo < lo - 1e-6 or want_hi > hi + 1e-6:
            unit = " km" if key == "elevation_km" else " deg"
            out.append(f"{label} {want_lo:.2f}..{want_hi:.2f}{unit} outside {lo:g}..{hi:g}{unit}")
    lo, hi = cov.ranges["vza"]
    if env.view_zenith_max > hi + 1e-6:
        out.append(f"view zenith {env.view_zenith_max:.1f} deg outside {lo:g}..{hi:g} deg")
    if lo > 0 + 1e-6 or cov.ranges["raa"] != (0.0, 180.0):
        out.append(f"relative azimuth {cov.ranges['raa'][0]:g}..{cov.ranges['raa'][1]:g} of 0..180 deg")
    if cov.missing_gas_bands:
        out.append("gas tables of " + " ".join(cov.missing_gas_bands))
    return out


def providers_for_product(product: Any, aerosol_type: str, envelope: SceneEnvelope,
                          log: Optional[logging.Logger] = None,
                          path: Optional[str] = None) -> ProviderChoice:
    """Load and check the tables of one product (module notes). Raises LUTNotAvailableError."""
    lg = log or logging.getLogger("sen2cor_qgis")
    wanted = str(aerosol_type).upper()
    models = MODELS if wanted == "AUTO" else (wanted,)
    if wanted not in MODELS + ("AUTO",):
        raise LUTNotAvailableError(f"Aerosol_Type {aerosol_type!r}: expected RURAL, MARITIME or AUTO")
    responses = product_responses(product)
    unit = product.spacecraft
    providers: Dict[str, AtmosphereLUT] = {}
    notes: List[str] = []
    refused: List[str] = []
    for model in models:
        if responses:
            lut = AtmosphereLUT.load(responses, aerosol=model, unit=unit, path=path)
        else:
            lut = AtmosphereLUT.load(unit, aerosol=model, path=path)
        cov = lut.coverage
        problems = _missing(cov, envelope, tuple(lut_grid.AOT550))
        if problems:
            refused.append(f"{model} ({'; '.join(problems)})")
            continue
        providers[model] = lut
    if not providers:
        raise LUTNotAvailableError(
            "the 6S look-up table does not cover this scene yet: " + ", ".join(refused) +
            " - finish it with tools/build_lut.py (core/atmcorr/lut/README.md)")
    if refused:
        note = ("aerosol type AUTO: " + ", ".join(refused) + " not covered by the 6S look-up "
                f"table; the retrieval runs with {', '.join(providers)} only")
        notes.append(note)
        lg.warning(note)
    source = next(iter(providers.values())).response_source
    lg.info("6S look-up table: %s, %s, aerosol %s", unit, source, ", ".join(providers))
    return ProviderChoice(providers=providers, response_source=source, notes=notes)
