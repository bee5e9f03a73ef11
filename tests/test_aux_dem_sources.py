"""DEM tile naming, coverage of L1C tiles, folder look-up and the choice of source."""
import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core.auxdata.dem_sources import (DemKind, DemTile, FolderIndex, choose_source,
                                                   coverage_problem, kind_from_reference, read_missing_list,
                                                   tile_from_name, tiles_covering)
from sen2cor_qgis.core.auxdata.geo import GeoBounds, footprint_lonlat

from .test_aux_support import (copernicus_geotransform, srtm_geotransform, utm_geocoding, write_copernicus,
                               write_dted, write_srtm)


def srtm_name(lon, lat):
    """The reference's formula (§7.3), written independently of the module."""
    return f"srtm_{int((lon + 180) / 360 * 72 + 1):02d}_{int((60 - lat) / 120 * 24 + 1):02d}"


@pytest.mark.parametrize("lon,lat", [(7.3, 46.2), (-0.5, 51.4), (-72.1, -13.5), (179.9, -16.2),
                                     (-179.9, 59.9), (11.0, 45.0), (0.0, 0.0), (-58.0, -34.6)])
def test_srtm_names_follow_the_reference_formula(lon, lat):
    tiles = tiles_covering(DemKind.SRTM_90, GeoBounds(lon, lat, lon, lat))
    assert [t.name for t in tiles] == [srtm_name(lon, lat)]
    assert tiles[0].file_name == srtm_name(lon, lat) + ".tif"
    assert tile_from_name(tiles[0].file_name) == tiles[0]


def test_copernicus_and_dted_names_give_the_south_west_corner():
    t = DemTile(DemKind.COPERNICUS_30, 46, 11)
    assert t.file_name == "Copernicus_DSM_10_N46_00_E011_00_DEM.tif"
    assert DemTile(DemKind.COPERNICUS_90, -14, -172).name == "Copernicus_DSM_30_S14_00_W172_00"
    cog = DemTile(DemKind.AWS_COPERNICUS_30, 46, 11)
    assert cog.remote_paths()[0] == ("Copernicus_DSM_COG_10_N46_00_E011_00_DEM/"
                                     "Copernicus_DSM_COG_10_N46_00_E011_00_DEM.tif")
    assert DemTile(DemKind.DTED_90, 53, 17).name == "e017_n53.dt1"
    assert DemTile(DemKind.DTED_30, -12, -5).name == "w005_s12.dt2"
    for name, expected in [("Copernicus_DSM_COG_30_S14_00_W172_00_DEM.tif", (DemKind.AWS_COPERNICUS_90, -14, -172)),
                           ("Copernicus_DSM_10_N46_00_E011_00.tar", (DemKind.COPERNICUS_30, 46, 11)),
                           ("e017_n53.dt1", (DemKind.DTED_90, 53, 17)), ("w005/s12.dt2", (DemKind.DTED_30, -12, -5)),
                           ("srtm_38_03.zip", (DemKind.SRTM_90, 45, 5))]:
        t = tile_from_name(name)
        assert (t.kind, t.lat, t.lon) == expected, name
    assert tile_from_name("readme.txt") is None


def test_covering_tiles_of_an_l1c_tile_on_a_four_tile_corner():
    geo = utm_geocoding(10.0, 45.0, size_m=12000)
    b = footprint_lonlat(geo, margin_m=2000)
    assert b.west < 10 < b.east and b.south < 45 < b.north
    assert {t.name for t in tiles_covering(DemKind.SRTM_90, b)} == {"srtm_38_03", "srtm_39_03", "srtm_38_04", "srtm_39_04"}
    assert {t.name for t in tiles_covering(DemKind.COPERNICUS_30, b)} == {
        "Copernicus_DSM_10_N44_00_E009_00", "Copernicus_DSM_10_N44_00_E010_00",
        "Copernicus_DSM_10_N45_00_E009_00", "Copernicus_DSM_10_N45_00_E010_00"}


