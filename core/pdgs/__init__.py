"""PDGS operation modes of L2A_Process (reference §3.3): datastrip and tile processing.

In the ground segment a datastrip and its tiles are processed as separate jobs:
* `generate_datastrip` (--mode generate_datastrip) converts an L1C datastrip folder into the L2A
  datastrip folder DS_<centre>_<creation>_S<start> with its MTD_DS.xml;
* `process_tile` (--mode process_tile) turns one L1C tile folder into the L2A tile folder
  S2x_OPER_MSI_L2A_TL_<centre>_<creation>_A<orbit>_T<tile>_N<pb>, with the centres and the
  baseline of that L2A datastrip.

The science is the toolbox engine's own: a tile is presented to `core.pipeline.process_product`
as a compact SAFE view built in the work folder (links to the tile's files plus an
MTD_MSIL1C.xml made from the L1C datastrip and tile metadata, core.pdgs.safe_view), and the
granule of the resulting product becomes the tile folder. Nothing here imports qgis or PyQt.
"""
from .datastrip import generate_datastrip
from .tile import process_tile

__all__ = ["generate_datastrip", "process_tile"]
