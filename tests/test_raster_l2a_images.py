"""L2AImageWriter: layer names, data types and formats of an L2A product's images; the queue."""
from __future__ import annotations

import threading
from datetime import datetime

import numpy as np
import pytest
from osgeo import gdal

from sen2cor_qgis.core.errors import CancelledError
from sen2cor_qgis.core.product import naming
from sen2cor_qgis.core.product.model import TileGeocoding
from sen2cor_qgis.core.raster import RasterWriteError
from sen2cor_qgis.core.raster.l2a_images import LAYER_SPECS, L2AImageWriter, existing_image_path

gdal.UseExceptions()

GEOCODING = TileGeocoding("WGS84 / UTM zone 34N", 32634,
                          {10: (120, 120), 20: (60, 60), 60: (20, 20)},
                          {r: (499980.0, 5000040.0, float(r), -float(r)) for r in (10, 20, 60)})


def _names(fmt="JP2"):
    return naming.L2ANames(product="P.SAFE", granule="L2A_T34UDD_A000001_20230412T094458",
                           datastrip_folder="DS", tile_id="T", datastrip_id="D", tile="34UDD",
                           datatake_start=datetime(2023, 4, 12, 9, 45, 4), baseline="99.99",
                           output_format=fmt)


def _tree(root, names):
    granule = root / "GRANULE" / names.granule
    for sub in ("IMG_DATA/R10m", "IMG_DATA/R20m", "IMG_DATA/R60m", "QI_DATA"):
        (granule / sub).mkdir(parents=True)
    return root


@pytest.mark.parametrize("fmt", ["JP2", "TIF", "RAW"])
def test_layers_paths_types_and_entries(tmp_path, fmt):
    names = _names(fmt)
    root = _tree(tmp_path, names)
    rng = np.random.default_rng(0)
    with L2AImageWriter(root, names, GEOCODING, fmt, threads=2) as images:
        assert images.workers == 2 and images.codec_threads == 1
        scl = rng.integers(0, 12, (60, 60))                       # int64 in, uint8 out
        images.write_image("SCL", 20, scl)
        images.write_image("B02", 20, rng.integers(0, 10000, (60, 60)).astype(np.uint16))
        images.write_image("TCI", 20, rng.integers(0, 256, (3, 60, 60)).astype(np.uint8))
        images.write_image("B01", 60, rng.integers(0, 10000, (20, 20)).astype(np.uint16))
        images.write_mask("MSK_CLDPRB", 20, rng.integers(0, 101, (60, 60)).astype(np.uint8))
        images.write_preview(rng.integers(0, 256, (3, 20, 20)).astype(np.uint8), 60)
    assert images.image_file_entries() == [
        f"GRANULE/{names.granule}/IMG_DATA/R20m/T34UDD_20230412T094504_B02_20m",
        f"GRANULE/{names.granule}/IMG_DATA/R20m/T34UDD_20230412T094504_TCI_20m",
        f"GRANULE/{names.granule}/IMG_DATA/R20m/T34UDD_20230412T094504_SCL_20m",
        f"GRANULE/{names.granule}/IMG_DATA/R60m/T34UDD_20230412T094504_B01_60m"]
    ext = naming.image_extension(fmt)
    scl_path = root / names.image_relpath("SCL", 20)
    assert scl_path.suffix == ext and scl_path == images.images[("SCL", 20)]
    ds = gdal.Open(str(scl_path))
    assert ds.GetRasterBand(1).DataType == gdal.GDT_Byte
    assert np.array_equal(ds.ReadAsArray(), scl)
    assert ds.GetGeoTransform() == pytest.approx((499980.0, 20.0, 0.0, 5000040.0, 0.0, -20.0))
    tci = gdal.Open(str(root / names.image_relpath("TCI", 20)))
    assert tci.RasterCount == 3 and tci.GetRasterBand(1).DataType == gdal.GDT_Byte
    pvi = gdal.Open(str(root / names.pvi_relpath()))
    assert (pvi.RasterCount, pvi.RasterXSize, pvi.RasterYSize) == (3, 343, 343)
    assert pvi.GetGeoTransform()[1] == pytest.approx(1200 / 343)
    cld = gdal.Open(str(root / names.mask_relpath("MSK_CLDPRB", 20)))
    assert cld.GetRasterBand(1).GetNoDataValue() is None                 # 0 % is a value
    written = {p.relative_to(root).as_posix() for p in images.written_files()}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert written == on_disk