def test_full_size_tile_footprint_uses_densified_utm_edges():
    # a real 109.8 km tile (T32TPS-like) at the east edge of UTM zone 32: lon span grows with curvature
    geo = utm_geocoding(11.9, 46.4, size_m=109800, epsg=32632, resolutions=(60,))
    b = footprint_lonlat(geo)
    assert 1.3 < b.east - b.west < 1.6 and 0.95 < b.north - b.south < 1.05
    assert len(tiles_covering(DemKind.COPERNICUS_30, b)) in (4, 6)


def test_antimeridian_footprint_is_continuous_and_names_both_sides():
    geo = utm_geocoding(179.95, -16.5, size_m=24000, epsg=32760)
    b = footprint_lonlat(geo, margin_m=1000)
    assert b.crosses_antimeridian and 179.5 < b.west < 180 < b.east < 180.5
    tiles = tiles_covering(DemKind.COPERNICUS_90, b)
    assert {(t.lat, t.lon, t.lon_shift) for t in tiles} == {(-17, 179, 0.0), (-17, -180, 360.0)}
    assert {t.name for t in tiles} == {"Copernicus_DSM_30_S17_00_E179_00", "Copernicus_DSM_30_S17_00_W180_00"}
    srtm = tiles_covering(DemKind.SRTM_90, b)
    assert {t.name for t in srtm} == {"srtm_72_16", "srtm_01_16"}


def test_srtm_stops_at_60_degrees_and_another_source_takes_over(tmp_path):
    geo = utm_geocoding(25.0, 60.05, size_m=12000)
    b = footprint_lonlat(geo, margin_m=2000)
    assert coverage_problem(DemKind.SRTM_90, b) and "60°N" in coverage_problem(DemKind.SRTM_90, b)
    index = FolderIndex.scan(tmp_path)
    with pytest.raises(ValueError, match="SRTM 90 m has data only between 60°S and 60°N.*Copernicus"):
        choose_source(b, index, "http://srtm.csi.cgiar.org/wp-content/uploads/files/srtm_5x5/TIFF/")
    for t in tiles_covering(DemKind.COPERNICUS_90, b):
        write_copernicus(tmp_path, t, box=(0, 0, 0, 0))
    choice = choose_source(b, FolderIndex.scan(tmp_path), "http://srtm.csi.cgiar.org/srtm_5x5/TIFF/")
    assert choice.kind is DemKind.COPERNICUS_90 and "instead of SRTM_90" in choice.reason
    # south of 60°S, no SRTM either
    assert coverage_problem(DemKind.SRTM_90, GeoBounds(-60, -60.2, -59, -59.5))


def test_kind_from_reference_urls():
    assert kind_from_reference("https://copernicus-dem-90m.s3.eu-central-1.amazonaws.com/") is DemKind.AWS_COPERNICUS_90
    assert kind_from_reference("https://copernicus-dem-30m.s3.amazonaws.com") is DemKind.AWS_COPERNICUS_30
    assert kind_from_reference("http://data_public:GDdci@data.cgiar-csi.org/srtm/tiles/GeoTIFF/") is DemKind.SRTM_90
    assert kind_from_reference("NONE") is None and kind_from_reference(None) is None
    assert kind_from_reference("https://example.org/dem/") is None


