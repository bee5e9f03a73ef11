"""Typed description of a Level-1C product, as the reader returns it.

These objects are plain data (numpy arrays, strings, numbers, paths) so that they pickle to Dask
workers and can be built by the reader, the sample-product generator's tests and the L2A writer
alike. Raster pixels are never held here: bands are read lazily through `L1CProduct.read_band`.
"""
from __future__ import annotations

import threading

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Tuple

import numpy as np

# Metadata band order (bandId 0..12), as in MTD_MSIL1C.xml and Sen2Cor's internal arrays.
BAND_NAMES: Tuple[str, ...] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)
NATIVE_RESOLUTION: Dict[str, int] = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
    "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20,
}
RESOLUTIONS: Tuple[int, ...] = (10, 20, 60)
SPACECRAFTS: Dict[str, str] = {"Sentinel-2A": "S2A", "Sentinel-2B": "S2B", "Sentinel-2C": "S2C"}


def band_name(band_id: int) -> str:
    """Band name ('B8A') of a metadata bandId (8)."""
    return BAND_NAMES[band_id]


def band_id(name: str) -> int:
    """Metadata bandId of a band name; accepts 'B8A', 'B1', 'B01'."""
    name = name.upper()
    if name not in BAND_NAMES and name.startswith("B") and name[1:].isdigit():
        name = f"B{int(name[1:]):02d}"
    return BAND_NAMES.index(name)


@dataclass(frozen=True)
class SpectralBand:
    """One spectral band: radiometry and spectral response as stated by the product."""

    band_id: int
    name: str
    resolution: int
    wavelength_min: float          # nm
    wavelength_max: float          # nm
    wavelength_central: float      # nm
    response_step: float           # nm between response samples
    response: np.ndarray           # relative response, samples from wavelength_min
    solar_irradiance: float        # W m-2 um-1 (E0 at 1 AU)
    physical_gain: Optional[float]
    radio_add_offset: float        # DN offset; 0 when the product has none (baseline < 04.00)

    @property
    def response_wavelengths(self) -> np.ndarray:
        """Wavelength (nm) of each response sample; uses the sample count, never MIN/MAX."""
        return self.wavelength_min + self.response_step * np.arange(self.response.size)


@dataclass(frozen=True)
class AngleGrid:
    """Zenith and azimuth angles (degrees) on the coarse metadata grid.

    Node (0, 0) sits on the tile's upper-left corner; nodes are `row_step`/`col_step` metres
    apart (5000 m, 23 x 23 nodes for a full tile). NaN marks nodes without a value (outside a
    detector footprint).
    """

    zenith: np.ndarray
    azimuth: np.ndarray
    row_step: float
    col_step: float


@dataclass(frozen=True)
class TileGeocoding:
    """Tile CRS and the grid of each resolution."""

    cs_name: str                                        # 'WGS84 / UTM zone 34N'
    epsg: int
    sizes: Dict[int, Tuple[int, int]]                   # resolution -> (nrows, ncols)
    geopositions: Dict[int, Tuple[float, float, float, float]]  # res -> (ULX, ULY, XDIM, YDIM)

    def geotransform(self, resolution: int) -> Tuple[float, float, float, float, float, float]:
        """GDAL geotransform of the given resolution's grid."""
        ulx, uly, xdim, ydim = self.geopositions[resolution]
        return (ulx, xdim, 0.0, uly, 0.0, ydim)


@dataclass(frozen=True)
class QualityMask:
    """One L1C quality mask file of the granule QI_DATA folder."""

    mask_type: str        # 'MSK_CLASSI', 'MSK_QUALIT', 'MSK_DETFOO', 'MSK_CLOUDS', 'MSK_DEFECT', ...
    band: Optional[str]   # 'B01'... or None for band-independent masks (B00)
    path: str             # GDAL-openable path (plain or /vsizip/)
    raster: bool          # True for the 04.00+ JPEG 2000 masks, False for GML vectors


@dataclass(frozen=True)
class AuxiliaryData:
    """Meteorological fields from the granule's AUX_ECMWFT / AUX_CAMSFO GRIB files.

    Fields are on their own coarse lat/lon grid; `None` when the file or field is absent.
    """

    ecmwft_path: Optional[str] = None
    camsfo_path: Optional[str] = None
    water_vapour_cm: Optional[np.ndarray] = None      # total column water vapour, cm
    pressure_hpa: Optional[np.ndarray] = None         # mean sea-level pressure, hPa
    ozone_du: Optional[np.ndarray] = None             # total column ozone, Dobson units
    aod550: Optional[np.ndarray] = None               # CAMS total aerosol optical depth at 550 nm
    ecmwft_geotransform: Optional[Tuple[float, ...]] = None   # GDAL geotransform of the ECMWF grid
    camsfo_geotransform: Optional[Tuple[float, ...]] = None   # GDAL geotransform of the CAMS grid
    errors: Tuple[str, ...] = ()                      # one line per AUX file that could not be read

    @staticmethod
    def _mean(values: Optional[np.ndarray]) -> Optional[float]:
        if values is None:
            return None
        valid = values[np.isfinite(values) & (values > 0)]
        return float(valid.mean()) if valid.size else None

    @property
    def mean_ozone_du(self) -> Optional[float]:
        """Mean of the positive ozone values, as Sen2Cor's `Ozone_Content = 0` uses."""
        return self._mean(self.ozone_du)

    @property
    def mean_water_vapour_cm(self) -> Optional[float]:
        return self._mean(self.water_vapour_cm)

    @property
    def mean_aod550(self) -> Optional[float]:
        return self._mean(self.aod550)


