#!/usr/bin/env python3
"""Batch throughput and scaling: N generated products converted with 1 worker, then 2 (L2A_Batch's
engine, core.batch.run_batch, on a local Dask cluster of worker processes).

    .venv/bin/python tools/bench_batch.py                       # 8 small products, 1 vs 2 workers
    .venv/bin/python tools/bench_batch.py --products 16 --size tiny --workers 1 2

The default conversion is the full L2A processing (`--processing full`: classification,
atmospheric correction, 20 + 10 + 60 m). `--processing sc_only` runs the scene classification
only and `--processing cr_only` the product tree (under a second a product: the figures then
measure the batch engine itself - scheduling, state, events, per-product overhead). Products
are generated once into --data (reused).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports():
    try:
        import sen2cor_qgis  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(ROOT.parent))
    from sen2cor_qgis.core.batch import ClusterSpec, run_batch
    from sen2cor_qgis.core.pipeline import ProcessingOptions
    from sen2cor_qgis.tools.sample_product import generate_product
    return ClusterSpec, run_batch, ProcessingOptions, generate_product


def make_products(data: Path, count: int, size: str, generate_product) -> list:
    data.mkdir(parents=True, exist_ok=True)
    products = []
    for i in range(count):
        date = f"2023-07-{i + 1:02d}"
        existing = sorted(data.glob(f"S2B_MSIL1C_202307{i + 1:02d}T*.SAFE"))
        if existing:
            products.append(existing[0])
            continue
        started = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            products.append(generate_product(data, size=size, seed=100 + i, date=date, truth=False))
        print(f"  generated {products[-1].name} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return products


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument("--size", choices=("tiny", "small", "full"), default="small")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3, help="runs per worker count (best and median shown)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "sen2cor_bench_batch",
                        help="folder of the generated L1C products (kept for the next run)")
    parser.add_argument("--processing", choices=("cr_only", "sc_only", "full"), default="full",
                        help="what each product goes through (default: the full L2A processing)")
    parser.add_argument("--resolution", type=int, choices=(10, 20, 60), default=None)
    parser.add_argument("--threads-per-product", type=int, default=None,
                        help="Nr_Threads of each product (default: the GIPP's, AUTO = all cores)")
    parser.add_argument("--memory-per-product", default="1GB")
    args = parser.parse_args(argv)
    ClusterSpec, run_batch, ProcessingOptions, generate_product = _imports()

    print(f"products: {args.products} x {args.size}, generated in {args.data}", file=sys.stderr)
    data = args.data / args.size
    products = make_products(data, args.products, args.size, generate_product)
    work = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    home = work / "sen2cor_home"
    mode = {"full": "full L2A processing", "sc_only": "--sc_only (scene classification)",
            "cr_only": "--cr_only (product tree + metadata)"}[args.processing]
    if args.resolution:
        mode += f", {args.resolution} m"
    if args.threads_per_product:
        mode += f", Nr_Threads {args.threads_per_product}"
    rows = []
    try:
        for workers in args.workers:
            busy, wall = [], []
            for run in range(args.repeat):
                out = work / f"w{workers}_r{run}"
                options = ProcessingOptions(cr_only=args.processing == "cr_only",
                                            sc_only=args.processing == "sc_only", resolution=args.resolution,
                                            output_dir=str(out), sen2cor_home=str(home),
                                            overrides=({"nr_threads": args.threads_per_product}
                                                       if args.threads_per_product else {}))
                spec = ClusterSpec(kind="local", workers=workers, threads_per_worker=1,
                                   memory_per_product=args.memory_per_product, dashboard_address=":0")
                summary = run_batch(products, options, spec, progress_file=False, handle_sigint=True)
                if summary.outcome != "complete" or summary.done_now != len(products):
                    print(f"run failed: {summary.outcome} {summary.failures}", file=sys.stderr)
                    return 1
                busy.append(summary.busy_seconds)
                wall.append(summary.wall_seconds)
                per_product = statistics.median(summary.seconds)
                shutil.rmtree(out, ignore_errors=True)
            best = min(busy)
            rows.append((workers, best, statistics.median(busy), statistics.median(wall), per_product))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nL2A_Batch engine, {len(products)} {args.size} products, {mode}")
    print(f"{'workers':>7}  {'conversion s':>12}  {'median s':>8}  {'wall s':>7}  {'products/min':>12}  "
          f"{'per product s':>13}  {'scaling':>7}")
    base = rows[0][1]
    for workers, best, median, wall, per_product in rows:
        print(f"{workers:>7}  {best:>12.2f}  {median:>8.2f}  {wall:>7.2f}  {60 * len(products) / best:>12.1f}  "
              f"{per_product:>13.3f}  {base / best:>6.2f}x")
    print("conversion s: first submission to last result (best of runs); wall s: whole call incl. "
          "configuration and cluster start (median); scaling: throughput relative to the first row.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