def test_folder_index_finds_every_layout_and_reads_missing_lists(tmp_path):
    write_srtm(tmp_path, DemTile(DemKind.SRTM_90, 45, 5), as_zip=True)
    write_copernicus(tmp_path, DemTile(DemKind.COPERNICUS_30, 46, 11), layout="tar")
    write_copernicus(tmp_path, DemTile(DemKind.COPERNICUS_30, 46, 12), layout="cog")
    (tmp_path / "e017").mkdir()
    write_dted(tmp_path / "e017", DemTile(DemKind.DTED_90, 53, 17)).rename(tmp_path / "e017" / "n53.dt1")
    (tmp_path / "CopernicusDEM_30_TIFF_missing_tiles.list").write_text(
        "Copernicus_DSM_10_N00_00_E006_00\nCopernicus_DSM_10_S01_00_W030_00\n")
    index = FolderIndex.scan(tmp_path)
    assert index.find(DemTile(DemKind.SRTM_90, 45, 5)).name == "srtm_38_03.zip"
    assert index.find(DemTile(DemKind.COPERNICUS_30, 46, 11)).name.endswith(".tar")
    assert index.find(DemTile(DemKind.AWS_COPERNICUS_30, 46, 12)) is not None
    assert index.find(DemTile(DemKind.COPERNICUS_30, 46, 12)) is not None      # COG also serves the classic kind
    assert index.find(DemTile(DemKind.DTED_90, 53, 17)) == tmp_path / "e017" / "n53.dt1"
    assert index.is_missing(DemTile(DemKind.COPERNICUS_30, 0, 6))
    assert index.is_missing(DemTile(DemKind.AWS_COPERNICUS_30, -1, -30))     # same tile in COG form
    assert not index.is_missing(DemTile(DemKind.COPERNICUS_90, 0, 6))        # other resolution
    assert read_missing_list(tmp_path / "nope.list") == set()


def test_pixel_conventions_as_gdal_reports_them(tmp_path):
    """Document what GDAL reports for each generated format (module notes of dem_sources)."""
    srtm = gdal.Open(str(write_srtm(tmp_path, DemTile(DemKind.SRTM_90, 45, 5))))
    assert srtm.RasterXSize == srtm.RasterYSize == 6000
    gt = srtm.GetGeoTransform()
    assert gt[0] == pytest.approx(5 - 1.5 / 3600) and gt[3] == pytest.approx(50 + 1.5 / 3600)
    assert gt == pytest.approx(srtm_geotransform(DemTile(DemKind.SRTM_90, 45, 5)))
    cop = gdal.Open(str(write_copernicus(tmp_path, DemTile(DemKind.COPERNICUS_30, 46, 11))))
    assert cop.GetMetadataItem("AREA_OR_POINT") == "Point"
    gt = cop.GetGeoTransform()          # first pixel centre on (11°E, 47°N): origin half a pixel up-left
    assert (gt[0] + gt[1] / 2, gt[3] + gt[5] / 2) == pytest.approx((11.0, 47.0))
    assert gt == pytest.approx(copernicus_geotransform(DemTile(DemKind.COPERNICUS_30, 46, 11), 3600, 3600))
    gdal.SetConfigOption("GTIFF_POINT_GEO_IGNORE", "TRUE")     # the trap honour_pixel_is_point avoids
    try:
        shifted = gdal.Open(str(tmp_path / "Copernicus_DSM_10_N46_00_E011_00_DEM.tif")).GetGeoTransform()
    finally:
        gdal.SetConfigOption("GTIFF_POINT_GEO_IGNORE", None)
    assert shifted[0] == pytest.approx(11.0)                   # half a pixel east of the truth
    dted = gdal.Open(str(write_dted(tmp_path, DemTile(DemKind.DTED_90, 45, 10))))
    assert (dted.RasterXSize, dted.RasterYSize) == (1201, 1201)
    gt = dted.GetGeoTransform()
    assert (gt[0] + gt[1] / 2, gt[3] + gt[5] / 2) == pytest.approx((10.0, 46.0))
    assert gt[0] + (1201 - 0.5) * gt[1] == pytest.approx(11.0)   # last column shared with the next tile
    hi = gdal.Open(str(write_dted(tmp_path, DemTile(DemKind.DTED_90, 53, 17))))
    assert hi.RasterXSize == 601                                # 6" longitude spacing at 50-70°
    assert np.isfinite(hi.ReadAsArray()).all()
