"""Builders of small Level-1C SAFE trees for the reader tests (no tests in this module).

Everything is written under a pytest tmp_path: metadata from our own small templates (or a real
MTD_TL fixture copied in), JPEG 2000 bands and raster masks with GDAL (lossless), GML masks as
stub files, and AUX GRIB files: GRIB1 encoded by hand (the format of real AUX_ECMWFT files, which
GDAL can read but not write) and GRIB2 through GDAL's writer. The full sample-product generator
lives in tools/; these builders stay small on purpose.
"""
from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, osr

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
RES = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10,
       "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20}
PHYSICAL = {b: ("B" + str(int(b[1:])) if b != "B8A" else "B8A") for b in BANDS}
WAVELENGTH = {  # (min, max, central) nm, shortened responses are enough here
    "B01": (430, 457, 442.3), "B02": (440, 538, 492.3), "B03": (537, 582, 559.0), "B04": (646, 685, 665.0),
    "B05": (694, 714, 703.8), "B06": (731, 749, 739.1), "B07": (768, 796, 779.7), "B08": (767, 908, 833.0),
    "B8A": (848, 881, 864.0), "B09": (931, 958, 943.2), "B10": (1338, 1414, 1376.9),
    "B11": (1539, 1681, 1610.4), "B12": (2072, 2312, 2185.7),
}
E0 = {"B01": 1874.3, "B02": 1959.75, "B03": 1824.93, "B04": 1512.79, "B05": 1425.78, "B06": 1291.13,
      "B07": 1175.57, "B08": 1041.28, "B8A": 953.93, "B09": 817.58, "B10": 365.41, "B11": 247.08, "B12": 87.75}
SPACECRAFT_NAME = {"S2A": "Sentinel-2A", "S2B": "Sentinel-2B", "S2C": "Sentinel-2C"}


# --------------------------------------------------------------------------------------------
# product description
# --------------------------------------------------------------------------------------------
@dataclass
class Spec:
    """What a built product says about itself. Defaults: a tiny 05.09 S2B tile (6 x 6 px at 60 m)."""

    spacecraft: str = "S2B"
    baseline: str = "05.09"
    psd: int = 14
    tile_psd: Optional[int] = None          # namespace of MTD_TL (psd-12 for old baselines)
    tile: str = "34UCF"
    datatake_start: str = "20230823T095559"
    generation: str = "20230823T120234"
    datastrip_start: str = "20230823T095553"
    absolute_orbit: int = 33753
    relative_orbit: int = 122
    centre: str = "2BPS"
    epsg: int = 32634
    ulx: float = 300000.0
    uly: float = 6100020.0
    size60: int = 6                          # 60 m grid is size60 x size60; 20 m x3, 10 m x6
    offset: Optional[int] = -1000            # RADIO_ADD_OFFSET; None: no Radiometric_Offset_List
    level: str = "Level-1C"
    product_format: str = "SAFE_COMPACT"
    masks: Sequence[Tuple[str, Optional[str], str]] = ()   # (type, band, filename as in MTD_TL)
    pvi: bool = True

    @property
    def baseline_code(self) -> str:
        return "N" + self.baseline.replace(".", "")

    @property
    def safe_name(self) -> str:
        return (f"{self.spacecraft}_MSIL1C_{self.datatake_start}_{self.baseline_code}_R{self.relative_orbit:03d}"
                f"_T{self.tile}_{self.generation}.SAFE")

    @property
    def granule_folder(self) -> str:
        return f"L1C_T{self.tile}_A{self.absolute_orbit:06d}_{self.datastrip_start}"

    @property
    def tile_id(self) -> str:
        return (f"{self.spacecraft}_OPER_MSI_L1C_TL_{self.centre}_{self.generation}_A{self.absolute_orbit:06d}"
                f"_T{self.tile}_N{self.baseline}")

    @property
    def datastrip_id(self) -> str:
        return f"{self.spacecraft}_OPER_MSI_L1C_DS_{self.centre}_{self.generation}_S{self.datastrip_start}_N{self.baseline}"

    def size(self, res: int) -> int:
        return self.size60 * 60 // res

    def band_stem(self, band: str) -> str:
        return f"T{self.tile}_{self.datatake_start}_{band}"

    def image_file(self, band: str) -> str:
        return f"GRANULE/{self.granule_folder}/IMG_DATA/{self.band_stem(band)}"

    def geotransform(self, res: int) -> Tuple[float, ...]:
        return (self.ulx, float(res), 0.0, self.uly, 0.0, -float(res))


