#!/usr/bin/env python3
"""Make a synthetic, realistic Sentinel-2 L1C product (compact SAFE) with its truth beside it.

    .venv/bin/python tools/make_sample_product.py --size small --output-dir DIR --quiet

prints only the path of the generated .SAFE folder on stdout. See tools/sample_product/README.md.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _import_generator():
    try:
        from sen2cor_qgis.tools.sample_product.generator import generate_product
    except ImportError:                      # not installed: import from the repository root
        sys.path.insert(0, str(ROOT))
        from tools.sample_product.generator import generate_product
    return generate_product


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "small", "full", "full_coverage"), default="small",
                        help="tiny: 240 px at 10 m (unit tests); small: 1830 px (demo); "
                             "full: 10980 px tile, data in the central 5490 px (benchmarks); "
                             "full_coverage: 10980 px tile with data everywhere (pipeline "
                             "benchmark; about 12 GB of memory)")
    parser.add_argument("--output-dir", type=Path, default=Path("."))
    parser.add_argument("--baseline", default="05.09",
                        help="processing baseline, e.g. 05.09 (offset -1000, JP2 masks, CAMS) or "
                             "02.07 (no offset, GML masks, no AUX_CAMSFO)")
    parser.add_argument("--spacecraft", choices=("S2A", "S2B", "S2C"), default="S2B")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tile", default=None, help="MGRS tile (default 34UDD, the 6S table scene)")
    parser.add_argument("--date", default=None,
                        help="sensing date YYYY-MM-DD[THH:MM:SS] (default 2023-04-12, the 6S table scene)")
    parser.add_argument("--zip", action="store_true", help="also write <product>.zip")
    parser.add_argument("--no-truth", action="store_true", help="do not write <product>.truth/")
    parser.add_argument("--quiet", action="store_true", help="print only the .SAFE path")
    parser.add_argument("--relief", choices=("flat", "mountain", "alpine"), default="flat",
                        help="mountain: synthetic ridges and valleys (0.03-0.7 km, slopes up to 34 "
                             "deg; tiny/small, default atmosphere), DEM written beside the product "
                             "as <product>_DEM.tif; alpine: the same with more than 1 km of relief "
                             "(0.15-1.45 km, slopes up to 35 deg)")
    args = parser.parse_args(argv)

    generate_product = _import_generator()
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda msg, *a, **k: print(f"warning: {msg}", file=sys.stderr)
        safe = generate_product(args.output_dir, size=args.size, baseline=args.baseline,
                                spacecraft=args.spacecraft, seed=args.seed, tile=args.tile,
                                date=args.date, zip_product=args.zip, truth=not args.no_truth,
                                quiet=args.quiet, relief=args.relief)
    if not args.quiet:
        print(f"generated in {time.time() - t0:.1f} s", file=sys.stderr)
    print(safe.resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
