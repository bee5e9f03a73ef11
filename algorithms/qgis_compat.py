"""Names that moved between QGIS 3.22 and later 3.x, in one place.

QGIS 3.22 spells parameter flags and file-parameter behaviours as class attributes
(`QgsProcessingParameterDefinition.FlagAdvanced`, `QgsProcessingParameterFile.Folder`); later
releases add them to `Qgis` enums (and drop the old spelling in QGIS 4). Everything else in
`algorithms/` uses these names only.
"""
from qgis.core import Qgis, QgsProcessingParameterDefinition, QgsProcessingParameterFile


def _pick(new_owner, new_path, old_owner, old_name):
    owner = new_owner
    for part in new_path.split("."):
        owner = getattr(owner, part, None)
        if owner is None:
            return getattr(old_owner, old_name)
    return owner


FLAG_ADVANCED = _pick(Qgis, "ProcessingParameterFlag.Advanced",
                      QgsProcessingParameterDefinition, "FlagAdvanced")
FILE_BEHAVIOR_FILE = _pick(Qgis, "ProcessingFileParameterBehavior.File",
                           QgsProcessingParameterFile, "File")
FILE_BEHAVIOR_FOLDER = _pick(Qgis, "ProcessingFileParameterBehavior.Folder",
                             QgsProcessingParameterFile, "Folder")


def set_advanced(parameter, advanced: bool = True):
    """Mark a parameter as advanced (collapsed in the dialog); returns it for chaining."""
    if advanced:
        parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
    return parameter
