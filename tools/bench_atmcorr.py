#!/usr/bin/env python3
"""Benchmark of the atmospheric correction on a full-size generated tile at 20 m.

    .venv/bin/python tools/bench_atmcorr.py [--product PATH.SAFE] [--work build/bench_atmcorr]
                                            [--size full_coverage|full|small] [--table tests/data/atmcorr/sixs_scene_table.json]

Generates (once, cached in --work) the full-size sample product (default full_coverage: 10980 x
10980 at 10 m with data in every pixel; 'full' has data in the central 5490 x 5490 window only),
reads the 12 bands at 20 m as L1C DN into an HDF5 work database (as the pipeline does: the
correction reads them strip by strip), runs the scene classification (for the SCL the
correction needs; timed separately) and `core.atmcorr.correct` with the 6S scene table (Altitude
0: the scene is at sea level), the output bands handed to a sink that encodes them (uint16 DN)
and drops them - as the pipeline's writer would after writing. Prints wall time and peak memory
(process RSS sampled every 20 ms, and numpy/Python allocations by tracemalloc) per stage; the
correction's own stages come from its
progress messages. Targets (issue 4): the whole 20 m correction under 120 s and 1.5 GB peak.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports():
    import importlib.util
    if importlib.util.find_spec("sen2cor_qgis") is None:      # not installed: the checkout's parent
        sys.path.insert(0, str(ROOT.parent))
    from sen2cor_qgis.core.atmcorr import Geometry, SceneTableProvider, correct
    from sen2cor_qgis.core.config import default_config
    from sen2cor_qgis.core.product.l1c_reader import read_l1c
    from sen2cor_qgis.core.sceneclass.product_inputs import BANDS_20_60, classify_product, product_source
    from sen2cor_qgis.tools.sample_product import generate_product
    return (Geometry, SceneTableProvider, correct, default_config, read_l1c, BANDS_20_60,
            product_source, classify_product, generate_product)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Monitor:
    """Per-stage wall time and peak RSS (sampling thread) and tracemalloc peak."""

    def __init__(self, interval: float = 0.02):
        self.stage = "start"
        self.t0 = time.perf_counter()
        self.times: dict = {}
        self.rss: dict = {}
        self.py: dict = {}
        self.order: list = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval):
        while not self._stop:
            r = rss_mb()
            self.rss[self.stage] = max(self.rss.get(self.stage, 0.0), r)
            time.sleep(interval)

    def enter(self, stage: str) -> None:
        if stage == self.stage:
            return
        now = time.perf_counter()
        self.times[self.stage] = self.times.get(self.stage, 0.0) + now - self.t0
        if tracemalloc.is_tracing():
            self.py[self.stage] = max(self.py.get(self.stage, 0.0), tracemalloc.get_traced_memory()[1] / 2 ** 20)
            tracemalloc.reset_peak()
        self.t0 = now
        self.rss[stage] = max(self.rss.get(stage, 0.0), rss_mb())
        self.stage = stage
        if stage not in self.order:
            self.order.append(stage)

    def stop(self) -> None:
        self.enter("end")
        self._stop = True


def stage_of(message: str) -> str:
    m = message.lower()
    for key, name in (("set-up", "ac: set-up"), ("sampling", "ac: sample"),
                      ("aerosol", "ac: aerosol"), ("water vapour", "ac: water vapour"),
                      ("surface reflectance", "ac: surface reflectance"), ("done", "ac: done")):
        if key in m:
            return name
    return "ac: other"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--product", type=Path, default=None, help="an existing L1C .SAFE")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "bench_atmcorr")
    ap.add_argument("--size", choices=("full_coverage", "full", "small", "tiny"),
                    default="full_coverage")
    ap.add_argument("--table", type=Path, default=ROOT / "tests" / "data" / "atmcorr" / "sixs_scene_table.json")
    ap.add_argument("--no-tracemalloc", action="store_true", help="RSS only (tracemalloc slows numpy a little)")
    ap.add_argument("--adj-km", type=float, default=None, help="override Adj_Km (default: the GIPP's 1.0)")
    args = ap.parse_args(argv)
    (Geometry, SceneTableProvider, correct, default_config, read_l1c, BANDS_20_60,
     product_source, classify_product, generate_product) = _imports()
    import numpy as np

    safe = args.product
    if safe is None:
        args.work.mkdir(parents=True, exist_ok=True)
        found = sorted(args.work.glob(f"{args.size}/*.SAFE"))
        if found:
            safe = found[0]
        else:
            t = time.perf_counter()
            print(f"generating the {args.size} sample product in {args.work / args.size} ...", flush=True)
            safe = generate_product(args.work / args.size, size=args.size, truth=False)
            print(f"  generated in {time.perf_counter() - t:.0f} s", flush=True)
    print(f"product: {safe}")
    from sen2cor_qgis.core.config.loader import apply_overrides
    # the generated scene lies at sea level (no DEM): Altitude 0 instead of the GIPP's default
    cfg = apply_overrides(default_config(), {"Altitude": 0.0})
    if args.adj_km is not None:
        cfg = apply_overrides(cfg, {"Adj_Km": args.adj_km})
    provider = SceneTableProvider(args.table)
    if not args.no_tracemalloc:
        tracemalloc.start()
    mon = Monitor()
    mon.enter("read bands (20 m DN)")
    product = read_l1c(safe)
    # every band as DN in a chunked HDF5 work database, strip by strip, as the pipeline reads them
    from sen2cor_qgis.core.raster.workdb import WorkDatabase
    database = WorkDatabase(args.work, "bench_atmcorr_20m_imgdb")
    source, nodata, sat = product_source(product, 20, bands=BANDS_20_60, database=database)
    shape = nodata.shape
    mon.enter("scene classification")
    sc = classify_product(product, 20, config=cfg, inputs=(source, nodata, sat))
    scl = sc.scl
    del sc, sat
    geometry = Geometry.from_product(product, 20)
    aux = product.granule.auxiliary
    written = {}

    def sink(band, array):
        written[band] = int(np.count_nonzero(array))

    mon.enter("ac: set-up")
    t_ac = time.perf_counter()
    result = correct(source, nodata, scl, geometry, config=cfg, terms_provider=provider, resolution=20,
                     aux_ozone_du=aux.mean_ozone_du, cams_aod550=aux.mean_aod550,
                     latitude=float(np.mean([p[0] for p in product.footprint])),
                     date=product.granule.sensing_time, with_offset=product.has_radiometric_offset,
                     output="dn", sink=sink, release_inputs=True,
                     progress=lambda f, m: mon.enter(stage_of(m)))
    ac_seconds = time.perf_counter() - t_ac
    mon.stop()
    database.close()
    peak_total = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"\ngrid {shape[0]} x {shape[1]} at 20 m, valid pixels {100 * (~nodata).mean():.1f} %, "
          f"{len(written)} bands corrected, cores {os.cpu_count()}")
    print(f"{'stage':<28}{'wall s':>9}{'peak RSS MB':>13}{'peak numpy/py MB':>18}")
    for stage in mon.order:
        if stage == "end":
            continue
        print(f"{stage:<28}{mon.times.get(stage, 0.0):9.1f}{mon.rss.get(stage, 0.0):13.0f}"
              f"{mon.py.get(stage, float('nan')):18.0f}")
    print(f"{'atmospheric correction':<28}{ac_seconds:9.1f}{max(v for k, v in mon.rss.items() if k.startswith('ac')):13.0f}")
    print(f"process peak RSS {peak_total:.0f} MB")
    print("correction's own timings:", {k: round(v, 1) for k, v in result.timings.items()})
    q = result.quality
    print(f"AOT method {q['AOT_RETRIEVAL_METHOD']}, mean AOT {q['GRANULE_MEAN_AOT']:.3f}, mean WV "
          f"{q['GRANULE_MEAN_WV']:.2f} cm, DDV {q['DDV_PIXEL_PERCENTAGE']:.1f} %, adjacency "
          f"{q['details']['adjacency']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