def iso(stamp: str, fraction: str = ".024Z") -> str:
    """'20230823T095559' -> '2023-08-23T09:55:59.024Z'."""
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}{fraction}"


def default_masks(spec: Spec) -> List[Tuple[str, Optional[str], str]]:
    """Raster masks (>= 04.00) or GML masks (older) for B01 plus the band-independent one."""
    qi = f"GRANULE/{spec.granule_folder}/QI_DATA"
    if float(spec.baseline) >= 4.0:
        return [("MSK_DETFOO", "B01", f"{qi}/MSK_DETFOO_B01.jp2"), ("MSK_QUALIT", "B01", f"{qi}/MSK_QUALIT_B01.jp2"),
                ("MSK_CLASSI", None, f"{qi}/MSK_CLASSI_B00.jp2")]
    return [("MSK_DEFECT", "B01", f"{qi}/MSK_DEFECT_B01.gml"), ("MSK_DETFOO", "B01", f"{qi}/MSK_DETFOO_B01.gml"),
            ("MSK_CLOUDS", None, f"{qi}/MSK_CLOUDS_B00.gml")]


# --------------------------------------------------------------------------------------------
# metadata templates
# --------------------------------------------------------------------------------------------
def response_values(band: str) -> List[float]:
    lo, hi, _ = WAVELENGTH[band]
    x = np.linspace(0.0, np.pi, int(hi - lo + 1))
    return [round(float(v), 6) for v in np.sin(x) ** 2]


def product_mtd(spec: Spec) -> bytes:
    """A small but complete MTD_MSIL1C.xml for `spec`."""
    ns = f"https://psd-{spec.psd}.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd"
    level = spec.level.replace("Level-", "")
    images = "\n".join(f"          <IMAGE_FILE>{spec.image_file(b)}</IMAGE_FILE>" for b in BANDS + ("TCI",))
    offsets = ""
    if spec.offset is not None:
        offsets = "<Radiometric_Offset_List>" + "".join(
            f'<RADIO_ADD_OFFSET band_id="{i}">{spec.offset}</RADIO_ADD_OFFSET>' for i in range(13)
        ) + "</Radiometric_Offset_List>"
    e0 = "".join(f'<SOLAR_IRRADIANCE bandId="{i}" unit="W/m²/µm">{E0[b]}</SOLAR_IRRADIANCE>' for i, b in enumerate(BANDS))
    spectral = "".join(
        f'<Spectral_Information bandId="{i}" physicalBand="{PHYSICAL[b]}"><RESOLUTION>{RES[b]}</RESOLUTION>'
        f'<Wavelength><MIN unit="nm">{WAVELENGTH[b][0]}</MIN><MAX unit="nm">{WAVELENGTH[b][1]}</MAX>'
        f'<CENTRAL unit="nm">{WAVELENGTH[b][2]}</CENTRAL></Wavelength><Spectral_Response><STEP unit="nm">1</STEP>'
        f'<VALUES>{" ".join(str(v) for v in response_values(b))}</VALUES></Spectral_Response></Spectral_Information>'
        for i, b in enumerate(BANDS))
    gains = "".join(f'<PHYSICAL_GAINS bandId="{i}">{3.5 + i / 10}</PHYSICAL_GAINS>' for i in range(13))
    start = iso(spec.datatake_start)
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-{level}_User_Product xmlns:n1="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{start}</PRODUCT_START_TIME>
      <PRODUCT_STOP_TIME>{start}</PRODUCT_STOP_TIME>
      <PRODUCT_URI>{spec.safe_name}</PRODUCT_URI>
      <PROCESSING_LEVEL>{spec.level}</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI1C</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{spec.baseline}</PROCESSING_BASELINE>
      <PRODUCT_DOI>https://doi.org/10.5270/S2_-742ikth</PRODUCT_DOI>
      <GENERATION_TIME>{iso(spec.generation, '.000000Z')}</GENERATION_TIME>
      <PREVIEW_IMAGE_URL>Not applicable</PREVIEW_IMAGE_URL>
      <PREVIEW_GEO_INFO>Not applicable</PREVIEW_GEO_INFO>
      <Datatake datatakeIdentifier="G{spec.spacecraft}_{spec.datatake_start}_{spec.absolute_orbit:06d}_N{spec.baseline}">
        <SPACECRAFT_NAME>{SPACECRAFT_NAME.get(spec.spacecraft, spec.spacecraft)}</SPACECRAFT_NAME>
        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>
        <DATATAKE_SENSING_START>{start}</DATATAKE_SENSING_START>
        <SENSING_ORBIT_NUMBER>{spec.relative_orbit}</SENSING_ORBIT_NUMBER>
        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
      </Datatake>
      <Query_Options completeSingleTile="true"><PRODUCT_FORMAT>{spec.product_format}</PRODUCT_FORMAT></Query_Options>
      <Product_Organisation>
        <Granule_List>
          <Granule datastripIdentifier="{spec.datastrip_id}" granuleIdentifier="{spec.tile_id}" imageFormat="JPEG2000">
{images}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      <Image_Display_Order><RED_CHANNEL>3</RED_CHANNEL><GREEN_CHANNEL>2</GREEN_CHANNEL><BLUE_CHANNEL>1</BLUE_CHANNEL></Image_Display_Order>
      <QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>
      {offsets}
      <Reflectance_Conversion><U>0.978</U><Solar_Irradiance_List>{e0}</Solar_Irradiance_List></Reflectance_Conversion>
      <Spectral_Information_List>{spectral}</Spectral_Information_List>
      {gains}
      <REFERENCE_BAND>3</REFERENCE_BAND>
    </Product_Image_Characteristics>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Product_Footprint><Product_Footprint><Global_Footprint>
      <EXT_POS_LIST>55.0 19.0 55.0 20.0 54.0 20.0 54.0 19.0 55.0 19.0</EXT_POS_LIST>
    </Global_Footprint></Product_Footprint><RASTER_CS_TYPE>POINT</RASTER_CS_TYPE><PIXEL_ORIGIN>1</PIXEL_ORIGIN></Product_Footprint>
  </n1:Geometric_Info>
  <n1:Quality_Indicators_Info>
    <Cloud_Coverage_Assessment>3.5</Cloud_Coverage_Assessment>
  </n1:Quality_Indicators_Info>
