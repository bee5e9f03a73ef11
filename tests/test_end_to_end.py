"""The command line on generated products: reader round trip, --cr_only product, and bad input.

Generated products stand in for real ones (none ships with the project); every baseline variant
and spacecraft the generator offers goes through the reader and the `--cr_only` tree.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core import cli
from sen2cor_qgis.core.product.l1c_reader import read_l1c
from sen2cor_qgis.core.product.model import BAND_NAMES, NATIVE_RESOLUTION
from sen2cor_qgis.tools.sample_product import generate_product

L2A_NAME = re.compile(r"^S2[ABC]_MSIL2A_\d{8}T\d{6}_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}_\d{8}T\d{6}\.SAFE$")

gdal.UseExceptions()


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """One tiny product per variant, generated once for the module."""
    root = tmp_path_factory.mktemp("l1c")
    made = {}
    for key, kwargs in {
        "05.09-S2B": dict(baseline="05.09", spacecraft="S2B"),
        "02.07-S2A": dict(baseline="02.07", spacecraft="S2A"),
        "05.11-S2C": dict(baseline="05.11", spacecraft="S2C"),
    }.items():
        made[key] = generate_product(root / key, size="tiny", **kwargs)
    return made


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated SEN2COR_HOME so tests never touch the user's ~/sen2cor."""
    path = tmp_path / "sen2cor_home"
    monkeypatch.setenv("SEN2COR_HOME", str(path))
    return path


def _gdal_dn(path: str) -> np.ndarray:
    ds = gdal.Open(path)
    return ds.GetRasterBand(1).ReadAsArray()


@pytest.mark.parametrize("variant", ["05.09-S2B", "02.07-S2A", "05.11-S2C"])
def test_reader_reads_generated_products_exactly(products, variant):
    safe = products[variant]
    baseline, spacecraft = variant.split("-")
    product = read_l1c(safe)
    assert product.spacecraft == spacecraft
    assert product.processing_baseline == baseline
    assert product.safe_name == safe.name
    assert product.has_radiometric_offset == (float(baseline) >= 4.0)
    for name in BAND_NAMES:
        band = product.bands[name]
        assert band.resolution == NATIVE_RESOLUTION[name]
        assert band.radio_add_offset == (-1000.0 if float(baseline) >= 4.0 else 0.0)
        dn = product.read_band(name)
        assert dn.dtype == np.uint16
        np.testing.assert_array_equal(dn, _gdal_dn(product.granule.image_files[name]))
        assert dn.shape == product.granule.geocoding.sizes[band.resolution]
    toa = product.read_toa("B04")
    dn = product.read_band("B04")
    valid = dn != 0
    expected = (dn[valid].astype(np.float64) + product.bands["B04"].radio_add_offset) / product.quantification_value
    np.testing.assert_allclose(toa.reflectance[valid], expected, rtol=0, atol=1e-6)
    assert np.array_equal(toa.nodata, ~valid)
    ds = gdal.Open(product.granule.image_files["B02"])
    assert ds.GetGeoTransform() == pytest.approx(product.granule.geocoding.geotransform(10))
    assert str(product.granule.geocoding.epsg) in ds.GetProjection() or ds.GetSpatialRef().GetAuthorityCode(None) == str(product.granule.geocoding.epsg)


@pytest.mark.parametrize("variant", ["05.09-S2B", "02.07-S2A"])
def test_reader_reads_the_generated_atmosphere(products, variant):
    import json

    from sen2cor_qgis.tools.sample_product.generator import truth_dir_for

    safe = products[variant]
    truth = json.loads((truth_dir_for(safe) / "truth.json").read_text())["atmosphere"]
    aux = read_l1c(safe).granule.auxiliary
    assert aux.mean_water_vapour_cm == pytest.approx(truth["water_vapour_g_cm2"], abs=1e-3)
    assert aux.mean_ozone_du == pytest.approx(truth["ozone_du"], abs=0.5)
    assert float(np.nanmean(aux.pressure_hpa)) == pytest.approx(truth["sea_level_pressure_pa"] / 100, abs=0.1)
    if float(variant.split("-")[0]) >= 4.0:
        assert aux.mean_aod550 == pytest.approx(truth["aot550"], abs=1e-3)  # AUX_CAMSFO from 04.00
    else:
        assert aux.aod550 is None