@dataclass
class Granule:
    """The one tile (granule) of a compact-SAFE L1C product."""

    folder_name: str                    # 'L1C_T34UCF_A033753_20230823T095553'
    path: str                           # GDAL-openable folder path (plain or /vsizip/)
    tile_id: str                        # TILE_ID, 'S2B_OPER_MSI_L1C_TL_2BPS_..._N05.09'
    tile_number: str                    # MGRS tile, '34UCF'
    datastrip_id: str
    sensing_time: datetime              # SENSING_TIME of the tile
    absolute_orbit: int                 # from the granule folder name 'A033753'
    archiving_centre: Optional[str]
    archiving_time: Optional[datetime]
    geocoding: TileGeocoding
    sun_angles: AngleGrid
    mean_sun_zenith: float
    mean_sun_azimuth: float
    viewing_angles: Dict[str, AngleGrid]                    # band -> detectors merged
    viewing_angles_by_detector: Dict[Tuple[str, int], AngleGrid]
    mean_viewing_angles: Dict[str, Tuple[float, float]]     # band -> (zenith, azimuth)
    image_files: Dict[str, str]         # band (and 'TCI') -> GDAL-openable path with extension
    quality_masks: List[QualityMask]
    pvi_path: Optional[str]
    auxiliary: AuxiliaryData
    cloudy_pixel_percentage: Optional[float] = None
    degraded_msi_data_percentage: Optional[float] = None
    snow_pixel_percentage: Optional[float] = None


@dataclass
class L1CProduct:
    """A parsed Level-1C product. Built by `core.product.l1c_reader.read_l1c`."""

    input_path: str                     # what the user gave (folder, zip or MTD file)
    safe_path: str                      # GDAL-openable path of the .SAFE folder (plain or /vsizip/)
    safe_name: str                      # 'S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE'
    is_zip: bool
    product_uri: str
    spacecraft: str                     # 'S2A' | 'S2B' | 'S2C'
    spacecraft_name: str                # 'Sentinel-2B'
    processing_level: str               # 'Level-1C'
    product_type: str                   # 'S2MSI1C'
    processing_baseline: str            # '05.09'
    psd_version: int                    # namespace major version (14, 15)
    product_start_time: datetime
    product_stop_time: datetime
    generation_time: datetime
    datatake_identifier: str
    datatake_type: str
    datatake_sensing_start: datetime
    sensing_orbit_number: int           # relative orbit
    sensing_orbit_direction: str
    product_format: str                 # 'SAFE_COMPACT'
    quantification_value: float
    special_values: Dict[str, int]      # {'NODATA': 0, 'SATURATED': 65535}
    display_order: Tuple[int, int, int]  # (red, green, blue) bandIds
    reflectance_conversion_u: float
    bands: Dict[str, SpectralBand]      # keyed by band name, metadata order
    footprint: List[Tuple[float, float]]  # (lat, lon) pairs of the global footprint
    granule: Granule
    datastrip_path: Optional[str]       # GDAL-openable path of the DATASTRIP/DS_* folder
    product_doi: Optional[str] = None
    cloud_coverage_assessment: Optional[float] = None
    mtd_path: str = ""                  # GDAL-openable path of MTD_MSIL1C.xml
    mtd_xml: bytes = b""                # raw MTD_MSIL1C.xml, for copying sections into the L2A MTD
    tile_mtd_path: str = ""
    tile_mtd_xml: bytes = b""           # raw MTD_TL.xml
    manifest_xml: bytes = b""           # raw manifest.safe ('' when absent)

    @property
    def has_radiometric_offset(self) -> bool:
        return any(b.radio_add_offset != 0 for b in self.bands.values())

    @property
    def baseline_number(self) -> float:
        return float(self.processing_baseline)

    # -- lazy band access (core.product.bands); nothing is read before these are called --------
    def band_size(self, band: str) -> Tuple[int, int]:
        """(nrows, ncols) of a band's native grid, from the tile metadata."""
        return self.granule.geocoding.sizes[self.bands[band_name(band_id(band))].resolution]

    def band_reader(self, band: str):
        """A `bands.BandReader` for a band: lazy, windowed, checked against the metadata. One
        reader per band and thread is kept open, so that strip reads of a band reuse the open
        JPEG 2000 file and GDAL's cache of decoded tiles (a fresh open per strip decodes a
        tile again for every strip that crosses it)."""
        from .bands import BandReader
        key = (band_name(band_id(band)), threading.get_ident())
        cache = self.__dict__.setdefault("_band_readers", {})
        reader = cache.get(key)
        if reader is None:
            reader = cache[key] = BandReader.from_product(self, band)
        return reader

    def close_band(self, band: str) -> None:
        """Close the open readers of a band (frees GDAL's cached tiles of that file)."""
        name = band_name(band_id(band))
        cache = self.__dict__.get("_band_readers", {})
        for key in [k for k in list(cache) if k[0] == name]:     # readers of other threads too
            reader = cache.pop(key, None)
            if reader is not None:
                reader.close()

    def band_block_rows(self, band: str) -> int:
        """Rows of one internal block (JPEG 2000 tile) of a band's file: strip reads aligned to
        it decode every tile once."""
        return int(self.band_reader(band).dataset().GetRasterBand(1).GetBlockSize()[1])

    def read_band(self, band: str, window: Optional[Tuple[int, int, int, int]] = None) -> np.ndarray:
        """Digital numbers (uint16) of a window (row, col, nrows, ncols) of a band's native grid."""
        return self.band_reader(band).read_dn(window)

    def read_toa(self, band: str, window: Optional[Tuple[int, int, int, int]] = None):
        """`bands.ToaBlock` (reflectance float32 with NaN at NODATA, nodata and saturated masks)."""
        return self.band_reader(band).read_toa(window)
