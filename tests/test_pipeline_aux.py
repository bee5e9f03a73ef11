"""`--sc_only` with auxiliary data (issue 7 x issue 3): DEM (Force_Exit_On_DEM_Error, flat fallback,
Generate_DEM_Output), ESA CCI maps and the snow climatology from the auxiliary-data folder, and what
the product records about them (PRODUCTION_DEM_TYPE, Auxiliary_Data_Info, L2A_QUALITY.xml L2A_AUX).

The product is the generator's tiny 34UDD tile (central Poland, 53.2°N 19.5°E); the DEM is a
generated Copernicus GLO-90 tile (N53 E019) holding an analytic surface, the ESA CCI maps and
GlobalSnowMap small generated GeoTIFFs under Sen2Cor's file names.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core import cli
from sen2cor_qgis.core.auxdata.dem_sources import DemKind, DemTile
from sen2cor_qgis.core.auxdata.esacci import LANDCOVER_MAP, SNOWCONDITION_DIR, WATERBODIES_MAP, load_esacci
from sen2cor_qgis.core.batch import cli as batch_cli
from sen2cor_qgis.core.errors import CancelledError
from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product
from sen2cor_qgis.core.product.l1c_reader import read_l1c
from sen2cor_qgis.core.product.l2a_qi import qi_values
from sen2cor_qgis.core.product.l2a_quality import (VALUE_NAMES, quality_values, report_status,
                                                   update_l2a_quality)
from sen2cor_qgis.core.product.l2a_tree import product_names
from sen2cor_qgis.core.product.l2a_xml import find_local, findall_local, parse_file
from sen2cor_qgis.core.raster.l2a_images import existing_image_path
from sen2cor_qgis.core.sceneclass import product_inputs
from sen2cor_qgis.tools.sample_product import generate_product

from .test_aux_esacci import write_geographic
from .test_aux_snow import write_snow_map
from .test_aux_support import grid_lonlat, write_copernicus

gdal.UseExceptions()

LON0, LAT0 = 19.5, 53.2                    # the tiny 34UDD product lies at 53.22-53.24°N, 19.50-19.54°E
COVER_BOX = (19.0, 53.0, 20.0, 54.0)       # the Copernicus tile N53 E019 holds the surface everywhere
WATER_EAST_OF = 19.52                      # ESA CCI water bodies: water (2) east of this longitude


def surface(lon, lat):
    """Gentle relief (65-190 m, slopes below 8°): ripples of ~3-4 km on a northward rise."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return (120.0 + 60.0 * np.sin(2 * np.pi * (lon - LON0) / 0.05) * np.cos(2 * np.pi * (lat - LAT0) / 0.04)
            + 200.0 * (lat - LAT0))


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def l1c(tmp_path_factory):
    return generate_product(tmp_path_factory.mktemp("l1c"), size="tiny")


@pytest.fixture(scope="module")
def product(l1c):
    return read_l1c(l1c)


@pytest.fixture(scope="module")
def dem_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dem")
    write_copernicus(folder, DemTile(DemKind.COPERNICUS_90, 53, 19), fn=surface, box=COVER_BOX)
    return folder


@pytest.fixture(scope="module")
def foreign_dem_dir(tmp_path_factory):
    """A DEM folder whose only tile (N45 E010, Italy) does not cover the product."""
    folder = tmp_path_factory.mktemp("dem_elsewhere")
    write_copernicus(folder, DemTile(DemKind.COPERNICUS_90, 45, 10))
    return folder


def write_cci(root: Path, waterbodies=True, landcover=True, snow_condition=True) -> Path:
    """ESA CCI maps (Sen2Cor's names) over 19.3-19.8°E, 53.1-53.35°N."""
    west, north = 19.3, 53.35
    root.mkdir(parents=True, exist_ok=True)
    if waterbodies:
        step = 1 / 720.0
        lon = west + (np.arange(360) + 0.5) * step
        wb = np.where(lon > WATER_EAST_OF, 2, 1).astype(np.uint8)[None, :].repeat(180, axis=0)
        write_geographic(root / WATERBODIES_MAP, wb, west, north, step, nodata=0)
    if landcover:
        step = 1 / 360.0
        write_geographic(root / LANDCOVER_MAP, np.full((90, 180), 10, np.uint8), west, north, step, nodata=0)
    if snow_condition:
        step = 1 / 240.0
        folder = root / SNOWCONDITION_DIR
        folder.mkdir(exist_ok=True)
        name = "ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-20000401-v2.4.tif"   # April
        write_geographic(folder / name, np.full((60, 120), 5, np.uint8), west, north, step, nodata=255)
    return root


