"""Terrain correction closed loop: a mountain product through the whole L2A chain.

The generator's relief (tools/sample_product, `relief="mountain"`) gives the tiny product an
analytic DEM of Gaussian ridges and valleys (0.2-0.6 km, slopes up to 34 deg) and makes the TOA
reflectance terrain-dependent with the Lambertian terrain model of reference §6.7 (direct light x
cos(beta)/cos(SZA), sky light x sky-view factor, terrain reflection), with the 6S terms at each
pixel's elevation; the surface reflectance truth is the flat-ground Lambertian reflectance. The
DEM is written beside the product as a GeoTIFF in the tile's CRS, which the DEM reader takes as a
USER DEM when DEM_Directory names the file.

`process_product` runs at 20 m (scene classification, DDV aerosol, APDA water vapour, the
project's look-up table, terrain correction, DN encoding, JPEG 2000) with Adj_Km 0 (the generator
has no adjacency effect), once with DEM_Terrain_Correction TRUE and once FALSE. The BOA
reflectance is read back from IMG_DATA/R20m: (DN + BOA_ADD_OFFSET) / 10000.

Evidence (the table is printed and written to build/terrain_closed_loop.txt):
(a) within one land cover (dense dark vegetation, vegetation: the classes large enough in the
    tiny scene) the TOA reflectance correlates with the truth's cos(beta) at r >= 0.85 (measured
    0.93-0.98); the terrain-corrected BOA at |r| <= 0.3 (measured <= 0.15);
(b) on sunlit slopes (truth slope >= 10 deg; all slopes are sunlit: cos(beta) > 0.35, no cast
    shadow at SZA 45 deg with slopes below 45 deg), both towards and away from the sun, at least
    95 % of the clear interior land pixels are within 0.005 + 0.05 rho of the truth in every
    20 m band but B01/B09 (the closed-loop criterion of tests/test_atmcorr_closed_loop.py;
    measured 100 %), the mean error within 0.002 (measured -0.0004 to -0.0008) and the 95th
    percentile of |error| below 0.003 (measured 0.0006-0.0017). The small negative bias is
    largely Sen2Cor's floor of the terrain term, max(T_down (1 - V) rho_ter, 0.01 T_sun), which
    adds 1 % of the direct light on gentle slopes (flat ground: about -0.7 % in the NIR, falling
    to about 0 above 20 deg, where the floor no longer applies);
(c) without terrain correction the BOA keeps the TOA's correlation (r >= 0.85, measured 0.93-0.98)
    and fails (b): measured 2-90 % within the tolerance (at most 47 % in B8A, B11, B12, where
    the test requires < 90 %).
(d) on slopes towards the sun the terrain correction lowers the flat correction's mean BOA, on
    slopes away from it raises it, and both means move closer to the truth (the table's "slope
    means"; mountain: TRUE - FALSE -0.003 to -0.045 sunlit, +0.008 to +0.10 shaded).

The same evidence for relief="alpine" (tiny, 0.30-1.40 km inside the product, more than 1 km of
relief inside the look-up table's 0-1.5 km; tests test_alpine_*; skipped while the look-up table
stops at 0.75 km), with the measured figures in the test docstrings: TOA r 0.85-0.95 -> terrain
BOA |r| 0.11-0.25 (dense dark vegetation, vegetation), 100 % of the slope pixels within the
tolerance; sunlit slope means lowered by 0.004-0.052, shaded ones raised by 0.001-0.010, both to
within 0.0009 of the truth.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage

from sen2cor_qgis.core.auxdata.terrain import slope_aspect
from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product
from sen2cor_qgis.core.product.l2a_quality import quality_values
from sen2cor_qgis.core.product.l2a_tree import product_names
from sen2cor_qgis.tools.sample_product import generate_product
from sen2cor_qgis.tools.sample_product.generator import dem_file_for, truth_dir_for

from .test_atmcorr_closed_loop import _block, interiors

gdal.UseExceptions()
REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "build" / "terrain_closed_loop.txt"
BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")     # 20 m outputs
CORRELATION_BANDS = ("B04", "B8A", "B11", "B12")
CLASSES = {1: "dense dark veg.", 2: "vegetation", 3: "bare soil", 4: "urban", 6: "snow"}
JUDGED_CLASSES = (1, 2)                 # enough pixels and little texture in the tiny scene
MIN_CLASS_PIXELS = 300
STEEP_DEG = 10.0
R_TOA_MIN, R_BOA_MAX, R_FLAT_MIN = 0.85, 0.30, 0.85
SHARE_MIN, BIAS_MAX, P95_MAX = 95.0, 0.002, 0.003


def _read(path: Path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def _boa_offset(l2a: Path) -> float:
    """BOA_ADD_OFFSET of the product (the same for every band), 0 before baseline 04.00."""
    found = re.search(r"<BOA_ADD_OFFSET\b[^>]*>\s*([-+0-9.]+)\s*<", (l2a / "MTD_MSIL2A.xml").read_text())
    return float(found.group(1)) if found else 0.0


# ------------------------------------------------------------------------------------ fixtures
def generate_and_process(tmp_path_factory, size: str, relief: str = "mountain"):
    """(L1C with relief, {DEM_Terrain_Correction flag: L2A product})."""
    l1c = generate_product(tmp_path_factory.mktemp(f"{relief}_{size}"), size=size, spacecraft="S2B",
                           relief=relief)
    return l1c, process_both(l1c, tmp_path_factory)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return generate_and_process(tmp_path_factory, "tiny")


@pytest.fixture(scope="module")
def mountain(case) -> Path:
    return case[0]


@pytest.fixture(scope="module")
def runs(case) -> Dict[str, Path]:
    return case[1]


def process_both(mountain: Path, tmp_path_factory) -> Dict[str, Path]:
    out = {}
    for flag in ("TRUE", "FALSE"):
        folder = tmp_path_factory.mktemp(f"l2a_terrain_{flag.lower()}")
        overrides = {"Adj_Km": 0.0, "DEM_Directory": str(dem_file_for(mountain)),
                     "DEM_Terrain_Correction": flag}
        result = process_product(mountain, ProcessingOptions(output_dir=str(folder), resolution=20,
                                                             overrides=overrides))
        out[flag] = result.product_path
    return out


@pytest.fixture(scope="module")
def figures(mountain, runs) -> dict:
    return measure(mountain, runs)


def measure(mountain: Path, runs: Dict[str, Path]) -> dict:
    """Correlations and errors per band, class and run (module notes)."""
    tdir = truth_dir_for(mountain)
    cos_beta = _read(tdir / "COS_BETA_20m.tif").astype(np.float64)
    slope = _block(_read(tdir / "SLOPE_10m.tif").astype(np.float64), 2)
    landcover = _block(_read(tdir / "LANDCOVER_10m.tif"), 2, np.max)
    inner = interiors(tdir)[20]
    mu_s = math.cos(math.radians(json.loads((tdir / "truth.json").read_text())
                                 ["geometry"]["atmosphere_geometry"]["sun_zenith"]))
    img = next((mountain / "GRANULE").iterdir()) / "IMG_DATA"
    steep = inner & np.isin(landcover, (1, 2, 3, 4)) & (slope >= STEEP_DEG)
    groups = {"towards sun": steep & (cos_beta > mu_s), "away from sun": steep & (cos_beta <= mu_s)}
    fig = {"corr": {}, "acc": {}, "means": {}, "groups": {k: int(v.sum()) for k, v in groups.items()}}
    for band in BANDS:
        truth = _read(tdir / f"SR_{band}.tif").astype(np.float64)
        toa = (_read(next(img.glob(f"*_{band}.jp2"))).astype(np.float64) - 1000.0) / 10000.0
        if truth.shape != cos_beta.shape:              # 10 m bands: the 2 x 2 means
            truth, toa = _block(truth, 2), _block(toa, 2)
        boa = {}
        for flag, l2a in runs.items():
            names = product_names(l2a)
            boa[flag] = (_read(l2a / names.image_relpath(band, 20)).astype(np.float64)
                         + _boa_offset(l2a)) / 10000.0
        for code in CLASSES:
            m = inner & (landcover == code) & np.isfinite(truth)
            if m.sum() < 30:
                continue
            fig["corr"][(band, code)] = {
                "n": int(m.sum()), "toa": float(np.corrcoef(toa[m], cos_beta[m])[0, 1]),
                **{flag: float(np.corrcoef(b[m], cos_beta[m])[0, 1]) for flag, b in boa.items()}}
        for group, m in groups.items():             # slope means: truth, flat and terrain BOA
            m = m & np.isfinite(truth)
            fig["means"][(band, group)] = {"truth": float(truth[m].mean()), "toa": float(toa[m].mean()),
                                           **{flag: float(b[m].mean()) for flag, b in boa.items()}}
        for flag, b in boa.items():
            for group, m in groups.items():
                m = m & np.isfinite(truth)
                err = b[m] - truth[m]
                fig["acc"][(band, flag, group)] = {
                    "n": int(m.sum()),
                    "share": float(100.0 * np.mean(np.abs(err) <= 0.005 + 0.05 * truth[m])),
                    "bias": float(err.mean()), "p95": float(np.percentile(np.abs(err), 95))}
    return fig


def format_table(fig: dict, size: str = "tiny", relief: str = "mountain", header: str = "") -> str:
    lines = [f"Terrain closed loop ({size} {relief} product, 20 m, Adj_Km 0; r = correlation with the "
             "truth's cos(beta) inside one land cover)"] + ([header] if header else []) + [
             "band  land cover         n    r TOA   r BOA (terrain)  r BOA (no terrain)"]
    for (band, code), v in sorted(fig["corr"].items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if band in CORRELATION_BANDS:
            lines.append(f"{band:<5} {CLASSES[code]:<16} {v['n']:5d}  {v['toa']:+.3f}   {v['TRUE']:+.3f}"
                         f"           {v['FALSE']:+.3f}")
    counts = ", ".join(f"{k}: {n} px" for k, n in fig["groups"].items())
    lines.append(f"Slopes >= {STEEP_DEG:g} deg, clear land interiors ({counts}):"
                 " share within 0.005 + 0.05 truth (%), bias and 95th percentile of |error| (x 1e4)")
    lines.append("band  " + "  ".join(f"{f'{g} ({flag})':<33}" for flag in ("TRUE", "FALSE")
                                      for g in fig["groups"]))
    for band in BANDS:
        cells = []
        for flag in ("TRUE", "FALSE"):
            for g in fig["groups"]:
                v = fig["acc"][(band, flag, g)]
                cells.append(f"{v['share']:5.1f} % {1e4 * v['bias']:+6.1f} {1e4 * v['p95']:6.1f}".ljust(33))
        lines.append(f"{band:<5} " + "  ".join(cells))
    lines.append("Slope means (same pixels): truth, BOA without (FALSE) and with (TRUE) terrain "
                 "correction, TRUE - FALSE")
    lines.append("band  " + "  ".join(f"{g:<36}" for g in fig["groups"]))
    for band in BANDS:
        cells = []
        for g in fig["groups"]:
            v = fig["means"][(band, g)]
            cells.append(f"{v['truth']:.4f} {v['FALSE']:.4f} {v['TRUE']:.4f} {v['TRUE'] - v['FALSE']:+.4f}"
                         .ljust(36))
        lines.append(f"{band:<5} " + "  ".join(cells))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------- tests
def test_relief_product_and_dem(mountain, runs):
    """The DEM file, the truth layers and what the L2A product records about the DEM."""
    tdir = truth_dir_for(mountain)
    truth = json.loads((tdir / "truth.json").read_text())
    relief = truth["relief"]
    assert truth["parameters"]["relief"] == "mountain"
    lo, hi = relief["elevation_m"]
    assert 0.0 <= lo and hi <= 750.0 and hi - lo > 200.0           # inside the LUT's 0-0.75 km
    assert 25.0 <= relief["slope_deg_max"] <= 35.0
    assert relief["cos_beta"][0] > 26.0 / 255.0                    # the correction's floor never bites
    for name in ("DEM_10m.tif", "SLOPE_10m.tif", "ASPECT_10m.tif", "SKY_VIEW_10m.tif",
                 "COS_BETA_10m.tif", "COS_BETA_20m.tif", "COS_BETA_60m.tif"):
        assert (tdir / name).is_file(), name
    # the truth's analytic slope/aspect agree with the project's Horn operator on the DEM
    dem = _read(tdir / "DEM_10m.tif")
    slope, aspect = slope_aspect(np.nan_to_num(dem), 10.0)
    inner = np.zeros(dem.shape, dtype=bool)
    inner[2:-2, 2:-2] = True
    inner &= ndimage.minimum_filter(np.isfinite(dem), size=3, mode="constant")      # off the wedge
    true_slope = _read(tdir / "SLOPE_10m.tif")
    assert np.max(np.abs(slope - true_slope)[inner]) < 0.1
    tilted = inner & (true_slope > 2.0)
    d_aspect = (aspect - _read(tdir / "ASPECT_10m.tif") + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(d_aspect[tilted])) < 1.0
    # the DEM file: tile CRS, 20 m, the product plus a margin; read as a USER DEM
    ds = gdal.Open(str(dem_file_for(mountain)))
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "32634" and ds.GetGeoTransform()[1] == 20.0
    assert relief["dem_file"]["file"] == dem_file_for(mountain).name
    for l2a in runs.values():
        q = quality_values(next((l2a / "GRANULE").iterdir()) / "QI_DATA" / "L2A_QUALITY.xml")
        assert q["DEM_TYPE"] == "USER" and q["DEM_STATUS"] == "DEM", q
        assert abs(float(q["DEM_MEAN_ALTITUDE_KM"]) - float(np.nanmean(dem)) / 1000.0) < 0.03


def test_relief_product_is_deterministic(mountain, tmp_path):
    again = generate_product(tmp_path, size="tiny", spacecraft="S2B", relief="mountain")
    for rel in ("_DEM.tif", ".truth/truth.json", ".truth/COS_BETA_20m.tif"):
        a, b = (Path(str(p)[:-5] + rel) for p in (mountain, again))
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), rel
    for jp2 in sorted(mountain.glob("GRANULE/*/IMG_DATA/*_B8A.jp2")):
        twin = next(again.glob(f"GRANULE/*/IMG_DATA/{jp2.name}"))
        assert jp2.read_bytes() == twin.read_bytes()


def test_terrain_correction_removes_the_illumination_correlation(figures):
    """(a) and (c) of the module notes."""
    problems = correlation_problems(figures, JUDGED_CLASSES)
    assert not problems, problems


def correlation_problems(figures: dict, classes, r_toa_min: float = R_TOA_MIN) -> list:
    """(a) and (c) for `classes`; for every class with MIN_CLASS_PIXELS the terrain-corrected
    |r| <= R_BOA_MAX as well (textured classes have a weaker TOA correlation to start with)."""
    problems = []
    for (band, code), v in figures["corr"].items():
        if band not in CORRELATION_BANDS:
            continue
        if code not in classes:
            if v["n"] >= MIN_CLASS_PIXELS and abs(v["TRUE"]) > R_BOA_MAX:
                problems.append(f"{band} class {code}: terrain-corrected BOA |r| "
                                f"{abs(v['TRUE']):.3f} > {R_BOA_MAX}")
            continue
        if v["n"] < MIN_CLASS_PIXELS:
            problems.append(f"{band} class {code}: only {v['n']} pixels")
        if v["toa"] < r_toa_min:
            problems.append(f"{band} class {code}: TOA r {v['toa']:.3f} < {r_toa_min}")
        if abs(v["TRUE"]) > R_BOA_MAX:
            problems.append(f"{band} class {code}: terrain-corrected BOA |r| "
                            f"{abs(v['TRUE']):.3f} > {R_BOA_MAX}")
        if v["FALSE"] < r_toa_min:
            problems.append(f"{band} class {code}: BOA without terrain correction r "
                            f"{v['FALSE']:.3f} < {r_toa_min}")
    return problems


def test_surface_reflectance_on_slopes_matches_the_truth(figures):
    """(b) and the accuracy side of (c)."""
    problems = accuracy_problems(figures)
    assert not problems, problems


def accuracy_problems(figures: dict, flat_groups=None, flat_max: float = 90.0) -> list:
    problems = []
    for g, n in figures["groups"].items():
        assert n >= 100, (g, n)
    for band in BANDS:
        for g in figures["groups"]:
            v = figures["acc"][(band, "TRUE", g)]
            if v["share"] < SHARE_MIN or abs(v["bias"]) > BIAS_MAX or v["p95"] > P95_MAX:
                problems.append(f"{band} {g}: {v['share']:.1f} % within, bias {v['bias']:+.4f}, "
                                f"p95 {v['p95']:.4f}")
    flat = [figures["acc"][(b, "FALSE", g)]["share"]
            for b in ("B8A", "B11", "B12") for g in (flat_groups or figures["groups"])]
    if max(flat) >= flat_max:                      # without the correction the slopes are wrong
        problems.append(f"without terrain correction up to {max(flat):.1f} % within the tolerance")
    return problems


def write_report_section(text: str) -> None:
    """Replace (or add) the section of build/terrain_closed_loop.txt that starts with the first
    line of `text`."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    old = REPORT.read_text() if REPORT.exists() else ""
    sections = [s for s in re.split(r"(?m)^(?=Terrain closed loop \()", old) if s.strip()]
    key = text.splitlines()[0]
    sections = [s for s in sections if s.splitlines()[0] != key] + [text.rstrip("\n") + "\n"]
    REPORT.write_text("".join(s if s.endswith("\n") else s + "\n" for s in sections))


