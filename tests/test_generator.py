"""Tests of the synthetic L1C sample-product generator (tools/sample_product)."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from osgeo import gdal, osr

from sen2cor_qgis.core.product.model import BAND_NAMES, NATIVE_RESOLUTION
from sen2cor_qgis.tools.sample_product import config, generate_product, geometry
from sen2cor_qgis.tools.sample_product.atmosphere import load_table
from sen2cor_qgis.tools.sample_product.generator import truth_dir_for

gdal.UseExceptions()
REPO = Path(__file__).resolve().parents[1]
TABLE = json.loads((REPO / "tools" / "sample_product" / "data" / "sixs_forward.json").read_text())


# ----------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    t0 = time.perf_counter()
    safe = generate_product(out, size="tiny", zip_product=True)
    return safe, time.perf_counter() - t0


@pytest.fixture(scope="module")
def tiny_old(tmp_path_factory):
    return generate_product(tmp_path_factory.mktemp("old"), size="tiny", baseline="02.07")


def _xml(path):
    return etree.parse(str(path))


def _local(tree, name):
    return tree.xpath(f"//*[local-name()='{name}']")


def _granule(safe):
    return next((safe / "GRANULE").iterdir())


def _band_file(safe, band):
    return next((_granule(safe) / "IMG_DATA").glob(f"*_{band}.jp2"))


def _read(path, band=1):
    ds = gdal.Open(str(path))
    return ds.GetRasterBand(band).ReadAsArray()


def _truth(safe):
    d = truth_dir_for(safe)
    return d, json.loads((d / "truth.json").read_text())


def _forward(unit, band, rho, level="surface"):
    c = TABLE["units"][unit]["bands"][band][level]
    return c["path"] + c["t_gas"] * c["t_down"] * c["t_up"] * rho / (1.0 - c["s_albedo"] * rho)


# ------------------------------------------------------------------------------ generation
def test_tiny_generates_fast(tiny):
    safe, seconds = tiny
    assert safe.is_dir() and safe.suffix == ".SAFE"
    assert seconds < 5.0, f"tiny product took {seconds:.1f} s"


def test_compact_safe_structure_and_names(tiny):
    safe, _ = tiny
    m = re.fullmatch(r"(S2[ABC])_MSIL1C_(\d{8}T\d{6})_N(\d{4})_R(\d{3})_T(\d{2}[A-Z]{3})_(\d{8}T\d{6})\.SAFE",
                     safe.name)
    assert m, safe.name
    unit, start, nbase, _, tile, gen = m.groups()
    assert (unit, nbase, tile) == ("S2B", "0509", "34UDD")
    for rel in ("MTD_MSIL1C.xml", "manifest.safe", "INSPIRE.xml", "HTML/UserProduct_index.html",
                "rep_info/S2_User_Product_Level-1C_Metadata.xsd"):
        assert (safe / rel).is_file(), rel
    (ds_dir,) = list((safe / "DATASTRIP").iterdir())
    assert re.fullmatch(rf"DS_2BPS_{gen}_S\d{{8}}T\d{{6}}", ds_dir.name)
    assert (ds_dir / "MTD_DS.xml").is_file()
    assert {p.name for p in (ds_dir / "QI_DATA").iterdir()} >= {"FORMAT_CORRECTNESS.xml",
                                                                "RADIOMETRIC_QUALITY.xml"}
    granule = _granule(safe)
    assert re.fullmatch(r"L1C_T34UDD_A\d{6}_\d{8}T\d{6}", granule.name)
    names = {p.name for p in (granule / "IMG_DATA").iterdir()}
    assert names == {f"T{tile}_{start}_{b}.jp2" for b in list(BAND_NAMES) + ["TCI"]}
    qi = {p.name for p in (granule / "QI_DATA").iterdir()}
    assert "MSK_CLASSI_B00.jp2" in qi and f"T{tile}_{start}_PVI.jp2" in qi
    for b in BAND_NAMES:
        assert {f"MSK_QUALIT_{b}.jp2", f"MSK_DETFOO_{b}.jp2"} <= qi
    assert {p.name for p in (granule / "AUX_DATA").iterdir()} == {"AUX_ECMWFT", "AUX_CAMSFO"}
    # MTD_MSIL1C lists the band files (without extension) and the identifiers follow §8.2
    mtd = _xml(safe / "MTD_MSIL1C.xml")
    files = [e.text for e in _local(mtd, "IMAGE_FILE")]
    assert len(files) == 14 and all((safe / (f + ".jp2")).is_file() for f in files)
    gr = _local(mtd, "Granule")[0]
    assert re.fullmatch(rf"S2B_OPER_MSI_L1C_TL_2BPS_{gen}_A\d{{6}}_T34UDD_N05\.09", gr.get("granuleIdentifier"))
    assert re.fullmatch(rf"S2B_OPER_MSI_L1C_DS_2BPS_{gen}_S\d{{8}}T\d{{6}}_N05\.09", gr.get("datastripIdentifier"))
    assert _local(mtd, "SPACECRAFT_NAME")[0].text == "Sentinel-2B"
    assert _local(mtd, "PRODUCT_URI")[0].text == safe.name
    # every file of the product is in the manifest with its size and checksum
    man = _xml(safe / "manifest.safe")
    listed = {}
    for obj in _local(man, "dataObject"):
        href = obj.xpath(".//*[local-name()='fileLocation']")[0].get("href")
        bs = obj.xpath(".//*[local-name()='byteStream']")[0]
        ck = obj.xpath(".//*[local-name()='checksum']")[0]
        listed[href[2:]] = (int(bs.get("size")), ck.get("checksumName"), ck.text)
    on_disk = {p.relative_to(safe).as_posix() for p in safe.rglob("*") if p.is_file()} - {"manifest.safe"}
    assert set(listed) == on_disk
    for rel, (size, algo, digest) in listed.items():
        data = (safe / rel).read_bytes()
        assert size == len(data)
        assert algo == "SHA3-256" and digest == hashlib.sha3_256(data).hexdigest()


def test_deterministic_byte_identical(tiny, tmp_path):
    safe, _ = tiny
    again = generate_product(tmp_path, size="tiny", zip_product=True)
    assert again.name == safe.name

    def digests(root):
        return {p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
                for p in root.rglob("*") if p.is_file()}

    assert digests(safe) == digests(again)
    assert digests(truth_dir_for(safe)) == digests(truth_dir_for(again))
    zname = safe.name[:-5] + ".zip"
    assert (safe.parent / zname).read_bytes() == (tmp_path / zname).read_bytes()


def test_gdal_sentinel2_driver_lists_subdatasets(tiny):
    safe, _ = tiny
    ds = gdal.Open(str(safe / "MTD_MSIL1C.xml"))
    assert ds.GetDriver().ShortName == "SENTINEL2"
    names = [n for n, _ in ds.GetSubDatasets()]
    for key in (":10m:", ":20m:", ":60m:", ":TCI:"):
        assert any(key in n and n.endswith("EPSG_32634") for n in names), (key, names)
    sub = gdal.Open(next(n for n in names if ":10m:" in n))
    assert (sub.RasterXSize, sub.RasterYSize, sub.RasterCount) == (240, 240, 4)
    assert sub.GetGeoTransform() == (399960.0, 10.0, 0.0, 5900040.0, 0.0, -10.0)
    zipped = safe.parent / (safe.name[:-5] + ".zip")
    zds = gdal.Open(f"/vsizip/{zipped}/{safe.name}/MTD_MSIL1C.xml")
    assert len(zds.GetSubDatasets()) == 4


def test_jp2_lossless_round_trip_and_georeferencing(tiny, tmp_path):
    from sen2cor_qgis.tools.sample_product import rasters

    rng = np.random.default_rng(1)
    data = rng.integers(0, 65535, size=(96, 80), dtype=np.uint16)
    data[0, :3] = (0, 1, 65534)
    gt = (399960.0, 20.0, 0.0, 5900040.0, 0.0, -20.0)
    rasters.write_jp2(tmp_path / "rt.jp2", data, gt, 32634)
    ds = gdal.Open(str(tmp_path / "rt.jp2"))
    assert np.array_equal(ds.ReadAsArray(), data)
    assert ds.GetMetadataItem("COMPRESSION_REVERSIBILITY", "IMAGE_STRUCTURE") == "LOSSLESS"

    safe, _ = tiny
    tl = _xml(_granule(safe) / "MTD_TL.xml")
    sizes = {int(e.get("resolution")): (int(e[0].text), int(e[1].text)) for e in _local(tl, "Size")}
    pos = {int(e.get("resolution")): (float(e[0].text), float(e[1].text)) for e in _local(tl, "Geoposition")}
    assert sizes == {10: (240, 240), 20: (120, 120), 60: (40, 40)}
    for band in BAND_NAMES:
        res = NATIVE_RESOLUTION[band]
        ds = gdal.Open(str(_band_file(safe, band)))
        assert ds.GetMetadataItem("COMPRESSION_REVERSIBILITY", "IMAGE_STRUCTURE") == "LOSSLESS"
        assert ds.GetRasterBand(1).DataType == gdal.GDT_UInt16
        assert (ds.RasterYSize, ds.RasterXSize) == sizes[res]
        assert ds.GetGeoTransform() == (pos[res][0], res, 0.0, pos[res][1], 0.0, -res)
        srs = osr.SpatialReference(wkt=ds.GetProjection())
        assert srs.GetAuthorityCode(None) == "32634"
    tci = gdal.Open(str(_band_file(safe, "TCI")))
    assert tci.RasterCount == 3 and tci.GetRasterBand(1).DataType == gdal.GDT_Byte


def test_offset_present_in_05_09_and_absent_in_02_07(tiny, tiny_old):
    safe, _ = tiny
    new = _xml(safe / "MTD_MSIL1C.xml")
    offsets = _local(new, "RADIO_ADD_OFFSET")
    assert [int(e.text) for e in offsets] == [-1000] * 13
    assert sorted(int(e.get("band_id")) for e in offsets) == list(range(13))
    old = _xml(tiny_old / "MTD_MSIL1C.xml")
    assert not _local(old, "Radiometric_Offset_List")
    assert _local(old, "PROCESSING_BASELINE")[0].text == "02.07"
    assert tiny_old.name.startswith("S2B_MSIL1C_") and "_N0207_" in tiny_old.name
    # same scene, so DN(05.09) = DN(02.07) + 1000 wherever there is data
    for band in ("B02", "B8A", "B10"):
        a, b = _read(_band_file(safe, band)).astype(int), _read(_band_file(tiny_old, band)).astype(int)
        assert np.array_equal(a == 0, b == 0)
        assert np.array_equal(a[a > 0] - b[b > 0], np.full(int((a > 0).sum()), 1000))
    qi = {p.name for p in (_granule(tiny_old) / "QI_DATA").iterdir()}
    assert "MSK_CLOUDS_B00.gml" in qi and "MSK_DETFOO_B8A.gml" in qi
    assert not any(n.startswith("MSK_") and n.endswith(".jp2") for n in qi)
    assert not (_granule(tiny_old) / "AUX_DATA" / "AUX_CAMSFO").exists()
    gml = gdal.OpenEx(str(_granule(tiny_old) / "QI_DATA" / "MSK_DETFOO_B02.gml"), gdal.OF_VECTOR,
                      open_options=["WRITE_GFS=NO"])
    layer = gml.GetLayer(0)
    assert layer.GetFeatureCount() >= 2
    assert {f.GetField("maskType") for f in layer} == {"DETECTOR_FOOTPRINT"}


def test_toa_of_known_pixels_equals_6s_forward(tiny):
    safe, _ = tiny
    tdir, truth = _truth(safe)
    assert truth["radio_add_offset"] == -1000
    # calibration targets: homogeneous land-cover squares at every resolution
    assert {t["name"] for t in truth["targets"]} == {v["name"] for v in truth["land_covers"].values()}
    for target in truth["targets"]:
        for band in BAND_NAMES:
            res = NATIVE_RESOLUTION[band]
            px = target["pixels"][f"{res}m"]
            dn = _read(_band_file(safe, band))[px["row"]:px["row"] + px["rows"], px["col"]:px["col"] + px["cols"]]
            toa = (dn.astype(float) - 1000.0) / 10000.0
            rho = truth["land_covers"][str(target["land_cover_code"])]["surface_reflectance"][band]
            forward = _forward("S2B", band, rho)
            assert np.all(np.abs(toa - forward) <= 1e-4 + 1e-9), (target["name"], band)
            direct = TABLE["units"]["S2B"]["bands"][band]["checks"][target["name"]]["sixs_apparent_reflectance"]
            assert np.all(np.abs(toa - direct) <= 2e-4), (target["name"], band, direct)
    # random clear pixels of a 10 m and a 20 m band, from the truth surface reflectance
    cloud = _read(tdir / "CLOUD_FRACTION_10m.tif")
    shadow = _read(tdir / "CLOUD_SHADOW_10m.tif")
    cirrus = _read(tdir / "CIRRUS_10m.tif")
    clear10 = (cloud == 0) & (shadow == 0) & (cirrus == 0)
    for band in ("B04", "B8A", "B12"):
        res = NATIVE_RESOLUTION[band]
        f = res // 10
        clear = clear10.reshape(240 // f, f, 240 // f, f).all(axis=(1, 3))
        sr = _read(tdir / f"SR_{band}.tif")
        dn = _read(_band_file(safe, band))
        ok = clear & (dn > 0)
        assert ok.sum() > 100
        toa = (dn[ok] - 1000.0) / 10000.0
        assert np.max(np.abs(toa - _forward("S2B", band, sr[ok].astype(float)))) <= 1e-4 + 1e-9


def test_grib_fields_read_back_with_gdal(tiny):
    safe, _ = tiny
    _, truth = _truth(safe)
    atm = truth["atmosphere"]
    ds = gdal.Open(str(_granule(safe) / "AUX_DATA" / "AUX_ECMWFT"))
    assert ds.GetDriver().ShortName == "GRIB" and ds.RasterCount == 3
    meta = [ds.GetRasterBand(i).GetMetadata() for i in (1, 2, 3)]
    # GDAL names ECMWF table 128 parameter 137 (total column water vapour) "PWC"
    assert meta[0]["GRIB_ELEMENT"] in ("TCWV", "PWC") and meta[0]["GRIB_UNIT"] == "[kg/m^2]"
    assert meta[1]["GRIB_ELEMENT"] == "MSL" and meta[1]["GRIB_UNIT"] == "[Pa]"
    assert meta[2]["GRIB_ELEMENT"] == "TCO3" and meta[2]["GRIB_UNIT"] == "[kg/m^2]"
    tcwv, msl, tco3 = (ds.GetRasterBand(i).ReadAsArray() for i in (1, 2, 3))
    assert np.allclose(tcwv, atm["water_vapour_kg_m2"], atol=1e-3)          # kg m-2
    assert np.allclose(tcwv / 10.0, atm["water_vapour_g_cm2"], atol=1e-4)   # cm
    assert np.allclose(msl, atm["sea_level_pressure_pa"])
    assert np.allclose(tco3 / 6.428e-3 * 300.0, atm["ozone_du"], atol=1e-3)  # Dobson units
    # the grid covers the tile
    gt = ds.GetGeoTransform()
    lon, lat = geometry.tile_frame("34UDD").centre_lonlat
    col, row = (lon - gt[0]) / gt[1], (lat - gt[3]) / gt[5]
    assert 0 < col < ds.RasterXSize and 0 < row < ds.RasterYSize
    cams = gdal.Open(str(_granule(safe) / "AUX_DATA" / "AUX_CAMSFO"))
    first = cams.GetRasterBand(1)
    assert first.GetMetadataItem("GRIB_ELEMENT") == "AOTK"
    values = first.GetMetadataItem("GRIB_PDS_TEMPLATE_ASSEMBLED_VALUES").split()
    assert values[10] == "550" and values[9] == "9"                          # 550e-9 m
    assert np.allclose(first.ReadAsArray(), atm["aot550"], atol=1e-5)


def test_angles_consistent_with_table_and_grids(tiny):
    safe, _ = tiny
    tl = _xml(_granule(safe) / "MTD_TL.xml")
    geo = TABLE["geometry"]
    mean_sun = _local(tl, "Mean_Sun_Angle")[0]
    assert float(mean_sun[0].text) == pytest.approx(geo["sun_zenith"], abs=1e-9)
    assert float(mean_sun[1].text) == pytest.approx(geo["sun_azimuth"], abs=1e-9)
    zen = _local(tl, "Sun_Angles_Grid")[0][0]
    assert zen[0].text == "110" and len(zen[2]) == 23
    grid = np.array([[float(v) for v in e.text.split()] for e in zen[2]])
    assert grid.shape == (23, 23) and abs(grid.mean() - geo["sun_zenith"]) < 1e-3
    assert 30 < grid.mean() < 60
    means = {int(e.get("bandId")): (float(e[0].text), float(e[1].text))
             for e in _local(tl, "Mean_Viewing_Incidence_Angle")}
    for i, band in enumerate(BAND_NAMES):
        assert means[i] == pytest.approx(tuple(geo["view"][band]), abs=1e-9)
        grids = [g for g in _local(tl, "Viewing_Incidence_Angles_Grids") if g.get("bandId") == str(i)]
        assert len(grids) >= 2                                     # several detectors
        merged = np.full((23, 23), np.nan)
        for g in grids:
            z = np.array([[float(v) for v in e.text.split()] for e in g[0][2]])
            assert np.isnan(z).any()                               # NaN outside the footprint
            merged = np.where(np.isnan(merged), z, merged)
        assert not np.isnan(merged).any()
        assert abs(merged.mean() - means[i][0]) < 0.02
        dets = {int(g.get("detectorId")) for g in grids}
        if band in ("B02", "B05", "B01"):
            detfoo = _read(_granule(safe) / "QI_DATA" / f"MSK_DETFOO_{band}.jp2")
            assert set(np.unique(detfoo)) - {0} <= dets


def test_truth_files_present_and_consistent(tiny):
    safe, _ = tiny
    tdir, truth = _truth(safe)
    atm = truth["atmosphere"]
    assert atm["aot550"] == TABLE["atmosphere"]["aot550"]
    assert atm["water_vapour_g_cm2"] == TABLE["atmosphere"]["water_vapour_g_cm2"]
    assert atm["ozone_du"] == pytest.approx(TABLE["atmosphere"]["ozone_cm_atm"] * 1000)
    assert truth["parameters"]["size"] == "tiny" and truth["geometry"]["metadata_matches_atmosphere"]
    for band in BAND_NAMES:
        res = NATIVE_RESOLUTION[band]
        sr = _read(tdir / f"SR_{band}.tif")
        dn = _read(_band_file(safe, band))
        assert sr.shape == dn.shape == (2400 // res, 2400 // res)
        assert np.array_equal(np.isnan(sr), dn == 0)
        assert np.nanmin(sr) > 0 and np.nanmax(sr) < 1
    lc = _read(tdir / "LANDCOVER_10m.tif")
    assert set(np.unique(lc)) == {0, 1, 2, 3, 4, 5, 6}
    scl = {res: _read(tdir / f"SCL_{res}m.tif") for res in (10, 20, 60)}
    assert {0, 3, 4, 5, 6, 9, 10, 11} <= set(np.unique(scl[10]))
    assert np.array_equal(scl[10] == 0, _read(_band_file(safe, "B02")) == 0)
    assert np.array_equal(scl[60] == 0, _read(_band_file(safe, "B01")) == 0)
    expected = {int(k): v["expected_scl"] for k, v in truth["land_covers"].items()}
    assert expected == {1: 4, 2: 4, 3: 5, 4: 5, 5: 6, 6: 11}
    clear = (scl[10] != 0) & np.isin(scl[10], [4, 5, 6, 11])
    assert np.array_equal(scl[10][clear], np.vectorize(expected.get)(lc[clear]))
    # the quality masks agree with the truth
    classi = gdal.Open(str(_granule(safe) / "QI_DATA" / "MSK_CLASSI_B00.jp2")).ReadAsArray()
    assert classi.shape == (3, 40, 40) and classi[0].any() and classi[1].any()
    qualit = gdal.Open(str(_granule(safe) / "QI_DATA" / "MSK_QUALIT_B04.jp2")).ReadAsArray()
    assert qualit.shape == (8, 240, 240)
    assert np.array_equal(qualit[5] == 1, _read(_band_file(safe, "B04")) == 0)


def test_cli_quiet_prints_only_the_safe_path(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "make_sample_product.py"), "--size", "tiny",
                           "--output-dir", str(tmp_path), "--quiet", "--spacecraft", "S2C", "--no-truth"],
                          capture_output=True, text=True, timeout=120, check=True)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    safe = Path(lines[0])
    assert safe.is_dir() and safe.name.startswith("S2C_MSIL1C_") and safe.parent == tmp_path.resolve()
    assert _local(_xml(safe / "MTD_MSIL1C.xml"), "SPACECRAFT_NAME")[0].text == "Sentinel-2C"
    assert not truth_dir_for(safe).exists()


def test_other_date_keeps_table_atmosphere_and_says_so(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        safe = generate_product(tmp_path, size="tiny", date="2023-07-01", seed=3, spacecraft="S2A")
    assert any("6S table" in str(w.message) for w in caught)
    _, truth = _truth(safe)
    assert truth["geometry"]["metadata_matches_atmosphere"] is False
    sza = float(_local(_xml(_granule(safe) / "MTD_TL.xml"), "Mean_Sun_Angle")[0][0].text)
    assert sza < TABLE["geometry"]["sun_zenith"] - 5             # higher sun in July
    assert safe.name.startswith("S2A_MSIL1C_20230701T")
    assert _local(_xml(safe / "MTD_MSIL1C.xml"), "SPACECRAFT_NAME")[0].text == "Sentinel-2A"


def test_sixs_table_records_its_inputs():
    table = load_table()
    assert table["runs"] == len(config.SPACECRAFTS) * 13 * 9
    assert table["sixs"]["six_s_bin_version"] and table["sixs"]["py6s_version"]
    atm = table["atmosphere"]
    assert {"aerosol_model", "aot550", "water_vapour_g_cm2", "ozone_cm_atm", "target_altitude_km"} <= set(atm)
    geo = table["geometry"]
    assert {"sun_zenith", "sun_azimuth", "view", "tile", "sensing_time"} <= set(geo)
    assert set(table["spectral_responses"]["sources"]) == {"S2A", "S2B", "S2C"}
    assert table["max_abs_forward_minus_sixs"] < 2e-4
    for unit in config.SPACECRAFTS:
        bands = table["units"][unit]["bands"]
        assert set(bands) == set(BAND_NAMES)
        assert len(table["units"][unit]["solar_irradiance"]) == 13
        for band, b in bands.items():
            assert 0 < b["surface"]["path"] < 0.2 and 0 < b["surface"]["s_albedo"] < 0.3
            for chk in b["checks"].values():
                if chk["rho"] < 0.5:                             # recipe A: well below 1 DN
                    assert abs(chk["difference"]) < 2e-5


def test_tile_geometry_helpers():
    # Sentinel-2 tile corners of real tiles (MTD_TL Geoposition)
    for tile, ulx, uly in (("34UCF", 300000, 6100020), ("23LLF", 300000, 8600020),
                           ("29SQB", 699960, 4200000), ("34VCL", 300000, 6600000)):
        f = geometry.tile_frame(tile)
        assert (f.ulx, f.uly) == (ulx, uly), tile
    f = geometry.tile_frame("T34UDD")
    src = osr.SpatialReference()
    src.ImportFromEPSG(f.epsg)
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(src, dst).TransformPoint(f.ulx + 12345.0, f.uly - 54321.0)
    mlon, mlat = f.lonlat(f.ulx + 12345.0, f.uly - 54321.0)
    assert abs(mlon - lon) < 1e-8 and abs(mlat - lat) < 1e-8
    with pytest.raises(ValueError):
        geometry.tile_frame("34IXX")


@pytest.mark.slow
def test_full_size_product(tmp_path):
    safe = generate_product(tmp_path, size="full", truth=False)
    ds = gdal.Open(str(_band_file(safe, "B02")))
    assert (ds.RasterXSize, ds.RasterYSize) == (10980, 10980)
    sub = [n for n, _ in gdal.Open(str(safe / "MTD_MSIL1C.xml")).GetSubDatasets()]
    assert len(sub) == 4
    tl = _xml(_granule(safe) / "MTD_TL.xml")
    assert _local(tl, "Sun_Angles_Grid")[0][0][0].text == "5000"
    b01 = _read(_band_file(safe, "B01"))
    assert b01.shape == (1830, 1830) and (b01 == 0).mean() > 0.5 and (b01 > 0).any()
