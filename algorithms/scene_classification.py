"""Scene classification only (`L2A_Process --sc_only`, classic or evolution mode)."""
from qgis.core import QgsProcessingParameterBoolean, QgsProcessingParameterEnum

from .base import Sen2CorAlgorithmBase
from .gipp_parameters import select_parameters

RESOLUTIONS = ("20", "60")
MODES = ("EVOLUTION", "CLASSIC")


class SceneClassificationAlgorithm(Sen2CorAlgorithmBase):
    """The SCL map without atmospheric correction."""

    RESOLUTION = "RESOLUTION"
    SC_MODE = "SC_MODE"
    SC_COG = "SC_COG"
    RASTER_OUTPUTS = (Sen2CorAlgorithmBase.TCI, Sen2CorAlgorithmBase.SCL)

    def name(self):
        return "scene_classification"

    def displayName(self):  # noqa: N802
        return self.tr("Scene classification only")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Computes only the scene classification map (SCL) of a Sentinel-2 Level-1C product, "
            "at 20 m or 60 m, as 'L2A_Process --sc_only' does. EVOLUTION is the Sen2Cor 2.10/2.11 "
            "algorithm, CLASSIC the Sen2Cor 2.9 one (--sc_classic).\n\n"
            "Fields left unset take the value of the GIPP files; fields with a value override "
            "them for this run. The product holds the SCL, the TOA bands and the true-colour "
            "image (TCI); SCL (with Sen2Cor's colour table) and TCI are added to the project.")

    def gipp_selection(self):
        return select_parameters(atmospheric=False)

    def add_mode_parameters(self):
        self.addParameter(QgsProcessingParameterEnum(
            self.RESOLUTION, self.tr("Resolution"), list(RESOLUTIONS), False, "20", False, True))
        self.addParameter(QgsProcessingParameterEnum(
            self.SC_MODE, self.tr("Scene classification mode"), list(MODES), False, "EVOLUTION",
            False, True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.SC_COG, self.tr("Write the SCL as Cloud-Optimized GeoTIFF"), False, True))

    def mode_options(self, parameters, context):
        resolution = self.parameterAsEnumString(parameters, self.RESOLUTION, context) or "20"
        mode = self.parameterAsEnumString(parameters, self.SC_MODE, context) or "EVOLUTION"
        return {"sc_only": True, "resolution": int(resolution), "sc_classic": mode == "CLASSIC",
                "sc_cog": self.parameterAsBool(parameters, self.SC_COG, context)}