def test_terrain_table(figures, capsys):
    text = format_table(figures)
    write_report_section(text)
    with capsys.disabled():
        print("\n" + text)


@pytest.mark.slow
def test_small_mountain_product(tmp_path_factory, capsys):
    """The small product (915 x 915 px at 20 m, about 1.5 min on 2 busy cores): (a) and (c)
    for dense dark vegetation, bare soil and snow (TOA r 0.85-0.99), the terrain-corrected
    |r| <= 0.3 for every class (vegetation and urban, whose vigour / street texture weakens the
    TOA correlation to 0.45-0.84, included), (b) as above; the table is appended to the
    report."""
    fig = measure(*generate_and_process(tmp_path_factory, "small"))
    text = format_table(fig, "small")
    write_report_section(text)
    with capsys.disabled():
        print("\n" + text)
    problems = correlation_problems(fig, (1, 3, 6)) + accuracy_problems(fig)
    assert not problems, problems


# ----------------------------------------------------------- alpine relief: more than 1 km
# relief="alpine" (tools/sample_product/relief.py make_alpine_relief): ridges and valleys with
# crests north-west to south-east, spurs and gullies down the flanks, the DEM file inside
# 0.15-1.45 km (the look-up table's 0-1.5 km), slopes below 35 deg. Seed 0 tiny: 0.30-1.40 km
# inside the product (1.09 km of relief), slopes up to 32 deg (mean 21 deg), cos(beta)
# 0.58-0.94 (a south-west-facing main flank, spur and gully sides facing north-west and
# south-east).
ALPINE_MIN_RELIEF_M = 1000.0


