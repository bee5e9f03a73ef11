"""XML writers of the sample product: MTD_MSIL1C.xml, MTD_TL.xml, MTD_DS.xml, manifest.safe,
INSPIRE.xml, the QI reports, HTML/ and rep_info/.

Structure and element paths follow real products (PSD 14; SEN2COR_REFERENCE §8): the baseline
05.09 product metadata of tile 34UDD and the baseline 02.06 one of 35VNE for MTD_MSIL1C, the
baseline 02.07 tile metadata of 23LLF for MTD_TL (angle grids), GDAL's baseline 05.09 test tree
for the 04.00+ mask list and manifest. Everything is written by this code (lxml); no file is
copied. Baseline-dependent parts: RADIO_ADD_OFFSET list, PRODUCT_DOI and REFERENCE_BAND
(>= 04.00), raster (.jp2, >= 04.00) or GML masks, AUX_CAMSFO (>= 04.00), manifest checksums
(SHA3-256 from 05.00 as in real 05.xx products, MD5 before).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from lxml import etree

from .spectra import BANDS

PSD = "https://psd-14.sentinel2.eo.esa.int/PSD/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NATIVE = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10,
          "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20}
# Nominal physical gains (DN per W m-2 sr-1 um-1), typical of recent products.
PHYSICAL_GAINS = (3.97, 3.81, 4.24, 4.78, 5.18, 5.09, 4.77, 6.82, 5.76, 9.37, 56.5, 37.2, 108.7)


def t_iso(dt: datetime, digits: int = 3) -> str:
    """2023-04-12T09:54:40.762Z (digits = fractional second digits)."""
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        base += "." + f"{dt.microsecond:06d}"[:digits]
    return base + "Z"


def t_compact(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%S")


@dataclass
class Naming:
    """Names and instants of one product (compact naming, SEN2COR_REFERENCE §8.2)."""

    spacecraft: str                 # S2B
    spacecraft_name: str            # Sentinel-2B
    baseline: str                   # 05.09
    tile: str                       # 34UDD
    relative_orbit: int
    absolute_orbit: int
    datatake_start: datetime
    datastrip_start: datetime
    datastrip_stop: datetime
    tile_sensing: datetime
    generation: datetime
    centre: str                     # 2BPS

    @property
    def n_baseline(self) -> str:
        return "N" + self.baseline.replace(".", "")

    @property
    def product_name(self) -> str:
        return (f"{self.spacecraft}_MSIL1C_{t_compact(self.datatake_start)}_{self.n_baseline}_"
                f"R{self.relative_orbit:03d}_T{self.tile}_{t_compact(self.generation)}.SAFE")

    @property
    def granule_dir(self) -> str:
        return f"L1C_T{self.tile}_A{self.absolute_orbit:06d}_{t_compact(self.datastrip_start)}"

    @property
    def datastrip_dir(self) -> str:
        return f"DS_{self.centre}_{t_compact(self.generation)}_S{t_compact(self.datastrip_start)}"

    @property
    def file_prefix(self) -> str:
        return f"T{self.tile}_{t_compact(self.datatake_start)}"

    @property
    def tile_id(self) -> str:
        return (f"{self.spacecraft}_OPER_MSI_L1C_TL_{self.centre}_{t_compact(self.generation)}_"
                f"A{self.absolute_orbit:06d}_T{self.tile}_N{self.baseline}")

    @property
    def datastrip_id(self) -> str:
        return (f"{self.spacecraft}_OPER_MSI_L1C_DS_{self.centre}_{t_compact(self.generation)}_"
                f"S{t_compact(self.datastrip_start)}_N{self.baseline}")

    @property
    def datatake_id(self) -> str:
        return (f"G{self.spacecraft}_{t_compact(self.datatake_start)}_{self.absolute_orbit:06d}_"
                f"N{self.baseline}")

    @property
    def has_offset(self) -> bool:
        return float(self.baseline) >= 4.0


@dataclass
class BandInfo:
    name: str
    first_nm: int
    response: Sequence[float]
    solar_irradiance: float
    offset: int

    @property
    def last_nm(self) -> int:
        return self.first_nm + len(self.response) - 1

    @property
    def central_nm(self) -> float:
        wl = self.first_nm + np.arange(len(self.response))
        r = np.asarray(self.response, dtype=np.float64)
        return float(round((wl * r).sum() / r.sum(), 1))


@dataclass
class TileInfo:
    epsg: int
    cs_name: str
    ulx: float
    uly: float
    sizes: Dict[int, Tuple[int, int]]          # res -> (nrows, ncols)


# ------------------------------------------------------------------------------------- helpers
def _el(parent, tag: str, text=None, **attrs):
    e = etree.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if text is not None:
        e.text = str(text)
    return e


def _root(name: str, xsd: str):
    root = etree.Element("{%s}%s" % (PSD + xsd, name), nsmap={"n1": PSD + xsd, "xsi": NS_XSI})
    root.set("{%s}schemaLocation" % NS_XSI, PSD + xsd)
    return root


def _n1(root, name: str, **attrs):
    return etree.SubElement(root, "{%s}%s" % (root.nsmap["n1"], name),
                            {k: str(v) for k, v in attrs.items()})


def _write(path: Path, root) -> None:
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=False,
                                    pretty_print=True))


def _fmt(v: float, digits: int = 8) -> str:
    return f"{v:.{digits}g}"


def _quality_checks(parent):
    qcc = _el(parent, "Quality_Control_Checks")
    qi = _el(qcc, "Quality_Inspections")
    for check in ("FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY",
                  "RADIOMETRIC_QUALITY", "SENSOR_QUALITY"):
        _el(qi, "quality_check", "PASSED", checkType=check)
    _el(qcc, "Failed_Inspections")


def _quantification_and_spectra(parent, bands: List[BandInfo], u: float, with_offset: bool,
                                with_response: bool) -> None:
    """QUANTIFICATION_VALUE, offsets, U, E0 and spectral information: the same elements in
    MTD_MSIL1C.xml (with the responses) and MTD_DS.xml Radiometric_Info (without)."""
    _el(parent, "QUANTIFICATION_VALUE", 10000, unit="none")
    if with_offset:
        offsets = _el(parent, "Radiometric_Offset_List")
        for i, b in enumerate(bands):
            _el(offsets, "RADIO_ADD_OFFSET", b.offset, band_id=i)
    conv = _el(parent, "Reflectance_Conversion")
    _el(conv, "U", repr(float(u)))
    sil = _el(conv, "Solar_Irradiance_List")
    for i, b in enumerate(bands):
        _el(sil, "SOLAR_IRRADIANCE", f"{b.solar_irradiance:g}", bandId=i, unit="W/m²/µm")
    spl = _el(parent, "Spectral_Information_List")
    for i, b in enumerate(bands):
        si = _el(spl, "Spectral_Information", bandId=i, physicalBand="B" + b.name[1:].lstrip("0"))
        _el(si, "RESOLUTION", NATIVE[b.name])
        wl = _el(si, "Wavelength")
        _el(wl, "MIN", b.first_nm, unit="nm")
        _el(wl, "MAX", b.last_nm, unit="nm")
        _el(wl, "CENTRAL", f"{b.central_nm:g}", unit="nm")
        if with_response:
            sr = _el(si, "Spectral_Response")
            _el(sr, "STEP", 1, unit="nm")
            _el(sr, "VALUES", " ".join(_fmt(v) for v in b.response))


def _radiometry(parent, bands: List[BandInfo], u: float, with_offset: bool, reference_band: bool):
    """Special values ... PHYSICAL_GAINS, common to MTD_MSIL1C (Product_Image_Characteristics)."""
    for text, index in (("NODATA", 0), ("SATURATED", 65535)):
        sv = _el(parent, "Special_Values")
        _el(sv, "SPECIAL_VALUE_TEXT", text)
        _el(sv, "SPECIAL_VALUE_INDEX", index)
    order = _el(parent, "Image_Display_Order")
    _el(order, "RED_CHANNEL", 3)
    _el(order, "GREEN_CHANNEL", 2)
    _el(order, "BLUE_CHANNEL", 1)
    _quantification_and_spectra(parent, bands, u, with_offset, with_response=True)
    for i, gain in enumerate(PHYSICAL_GAINS):
        _el(parent, "PHYSICAL_GAINS", f"{gain:.8f}", bandId=i)
    if reference_band:
        _el(parent, "REFERENCE_BAND", 3)


# -------------------------------------------------------------------------------- MTD_MSIL1C
def write_product_metadata(path: Path, nm: Naming, bands: List[BandInfo], u: float,
                           footprint: Sequence[Tuple[float, float]], cloud_pct: float,
                           snow_pct: float) -> None:
    root = _root("Level-1C_User_Product", "User_Product_Level-1C.xsd")
    gi = _n1(root, "General_Info")
    pi = _el(gi, "Product_Info")
    _el(pi, "PRODUCT_START_TIME", t_iso(nm.datatake_start))
    _el(pi, "PRODUCT_STOP_TIME", t_iso(nm.datatake_start))
    _el(pi, "PRODUCT_URI", nm.product_name)
    _el(pi, "PROCESSING_LEVEL", "Level-1C")
    _el(pi, "PRODUCT_TYPE", "S2MSI1C")
    _el(pi, "PROCESSING_BASELINE", nm.baseline)
    if nm.has_offset:
        _el(pi, "PRODUCT_DOI", "https://doi.org/10.5270/S2_-742ikth")
    _el(pi, "GENERATION_TIME", t_iso(nm.generation, 6))
    _el(pi, "PREVIEW_IMAGE_URL", "Not applicable")
    _el(pi, "PREVIEW_GEO_INFO", "Not applicable")
    dt = _el(pi, "Datatake", datatakeIdentifier=nm.datatake_id)
    _el(dt, "SPACECRAFT_NAME", nm.spacecraft_name)
    _el(dt, "DATATAKE_TYPE", "INS-NOBS")
    _el(dt, "DATATAKE_SENSING_START", t_iso(nm.datatake_start))
    _el(dt, "SENSING_ORBIT_NUMBER", nm.relative_orbit)
    _el(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    qo = _el(pi, "Query_Options", completeSingleTile="true")
    _el(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    po = _el(pi, "Product_Organisation")
    gl = _el(po, "Granule_List")
    gr = _el(gl, "Granule", datastripIdentifier=nm.datastrip_id, granuleIdentifier=nm.tile_id,
             imageFormat="JPEG2000")
    for name in list(BANDS) + ["TCI"]:
        _el(gr, "IMAGE_FILE", f"GRANULE/{nm.granule_dir}/IMG_DATA/{nm.file_prefix}_{name}")
    pic = _el(gi, "Product_Image_Characteristics")
    _radiometry(pic, bands, u, nm.has_offset, nm.has_offset)

    geo = _n1(root, "Geometric_Info")
    pf = _el(geo, "Product_Footprint")
    pf2 = _el(pf, "Product_Footprint")
    gf = _el(pf2, "Global_Footprint")
    _el(gf, "EXT_POS_LIST", " ".join(f"{lat!r} {lon!r}" for lat, lon in footprint) + " ")
    _el(pf, "RASTER_CS_TYPE", "POINT")
    _el(pf, "PIXEL_ORIGIN", 1)
    crs = _el(geo, "Coordinate_Reference_System")
    _el(crs, "GEO_TABLES", "EPSG", version="1")
    _el(crs, "HORIZONTAL_CS_TYPE", "GEOGRAPHIC")

    aux = _n1(root, "Auxiliary_Data_Info")
    gipp = _el(aux, "GIPP_List")
    sat = nm.spacecraft
    for gtype, version in (("GIP_PROBAS", nm.baseline.replace(".", "").zfill(4)), ("GIP_ATMIMA", "0001"),
                           ("GIP_INVLOC", "0003"), ("GIP_LREXTR", "0001"), ("GIP_CLOINV", "0002"),
                           ("GIP_CLOPAR", "0001"), ("GIP_JP2KPA", "0006"), ("GIP_R2ABCA", "0097")):
        _el(gipp, "GIPP_FILENAME",
            f"{sat}_OPER_{gtype}_MPC__20230101T000000_V20230101T000000_21000101T000000_B00",
            type=gtype, version=version)
    _el(aux, "PRODUCTION_DEM_TYPE", "S2__OPER_DEM_GLOBEF_PDMC_19800101T000000_S19800101T000000")
    _el(aux, "IERS_BULLETIN_FILENAME",
        f"S2__OPER_AUX_UT1UTC_PDMC_{nm.datatake_start:%Y%m%d}T000000_V{nm.datatake_start:%Y%m%d}T000000_"
        f"{nm.datatake_start.year + 1}{nm.datatake_start:%m%d}T000000")
    _el(aux, "GRI_List")
    _el(aux, "ECMWF_DATA_REF",
        f"S2__OPER_AUX_ECMWFD_ADG__{nm.datatake_start:%Y%m%d}T000000_V{nm.datatake_start:%Y%m%d}T090000_"
        f"{nm.datatake_start:%Y%m%d}T210000")

    qii = _n1(root, "Quality_Indicators_Info")
    _el(qii, "Cloud_Coverage_Assessment", repr(round(float(cloud_pct), 10)))
    if nm.has_offset:
        _el(qii, "Snow_Coverage_Assessment", repr(round(float(snow_pct), 10)))
    tqa = _el(qii, "Technical_Quality_Assessment")
    _el(tqa, "DEGRADED_ANC_DATA_PERCENTAGE", "0.0")
    _el(tqa, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    _quality_checks(qii)
    _write(path, root)


# ------------------------------------------------------------------------------------ MTD_TL
def _values_list(parent, grid: np.ndarray, step: float, decimals: int):
    _el(parent, "COL_STEP", f"{step:g}", unit="m")
    _el(parent, "ROW_STEP", f"{step:g}", unit="m")
    vl = _el(parent, "Values_List")
    for row in grid:
        _el(vl, "VALUES", " ".join("NaN" if np.isnan(v) else f"{round(float(v), decimals):g}" for v in row))


def write_tile_metadata(path: Path, nm: Naming, tile: TileInfo, geo, masks: List[Tuple[str, Optional[int], str]],
                        pvi: str, cloud_pct: float, snow_pct: float) -> None:
    """`geo` is a geometry.SceneGeometry; masks = [(type, bandId or None, relative path)]."""
    root = _root("Level-1C_Tile_ID", "S2_PDI_Level-1C_Tile_Metadata.xsd")
    gi = _n1(root, "General_Info")
    _el(gi, "TILE_ID", nm.tile_id, metadataLevel="Brief")
    _el(gi, "DATASTRIP_ID", nm.datastrip_id, metadataLevel="Standard")
    _el(gi, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _el(gi, "SENSING_TIME", t_iso(nm.tile_sensing, 6), metadataLevel="Standard")
    ai = _el(gi, "Archiving_Info", metadataLevel="Expertise")
    _el(ai, "ARCHIVING_CENTRE", nm.centre)
    _el(ai, "ARCHIVING_TIME", t_iso(nm.generation, 6))

    gm = _n1(root, "Geometric_Info")
    tg = _el(gm, "Tile_Geocoding", metadataLevel="Brief")
    _el(tg, "HORIZONTAL_CS_NAME", tile.cs_name)
    _el(tg, "HORIZONTAL_CS_CODE", f"EPSG:{tile.epsg}")
    for res in (10, 20, 60):
        size = _el(tg, "Size", resolution=res)
        _el(size, "NROWS", tile.sizes[res][0])
        _el(size, "NCOLS", tile.sizes[res][1])
    for res in (10, 20, 60):
        gp = _el(tg, "Geoposition", resolution=res)
        _el(gp, "ULX", f"{tile.ulx:.0f}")
        _el(gp, "ULY", f"{tile.uly:.0f}")
        _el(gp, "XDIM", res)
        _el(gp, "YDIM", -res)
    ta = _el(gm, "Tile_Angles", metadataLevel="Standard")
    sag = _el(ta, "Sun_Angles_Grid")
    _values_list(_el(sag, "Zenith"), geo.sun_zenith, geo.grid_step_m, 4)
    _values_list(_el(sag, "Azimuth"), geo.sun_azimuth, geo.grid_step_m, 4)
    msa = _el(ta, "Mean_Sun_Angle")
    _el(msa, "ZENITH_ANGLE", repr(float(geo.mean_sun_zenith)), unit="deg")
    _el(msa, "AZIMUTH_ANGLE", repr(float(geo.mean_sun_azimuth)), unit="deg")
    for i, band in enumerate(BANDS):
        for det in geo.view.detectors[band]:
            vg = _el(ta, "Viewing_Incidence_Angles_Grids", bandId=i, detectorId=det)
            _values_list(_el(vg, "Zenith"), geo.view.zenith[band][det], geo.grid_step_m, 5)
            _values_list(_el(vg, "Azimuth"), geo.view.azimuth[band][det], geo.grid_step_m, 4)
    mvl = _el(ta, "Mean_Viewing_Incidence_Angle_List")
    for i, band in enumerate(BANDS):
        mv = _el(mvl, "Mean_Viewing_Incidence_Angle", bandId=i)
        _el(mv, "ZENITH_ANGLE", repr(float(geo.mean_view[band][0])), unit="deg")
        _el(mv, "AZIMUTH_ANGLE", repr(float(geo.mean_view[band][1])), unit="deg")

    qi = _n1(root, "Quality_Indicators_Info", metadataLevel="Standard")
    ic = _el(qi, "Image_Content_QI")
    _el(ic, "CLOUDY_PIXEL_PERCENTAGE", repr(round(float(cloud_pct), 10)))
    _el(ic, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    if nm.has_offset:
        _el(ic, "SNOW_PIXEL_PERCENTAGE", repr(round(float(snow_pct), 10)))
    plq = _el(qi, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    for mtype, band_id, rel in masks:
        attrs = {"type": mtype} if band_id is None else {"bandId": band_id, "type": mtype}
        _el(plq, "MASK_FILENAME", rel, **attrs)
    _el(qi, "PVI_FILENAME", pvi)
    _write(path, root)


# ------------------------------------------------------------------------------------ MTD_DS
def write_datastrip_metadata(path: Path, nm: Naming, bands: List[BandInfo], u: float,
                             geo) -> None:
    root = _root("Level-1C_DataStrip_ID", "S2_PDI_Level-1C_Datastrip_Metadata.xsd")
    gi = _n1(root, "General_Info")
    _el(gi, "DATASTRIP_ID", nm.datastrip_id, metadataLevel="Brief")
    _el(gi, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    dti = _el(gi, "Datatake_Info", datatakeIdentifier=nm.datatake_id, metadataLevel="Brief")
    _el(dti, "DATATAKE_TYPE", "INS-NOBS")
    _el(dti, "DATATAKE_SENSING_START", t_iso(nm.datatake_start))
    _el(dti, "SENSING_ORBIT_NUMBER", nm.relative_orbit)
    _el(dti, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    _el(dti, "SPACECRAFT_NAME", nm.spacecraft_name)
    _el(gi, "DATASTRIP_SENSING_START", t_iso(nm.datastrip_start, 6), metadataLevel="Brief")
    _el(gi, "DATASTRIP_SENSING_STOP", t_iso(nm.datastrip_stop, 6), metadataLevel="Brief")
    ai = _el(gi, "Archiving_Info", metadataLevel="Standard")
    _el(ai, "ARCHIVING_CENTRE", nm.centre)
    _el(ai, "ARCHIVING_TIME", t_iso(nm.generation, 6))
    pin = _el(gi, "Processing_Info", metadataLevel="Standard")
    _el(pin, "PROCESSING_CENTER", nm.centre)
    _el(pin, "UTC_DATE_TIME", t_iso(nm.generation, 6))
    _el(pin, "PROCESSING_BASELINE", nm.baseline)

    idi = _n1(root, "Image_Data_Info")
    sg = _el(idi, "Sensor_Configuration")
    _el(sg, "Acquisition_Configuration")
    ri = _el(idi, "Radiometric_Info", metadataLevel="Standard")
    _quantification_and_spectra(ri, bands, u, nm.has_offset, with_response=False)
    gh = _el(idi, "Geometric_Info")
    _el(gh, "RGM", "COMPUTED")
    qii = _n1(root, "Quality_Indicators_Info")
    _quality_checks(qii)
    _write(path, root)


# ----------------------------------------------------------------------------- QI reports etc.
def write_qi_report(path: Path, check: str, item: str, nm: Naming) -> None:
    """A small PASSED quality-check report (our own simplified structure)."""
    root = etree.Element("Earth_Explorer_File")
    hdr = _el(root, "Earth_Explorer_Header")
    fh = _el(hdr, "Fixed_Header")
    _el(fh, "File_Name", path.stem)
    _el(fh, "File_Description", f"Report of the {check} checks (synthetic sample product)")
    _el(fh, "Mission", nm.spacecraft)
    _el(fh, "File_Type", "REP_OLQCPA")
    src = _el(fh, "Source")
    _el(src, "Creation_Date", "UTC=" + nm.generation.strftime("%Y-%m-%dT%H:%M:%S"))
    db = _el(root, "Data_Block", type="xml")
    report = _el(db, "report", date=t_iso(nm.generation, 3))
    chk = _el(report, "checkList")
    _el(chk, "parentID", nm.tile_id if item == "tile" else nm.datastrip_id)
    _el(chk, "name", check)
    _el(chk, "item", name=nm.tile_id if item == "tile" else nm.datastrip_id, url="")
    ck = _el(chk, "check")
    _el(ck, "inspection", execution=t_iso(nm.generation, 3), id=check, item=check, name=check,
        priority="1", processingStatus="done", status="PASSED")
    _el(ck, "message", "all checks passed", contentType="text/plain")
    _write(path, root)


def write_inspire(path: Path, nm: Naming, bbox: Tuple[float, float, float, float]) -> None:
    """Minimal ISO 19139 INSPIRE record (west, east, south, north)."""
    gmd, gco = "http://www.isotc211.org/2005/gmd", "http://www.isotc211.org/2005/gco"
    root = etree.Element("{%s}MD_Metadata" % gmd, nsmap={"gmd": gmd, "gco": gco})

    def cs(parent, tag, text):
        e = etree.SubElement(parent, "{%s}%s" % (gmd, tag))
        etree.SubElement(e, "{%s}CharacterString" % gco).text = text
        return e

    cs(root, "fileIdentifier", nm.product_name[:-5])
    ds = etree.SubElement(root, "{%s}dateStamp" % gmd)
    etree.SubElement(ds, "{%s}Date" % gco).text = nm.generation.strftime("%Y-%m-%d")
    ident = etree.SubElement(etree.SubElement(root, "{%s}identificationInfo" % gmd),
                             "{%s}MD_DataIdentification" % gmd)
    cit = etree.SubElement(etree.SubElement(ident, "{%s}citation" % gmd), "{%s}CI_Citation" % gmd)
    cs(cit, "title", f"{nm.spacecraft_name} MSI Level-1C image of tile {nm.tile} (synthetic sample)")
    cs(ident, "abstract", "Synthetic Sentinel-2 Level-1C product generated by the sen2cor_qgis "
                          "test-data generator; not Copernicus data.")
    ext = etree.SubElement(etree.SubElement(ident, "{%s}extent" % gmd), "{%s}EX_Extent" % gmd)
    bb = etree.SubElement(etree.SubElement(ext, "{%s}geographicElement" % gmd),
                          "{%s}EX_GeographicBoundingBox" % gmd)
    for tag, v in zip(("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude",
                       "northBoundLatitude"), bbox):
        etree.SubElement(etree.SubElement(bb, "{%s}%s" % (gmd, tag)), "{%s}Decimal" % gco).text = f"{v:.6f}"
    _write(path, root)


def write_html(folder: Path, nm: Naming) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "UserProduct_index.html").write_text(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"
        "<body><h1>%s</h1><p>Synthetic Sentinel-2 Level-1C sample product (sen2cor_qgis test "
        "data). See MTD_MSIL1C.xml.</p></body></html>\n" % (nm.product_name, nm.product_name),
        encoding="utf-8")
    (folder / "UserProduct_index.xsl").write_text(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xsl:stylesheet version=\"1.0\" "
        "xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n  <xsl:template match=\"/\">"
        "<html><body><xsl:value-of select=\"//PRODUCT_URI\"/></body></html></xsl:template>\n"
        "</xsl:stylesheet>\n", encoding="utf-8")


def write_rep_info(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    xs = "http://www.w3.org/2001/XMLSchema"
    root = etree.Element("{%s}schema" % xs, nsmap={"xs": xs})
    root.set("targetNamespace", PSD + "User_Product_Level-1C.xsd")
    root.set("elementFormDefault", "unqualified")
    etree.SubElement(root, "{%s}annotation" % xs).append(etree.Comment(
        " Placeholder schema of the synthetic sample product (the ESA schema is not redistributed) "))
    el = etree.SubElement(root, "{%s}element" % xs, name="Level-1C_User_Product", type="xs:anyType")
    del el
    _write(folder / "S2_User_Product_Level-1C_Metadata.xsd", root)


# ---------------------------------------------------------------------------------- manifest
_MIME = {".xml": "text/xml", ".jp2": "application/octet-stream", ".gml": "application/xml",
         ".html": "octet", ".xsl": "octet", ".xsd": "text/xml"}


def file_checksum(path: Path, algorithm: str) -> str:
    h = hashlib.new("md5" if algorithm == "MD5" else "sha3_256")
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(safe: Path, nm: Naming, footprint: Sequence[Tuple[float, float]]) -> None:
    """XFDU manifest listing every file of the SAFE with size and checksum."""
    xfdu, safe_ns, gml = "urn:ccsds:schema:xfdu:1", "http://www.esa.int/safe/sentinel/1.1", "http://www.opengis.net/gml"
    algorithm = "SHA3-256" if float(nm.baseline) >= 5.0 else "MD5"
    X = "{%s}" % xfdu
    S = "{%s}" % safe_ns
    root = etree.Element(X + "XFDU", nsmap={"gml": gml, "safe": safe_ns, "xfdu": xfdu})
    root.set("version", "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l1c_user_product")
    ipm = etree.SubElement(root, "informationPackageMap")
    top = etree.SubElement(ipm, X + "contentUnit", dmdID="acquisitionPeriod platform", pdiID="processing",
                           textInfo="SENTINEL-2 MSI Level-1C User Product", unitType="Product_Level-1C")
    files = sorted(p for p in safe.rglob("*") if p.is_file() and p.name != "manifest.safe")
    objects = []
    for i, p in enumerate(files):
        rel = p.relative_to(safe).as_posix()
        obj_id = _object_id(rel, i)
        unit = etree.SubElement(top, X + "contentUnit", ID=obj_id + "_Unit",
                                unitType="Metadata Unit" if p.suffix == ".xml" else "Measurement Data Unit")
        etree.SubElement(unit, "dataObjectPointer", dataObjectID=obj_id)
        objects.append((obj_id, p, rel))
    ms = etree.SubElement(root, "metadataSection")

    def wrap(obj_id, category, classification, text_info):
        mo = etree.SubElement(ms, "metadataObject", ID=obj_id, category=category, classification=classification)
        mw = etree.SubElement(mo, "metadataWrap", mimeType="text/xml", textInfo=text_info,
                              vocabularyName="Sentinel-SAFE")
        return etree.SubElement(mw, "xmlData")

    ap = etree.SubElement(wrap("acquisitionPeriod", "DMD", "DESCRIPTION", "Acquisition Period"),
                          S + "acquisitionPeriod")
    etree.SubElement(ap, S + "startTime").text = t_iso(nm.datatake_start)
    orb = etree.SubElement(wrap("measurementOrbitReference", "DMD", "DESCRIPTION", "Orbit Reference"),
                           S + "orbitReference")
    etree.SubElement(orb, S + "orbitNumber", groundTrackDirection="descending", type="start").text = \
        f"{nm.absolute_orbit:06d}"
    etree.SubElement(orb, S + "relativeOrbitNumber", type="start").text = str(nm.relative_orbit)
    pl = etree.SubElement(wrap("platform", "DMD", "DESCRIPTION", "Platform Description"), S + "platform")
    etree.SubElement(pl, S + "nssdcIdentifier").text = {"S2A": "2015-028A", "S2B": "2017-013A",
                                                        "S2C": "2024-157A"}[nm.spacecraft]
    etree.SubElement(pl, S + "familyName").text = "SENTINEL"
    etree.SubElement(pl, S + "number").text = nm.spacecraft[1:]
    ins = etree.SubElement(pl, S + "instrument")
    etree.SubElement(ins, S + "familyName", abbreviation="MSI").text = "Multi-Spectral Instrument"
    etree.SubElement(wrap("processing", "PDI", "PROVENANCE", "Processing"), S + "processing",
                     name="Generation of Level-1C User Product", start=t_iso(nm.generation, 6))
    fs = etree.SubElement(wrap("measurementFrameSet", "DMD", "DESCRIPTION", "Frame Set"), S + "frameSet")
    fp = etree.SubElement(fs, S + "footPrint", srsName="http://www.opengis.net/gml/srs/epsg.xml#4326")
    etree.SubElement(fp, "{%s}coordinates" % gml).text = " ".join(f"{la!r} {lo!r}" for la, lo in footprint) + " "
    dos = etree.SubElement(root, "dataObjectSection")
    for obj_id, p, rel in objects:
        do = etree.SubElement(dos, "dataObject", ID=obj_id)
        bs = etree.SubElement(do, "byteStream", mimeType=_MIME.get(p.suffix, "application/octet-stream"),
                              size=str(p.stat().st_size))
        etree.SubElement(bs, "fileLocation", href="./" + rel, locatorType="URL")
        etree.SubElement(bs, "checksum", checksumName=algorithm).text = file_checksum(p, algorithm)
    _write(safe / "manifest.safe", root)


def _object_id(rel: str, index: int) -> str:
    name = rel.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    if rel == "MTD_MSIL1C.xml":
        return "S2_Level-1C_Product_Metadata"
    if rel == "INSPIRE.xml":
        return "INSPIRE_Metadata"
    if rel.endswith("/MTD_TL.xml"):
        return "S2_Level-1C_Tile1_Metadata"
    if rel.endswith("/MTD_DS.xml"):
        return "S2_Level-1C_Datastrip1_Metadata"
    if "/IMG_DATA/" in rel:
        band = stem.rsplit("_", 1)[-1]
        return f"IMG_DATA_Band_{band}_Tile1_Data"
    if "/AUX_DATA/" in rel:
        return {"AUX_ECMWFT": "ECMWF_Tile1_Data", "AUX_CAMSFO": "CAMS_Tile1_Data"}.get(stem, stem + "_Tile1_Data")
    if rel.startswith("GRANULE/") and "/QI_DATA/" in rel:
        return f"{stem}_Tile1_Data"
    if rel.startswith("DATASTRIP/"):
        return f"{stem}_Datastrip1_Data"
    return stem.replace(".", "_").replace("-", "_") + f"_{index}"
