"""CAMS netCDF (Sen2Cor 3 layout) interpolated in space and time, against analytic fields."""
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.io import netcdf_file

from sen2cor_qgis.core.auxdata.cams import (cams_on_tile, candidate_files, daily_file, load_field,
                                            parse_time_units, visibility_from_aod)
from sen2cor_qgis.core.errors import AuxiliaryDataError

from .test_aux_support import grid_lonlat, utm_geocoding

EPOCH = datetime(1900, 1, 1)
DAY = datetime(2023, 8, 23)


def hours(t):
    return (t - EPOCH).total_seconds() / 3600.0


# analytic fields, linear in lon, lat and time (bilinear + linear interpolation is exact)
def aod(lon, lat, t):
    return 0.15 + 0.004 * (lon - 10) + 0.003 * (lat - 45) + 0.002 * (hours(t) - hours(DAY))


def tcwv(lon, lat, t):
    return 20.0 + 0.5 * (lat - 45) - 0.2 * (lon - 10) + 0.1 * (hours(t) - hours(DAY))


def msl(lon, lat, t):
    return 101325.0 + 30.0 * (lon - 10) - 20.0 * (lat - 45)


def gtco3(lon, lat, t):
    return 0.0066 + 2e-5 * (lat - 45) + 1e-6 * (hours(t) - hours(DAY))


FIELDS = {"aod550": aod, "tcwv": tcwv, "msl": msl, "gtco3": gtco3}
PACKING = {"aod550": (1e-5, 0.3), "tcwv": (1e-3, 30.0), "msl": (0.5, 100000.0), "gtco3": (1e-7, 0.006)}


