"""ESA CCI land cover, water bodies and monthly snow condition cropped/resampled to the tile grid."""
import logging

import numpy as np
import pytest
from osgeo import gdal, osr

from sen2cor_qgis.core.auxdata.esacci import LANDCOVER_MAP, SNOWCONDITION_DIR, WATERBODIES_MAP, load_esacci

from .test_aux_support import grid_lonlat, utm_geocoding

GEO = utm_geocoding(10.0, 45.0, size_m=12000)


def write_geographic(path, values, west, north, step, nodata=None):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1, gdal.GDT_Byte,
                                              ["COMPRESS=DEFLATE", "TILED=YES"])
    ds.SetGeoTransform((west, step, 0, north, 0, -step))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetProjection(srs.ExportToWkt())
    if nodata is not None:
        ds.GetRasterBand(1).SetNoDataValue(nodata)
    ds.GetRasterBand(1).WriteArray(values)
    ds = None


LC_STEP = 1 / 360.0      # 300 m-like
WB_STEP = 1 / 720.0      # 150 m-like
SN_STEP = 1 / 240.0      # 500 m-like
WEST, NORTH = 9.0, 46.0


def landcover_class(lon, lat):
    """Classes changing every 3 x 2 source pixels (LCCS-like codes)."""
    col = np.floor((lon - WEST) / LC_STEP).astype(int)
    row = np.floor((NORTH - lat) / LC_STEP).astype(int)
    return np.array([10, 50, 130, 190, 200, 210], dtype=np.uint8)[((col // 3) + (row // 2)) % 6]


@pytest.fixture(scope="module")
def aux_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("aux_data")
    n = 720
    lon = WEST + (np.arange(n) + 0.5) * LC_STEP
    lat = NORTH - (np.arange(n) + 0.5) * LC_STEP
    lo, la = np.meshgrid(lon, lat)
    write_geographic(root / LANDCOVER_MAP, landcover_class(lo, la), WEST, NORTH, LC_STEP, nodata=0)
    m = 1440
    lon = WEST + (np.arange(m) + 0.5) * WB_STEP
    wb = np.where(lon < 10.0, 2, 1).astype(np.uint8)[None, :].repeat(m, axis=0)   # water west of 10°E
    write_geographic(root / WATERBODIES_MAP, wb, WEST, NORTH, WB_STEP, nodata=0)
    snow = root / SNOWCONDITION_DIR
    snow.mkdir()
    k = 480
    for month, value in ((1, 80), (7, 3)):
        values = np.full((k, k), value, np.uint8)
        values[:, : k // 2] = 254                                    # CCI water in the west
        name = f"ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-2000{month:02d}01-v2.4.tif"
        write_geographic(snow / name, values, WEST, NORTH, SN_STEP, nodata=255)
    return root


def test_landcover_is_nearest_neighbour(aux_dir):
    layers = load_esacci(GEO, 60, aux_dir, month=1)
    assert layers.complete and layers.messages == []
    lon, lat = grid_lonlat(GEO, 60)
    expected = landcover_class(lon, lat)
    assert layers.landcover.dtype == np.uint8 and layers.landcover.shape == (200, 200)
    fx = np.mod((lon - WEST) / LC_STEP, 1.0)
    fy = np.mod((NORTH - lat) / LC_STEP, 1.0)
    clear = (np.minimum(fx, 1 - fx) > 0.02) & (np.minimum(fy, 1 - fy) > 0.02)    # not on a border
    assert clear.mean() > 0.9 and np.array_equal(layers.landcover[clear], expected[clear])
    assert set(np.unique(layers.landcover)) <= {10, 50, 130, 190, 200, 210}


def test_waterbodies_and_month_of_snow_condition(aux_dir):
    jan = load_esacci(GEO, 20, aux_dir, month=1)
    lon, _ = grid_lonlat(GEO, 20)
    wb = jan.waterbodies
    assert np.all(wb[lon < 10.0 - 0.003] == 2) and np.all(wb[lon > 10.0 + 0.003] == 1)
    assert set(np.unique(wb)) == {1, 2}
    assert np.all(jan.snow_condition[lon > 10.01] == 80) and np.all(jan.snow_condition[lon < 9.99] == 254)
    jul = load_esacci(GEO, 20, aux_dir, month=7)
    assert np.all(jul.snow_condition[lon > 10.01] == 3)
    assert jul.files["snow_condition"].endswith("20000701-v2.4.tif")


def test_absent_layers_say_what_is_lost(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        layers = load_esacci(GEO, 60, tmp_path, month=3)
    assert layers.landcover is None and layers.waterbodies is None and layers.snow_condition is None
    text = " ".join(layers.messages)
    assert "urban" in text and "water recovery" in text and "snow" in text and "month 03" in text
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3
    assert len(load_esacci(GEO, 60, None, month=3).messages) == 3


def test_antimeridian_tile_reads_both_ends_of_a_global_map(tmp_path):
    step = 0.1
    lon = -180 + (np.arange(3600) + 0.5) * step
    values = np.where(lon > 0, 190, 210).astype(np.uint8)[None, :].repeat(1800, axis=0)
    write_geographic(tmp_path / LANDCOVER_MAP, values, -180.0, 90.0, step)
    geo = utm_geocoding(179.97, -16.5, size_m=12000, epsg=32760)
    layers = load_esacci(geo, 60, tmp_path, month=1)
    lon, _ = grid_lonlat(geo, 60)
    assert np.all(layers.landcover[lon < 179.9] == 190) and np.all(layers.landcover[lon > 180.1] == 210)
