"""`SceneTableProvider`: atmospheric terms from a small 6S table made at one scene's geometry.

A scene table holds recipe-A terms (RADIATIVE_TRANSFER.md §4.2: 6S runs with ground reflectance 0)
computed directly at the exact geometry of a few scenes (sun zenith, per-band view angles, ground
altitude), on a grid of AOT550 x water vapour nodes. It serves

* the tests of the atmospheric correction (tests/data/atmcorr/sixs_scene_table.json, built by
  tools/build_sixs_forward_table.py --scene-table): the corrected surface reflectance then depends
  on 6S and the retrievals only, never on the project's big look-up table;
* a fallback for production where a table for one acquisition geometry was made on purpose.

Interpolation: the scene is chosen by the nearest sun zenith (within `sza_tolerance`; a request
farther than that raises ValueError, as does a view zenith farther than `vza_tolerance` from the
table's); ground altitude, AOT550 and water vapour are interpolated (multilinear, clamped to the
node range) - transmittances in log space, water vapour on a sqrt(u) axis, which follows
T_water ~ exp(-b sqrt(u)) closely. Relative azimuth and ozone are those of the table (checked
against `raa_tolerance`, not interpolated). Direct transmittances are exp(-tau / cos(zenith)).

JSON layout (format_version 1): {"inputs": {"aot550_nodes", "water_vapour_nodes_g_cm2",
"ozone_cm_atm", "aerosol_model", "unit"}, "scenes": [{"sun_zenith", "sun_azimuth",
"elevation_km", "view": {band: [vza, vaa]}, "bands": {band: {"path", "t_gas", "t_down", "t_up",
"s_albedo", "tau_total": [[aot][wv]]}}}]}.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple, Union

import numpy as np

from .terms import AtmosphericTerms

_TABLE_TERMS = ("path", "t_gas", "t_down", "t_up", "s_albedo", "tau_total")
_LOG_TERMS = ("t_gas", "t_down", "t_up")
_AEROSOL_NAMES = {"continental": "RURAL", "maritime": "MARITIME"}


class SceneTableProvider:
    """TermsProvider over a scene table (module notes)."""

    def __init__(self, table: Union[dict, str, Path], sza_tolerance: float = 1.0,
                 vza_tolerance: float = 1.0, raa_tolerance: float = 10.0):
        if not isinstance(table, dict):
            path = Path(table)
            table = json.loads(path.read_text())
            self.files: Tuple[str, ...] = (path.name,)
        else:
            self.files = ("scene table",)
        inputs = table["inputs"]
        self.aot_nodes = np.asarray(inputs["aot550_nodes"], dtype=np.float64)
        self.wv_nodes = np.asarray(inputs["water_vapour_nodes_g_cm2"], dtype=np.float64)
        self.ozone_du = float(inputs["ozone_cm_atm"]) * 1000.0
        self.aerosol_model = _AEROSOL_NAMES.get(str(inputs.get("aerosol_model", "")).lower(), "RURAL")
        self.unit = inputs.get("unit")
        self.description = (f"6S scene table ({inputs.get('aerosol_model')}, {self.unit}, "
                            f"{len(table['scenes'])} scenes)")
        self.sza_tolerance, self.vza_tolerance, self.raa_tolerance = (
            sza_tolerance, vza_tolerance, raa_tolerance)
        # geometries (distinct sun zenith) -> elevation nodes -> arrays [z][aot][wv]
        geos: Dict[float, List[dict]] = {}
        for scene in table["scenes"]:
            geos.setdefault(round(float(scene["sun_zenith"]), 4), []).append(scene)
        self.sun_zeniths = np.array(sorted(geos), dtype=np.float64)
        self._geo: List[dict] = []
        for sza in self.sun_zeniths:
            scenes = sorted(geos[float(sza)], key=lambda s: s["elevation_km"])
            first = scenes[0]
            bands = {}
            for band in first["bands"]:
                bands[band] = {t: np.stack([np.asarray(s["bands"][band][t], dtype=np.float64)
                                            for s in scenes]) for t in _TABLE_TERMS}
                for t in _LOG_TERMS:
                    bands[band][t] = np.log(np.maximum(bands[band][t], 1e-30))
            self._geo.append({
                "sun_zenith": float(sza), "sun_azimuth": float(first["sun_azimuth"]),
                "elevations": np.array([s["elevation_km"] for s in scenes], dtype=np.float64),
                "view": {b: (float(v[0]), float(v[1])) for b, v in first["view"].items()},
                "bands": bands,
            })
        self.bands = tuple(self._geo[0]["bands"]) if self._geo else ()
        self.aot550_range = (float(self.aot_nodes[0]), float(self.aot_nodes[-1]))
        self.water_vapour_range = (float(self.wv_nodes[0]), float(self.wv_nodes[-1]))
        zs = np.concatenate([g["elevations"] for g in self._geo])
        self.elevation_range_km = (float(zs.min()), float(zs.max()))

    @classmethod
    def from_file(cls, path: Union[str, Path], **kwargs) -> "SceneTableProvider":
        return cls(path, **kwargs)

    # ------------------------------------------------------------------------------- helpers
    @staticmethod
    def _axis(nodes: np.ndarray, x: np.ndarray, transform=None):
        """(lower index, weight of the upper node) on a node axis, clamped to the range."""
        if len(nodes) == 1:
            return np.zeros(x.shape, dtype=np.intp), np.zeros(x.shape, dtype=np.float64)
        n = nodes if transform is None else transform(nodes)
        v = np.clip(x, nodes[0], nodes[-1])
        v = v if transform is None else transform(v)
        i = np.clip(np.searchsorted(n, v, side="right") - 1, 0, len(n) - 2)
        w = (v - n[i]) / (n[i + 1] - n[i])
        return i, np.clip(w, 0.0, 1.0)

    def geometry_of(self, sza: float) -> dict:
        """The table geometry used for a sun zenith (see the module notes)."""
        k = int(np.argmin(np.abs(self.sun_zeniths - sza)))
        return self._geo[k]

    # -------------------------------------------------------------------------------- terms
    def terms(self, band: str, aot550, sza, vza, raa, elevation_km, water_vapour_cm,
              ozone_du=None) -> AtmosphericTerms:
        aot, sza_, vza_, raa_, z, wv = np.broadcast_arrays(
            *[np.asarray(v, dtype=np.float64) for v in (aot550, sza, vza, raa, elevation_km,
                                                         water_vapour_cm)])
        shape = aot.shape
        aot, sza_, vza_, raa_, z, wv = (a.ravel() for a in (aot, sza_, vza_, raa_, z, wv))
        gidx = np.abs(sza_[:, None] - self.sun_zeniths[None, :]).argmin(axis=1)
        far = np.abs(self.sun_zeniths[gidx] - sza_) > self.sza_tolerance
        if far.any():
            raise ValueError(f"sun zenith {float(sza_[far][0]):.3f} is not within "
                             f"{self.sza_tolerance} deg of a scene of the table "
                             f"({', '.join(f'{s:.3f}' for s in self.sun_zeniths)})")
        out = {t: np.empty(aot.shape, dtype=np.float64) for t in _TABLE_TERMS}
        for g in np.unique(gidx):
            sel = gidx == g
            geo = self._geo[int(g)]
            if band not in geo["bands"]:
                raise KeyError(f"band {band} is not in the scene table")
            tvza, tvaa = geo["view"][band]
            if np.any(np.abs(vza_[sel] - tvza) > self.vza_tolerance):
                raise ValueError(f"{band}: view zenith {float(vza_[sel][0]):.3f} differs from the "
                                 f"table's {tvza:.3f} by more than {self.vza_tolerance} deg")
            traa = abs(geo["sun_azimuth"] - tvaa) % 360.0
            traa = 360.0 - traa if traa > 180.0 else traa
            if np.any(np.abs(raa_[sel] - traa) > self.raa_tolerance):
                raise ValueError(f"{band}: relative azimuth {float(raa_[sel][0]):.2f} differs from "
                                 f"the table's {traa:.2f} by more than {self.raa_tolerance} deg")
            iz, wz = self._axis(geo["elevations"], z[sel])
            ia, wa = self._axis(self.aot_nodes, aot[sel])
            iw, ww = self._axis(self.wv_nodes, wv[sel], np.sqrt)
            nz = len(geo["elevations"])
            for t in _TABLE_TERMS:
                arr = geo["bands"][band][t]
                acc = np.zeros(iz.shape, dtype=np.float64)
                for dz, fz in ((0, 1.0 - wz), (1, wz)):
                    kz = np.minimum(iz + dz, nz - 1)
                    for da, fa in ((0, 1.0 - wa), (1, wa)):
                        for dw, fw in ((0, 1.0 - ww), (1, ww)):
                            acc += fz * fa * fw * arr[kz, ia + da, iw + dw]
                out[t][sel] = np.exp(acc) if t in _LOG_TERMS else acc
        mu_s = np.cos(np.radians(sza_))
        mu_v = np.cos(np.radians(vza_))
        tau = out["tau_total"]
        f32 = lambda a: a.reshape(shape).astype(np.float32)  # noqa: E731
        return AtmosphericTerms(
            path_reflectance=f32(out["path"]), gas_transmittance=f32(out["t_gas"]),
            t_down=f32(out["t_down"]), t_up=f32(out["t_up"]), spherical_albedo=f32(out["s_albedo"]),
            t_down_direct=f32(np.exp(-tau / mu_s)), t_up_direct=f32(np.exp(-tau / mu_v)))

    def __repr__(self) -> str:
        return f"SceneTableProvider({self.description})"