def lut_top_elevation_km() -> float:
    """Highest elevation of the project's look-up table (RURAL, S2B)."""
    from sen2cor_qgis.core.atmcorr.lut import AtmosphereLUT
    return float(AtmosphereLUT.load("S2B").coverage.ranges["elevation_km"][1])


@pytest.fixture(scope="module")
def alpine_case(tmp_path_factory):
    top = lut_top_elevation_km()
    if top < 1.45:
        pytest.skip(f"the look-up table covers 0..{top:g} km only; the alpine relief needs 1.5 km "
                    "(tools/build_lut.py, RURAL stage continental-core, then --assemble)")
    return generate_and_process(tmp_path_factory, "tiny", "alpine")


@pytest.fixture(scope="module")
def alpine_figures(alpine_case) -> dict:
    return measure(*alpine_case)


def alpine_relief_header(l1c: Path) -> str:
    r = json.loads((truth_dir_for(l1c) / "truth.json").read_text())["relief"]
    lo, hi = r["elevation_m"]
    return (f"relief {lo / 1000:.2f}-{hi / 1000:.2f} km inside the product "
            f"({r['product_elevation_range_m'] / 1000:.2f} km), slopes up to {r['slope_deg_max']:.1f} deg "
            f"(mean {r['slope_deg_mean']:.1f}), cos(beta) {r['cos_beta'][0]:.2f}-{r['cos_beta'][1]:.2f}")