def test_reader_accepts_zip_and_mtd_path(products, tmp_path):
    safe = products["05.09-S2B"]
    archive = tmp_path / (safe.name[:-5] + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(safe.rglob("*")):
            zf.write(path, path.relative_to(safe.parent).as_posix())
    from_folder = read_l1c(safe)
    from_zip = read_l1c(archive)
    from_mtd = read_l1c(safe / "MTD_MSIL1C.xml")
    for product in (from_zip, from_mtd):
        assert product.product_uri == from_folder.product_uri
        assert product.granule.tile_number == from_folder.granule.tile_number
        np.testing.assert_array_equal(product.read_band("B8A"), from_folder.read_band("B8A"))
    assert from_zip.is_zip and from_zip.safe_path.startswith("/vsizip/")


@pytest.mark.parametrize("variant", ["05.09-S2B", "02.07-S2A", "05.11-S2C"])
def test_cr_only_creates_the_l2a_tree(products, variant, tmp_path, home, capsys):
    safe = products[variant]
    out = tmp_path / "out"
    status = cli.main([str(safe), "--cr_only", "--output_dir", str(out)])
    assert status == 0
    stdout = capsys.readouterr().out
    assert "Application terminated successfully." in stdout
    (l2a,) = [p for p in out.iterdir()]
    assert L2A_NAME.match(l2a.name), l2a.name
    assert f"L2A product: {l2a}" in stdout
    assert l2a.name.split("_")[3] == "N9999"  # toolbox default without --processing_baseline / --GIP_L2A_PB
    assert l2a.name.startswith(variant.split("-")[1] + "_MSIL2A_")
    granule = next((l2a / "GRANULE").iterdir())
    for sub in ("IMG_DATA/R10m", "IMG_DATA/R20m", "IMG_DATA/R60m", "QI_DATA", "AUX_DATA"):
        assert (granule / sub).is_dir()
    assert (granule / "MTD_TL.xml").is_file()
    assert (granule / "QI_DATA" / "L2A_QUALITY.xml").is_file()
    assert (granule / "AUX_DATA" / "AUX_ECMWFT").is_file()
    assert (l2a / "manifest.safe").is_file()
    ds = gdal.Open(str(l2a / "MTD_MSIL2A.xml"))
    meta = ds.GetMetadata()
    assert meta["PRODUCT_TYPE"] == "S2MSI2A"
    assert any("MSIL2A" in name for name in ds.GetMetadata("SUBDATASETS").values())
    assert (home / "cfg" / "L2A_GIPP.xml").is_file()  # SEN2COR_HOME initialised on first run
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_default_output_dir_is_the_input_parent(products, tmp_path, home):
    src = products["05.09-S2B"]
    safe = tmp_path / src.name
    shutil.copytree(src, safe)
    assert cli.main([str(safe / "MTD_MSIL1C.xml"), "--cr_only", "--processing_baseline", "05.10"]) == 0
    made = [p for p in tmp_path.iterdir() if "_MSIL2A_" in p.name]
    assert len(made) == 1 and "_N0510_" in made[0].name


def test_output_baseline_from_option_or_pb_gipp(products, tmp_path, home):
    from sen2cor_qgis.core.config import default_gipp_path

    safe = str(products["05.09-S2B"])
    assert cli.main([safe, "--cr_only", "--output_dir", str(tmp_path / "a"), "--GIP_L2A_PB",
                     str(default_gipp_path("PB"))]) == 0
    assert "_N0211_" in next((tmp_path / "a").iterdir()).name  # Baseline_Version of the 2.11 PB GIPP
    assert cli.main([safe, "--cr_only", "--output_dir", str(tmp_path / "b"), "--GIP_L2A_PB",
                     str(default_gipp_path("PB")), "--processing_baseline", "05.11"]) == 0
    assert "_N0511_" in next((tmp_path / "b").iterdir()).name  # the option wins over the GIPP


def test_existing_product_is_refused_and_untouched(products, tmp_path, home, capsys):
    safe = products["05.09-S2B"]
    out = tmp_path / "out"
    argv = [str(safe), "--cr_only", "--output_dir", str(out)]
    assert cli.main(argv) == 0
    (l2a,) = list(out.iterdir())
    marker = l2a / "user_file.txt"
    marker.write_text("mine")
    # same generation second is unlikely to repeat; force the clash by reusing the name
    from sen2cor_qgis.core.product import l2a_tree

    product = read_l1c(safe)
    with pytest.raises(Exception) as err:
        l2a_tree.create_l2a_tree(product, out, baseline="99.99",
                                 generation_time=_generation_time(l2a.name))
    assert "exists" in str(err.value)
    assert marker.read_text() == "mine"


def _generation_time(name: str):
    from datetime import datetime, timezone

    return datetime.strptime(name.split("_")[6][:15], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)


def test_pdgs_modes_fail_clearly(tmp_path, home, capsys):
    """Wrong PDGS inputs end with one line naming the option and the path (tests/test_pdgs.py
    covers the modes themselves)."""
    status = cli.main(["--mode", "process_tile", "--datastrip", str(tmp_path / "DS"), "--tile", "T",
                       "--work_dir", str(tmp_path / "work"), "--output_dir", str(tmp_path / "out")])
    assert status == 1
    line = _one_line_error(capsys)
    assert "--datastrip" in line and str(tmp_path / "DS") in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "work").exists()


