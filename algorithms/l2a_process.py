"""L2A processing: scene classification and atmospheric correction (`L2A_Process`)."""
from qgis.core import QgsProcessingParameterBoolean, QgsProcessingParameterEnum

from .base import Sen2CorAlgorithmBase
from .qgis_compat import set_advanced

RESOLUTIONS = ("ALL", "10", "20", "60")


class L2AProcessAlgorithm(Sen2CorAlgorithmBase):
    """Full Level-2A processing with every field of the GIPP files as a parameter."""

    RESOLUTION = "RESOLUTION"
    SC_COG = "SC_COG"
    RASTER_OUTPUTS = (Sen2CorAlgorithmBase.BOA_10M, Sen2CorAlgorithmBase.BOA_20M,
                      Sen2CorAlgorithmBase.TCI, Sen2CorAlgorithmBase.SCL,
                      Sen2CorAlgorithmBase.AOT, Sen2CorAlgorithmBase.WVP)
    OFFERS_BOA = True

    def name(self):
        return "l2a_process"

    def displayName(self):  # noqa: N802
        return self.tr("L2A processing (Sen2Cor)")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Converts a Sentinel-2 Level-1C product into a Level-2A product: scene classification, "
            "aerosol optical thickness, water vapour and surface reflectance, as ESA's Sen2Cor "
            "2.11 does (same configuration files, same product).\n\n"
            "Input: a .SAFE folder, a .zip of one, or its MTD_MSIL1C.xml. Output folder not set: "
            "the product is written beside the input.\n\n"
            "Configuration: the fields below are the parameters of L2A_GIPP.xml (and, among the "
            "advanced parameters, of the calibration files). A field left unset takes the value "
            "of the GIPP file (SEN2COR_HOME/cfg/L2A_GIPP.xml or the file given); a field with a "
            "value overrides the file for this run. Provider settings (default DEM folder, "
            "threads) apply where the dialog leaves the field unset.\n\n"
            "Outputs: the product folder, the 10 m and 20 m surface-reflectance stacks (VRT, "
            "reflectance as Float32), TCI, SCL, AOT and WVP, for use in models. From the toolbox, "
            "TCI and SCL (with Sen2Cor's colours) are added to the project in a group named "
            "after the product.")

    def add_mode_parameters(self):
        self.addParameter(QgsProcessingParameterEnum(
            self.RESOLUTION, self.tr("Resolution (ALL: 20 m, then 10 m, and 60 m from 20 m)"),
            list(RESOLUTIONS), False, "ALL", False, True))
        self.addParameter(set_advanced(QgsProcessingParameterBoolean(
            self.SC_COG, self.tr("Write the SCL as Cloud-Optimized GeoTIFF"), False, True)))

    def mode_options(self, parameters, context):
        text = self.parameterAsEnumString(parameters, self.RESOLUTION, context) or "ALL"
        return {"resolution": None if text == "ALL" else int(text),
                "sc_cog": self.parameterAsBool(parameters, self.SC_COG, context)}
