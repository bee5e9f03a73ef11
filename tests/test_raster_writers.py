"""Raster writers: JP2 / GeoTIFF / ENVI raw / COG round trips, georeferencing, encoding settings."""
from __future__ import annotations

import re
import threading

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core.errors import CancelledError
from sen2cor_qgis.core.raster import Grid, RasterWriteError, RasterWriter, write_raster
from sen2cor_qgis.core.raster import writers

gdal.UseExceptions()

GRID = Grid(32634, (499980.0, 20.0, 0.0, 5000040.0, 0.0, -20.0), (100, 130))
EXT = {"JP2": ".jp2", "TIF": ".tif", "RAW": ".rawl", "COG": ".tif"}


def _data(shape=(100, 130), dtype=np.uint16, seed=0):
    rng = np.random.default_rng(seed)
    top = 60000 if dtype == np.uint16 else 255
    a = rng.integers(0, top, shape).astype(dtype)
    a[:5, :7] = 0
    return a


def _epsg(ds) -> int:
    srs = ds.GetSpatialRef()
    srs.AutoIdentifyEPSG()
    return int(srs.GetAuthorityCode(None))


def _no_side_files(folder, allowed):
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(allowed), names
    assert not any(n.endswith(".aux.xml") or n.startswith(".") for n in names)


@pytest.mark.parametrize("fmt", ["JP2", "TIF", "RAW", "COG"])
@pytest.mark.parametrize("dtype", [np.uint16, np.uint8])
def test_round_trip_georeferencing_dtype_nodata(tmp_path, fmt, dtype):
    data = _data(dtype=dtype)
    path = write_raster(tmp_path / ("img" + EXT[fmt]), data, GRID, fmt, nodata=0,
                        descriptions=["Scene Classification"], threads=2)
    ds = gdal.Open(str(path))
    assert ds.GetDriver().ShortName == {"JP2": "JP2OpenJPEG", "TIF": "GTiff", "RAW": "ENVI", "COG": "GTiff"}[fmt]
    band = ds.GetRasterBand(1)
    assert ds.RasterCount == 1 and (ds.RasterYSize, ds.RasterXSize) == GRID.shape
    assert band.DataType == {np.uint16: gdal.GDT_UInt16, np.uint8: gdal.GDT_Byte}[dtype]
    assert np.array_equal(band.ReadAsArray(), data)            # lossless everywhere
    assert ds.GetGeoTransform() == pytest.approx(GRID.geotransform)
    assert _epsg(ds) == 32634
    if fmt == "JP2":   # JPEG 2000 holds neither (no .aux.xml side file in a SAFE product)
        assert band.GetNoDataValue() is None and band.GetDescription() == ""
        assert ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION_REVERSIBILITY") == "LOSSLESS"
    else:
        assert band.GetNoDataValue() == 0
        assert band.GetDescription() == "Scene Classification"
    expected = ["img.rawl", "img.hdr"] if fmt == "RAW" else [path.name]
    _no_side_files(tmp_path, expected)


def test_envi_header_content(tmp_path):
    path = write_raster(tmp_path / "T34UDD_B02_20m.rawl", _data(), GRID, "RAW", nodata=0,
                        descriptions=["B02"])
    header = (tmp_path / "T34UDD_B02_20m.hdr").read_text()
    assert "ENVI" in header and "data ignore value = 0" in header
    assert re.search(r"band names = \{\s*B02\s*\}", header)
    assert "map info = {UTM, 1, 1, 499980, 5000040, 20, 20, 34, North" in header
    assert "data type = 12" in header              # uint16
    assert path.stat().st_size == 100 * 130 * 2    # raw band-sequential samples, nothing else


@pytest.mark.parametrize("fmt", ["JP2", "TIF", "RAW"])
def test_rgb_stack(tmp_path, fmt):
    rgb = np.stack([_data(dtype=np.uint8, seed=s) for s in range(3)])
    path = write_raster(tmp_path / ("tci" + EXT[fmt]), rgb, GRID, fmt, nodata=0)
    ds = gdal.Open(str(path))
    assert ds.RasterCount == 3 and np.array_equal(ds.ReadAsArray(), rgb)
    if fmt != "RAW":
        assert [ds.GetRasterBand(i + 1).GetColorInterpretation() for i in range(3)] == [
            gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand]


