"""A real client reads our Level-2A product: eoreader (PyPI) opens it as a Sentinel-2 L2A product,
loads surface-reflectance bands and the cloud mask.

eoreader recognises a product by its SAFE name and reads what ESA's L2A products hold: the band
files by their resolution folder and band id (IMG_DATA/R10m/*B04*.jp2), BOA_QUANTIFICATION_VALUE
and BOA_ADD_OFFSET[@band_id] from MTD_MSIL2A.xml, the no-data of a band from QI_DATA/MSK_DETFOO_Bxx
and MSK_QUALIT_Bxx (processing baseline >= 04.00), CLOUDS/ALL_CLOUDS as MSK_CLDPRB_20m > 66 %,
CIRRUS from MSK_CLASSI_B00, the cloud cover and orbit direction from the metadata. Where one of
these is missing or misnamed it either fails or, worse, silently falls back to defaults (offset
-1000, quantification 10000 - the same numbers as ours), so the metadata it reads is checked as
eoreader itself reads it, not only the values that come out.

rasterio (eoreader's reader) brings its own GDAL next to Debian's, which QGIS and the engine use:
this module runs in the pytest-qgis process, so importing both in one process is tested too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from eoreader.bands import (ALL_CLOUDS, CIRRUS, CLOUDS, NARROW_NIR, NIR, RED, SCL, SWIR_2,
                            BandNames)
from eoreader.products.optical.s2_product import S2Product, S2ProductType
from eoreader.reader import Constellation, Reader

from sen2cor_qgis.core.pipeline import ProcessingOptions, process_product
from sen2cor_qgis.core.product.l2a_tree import product_names
from sen2cor_qgis.core.product.l2a_xml import find_local, parse_file
from sen2cor_qgis.tools.sample_product import generate_product

gdal.UseExceptions()
FLAT_SEA_LEVEL = {"Adj_Km": 0.0, "Altitude": 0.0}
BOA_ADD_OFFSET = -1000.0
BOA_QUANTIFICATION = 10000.0
SCL_CLOUDS = (8, 9, 10)            # cloud medium / high probability, thin cirrus
# MSK_QUALIT layers eoreader turns into no-data: MSI_LOST, MSI_DEG, DEFECTIVE, NODATA, SATURATED
QUALIT_INVALID = (3, 4, 5, 6, 8)


def _read(path: Path, band: int = 1) -> np.ndarray:
    ds = gdal.Open(str(path))              # keep the dataset alive while its band is read
    return ds.GetRasterBand(band).ReadAsArray()


def _load(prod, band: BandNames, res: int) -> np.ndarray:
    return prod.load([band], pixel_size=res)[band].values[0]


@pytest.fixture(scope="module")
def l2a(tmp_path_factory) -> Path:
    l1c = generate_product(tmp_path_factory.mktemp("l1c"), size="tiny", spacecraft="S2B")
    out = tmp_path_factory.mktemp("l2a")
    result = process_product(l1c, ProcessingOptions(output_dir=str(out), overrides=FLAT_SEA_LEVEL))
    return Path(result.product_path)


@pytest.fixture(scope="module")
def prod(l2a, tmp_path_factory):
    """eoreader's product, with its working files (it writes every loaded band as GeoTIFF) kept
    out of the L2A product."""
    return Reader().open(l2a, output_path=tmp_path_factory.mktemp("eoreader"), remove_tmp=True)


def test_opened_as_sentinel2_l2a(l2a, prod):
    names = product_names(l2a)
    assert isinstance(prod, S2Product)
    assert prod.product_type == S2ProductType.L2A
    assert prod.constellation == Constellation.S2 and prod.constellation_id == "S2"
    assert prod.instrument == "MSI"
    assert prod.tile_name == f"T{names.tile}"
    assert prod.get_datetime(as_datetime=True) == names.datatake_start.replace(microsecond=0)
    b04 = gdal.Open(str(l2a / names.image_relpath("B04", 10)))
    assert prod.crs().to_epsg() == int(b04.GetSpatialRef().GetAuthorityCode(None))
    x0, dx, _, y0, _, dy = b04.GetGeoTransform()
    expected = (x0, y0 + dy * b04.RasterYSize, x0 + dx * b04.RasterXSize, y0)
    assert tuple(prod.extent().total_bounds) == pytest.approx(expected)
    mtd = parse_file(l2a / "MTD_MSIL2A.xml")
    cloud_cover = find_local(mtd, "Quality_Indicators_Info/Cloud_Coverage_Assessment")
    assert prod.get_cloud_cover() == pytest.approx(float(cloud_cover.text))
    spectral = [b.name for b in prod.get_existing_bands()]
    assert len(spectral) == 12 and "SWIR_CIRRUS" not in spectral     # L2A has no B10


def test_reflectance_scaling_is_read_from_the_metadata(prod):
    """Where these are missing eoreader falls back to the defaults without a word."""
    root, _ = prod.read_datatake_mtd()
    assert float(root.findtext(".//BOA_QUANTIFICATION_VALUE")) == BOA_QUANTIFICATION
    for band_id in range(13):
        assert float(root.findtext(f".//BOA_ADD_OFFSET[@band_id = '{band_id}']")) == BOA_ADD_OFFSET
    assert prod._processing_baseline >= 4.0         # the offset applies only from 04.00 on


@pytest.mark.parametrize("band, name, res", [(RED, "B04", 10), (NIR, "B08", 10),
                                             (NARROW_NIR, "B8A", 20), (SWIR_2, "B12", 20)])
def test_band_is_the_products_surface_reflectance(l2a, prod, band, name, res):
    names = product_names(l2a)
    path = Path(prod.get_band_paths([band], pixel_size=res)[band])
    assert path == l2a / names.image_relpath(name, res)
    theirs = _load(prod, band, res)
    dn = _read(path).astype(np.float64)
    assert theirs.shape == dn.shape
    ours = (dn + BOA_ADD_OFFSET) / BOA_QUANTIFICATION
    valid = np.isfinite(theirs) & (dn > 0)
    assert valid.mean() > 0.5
    assert np.abs(theirs[valid] - ours[valid]).max() <= 1e-6
    assert not np.isfinite(theirs[dn == 0]).any()          # our no-data is theirs
    # a pixel with data that eoreader drops must be flagged in the band's quality mask (each band
    # is loaded at its native resolution, the mask's)
    dropped = ~np.isfinite(theirs) & (dn > 0)
    if dropped.any():
        qualit = l2a / "GRANULE" / names.granule / "QI_DATA" / f"MSK_QUALIT_{name}.jp2"
        flagged = np.any([_read(qualit, layer) > 0 for layer in QUALIT_INVALID], axis=0)
        assert flagged.shape == dropped.shape and flagged[dropped].all()


def test_cloud_mask_agrees_with_the_scene_classification(l2a, prod):
    names = product_names(l2a)
    stack = prod.load([CLOUDS, ALL_CLOUDS, CIRRUS, SCL], pixel_size=20)
    scl = _read(l2a / names.image_relpath("SCL", 20))
    assert np.array_equal(stack[SCL].values[0], scl)
    clouds = stack[CLOUDS].values[0]
    all_clouds = stack[ALL_CLOUDS].values[0]
    assert clouds.shape == scl.shape
    assert np.array_equal(np.nan_to_num(clouds, nan=-1), np.nan_to_num(all_clouds, nan=-1))
    # eoreader's CLOUDS is the L2A cloud probability above 66 %
    cldprb = _read(l2a / names.mask_relpath("MSK_CLDPRB", 20))
    assert np.array_equal(clouds == 1, cldprb > 66)
    cloudy = clouds == 1
    assert cloudy.sum() >= 20
    assert np.isin(scl[cloudy], SCL_CLOUDS).all(), np.unique(scl[cloudy])
    high = scl == 9
    assert high.sum() >= 20 and cloudy[high].mean() >= 0.95
    assert not cloudy[scl == 0].any()
    cirrus = stack[CIRRUS].values[0]
    assert set(np.unique(cirrus[np.isfinite(cirrus)])) <= {0.0, 1.0}
