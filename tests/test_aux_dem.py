"""DEM preparation end to end on generated tiles: every format, the 4-tile seam under the product,
a tile served over HTTP, ocean tiles, the antimeridian, high latitudes, user rasters, the
Force_Exit_On_DEM_Error behaviour and the DEM output encoding.

Accuracy: the mosaic reprojected to the synthetic L1C grid is compared with the analytic surface
the tiles were made from, at the exact longitude/latitude of each pixel centre.
"""
import logging
import shutil
import threading
from datetime import datetime

import numpy as np
import pytest
from osgeo import gdal, osr

from sen2cor_qgis.core.auxdata.dem import (STATUS_DEM, STATUS_FLAT_FALLBACK, STATUS_NO_DEM, dem_output,
                                           dem_output_array, prepare_dem)
from sen2cor_qgis.core.auxdata.dem_download import DownloadSettings
from sen2cor_qgis.core.auxdata.dem_sources import DemKind, DemTile
from sen2cor_qgis.core.auxdata.geo import footprint_lonlat, to_lonlat
from sen2cor_qgis.core.errors import CancelledError, DemError

from .test_aux_support import (LAT0, LON0, TileServer, corner_tiles, grid_lonlat, sun_grid, surface,
                               utm_geocoding, write_copernicus, write_dted, write_srtm)

FAST = DownloadSettings(timeout=2.0, retries=1, backoff=0.01, max_backoff=0.05)
VOID = (10.02, 45.03, 0.004)         # lon, lat, radius (deg) of a void in srtm_39_03
GEO = utm_geocoding()                # 12 km x 12 km around (10°E, 45°N), 20 m and 60 m grids


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("dem_library")
    for t in corner_tiles(DemKind.SRTM_90):
        write_srtm(root / "srtm", t, void=VOID if (t.lat, t.lon) == (45, 10) else None)
        write_srtm(root / "srtm_zip", t, as_zip=True)
    for t in corner_tiles(DemKind.COPERNICUS_30):
        write_copernicus(root / "copernicus_tif", t, layout="tif")
        write_copernicus(root / "copernicus_cog", t, layout="cog")
    for t in corner_tiles(DemKind.COPERNICUS_90):
        write_copernicus(root / "copernicus_tar", t, layout="tar")
    for t in corner_tiles(DemKind.DTED_90):
        write_dted(root / "planetdem", t)
    return root


def errors(result, res, geo=GEO, fn=surface):
    lon, lat = grid_lonlat(geo, res)
    return result.terrain[res].elevation - fn(lon, lat), lon, lat


def test_the_product_straddles_the_tile_seams():
    b = footprint_lonlat(GEO)
    assert b.west < LON0 < b.east and b.south < LAT0 < b.north


@pytest.mark.parametrize("folder,kind,tolerance", [
    ("srtm", DemKind.SRTM_90, 1.0), ("srtm_zip", DemKind.SRTM_90, 1.0),
    ("copernicus_tif", DemKind.COPERNICUS_30, 0.2), ("copernicus_cog", DemKind.AWS_COPERNICUS_30, 0.2),
    ("copernicus_tar", DemKind.COPERNICUS_90, 0.5), ("planetdem", DemKind.DTED_90, 1.0),
])
def test_mosaic_matches_the_analytic_surface_across_seams(library, folder, kind, tolerance):
    result = prepare_dem(GEO, (20, 60), library / folder, None, sun_angles=sun_grid(), force_exit_on_error=True)
    assert result.status == STATUS_DEM and result.kind is kind and not result.flat_terrain
    for res in (20, 60):
        err, lon, lat = errors(result, res)
        away = np.hypot((lon - VOID[0]) * np.cos(np.radians(45)), lat - VOID[1]) > VOID[2] + 0.004
        if folder == "srtm":
            assert (~away).any()                      # the void lies under the product
            assert np.abs(err[~away]).max() < 60      # filled by interpolation, not left at -32768
        assert np.abs(err[away]).max() < tolerance, (folder, res, np.abs(err[away]).max())
        # no seam: the error within 3 pixels of lon 10 / lat 45 is no larger than elsewhere
        seam = (np.abs(lon - LON0) < 3 * res / 78000) | (np.abs(lat - LAT0) < 3 * res / 111000)
        assert seam.any() and np.abs(err[seam & away]).max() < tolerance
        relief = np.ptp(result.terrain[res].elevation)
        assert relief > 1000
        layers = result.terrain[res]
        assert layers.slope.shape == layers.elevation.shape == layers.cos_illumination.shape
        assert 0 < layers.sky_view.min() and layers.sky_view.max() <= 1
    q = result.quality_values()
    assert q["DEM_TYPE"] == kind.value and 1.0 < q["DEM_MEAN_ALTITUDE_KM"] < 1.6
    assert q["GROUND_ELEVATION_ABOVE_3_KM"] is False and result.global_status is None


