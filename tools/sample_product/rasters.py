"""Raster, mask and GRIB writers of the sample product (GDAL; deterministic output).

* JPEG 2000 (GDAL JP2OpenJPEG): lossless (REVERSIBLE=YES, QUALITY=100), GeoJP2 and GMLJP2 boxes,
  1024 x 1024 tiles; files are written in parallel by a thread pool (GDAL releases the GIL).
* GML quality masks of baselines < 04.00 (eop:Mask documents with gml:Polygon members), from
  rasters polygonised with GDAL.
* AUX_ECMWFT: GRIB edition 1 written by our own encoder, as in real products (ECMWF centre 98,
  table 128: 137 total column water vapour kg m-2, 151 mean sea-level pressure Pa, 206 total
  column ozone kg m-2). GDAL's GRIB driver can only write edition 2, whose WMO tables name these
  fields differently (and give ozone in Dobson units), hence the small encoder. GDAL reads the
  fields back as GRIB_ELEMENT PWC (GDAL's name for 128/137, comment "Precipitable water
  content [kg/m^2]"), MSL and TCO3.
* AUX_CAMSFO: GRIB edition 2 written with GDAL's GRIB driver: aerosol optical thickness fields
  (discipline 0, category 20, number 102, GRIB_ELEMENT AOTK) with product template 4.48 (aerosol
  type 62000 = total aerosol, wavelength 550 nm first; then 469, 670, 865, 1240 nm).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from lxml import etree
from osgeo import gdal, ogr, osr

gdal.UseExceptions()

_CONFIG = {
    "GDAL_PAM_ENABLED": "NO",           # no .aux.xml side files inside the SAFE
    "GDAL_NUM_THREADS": "ALL_CPUS",
}


@contextmanager
def gdal_settings():
    """GDAL configuration for writing the product; restores previous values."""
    old = {k: gdal.GetConfigOption(k) for k in _CONFIG}
    try:
        for k, v in _CONFIG.items():
            gdal.SetConfigOption(k, v)
        yield
    finally:
        for k, v in old.items():
            gdal.SetConfigOption(k, v)


def srs_wkt(epsg: int) -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt()


def _mem_dataset(array: np.ndarray, geotransform, epsg: Optional[int], gdal_type=None):
    arr = array if array.ndim == 3 else array[None]
    if gdal_type is None:
        gdal_type = {np.dtype("uint8"): gdal.GDT_Byte, np.dtype("uint16"): gdal.GDT_UInt16,
                     np.dtype("float32"): gdal.GDT_Float32}[arr.dtype]
    ds = gdal.GetDriverByName("MEM").Create("", arr.shape[2], arr.shape[1], arr.shape[0], gdal_type)
    ds.SetGeoTransform(tuple(float(v) for v in geotransform))
    if epsg:
        ds.SetProjection(srs_wkt(epsg))
    for i in range(arr.shape[0]):
        ds.GetRasterBand(i + 1).WriteArray(arr[i])
    return ds


def write_jp2(path: Path, array: np.ndarray, geotransform, epsg: int, rgb: bool = False) -> None:
    """Lossless, georeferenced JPEG 2000 (uint8 or uint16; 2-D or bands-first 3-D)."""
    ds = _mem_dataset(array, geotransform, epsg)
    if rgb:
        for i, ci in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)):
            ds.GetRasterBand(i + 1).SetColorInterpretation(ci)
    ny, nx = array.shape[-2:]
    block = 1024 if max(nx, ny) > 1024 else max(64, 1 << int(math.ceil(math.log2(max(nx, ny)))))
    levels = max(1, min(6, int(math.log2(max(1, min(nx, ny) // 32))) + 1))
    options = [
        "CODEC=JP2", "REVERSIBLE=YES", "QUALITY=100", "YCC=NO", "GMLJP2=YES", "GeoJP2=YES",
        f"BLOCKXSIZE={min(block, 1024)}", f"BLOCKYSIZE={min(block, 1024)}",
        f"RESOLUTIONS={levels}", "PROGRESSION=LRCP",
    ]
    gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(str(path), ds, strict=0, options=options)
    ds = None


def write_geotiff(path: Path, array: np.ndarray, geotransform, epsg: int, nodata=None,
                  description: Optional[str] = None) -> None:
    """Compressed tiled GeoTIFF (truth files)."""
    ds = _mem_dataset(array, geotransform, epsg)
    if nodata is not None:
        for i in range(ds.RasterCount):
            ds.GetRasterBand(i + 1).SetNoDataValue(nodata)
    if description:
        ds.GetRasterBand(1).SetDescription(description)
    predictor = "3" if array.dtype == np.float32 else "2"
    gdal.GetDriverByName("GTiff").CreateCopy(
        str(path), ds, options=["COMPRESS=DEFLATE", f"PREDICTOR={predictor}", "TILED=YES",
                                "ZLEVEL=1", "NUM_THREADS=ALL_CPUS"])
    ds = None


def run_parallel(tasks: Iterable[Callable[[], None]], workers: int = 2) -> None:
    """Run writer callables in a small thread pool; re-raise the first error."""
    tasks = list(tasks)
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            t()
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for fut in [pool.submit(t) for t in tasks]:
            fut.result()


# ------------------------------------------------------------------------------------ GML masks
NS_EOP = "http://www.opengis.net/eop/2.0"
NS_GML = "http://www.opengis.net/gml/3.2"
NS_XLINK = "http://www.w3.org/1999/xlink"


def polygons_from_mask(mask: np.ndarray, geotransform, values: Optional[Sequence[int]] = None
                       ) -> List[Tuple[int, List[List[Tuple[float, float]]]]]:
    """(value, rings) for each polygon of a small-integer raster (0 = background)."""
    src = _mem_dataset(mask.astype(np.uint8), geotransform, None)
    band = src.GetRasterBand(1)
    drv = ogr.GetDriverByName("Memory")
    vds = drv.CreateDataSource("mem")
    layer = vds.CreateLayer("poly", geom_type=ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    gdal.Polygonize(band, band, layer, 0, [], callback=None)
    out = []
    for feat in layer:
        value = feat.GetField("value")
        if values is not None and value not in values:
            continue
        geom = feat.GetGeometryRef()
        rings = []
        for i in range(geom.GetGeometryCount()):
            ring = geom.GetGeometryRef(i)
            rings.append([(ring.GetX(k), ring.GetY(k)) for k in range(ring.GetPointCount())])
        out.append((value, rings))
    out.sort(key=lambda item: (item[0], -item[1][0][0][1], item[1][0][0][0]))
    return out


def write_gml_mask(path: Path, mask_id: str, epsg: int, extent: Tuple[float, float, float, float],
                   features: List[Tuple[str, str, List[List[Tuple[float, float]]]]]) -> None:
    """An eop:Mask GML document: features = [(gml id, maskType, rings)]."""
    E = "{%s}" % NS_EOP
    G = "{%s}" % NS_GML
    root = etree.Element(E + "Mask", nsmap={"eop": NS_EOP, "gml": NS_GML, "xlink": NS_XLINK})
    root.set(G + "id", mask_id)
    srs = f"urn:ogc:def:crs:EPSG::{epsg}"
    bounded = etree.SubElement(root, G + "boundedBy")
    if features:
        env = etree.SubElement(bounded, G + "Envelope", srsName=srs)
        etree.SubElement(env, G + "lowerCorner").text = f"{extent[0]:.0f} {extent[1]:.0f}"
        etree.SubElement(env, G + "upperCorner").text = f"{extent[2]:.0f} {extent[3]:.0f}"
    else:
        etree.SubElement(bounded, G + "Null").text = "Inapplicable"
    members = etree.SubElement(root, E + "maskMembers")
    for fid, mask_type, rings in features:
        feat = etree.SubElement(members, E + "MaskFeature")
        feat.set(G + "id", fid)
        etree.SubElement(feat, E + "maskType", codeSpace="urn:gs2:S2PDGS:maskType").text = mask_type
        extent_of = etree.SubElement(feat, E + "extentOf")
        poly = etree.SubElement(extent_of, G + "Polygon", srsName=srs)
        poly.set(G + "id", fid + ".G")
        for k, ring in enumerate(rings):
            holder = etree.SubElement(poly, G + ("exterior" if k == 0 else "interior"))
            lr = etree.SubElement(holder, G + "LinearRing")
            pos = etree.SubElement(lr, G + "posList", srsDimension="2")
            pos.text = " ".join(f"{x:.0f} {y:.0f}" for x, y in ring)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# ----------------------------------------------------------------------------------------- GRIB
def _ibm_float(x: float) -> bytes:
    """IBM single-precision float (GRIB 1 reference value)."""
    if x == 0:
        return b"\0\0\0\0"
    sign = 0x80 if x < 0 else 0
    x = abs(x)
    exp = 64
    while x >= 1:
        x /= 16.0
        exp += 1
    while x < 1 / 16.0:
        x *= 16.0
        exp -= 1
    mant = int(round(x * (1 << 24)))
    if mant == 1 << 24:
        mant >>= 4
        exp += 1
    return bytes([sign | exp]) + mant.to_bytes(3, "big")


def _signed(value: int, nbytes: int) -> bytes:
    sign_bit = 1 << (8 * nbytes - 1)
    return (abs(value) | (sign_bit if value < 0 else 0)).to_bytes(nbytes, "big")


def grib1_message(values: np.ndarray, table: int, param: int, lat_north: float, lon_west: float,
                  step_deg: float, ref_time, decimal_scale: int, centre: int = 98,
                  nbits: int = 16) -> bytes:
    """One GRIB edition 1 message on a regular lat/lon grid (north to south, west to east)."""
    nj, ni = values.shape
    y = ref_time.year
    pds = bytes([0, 0, 28, table, centre, 145, 255, 0x80, param, 1]) + (0).to_bytes(2, "big") + bytes(
        [(y - 1) % 100 + 1, ref_time.month, ref_time.day, ref_time.hour, ref_time.minute, 1, 0, 0, 0]
    ) + (0).to_bytes(2, "big") + bytes([0, (y - 1) // 100 + 1, 0]) + _signed(decimal_scale, 2)
    step = int(round(step_deg * 1000))
    la1, lo1 = int(round(lat_north * 1000)), int(round(lon_west * 1000))
    la2, lo2 = la1 - (nj - 1) * step, lo1 + (ni - 1) * step
    gds = bytes([0, 0, 32, 0, 255, 0]) + ni.to_bytes(2, "big") + nj.to_bytes(2, "big") + _signed(
        la1, 3) + _signed(lo1, 3) + bytes([0x80]) + _signed(la2, 3) + _signed(lo2, 3) + step.to_bytes(
        2, "big") + step.to_bytes(2, "big") + bytes([0]) + b"\0\0\0\0"
    scaled = np.round(values.astype(np.float64).ravel() * 10.0 ** decimal_scale)
    ref = float(np.floor(scaled.min()))
    packed = np.round(scaled - ref).astype(np.int64)
    binary_scale = 0
    while packed.max() >= (1 << nbits):
        binary_scale += 1
        packed = np.round((scaled - ref) / 2.0 ** binary_scale).astype(np.int64)
    data = packed.astype(">u2").tobytes()
    length = 11 + len(data)
    pad = length % 2
    bds = (length + pad).to_bytes(3, "big") + bytes([8 * pad]) + _signed(binary_scale, 2) + \
        _ibm_float(ref) + bytes([nbits]) + data + b"\0" * pad
    total = 8 + len(pds) + len(gds) + len(bds) + 4
    return b"GRIB" + total.to_bytes(3, "big") + bytes([1]) + pds + gds + bds + b"7777"


def write_grib2_aod(path: Path, fields: List[Tuple[float, np.ndarray]], lat_north: float,
                    lon_west: float, step_deg: float, ref_time) -> None:
    """CAMS-like aerosol optical thickness fields (one per wavelength, nm) with GDAL's GRIB driver."""
    nj, ni = fields[0][1].shape
    mem = gdal.GetDriverByName("MEM").Create("", ni, nj, len(fields), gdal.GDT_Float32)
    mem.SetGeoTransform((lon_west - step_deg / 2, step_deg, 0.0, lat_north + step_deg / 2, 0.0, -step_deg))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    mem.SetProjection(srs.ExportToWkt())
    for i, (_, arr) in enumerate(fields):
        mem.GetRasterBand(i + 1).WriteArray(arr.astype(np.float32))
    ids = ("IDS=CENTER=98(ECMWF) SUBCENTER=0 MASTER_TABLE=5 SIGNF_REF_TIME=1 "
           f"REF_TIME={ref_time.strftime('%Y-%m-%dT%H:%M:%SZ')} PROD_STATUS=0 TYPE=1")
    options = [ids, "DISCIPLINE=0", "DATA_ENCODING=SIMPLE_PACKING", "DECIMAL_SCALE_FACTOR=4",
               "NBITS=16", "PDS_PDTN=48"]
    for i, (wavelength_nm, _) in enumerate(fields):
        # category 20, number 102 (aerosol optical thickness), aerosol type 62000 (total),
        # no size interval, wavelength interval type 11 (= first limit) at wavelength_nm 1e-9 m,
        # forecast (2), 0 h, surface.
        values = [20, 102, 62000, 255, 0, 0, 0, 0, 11, 9, int(wavelength_nm), 0, 0, 2, 255, 255,
                  0, 0, 1, 0, 1, 0, 0, 255, 0, 0]
        options.append(f"BAND_{i + 1}_PDS_TEMPLATE_ASSEMBLED_VALUES=" + " ".join(map(str, values)))
    gdal.GetDriverByName("GRIB").CreateCopy(str(path), mem, strict=0, options=options)