</n1:Level-{level}_User_Product>
""".encode("utf-8")


SUN_ZENITH = np.array([[40.0, 40.5, 41.0], [40.2, 40.7, 41.2], [40.4, 40.9, 41.4]])
SUN_AZIMUTH = np.array([[150.0, 151.0, 152.0], [150.5, 151.5, 152.5], [151.0, 152.0, 153.0]])
NAN = float("nan")
# two detectors per band: detector 1 covers column 0-1, detector 2 columns 1-2 (column 1 shared)
DETECTOR_ZENITH = {1: np.array([[5.0, 4.0, NAN]] * 3), 2: np.array([[NAN, 3.0, 2.0]] * 3)}
DETECTOR_AZIMUTH = {1: np.array([[100.0, 101.0, NAN]] * 3), 2: np.array([[NAN, 280.0, 281.0]] * 3)}


def _grid_xml(tag: str, zenith: np.ndarray, azimuth: np.ndarray, attrs: str = "") -> str:
    def values(a: np.ndarray) -> str:
        return "".join("<VALUES>" + " ".join("NaN" if np.isnan(v) else f"{v:g}" for v in row) + "</VALUES>" for row in a)
    comp = ('<{0}><COL_STEP unit="m">5000</COL_STEP><ROW_STEP unit="m">5000</ROW_STEP>'
            '<Values_List>{1}</Values_List></{0}>')
    return f"<{tag}{attrs}>" + comp.format("Zenith", values(zenith)) + comp.format("Azimuth", values(azimuth)) + f"</{tag}>"


def tile_mtd(spec: Spec) -> bytes:
    """A small MTD_TL.xml for `spec` (3 x 3 angle grids, 2 detectors per band)."""
    psd = spec.tile_psd or spec.psd
    ns = f"https://psd-{psd}.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1C_Tile_Metadata.xsd"
    geo = "".join(f'<Size resolution="{r}"><NROWS>{spec.size(r)}</NROWS><NCOLS>{spec.size(r)}</NCOLS></Size>'
                  for r in (10, 20, 60))
    geo += "".join(f'<Geoposition resolution="{r}"><ULX>{spec.ulx:g}</ULX><ULY>{spec.uly:g}</ULY>'
                   f'<XDIM>{r}</XDIM><YDIM>-{r}</YDIM></Geoposition>' for r in (10, 20, 60))
    viewing = "".join(_grid_xml("Viewing_Incidence_Angles_Grids", DETECTOR_ZENITH[d] + i / 10, DETECTOR_AZIMUTH[d],
                                f' bandId="{i}" detectorId="{d}"') for i in range(13) for d in (2, 1))
    means = "".join(f'<Mean_Viewing_Incidence_Angle bandId="{i}"><ZENITH_ANGLE unit="deg">{3.0 + i / 10:g}</ZENITH_ANGLE>'
                    f'<AZIMUTH_ANGLE unit="deg">{190.0 + i:g}</AZIMUTH_ANGLE></Mean_Viewing_Incidence_Angle>'
                    for i in range(13))
    masks = spec.masks if spec.masks else default_masks(spec)
    mask_xml = "".join(
        f'<MASK_FILENAME{"" if band is None else f" bandId={chr(34)}{BANDS.index(band)}{chr(34)}"} type="{t}">{name}</MASK_FILENAME>'
        for t, band, name in masks)
    pvi = (f"<PVI_FILENAME>GRANULE/{spec.granule_folder}/QI_DATA/T{spec.tile}_{spec.datatake_start}_PVI.jp2</PVI_FILENAME>"
           if spec.pvi else "")
    level = spec.level.replace("Level-", "")
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-{level}_Tile_ID xmlns:n1="{ns}">
  <n1:General_Info>
    <TILE_ID metadataLevel="Brief">{spec.tile_id}</TILE_ID>
    <DATASTRIP_ID metadataLevel="Standard">{spec.datastrip_id}</DATASTRIP_ID>
    <DOWNLINK_PRIORITY metadataLevel="Standard">NOMINAL</DOWNLINK_PRIORITY>
    <SENSING_TIME metadataLevel="Standard">{iso(spec.datastrip_start, '.271949Z')}</SENSING_TIME>
    <Archiving_Info metadataLevel="Expertise"><ARCHIVING_CENTRE>{spec.centre}</ARCHIVING_CENTRE>
      <ARCHIVING_TIME>{iso(spec.generation, '.812988Z')}</ARCHIVING_TIME></Archiving_Info>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>WGS84 / UTM zone {spec.epsg % 100}N</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>EPSG:{spec.epsg}</HORIZONTAL_CS_CODE>
      {geo}
    </Tile_Geocoding>
    <Tile_Angles metadataLevel="Standard">
      {_grid_xml("Sun_Angles_Grid", SUN_ZENITH, SUN_AZIMUTH)}
      <Mean_Sun_Angle><ZENITH_ANGLE unit="deg">40.7</ZENITH_ANGLE><AZIMUTH_ANGLE unit="deg">151.5</AZIMUTH_ANGLE></Mean_Sun_Angle>
      {viewing}
      <Mean_Viewing_Incidence_Angle_List>{means}</Mean_Viewing_Incidence_Angle_List>
    </Tile_Angles>
  </n1:Geometric_Info>
  <n1:Quality_Indicators_Info metadataLevel="Standard">
    <Image_Content_QI><CLOUDY_PIXEL_PERCENTAGE>3.34</CLOUDY_PIXEL_PERCENTAGE>
      <DEGRADED_MSI_DATA_PERCENTAGE>0.0019</DEGRADED_MSI_DATA_PERCENTAGE>
      <SNOW_PIXEL_PERCENTAGE>0.0096</SNOW_PIXEL_PERCENTAGE></Image_Content_QI>
    <Pixel_Level_QI geometry="FULL_RESOLUTION">{mask_xml}</Pixel_Level_QI>
    {pvi}
  </n1:Quality_Indicators_Info>
</n1:Level-{level}_Tile_ID>
""".encode("utf-8")