def test_missing_tile_is_downloaded_from_dem_reference(library, tmp_path):
    folder = tmp_path / "CopernicusDEM30_AWS"
    shutil.copytree(library / "copernicus_cog", folder)
    gone = "Copernicus_DSM_COG_10_N45_00_E010_00_DEM"
    served = tmp_path / "bucket"
    shutil.move(str(folder / gone), str(served / gone) if served.mkdir() is None else None)
    reports = []
    with TileServer(served) as server:
        result = prepare_dem(GEO, 20, folder, server.url, force_exit_on_error=True, download=FAST,
                             progress=lambda f, m: reports.append((f, m)))
        assert server.state.requests == [f"/{gone}/{gone}.tif"]
    assert result.downloaded == (f"{gone}.tif",) and (folder / f"{gone}.tif").is_file()
    err, _, _ = errors(result, 20)
    assert np.abs(err).max() < 0.2
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("downloading" in m for _, m in reports)


def test_ocean_tile_from_a_404_becomes_sea_level(library, tmp_path):
    folder = tmp_path / "dem"
    shutil.copytree(library / "srtm", folder)
    (folder / "srtm_38_04.tif").unlink()            # south-west quadrant: "ocean"
    empty = tmp_path / "server"
    empty.mkdir()
    with TileServer(empty) as server:
        result = prepare_dem(GEO, 60, folder, server.url, force_exit_on_error=True, download=FAST)
    assert result.status == STATUS_DEM and result.missing_tiles == ("srtm_38_04.tif",)
    lon, lat = grid_lonlat(GEO, 60)
    deep_sw = (lon < LON0 - 0.01) & (lat < LAT0 - 0.01)
    assert np.abs(result.terrain[60].elevation[deep_sw]).max() < 1.0


def test_force_exit_true_raises_a_clear_error(tmp_path):
    with pytest.raises(DemError, match=r"Force_Exit_On_DEM_Error is TRUE.*no DEM tiles found"):
        prepare_dem(GEO, 20, tmp_path, None, force_exit_on_error=True)
    (tmp_path / "srtm_39_03.tif").write_bytes(b"not a tiff")
    with pytest.raises(DemError, match=r"DEM_Reference is NONE: .*srtm_38_03.tif"):
        prepare_dem(GEO, 20, tmp_path, "NONE", force_exit_on_error=True)


def test_force_exit_false_falls_back_to_flat_terrain_with_a_warning(library, tmp_path, caplog):
    folder = tmp_path / "srtm"
    shutil.copytree(library / "srtm", folder)
    (folder / "srtm_39_03.tif").write_bytes(b"not a tiff")        # corrupt local tile
    with caplog.at_level(logging.WARNING):
        result = prepare_dem(GEO, 20, folder, None, force_exit_on_error=False)
    assert result.status == STATUS_FLAT_FALLBACK and result.terrain is None
    assert "srtm_39_03.tif" in result.warning and "FLAT TERRAIN" in result.warning
    assert any("FLAT TERRAIN" in r.message and r.levelno == logging.WARNING for r in caplog.records)
    assert result.global_status == "WARNING" and result.quality_warning.startswith("FLAT_TERRAIN_FALLBACK: ")
    assert result.quality_values()["DEM_TYPE"] == "NONE" and result.production_dem_type == "None"
    with pytest.raises(DemError, match="srtm_39_03.tif"):
        prepare_dem(GEO, 20, folder, None, force_exit_on_error=True)


