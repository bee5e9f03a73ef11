"""Raster outputs of a finished Level-2A product, for chaining and for loading into the project.

* `product_layers(product)`: paths of TCI, SCL, AOT and WVP, each at the finest resolution the
  product holds (names from `core.product.naming`, so they are exactly the product's files);
* `build_boa_stack(product, resolution, folder)`: one VRT per resolution stacking the surface
  reflectance bands as Float32 reflectance (digital numbers scaled with the product's
  BOA_QUANTIFICATION_VALUE and BOA_ADD_OFFSET, no-data -9999), with band names as descriptions,
  so that a model can compute indices from it directly.

The stacks are written beside the product, in `<product name>_BOA/BOA_<res>m.vrt` (the product
itself keeps Sen2Cor's layout untouched); their fixed file names give fixed layer names, which
raster-calculator expressions in models refer to ("BOA_10m@4").
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union
from xml.sax.saxutils import escape

from ..core.product import naming
from ..core.product.l2a_tree import MTD_PRODUCT, product_names
from ..core.product.l2a_xml import parse_file, text_of
from ..core.product.model import band_id
from ..core.raster.l2a_images import existing_image_path
from ..core.xmlsafe import local_name

PathLike = Union[str, Path]
DERIVED_OUTPUTS: Tuple[str, ...] = ("TCI", "SCL", "AOT", "WVP")
BOA_RESOLUTIONS: Tuple[int, ...] = (10, 20)
BOA_NODATA = -9999.0
_FINEST_FIRST = (10, 20, 60)


def boa_bands(resolution: int) -> Tuple[str, ...]:
    """Surface-reflectance bands of one resolution folder, in product order."""
    return tuple(layer for layer in naming.RESOLUTION_LAYERS[resolution]
                 if layer not in naming.DERIVED_LAYERS)


def layer_paths(product: PathLike, names: Optional[naming.L2ANames] = None) -> Dict[str, Dict[int, Path]]:
    """Every image path the product's naming gives, existing or not: {layer: {res: path}}."""
    product = Path(product)
    names = names or product_names(product)
    paths: Dict[str, Dict[int, Path]] = {}
    for res in _FINEST_FIRST:
        for layer in naming.RESOLUTION_LAYERS[res]:
            paths.setdefault(layer, {})[res] = product / names.image_relpath(layer, res)
    return paths


def product_layers(product: PathLike, names: Optional[naming.L2ANames] = None) -> Dict[str, Optional[str]]:
    """TCI, SCL, AOT, WVP: the finest existing file of each (None when the product has none)."""
    product = Path(product)
    names = names or product_names(product)
    found: Dict[str, Optional[str]] = {}
    for layer in DERIVED_OUTPUTS:
        found[layer] = None
        for res in sorted(naming.RESOLUTION_LAYERS):                  # finest first
            if layer not in naming.RESOLUTION_LAYERS[res]:
                continue
            path = existing_image_path(product, names, layer, res)   # also the SCL as COG (--sc_cog)
            if path is not None:
                found[layer] = str(path)
                break
    return found


def boa_stack_path(product: PathLike, resolution: int) -> Path:
    product = Path(product)
    stem = product.name[:-5] if product.name.upper().endswith(".SAFE") else product.name
    return product.parent / f"{stem}_BOA" / f"BOA_{int(resolution)}m.vrt"


def _scaling(product: Path) -> Tuple[float, Dict[int, float]]:
    """(BOA quantification value, {band id: additive offset}) from MTD_MSIL2A.xml."""
    root = parse_file(product / MTD_PRODUCT)
    chars = "General_Info/Product_Image_Characteristics"
    quant = float(text_of(root, f"{chars}/QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE",
                          "10000") or 10000)
    offsets: Dict[int, float] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and local_name(element) == "BOA_ADD_OFFSET":
            try:
                offsets[int(element.get("band_id"))] = float(element.text)
            except (TypeError, ValueError):
                continue
    return quant, offsets


def build_boa_stack(product: PathLike, resolution: int,
                    names: Optional[naming.L2ANames] = None) -> Optional[str]:
    """Write the reflectance VRT of one resolution; None when the product lacks its bands."""
    from osgeo import gdal

    product = Path(product)
    names = names or product_names(product)
    bands: List[Tuple[str, Path]] = [(b, product / names.image_relpath(b, resolution))
                                     for b in boa_bands(resolution)]
    if not bands or not all(path.is_file() for _, path in bands):
        return None
    first = gdal.Open(str(bands[0][1]))
    if first is None:
        return None
    xsize, ysize = first.RasterXSize, first.RasterYSize
    geotransform = ", ".join(repr(float(v)) for v in first.GetGeoTransform())
    srs = first.GetProjection()
    first = None
    quant, offsets = _scaling(product)
    lines = [f'<VRTDataset rasterXSize="{xsize}" rasterYSize="{ysize}">',
             f"  <SRS>{escape(srs)}</SRS>", f"  <GeoTransform>{geotransform}</GeoTransform>"]
    for index, (band, path) in enumerate(bands, start=1):
        offset = offsets.get(band_id(band), 0.0)
        lines += [
            f'  <VRTRasterBand dataType="Float32" band="{index}">',
            f"    <Description>{band}</Description>",
            f"    <NoDataValue>{BOA_NODATA!r}</NoDataValue>",
            "    <ComplexSource>",
            f'      <SourceFilename relativeToVRT="0">{escape(str(path))}</SourceFilename>',
            "      <SourceBand>1</SourceBand>",
            f'      <SrcRect xOff="0" yOff="0" xSize="{xsize}" ySize="{ysize}"/>',
            f'      <DstRect xOff="0" yOff="0" xSize="{xsize}" ySize="{ysize}"/>',
            f"      <ScaleOffset>{offset / quant!r}</ScaleOffset>",
            f"      <ScaleRatio>{1.0 / quant!r}</ScaleRatio>",
            "      <NODATA>0</NODATA>",
            "    </ComplexSource>",
            "  </VRTRasterBand>",
        ]
    lines.append("</VRTDataset>")
    target = boa_stack_path(product, resolution)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(target)