def _one_line_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("L2A_Process: error:")]
    assert len(err) == 1, err
    return err[0]


def test_bad_inputs_give_one_line_errors(products, tmp_path, home, capsys):
    missing = tmp_path / "S2B_MSIL1C_nothing.SAFE"
    assert cli.main([str(missing), "--cr_only"]) == 1
    assert str(missing) in _one_line_error(capsys)

    broken = tmp_path / products["05.09-S2B"].name
    shutil.copytree(products["05.09-S2B"], broken)
    mtd = broken / "MTD_MSIL1C.xml"
    mtd.write_bytes(mtd.read_bytes()[:500])
    assert cli.main([str(broken), "--cr_only", "--output_dir", str(tmp_path / "o1")]) == 1
    line = _one_line_error(capsys)
    assert "MTD_MSIL1C.xml" in line and "XML" in line
    assert not (tmp_path / "o1").exists() or not list((tmp_path / "o1").iterdir())

    hostile = tmp_path / "hostile" / products["05.09-S2B"].name
    shutil.copytree(products["05.09-S2B"], hostile)
    text = (hostile / "MTD_MSIL1C.xml").read_text()
    body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
    (hostile / "MTD_MSIL1C.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n' + body)
    assert cli.main([str(hostile), "--cr_only", "--output_dir", str(tmp_path / "o2")]) == 1
    assert "MTD_MSIL1C.xml" in _one_line_error(capsys)

    bad_gipp = tmp_path / "L2A_GIPP.xml"
    from sen2cor_qgis.core.config import default_gipp_path

    bad_gipp.write_text(Path(default_gipp_path("L2A")).read_text().replace(
        "<Aerosol_Type>RURAL</Aerosol_Type>", "<Aerosol_Type>DESERT</Aerosol_Type>"))
    assert cli.main([str(products["05.09-S2B"]), "--cr_only", "--GIP_L2A", str(bad_gipp),
                     "--output_dir", str(tmp_path / "o3")]) == 1
    line = _one_line_error(capsys)
    assert "L2A_GIPP.xml" in line and "DESERT" in line and "RURAL" in line

    assert cli.main([str(products["05.09-S2B"]), "--cr_only", "--GIP_L2A", "no_such_gipp.xml"]) == 1
    assert "no_such_gipp.xml" in _one_line_error(capsys)


def test_wrong_level_is_refused(products, tmp_path, home, capsys):
    out = tmp_path / "out"
    assert cli.main([str(products["05.09-S2B"]), "--cr_only", "--output_dir", str(out)]) == 0
    (l2a,) = list(out.iterdir())
    capsys.readouterr()
    assert cli.main([str(l2a), "--cr_only", "--output_dir", str(tmp_path / "o")]) == 1
    line = _one_line_error(capsys)
    assert l2a.name in line or "MTD_MSIL2A" in line


def test_console_script_end_to_end(products, tmp_path, home):
    script = Path(sys.executable).parent / "L2A_Process"
    out = subprocess.run([str(script), str(products["02.07-S2A"]), "--cr_only", "--output_dir",
                          str(tmp_path / "o"), "--debug"], capture_output=True, text=True,
                         env=dict(os.environ, SEN2COR_HOME=str(home)))
    assert out.returncode == 0, out.stderr
    assert "Progress[%]: 100.00 : Application terminated successfully." in out.stdout