def test_alpine_relief_product(alpine_case):
    """More than 1 km of relief inside the look-up table's 0-1.5 km, steep slopes on both sides
    of the sun, the DEM file read as a USER DEM."""
    l1c, runs_ = alpine_case
    tdir = truth_dir_for(l1c)
    truth = json.loads((tdir / "truth.json").read_text())
    relief = truth["relief"]
    assert truth["parameters"]["relief"] == relief["name"] == "alpine"
    lo, hi = relief["elevation_m"]
    assert 0.0 <= lo and hi <= 1500.0 and hi - lo > ALPINE_MIN_RELIEF_M, (lo, hi)
    assert relief["sixs_relief_table"]["levels_km"] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
    assert 28.0 <= relief["slope_deg_max"] <= 35.0
    assert relief["cos_beta"][0] > 26.0 / 255.0
    dem = _read(dem_file_for(l1c))
    assert 150.0 - 1e-3 <= float(dem.min()) and float(dem.max()) <= 1450.0 + 1e-3
    cos_beta = _read(tdir / "COS_BETA_20m.tif")
    mu_s = math.cos(math.radians(truth["geometry"]["atmosphere_geometry"]["sun_zenith"]))
    ok = np.isfinite(cos_beta)
    assert 0.1 < np.mean(cos_beta[ok] <= mu_s) < 0.9          # slopes away from and towards the sun
    dem10 = _read(tdir / "DEM_10m.tif")
    for l2a in runs_.values():
        q = quality_values(next((l2a / "GRANULE").iterdir()) / "QI_DATA" / "L2A_QUALITY.xml")
        assert q["DEM_TYPE"] == "USER" and q["DEM_STATUS"] == "DEM", q
        assert abs(float(q["DEM_MEAN_ALTITUDE_KM"]) - float(np.nanmean(dem10)) / 1000.0) < 0.05