# --------------------------------------------------------------------------------------------
# rasters
# --------------------------------------------------------------------------------------------
def write_jp2(path: Path, layers: Sequence[np.ndarray], epsg: int, geotransform: Sequence[float]) -> Path:
    """Lossless JPEG 2000 (REVERSIBLE=YES, QUALITY=100) of one or more same-shape layers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    first = layers[0]
    gdal_type = {np.dtype(np.uint8): gdal.GDT_Byte, np.dtype(np.uint16): gdal.GDT_UInt16}[first.dtype]
    mem = gdal.GetDriverByName("MEM").Create("", first.shape[1], first.shape[0], len(layers), gdal_type)
    for i, layer in enumerate(layers, start=1):
        mem.GetRasterBand(i).WriteArray(layer)
    mem.SetGeoTransform(list(geotransform))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    mem.SetProjection(srs.ExportToWkt())
    out = gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(str(path), mem, options=["REVERSIBLE=YES", "QUALITY=100"])
    assert out is not None, f"could not write {path}"
    out = None
    return path


def band_values(spec: Spec, band: str) -> np.ndarray:
    """Deterministic DN of a band: a ramp, with NODATA (0) in the first row's first two pixels and
    SATURATED (65535) in the last pixel."""
    n = spec.size(RES[band])
    dn = (1000 + 10 * BANDS.index(band) + np.arange(n * n, dtype=np.uint32).reshape(n, n)).astype(np.uint16)
    dn[0, :2] = 0
    dn[-1, -1] = 65535
    return dn


# --------------------------------------------------------------------------------------------
# GRIB
# --------------------------------------------------------------------------------------------
def _u3(v: int) -> bytes:
    return struct.pack(">I", v)[1:]


def _s3(v: int) -> bytes:
    return _u3((abs(v) & 0x7FFFFF) | (0x800000 if v < 0 else 0))


def _s2(v: int) -> bytes:
    return struct.pack(">H", (abs(v) & 0x7FFF) | (0x8000 if v < 0 else 0))


def grib1_message(values: np.ndarray, table: int, parameter: int, decimals: int, centre: int = 98,
                  lat1: float = 55.0, lon1: float = 19.0, step: float = 0.5) -> bytes:
    """One GRIB edition 1 message on a regular lat/lon grid (simple packing, 24 bits, reference
    0, decimal scale `decimals`): the encoding of ECMWF's AUX_ECMWFT files. Values must be >= 0."""
    nj, ni = values.shape
    pds = bytes([0, 0, 28, table, centre, 1, 255, 0x80, parameter, 1, 0, 0,
                 23, 8, 23, 9, 0, 1, 0, 0, 0, 0, 0, 0, 21, 0]) + _s2(decimals)
    lat2, lon2 = lat1 - (nj - 1) * step, lon1 + (ni - 1) * step
    millis = int(round(step * 1000))
    gds = (_u3(32) + bytes([0, 255, 0]) + struct.pack(">HH", ni, nj) + _s3(round(lat1 * 1000))
           + _s3(round(lon1 * 1000)) + bytes([0x80]) + _s3(round(lat2 * 1000)) + _s3(round(lon2 * 1000))
           + struct.pack(">HH", millis, millis) + bytes(5))
    packed = np.round(np.asarray(values, dtype=np.float64) * 10 ** decimals).astype(np.int64).ravel()
    assert packed.min() >= 0 and packed.max() < 2 ** 24
    data = b"".join(struct.pack(">I", int(v))[1:] for v in packed)
    length = 11 + len(data)
    pad = length % 2
    bds = _u3(length + pad) + bytes([8 * pad]) + _s2(0) + bytes(4) + bytes([24]) + data + bytes(pad)
    body = pds + gds + bds + b"7777"
    return b"GRIB" + _u3(8 + len(body)) + bytes([1]) + body


