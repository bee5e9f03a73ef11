"""PDGS modes (reference §3.3): `--mode generate_datastrip` then `--mode process_tile`.

The inputs are the datastrip and the tile of a generated product, copied out of the SAFE under
the ground segment's standard names (S2B_OPER_MSI_L1C_DS_..., S2B_OPER_MSI_L1C_TL_...). Real L1C
datastrip metadata carry the spectral responses; the generator's MTD_DS.xml does not, so the
copy is given those of the product's MTD_MSIL1C.xml - with them the tile must be corrected
exactly as the toolbox corrects the product.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core import cli
from sen2cor_qgis.core.pdgs import inputs
from sen2cor_qgis.core.pdgs.datastrip_info import read_datastrip
from sen2cor_qgis.core.pdgs.safe_view import build_safe_view
from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product
from sen2cor_qgis.core.product import naming
from sen2cor_qgis.core.product.l1c_reader import read_l1c
from sen2cor_qgis.core.product.l2a_xml import find_local, findall_local, parse_file, write_xml
from sen2cor_qgis.core.product.metadata_tile import parse_tile_metadata
from sen2cor_qgis.tools.sample_product import generate_product

gdal.UseExceptions()
BASELINE = "05.09"
TILE_NAME = re.compile(r"^S2B_OPER_MSI_L2A_TL_SGS__(\d{8}T\d{6})_A(\d{6})_T34UDD_N05\.09$")
DS_NAME = re.compile(r"^DS_SGS__\d{8}T\d{6}_S(\d{8}T\d{6})$")


def _with_responses(mtd_ds: Path, mtd_msil1c: Path) -> None:
    """Give a datastrip copy the Spectral_Information_List (with responses) of the product."""
    ds, product = parse_file(mtd_ds), parse_file(mtd_msil1c)
    radiometric = find_local(ds, "Image_Data_Info/Radiometric_Info")
    old = find_local(radiometric, "Spectral_Information_List")
    new = find_local(product, "General_Info/Product_Image_Characteristics/Spectral_Information_List")
    radiometric.replace(old, new)
    write_xml(ds, mtd_ds)


@pytest.fixture(scope="module")
def l1c(tmp_path_factory) -> Path:
    return generate_product(tmp_path_factory.mktemp("l1c"), size="tiny", spacecraft="S2B")


@pytest.fixture(scope="module")
def pdgs_inputs(l1c, tmp_path_factory):
    """(L1C datastrip, L1C tile) in the standard naming, outside any SAFE."""
    root = tmp_path_factory.mktemp("pdgs_in")
    (ds,) = (l1c / "DATASTRIP").iterdir()
    (granule,) = (l1c / "GRANULE").iterdir()
    tile_id = parse_tile_metadata((granule / "MTD_TL.xml").read_bytes(), "MTD_TL.xml").tile_id
    ds_id = read_datastrip(ds / "MTD_DS.xml", "1C").datastrip_id
    ds_copy, tile_copy = root / ds_id, root / tile_id
    shutil.copytree(ds, ds_copy)
    shutil.copytree(granule, tile_copy)
    _with_responses(ds_copy / "MTD_DS.xml", l1c / "MTD_MSIL1C.xml")
    return ds_copy, tile_copy


@pytest.fixture(scope="module")
def l2a_datastrip(pdgs_inputs, tmp_path_factory, home):
    out = tmp_path_factory.mktemp("pdgs_ds")
    status = cli.main(["--mode", "generate_datastrip", "--datastrip", str(pdgs_inputs[0]),
                       "--processing_centre", "SGS_", "--archiving_centre", "MPS_",
                       "--processing_baseline", BASELINE, "--work_dir", str(out / "work"),
                       "--output_dir", str(out / "ds")])
    assert status == 0
    (made,) = (out / "ds").iterdir()
    return made


@pytest.fixture(scope="module")
def l2a_tile(l2a_datastrip, pdgs_inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("pdgs_tile")
    status = cli.main(["--mode", "process_tile", "--datastrip", str(l2a_datastrip),
                       "--tile", str(pdgs_inputs[1]), "--work_dir", str(out / "work"),
                       "--output_dir", str(out / "tiles")])
    assert status == 0
    (made,) = (out / "tiles").iterdir()
    return made, out


@pytest.fixture(scope="module")
def toolbox(l1c, tmp_path_factory, home):
    out = tmp_path_factory.mktemp("toolbox")
    result = process_product(l1c, ProcessingOptions(output_dir=str(out), processing_baseline=BASELINE))
    (granule,) = (result.product_path / "GRANULE").iterdir()
    return granule


def _one_line_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("L2A_Process: error:")]
    assert len(err) == 1, err
    return err[0]


# ---------------------------------------------------------------------------- datastrip
def test_datastrip_folder_and_metadata(l2a_datastrip, pdgs_inputs):
    match = DS_NAME.match(l2a_datastrip.name)
    assert match, l2a_datastrip.name
    l1c = read_datastrip(inputs.l1c_datastrip(pdgs_inputs[0])[1], "1C")
    assert match.group(1) == l1c.sensing_start
    mtd = parse_file(l2a_datastrip / "MTD_DS.xml")
    assert mtd.tag.endswith("}Level-2A_DataStrip_ID")
    info = read_datastrip(l2a_datastrip / "MTD_DS.xml", "2A")
    assert info.processing_centre == "SGS_" and info.archiving_centre == "MPS_"
    assert info.processing_baseline == BASELINE
    assert re.match(r"^S2B_OPER_MSI_L2A_DS_SGS__\d{8}T\d{6}_S" + l1c.sensing_start + r"_N05\.09$",
                    info.datastrip_id)
    assert find_local(mtd, "Image_Data_Info/Radiometric_Info/QUANTIFICATION_VALUES_LIST/"
                           "BOA_QUANTIFICATION_VALUE").text == "10000"
    gipps = {e.get("type") for e in findall_local(mtd, "Auxiliary_Data_Info/GIPP_List/GIPP_FILENAME")}
    assert {"GIP_L2ACSC", "GIP_L2ACAC", "GIP_PROBA2"} <= gipps
    assert findall_local(mtd, "Image_Data_Info/Tiles_Information/Tile_List/Tile") == []
    reports = sorted(p.name for p in (pdgs_inputs[0] / "QI_DATA").glob("*.xml"))
    assert reports and sorted(p.name for p in (l2a_datastrip / "QI_DATA").iterdir()) == reports
    record = json.loads((l2a_datastrip / "L1C_DATASTRIP.json").read_text())
    assert record["l1c_datastrip_id"] == l1c.datastrip_id
    assert record["l2a_datastrip_id"] == info.datastrip_id
    assert Path(record["l1c_metadata"]) == pdgs_inputs[0] / "MTD_DS.xml"


# --------------------------------------------------------------------------------- tile
def test_tile_folder_name_and_metadata(l2a_tile, l2a_datastrip, pdgs_inputs):
    tile, out = l2a_tile
    match = TILE_NAME.match(tile.name)
    assert match, tile.name
    l1c_tile = parse_tile_metadata((pdgs_inputs[1] / "MTD_TL.xml").read_bytes(), "MTD_TL.xml")
    assert int(match.group(2)) == l1c_tile.absolute_orbit
    mtd = parse_file(tile / "MTD_TL.xml")
    assert mtd.tag.endswith("}Level-2A_Tile_ID")
    assert find_local(mtd, "General_Info/TILE_ID").text == tile.name
    assert find_local(mtd, "General_Info/L1C_TILE_ID").text == l1c_tile.tile_id
    ds = read_datastrip(l2a_datastrip / "MTD_DS.xml", "2A")
    assert find_local(mtd, "General_Info/DATASTRIP_ID").text == ds.datastrip_id
    assert find_local(mtd, "General_Info/Archiving_Info/ARCHIVING_CENTRE").text == "MPS_"
    assert tile.name in (tile / "QI_DATA" / "L2A_QUALITY.xml").read_text()
    # nothing else in the output folder, nothing left in the work folder
    assert [p.name for p in (out / "tiles").iterdir()] == [tile.name]
    assert not list((out / "work").iterdir())


def test_tile_holds_every_l2a_layer(l2a_tile):
    tile, _ = l2a_tile
    for res, layers in naming.RESOLUTION_LAYERS.items():
        names = {p.name.split("_")[2] for p in (tile / "IMG_DATA" / f"R{res}m").glob("*.jp2")}
        assert names == set(layers), (res, names ^ set(layers))
    for mask in ("MSK_CLDPRB_20m.jp2", "MSK_SNWPRB_20m.jp2", "MSK_CLDPRB_60m.jp2"):
        assert (tile / "QI_DATA" / mask).is_file()


def _read(path: Path) -> np.ndarray:
    ds = gdal.Open(str(path))
    return ds.GetRasterBand(1).ReadAsArray()


def test_boa_bands_equal_the_toolbox_run(l2a_tile, toolbox):
    tile, _ = l2a_tile
    compared = 0
    for res, layers in naming.RESOLUTION_LAYERS.items():
        for layer in layers:
            (ours,) = (tile / "IMG_DATA" / f"R{res}m").glob(f"*_{layer}_{res}m.jp2")
            (theirs,) = (toolbox / "IMG_DATA" / f"R{res}m").glob(f"*_{layer}_{res}m.jp2")
            assert ours.name == theirs.name
            if layer == "TCI":
                continue
            np.testing.assert_array_equal(_read(ours), _read(theirs), err_msg=f"{layer} {res} m")
            compared += 1
    assert compared >= 30


def test_a_processed_tile_is_not_processed_again(l2a_tile, l2a_datastrip, pdgs_inputs, capsys):
    tile, out = l2a_tile
    before = sorted(p.name for p in (out / "tiles").iterdir())
    status = cli.main(["--mode", "process_tile", "--datastrip", str(l2a_datastrip),
                       "--tile", str(pdgs_inputs[1]), "--work_dir", str(out / "work"),
                       "--output_dir", str(out / "tiles")])
    assert status == 1
    assert "already processed" in _one_line_error(capsys)
    assert sorted(p.name for p in (out / "tiles").iterdir()) == before


# ------------------------------------------------------------------------------ SAFE view
def test_view_reads_like_the_product(l1c, pdgs_inputs, tmp_path):
    """The compact view of the tile carries what the engine reads from a user product."""
    ds_folder, ds_mtd = inputs.l1c_datastrip(pdgs_inputs[0])
    tile_folder, tile_mtd = inputs.l1c_tile(pdgs_inputs[1])
    xml = tile_mtd.read_bytes()
    view = build_safe_view(tmp_path, read_datastrip(ds_mtd, "1C"), ds_folder,
                           parse_tile_metadata(xml, str(tile_mtd)), tile_folder, xml,
                           inputs.band_files(tile_folder))
    a, b = read_l1c(view), read_l1c(l1c)
    assert a.product_uri.startswith("S2B_MSIL1C_") and a.granule.folder_name == b.granule.folder_name
    for field in ("spacecraft", "processing_baseline", "datatake_sensing_start", "sensing_orbit_number",
                  "quantification_value", "reflectance_conversion_u", "special_values", "display_order"):
        assert getattr(a, field) == getattr(b, field), field
    for band in b.bands:
        x, y = a.bands[band], b.bands[band]
        assert (x.solar_irradiance, x.radio_add_offset, x.wavelength_min) == \
               (y.solar_irradiance, y.radio_add_offset, y.wavelength_min)
        np.testing.assert_array_equal(x.response, y.response)
    assert {k: Path(v).name for k, v in a.granule.image_files.items()} == \
           {k: Path(v).name for k, v in b.granule.image_files.items()}
    assert len(a.granule.quality_masks) == len(b.granule.quality_masks)
    assert a.granule.auxiliary.mean_ozone_du == b.granule.auxiliary.mean_ozone_du
    lat = np.mean([p[0] for p in a.footprint])
    assert abs(lat - np.mean([p[0] for p in b.footprint])) < 1.0


def test_a_datastrip_without_responses_leaves_them_to_the_stored_ones(l1c, tmp_path):
    (ds,) = (l1c / "DATASTRIP").iterdir()          # the generator's: no Spectral_Response
    (granule,) = (l1c / "GRANULE").iterdir()
    xml = (granule / "MTD_TL.xml").read_bytes()
    view = build_safe_view(tmp_path, read_datastrip(ds / "MTD_DS.xml", "1C"), ds,
                           parse_tile_metadata(xml, "MTD_TL.xml"), granule, xml,
                           inputs.band_files(granule))
    product = read_l1c(view)
    assert all(band.response.size == 0 for band in product.bands.values())


# --------------------------------------------------------------------------------- errors
def test_generate_datastrip_errors(pdgs_inputs, l2a_datastrip, tmp_path, home, capsys):
    out = tmp_path / "out"
    common = ["--processing_centre", "SGS_", "--archiving_centre", "MPS_",
              "--work_dir", str(tmp_path / "work"), "--output_dir", str(out)]
    missing = tmp_path / "DS_nothing"
    assert cli.main(["--mode", "generate_datastrip", "--datastrip", str(missing)] + common) == 1
    line = _one_line_error(capsys)
    assert "--datastrip" in line and str(missing) in line

    wrong = tmp_path / "S2B_OPER_MSI_L1C_TL_something"
    wrong.mkdir()
    assert cli.main(["--mode", "generate_datastrip", "--datastrip", str(wrong)] + common) == 1
    assert "S2?_OPER_MSI_L1C_DS* or DS_*" in _one_line_error(capsys)

    # an L2A datastrip is not an L1C one
    assert cli.main(["--mode", "generate_datastrip", "--datastrip", str(l2a_datastrip)] + common) == 1
    assert "Level-2A datastrip metadata, expected Level-1C" in _one_line_error(capsys)
    assert not out.exists() or not list(out.iterdir())

    with pytest.raises(SystemExit) as exc:         # argparse: missing required options
        cli.main(["--mode", "generate_datastrip", "--datastrip", str(pdgs_inputs[0])])
    assert exc.value.code == 2
    assert "--processing_centre" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--mode", "generate_datastrip", "--datastrip", str(pdgs_inputs[0]),
                  "--processing_centre", "sgs"] + common[2:])
    assert "SGS_" in capsys.readouterr().err


def test_process_tile_errors(pdgs_inputs, l2a_datastrip, l1c, tmp_path, home, capsys):
    out = tmp_path / "out"
    common = ["--work_dir", str(tmp_path / "work"), "--output_dir", str(out)]
    ds, tile = str(l2a_datastrip), str(pdgs_inputs[1])

    # the L1C datastrip where the L2A one is expected
    assert cli.main(["--mode", "process_tile", "--datastrip", str(pdgs_inputs[0]), "--tile", tile]
                    + common) == 1
    assert "generate_datastrip" in _one_line_error(capsys)

    missing = tmp_path / "L1C_T34UDD_nothing"
    assert cli.main(["--mode", "process_tile", "--datastrip", ds, "--tile", str(missing)] + common) == 1
    line = _one_line_error(capsys)
    assert "--tile" in line and str(missing) in line

    # a tile of another datastrip
    other = tmp_path / pdgs_inputs[1].name
    shutil.copytree(pdgs_inputs[1], other)
    mtd = other / "MTD_TL.xml"
    mtd.write_text(mtd.read_text().replace("_MSI_L1C_DS_", "_MSI_L1C_DS_X"))
    assert cli.main(["--mode", "process_tile", "--datastrip", ds, "--tile", str(other)] + common) == 1
    assert "belongs to datastrip" in _one_line_error(capsys)

    # a band file missing
    shutil.rmtree(other)
    shutil.copytree(pdgs_inputs[1], other)
    next((other / "IMG_DATA").glob("*_B8A.jp2")).unlink()
    assert cli.main(["--mode", "process_tile", "--datastrip", ds, "--tile", str(other)] + common) == 1
    assert "B8A" in _one_line_error(capsys)

    # a baseline contradicting the datastrip's
    assert cli.main(["--mode", "process_tile", "--datastrip", ds, "--tile", tile,
                     "--processing_baseline", "99.99"] + common) == 1
    assert "differs from the 05.09 of the L2A datastrip" in _one_line_error(capsys)

    # the record of the L1C datastrip gone
    copy = tmp_path / l2a_datastrip.name
    shutil.copytree(l2a_datastrip, copy)
    (copy / "L1C_DATASTRIP.json").unlink()
    assert cli.main(["--mode", "process_tile", "--datastrip", str(copy), "--tile", tile] + common) == 1
    assert "L1C_DATASTRIP.json" in _one_line_error(capsys)

    assert not out.exists() or not list(out.iterdir())
    with pytest.raises(SystemExit) as exc:
        cli.main(["--mode", "process_tile", "--datastrip", ds] + common)
    assert exc.value.code == 2 and "--tile" in capsys.readouterr().err
