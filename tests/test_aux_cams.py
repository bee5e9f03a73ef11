"""CAMS netCDF (Sen2Cor 3 layout) interpolated in space and time, against analytic fields; the
tile's CAMS inputs of the atmospheric correction; the options, flags and provider settings."""
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.io import netcdf_file

from sen2cor_qgis.core.auxdata.cams import (cams_on_tile, candidate_files, daily_file, load_field,
                                            parse_time_units, visibility_from_aod)
from sen2cor_qgis.core.auxdata.cams_inputs import CAMS_MODES, cams_inputs_for_run, load_cams_inputs
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


# ------------------------------------------------------------- the tile's inputs for the correction
WHEN = DAY + timedelta(hours=10, minutes=30)


def test_tile_inputs_are_a_coarse_aod_field_and_tile_means(aux_dir):
    from datetime import timezone

    inputs = load_cams_inputs(aux_dir, GEO, WHEN.replace(tzinfo=timezone.utc))   # product times are aware
    assert inputs.resolution == 60 and inputs.aod550.shape == (200, 200)         # the coarsest grid
    assert inputs.aod550.dtype == np.float32
    assert np.abs(inputs.aod550 - expected(aod, GEO, 60, WHEN)).max() < 2e-4
    assert inputs.mean_aod550 == pytest.approx(float(expected(aod, GEO, 60, WHEN).mean()), abs=2e-4)
    wv = float(expected(tcwv, GEO, 60, WHEN).mean()) / 10.0
    assert inputs.mean_water_vapour_cm == pytest.approx(wv, abs=2e-4)
    du = float(expected(gtco3, GEO, 60, WHEN).mean()) / 6.428e-3 * 300.0
    assert inputs.mean_ozone_du == pytest.approx(du, abs=0.01)
    assert inputs.times == (DAY + timedelta(hours=6), DAY + timedelta(hours=12))
    assert inputs.file_names == [daily_file(aux_dir, DAY).name] and inputs.messages == []


def test_the_field_fits_what_the_correction_accepts(aux_dir):
    """The aerosol fallback resizes the field to its sample grid; a fixed AOT map must be on a
    grid coarser by an integer factor (60 m: 3 at 20 m, 6 at 10 m)."""
    from sen2cor_qgis.core.atmcorr.aerosol import AerosolRetrieval
    from sen2cor_qgis.core.atmcorr.correct import _field_strip
    from sen2cor_qgis.core.atmcorr.sample import Sample

    field60 = load_cams_inputs(aux_dir, GEO, WHEN).aod550
    for res, n in ((20, 600), (10, 1200)):
        strip = _field_strip(field60, 0, 12, n, n, 1000.0)
        assert strip.shape == (12, n) and strip[0, 0] == field60[0, 0]
    retrieval = AerosolRetrieval.__new__(AerosolRetrieval)
    retrieval.s = Sample(resolution=20, step=3, full_shape=(600, 600))
    retrieval.valid = np.ones(retrieval.s.shape, dtype=bool)
    retrieval.cams = field60
    sea_level = retrieval._cams_field()
    assert sea_level.shape == retrieval.s.shape and np.isfinite(sea_level).all() and (sea_level > 0).all()


def test_no_file_gives_none_and_the_modes(tmp_path, aux_dir):
    assert load_cams_inputs(tmp_path, GEO, WHEN) is None
    assert load_cams_inputs(aux_dir, GEO, WHEN - timedelta(days=1)) is None    # only the next day's file
    assert load_cams_inputs(aux_dir, GEO, DAY - timedelta(hours=3)).times == (DAY,)   # its 0H is near
    assert cams_inputs_for_run("OFF", aux_dir, GEO, WHEN) is None            # never looks
    assert cams_inputs_for_run("auto", tmp_path, GEO, WHEN) is None          # AUX_CAMSFO decides
    assert cams_inputs_for_run("AUTO", None, GEO, WHEN) is None
    assert cams_inputs_for_run("ON", aux_dir, GEO, WHEN).aod550.shape == (200, 200)
    with pytest.raises(AuxiliaryDataError, match="CAMS ON but no CAMS netCDF file for 2023-08-23") as err:
        cams_inputs_for_run("ON", tmp_path, GEO, WHEN)
    assert err.value.path == str(daily_file(tmp_path, DAY)) and "\n" not in str(err.value)
    with pytest.raises(AuxiliaryDataError, match="CAMS ON"):
        cams_inputs_for_run("ON", None, GEO, WHEN)
    with pytest.raises(ValueError, match="AUTO, ON, OFF"):
        cams_inputs_for_run("MAYBE", aux_dir, GEO, WHEN)


def test_a_broken_file_stops_the_run_naming_it(tmp_path):
    path = daily_file(tmp_path, DAY)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"CDF\x01 truncated")
    for call in (lambda: load_cams_inputs(tmp_path, GEO, WHEN),
                 lambda: cams_inputs_for_run("AUTO", tmp_path, GEO, WHEN)):
        with pytest.raises(AuxiliaryDataError, match="CAMS file unreadable") as err:
            call()
        assert err.value.path == str(path) and "\n" not in str(err.value)


