"""Closed-loop accuracy of the atmospheric correction against 6S (issue 4 evidence).

Generated L1C products whose TOA reflectance comes from 6S forward runs at each atmosphere's exact
geometry (tools/sample_product, data/sixs_forward.json and data/sixs_atmospheres.json) are
corrected at 20 m by `core.atmcorr.correct` - scene classification by `core.sceneclass`, AOT by
DDV, water vapour by APDA, ozone from AUX_ECMWFT - with the atmospheric terms of the 6S scene
table (tests/data/atmcorr/sixs_scene_table.json, recipe-A runs on an AOT550 x water-vapour grid,
interpolated by `SceneTableProvider`), never with the project's look-up table.

Criteria (issue 4): in clear-sky patch interiors at least 95 % of the pixels within
|rho - truth| <= 0.005 + 0.05 truth in every output band but B01/B09 (90 % there); AOT550 within
max(0.03, 10 %) when DDV is present; water vapour within 10 %.

* The generator has no adjacency effect (every pixel is a uniform Lambertian surface), so the
  correction runs with Adj_Km = 0 (no adjacency; spherical albedo with the pixel as its own
  background). Everything else is Sen2Cor's default configuration.
* The ground elevation is the truth's: `Altitude` 0.0 for the sea-level scenes (the GIPP default
  is 0.1 km) and a flat DEM for the 1.5 km scenes (the DEM path of the code).
* Every band is judged at 20 m: 20 m bands against the 20 m truth, 10 m bands against the 2 x 2
  mean of the 10 m truth, and the 60 m bands B01 / B09 - whose 20 m input is the bicubic /
  bilinear upsampling of the 60 m TOA (§4.5) - against the 60 m truth upsampled the same way
  (the correction is per pixel, so this isolates it from the resampling chain; comparing a
  3 x 3 block mean of the result with the 60 m truth instead adds the smoothing of the
  upsample / block-mean round trip over textured urban blocks, a few 1e-3).
* Patch interiors: pixels whose whole native-resolution neighbourhood (one native pixel around)
  is one land cover free of cloud, shadow and cirrus, inside the data.

The table is printed (always, also without -s) and written to build/atmcorr_closed_loop.txt.
All nine atmospheres on tiny products take about 15 s on 2 cores; the small product is marked
slow.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage

from sen2cor_qgis.core.atmcorr import Geometry, SceneTableProvider, correct
from sen2cor_qgis.core.config import default_config
from sen2cor_qgis.core.config.loader import apply_overrides
from sen2cor_qgis.tools.sample_product import config as sp_config
from sen2cor_qgis.tools.sample_product import generate_product
from sen2cor_qgis.tools.sample_product.generator import truth_dir_for

gdal.UseExceptions()
REPO = Path(__file__).resolve().parents[1]
SCENE_TABLE = REPO / "tests" / "data" / "atmcorr" / "sixs_scene_table.json"
REPORT = REPO / "build" / "atmcorr_closed_loop.txt"
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12")
NATIVE = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B8A": 20,
          "B09": 60, "B11": 20, "B12": 20}
LOOSE_BANDS = ("B01", "B09")
_RESULTS: Dict[str, dict] = {}


# ------------------------------------------------------------------------------------ helpers
def _read(path):
    ds = gdal.Open(str(path))
    return ds.GetRasterBand(1).ReadAsArray()


def _block(a, f, fn=np.mean):
    h, w = a.shape
    return fn(a[: h // f * f, : w // f * f].reshape(h // f, f, w // f, f), axis=(1, 3))


def interiors(tdir: Path) -> Dict[int, np.ndarray]:
    """Interior masks at 10, 20 and 60 m (module notes)."""
    lc = _read(tdir / "LANDCOVER_10m.tif")
    clear = lc > 0
    for name in ("CLOUD_FRACTION_10m.tif", "CLOUD_SHADOW_10m.tif", "CIRRUS_10m.tif"):
        clear &= _read(tdir / name) == 0
    out = {}
    for res in (10, 20, 60):
        f = res // 10
        size = 3 * f                      # one native pixel around
        inner = np.zeros(lc.shape, dtype=bool)
        for code in np.unique(lc[lc > 0]):
            m = (lc == code) & clear
            inner |= ndimage.minimum_filter(m.astype(np.uint8), size=size, mode="constant") > 0
        out[res] = _block(inner, f, np.all) if f > 1 else inner
    return out


def load_and_correct(safe: Path, provider, overrides=None, dem_km=None):
    """Read a generated product at 20 m, classify it and correct it; returns (result, inputs)."""
    from sen2cor_qgis.core.product.l1c_reader import read_l1c
    from sen2cor_qgis.core.sceneclass.product_inputs import (BANDS_20_60, classify_product,
                                                             product_source)
    cfg = apply_overrides(default_config(), dict({"Adj_Km": 0.0}, **(overrides or {})))
    product = read_l1c(safe)
    source, nodata, sat = product_source(product, 20, bands=BANDS_20_60)   # every band, as DN
    sc = classify_product(product, 20, config=cfg, inputs=(source, nodata, sat))
    lat = float(np.mean([p[0] for p in product.footprint]))
    dem = None if dem_km is None else np.full(nodata.shape, dem_km * 1000.0, dtype=np.float32)
    aux = product.granule.auxiliary
    t0 = time.perf_counter()
    result = correct(source, nodata, sc.scl, Geometry.from_product(product, 20), dem=dem, config=cfg,
                     terms_provider=provider, resolution=20, aux_ozone_du=aux.mean_ozone_du,
                     cams_aod550=aux.mean_aod550, latitude=lat, date=product.granule.sensing_time,
                     with_offset=product.has_radiometric_offset)
    result.seconds = time.perf_counter() - t0
    return result, sc


def evaluate(name: str, safe: Path, result) -> dict:
    tdir = truth_dir_for(safe)
    truth = json.loads((tdir / "truth.json").read_text())
    inner = interiors(tdir)
    row = {"atmosphere": name, "bands": {}, "aot_truth": truth["atmosphere"]["aot550"],
           "wv_truth": truth["atmosphere"]["water_vapour_g_cm2"],
           "method": result.quality["AOT_RETRIEVAL_METHOD"], "seconds": result.seconds}
    for band in BANDS:
        sr = _read(tdir / f"SR_{band}.tif").astype(np.float64)
        ours = result.boa[band].astype(np.float64)
        if NATIVE[band] == 60:
            from sen2cor_qgis.core.raster.resample import upsample_spline, upsampling_order
            filled = np.where(np.isfinite(sr), sr, np.nanmean(sr))
            ref = upsample_spline(filled, 3, upsampling_order(band)).astype(np.float64)
            ref[np.repeat(np.repeat(~np.isfinite(sr), 3, 0), 3, 1)] = np.nan
            mask = inner[20] & np.repeat(np.repeat(inner[60], 3, 0), 3, 1)
        elif NATIVE[band] == 10:
            ref, mask = _block(sr, 2), inner[20]
        else:
            ref, mask = sr, inner[20]
        mask = mask & np.isfinite(ref) & np.isfinite(ours)
        err = np.abs(ours[mask] - ref[mask])
        ok = err <= 0.005 + 0.05 * ref[mask]
        row["bands"][band] = {"share": 100.0 * ok.mean(), "n": int(mask.sum()),
                              "bias": float(np.mean(ours[mask] - ref[mask])), "p95": float(np.percentile(err, 95))}
    land = inner[20] & np.isin(_block(_read(tdir / "LANDCOVER_10m.tif"), 2, np.max), (1, 2, 3, 4))
    row["aot"] = float(np.nanmean(result.aot550[land]))
    row["wv"] = float(np.nanmean(result.water_vapour[land]))
    row["ddv"] = result.quality["DDV_PIXEL_PERCENTAGE"]
    return row


def format_table(rows) -> str:
    head = ("atmosphere     AOT true/ret   WV true/ret   method       " +
            " ".join(f"{b:>6}" for b in BANDS))
    lines = ["Closed loop (share of interior pixels within 0.005 + 0.05 truth, %; AOT550; WV cm)", head]
    for r in rows:
        shares = " ".join(f"{r['bands'][b]['share']:6.1f}" for b in BANDS)
        lines.append(f"{r['atmosphere']:<14} {r['aot_truth']:.2f}/{r['aot']:.3f}   "
                     f"{r['wv_truth']:.1f}/{r['wv']:.2f}    {r['method']:<12} {shares}")
    for title, key in (("bias (ours - truth) x 1e4:", "bias"), ("95th percentile of |ours - truth| x 1e4:", "p95")):
        lines.append(title)
        for r in rows:
            lines.append(f"{r['atmosphere']:<14} " + " ".join(f"{1e4 * r['bands'][b][key]:6.0f}" for b in BANDS))
    lines.append("interior pixels per band (20 m): " + ", ".join(
        f"{r['atmosphere']} {min(v['n'] for v in r['bands'].values())}-{max(v['n'] for v in r['bands'].values())}"
        for r in rows))
    return "\n".join(lines)


def check_row(row) -> list:
    problems = []
    for band, v in row["bands"].items():
        need = 90.0 if band in LOOSE_BANDS else 95.0
        if v["n"] < 20:
            problems.append(f"{band}: only {v['n']} interior pixels")
        elif v["share"] < need:
            problems.append(f"{band}: {v['share']:.1f} % < {need} %")
    if row["method"] == "SEN2COR_DDV":
        tol = max(0.03, 0.1 * row["aot_truth"])
        if abs(row["aot"] - row["aot_truth"]) > tol:
            problems.append(f"AOT {row['aot']:.3f} vs {row['aot_truth']} (tolerance {tol:.3f})")
    if abs(row["wv"] - row["wv_truth"]) > 0.1 * row["wv_truth"]:
        problems.append(f"WV {row['wv']:.3f} vs {row['wv_truth']}")
    return problems


# -------------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def provider():
    if not SCENE_TABLE.exists():
        pytest.fail(f"missing {SCENE_TABLE} (tools/build_sixs_forward_table.py --scene-table)")
    return SceneTableProvider(SCENE_TABLE)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("closed_loop")


def _case(name, provider, workdir, size="tiny"):
    key = f"{name}/{size}"
    if key not in _RESULTS:
        safe = generate_product(workdir / name / size, size=size, spacecraft="S2B", atmosphere=name)
        alt = sp_config.atmosphere_parameters(name)["target_altitude_km"]
        result, _ = load_and_correct(safe, provider, overrides={"Altitude": 0.0},
                                     dem_km=alt if alt else None)
        _RESULTS[key] = evaluate(name if size == "tiny" else f"{name} ({size})", safe, result)
    return _RESULTS[key]


def _report(capsys, rows):
    text = format_table(rows)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with capsys.disabled():
        print("\n" + text)
    return text


@pytest.mark.parametrize("name", tuple(sp_config.ATMOSPHERES))
def test_closed_loop(name, provider, workdir):
    row = _case(name, provider, workdir)
    assert row["method"] == "SEN2COR_DDV"
    assert not check_row(row), check_row(row)


def test_closed_loop_table(provider, workdir, capsys):
    """All atmospheres (tiny products): prints the table and writes build/atmcorr_closed_loop.txt."""
    rows = [_case(name, provider, workdir) for name in sp_config.ATMOSPHERES]
    text = _report(capsys, rows)
    REPORT.write_text(text + "\n")
    problems = {r["atmosphere"]: check_row(r) for r in rows}
    assert not any(problems.values()), problems


@pytest.mark.slow
def test_closed_loop_small_product(provider, workdir, capsys):
    """The default atmosphere on the small product (915 x 915 pixels at 20 m, more land-cover
    interiors, snow fields); its row is appended to the report."""
    row = _case("default", provider, workdir, size="small")
    text = _report(capsys, [row])
    with REPORT.open("a") as fh:
        fh.write(text.splitlines()[2] + "\n")
    assert not check_row(row), check_row(row)