@pytest.fixture
def spy(monkeypatch):
    """Records the keyword arguments the pipeline gives the scene classification."""
    calls = []
    original = product_inputs.classify_product

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)
    monkeypatch.setattr(product_inputs, "classify_product", recording)
    return calls


def _cli(l1c, out: Path, *extra: str) -> int:
    return cli.main([str(l1c), "--sc_only", "--output_dir", str(out), *extra])


def _only(out: Path) -> Path:
    (l2a,) = list(out.iterdir())
    return l2a


def _granule(l2a: Path) -> Path:
    return next((l2a / "GRANULE").iterdir())


def _quality(l2a: Path):
    path = _granule(l2a) / "QI_DATA" / "L2A_QUALITY.xml"
    return quality_values(path), report_status(path)


def _aux_info(l2a: Path, tag: str) -> str:
    return find_local(parse_file(l2a / "MTD_MSIL2A.xml"), f"Auxiliary_Data_Info/{tag}").text


def _image_files(l2a: Path):
    root = parse_file(l2a / "MTD_MSIL2A.xml")
    granule = find_local(root, "General_Info/Product_Info/Product_Organisation/Granule_List/Granule")
    return [e.text for e in findall_local(granule, "IMAGE_FILE")]


def _scl(l2a: Path, res: int = 20) -> np.ndarray:
    return gdal.Open(str(existing_image_path(l2a, product_names(l2a), "SCL", res))).ReadAsArray()


# ----------------------------------------------------------------------------- options, CLI
def test_aux_data_dir_option_and_flag():
    assert ProcessingOptions().aux_data_dir is None
    args = cli.parse_args(["x.SAFE", "--sc_only", "--aux_data_dir", "/data/aux"])
    assert cli.options_from_args(args).aux_data_dir == "/data/aux"
    assert cli.options_from_args(cli.parse_args(["x.SAFE"])).aux_data_dir is None
    batch = batch_cli.parse_args(["a.SAFE", "b.SAFE", "--aux_data_dir", "/data/aux"])
    assert cli.options_from_args(batch).aux_data_dir == "/data/aux"
    assert "--aux_data_dir" in cli.build_parser().format_help()


def test_dem_status_extension_value(product, tmp_path):
    from sen2cor_qgis.core.product.l2a_tree import create_l2a_tree
    l2a = create_l2a_tree(product, tmp_path)
    path = _granule(l2a) / "QI_DATA" / "L2A_QUALITY.xml"
    assert "DEM_STATUS" not in VALUE_NAMES and "DEM_STATUS" not in quality_values(path)
    update_l2a_quality(path, {"DEM_TYPE": "NONE", "DEM_STATUS": "FLAT_TERRAIN_FALLBACK: no tile"},
                       global_status="WARNING", notes="FLAT_TERRAIN_FALLBACK: no tile")
    names = [e.get("name") for e in parse_file(path).iter("{*}value")]
    assert names[names.index("DEM_TYPE") + 1] == "DEM_STATUS"          # right after DEM_TYPE
    update_l2a_quality(path, {"DEM_STATUS": "DEM"})                    # updated in place, not duplicated
    assert [e.get("name") for e in parse_file(path).iter("{*}value")].count("DEM_STATUS") == 1
    assert quality_values(path)["DEM_STATUS"] == "DEM"
    assert report_status(path) == ("WARNING", "FLAT_TERRAIN_FALLBACK: no tile")


