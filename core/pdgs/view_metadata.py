"""MTD_MSIL1C.xml for the compact SAFE view of one PDGS tile (core.pdgs.safe_view).

A tile in the ground segment has no product metadata: its values are in the L1C datastrip
(datatake, baseline, radiometry, spectral information) and the tile metadata (geocoding, cloud
percentage). This module writes them in the element paths of §8.3 so that the toolbox reader
(core.product.l1c_reader) reads the tile exactly as it reads a user product. Values that only
user products state are given their PSD defaults (special values NODATA 0 / SATURATED 65535,
display order B04/B03/B02) and the footprint is the tile's corner ring.
"""
from __future__ import annotations

import logging
from typing import Dict, List, Tuple

from lxml import etree
from osgeo import osr

from ..errors import ProductError
from ..product.l2a_xml import copied, find_local, findall_local, new_root, psd_namespace, section, sub
from ..product.model import TileGeocoding
from .datastrip_info import DatastripInfo

log = logging.getLogger(__name__)
SCHEMA = "User_Product_Level-1C.xsd"
IMAGE_FORMATS = {".jp2": "JPEG2000", ".tif": "GEOTIFF"}


def build_view_metadata(ds: DatastripInfo, tile, safe_name: str,
                        image_entries: Dict[str, str], image_format: str) -> etree._Element:
    """The MTD_MSIL1C.xml tree of a view. `tile`: core.product.metadata_tile.TileMetadata;
    `image_entries`: band -> SAFE-relative IMAGE_FILE entry (no extension)."""
    root = new_root(psd_namespace(ds.psd, SCHEMA), "Level-1C_User_Product")
    general = section(root, "General_Info")
    info = sub(general, "Product_Info")
    sub(info, "PRODUCT_START_TIME", ds.datatake_sensing_start)
    sub(info, "PRODUCT_STOP_TIME", ds.sensing_stop or ds.datatake_sensing_start)
    sub(info, "PRODUCT_URI", safe_name)
    sub(info, "PROCESSING_LEVEL", "Level-1C")
    sub(info, "PRODUCT_TYPE", "S2MSI1C")
    sub(info, "PROCESSING_BASELINE", ds.processing_baseline)
    generated = ds.processing_time or tile.archiving_time or tile.sensing_time
    sub(info, "GENERATION_TIME", generated.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    datatake = sub(info, "Datatake", datatakeIdentifier=ds.datatake_identifier)
    sub(datatake, "SPACECRAFT_NAME", ds.spacecraft_name)
    sub(datatake, "DATATAKE_TYPE", ds.datatake_type)
    sub(datatake, "DATATAKE_SENSING_START", ds.datatake_sensing_start)
    sub(datatake, "SENSING_ORBIT_NUMBER", ds.sensing_orbit_number)
    sub(datatake, "SENSING_ORBIT_DIRECTION", ds.sensing_orbit_direction)
    sub(sub(info, "Query_Options", completeSingleTile="true"), "PRODUCT_FORMAT", "SAFE_COMPACT")
    granule = sub(sub(sub(info, "Product_Organisation"), "Granule_List"), "Granule",
                  datastripIdentifier=ds.datastrip_id, granuleIdentifier=tile.tile_id,
                  imageFormat=image_format)
    for entry in image_entries.values():
        sub(granule, "IMAGE_FILE", entry)
    _image_characteristics(sub(general, "Product_Image_Characteristics"), ds)
    footprint = section(root, "Geometric_Info")
    ring = " ".join(f"{lat:.9f} {lon:.9f}" for lat, lon in tile_footprint(tile.geocoding))
    fp = sub(sub(footprint, "Product_Footprint"), "Product_Footprint")
    sub(sub(fp, "Global_Footprint"), "EXT_POS_LIST", ring)
    if tile.cloudy_pixel_percentage is not None:
        quality = section(root, "Quality_Indicators_Info")
        sub(quality, "Cloud_Coverage_Assessment", tile.cloudy_pixel_percentage)
    return root


def _image_characteristics(pic: etree._Element, ds: DatastripInfo) -> None:
    """Special values and display order (PSD defaults), then the datastrip's radiometry."""
    for text, index in (("NODATA", 0), ("SATURATED", 65535)):
        special = sub(pic, "Special_Values")
        sub(special, "SPECIAL_VALUE_TEXT", text)
        sub(special, "SPECIAL_VALUE_INDEX", index)
    order = sub(pic, "Image_Display_Order")
    for channel, band in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
        sub(order, channel, band)
    radiometric = find_local(ds.root, "Image_Data_Info/Radiometric_Info")
    if radiometric is None:
        raise ProductError("the L1C datastrip metadata has no Image_Data_Info/Radiometric_Info", ds.path)
    for child in radiometric:
        if isinstance(child.tag, str):
            pic.append(copied(child))
    infos = findall_local(pic, "Spectral_Information_List/Spectral_Information")
    if infos and not any(find_local(i, "Spectral_Response/VALUES") is not None for i in infos):
        log.warning("%s states no spectral responses: the atmospheric correction uses the stored "
                    "responses of %s", ds.path, ds.spacecraft)
    for band_info in findall_local(ds.root, ".//Spectral_Band_Info/Spectral_Band_Information"):
        gain = find_local(band_info, "PHYSICAL_GAINS")
        if gain is not None and band_info.get("bandId") is not None:
            sub(pic, "PHYSICAL_GAINS", (gain.text or "").strip(), bandId=band_info.get("bandId"))


def tile_footprint(geocoding: TileGeocoding) -> List[Tuple[float, float]]:
    """(lat, lon) ring UL, UR, LR, LL, UL of the tile's 10 m grid (as user products write it)."""
    res = min(geocoding.sizes)
    rows, cols = geocoding.sizes[res]
    ulx, uly, xdim, ydim = geocoding.geopositions[res]
    xs = [ulx, ulx + cols * xdim, ulx + cols * xdim, ulx, ulx]
    ys = [uly, uly, uly + rows * ydim, uly + rows * ydim, uly]
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(int(geocoding.epsg))
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(utm, wgs84)
    ring = []
    for x, y in zip(xs, ys):
        lon, lat, _ = transform.TransformPoint(float(x), float(y))
        ring.append((lat, lon))
    return ring