def test_alpine_table(alpine_case, alpine_figures, capsys):
    text = format_table(alpine_figures, "tiny", "alpine", alpine_relief_header(alpine_case[0]))
    write_report_section(text)
    with capsys.disabled():
        print("\n" + text)


def direction_problems(figures: dict) -> list:
    """Sunlit slopes: the terrain correction lowers the flat correction's BOA; shaded slopes: it
    raises it; the flat correction errs in the opposite direction (too bright towards the sun,
    too dark away from it)."""
    problems = []
    for band in BANDS:
        for g, sign in (("towards sun", -1.0), ("away from sun", +1.0)):
            v = figures["means"][(band, g)]
            if sign * (v["TRUE"] - v["FALSE"]) <= 0.0:
                problems.append(f"{band} {g}: TRUE - FALSE {v['TRUE'] - v['FALSE']:+.4f}")
            if sign * (v["truth"] - v["FALSE"]) <= 0.0:
                problems.append(f"{band} {g}: truth - FALSE {v['truth'] - v['FALSE']:+.4f}")
            if abs(v["TRUE"] - v["truth"]) >= abs(v["FALSE"] - v["truth"]):
                problems.append(f"{band} {g}: terrain correction not closer to the truth")
    return problems


def test_correction_direction(figures):
    """Sunlit / shaded slope means of the mountain product (direction_problems)."""
    problems = direction_problems(figures)
    assert not problems, problems


