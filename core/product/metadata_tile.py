"""MTD_TL.xml: tile metadata (geocoding, sun and viewing angles, quality-mask list).

Works on the bytes of a bare file, like `metadata_product`. Old baselines (02.04, 02.05) write
the tile file in the psd-12 namespace even inside compact products, so the namespace is not
checked here. Angle grids are returned as the product states them (no Sen2Cor clipping: that is
the atmospheric correction's business); per-detector view grids are also merged per band.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .metadata_common import MetadataDoc
from .metadata_product import check_level_root
from .model import BAND_NAMES, RESOLUTIONS, AngleGrid, TileGeocoding, band_name

_TILE_IN_ID = re.compile(r"_T(\d{2}[A-Z]{3})_")
_ORBIT_IN_ID = re.compile(r"_A(\d{6})_")
_EPSG = re.compile(r"^EPSG:(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class MaskEntry:
    """One Pixel_Level_QI/MASK_FILENAME entry, as written (path relative to SAFE or bare name)."""

    mask_type: str          # 'MSK_DEFECT', 'MSK_CLASSI', ...
    band: Optional[str]     # 'B01'... ; None for band-independent masks (MSK_CLOUDS, MSK_CLASSI)
    filename: str


@dataclass(frozen=True)
class TileMetadata:
    """Everything MTD_TL.xml states that the processor or the L2A writer uses."""

    where: str
    psd_version: Optional[int]
    tile_id: str
    tile_number: str
    datastrip_id: str
    downlink_priority: Optional[str]
    sensing_time: datetime
    absolute_orbit: Optional[int]           # from TILE_ID ('_A007412_')
    archiving_centre: Optional[str]
    archiving_time: Optional[datetime]
    geocoding: TileGeocoding
    sun_angles: AngleGrid
    mean_sun_zenith: float
    mean_sun_azimuth: float
    viewing_angles_by_detector: Dict[Tuple[str, int], AngleGrid]
    viewing_angles: Dict[str, AngleGrid]    # per band, detectors merged
    mean_viewing_angles: Dict[str, Tuple[float, float]]
    masks: Tuple[MaskEntry, ...]
    pvi_filename: Optional[str]
    cloudy_pixel_percentage: Optional[float]
    degraded_msi_data_percentage: Optional[float]
    snow_pixel_percentage: Optional[float]

    def detectors(self, band: str) -> List[int]:
        """Detector ids with a view-angle grid for a band, ascending."""
        return sorted(d for b, d in self.viewing_angles_by_detector if b == band)


def merge_detector_grids(grids: Sequence[AngleGrid]) -> AngleGrid:
    """One grid from per-detector grids: at each node the value of the first detector (in the
    order given) that has both a zenith and an azimuth there; NaN where none has.

    Taking one detector's pair, never an average, matters at footprint seams: neighbouring
    detectors look from opposite sides, so their azimuths differ by up to ~180 degrees.
    """
    if not grids:
        raise ValueError("no grids to merge")
    zenith = np.stack([g.zenith for g in grids])
    azimuth = np.stack([g.azimuth for g in grids])
    valid = np.isfinite(zenith) & np.isfinite(azimuth)
    first = np.argmax(valid, axis=0)[np.newaxis]
    any_valid = valid.any(axis=0)
    merged_zen = np.where(any_valid, np.take_along_axis(zenith, first, axis=0)[0], np.nan)
    merged_az = np.where(any_valid, np.take_along_axis(azimuth, first, axis=0)[0], np.nan)
    return AngleGrid(merged_zen, merged_az, grids[0].row_step, grids[0].col_step)


def parse_tile_metadata(xml: bytes, where: str) -> TileMetadata:
    """Parse and check the bytes of an MTD_TL.xml file; `where` names it in errors."""
    doc = MetadataDoc(xml, where)
    check_level_root(doc, "Level-1C_Tile_ID", "MTD_TL.xml")
    gi = doc.node("General_Info")
    tile_id = doc.text("TILE_ID", gi)
    tile = _TILE_IN_ID.search(tile_id + "_")
    if not tile:
        raise doc.error(f"TILE_ID '{tile_id}' names no tile (_Tnnxxx_)")
    orbit = _ORBIT_IN_ID.search(tile_id)
    archiving = doc.node("Archiving_Info", gi, required=False)
    angles = doc.node("Geometric_Info/Tile_Angles")
    by_detector = _viewing_grids(doc, angles)
    qi = doc.node("Quality_Indicators_Info", required=False)
    content = doc.node("Image_Content_QI", qi, required=False) if qi is not None else None
    return TileMetadata(
        where=doc.where,
        psd_version=doc.psd_version,
        tile_id=tile_id,
        tile_number=tile.group(1),
        datastrip_id=doc.text("DATASTRIP_ID", gi, required=False) or "",
        downlink_priority=doc.text("DOWNLINK_PRIORITY", gi, required=False),
        sensing_time=doc.time("SENSING_TIME", gi),
        absolute_orbit=int(orbit.group(1)) if orbit else None,
        archiving_centre=doc.text("ARCHIVING_CENTRE", archiving, required=False) if archiving is not None else None,
        archiving_time=doc.time("ARCHIVING_TIME", archiving, required=False) if archiving is not None else None,
        geocoding=_geocoding(doc),
        sun_angles=_angle_grid(doc, doc.node("Sun_Angles_Grid", angles), "Sun_Angles_Grid"),
        mean_sun_zenith=doc.float("Mean_Sun_Angle/ZENITH_ANGLE", angles),
        mean_sun_azimuth=doc.float("Mean_Sun_Angle/AZIMUTH_ANGLE", angles),
        viewing_angles_by_detector=by_detector,
        viewing_angles=_merge_per_band(by_detector),
        mean_viewing_angles=_mean_viewing(doc, angles),
        masks=_masks(doc, qi),
        pvi_filename=doc.text("PVI_FILENAME", qi, required=False) if qi is not None else None,
        cloudy_pixel_percentage=_optional_float(doc, content, "CLOUDY_PIXEL_PERCENTAGE"),
        degraded_msi_data_percentage=_optional_float(doc, content, "DEGRADED_MSI_DATA_PERCENTAGE"),
        snow_pixel_percentage=_optional_float(doc, content, "SNOW_PIXEL_PERCENTAGE"),
    )


def _optional_float(doc: MetadataDoc, parent, path: str) -> Optional[float]:
    return doc.float(path, parent, required=False) if parent is not None else None


def _geocoding(doc: MetadataDoc) -> TileGeocoding:
    geo = doc.node("Geometric_Info/Tile_Geocoding")
    code = doc.text("HORIZONTAL_CS_CODE", geo)
    m = _EPSG.match(code)
    if not m:
        raise doc.error(f"HORIZONTAL_CS_CODE '{code}' is not of the form EPSG:nnnnn")
    sizes = {}
    for element in doc.nodes("Size", geo):
        res = _resolution(doc, element)
        sizes[res] = (doc.int("NROWS", element), doc.int("NCOLS", element))
    positions = {}
    for element in doc.nodes("Geoposition", geo):
        res = _resolution(doc, element)
        positions[res] = tuple(doc.float(k, element) for k in ("ULX", "ULY", "XDIM", "YDIM"))
    for res in RESOLUTIONS:
        if res not in sizes:
            raise doc.error(f"Tile_Geocoding has no Size for {res} m")
        if res not in positions:
            raise doc.error(f"Tile_Geocoding has no Geoposition for {res} m")
        if min(sizes[res]) <= 0:
            raise doc.error(f"Tile_Geocoding Size for {res} m is {sizes[res]}, must be positive")
    return TileGeocoding(
        cs_name=doc.text("HORIZONTAL_CS_NAME", geo, required=False) or "",
        epsg=int(m.group(1)),
        sizes=sizes,
        geopositions=positions,  # type: ignore[arg-type]
    )


def _resolution(doc: MetadataDoc, element) -> int:
    res = doc.attr_int(element, "resolution")
    if res not in RESOLUTIONS:
        raise doc.error(f"unexpected resolution {res} in Tile_Geocoding")
    return res


def _values(doc: MetadataDoc, component, what: str) -> np.ndarray:
    rows = [(e.text or "").split() for e in doc.nodes("Values_List/VALUES", component)]
    if not rows or not rows[0]:
        raise doc.error(f"{what} has no Values_List/VALUES")
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise doc.error(f"{what} rows of Values_List have different lengths")
    try:
        return np.array(rows, dtype=np.float64)   # parses 'NaN' as well
    except ValueError:
        raise doc.error(f"{what} Values_List holds a value that is not a number") from None


def _angle_grid(doc: MetadataDoc, grid, what: str) -> AngleGrid:
    zenith_node = doc.node("Zenith", grid)
    azimuth_node = doc.node("Azimuth", grid)
    zenith = _values(doc, zenith_node, f"{what}/Zenith")
    azimuth = _values(doc, azimuth_node, f"{what}/Azimuth")
    if zenith.shape != azimuth.shape:
        raise doc.error(f"{what}: zenith grid {zenith.shape} and azimuth grid {azimuth.shape} differ")
    return AngleGrid(
        zenith=zenith,
        azimuth=azimuth,
        row_step=doc.float("ROW_STEP", zenith_node),
        col_step=doc.float("COL_STEP", zenith_node),
    )


def _viewing_grids(doc: MetadataDoc, angles) -> Dict[Tuple[str, int], AngleGrid]:
    grids: Dict[Tuple[str, int], AngleGrid] = {}
    for element in doc.nodes("Viewing_Incidence_Angles_Grids", angles):
        index = doc.attr_int(element, "bandId")
        if not 0 <= index < len(BAND_NAMES):
            raise doc.error(f"Viewing_Incidence_Angles_Grids bandId {index} out of range")
        detector = doc.attr_int(element, "detectorId")
        key = (band_name(index), detector)
        grids[key] = _angle_grid(doc, element, f"Viewing_Incidence_Angles_Grids bandId={index} detectorId={detector}")
    return dict(sorted(grids.items(), key=lambda kv: (BAND_NAMES.index(kv[0][0]), kv[0][1])))


def _merge_per_band(by_detector: Dict[Tuple[str, int], AngleGrid]) -> Dict[str, AngleGrid]:
    merged = {}
    for band in BAND_NAMES:
        grids = [g for (b, _), g in by_detector.items() if b == band]   # detectors ascending
        if grids:
            merged[band] = merge_detector_grids(grids)
    return merged


def _mean_viewing(doc: MetadataDoc, angles) -> Dict[str, Tuple[float, float]]:
    means = {}
    for element in doc.nodes("Mean_Viewing_Incidence_Angle_List/Mean_Viewing_Incidence_Angle", angles):
        index = doc.attr_int(element, "bandId")
        if not 0 <= index < len(BAND_NAMES):
            raise doc.error(f"Mean_Viewing_Incidence_Angle bandId {index} out of range")
        means[band_name(index)] = (doc.float("ZENITH_ANGLE", element), doc.float("AZIMUTH_ANGLE", element))
    return {b: means[b] for b in BAND_NAMES if b in means}


def _masks(doc: MetadataDoc, qi) -> Tuple[MaskEntry, ...]:
    if qi is None:
        return ()
    entries = []
    for element in doc.nodes("Pixel_Level_QI/MASK_FILENAME", qi):
        filename = (element.text or "").strip()
        if not filename:
            continue
        band = None
        if element.get("bandId") is not None:
            index = doc.attr_int(element, "bandId")
            if not 0 <= index < len(BAND_NAMES):
                raise doc.error(f"MASK_FILENAME bandId {index} out of range")
            band = band_name(index)
        entries.append(MaskEntry(element.get("type", ""), band, filename))
    return tuple(entries)