def test_no_dem_configured_is_flat_without_warning(caplog):
    with caplog.at_level(logging.WARNING):
        for value in (None, "NONE", ""):
            r = prepare_dem(GEO, 20, value, None, force_exit_on_error=True)
            assert r.status == STATUS_NO_DEM and r.warning is None and r.terrain is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_download_failure_falls_back_or_exits(library, tmp_path):
    with TileServer(library / "srtm_zip", mode="stall") as server:
        r = prepare_dem(GEO, 60, tmp_path / "srtm_a", server.url, download=DownloadSettings(timeout=0.3, retries=0))
        assert r.status == STATUS_FLAT_FALLBACK and "no answer within 0.3 s" in r.warning
        with pytest.raises(DemError, match="cannot download DEM tile"):
            prepare_dem(GEO, 60, tmp_path / "srtm_b", server.url, force_exit_on_error=True,
                        download=DownloadSettings(timeout=0.3, retries=0))


def test_cancel_is_never_turned_into_a_fallback(library):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        prepare_dem(GEO, 20, library / "srtm", None, cancel=cancel, force_exit_on_error=False)


def test_absent_tiles_can_be_declared_sea(library, tmp_path):
    folder = tmp_path / "srtm"
    shutil.copytree(library / "srtm", folder)
    (folder / "srtm_38_04.tif").unlink()
    r = prepare_dem(GEO, 60, folder, None, force_exit_on_error=True, absent_tiles_are_sea=True)
    assert r.status == STATUS_DEM and r.missing_tiles == ("srtm_38_04.tif",)


def test_user_vrt_and_projected_geotiff(library, tmp_path):
    tifs = sorted(str(p) for p in (library / "copernicus_tif").glob("*.tif"))
    vrt = tmp_path / "mosaic.vrt"
    gdal.BuildVRT(str(vrt), tifs)
    r = prepare_dem(GEO, 20, vrt, None, force_exit_on_error=True)
    assert r.kind is DemKind.USER and np.abs(errors(r, 20)[0]).max() < 0.2
    # a GeoTIFF in the tile's own UTM zone, 30 m pixels, analytic values at its pixel centres
    x0, y0 = GEO.geopositions[60][0] - 3000, GEO.geopositions[60][1] + 3000
    n = 600
    xs, ys = x0 + (np.arange(n) + 0.5) * 30, y0 - (np.arange(n) + 0.5) * 30
    lon, lat = to_lonlat(GEO.epsg, *np.meshgrid(xs, ys))
    path = tmp_path / "utm_dem.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), n, n, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((x0, 30, 0, y0, 0, -30))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(GEO.epsg)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(surface(lon, lat).astype(np.float32))
    ds = None
    r = prepare_dem(GEO, 20, path, None, force_exit_on_error=True)
    assert r.kind is DemKind.USER and np.abs(errors(r, 20)[0]).max() < 0.5


def pacific(lon, lat):
    """A surface continuous across the antimeridian (uses unwrapped longitudes)."""
    lon = np.where(np.asarray(lon) < 0, np.asarray(lon) + 360.0, lon)
    return 800.0 + 600.0 * np.sin(2 * np.pi * (lon - 180.0) / 0.3) * np.cos(2 * np.pi * (lat + 16.5) / 0.25)


def test_antimeridian_mosaic(tmp_path):
    geo = utm_geocoding(179.97, -16.5, size_m=12000, epsg=32760)
    for t in (DemTile(DemKind.COPERNICUS_90, -17, 179), DemTile(DemKind.COPERNICUS_90, -17, -180)):
        write_copernicus(tmp_path, t, fn=pacific, box=(-180, -90, 180, 90))
    r = prepare_dem(geo, 60, tmp_path, None, force_exit_on_error=True)
    lon, lat = grid_lonlat(geo, 60)
    assert lon.max() > 180 and lon.min() < 180                        # both sides under the product
    err = r.terrain[60].elevation - pacific(lon, lat)
    assert np.abs(err).max() < 1.0


def boreal(lon, lat):
    return 600.0 + 500.0 * np.sin(2 * np.pi * (lon - 25.0) / 0.4) * np.cos(2 * np.pi * (lat - 60.0) / 0.2)