def write_cams(path, times, lat, lon, style="cf16", fields=FIELDS, pack=True):
    """A CAMS-like netCDF-3 file: (time, latitude, longitude) CF-1.6, or CF-1.7 with
    (forecast_period, forecast_reference_time, latitude, longitude)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = netcdf_file(str(path), "w", version=2)
    f.Conventions = "CF-1.6" if style == "cf16" else "CF-1.7"
    f.createDimension("latitude", len(lat))
    f.createDimension("longitude", len(lon))
    la = f.createVariable("latitude", "f4", ("latitude",))
    la.units = "degrees_north"
    la[:] = lat
    lo = f.createVariable("longitude", "f4", ("longitude",))
    lo.units = "degrees_east"
    lo[:] = lon
    if style == "cf16":
        f.createDimension("time", len(times))
        tv = f.createVariable("time", "i4", ("time",))
        tv.units = "hours since 1900-01-01 00:00:00.0"
        tv.calendar = "gregorian"
        tv[:] = [hours(t) for t in times]
        dims = ("time", "latitude", "longitude")
    else:
        f.createDimension("forecast_period", 1)
        f.createDimension("forecast_reference_time", len(times))
        fp = f.createVariable("forecast_period", "i4", ("forecast_period",))
        fp.units = "hours"
        fp[:] = [0]
        rt = f.createVariable("forecast_reference_time", "i4", ("forecast_reference_time",))
        rt.units = "hours since 1900-01-01"
        rt[:] = [hours(t) for t in times]
        dims = ("forecast_period", "forecast_reference_time", "latitude", "longitude")
    lo2, la2 = np.meshgrid(np.where(lon > 180, lon - 360, lon), lat)
    for name, fn in fields.items():
        data = np.stack([fn(lo2, la2, t) for t in times])
        if style != "cf16":
            data = data[None]
        if pack:
            scale, offset = PACKING[name]
            v = f.createVariable(name, "i2", dims)
            v.scale_factor, v.add_offset = scale, offset
            v._FillValue = np.int16(-32767)
            v[:] = np.rint((data - offset) / scale).astype(np.int16)
        else:
            v = f.createVariable(name, "f4", dims)
            v[:] = data.astype(np.float32)
    f.close()
    return path


REG_LAT = np.arange(50.0, 40.0 - 1e-6, -0.4)    # regional 0.4° grid around the tile
REG_LON = np.arange(6.0, 14.0 + 1e-6, 0.4)
GEO = utm_geocoding(10.0, 45.0, size_m=12000)


@pytest.fixture(scope="module")
def aux_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("aux")
    for day in (DAY, DAY + timedelta(days=1)):
        times = [day + timedelta(hours=h) for h in (0, 6, 12, 18)]
        write_cams(daily_file(root, day), times, REG_LAT, REG_LON)
    return root


def expected(fn, geo, res, when):
    lon, lat = grid_lonlat(geo, res)
    return fn(lon, lat, when)


def test_layout_and_time_units(aux_dir):
    assert daily_file(aux_dir, DAY).name == "CAMS_archive_aod550_tcwv_msl_gtco3_analysis_0H_6H_12H_18H_2023-08-23.nc"
    assert daily_file(aux_dir, DAY).parent.name == "20230823"
    assert [p.parent.name for p in candidate_files(aux_dir, DAY + timedelta(hours=10))] == ["20230823", "20230824"]
    epoch, scale = parse_time_units("hours since 1900-01-01 00:00:00.0")
    assert epoch == EPOCH and scale == 3600
    assert parse_time_units("seconds since 1970-01-01")[1] == 1


@pytest.mark.parametrize("when,times", [
    (DAY + timedelta(hours=10, minutes=30), (6, 12)),
    (DAY + timedelta(hours=12), (12,)),
    (DAY + timedelta(hours=21), (18, 24)),          # across midnight: next day's 0H
])
def test_space_and_time_interpolation_is_exact_for_linear_fields(aux_dir, when, times):
    tile = cams_on_tile(aux_dir, GEO, 60, when)
    assert tile.messages == []
    assert tile.times == tuple(DAY + timedelta(hours=h) for h in times)
    assert np.abs(tile.aod550 - expected(aod, GEO, 60, when)).max() < 2e-4
    assert np.abs(tile.water_vapour_cm - expected(tcwv, GEO, 60, when) / 10.0).max() < 2e-4
    assert np.abs(tile.pressure_hpa - expected(msl, GEO, 60, when) / 100.0).max() < 1e-2
    du = expected(gtco3, GEO, 60, when) / 6.428e-3 * 300.0
    assert np.abs(tile.ozone_du - du).max() < 0.01
    assert tile.aod550.shape == (200, 200) and tile.aod550.dtype == np.float32


def test_monthly_cf17_files(tmp_path):
    times = [DAY + timedelta(hours=h) for h in range(-24, 48, 6)]
    write_cams(tmp_path / "ECMWF" / "monthly" / "202308" / "cams_202308.nc", times, REG_LAT, REG_LON,
               style="cf17", pack=False)
    when = DAY + timedelta(hours=9, minutes=45)
    tile = cams_on_tile(tmp_path, GEO, 60, when, variables=("aod550", "tcwv"))
    assert tile.messages == [] and tile.times == (DAY + timedelta(hours=6), DAY + timedelta(hours=12))
    assert np.abs(tile.aod550 - expected(aod, GEO, 60, when)).max() < 1e-5
    assert tile.ozone_du is None


def test_global_grid_wraps_in_longitude(tmp_path):
    lat = np.round(np.arange(90.0, -90.0 - 1e-6, -0.4), 6)
    lon = np.round(np.arange(0.0, 360.0 - 1e-6, 0.4), 6)

    def smooth(lo, la, t):
        return 0.2 + 0.1 * np.sin(np.radians(lo)) + 0.001 * la

    path = write_cams(daily_file(tmp_path, DAY), [DAY + timedelta(hours=h) for h in (0, 6, 12, 18)], lat, lon,
                      fields={"aod550": smooth}, pack=False)
    fld = load_field(tmp_path, "aod550", DAY + timedelta(hours=3))
    assert fld.geotransform == pytest.approx((-0.2, 0.4, 0, 90.2, 0, -0.4), abs=1e-6)   # reference §7.2
    geo = utm_geocoding(0.02, 51.5, size_m=12000)                                       # on Greenwich
    tile = cams_on_tile(tmp_path, geo, 60, DAY + timedelta(hours=3), variables=("aod550",))
    exp = expected(smooth, geo, 60, DAY)
    assert np.abs(tile.aod550 - exp).max() < 1e-5
    lon_t, _ = grid_lonlat(geo, 60)
    assert lon_t.min() < 0 < lon_t.max()


def test_missing_or_far_files_are_reported(tmp_path, aux_dir):
    tile = cams_on_tile(tmp_path, GEO, 60, DAY)
    assert tile.aod550 is None and len(tile.messages) == 4 and "no CAMS file for 2023-08-23" in tile.messages[0]
    with pytest.raises(AuxiliaryDataError, match="h from the sensing time"):
        load_field(aux_dir, "aod550", DAY - timedelta(hours=20))
    assert load_field(aux_dir, "aod550", DAY - timedelta(hours=3)).times == (DAY,)   # nearest within 12 h


def test_visibility_from_aod_matches_the_reference_table():
    assert visibility_from_aod(0.20, 0.0) == pytest.approx(40, rel=0.05)
    assert visibility_from_aod(0.32, 0.0) == pytest.approx(23, rel=0.05)
    assert visibility_from_aod(0.079, 0.0) == pytest.approx(120, rel=0.05)
    assert visibility_from_aod(1e-9, 0.0) == 650.0