ECMWF_WV = np.array([[25.3, 26.0, 27.1], [24.0, 23.5, 22.0]])           # kg m-2
ECMWF_MSL = np.array([[101325.0, 101300.0, 101200.0], [100900.0, 101000.0, 101100.0]])   # Pa
ECMWF_O3 = np.array([[0.005738, 0.0060, 0.0062], [0.0064, 0.0066, 0.0068]])   # kg m-2
CAMS_AOD = np.array([[0.12, 0.15, 0.2], [0.08, 0.1, 0.11]])


def ecmwft_grib1(order: Sequence[str] = ("wv", "msl", "o3")) -> bytes:
    """AUX_ECMWFT as ECMWF writes it: GRIB1, table 128 (137 tcwv, 151 msl, 206 tco3)."""
    fields = {"wv": (ECMWF_WV, 137, 2), "msl": (ECMWF_MSL, 151, 0), "o3": (ECMWF_O3, 206, 7)}
    return b"".join(grib1_message(fields[k][0], 128, fields[k][1], fields[k][2]) for k in order)


def camsfo_grib1(with_other_fields: bool = True) -> bytes:
    """AUX_CAMSFO-like GRIB1: ECMWF table 210, aod550 = parameter 207 (after aod469 = 213)."""
    other = grib1_message(CAMS_AOD * 1.2, 210, 213, 3) if with_other_fields else b""
    return other + grib1_message(CAMS_AOD, 210, 207, 3)