def test_high_latitude_tiles_of_different_column_spacing(tmp_path):
    """GLO-90 N59 has 800 columns (4.5"), N60 600 (6"): the coarser tile is resampled onto the grid."""
    geo = utm_geocoding(25.0, 60.0, size_m=12000)
    for lat in (59, 60):
        for lon in (24, 25):
            write_copernicus(tmp_path, DemTile(DemKind.COPERNICUS_90, lat, lon), fn=boreal, box=(-180, -90, 180, 90))
    r = prepare_dem(geo, 60, tmp_path, "https://example.invalid/srtm/", force_exit_on_error=True)
    assert r.kind is DemKind.COPERNICUS_90                                 # SRTM cannot cover 60°N
    assert any("resampled" in n for n in r.notes)
    lon, lat = grid_lonlat(geo, 60)
    assert np.abs(r.terrain[60].elevation - boreal(lon, lat)).max() < 1.0


def test_flat_dem_is_flagged_flat_but_kept(tmp_path):
    for t in corner_tiles(DemKind.COPERNICUS_90):
        write_copernicus(tmp_path, t, fn=lambda lon, lat: 120.0 + 10.0 * (lat - 45.0))
    r = prepare_dem(GEO, 60, tmp_path, None, force_exit_on_error=True)
    assert r.status == STATUS_DEM and r.flat_terrain and r.terrain is not None
    assert r.terrain[60].elevation.mean() == pytest.approx(120, abs=2)


def test_dem_output_encoding(library):
    assert dem_output_array(np.array([-12.4, 0.0, 1234.6, 60000.0])).tolist() == [9988, 10000, 11235, 65535]
    r = prepare_dem(GEO, (20, 60), library / "copernicus_tif", None, force_exit_on_error=True)
    arr, name = dem_output(r, 20, "32TNR", datetime(2023, 8, 23, 9, 55, 59))
    assert name == "T32TNR_20230823T095559_DEM_20m.jp2" and arr.dtype == np.uint16
    assert np.array_equal(arr, np.rint(r.terrain[20].elevation).astype(np.int64) + 10000)
    assert dem_output(r, 10, "32TNR", datetime(2023, 8, 23)) is None


def test_layers_in_row_blocks_equal_the_whole_array_computation():
    from sen2cor_qgis.core.auxdata import terrain as T
    from sen2cor_qgis.core.auxdata.dem import _layers
    rng = np.random.default_rng(3)
    dem_h = np.cumsum(np.cumsum(rng.standard_normal((53, 41)), 0), 1).astype(np.float32) * 5
    hsvf = rng.uniform(0.7, 1.0, (9, 7)).astype(np.float32)
    whole = _layers(dem_h, 20, hsvf, 120.0, sun_grid(), None, block_rows=10_000)
    blocks = _layers(dem_h, 20, hsvf, 120.0, sun_grid(), None, block_rows=7)
    for a, b in zip(whole, blocks):
        assert np.array_equal(a, b)
    slope, aspect = T.slope_aspect(dem_h, 20)
    assert np.array_equal(whole[0], slope[1:-1, 1:-1]) and np.array_equal(whole[1], aspect[1:-1, 1:-1])


def test_ten_metre_grid(library):
    geo = utm_geocoding(10.0, 45.0, size_m=3000, resolutions=(10, 20, 60))
    r = prepare_dem(geo, (10, 20, 60), library / "copernicus_tif", None, mean_sun_angles=(40.0, 150.0),
                    force_exit_on_error=True)
    assert r.terrain[10].elevation.shape == (300, 300)
    assert np.abs(errors(r, 10, geo)[0]).max() < 0.2
    # the same terrain seen at three resolutions
    assert abs(r.terrain[10].slope.mean() - r.terrain[60].slope.mean()) < 0.5
    assert r.terrain[10].cos_illumination.shape == (300, 300)


def test_pixel_is_point_honoured_whatever_the_gdal_configuration(library):
    """GTIFF_POINT_GEO_IGNORE=TRUE in the user's environment would shift Copernicus tiles by half
    a pixel (~15 m, metres of elevation error on slopes); the DEM code forces it off."""
    gdal.SetConfigOption("GTIFF_POINT_GEO_IGNORE", "TRUE")
    try:
        r = prepare_dem(GEO, 60, library / "copernicus_tif", None, force_exit_on_error=True)
    finally:
        gdal.SetConfigOption("GTIFF_POINT_GEO_IGNORE", None)
    assert np.abs(errors(r, 60)[0]).max() < 0.2
