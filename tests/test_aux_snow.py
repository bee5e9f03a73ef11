"""Snow possible on a tile: GlobalSnowMap window read, and the built-in fallback rule."""
import numpy as np
import pytest
from osgeo import gdal, osr

from sen2cor_qgis.core.auxdata.snow import minimal_snow_elevation, snow_possible, snow_possible_mask

from .test_aux_support import utm_geocoding


@pytest.mark.parametrize("name,lon,lat,month,max_elev,possible", [
    ("Alps, January, valley tile", 7.5, 46.0, 1, 600.0, True),
    ("Alps, July, high tile", 7.5, 46.0, 7, 4000.0, True),
    ("Sahara lowlands, July", 5.0, 25.0, 7, 450.0, False),
    ("Sahara lowlands, January", 5.0, 25.0, 1, 450.0, False),
    ("Atlas foothills (Ain Sefra), January", -0.6, 32.8, 1, 1100.0, True),
    ("Hoggar, January", 5.5, 23.3, 1, 2900.0, True),
    ("Tropical high Andes, July", -70.5, -15.5, 7, 6000.0, True),
    ("Tropical high Andes, January", -70.5, -15.5, 1, 6000.0, True),
    ("Amazon lowlands", -60.0, -3.0, 4, 200.0, False),
    ("Kilimanjaro", 37.35, -3.07, 3, 5800.0, True),
    ("Patagonian ice field, southern summer", -73.5, -49.0, 1, 50.0, True),
    ("Svalbard, July, coast", 15.6, 78.2, 7, 20.0, True),
    ("Florida, January", -81.4, 28.5, 1, 30.0, False),
])
def test_builtin_rule_cases(name, lon, lat, month, max_elev, possible):
    d = snow_possible(utm_geocoding(lon, lat, size_m=12000), month, max_elevation_m=max_elev)
    assert d.possible is possible, (name, d.reason)
    assert d.source == "built-in rule"


def test_without_elevation_snow_is_never_ruled_out():
    d = snow_possible(utm_geocoding(5.0, 25.0, size_m=12000), 7, max_elevation_m=None)
    assert d.possible and "cannot be ruled out" in d.reason


def test_rule_is_seasonal_and_monotonic():
    lat = np.arange(0, 91, 5.0)
    for month in range(1, 13):
        north = minimal_snow_elevation(lat, month)
        assert np.all(np.diff(north) <= 0)                    # never higher towards the pole
        assert np.all(north <= 3000) and north[-1] == 0
    assert minimal_snow_elevation(40.0, 1) == 0 and minimal_snow_elevation(-40.0, 7) == 0
    assert minimal_snow_elevation(40.0, 7) == pytest.approx(minimal_snow_elevation(-40.0, 1))
    mask = snow_possible_mask(np.array([25.0, 25.0, 46.0]), np.array([300.0, 3500.0, 0.0]), 7)
    assert mask.tolist() == [False, True, True]


def write_snow_map(path, values, georeferenced=True):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), 7200, 3600, 1, gdal.GDT_Byte, ["COMPRESS=DEFLATE", "TILED=YES"])
    if georeferenced:
        ds.SetGeoTransform((-180, 0.05, 0, 90, 0, -0.05))
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(4326)
        ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(values)
    ds = None
    return path


@pytest.mark.parametrize("georeferenced", [True, False])
def test_global_snow_map_window(tmp_path, georeferenced):
    values = np.zeros((3600, 7200), np.uint8)
    values[: (90 - 40) * 20, :] = 1                          # snow possible north of 40°N
    values[(90 + 16) * 20: (90 + 17) * 20, 0: 2] = 1         # a patch just east of the antimeridian, 16-17°S
    path = write_snow_map(tmp_path / "GlobalSnowMap.tiff", values, georeferenced)
    alps = snow_possible(utm_geocoding(7.5, 46.0, size_m=12000), 7, snow_map=path, max_elevation_m=0)
    assert alps.possible and alps.source == "GlobalSnowMap"
    sahara = snow_possible(utm_geocoding(5.0, 25.0, size_m=12000), 1, snow_map=path, max_elevation_m=9000)
    assert not sahara.possible                               # the map decides, not the rule
    pacific = snow_possible(utm_geocoding(179.97, -16.5, size_m=12000, epsg=32760), 1, snow_map=path)
    assert pacific.possible                                  # found on the far side of the antimeridian


def test_missing_snow_map_falls_back_to_the_rule(tmp_path):
    d = snow_possible(utm_geocoding(5.0, 25.0, size_m=12000), 7, snow_map=tmp_path / "GlobalSnowMap.tiff",
                      max_elevation_m=300)
    assert d.source == "built-in rule" and not d.possible