def _codestream(path):
    text = gdal.GetJPEG2000StructureAsString(str(path), ["ALL=YES"])
    field = lambda name: int(re.search(rf'<Field name="{name}"[^>]*>(\d+)<', text).group(1))  # noqa: E731
    return {"tile": (field("XTsiz"), field("YTsiz")), "xcb": 2 ** (field("SPcod_xcb_minus_2") + 2),
            "ycb": 2 ** (field("SPcod_ycb_minus_2") + 2), "progression": field("SGcod_Progress"),
            "transform": field("SPcod_transformation"), "text": text}


@pytest.mark.parametrize("resolution, codeblock, tile", [(60, 4, 192), (20, 8, 640), (10, 64, 700)])
def test_jp2_encoding_per_resolution(tmp_path, resolution, codeblock, tile):
    grid = Grid(32634, (499980.0, float(resolution), 0.0, 5000040.0, 0.0, -float(resolution)), (700, 700))
    data = _data((700, 700))
    path = write_raster(tmp_path / "b.jp2", data, grid, "JP2", threads=2)
    info = _codestream(path)
    assert info["xcb"] == info["ycb"] == codeblock          # §9.9 code blocks
    assert info["tile"] == (tile, tile)                      # §9.9 tiles (clamped to the raster)
    assert info["progression"] == 0                          # LRCP
    assert info["transform"] == 1                            # 5-3 reversible: lossless
    assert "<TextContent>gml.root-instance</TextContent>" in info["text"]   # GMLJP2 box
    assert '<JP2Box name="uuid"' in info["text"]                            # GeoJP2 box
    assert np.array_equal(gdal.Open(str(path)).ReadAsArray(), data)


def test_jp2_options_table():
    opts = writers.jp2_options((5490, 5490), 20)
    assert {"REVERSIBLE=YES", "QUALITY=100", "CODEBLOCK_WIDTH=8", "BLOCKXSIZE=640",
            "PRECINCTS={128,128}", "GeoJP2=YES", "GMLJP2=YES", "PROGRESSION=LRCP"} <= set(opts)
    assert "CODEBLOCK_WIDTH=4" in writers.jp2_options((1830, 1830), 60)
    assert "BLOCKXSIZE=1024" in writers.jp2_options((10980, 10980), 10)
    assert "CODEBLOCK_WIDTH=4" in writers.jp2_options((343, 343), 320.1)   # preview: nearest profile


def test_cog_is_valid_with_nearest_overviews(tmp_path):
    from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate

    grid = Grid(32634, (499980.0, 20.0, 0.0, 5000040.0, 0.0, -20.0), (1500, 1300))
    scl = np.where((np.add.outer(np.arange(1500), np.arange(1300)) % 2) == 0, 2, 9).astype(np.uint8)
    scl[:100] = 0
    path = write_raster(tmp_path / "SCL.tif", scl, grid, "COG", nodata=0, descriptions=["Scene Classification"])
    warnings, errors, details = validate(str(path), full_check=True)
    assert errors == [], errors
    ds = gdal.Open(str(path))
    assert ds.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION") == "DEFLATE"
    band = ds.GetRasterBand(1)
    assert band.GetBlockSize() == [512, 512]
    assert band.GetOverviewCount() >= 1
    overview = band.GetOverview(0).ReadAsArray()
    assert set(np.unique(overview)) <= {0, 2, 9}              # nearest: no averaged classes
    assert band.GetNoDataValue() == 0
    _no_side_files(tmp_path, ["SCL.tif"])


@pytest.mark.parametrize("fmt", ["JP2", "TIF", "RAW", "COG"])
def test_block_writer_equals_whole_array(tmp_path, fmt):
    data = _data()
    with RasterWriter(tmp_path / ("w" + EXT[fmt]), GRID, fmt, np.uint16, nodata=0,
                      descriptions=["B03"], threads=2) as w:
        for r0 in range(0, 100, 30):            # strips, and one block written out of order
            w.write(data[r0:r0 + 30, :64], r0, 0)
        w.write(data[:, 64:], 0, 64)
    ds = gdal.Open(str(w.path))
    assert np.array_equal(ds.ReadAsArray(), data)
    assert ds.GetGeoTransform() == pytest.approx(GRID.geotransform)
    if fmt != "JP2":
        assert ds.GetRasterBand(1).GetNoDataValue() == 0
        assert ds.GetRasterBand(1).GetDescription() == "B03"
    if fmt == "COG":
        assert ds.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    _no_side_files(tmp_path, ["w.rawl", "w.hdr"] if fmt == "RAW" else [w.path.name])


