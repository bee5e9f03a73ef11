"""Image_Content_QI of MTD_MSIL2A.xml and of the L2A MTD_TL.xml: names, order, formatting, updates.

The tree writer puts every element in place with empty text (a placeholder): `--cr_only` products
have no classification yet. Processing fills them with `update_image_content_qi`, which formats
values as Sen2Cor does (`%f` for percentages and means, `0.0` style for the accuracy placeholders)
and derives the cloud cover (classes 8 + 9 + 10) once its three parts are known. `pending_qi` lists
what is still empty, so a pipeline can assert that nothing was forgotten.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

from lxml import etree

from ..errors import ProductError
from .l2a_xml import find_local, local_name, parse_file, write_xml

# Order of MTD_MSIL2A.xml Quality_Indicators_Info/Image_Content_QI (reference §9.5).
PRODUCT_QI_ORDER: Tuple[str, ...] = (
    "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE", "NODATA_PIXEL_PERCENTAGE",
    "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "DARK_FEATURES_PERCENTAGE", "CLOUD_SHADOW_PERCENTAGE",
    "VEGETATION_PERCENTAGE", "NOT_VEGETATED_PERCENTAGE", "WATER_PERCENTAGE",
    "UNCLASSIFIED_PERCENTAGE", "MEDIUM_PROBA_CLOUDS_PERCENTAGE", "HIGH_PROBA_CLOUDS_PERCENTAGE",
    "THIN_CIRRUS_PERCENTAGE", "SNOW_ICE_PERCENTAGE", "RADIATIVE_TRANSFER_ACCURACY",
    "WATER_VAPOUR_RETRIEVAL_ACCURACY", "AOT_RETRIEVAL_ACCURACY", "AOT_RETRIEVAL_METHOD",
    "GRANULE_MEAN_AOT", "GRANULE_MEAN_WV", "OZONE_SOURCE", "OZONE_VALUE",
)
# Order of the L2A MTD_TL.xml Image_Content_QI (reference §9.6).
TILE_QI_ORDER: Tuple[str, ...] = (
    "CLOUDY_PIXEL_PERCENTAGE", "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE", "DEGRADED_MSI_DATA_PERCENTAGE",
) + PRODUCT_QI_ORDER[1:]

CLOUD_PARTS: Tuple[str, ...] = (
    "MEDIUM_PROBA_CLOUDS_PERCENTAGE", "HIGH_PROBA_CLOUDS_PERCENTAGE", "THIN_CIRRUS_PERCENTAGE",
)
ACCURACY_NAMES = ("RADIATIVE_TRANSFER_ACCURACY", "WATER_VAPOUR_RETRIEVAL_ACCURACY", "AOT_RETRIEVAL_ACCURACY")
TEXT_NAMES = ("AOT_RETRIEVAL_METHOD", "OZONE_SOURCE")
# Product-level and tile-level cloud cover, derived from CLOUD_PARTS.
PRODUCT_CLOUD_COVER = "Cloud_Coverage_Assessment"
TILE_CLOUD_COVER = "CLOUDY_PIXEL_PERCENTAGE"
PLACEHOLDER = ""


def format_qi_value(name: str, value: object) -> str:
    """Text of one QI value as Sen2Cor writes it: '%f' numbers, '0.0' accuracies, plain strings."""
    if name in TEXT_NAMES:
        return str(value)
    if isinstance(value, str):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProductError(f"QI value {name}={value!r} is not a number")
    if name in ACCURACY_NAMES:
        return repr(float(value))
    return "%f" % float(value)


def _qi_element(root: etree._Element) -> Tuple[etree._Element, Tuple[str, ...], Optional[etree._Element]]:
    kind = local_name(root)
    qi = find_local(root, "Quality_Indicators_Info/Image_Content_QI")
    if qi is None:
        raise ProductError(f"{kind} has no Quality_Indicators_Info/Image_Content_QI")
    if kind == "Level-2A_User_Product":
        return qi, PRODUCT_QI_ORDER, find_local(root, f"Quality_Indicators_Info/{PRODUCT_CLOUD_COVER}")
    if kind == "Level-2A_Tile_ID":
        return qi, TILE_QI_ORDER, find_local(qi, TILE_CLOUD_COVER)
    raise ProductError(f"not an L2A product or tile metadata file (root {kind})")


def apply_image_content_qi(root: etree._Element, values: Mapping[str, object]) -> None:
    """Fill Image_Content_QI values in a parsed L2A MTD_MSIL2A or MTD_TL tree (in memory)."""
    qi, order, cloud_cover = _qi_element(root)
    unknown = sorted(set(values) - set(order) - {PRODUCT_CLOUD_COVER})
    if unknown:
        raise ProductError(f"unknown Image_Content_QI names: {', '.join(unknown)}")
    for name, value in values.items():
        if name == PRODUCT_CLOUD_COVER:
            continue
        element = find_local(qi, name)
        if element is None:
            raise ProductError(f"Image_Content_QI/{name} missing in the metadata file")
        element.text = format_qi_value(name, value)
    if cloud_cover is not None:
        explicit = values.get(PRODUCT_CLOUD_COVER, values.get(TILE_CLOUD_COVER))
        if explicit is not None:
            cloud_cover.text = "%f" % float(explicit)  # type: ignore[arg-type]
        else:
            parts = [find_local(qi, n) for n in CLOUD_PARTS]
            if all(p is not None and p.text for p in parts):
                cloud_cover.text = "%f" % sum(float(p.text) for p in parts)  # type: ignore[union-attr]


def update_image_content_qi(mtd_path: Union[str, Path], values: Mapping[str, object]) -> Path:
    """Fill Image_Content_QI values of MTD_MSIL2A.xml or an L2A MTD_TL.xml on disk (atomic rewrite).

    `values` maps element names (PRODUCT_QI_ORDER / TILE_QI_ORDER) to numbers or strings; unknown
    names are refused. The cloud cover (Cloud_Coverage_Assessment, CLOUDY_PIXEL_PERCENTAGE) is set
    to the sum of the medium, high and cirrus percentages when all three are known.
    """
    root = parse_file(mtd_path)
    apply_image_content_qi(root, values)
    return write_xml(root, mtd_path)


def pending_qi(mtd_path: Union[str, Path]) -> List[str]:
    """Names of the QI elements (incl. the cloud cover) still holding the empty placeholder."""
    root = parse_file(mtd_path)
    qi, order, cloud_cover = _qi_element(root)
    pending = [n for n in order if not (find_local(qi, n) is not None and (find_local(qi, n).text or "").strip())]
    if cloud_cover is not None and not (cloud_cover.text or "").strip() and local_name(cloud_cover) not in pending:
        pending.append(local_name(cloud_cover))
    return pending


def qi_values(mtd_path: Union[str, Path]) -> Dict[str, str]:
    """Current Image_Content_QI texts (for tests and reports)."""
    root = parse_file(mtd_path)
    qi, order, _ = _qi_element(root)
    return {local_name(e): (e.text or "") for e in qi if isinstance(e.tag, str)}