# ---------------------------------------------------------------------------------------- DEM
@pytest.mark.parametrize("resolution", [20, 60])
def test_dem_folder_gives_dem_metadata_and_dem_output(l1c, product, home, dem_dir, tmp_path, spy, resolution):
    out = tmp_path / "out"
    assert _cli(l1c, out, "--resolution", str(resolution), "--DEM_Directory", str(dem_dir),
                "--Generate_DEM_Output", "TRUE") == 0
    l2a = _only(out)
    names = product_names(l2a)
    # the classification got the DEM elevation on its grid
    (kwargs,) = spy
    dem = kwargs["dem"]
    rows, cols = product.granule.geocoding.sizes[resolution]
    assert dem is not None and dem.shape == (rows, cols)
    lon, lat = grid_lonlat(product.granule.geocoding, resolution)
    assert np.max(np.abs(dem - surface(lon, lat))) < 1.0
    # metadata
    assert _aux_info(l2a, "PRODUCTION_DEM_TYPE") == "CopernicusDEM90"
    ds_mtd = next((l2a / "DATASTRIP").iterdir()) / "MTD_DS.xml"
    assert "<PRODUCTION_DEM_TYPE>CopernicusDEM90</PRODUCTION_DEM_TYPE>" in ds_mtd.read_text()
    quality, (status, notes) = _quality(l2a)
    assert quality["DEM_TYPE"] == "COPERNICUS_90" and quality["DEM_STATUS"] == "DEM"
    assert 0.09 < float(quality["DEM_MEAN_ALTITUDE_KM"]) < 0.16          # the surface's mean ~125 m
    assert 1.0 < float(quality["DEM_MEAN_SLOPE"]) < 8.0
    assert quality["GROUND_ELEVATION_ABOVE_3_KM"] == "False"
    assert "Copernicus_DSM_30_N53_00_E019_00_DEM.tif" in quality["AUX_DATA_FILES"]
    assert status == "PASSED" and notes == ""
    # the DEM file (§9.1 name, §7.3 encoding, the tile grid, the product's format)
    relpath = names.dem_relpath(resolution)
    assert relpath.endswith(f"AUX_DATA/T34UDD_{names.datatake_start:%Y%m%dT%H%M%S}_DEM_{resolution}m.jp2")
    ds = gdal.Open(str(l2a / relpath))
    assert ds.GetDriver().ShortName == "JP2OpenJPEG"
    values = ds.ReadAsArray()
    assert values.dtype == np.uint16 and values.shape == (rows, cols)
    assert np.max(np.abs(values.astype(np.float64) - 10000.0 - surface(lon, lat))) < 1.5
    ulx, uly = product.granule.geocoding.geopositions[resolution][:2]
    assert ds.GetGeoTransform() == pytest.approx((ulx, resolution, 0.0, uly, 0.0, -resolution))
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "32634"
    others = [p.name for p in (_granule(l2a) / "AUX_DATA").glob("*DEM*")]
    assert others == [Path(relpath).name]                 # no DEM for the derived 60 m
    stem = f"GRANULE/{names.granule}/AUX_DATA/{names.image_stem('DEM', resolution)}"
    assert _image_files(l2a)[-1] == stem                  # listed after the images, no extension
    assert Path(relpath).name in (l2a / "manifest.safe").read_text()


def test_dem_without_dem_output_and_tif_format(l1c, home, dem_dir, tmp_path):
    out = tmp_path / "out"
    assert _cli(l1c, out, "--tif", "--DEM_Directory", str(dem_dir)) == 0
    l2a = _only(out)
    assert list((_granule(l2a) / "AUX_DATA").glob("*DEM*")) == []
    assert not any("AUX_DATA" in e for e in _image_files(l2a))
    assert _aux_info(l2a, "PRODUCTION_DEM_TYPE") == "CopernicusDEM90"
    out2 = tmp_path / "out2"
    assert _cli(l1c, out2, "--tif", "--DEM_Directory", str(dem_dir), "--Generate_DEM_Output", "TRUE") == 0
    (dem,) = list((_granule(_only(out2)) / "AUX_DATA").glob("*DEM*"))
    assert dem.suffix == ".tif" and gdal.Open(str(dem)).ReadAsArray().dtype == np.uint16


def test_no_covering_tile_with_force_exit_stops_with_one_line(l1c, home, foreign_dem_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(l1c, out, "--DEM_Directory", str(foreign_dem_dir), "--Force_Exit_On_DEM_Error", "TRUE",
                "--Generate_DEM_Output", "TRUE") == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("L2A_Process: error:")]
    assert len(errors) == 1
    assert "Force_Exit_On_DEM_Error" in errors[0] and "N53" in errors[0]    # names the missing tile
    assert not out.exists() or list(out.iterdir()) == []                   # nothing written