def test_block_writer_removes_everything_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with RasterWriter(tmp_path / "x.jp2", GRID, "JP2", np.uint16) as w:
            w.write(_data()[:10], 0)
            raise RuntimeError("boom")
    with pytest.raises(RasterWriteError):
        with RasterWriter(tmp_path / "y.rawl", GRID, "RAW", np.uint16) as w:
            w.write(_data()[:10], 95)           # leaves the grid
    assert list(tmp_path.iterdir()) == []


def test_cancel_before_and_during_encoding(tmp_path):
    event = threading.Event()
    event.set()
    with pytest.raises(CancelledError):
        write_raster(tmp_path / "a.jp2", _data(), GRID, "JP2", cancel=event)
    event.clear()
    big = Grid(32634, (0.0, 10.0, 0.0, 0.0, 0.0, -10.0), (2048, 2048))
    with pytest.raises(CancelledError):
        write_raster(tmp_path / "b.jp2", _data((2048, 2048)), big, "JP2", cancel=event,
                     progress=lambda fraction: event.set())
    assert list(tmp_path.iterdir()) == []


def test_invalid_input_is_refused(tmp_path):
    with pytest.raises(RasterWriteError, match="uint8 or uint16"):
        write_raster(tmp_path / "f.jp2", np.zeros(GRID.shape, np.float32), GRID, "JP2")
    with pytest.raises(RasterWriteError, match="grid"):
        write_raster(tmp_path / "s.tif", np.zeros((10, 10), np.uint16), GRID, "TIF")
    with pytest.raises(RasterWriteError, match="unknown raster format"):
        write_raster(tmp_path / "p.png", np.zeros(GRID.shape, np.uint16), GRID, "PNG")
    assert list(tmp_path.iterdir()) == []


def test_float_geotiff_and_threads_setting_restored(tmp_path):
    data = np.linspace(0, 1, 100 * 130, dtype=np.float32).reshape(GRID.shape)
    before = gdal.GetThreadLocalConfigOption("GDAL_NUM_THREADS", None)
    path = write_raster(tmp_path / "f.tif", data, GRID, "TIF", threads=2)
    assert gdal.GetThreadLocalConfigOption("GDAL_NUM_THREADS", None) == before
    assert gdal.GetThreadLocalConfigOption("GDAL_PAM_ENABLED", None) is None
    assert np.array_equal(gdal.Open(str(path)).ReadAsArray(), data)


def test_grid_from_geocoding():
    from sen2cor_qgis.core.product.model import TileGeocoding

    geocoding = TileGeocoding("WGS84 / UTM zone 34N", 32634, {20: (5490, 5490), 60: (1830, 1830)},
                              {20: (499980.0, 5000040.0, 20.0, -20.0), 60: (499980.0, 5000040.0, 60.0, -60.0)})
    grid = Grid.from_geocoding(geocoding, 60)
    assert grid.shape == (1830, 1830) and grid.resolution == 60.0
    assert grid.geotransform == (499980.0, 60.0, 0.0, 5000040.0, 0.0, -60.0)
    assert grid.extent == (499980.0, 5000040.0 - 109800, 499980.0 + 109800, 5000040.0)


def test_rgb_channels_written_one_by_one_stay_compact(tmp_path):
    """The pipeline writes each true-colour channel as its band is corrected; with GDAL's block
    cache bounded (as core.pipeline does) a pixel-interleaved GeoTIFF would compress its tiles
    again for every channel and leave the dropped copies in the file."""
    grid = Grid(32634, (499980.0, 10.0, 0.0, 5000040.0, 0.0, -10.0), (2048, 2048))
    rng = np.random.default_rng(3)
    base = rng.integers(0, 40, (2048, 2048)).astype(np.uint8)
    rgb = np.stack([base + np.uint8(20 * k) for k in range(3)])
    whole = write_raster(tmp_path / "whole.tif", rgb, grid, "TIF")
    previous = gdal.GetCacheMax()
    gdal.SetCacheMax(2 * 2 ** 20)               # smaller than one block row of the three channels
    try:
        with RasterWriter(tmp_path / "split.tif", grid, "TIF", np.uint8, bands=3) as w:
            for band in range(3):
                for r0 in range(0, 2048, 128):
                    w.write(rgb[band, r0:r0 + 128], r0, 0, band=band)
    finally:
        gdal.SetCacheMax(previous)
    ds = gdal.Open(str(w.path))
    assert ds.GetMetadata("IMAGE_STRUCTURE").get("INTERLEAVE") == "BAND"
    assert np.array_equal(ds.ReadAsArray(), rgb)
    assert w.path.stat().st_size <= 1.05 * whole.stat().st_size