def test_aod550_is_required_water_vapour_and_ozone_are_not(tmp_path):
    times = [DAY + timedelta(hours=h) for h in (0, 6, 12, 18)]
    no_aod = tmp_path / "a"
    write_cams(daily_file(no_aod, DAY), times, REG_LAT, REG_LON, fields={"tcwv": tcwv})
    with pytest.raises(AuxiliaryDataError, match="no aod550 field") as err:
        load_cams_inputs(no_aod, GEO, WHEN)
    assert err.value.path == str(daily_file(no_aod, DAY))
    only_aod = tmp_path / "b"
    write_cams(daily_file(only_aod, DAY), times, REG_LAT, REG_LON, fields={"aod550": aod})
    inputs = load_cams_inputs(only_aod, GEO, WHEN)
    assert inputs.mean_water_vapour_cm is None and inputs.mean_ozone_du is None
    assert len(inputs.messages) == 2 and "tcwv" in inputs.messages[0]
    far = tmp_path / "c"        # a day folder whose file holds another day's analyses
    write_cams(daily_file(far, DAY), [DAY - timedelta(days=3)], REG_LAT, REG_LON)
    with pytest.raises(AuxiliaryDataError, match="h from the sensing time"):
        load_cams_inputs(far, GEO, WHEN)


def test_geopotential_file_is_not_an_analysis(tmp_path):
    times = [DAY + timedelta(hours=h) for h in (0, 6, 12, 18)]
    write_cams(daily_file(tmp_path, DAY), times, REG_LAT, REG_LON, fields={"aod550": aod})
    z = daily_file(tmp_path, DAY).parent / "z_cams_c_ecmf_20180407000000_prod_an_sfc_000_z.nc"
    z.write_bytes(b"not read as an analysis")
    assert load_cams_inputs(tmp_path, GEO, WHEN).file_names == [daily_file(tmp_path, DAY).name]


# ------------------------------------------------------------------------- options and flags
def test_processing_options_fields():
    from sen2cor_qgis.core.auxdata.dem_download import DownloadSettings
    from sen2cor_qgis.core.pipeline import ProcessingOptions

    options = ProcessingOptions()
    assert options.cams == "AUTO" and CAMS_MODES == ("AUTO", "ON", "OFF")
    assert (options.dem_download_timeout, options.dem_download_retries) == (
        DownloadSettings().timeout, DownloadSettings().retries)
    assert ProcessingOptions(cams="off").cams == "OFF"
    for bad in (dict(cams="yes"), dict(dem_download_timeout=0), dict(dem_download_retries=-1)):
        with pytest.raises(ValueError):
            ProcessingOptions(**bad)


def test_command_line_flags():
    from sen2cor_qgis.core import cli
    from sen2cor_qgis.core.batch import cli as batch_cli

    options = cli.options_from_args(cli.parse_args(["x.SAFE"]))
    assert (options.cams, options.dem_download_timeout, options.dem_download_retries) == ("AUTO", 30.0, 3)
    options = cli.options_from_args(cli.parse_args(
        ["x.SAFE", "--cams", "on", "--dem_download_timeout", "7.5", "--dem_download_retries", "0"]))
    assert (options.cams, options.dem_download_timeout, options.dem_download_retries) == ("ON", 7.5, 0)
    batch = batch_cli.parse_args(["a.SAFE", "b.SAFE", "--cams", "OFF", "--dem_download_retries", "5"])
    options = cli.options_from_args(batch)
    assert (options.cams, options.dem_download_retries) == ("OFF", 5)
    for bad in (["--cams", "MAYBE"], ["--dem_download_timeout", "0"], ["--dem_download_timeout", "x"],
                ["--dem_download_retries", "-1"]):
        with pytest.raises(SystemExit):
            cli.parse_args(["x.SAFE"] + bad)
    text = " ".join(cli.build_parser().format_help().split())
    for flag in ("--cams {AUTO,ON,OFF}", "--dem_download_timeout S", "--dem_download_retries N"):
        assert flag in text
    assert text.count("extension of this processor") >= 5      # --aux_data_dir, --memory_limit_mb, ours


@pytest.mark.qgis
def test_provider_settings_reach_the_options(plugin, tmp_path):
    pytest.importorskip("qgis.core")
    from processing.core.ProcessingConfig import ProcessingConfig
    from qgis.core import QgsApplication

    from sen2cor_qgis.algorithms import settings

    assert settings.CAMS_MODES == CAMS_MODES
    assert {settings.CAMS, settings.DEM_TIMEOUT, settings.DEM_RETRIES} <= set(ProcessingConfig.settings)
    alg = QgsApplication.processingRegistry().createAlgorithmById("sen2cor:l2a_process")
    options = alg.build_options({"INPUT": str(tmp_path)})
    assert (options.cams, options.dem_download_timeout, options.dem_download_retries) == ("AUTO", 30.0, 3)
    try:
        ProcessingConfig.setSettingValue(settings.CAMS, CAMS_MODES.index("OFF"))
        ProcessingConfig.setSettingValue(settings.DEM_TIMEOUT, 7.5)
        ProcessingConfig.setSettingValue(settings.DEM_RETRIES, 0)
        options = alg.build_options({"INPUT": str(tmp_path)})
        assert (options.cams, options.dem_download_timeout, options.dem_download_retries) == ("OFF", 7.5, 0)
        ProcessingConfig.setSettingValue(settings.DEM_TIMEOUT, -1)        # nonsense: the default
        assert alg.build_options({"INPUT": str(tmp_path)}).dem_download_timeout == 30.0
    finally:
        ProcessingConfig.setSettingValue(settings.CAMS, 0)
        ProcessingConfig.setSettingValue(settings.DEM_TIMEOUT, settings.DEFAULT_DEM_TIMEOUT)
        ProcessingConfig.setSettingValue(settings.DEM_RETRIES, settings.DEFAULT_DEM_RETRIES)