def test_no_covering_tile_without_force_exit_falls_back_to_flat(l1c, home, foreign_dem_dir, tmp_path,
                                                                caplog, spy):
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="sen2cor_qgis"):
        assert _cli(l1c, out, "--DEM_Directory", str(foreign_dem_dir), "--Force_Exit_On_DEM_Error", "FALSE",
                    "--Generate_DEM_Output", "TRUE") == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("FLAT TERRAIN" in w for w in warnings)
    l2a = _only(out)
    assert spy[0]["dem"] is None
    quality, (status, notes) = _quality(l2a)
    assert quality["DEM_TYPE"] == "NONE"
    assert quality["DEM_STATUS"].startswith("FLAT_TERRAIN_FALLBACK: DEM preparation failed")
    assert "N53" in quality["DEM_STATUS"]
    assert status == "WARNING" and notes == quality["DEM_STATUS"]
    assert float(quality["DEM_MEAN_ALTITUDE_KM"]) == 0.0
    assert _aux_info(l2a, "PRODUCTION_DEM_TYPE") == "None"
    assert list((_granule(l2a) / "AUX_DATA").glob("*DEM*")) == []          # nothing to output
    assert any("no DEM file" in r.getMessage() for r in caplog.records)


def test_no_dem_configured(l1c, home, tmp_path):
    out = tmp_path / "out"
    assert _cli(l1c, out, "--Generate_DEM_Output", "TRUE") == 0
    l2a = _only(out)
    quality, (status, _) = _quality(l2a)
    assert quality["DEM_TYPE"] == "NONE" and quality["DEM_STATUS"] == "NO_DEM" and status == "PASSED"
    assert _aux_info(l2a, "PRODUCTION_DEM_TYPE") == "None"


def test_cancel_during_dem_preparation_leaves_nothing(l1c, home, dem_dir, tmp_path):
    out = tmp_path / "out"
    event = threading.Event()

    def progress(fraction, message):
        if "mosaicking" in message:
            event.set()
    with pytest.raises(CancelledError):
        process_product(l1c, ProcessingOptions(output_dir=str(out), sc_only=True,
                                               overrides={"dem_directory": str(dem_dir)}),
                        progress=progress, cancel=event)
    assert not out.exists() or list(out.iterdir()) == []


# ---------------------------------------------------------------------- ESA CCI, snow climatology
def test_cci_water_bodies_recover_water(l1c, product, home, tmp_path, caplog):
    """Classic mode (§5.5 "Water pixels (CCI)"): CCI water turns dark features, cloud shadows and
    unclassified pixels into WATER; nothing changes off the CCI water."""
    empty = tmp_path / "empty_aux"
    empty.mkdir()
    base_out, cci_out = tmp_path / "base", tmp_path / "cci"
    assert _cli(l1c, base_out, "--sc_classic", "--aux_data_dir", str(empty)) == 0
    aux = write_cci(tmp_path / "aux", landcover=False, snow_condition=False)
    with caplog.at_level(logging.INFO, logger="sen2cor_qgis"):
        assert _cli(l1c, cci_out, "--sc_classic", "--aux_data_dir", str(aux)) == 0
    base, new = _scl(_only(base_out)), _scl(_only(cci_out))
    water = load_esacci(product.granule.geocoding, 20, aux, 4).waterbodies == 2
    assert 0.2 < water.mean() < 0.8                                       # both sides in the tile
    assert np.array_equal(new[~water], base[~water])
    recoverable = water & np.isin(base, (2, 3, 7))
    assert recoverable.sum() > 20
    assert np.all(new[recoverable] == 6)
    changed = new != base
    assert np.all(new[changed] == 6) and np.all(np.isin(base[changed], (2, 3, 7, 11)))
    l2a = _only(cci_out)
    tile_qi = qi_values(_granule(l2a) / "MTD_TL.xml")
    assert float(tile_qi["WATER_PERCENTAGE"]) > float(qi_values(_granule(_only(base_out)) / "MTD_TL.xml")
                                                      ["WATER_PERCENTAGE"])
    assert _aux_info(l2a, "ESACCI_WaterBodies_Map") == WATERBODIES_MAP
    assert _aux_info(l2a, "ESACCI_LandCover_Map") == "None"
    assert _aux_info(l2a, "ESACCI_SnowCondition_Map_Dir") == "None"
    quality, _ = _quality(l2a)
    assert WATERBODIES_MAP in quality["AUX_DATA_FILES"]
    messages = " | ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "landcover map not found" in messages and "urban, bare-soil" in messages   # what is lost
    assert "snow condition map not found" in messages