def write_grib2(path: Path, fields: Sequence[Tuple[int, int, int, np.ndarray]], centre: Optional[str] = None) -> Path:
    """GRIB2 through GDAL's writer; fields are (discipline, category, number, values)."""
    shape = fields[0][3].shape
    mem = gdal.GetDriverByName("MEM").Create("", shape[1], shape[0], len(fields), gdal.GDT_Float64)
    mem.SetGeoTransform((19.0, 0.5, 0.0, 55.25, 0.0, -0.5))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    mem.SetProjection(srs.ExportToWkt())
    options = [f"IDS=CENTER={centre}"] if centre else []
    for i, (discipline, category, number, values) in enumerate(fields, start=1):
        mem.GetRasterBand(i).WriteArray(values)
        options += [f"BAND_{i}_DISCIPLINE={discipline}", f"BAND_{i}_PDS_PDTN=0",
                    f"BAND_{i}_PDS_TEMPLATE_NUMBERS={category} {number} 2 0 0 0 0 0 1 0 0 0 0 1 0 0 0 0 0 255 0 0 0 0 0"]
    path.parent.mkdir(parents=True, exist_ok=True)
    out = gdal.GetDriverByName("GRIB").CreateCopy(str(path), mem, options=options)
    assert out is not None, f"could not write {path}"
    out = None
    return path


# --------------------------------------------------------------------------------------------
# product trees
# --------------------------------------------------------------------------------------------
def build_safe(root: Path, spec: Optional[Spec] = None, *, bands: Iterable[str] = BANDS,
               tile_xml: Optional[bytes] = None, aux: bool = True, long_aux_names: bool = False,
               manifest: bool = True, tci: bool = True) -> Path:
    """Write a compact-SAFE L1C product for `spec` under `root`; returns the .SAFE folder.

    `bands` are written as real JPEG 2000 files (others are left out); listed masks are written
    (JP2 rasters or GML stubs); AUX files are GRIB1 in ECMWF's encoding.
    """
    spec = spec or Spec()
    safe = root / spec.safe_name
    granule = safe / "GRANULE" / spec.granule_folder
    (granule / "IMG_DATA").mkdir(parents=True)
    (safe / "MTD_MSIL1C.xml").write_bytes(product_mtd(spec))
    (granule / "MTD_TL.xml").write_bytes(tile_xml if tile_xml is not None else tile_mtd(spec))
    if manifest:
        (safe / "manifest.safe").write_bytes(b'<?xml version="1.0"?><xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1"/>')
    (safe / "DATASTRIP" / f"DS_{spec.centre}_{spec.generation}_S{spec.datastrip_start}").mkdir(parents=True)
    for band in bands:
        write_jp2(safe / (spec.image_file(band) + ".jp2"), [band_values(spec, band)], spec.epsg,
                  spec.geotransform(RES[band]))
    if tci:
        write_jp2(safe / (spec.image_file("TCI") + ".jp2"), [np.full((spec.size(10),) * 2, 80, np.uint8)] * 3,
                  spec.epsg, spec.geotransform(10))
    if tile_xml is None:
        write_masks(safe, spec)
        if spec.pvi:
            write_jp2(granule / "QI_DATA" / f"T{spec.tile}_{spec.datatake_start}_PVI.jp2",
                      [np.zeros((4, 4), np.uint8)] * 3, spec.epsg, spec.geotransform(60))
    if aux:
        prefix = f"{spec.spacecraft}_OPER_" if long_aux_names else ""
        suffix = f"_SGS__{spec.generation}" if long_aux_names else ""
        (granule / "AUX_DATA").mkdir()
        (granule / "AUX_DATA" / f"{prefix}AUX_ECMWFT{suffix}").write_bytes(ecmwft_grib1())
        if float(spec.baseline) >= 4.0:
            (granule / "AUX_DATA" / f"{prefix}AUX_CAMSFO{suffix}").write_bytes(camsfo_grib1())
    return safe