def test_alpine_correction_direction(alpine_figures):
    problems = direction_problems(alpine_figures)
    assert not problems, problems


def test_alpine_illumination_correlation(alpine_figures):
    """(a) and (c) on the alpine product: TOA r 0.850-0.954 for dense dark vegetation and
    vegetation (B8A vegetation 0.850: the 1 km of elevation adds a path-radiance and
    transmittance trend that is not cos(beta)), hence r >= 0.80 here; terrain-corrected BOA
    |r| 0.11-0.25 (<= 0.30; every class with 300 pixels), no terrain correction 0.85-0.96."""
    problems = correlation_problems(alpine_figures, JUDGED_CLASSES, r_toa_min=0.80)
    assert not problems, problems


def test_alpine_surface_reflectance_on_slopes(alpine_figures):
    """(b) on the alpine product: 100 % within the tolerance on both sides, bias -0.0009 to
    +0.0005, 95th percentile of |error| 0.0005-0.0026 (the red-edge/NIR bands on sunlit slopes).
    The shaded slopes are only mildly shaded (cos beta >= 0.58, cos SZA 0.707), so the flat
    correction leaves 86-99 % of them within the tolerance; (c) is judged on the slopes towards
    the sun (measured 13-18 % in B8A, B11, B12; required < 40 %)."""
    problems = accuracy_problems(alpine_figures, flat_groups=("towards sun",), flat_max=40.0)
    assert not problems, problems
