"""Full L2A processing end to end (`L2A_Process` without --sc_only): the product, its values and
its accuracy against the generator's truth, with the project's 6S look-up table.

The accuracy part is a closed loop through the whole chain - L1C JPEG 2000 bands, resampling,
scene classification, DDV aerosol, APDA water vapour, surface reflectance with the look-up
table, DN encoding, JPEG 2000 writing - against the surface reflectance the generator pushed
through 6S at the scene's exact geometry (tools/sample_product; the generator's 6S runs are
independent of the look-up table). Criteria as tests/test_atmcorr_closed_loop.py: in clear
land-cover interiors at least 95 % of the pixels within |rho - truth| <= 0.005 + 0.05 truth for
every band (90 % for B01/B09); AOT550 within max(0.03, 10 %); water vapour within 10 %. The
generator has no adjacency effect and a flat sea-level ground, so the run uses Adj_Km 0 and
Altitude 0 (everything else is the default configuration).
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core import cli
from sen2cor_qgis.core.atmcorr.lut import LUTNotAvailableError
from sen2cor_qgis.core.atmcorr.lut import table as lut_table
from sen2cor_qgis.core.errors import CancelledError
from sen2cor_qgis.core.full_processing import full_schedule
from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product
from sen2cor_qgis.core.product import naming
from sen2cor_qgis.core.product.l2a_qi import qi_values
from sen2cor_qgis.core.product.l2a_quality import quality_values
from sen2cor_qgis.core.product.l2a_tree import product_names
from sen2cor_qgis.core.product.l2a_xml import find_local, parse_file
from sen2cor_qgis.core.raster.resample import block_mean_dn, upsample_nearest
from sen2cor_qgis.tools.sample_product import generate_product
from sen2cor_qgis.tools.sample_product.generator import truth_dir_for

from .test_atmcorr_closed_loop import _block, interiors

gdal.UseExceptions()
FLAT_SEA_LEVEL = {"Adj_Km": 0.0, "Altitude": 0.0}
NATIVE = {"B01": 60, "B09": 60, "B02": 10, "B03": 10, "B04": 10, "B08": 10}


def _read(path: Path) -> np.ndarray:
    ds = gdal.Open(str(path))              # keep the dataset alive while its band is read
    return ds.GetRasterBand(1).ReadAsArray()


def _granule(l2a: Path) -> Path:
    (granule,) = list((l2a / "GRANULE").iterdir())
    return granule


@pytest.fixture(scope="module")
def l1c(tmp_path_factory):
    return generate_product(tmp_path_factory.mktemp("l1c"), size="tiny", spacecraft="S2B")


@pytest.fixture(scope="module")
def full_run(l1c, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    result = process_product(l1c, ProcessingOptions(output_dir=str(out), overrides=FLAT_SEA_LEVEL))
    return result.product_path, result


# ----------------------------------------------------------------------------------- schedule
def test_schedule_follows_sen2cor():
    assert full_schedule(None, True).native == (20, 10) and full_schedule(None, True).derived == (60,)
    assert full_schedule(10, False).native == (20, 10) and full_schedule(10, False).derived == ()
    assert full_schedule(20, True).native == (20,) and full_schedule(20, True).derived == (60,)
    assert full_schedule(60, True).native == (60,) and full_schedule(60, True).derived == ()


# ------------------------------------------------------------------------------------ product
def test_every_layer_of_every_resolution_is_written(full_run):
    l2a, result = full_run
    names = product_names(l2a)
    assert result.resolutions == (10, 20, 60)
    for res in (10, 20, 60):
        for layer in naming.RESOLUTION_LAYERS[res]:
            path = l2a / names.image_relpath(layer, res)
            assert path.is_file(), path
            ds = gdal.Open(str(path))
            assert ds.RasterCount == (3 if layer == "TCI" else 1)
            dtype = gdal.GetDataTypeName(ds.GetRasterBand(1).DataType)
            assert dtype == ("Byte" if layer in ("SCL", "TCI") else "UInt16"), (layer, dtype)
    qi = _granule(l2a) / "QI_DATA"
    for mask in ("MSK_CLDPRB", "MSK_SNWPRB"):
        for res in (20, 60):
            assert (l2a / names.mask_relpath(mask, res)).is_file()
    assert not list(qi.glob("MSK_CLDPRB_10m*"))
    assert len(list(qi.glob("*_PVI.jp2"))) == 1


def test_surface_reflectance_matches_the_truth(l1c, full_run):
    """The closed loop through the product files (module notes)."""
    l2a, _ = full_run
    names = product_names(l2a)
    tdir = truth_dir_for(l1c)
    inner = interiors(tdir)
    lines, problems = [], []
    for res, bands in ((20, ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")),
                       (10, ("B02", "B03", "B04", "B08")), (60, ("B01", "B09"))):
        for band in bands:
            truth = _read(tdir / f"SR_{band}.tif").astype(np.float64)
            native = NATIVE.get(band, 20)
            ref = _block(truth, res // native) if res > native else truth
            ours = (_read(l2a / names.image_relpath(band, res)).astype(np.float64) - 1000.0) / 10000.0
            mask = inner[res] & np.isfinite(ref)
            err = np.abs(ours[mask] - ref[mask])
            share = 100.0 * np.mean(err <= 0.005 + 0.05 * ref[mask])
            lines.append(f"{res} m {band}: {share:5.1f} % within, bias {np.mean(ours[mask] - ref[mask]):+.5f}, "
                         f"n {mask.sum()}")
            if mask.sum() < 20 or share < (90.0 if band in ("B01", "B09") else 95.0):
                problems.append(lines[-1])
    print("\n" + "\n".join(lines))
    assert not problems, problems


def test_aot_and_water_vapour_maps_match_the_truth(l1c, full_run):
    l2a, result = full_run
    names = product_names(l2a)
    inner = interiors(truth_dir_for(l1c))[20]
    aot = _read(l2a / names.image_relpath("AOT", 20)) / 1000.0
    wv = _read(l2a / names.image_relpath("WVP", 20)) / 1000.0
    assert abs(aot[inner].mean() - 0.15) <= 0.03
    assert abs(wv[inner].mean() - 1.5) <= 0.15
    assert result.image_content_qi["AOT_RETRIEVAL_METHOD"] == "SEN2COR_DDV"
    assert result.image_content_qi["GRANULE_MEAN_AOT"] == pytest.approx(0.15, abs=0.03)
    assert result.image_content_qi["GRANULE_MEAN_WV"] == pytest.approx(1.5, abs=0.15)


def test_10m_run_reuses_the_20m_aot_and_classification(full_run):
    l2a, _ = full_run
    names = product_names(l2a)
    aot20 = _read(l2a / names.image_relpath("AOT", 20))
    aot10 = _read(l2a / names.image_relpath("AOT", 10))
    up = upsample_nearest(aot20, 2)
    valid = (aot10 > 0) & (up > 0)
    assert valid.mean() > 0.5
    assert np.array_equal(aot10[valid], up[valid])
    wvp10 = _read(l2a / names.image_relpath("WVP", 10))
    assert len(np.unique(wvp10[wvp10 > 0])) == 1          # the scene mean water vapour


def test_60m_product_is_derived_from_the_20m_run(full_run):
    l2a, _ = full_run
    names = product_names(l2a)
    for band in ("B04", "B8A", "B12"):
        b20 = _read(l2a / names.image_relpath(band, 20))
        assert np.array_equal(_read(l2a / names.image_relpath(band, 60)), block_mean_dn(b20, 3, 0)[0])


def test_metadata_holds_the_correction_values(full_run):
    l2a, _ = full_run
    granule = _granule(l2a)
    product_qi = qi_values(l2a / "MTD_MSIL2A.xml")
    assert product_qi["AOT_RETRIEVAL_METHOD"] == "SEN2COR_DDV"
    assert 0.12 <= float(product_qi["GRANULE_MEAN_AOT"]) <= 0.18
    assert 1.35 <= float(product_qi["GRANULE_MEAN_WV"]) <= 1.65
    assert product_qi["OZONE_SOURCE"] == "AUX_ECMWFT"
    quality = quality_values(granule / "QI_DATA" / "L2A_QUALITY.xml")
    assert quality["WV_RETRIEVAL_METHOD"] == "SEN2COR_APDA"
    assert float(quality["FINAL_VISIBILITY_KM"]) > 5.0
    assert float(quality["DDV_PIXEL_PERCENTAGE"]) > 0.0
    assert "lut_6s.npz" in quality["LUT_DATA_FILES"]
    for band in ("B02", "B04", "B08", "B12"):
        assert 0.0 <= float(quality[band]) <= 100.0, band
    root = parse_file(l2a / "MTD_MSIL2A.xml")
    offsets = [int(e.text) for e in root.iterfind(".//{*}BOA_ADD_OFFSET")]
    assert offsets and set(offsets) == {-1000}


def test_gdal_sentinel2_driver_reads_the_surface_reflectance(full_run):
    l2a, _ = full_run
    names = product_names(l2a)
    ds = gdal.Open(str(l2a / "MTD_MSIL2A.xml"))
    subdatasets = {v.split(":")[-2]: v for k, v in ds.GetMetadata("SUBDATASETS").items() if k.endswith("_NAME")}
    sub = gdal.Open(subdatasets["10m"])
    bands = {sub.GetRasterBand(i + 1).GetDescription().split(",")[0]: i + 1 for i in range(sub.RasterCount)}
    assert {"B4", "B3", "B2", "B8"} <= set(bands)
    assert np.array_equal(sub.GetRasterBand(bands["B4"]).ReadAsArray(),
                          _read(l2a / names.image_relpath("B04", 10)))


# ---------------------------------------------------------------------------------- variants
@pytest.mark.parametrize("resolution, folders", [("20", (20, 60)), ("60", (60,))])
def test_resolution_option(l1c, home, tmp_path, resolution, folders):
    out = tmp_path / "out"
    assert cli.main([str(l1c), "--output_dir", str(out), "--resolution", resolution]) == 0
    (l2a,) = list(out.iterdir())
    img = _granule(l2a) / "IMG_DATA"
    for res in (10, 20, 60):
        files = list((img / f"R{res}m").glob("*")) if (img / f"R{res}m").is_dir() else []
        assert bool(files) == (res in folders), (res, files)
    if resolution == "60":
        names = product_names(l2a)
        assert _read(l2a / names.image_relpath("B09", 60)).any()
        assert quality_values(_granule(l2a) / "QI_DATA" / "L2A_QUALITY.xml")["AOT_RETRIEVAL_METHOD"] \
            in ("SEN2COR_DDV", "CAMS", "FIXED")


def test_look_up_table_that_does_not_cover_the_scene_stops_before_writing(l1c, home, tmp_path,
                                                                          monkeypatch, capsys):
    """While the table is being built, a scene outside the finished part is refused with one line
    (never corrected with clamped terms)."""
    real_setup = lut_table.AtmosphereLUT._setup

    def shrunk(self):
        real_setup(self)
        cov = self.coverage
        ranges = dict(cov.ranges, sza=(50.0, 70.0))                  # the scene has 45 deg
        self.coverage = lut_table.Coverage(cov.aerosol, cov.unit, cov.bands, ranges, cov.nodes, False,
                                           cov.scattering_nodes_done, cov.scattering_nodes_total)
    monkeypatch.setattr(lut_table.AtmosphereLUT, "_setup", shrunk)
    out = tmp_path / "out"
    with pytest.raises(LUTNotAvailableError, match="sun zenith"):
        process_product(l1c, ProcessingOptions(output_dir=str(out)))
    assert not out.exists() or not list(out.iterdir())
    assert cli.main([str(l1c), "--output_dir", str(out)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("L2A_Process: error:")]
    assert len(err) == 1 and "look-up table" in err[0]
    assert not out.exists() or not list(out.iterdir())


def test_cancel_during_the_correction_leaves_nothing(l1c, home, tmp_path):
    out = tmp_path / "out"
    event = threading.Event()
    seen = []

    def progress(fraction, message):
        seen.append(message)
        if "surface reflectance" in message:
            event.set()
    with pytest.raises(CancelledError):
        process_product(l1c, ProcessingOptions(output_dir=str(out)), progress=progress, cancel=event)
    assert any("surface reflectance" in m for m in seen)
    assert not out.exists() or list(out.iterdir()) == []


def test_default_configuration_runs_with_adjacency(l1c, home, tmp_path):
    """Sen2Cor's defaults (Adj_Km 1, Altitude 0.1): the product is complete and the reflectance
    stays close to the truth (the generator has no adjacency effect, so the adjacency term
    makes small changes only where neighbours differ)."""
    out = tmp_path / "out"
    result = process_product(l1c, ProcessingOptions(output_dir=str(out), resolution=20))
    names = product_names(result.product_path)
    tdir = truth_dir_for(l1c)
    inner = interiors(tdir)[20]
    truth = _read(tdir / "SR_B8A.tif")
    ours = (_read(result.product_path / names.image_relpath("B8A", 20)).astype(float) - 1000) / 1e4
    assert np.median(np.abs(ours[inner] - truth[inner])) < 0.01
    assert find_local(parse_file(result.product_path / "MTD_MSIL2A.xml"), ".//Product_Info") is not None


def test_processing_report_in_the_product_and_in_the_home_log(full_run, sen2cor_home):
    """The run's log at Log_Level (INFO by default) in QI_DATA (listed in manifest.safe) and the
    whole run in $SEN2COR_HOME/log."""
    from lxml import etree

    l2a, _ = full_run
    report = _granule(l2a) / "QI_DATA" / "L2A_PROCESS_REPORT.xml"
    root = etree.parse(str(report)).getroot()
    messages = [r.text for r in root.iter("record")]
    assert {r.get("level") for r in root.iter("record")} <= {"INFO", "WARNING", "ERROR"}
    assert any("atmospheric correction 20 m: AOT550" in m for m in messages)
    assert "L2A_PROCESS_REPORT.xml" in (l2a / "manifest.safe").read_text()
    # other runs of this module may give a product of the same name (same second): find this one's
    logs = list((sen2cor_home / "log").glob(f"{l2a.name[:-5]}_*_report.xml"))
    runs = [[r.text for r in etree.parse(str(p)).getroot().iter("record")] for p in logs]
    mine = [m for m in runs if m[:len(messages)] == messages]
    assert len(mine) == 1
    assert any("written in" in m for m in mine[0]) and len(mine[0]) > len(messages)


# --------------------------------------------------------------------------- region of interest
ROI = {"row0": 120, "col0": 96, "nrow_win": 120, "ncol_win": 72}      # rows 60-179, columns 60-131


def test_region_of_interest_keeps_the_tile_grid_with_no_data_outside(l1c, full_run, tmp_path):
    from sen2cor_qgis.core.roi import RoiWindow, window_at

    out = tmp_path / "out"
    result = process_product(l1c, ProcessingOptions(output_dir=str(out), overrides=dict(
        FLAT_SEA_LEVEL, **ROI)))
    roi, whole = result.product_path, full_run[0]
    names, whole_names = product_names(roi), product_names(whole)
    window = RoiWindow(**ROI)
    for res, layers in ((10, ("B04", "B08", "AOT", "TCI")), (20, ("B8A", "SCL", "AOT", "WVP")),
                        (60, ("B01", "SCL"))):
        r0, c0, n, m = window_at(window, res)
        for layer in layers:
            ours = _read(roi / names.image_relpath(layer, res))
            ref = _read(whole / whole_names.image_relpath(layer, res))
            assert ours.shape == ref.shape, layer                       # the full tile grid
            inside = np.zeros(ours.shape, bool)
            inside[r0:r0 + n, c0:c0 + m] = True
            assert not ours[~inside].any(), f"{layer} {res} m: data outside the window"
            assert (ours[inside] > 0).mean() > 0.9, f"{layer} {res} m: window not processed"
            if layer == "SCL":
                assert (ours[inside] == ref[inside]).mean() > 0.9
            elif layer in ("B04", "B8A", "B01"):
                close = np.abs(ours[inside].astype(float) - ref[inside]) <= 100   # 0.01 reflectance
                assert close.mean() > 0.95, f"{layer} {res} m: {close.mean():.3f}"
    report = (_granule(roi) / "QI_DATA" / "L2A_PROCESS_REPORT.xml").read_text()
    assert "region of interest: row0=120 col0=96" in report


@pytest.mark.parametrize("values, message", [
    (dict(ROI, row0=121), "divisible by 6"),
    (dict(ROI, nrow_win=600), "outside the tile"),
])
def test_invalid_region_of_interest_is_refused_before_writing(l1c, home, tmp_path, values, message):
    from sen2cor_qgis.core.errors import ConfigError

    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=message):
        process_product(l1c, ProcessingOptions(output_dir=str(out), overrides=values))
    assert not out.exists() or not list(out.iterdir())


def test_region_outside_the_tile_fails_in_one_line_on_the_command_line(l1c, home, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [str(l1c), "--output_dir", str(out)] + [
        a for k, v in dict(ROI, nrow_win=600).items() for a in (f"--{k}", str(v))]
    assert cli.main(argv) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("L2A_Process: error:")]
    assert len(err) == 1 and "Region_Of_Interest" in err[0] and "outside the tile" in err[0]
    assert not out.exists() or not list(out.iterdir())


def test_auto_region_of_interest_is_the_data_bounding_box():
    """AUTO: bounding box of the data pixels, widened to the 60 m grid (multiple of 12 pixels);
    whole tile when the data cover more than 85 %."""
    from types import SimpleNamespace

    from sen2cor_qgis.core.product.model import TileGeocoding
    from sen2cor_qgis.core.roi import auto_window

    def product(b01):
        geocoding = TileGeocoding("UTM", 32634, {10: (1830, 1830), 20: (915, 915), 60: (305, 305)},
                                  {r: (0.0, 0.0, float(r), -float(r)) for r in (10, 20, 60)})
        return SimpleNamespace(granule=SimpleNamespace(image_files={"B01": "x"}, geocoding=geocoding),
                               special_values={"NODATA": 0}, read_band=lambda band: b01)
    b01 = np.zeros((305, 305), np.uint16)
    b01[50:100, 20:81] = 1200
    window = auto_window(product(b01))
    assert window.first_row <= 300 and window.first_row + window.nrow_win >= 600
    assert window.first_col <= 120 and window.first_col + window.ncol_win >= 486
    assert window.nrow_win % 12 == 0 and window.ncol_win % 12 == 0 and window.nrow_win <= 312
    b01[:] = 1200
    b01[:20, :20] = 0
    assert auto_window(product(b01)) is None


# ------------------------------------------------------------------------------ work databases
def test_bands_stream_through_hdf5_work_databases_removed_after_use(l1c, home, tmp_path):
    """The classification and correction read their bands from chunked HDF5 work databases in
    --img_database_dir; the files exist while the run works and are gone afterwards."""
    dbdir = tmp_path / "db"
    seen = {}

    def progress(fraction, message):
        for path in dbdir.glob("*.h5") if dbdir.is_dir() else ():
            seen[path.name] = max(seen.get(path.name, 0), path.stat().st_size)
    process_product(l1c, ProcessingOptions(output_dir=str(tmp_path / "out"),
                                           img_database_dir=str(dbdir)), progress=progress)
    names = " ".join(seen)
    assert "_20m_imgdb" in names and "_10m_imgdb" in names, seen
    assert list(dbdir.glob("*.h5")) == []


def test_each_band_file_is_decoded_once(l1c, home, tmp_path, monkeypatch):
    """B02-B04 are decoded once: the 20 m read keeps them at 10 m for the 10 m run (the
    rows decoded per band equal the band's rows)."""
    from sen2cor_qgis.core.product.model import L1CProduct

    import threading

    decoded, threads = {}, {}
    original = L1CProduct.read_band

    def counting(self, band, window=None):
        data = original(self, band, window)
        decoded[band] = decoded.get(band, 0) + data.shape[0]
        threads.setdefault(band, set()).add(threading.current_thread().name)
        return data
    monkeypatch.setattr(L1CProduct, "read_band", counting)
    result = process_product(l1c, ProcessingOptions(output_dir=str(tmp_path / "out")))
    from sen2cor_qgis.core.product.l1c_reader import read_l1c
    sizes = read_l1c(l1c)
    for band in ("B02", "B03", "B04", "B08", "B05", "B11", "B01"):
        assert decoded[band] == sizes.band_size(band)[0], (band, decoded)
    # the 20 m read decodes a band ahead; B08 (not needed at 20 m) is decoded in the background
    # while the classification runs
    assert threads["B08"] == {"sen2cor-decode-10m"} and threads["B02"] == {"sen2cor-read-l1c"}
    assert result.product_path.is_dir()


def test_background_10m_decoding_failure_stops_the_run(l1c, home, tmp_path, monkeypatch):
    """A read error of the band decoded in the background ends the run with that error and
    leaves no product behind."""
    from sen2cor_qgis.core.errors import Sen2CorError
    from sen2cor_qgis.core.product.model import L1CProduct

    original = L1CProduct.read_band

    def failing(self, band, window=None):
        if band == "B08":
            raise Sen2CorError("cannot decode B08 (damaged file)")
        return original(self, band, window)
    monkeypatch.setattr(L1CProduct, "read_band", failing)
    out = tmp_path / "out"
    with pytest.raises(Sen2CorError, match="B08"):
        process_product(l1c, ProcessingOptions(output_dir=str(out)))
    assert not any(out.glob("*.SAFE")) if out.exists() else True


def test_background_job_hands_over_its_error_and_stops_when_abandoned():
    import threading

    from sen2cor_qgis.core.full_processing import BackgroundJob

    def fails(stop):
        raise ValueError("decoder failed")
    job = BackgroundJob(fails, "t")
    with pytest.raises(ValueError, match="decoder failed"):
        job.join()
    started = threading.Event()

    def waits(stop):
        started.set()
        assert stop.wait(10.0)
        raise RuntimeError("stopped")
    job = BackgroundJob(waits, "t")
    assert started.wait(5.0)
    job.join(abandon=True)                      # stops it; its error is dropped


def test_debug_keeps_the_work_databases(l1c, home, tmp_path):
    dbdir = tmp_path / "db"
    process_product(l1c, ProcessingOptions(output_dir=str(tmp_path / "out"), img_database_dir=str(dbdir),
                                           debug=True, overrides={"Database_Compression_Level": 1}))
    import tables

    kept = sorted(dbdir.glob("*.h5"))
    assert len(kept) == 2 and "_10m_" in kept[0].name and "_20m_" in kept[1].name
    contents = []
    for path in kept:
        with tables.open_file(str(path)) as h5:
            contents.append({node.name: node.shape for node in h5.walk_nodes("/", "Array")})
    assert contents[0] == {b: (240, 240) for b in ("B02", "B03", "B04", "B08")}
    assert {"B01", "B02", "B8A", "B09", "B10", "B12"} <= set(contents[1])        # 20 m inputs
    assert all(shape == (120, 120) for shape in contents[1].values())


def test_memory_cap_lowers_the_parallelism(l1c):
    """memory_limit_mb: the full-tile buffers of the finest grid (bands in correction + images
    queued for encoding, uint16) must fit into half of the cap."""
    import logging

    from sen2cor_qgis.core.config import load_config
    from sen2cor_qgis.core.full_processing import FullProcessing
    from sen2cor_qgis.core.product.l1c_reader import read_l1c

    product = read_l1c(l1c)                        # tiny: 240 x 240 at 10 m = 0.11 MB per band
    config = load_config(overrides={"Nr_Threads": 4})

    def run(cap, resolution=None):
        options = ProcessingOptions(memory_limit_mb=cap, resolution=resolution)
        return FullProcessing(product, options, config, full_schedule(resolution, True),
                              lambda *a, **k: None, None, logging.getLogger("test")).parallelism()
    assert run(0) == 4
    assert run(1) == 2                             # 0.5 MB // (2 x 0.11 MB) = 2
    assert run(100) == 4
    with pytest.raises(ValueError, match="memory_limit_mb"):
        ProcessingOptions(memory_limit_mb=-1)


# ----------------------------------------------------------------- baselines, units, formats
VARIANTS = [
    ("05.09", "S2A", "JP2", {}),
    ("02.07", "S2B", "JP2", {}),                 # before 04.00: no radiometric offset
    ("05.09", "S2C", "TIF", {}),
    ("04.00", "S2B", "RAW", {}),
    ("05.09", "S2B", "JP2", {"row0": "AUTO", "col0": "AUTO"}),     # AUTO ROI: whole tile here
]


@pytest.mark.parametrize("baseline, unit, fmt, roi", VARIANTS,
                         ids=["-".join((b, u, f) + (("roi-auto",) if r else ())) for b, u, f, r in VARIANTS])
def test_variants_give_complete_products_close_to_the_truth(tmp_path_factory, baseline, unit, fmt, roi):
    """Baselines (with and without RADIO_ADD_OFFSET), the three units (each corrected with its own
    spectral responses), the three output formats and AUTO ROI: complete tree and metadata, BOA
    of B04 (10 m) and B8A (20 m) within the closed-loop tolerance in the clear interiors."""
    root = tmp_path_factory.mktemp(f"v{baseline}{unit}{fmt}")
    safe = generate_product(root / "l1c", size="tiny", baseline=baseline, spacecraft=unit)
    result = process_product(safe, ProcessingOptions(output_dir=str(root / "out"), output_format=fmt,
                                                     overrides=dict(FLAT_SEA_LEVEL, **roi)))
    l2a = result.product_path
    names = product_names(l2a)
    offset = -1000 if baseline >= "04.00" else 0
    root_xml = parse_file(l2a / "MTD_MSIL2A.xml")
    offsets = {int(e.text) for e in root_xml.iterfind(".//{*}BOA_ADD_OFFSET")}
    assert offsets == ({offset} if offset else set())           # no offset list before 04.00
    entries = [e.text for e in root_xml.iterfind(".//{*}IMAGE_FILE")]
    for res in (10, 20, 60):
        for layer in naming.RESOLUTION_LAYERS[res]:
            path = l2a / names.image_relpath(layer, res)
            assert path.is_file(), path
            assert names.image_relpath(layer, res).rsplit(".", 1)[0] in entries
    assert l2a.name.startswith(f"{unit}_MSIL2A_")
    inner = interiors(truth_dir_for(safe))
    tdir = truth_dir_for(safe)
    for band, res in (("B04", 10), ("B8A", 20)):
        truth = _read(tdir / f"SR_{band}.tif").astype(np.float64)
        ours = (_read(l2a / names.image_relpath(band, res)).astype(np.float64) + offset) / 10000.0
        mask = inner[res] & np.isfinite(truth)
        share = np.mean(np.abs(ours[mask] - truth[mask]) <= 0.005 + 0.05 * truth[mask])
        assert share >= 0.95, f"{band}: {share:.3f}"
    assert qi_values(l2a / "MTD_MSIL2A.xml")["AOT_RETRIEVAL_METHOD"] == "SEN2COR_DDV"


def test_streamed_true_colour_images_match_their_bands(full_run):
    """The TCI of each grid (streamed channel by channel at 10 m and 20 m) is the true-colour
    rendering of that grid's BOA B04, B03, B02."""
    from sen2cor_qgis.core.raster.tci import true_colour

    l2a, _ = full_run
    names = product_names(l2a)
    for res in (10, 20, 60):
        bands = [_read(l2a / names.image_relpath(b, res)) for b in ("B04", "B03", "B02")]
        ds = gdal.Open(str(l2a / names.image_relpath("TCI", res)))
        tci = ds.ReadAsArray()
        assert np.array_equal(tci, true_colour(*bands, offsets=(-1000.0,) * 3)), res


def test_scene_without_data_is_written_as_scene_classification_only(l1c, home, tmp_path, monkeypatch):
    """§4.1 step 6: a classification that is NO_DATA everywhere gives the scene-classification
    product (TOA bands exported from the work database), no atmospheric correction."""
    from sen2cor_qgis.core.full_processing import FullProcessing

    real = FullProcessing.classify

    def nothing(self, inputs, progress_end):
        sc = real(self, inputs, progress_end)
        sc.scl[:] = 0
        return sc
    monkeypatch.setattr(FullProcessing, "classify", nothing)
    result = process_product(l1c, ProcessingOptions(output_dir=str(tmp_path / "out"), resolution=20))
    names = product_names(result.product_path)
    assert qi_values(result.product_path / "MTD_MSIL2A.xml")["AOT_RETRIEVAL_METHOD"] == "NONE"
    toa = _read(result.product_path / names.image_relpath("B8A", 20))
    assert toa.any() and not _read(result.product_path / names.image_relpath("AOT", 20)).any()
