"""Granule AUX_DATA: ECMWF forecast (AUX_ECMWFT) and CAMS forecast (AUX_CAMSFO) GRIB files.

Both are read with GDAL's GRIB driver (in place, also through /vsizip/). Fields are identified by
what GDAL reports, because the encodings differ between files: real ECMWF files are GRIB1 with
ECMWF table 128 (GDAL elements 'PWC' or 'TCWV', 'MSL', 'TCO3'), GRIB2 files may use WMO codes
('TCIWV', 'PRMSL', 'TCIOZ'/'TOZNE') or ECMWF local codes (discipline 192: '(prodType 192, cat 128,
subcat 137)'). When a field cannot be identified, Sen2Cor's band order is used (1 water vapour,
2 pressure, 3 ozone) with a warning. Units follow Sen2Cor: water vapour kg m-2 / 10 -> cm,
pressure Pa / 100 -> hPa, ozone kg m-2 / 6.428e-3 * 300 -> Dobson units.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import ProductError
from .gdalio import open_raster, quiet_gdal, read_window
from .model import AuxiliaryData

log = logging.getLogger(__name__)

OZONE_KG_M2_AT_300_DU = 6.428e-3     # Sen2Cor's constant: 300 DU of ozone weigh 6.428e-3 kg m-2

_WATER_VAPOUR, _PRESSURE, _OZONE = "water_vapour", "pressure", "ozone"
_ECMWF_ORDER = (_WATER_VAPOUR, _PRESSURE, _OZONE)
_ECMWF_ELEMENTS = {
    _WATER_VAPOUR: {"TCWV", "TCIWV", "PWC", "PWAT"},
    _PRESSURE: {"MSL", "PRMSL", "MSLP"},
    _OZONE: {"TCO3", "TCIOZ", "TOZNE", "GTCO3"},
}
_ECMWF_PARAMS = {(128, 137): _WATER_VAPOUR, (128, 151): _PRESSURE, (128, 206): _OZONE}
_AOD550_PARAM = (210, 207)
_TOTAL_AEROSOL = 62000  # GRIB2 code table 4.233: total aerosol
_GRIB1_LOCAL = re.compile(r"var(\d+) of table (\d+)", re.IGNORECASE)
_GRIB2_LOCAL = re.compile(r"prodType 192, cat (\d+), subcat (\d+)", re.IGNORECASE)
_AOD550_TEXT = re.compile(r"aod550|total aerosol optical depth at 550 ?nm", re.IGNORECASE)


@dataclass(frozen=True)
class GribField:
    """One GRIB message as GDAL exposes it (values float64, NaN where no data)."""

    band: int
    element: str
    comment: str
    unit: str
    values: np.ndarray
    geotransform: Tuple[float, ...]
    product_template: Optional[int] = None           # GRIB2 product definition template number
    template_values: Tuple[int, ...] = ()            # its assembled values (GDAL metadata)

    @property
    def aerosol_wavelength_nm(self) -> Optional[float]:
        """Wavelength of a GRIB2 aerosol optical property field (template 4.48), else None.

        Template 4.48 values: category, number, aerosol type, size interval (type, 2 x scale/value),
        wavelength interval type, scale factor and scaled value of the first wavelength (m).
        """
        v = self.template_values
        if self.product_template != 48 or len(v) < 11:
            return None
        return v[10] * 10.0 ** (-v[9]) * 1e9

    @property
    def local_parameter(self) -> Optional[Tuple[int, int]]:
        """(table, parameter) of an ECMWF local code GDAL could not name, else None."""
        m = _GRIB1_LOCAL.search(self.element)
        if m:
            return int(m.group(2)), int(m.group(1))
        m = _GRIB2_LOCAL.search(self.comment)
        if m:
            return int(m.group(1)), int(m.group(2))
        return None


def _int_or_none(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _ints(text: str) -> Tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split())
    except ValueError:
        return ()


def read_grib_fields(path: str) -> List[GribField]:
    """All messages of a GRIB file; ProductError naming it when GDAL cannot read it."""
    dataset = open_raster(path, "GRIB file", drivers=["GRIB"])
    fields = []
    geotransform = tuple(dataset.GetGeoTransform())
    window = (0, 0, dataset.RasterYSize, dataset.RasterXSize)
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        with quiet_gdal():
            metadata = band.GetMetadata() or {}
        values = read_window(dataset, path, index, window).astype(np.float64)
        nodata = band.GetNoDataValue()
        if nodata is not None:
            values[values == nodata] = np.nan
        fields.append(GribField(index, metadata.get("GRIB_ELEMENT", ""), metadata.get("GRIB_COMMENT", ""),
                                metadata.get("GRIB_UNIT", ""), values, geotransform,
                                _int_or_none(metadata.get("GRIB_PDS_PDTN")),
                                _ints(metadata.get("GRIB_PDS_TEMPLATE_ASSEMBLED_VALUES", ""))))
    if not fields:
        raise ProductError("GRIB file holds no field", path)
    return fields


def _ecmwf_quantity(field: GribField) -> Optional[str]:
    element = field.element.strip().upper()
    for quantity, names in _ECMWF_ELEMENTS.items():
        if element in names:
            return quantity
    return _ECMWF_PARAMS.get(field.local_parameter or (0, 0))


def identify_ecmwf_fields(fields: Sequence[GribField], path: str = "") -> Dict[str, GribField]:
    """Water vapour, pressure and ozone fields by name, else by Sen2Cor's band order."""
    found: Dict[str, GribField] = {}
    claimed = set()
    for field in fields:
        quantity = _ecmwf_quantity(field)
        if quantity and quantity not in found:       # first message of each wins (earliest step)
            found[quantity] = field
            claimed.add(field.band)
    for position, quantity in enumerate(_ECMWF_ORDER, start=1):
        if quantity in found or position > len(fields):
            continue
        field = fields[position - 1]
        if field.band in claimed or _ecmwf_quantity(field):
            continue
        log.warning("%s: %s identified by band order (band %d, GRIB_ELEMENT '%s')",
                    path, quantity.replace("_", " "), position, field.element)
        found[quantity] = field
        claimed.add(field.band)
    return found