def mask_layers(mask_type: str, n: int) -> List[np.ndarray]:
    """Distinct, recognisable uint8 layers: layer k (1-based) is k at the pixels (r, c) with r == c."""
    count = {"MSK_CLASSI": 3, "MSK_QUALIT": 8}.get(mask_type, 1)
    layers = []
    for k in range(1, count + 1):
        layer = np.zeros((n, n), np.uint8)
        np.fill_diagonal(layer, k)
        layers.append(layer)
    return layers


def write_masks(safe: Path, spec: Spec) -> None:
    for mask_type, band, name in (spec.masks or default_masks(spec)):
        path = safe / name if "/" in name else safe / "GRANULE" / spec.granule_folder / "QI_DATA" / name
        res = RES[band] if band else 60
        if name.endswith(".jp2"):
            write_jp2(path, mask_layers(mask_type, spec.size(res)), spec.epsg, spec.geotransform(res))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('<?xml version="1.0"?><eop:Mask xmlns:eop="http://www.opengis.net/eop/2.0"/>')


def zip_tree(folder: Path, zip_path: Path, *, arc_root: str = "",
             extra: Optional[Dict[str, bytes]] = None) -> Path:
    """Zip a folder (members under `arc_root` + its name) plus extra raw members."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            arcname = arc_root + str(path.relative_to(folder.parent)).replace("\\", "/")
            if path.is_dir():
                archive.writestr(arcname + "/", b"")
            else:
                archive.write(path, arcname)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return zip_path


# --------------------------------------------------------------------------------------------
# a real band in a minimal product
# --------------------------------------------------------------------------------------------
def spec_from_tile_fixture(tile_xml: bytes) -> Spec:
    """A Spec matching a real MTD_TL fixture (read with regular expressions, not the reader)."""
    text = tile_xml.decode("utf-8")
    tile_id = re.search(r"<TILE_ID[^>]*>([^<]+)<", text).group(1)
    ds_id = re.search(r"<DATASTRIP_ID[^>]*>([^<]+)<", text).group(1)
    sensing = re.search(r"<SENSING_TIME[^>]*>([^<]+)<", text).group(1)
    epsg = int(re.search(r"<HORIZONTAL_CS_CODE>EPSG:(\d+)<", text).group(1))
    ulx = float(re.search(r"<ULX>([\d.]+)<", text).group(1))
    uly = float(re.search(r"<ULY>([\d.]+)<", text).group(1))
    m = re.match(r"(S2[ABC])_OPER_MSI_L1C_TL_(.{4})_(\d{8}T\d{6})_A(\d{6})_T(\w{5})_N(\d{2}\.\d{2})", tile_id)
    spacecraft, centre, generation, orbit, tile, baseline = m.groups()
    return Spec(
        spacecraft=spacecraft, baseline=baseline, psd=14, tile_psd=12, tile=tile,
        datatake_start=re.sub(r"[-:]", "", sensing)[:15], generation=generation,
        datastrip_start=re.search(r"_S(\d{8}T\d{6})_", ds_id).group(1), absolute_orbit=int(orbit),
        relative_orbit=8, centre=centre, epsg=epsg, ulx=ulx, uly=uly, size60=1830, offset=None,
    )


def build_real_band_safe(root: Path, tile_fixture: Path, band_fixture: Path) -> Tuple[Path, Spec]:
    """Minimal product around a real 60 m band: the real MTD_TL, a generated MTD_MSIL1C, the real
    B01 symlinked in (never copied into the repository), empty placeholders for the other bands
    (they must exist to be read, their content is never touched by these tests)."""
    tile_xml = tile_fixture.read_bytes()
    spec = spec_from_tile_fixture(tile_xml)
    safe = build_safe(root, spec, bands=(), tile_xml=tile_xml, aux=False, tci=False)
    for band in BANDS + ("TCI",):
        target = safe / (spec.image_file(band) + ".jp2")
        if band == "B01":
            target.symlink_to(band_fixture.resolve())
        else:
            target.write_bytes(b"")
    qi = safe / "GRANULE" / spec.granule_folder / "QI_DATA"
    for name in re.findall(r"<MASK_FILENAME[^>]*>([^<]+)<", tile_xml.decode("utf-8")):
        path = safe / name if "/" in name else qi / name      # old long names are bare file names
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('<?xml version="1.0"?><eop:Mask xmlns:eop="http://www.opengis.net/eop/2.0"/>')
    return safe, spec