def test_all_cci_layers_and_snow_map_from_the_default_aux_folder(l1c, product, tmp_path, monkeypatch, spy):
    """No --aux_data_dir: <SEN2COR_HOME>/aux_data is read; every layer reaches the classification
    and is recorded; a GlobalSnowMap with no snow under the tile switches the snow branch off."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEN2COR_HOME", str(home))
    aux = write_cci(home / "aux_data")
    write_snow_map(aux / "GlobalSnowMap.tiff", np.zeros((3600, 7200), np.uint8))
    out = tmp_path / "out"
    assert _cli(l1c, out, "--sc_classic") == 0
    (kwargs,) = spy
    shape = product.granule.geocoding.sizes[20]
    for name in ("esacci_water", "esacci_landcover", "snow_climatology"):
        assert kwargs[name] is not None and kwargs[name].shape == shape, name
    assert kwargs["snow_possible"] is False
    l2a = _only(out)
    assert _aux_info(l2a, "SNOW_CLIMATOLOGY_MAP") == "GlobalSnowMap.tiff"
    assert _aux_info(l2a, "ESACCI_WaterBodies_Map") == WATERBODIES_MAP
    assert _aux_info(l2a, "ESACCI_LandCover_Map") == LANDCOVER_MAP
    assert _aux_info(l2a, "ESACCI_SnowCondition_Map_Dir") == SNOWCONDITION_DIR
    quality, _ = _quality(l2a)
    for name in (WATERBODIES_MAP, LANDCOVER_MAP, "GlobalSnowMap.tiff",
                 "ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-20000401-v2.4.tif"):
        assert name in quality["AUX_DATA_FILES"], name
    assert float(qi_values(_granule(l2a) / "MTD_TL.xml")["SNOW_ICE_PERCENTAGE"]) == 0.0   # branch off


def test_missing_snow_map_uses_the_builtin_rule(l1c, home, dem_dir, tmp_path, caplog, spy):
    aux = write_cci(tmp_path / "aux", landcover=False, snow_condition=False)
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="sen2cor_qgis"):
        assert _cli(l1c, out, "--aux_data_dir", str(aux), "--DEM_Directory", str(dem_dir)) == 0
    text = " | ".join(r.getMessage() for r in caplog.records)
    assert "GlobalSnowMap.tiff not found" in text
    # April at 53°N: the rule's minimal snow elevation is 0 m -> snow possible, decided with the DEM
    assert "snow possible on the tile: yes (built-in rule: highest ground" in text
    assert spy[0]["snow_possible"] is True
    l2a = _only(out)
    assert _aux_info(l2a, "SNOW_CLIMATOLOGY_MAP") == "None"
    assert float(qi_values(_granule(l2a) / "MTD_TL.xml")["SNOW_ICE_PERCENTAGE"]) > 0.0


def test_missing_aux_folder_is_reported_once_with_what_is_lost(l1c, home, tmp_path, caplog):
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="sen2cor_qgis"):
        assert _cli(l1c, out) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    folder = [w for w in warnings if "auxiliary-data folder" in w]
    assert len(folder) == 1 and str(Path(home) / "aux_data") in folder[0]
    assert "urban, bare-soil" in folder[0] and "built-in snow rule" in folder[0]
    l2a = _only(out)
    for tag in ("SNOW_CLIMATOLOGY_MAP", "ESACCI_WaterBodies_Map", "ESACCI_LandCover_Map",
                "ESACCI_SnowCondition_Map_Dir", "PRODUCTION_DEM_TYPE"):
        assert _aux_info(l2a, tag) == "None", tag
