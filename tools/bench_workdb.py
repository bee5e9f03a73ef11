"""Benchmark of the work database (core/raster/workdb.py): write and strip-read throughput and
file size of one uint16 band per Database_Compression_Level and chunk shape.

    .venv/bin/python -m sen2cor_qgis.tools.bench_workdb [--size 5490] [--levels 0 1 5 9]

The band is a real Sentinel-2 60 m band from ../shared/fixtures/real_bands mirrored to the size
(a natural texture: synthetic noise would make compression look much worse, constant data much
better); without the fixture a smooth field with sensor-like noise is used. Reads go strip by
strip over the full width, as the correction (128 rows) and the classification (512 rows) do.
MB/s counts the uncompressed bytes (2 per pixel).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from sen2cor_qgis.core.raster.workdb import WorkDatabase

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real_bands" / \
    "T29SQB_20170904_B01.jp2"


def test_band(size: int) -> Tuple[np.ndarray, str]:
    """A size x size uint16 band and a word on where it comes from."""
    try:
        from osgeo import gdal
        ds = gdal.Open(str(FIXTURE))
        base = ds.GetRasterBand(1).ReadAsArray().astype(np.uint16) if ds is not None else None
    except Exception:
        base = None
    if base is not None:
        reps = -(-size // min(base.shape))
        tiled = np.block([[base if (i + j) % 2 == 0 else base[::-1, ::-1] for j in range(reps)]
                          for i in range(reps)])
        return np.ascontiguousarray(tiled[:size, :size]), f"{FIXTURE.name} mirrored"
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    field = 1500 + 800 * np.sin(6 * x) * np.cos(4 * y) + rng.normal(0, 25, (size, size))
    return np.clip(field, 1, 65535).astype(np.uint16), "synthetic field + noise"


def run_one(band: np.ndarray, folder: Path, level: int, chunk: Tuple[int, Optional[int]],
            complib: str) -> dict:
    mb = band.nbytes / 1e6
    with WorkDatabase(folder, "bench", compression_level=level, complib=complib,
                      chunk_rows=chunk[0], chunk_cols=chunk[1]) as db:
        t0 = time.perf_counter()
        db.put("B01", band)
        db.flush()
        t_write = time.perf_counter() - t0
        size = db.size_bytes()
        reads = {}
        for rows in (128, 512):
            t0 = time.perf_counter()
            total = 0
            for _, strip in db.strips("B01", rows):
                total += int(strip[0, 0])
            reads[rows] = time.perf_counter() - t0
        assert np.array_equal(db.read("B01", 1000, 1100, 7, 4000), band[1000:1100, 7:4000])
    return {"level": level, "chunk": f"{chunk[0]}x{'full' if chunk[1] is None else chunk[1]}",
            "write": mb / t_write, "read128": mb / reads[128], "read512": mb / reads[512],
            "size_mb": size / 1e6, "ratio": band.nbytes / size}


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5490)
    parser.add_argument("--levels", type=int, nargs="+", default=[0, 1, 5, 9])
    parser.add_argument("--complib", default="zlib")
    parser.add_argument("--dir", default=None, help="folder of the database files (default: temp)")
    args = parser.parse_args(argv)
    band, origin = test_band(args.size)
    print(f"band {band.shape[0]} x {band.shape[1]} uint16 ({band.nbytes / 1e6:.1f} MB), {origin}, "
          f"complib {args.complib}")
    print(f"{'level':>5} {'chunk':>10} {'write MB/s':>10} {'read128 MB/s':>12} "
          f"{'read512 MB/s':>12} {'file MB':>8} {'ratio':>6}")
    results = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for level in args.levels:
            for chunk in ((128, None), (256, 256)):
                r = run_one(band, Path(tmp), level, chunk, args.complib)
                results.append(r)
                print(f"{r['level']:>5} {r['chunk']:>10} {r['write']:>10.0f} {r['read128']:>12.0f} "
                      f"{r['read512']:>12.0f} {r['size_mb']:>8.1f} {r['ratio']:>6.2f}", flush=True)
    return results


if __name__ == "__main__":
    main()
