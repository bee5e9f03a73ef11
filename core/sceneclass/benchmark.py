"""Benchmark of the scene classification on one product at 20 m: wall time and peak memory.

    safe=$(.venv/bin/python tools/make_sample_product.py --size full --output-dir /tmp/b --quiet)
    taskset -c 0,1 .venv/bin/python -m sen2cor_qgis.core.sceneclass.benchmark "$safe" [--mode classic] [--res 60]

Reading (JPEG 2000 decoding and resampling to the working grid, `product_inputs`) and the
classification itself are timed separately; the peak memory is the process's maximum resident
set size (it includes the input bands held as uint16, 2 bytes per pixel and band). `taskset -c 0,1`
limits the run to the 2 cores of the issue's target. (The engine does not import tools/: a
tools/ wrapper can generate the product and call `main`.)
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Dict, List, Optional


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(safe: str, resolution: int = 20, mode: str = "evolution") -> Dict[str, object]:
    from ..product.l1c_reader import read_l1c
    from .classify import classify_source
    from .product_inputs import product_source

    t0 = time.perf_counter()
    product = read_l1c(safe)
    source, nodata, saturated = product_source(product, resolution)
    t_read = time.perf_counter() - t0
    peak_read = _peak_mb()
    g = product.granule
    t1 = time.perf_counter()
    result = classify_source(source, nodata, saturated=saturated, sun_zenith=g.mean_sun_zenith,
                             sun_azimuth=g.mean_sun_azimuth, resolution=resolution, mode=mode)
    t_cls = time.perf_counter() - t1
    return {
        "product": product.safe_name, "resolution": resolution, "mode": mode,
        "grid": list(source.shape), "read_s": round(t_read, 2), "classify_s": round(t_cls, 2),
        "peak_rss_after_read_mb": round(peak_read, 1), "peak_rss_mb": round(_peak_mb(), 1),
        "input_mb": round(sum(a.nbytes for a in source.arrays.values()) / 2 ** 20, 1),
        "percentages": {k: round(v, 3) for k, v in result.percentages().items()},
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("product", help="L1C .SAFE folder, .zip or MTD file")
    parser.add_argument("--res", type=int, default=20, choices=(20, 60))
    parser.add_argument("--mode", default="evolution", choices=("evolution", "classic"))
    args = parser.parse_args(argv)
    print(json.dumps(run(args.product, args.res, args.mode), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
