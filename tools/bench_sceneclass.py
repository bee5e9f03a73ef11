#!/usr/bin/env python3
"""Benchmark of the scene classification of a full-size generated tile at 20 m: wall time of the
band reading (JPEG 2000 decoding + resampling) and of the classification, and peak memory.

    .venv/bin/python tools/bench_sceneclass.py [--product L1C.SAFE] [--work build/bench_sceneclass]
                                               [--size full_coverage|full|small] [--mode evolution|classic] [--res 20|60]

Without --product the generator's product of --size is made once in --work. The measurement is
`core.sceneclass.benchmark.run` (reading through core.sceneclass.product_inputs, then
classify_source), in a child process so that the peak resident memory is the run's own.
Target (scene-classification issue): under 60 s and under 1.5 GB peak on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports() -> None:
    import importlib.util
    if importlib.util.find_spec("sen2cor_qgis") is None:
        sys.path.insert(0, str(ROOT.parent))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--product")
    parser.add_argument("--work", default=str(ROOT / "build" / "bench_sceneclass"))
    parser.add_argument("--size", default="full_coverage",
                        choices=("full_coverage", "full", "small", "tiny"))
    parser.add_argument("--mode", default="evolution", choices=("evolution", "classic"))
    parser.add_argument("--res", type=int, default=20, choices=(20, 60))
    args = parser.parse_args(argv)
    _imports()
    product = args.product
    if not product:
        from sen2cor_qgis.tools.sample_product import generate_product
        work = Path(args.work) / args.size
        found = sorted(work.glob("S2*_MSIL1C_*.SAFE"))
        product = str(found[0]) if found else str(generate_product(work, size=args.size, truth=False,
                                                                    quiet=True))
    child = subprocess.run([sys.executable, "-m", "sen2cor_qgis.core.sceneclass.benchmark", product,
                            "--res", str(args.res), "--mode", args.mode],
                           check=True, capture_output=True, text=True)
    result = json.loads(child.stdout)
    print(f"product {result['product']} at {result['resolution']} m ({result['mode']}), grid "
          f"{result['grid'][0]} x {result['grid'][1]}")
    print(f"  read + resample  {result['read_s']:7.1f} s   (peak RSS after reading "
          f"{result['peak_rss_after_read_mb']:.0f} MB, input bands {result['input_mb']:.0f} MB)")
    print(f"  classification   {result['classify_s']:7.1f} s")
    print(f"  total            {result['read_s'] + result['classify_s']:7.1f} s   peak RSS "
          f"{result['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
