"""Create the Level-2A product tree only (`L2A_Process --cr_only`)."""
from .base import Sen2CorAlgorithmBase
from .gipp_parameters import select_parameters


class CreateProductTreeAlgorithm(Sen2CorAlgorithmBase):
    """The complete L2A SAFE tree and metadata, without processing."""

    def name(self):
        return "create_product_tree"

    def displayName(self):  # noqa: N802
        return self.tr("Create L2A product tree only")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Creates the complete Level-2A product tree of a Sentinel-2 Level-1C product -- "
            "metadata (MTD_MSIL2A.xml, MTD_TL.xml, MTD_DS.xml, L2A_QUALITY.xml, manifest.safe), "
            "quality masks and auxiliary files taken over from the L1C, empty image folders -- "
            "without processing, as 'L2A_Process --cr_only' does.\n\n"
            "The product appears atomically in the output folder (beside the input when not "
            "set); an existing product is never overwritten.")

    def gipp_selection(self):
        # the tree uses the product DOI of L2A_GIPP.xml; the rest of the GIPP needs processing
        return select_parameters(names=("product_doi",))

    def mode_options(self, parameters, context):
        return {"cr_only": True}