def test_layer_specs():
    assert LAYER_SPECS["B8A"].dtype == np.uint16 and LAYER_SPECS["B8A"].nodata == 0
    assert LAYER_SPECS["SCL"].dtype == np.uint8 and LAYER_SPECS["SCL"].nodata == 0
    assert LAYER_SPECS["AOT"].dtype == np.uint16 and LAYER_SPECS["WVP"].dtype == np.uint16
    assert LAYER_SPECS["TCI"].bands == 3 and LAYER_SPECS["PVI"].bands == 3
    assert LAYER_SPECS["MSK_SNWPRB"].dtype == np.uint8 and LAYER_SPECS["MSK_SNWPRB"].nodata is None


def test_sc_cog_scl_path_and_lookup(tmp_path):
    names = _names("JP2")
    root = _tree(tmp_path, names)
    with L2AImageWriter(root, names, GEOCODING, "JP2", sc_cog=True) as images:
        images.write_image("SCL", 20, np.ones((60, 60), np.uint8))
        images.write_image("AOT", 20, np.zeros((60, 60), np.uint16))
    scl = images.images[("SCL", 20)]
    assert scl.name == "T34UDD_20230412T094504_SCL_20m.tif"
    assert gdal.Open(str(scl)).GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    assert existing_image_path(root, names, "SCL", 20) == scl
    assert existing_image_path(root, names, "AOT", 20).suffix == ".jp2"
    assert existing_image_path(root, names, "SCL", 60) is None


def test_bad_input_is_refused_before_queueing(tmp_path):
    names = _names()
    root = _tree(tmp_path, names)
    with L2AImageWriter(root, names, GEOCODING, "JP2", threads=2) as images:
        with pytest.raises(ValueError, match="uint8"):
            images.write_image("SCL", 20, np.full((60, 60), 300))
        with pytest.raises(ValueError, match="band"):
            images.write_image("TCI", 20, np.zeros((60, 60), np.uint8))
        with pytest.raises(ValueError, match="unknown"):
            images.write_image("XYZ", 20, np.zeros((60, 60), np.uint8))


def test_a_failing_file_stops_the_queue_and_is_raised(tmp_path):
    names = _names()
    root = _tree(tmp_path, names)
    (root / "GRANULE" / names.granule / "IMG_DATA" / "R60m").rmdir()      # this folder is missing
    images = L2AImageWriter(root, names, GEOCODING, "JP2", threads=2)
    with pytest.raises(RasterWriteError):
        with images:
            images.write_image("B01", 60, np.ones((20, 20), np.uint16))
            for band in ("B02", "B03", "B04", "B05", "B06"):
                images.write_image(band, 20, np.ones((60, 60), np.uint16))
    assert images._pool is None and not images._pending


def test_cancel_reaches_the_queued_encoders(tmp_path):
    names = _names()
    root = _tree(tmp_path, names)
    event = threading.Event()
    event.set()
    with pytest.raises(CancelledError):
        with L2AImageWriter(root, names, GEOCODING, "JP2", threads=2, cancel=event) as images:
            images.write_image("B02", 10, np.ones((120, 120), np.uint16))
    assert not [p for p in root.rglob("*") if p.is_file()]


def test_single_worker_writes_synchronously(tmp_path):
    names = _names("TIF")
    root = _tree(tmp_path, names)
    images = L2AImageWriter(root, names, GEOCODING, "TIF", threads=1)
    images.write_image("WVP", 10, np.zeros((120, 120), np.uint16))
    assert (root / names.image_relpath("WVP", 10)).is_file()              # before wait()
    images.close()