def kg_m2_to_dobson(values: np.ndarray) -> np.ndarray:
    """Total column ozone kg m-2 -> Dobson units (Sen2Cor: value / 6.428e-3 * 300)."""
    return values / OZONE_KG_M2_AT_300_DU * 300.0


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


@dataclass(frozen=True)
class EcmwfFields:
    water_vapour_cm: Optional[np.ndarray]
    pressure_hpa: Optional[np.ndarray]
    ozone_du: Optional[np.ndarray]
    geotransform: Tuple[float, ...]


def read_ecmwft(path: str) -> EcmwfFields:
    """AUX_ECMWFT fields in Sen2Cor's units (cm, hPa, DU); ProductError if none is found."""
    fields = read_grib_fields(path)
    found = identify_ecmwf_fields(fields, path)
    if not found:
        raise ProductError("no water vapour, pressure or ozone field found in the ECMWF GRIB file", path)
    wv = found.get(_WATER_VAPOUR)
    msl = found.get(_PRESSURE)
    o3 = found.get(_OZONE)
    pressure = None
    if msl is not None:
        # Pa -> hPa; a field already in hPa (values of ~1000, not ~100000) is left as is
        pressure = msl.values / 100.0 if _median(msl.values) > 2000.0 else msl.values.copy()
    ozone = None
    if o3 is not None:
        # kg m-2 -> DU (values of ~0.006); a field already in DU (~300) is left as is
        ozone = kg_m2_to_dobson(o3.values) if _median(o3.values) < 1.0 else o3.values.copy()
    return EcmwfFields(
        water_vapour_cm=wv.values / 10.0 if wv is not None else None,
        pressure_hpa=pressure,
        ozone_du=ozone,
        geotransform=fields[0].geotransform,
    )


def identify_aod550(fields: Sequence[GribField]) -> Optional[GribField]:
    """The CAMS total aerosol optical depth at 550 nm: by name, ECMWF GRIB1 code 210207, or a GRIB2
    aerosol optical thickness field (AOTK, template 4.48) of total aerosol (62000) at 550 nm."""
    for field in fields:
        wavelength = field.aerosol_wavelength_nm
        if wavelength is not None and field.element.upper() == "AOTK" and abs(wavelength - 550.0) < 0.5 \
                and field.template_values[2] == _TOTAL_AEROSOL:
            return field
        if _AOD550_TEXT.search(field.element) or _AOD550_TEXT.search(field.comment):
            return field
        if field.local_parameter == _AOD550_PARAM:
            return field
    return None


def read_camsfo(path: str) -> Tuple[np.ndarray, Tuple[float, ...]]:
    """AOD550 field of AUX_CAMSFO and its geotransform; ProductError if it holds none."""
    fields = read_grib_fields(path)
    field = identify_aod550(fields)
    if field is None:
        if len(fields) != 1:
            raise ProductError(f"no aod550 field among the {len(fields)} GRIB messages", path)
        log.warning("%s: single GRIB field '%s' taken as AOD550", path, fields[0].element)
        field = fields[0]
    return field.values, field.geotransform


_ECMWFT_NAME = re.compile(r"(^|_)AUX_ECMWFT($|_)")
_CAMSFO_NAME = re.compile(r"(^|_)AUX_CAMSFO($|_)")


def find_aux_files(names: Sequence[str]) -> Tuple[Optional[str], Optional[str]]:
    """(ECMWFT name, CAMSFO name) among AUX_DATA file names, short or 'S2A_OPER_AUX_ECMWFT_...'."""
    def first(pattern: re.Pattern) -> Optional[str]:
        hits = [n for n in sorted(names) if pattern.search(n) and not n.lower().endswith((".xml", ".aux"))]
        return hits[0] if hits else None
    return first(_ECMWFT_NAME), first(_CAMSFO_NAME)


def read_auxiliary(ecmwft_path: Optional[str], camsfo_path: Optional[str]) -> AuxiliaryData:
    """AuxiliaryData of a granule. An unreadable file does not stop reading the product (the
    fields may not be needed, e.g. with a fixed ozone content): its fields stay None and the
    problem is kept in `errors` (and logged) for the processing step that needs them."""
    errors: List[str] = []
    ecmwf: Optional[EcmwfFields] = None
    aod = aod_transform = None
    if ecmwft_path:
        try:
            ecmwf = read_ecmwft(ecmwft_path)
        except ProductError as exc:
            errors.append(str(exc))
    if camsfo_path:
        try:
            aod, aod_transform = read_camsfo(camsfo_path)
        except ProductError as exc:
            errors.append(str(exc))
    for message in errors:
        log.warning("%s", message)
    return AuxiliaryData(
        ecmwft_path=ecmwft_path,
        camsfo_path=camsfo_path,
        water_vapour_cm=ecmwf.water_vapour_cm if ecmwf else None,
        pressure_hpa=ecmwf.pressure_hpa if ecmwf else None,
        ozone_du=ecmwf.ozone_du if ecmwf else None,
        aod550=aod,
        ecmwft_geotransform=ecmwf.geotransform if ecmwf else None,
        camsfo_geotransform=aod_transform,
        errors=tuple(errors),
    )
