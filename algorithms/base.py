"""Shared base of the `sen2cor` algorithms: common parameters, options, running the core.

Each algorithm is thin: it declares what differs (mode parameters, which GIPP fields it offers,
which raster outputs it has, the mode flags of `ProcessingOptions`), and this class does the rest:

* parameters: the L1C input, the output folder, the optional GIPP files, the output format and
  Sen2Cor's other options (advanced), then one parameter per GIPP field (`gipp_parameters`);
* `build_options(parameters, context)`: the engine's `ProcessingOptions` -- dialog values that
  are set become `overrides` keyed by the core's parameter names, unset ones are left to the GIPP
  file; provider settings fill in between (see `settings`);
* `processAlgorithm`: runs `core.pipeline.process_product` synchronously, with progress, log and
  cancel bridged to the feedback; any `Sen2CorError` becomes a `QgsProcessingException` with the
  same one-line message;
* `postProcessAlgorithm` (main thread): asks Processing to load TCI and SCL (styled with
  Sen2Cor's colour table) and optionally the reflectance stacks, grouped by product.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingFeedback,
                       QgsProcessingOutputFolder, QgsProcessingOutputRasterLayer,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)
from qgis.PyQt.QtGui import QIcon

from ..core.config import find_param
from ..core.config.home import resolve_gipp_path, sen2cor_home
from ..core.config.gipp import read_gipp
from ..core.config.loader import validate_overrides
from ..core.config.values import format_value
from ..core.errors import Sen2CorError
from ..core.pipeline import ProcessingOptions, process_product
from . import settings as provider_settings
from .feedback_bridge import FeedbackBridge
from .gipp_parameters import GippParameters, select_parameters
from .layers import LayerToLoad, add_layers_to_load
from .outputs import BOA_RESOLUTIONS, build_boa_stack, product_layers
from .qgis_compat import FILE_BEHAVIOR_FILE, FILE_BEHAVIOR_FOLDER, set_advanced
from .translation import Translatable

PLUGIN_DIR = Path(__file__).resolve().parent.parent
ICON_PATH = PLUGIN_DIR / "ui" / "icons" / "icon.svg"
SCL_STYLE = PLUGIN_DIR / "ui" / "styles" / "scl.qml"
HELP_URL = "https://github.com/sen2cor-qgis/sen2cor_qgis#qgis-plugin"

OUTPUT_FORMATS = ("JP2", "TIF", "RAW")
GIPP_FILE_PARAMETERS = (("GIP_L2A", "L2A"), ("GIP_L2A_SC", "SC"), ("GIP_L2A_AC", "AC"),
                        ("GIP_L2A_PB", "PB"))
_CENTRE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")


def _shown(param, value) -> str:
    """A value as the GIPP file would spell it (TRUE/FALSE, 0.25, 13 comma-separated numbers)."""
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return format_value(param, value) if isinstance(value, (bool, int, float)) else str(value)


@dataclasses.dataclass
class RunRequest:
    """Everything prepareAlgorithm read from the parameters (main thread) for processAlgorithm."""

    input_path: str
    options: ProcessingOptions
    notes: List[str] = dataclasses.field(default_factory=list)   # lines for the log
    load_boa: bool = False


class Sen2CorAlgorithmBase(Translatable, QgsProcessingAlgorithm):
    """Base of every algorithm of the provider (not registered itself)."""

    INPUT = "INPUT"
    OUTPUT_DIR = "OUTPUT_DIR"
    OUTPUT_FORMAT = "OUTPUT_FORMAT"
    PROCESSING_BASELINE = "PROCESSING_BASELINE"
    PROCESSING_CENTRE = "PROCESSING_CENTRE"
    ARCHIVING_CENTRE = "ARCHIVING_CENTRE"
    WORK_DIR = "WORK_DIR"
    IMG_DATABASE_DIR = "IMG_DATABASE_DIR"
    RES_DATABASE_DIR = "RES_DATABASE_DIR"
    DEBUG = "DEBUG"
    AUX_DATA_DIR = "AUX_DATA_DIR"
    CAMS = "CAMS"
    DEM_DOWNLOAD_TIMEOUT = "DEM_DOWNLOAD_TIMEOUT"
    DEM_DOWNLOAD_RETRIES = "DEM_DOWNLOAD_RETRIES"
    LOAD_BOA = "LOAD_BOA"
    # outputs
    OUTPUT = "OUTPUT"
    BOA_10M = "BOA_10M"
    BOA_20M = "BOA_20M"
    TCI = "TCI"
    SCL = "SCL"
    AOT = "AOT"
    WVP = "WVP"

    # What a subclass changes -------------------------------------------------------------
    #: raster outputs the algorithm declares (subset of BOA_10M, BOA_20M, TCI, SCL, AOT, WVP)
    RASTER_OUTPUTS: Tuple[str, ...] = ()
    #: offers LOAD_BOA (only where surface reflectance is computed)
    OFFERS_BOA = False

    def __init__(self) -> None:
        super().__init__()
        self._gipp: Optional[GippParameters] = None
        self._request: Optional[RunRequest] = None
        self._to_load: List[LayerToLoad] = []

    # -- identity ----------------------------------------------------------------------------
    def createInstance(self):  # noqa: N802 (QGIS API)
        return type(self)()

    def group(self) -> str:
        return self.tr("Sentinel-2 Level-2A")

    def groupId(self) -> str:  # noqa: N802
        return "level2a"

    def icon(self) -> QIcon:
        return QIcon(str(ICON_PATH))

    def helpUrl(self) -> str:  # noqa: N802
        return HELP_URL

    # -- parameters ----------------------------------------------------------------------------
    def gipp_selection(self):
        """GIPP declarations offered as parameters (default: all user and expert fields)."""
        return select_parameters()

    @property
    def gipp(self) -> GippParameters:
        if self._gipp is None:
            self._gipp = GippParameters(self.gipp_selection())
        return self._gipp

    def add_mode_parameters(self) -> None:
        """Parameters right after the input and output (resolution, mode, ...)."""

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, self.tr("Level-1C product (.SAFE folder, .zip or MTD_MSIL1C.xml)"),
            FILE_BEHAVIOR_FILE, "", None, False,
            self.tr("Sentinel-2 Level-1C (MTD_MSIL1C.xml *.zip *.SAFE);;All files (*)")))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_DIR, self.tr("Output folder (not set: the folder holding the input)"),
            None, True, False))
        self.add_mode_parameters()
        self.addParameter(QgsProcessingParameterEnum(
            self.OUTPUT_FORMAT, self.tr("Image format (JP2: JPEG 2000, TIF: GeoTIFF, RAW: ENVI)"),
            list(OUTPUT_FORMATS), False, "JP2", False, True))
        self.addParameter(QgsProcessingParameterFile(
            "GIP_L2A", self.tr("User configuration L2A_GIPP.xml (not set: the one in SEN2COR_HOME)"),
            FILE_BEHAVIOR_FILE, "xml", None, True))
        if self.OFFERS_BOA:
            self.addParameter(QgsProcessingParameterBoolean(
                self.LOAD_BOA, self.tr("Load the surface-reflectance stacks into the project"),
                False, True))
        for definition in self.gipp.definitions():
            self.addParameter(definition)
        self._add_advanced_options()
        self._add_outputs()

    def _add_advanced_options(self) -> None:
        for name, label in (("GIP_L2A_SC", self.tr("Scene-classification calibration L2A_CAL_SC_GIPP.xml")),
                            ("GIP_L2A_AC", self.tr("Atmospheric-correction calibration L2A_CAL_AC_GIPP.xml")),
                            ("GIP_L2A_PB", self.tr("Processing-baseline file L2A_PB_GIPP.xml"))):
            self.addParameter(set_advanced(QgsProcessingParameterFile(
                name, label, FILE_BEHAVIOR_FILE, "xml", None, True)))
        self.addParameter(set_advanced(QgsProcessingParameterString(
            self.PROCESSING_BASELINE, self.tr("Processing baseline of the output (dd.dd)"),
            None, False, True)))
        self.addParameter(set_advanced(QgsProcessingParameterString(
            self.PROCESSING_CENTRE, self.tr("Processing centre (4 characters A-Z or _)"),
            None, False, True)))
        self.addParameter(set_advanced(QgsProcessingParameterString(
            self.ARCHIVING_CENTRE, self.tr("Archiving centre (4 characters A-Z or _)"),
            None, False, True)))
        for name, label in ((self.WORK_DIR, self.tr("Work folder")),
                            (self.IMG_DATABASE_DIR, self.tr("Image database folder")),
                            (self.RES_DATABASE_DIR, self.tr("Result database folder"))):
            self.addParameter(set_advanced(QgsProcessingParameterFile(
                name, label, FILE_BEHAVIOR_FOLDER, "", None, True)))
        self.addParameter(set_advanced(QgsProcessingParameterBoolean(
            self.DEBUG, self.tr("Debug log (Log_Level DEBUG)"), False, True)))
        # Auxiliary data (the processor's own settings, not GIPP elements); unset: the provider
        # settings, then the engine's defaults.
        self.addParameter(set_advanced(QgsProcessingParameterFile(
            self.AUX_DATA_DIR, self.tr("Auxiliary-data folder (ESA CCI maps, GlobalSnowMap, CAMS netCDF)"),
            FILE_BEHAVIOR_FOLDER, "", None, True)))
        self.addParameter(set_advanced(QgsProcessingParameterEnum(
            self.CAMS, self.tr("CAMS netCDF analyses (AUTO: when found, ON: required, OFF: never)"),
            list(provider_settings.CAMS_MODES), False, None, True, True)))
        self.addParameter(set_advanced(QgsProcessingParameterNumber(
            self.DEM_DOWNLOAD_TIMEOUT, self.tr("DEM download timeout (seconds without data)"),
            QgsProcessingParameterNumber.Double, None, True, 1.0, 3600.0)))
        self.addParameter(set_advanced(QgsProcessingParameterNumber(
            self.DEM_DOWNLOAD_RETRIES, self.tr("DEM download retries"),
            QgsProcessingParameterNumber.Integer, None, True, 0, 20)))

    def output_labels(self) -> Dict[str, str]:
        return {
            self.BOA_10M: self.tr("Surface reflectance 10 m (VRT stack)"),
            self.BOA_20M: self.tr("Surface reflectance 20 m (VRT stack)"),
            self.TCI: self.tr("True-colour image (TCI)"),
            self.SCL: self.tr("Scene classification (SCL)"),
            self.AOT: self.tr("Aerosol optical thickness (AOT)"),
            self.WVP: self.tr("Water vapour (WVP)"),
        }

    def _add_outputs(self) -> None:
        self.addOutput(QgsProcessingOutputFolder(self.OUTPUT, self.tr("Level-2A product folder")))
        labels = self.output_labels()
        for name in self.RASTER_OUTPUTS:
            self.addOutput(QgsProcessingOutputRasterLayer(name, labels[name]))

    # -- checks and options ---------------------------------------------------------------------
    def checkParameterValues(self, parameters, context):  # noqa: N802
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        try:
            self.check_input(parameters, context)
            self._check_gipp_files(parameters, context)
            self._check_texts(parameters, context)
            validate_overrides(self.gipp.overrides(self, parameters, context))
            self.check_mode_parameters(parameters, context)
        except QgsProcessingException as exc:
            return False, str(exc)
        except Sen2CorError as exc:
            return False, str(exc)
        return True, ""

    def check_mode_parameters(self, parameters, context) -> None:
        """Subclass checks; raise QgsProcessingException with the message."""

    def check_input(self, parameters, context) -> str:
        path = self.parameterAsFile(parameters, self.INPUT, context).strip()
        if not path:
            raise QgsProcessingException(self.tr("No Level-1C product given."))
        if not os.path.exists(path):
            raise QgsProcessingException(
                self.tr("{path}: Level-1C product not found (expected a .SAFE folder, a .zip or "
                        "MTD_MSIL1C.xml)").format(path=path))
        return path

    def _check_gipp_files(self, parameters, context) -> None:
        for name, key in GIPP_FILE_PARAMETERS:
            value = self._text(parameters, name, context, as_file=True)
            if value:
                read_gipp(resolve_gipp_path(value, sen2cor_home()), key, warn=False)

    def _check_texts(self, parameters, context) -> None:
        baseline = self._text(parameters, self.PROCESSING_BASELINE, context)
        if baseline and not (len(baseline) == 5 and baseline[2] == "."
                             and (baseline[:2] + baseline[3:]).isdigit()):
            raise QgsProcessingException(self.tr(
                "Processing baseline '{0}' must have the form dd.dd (e.g. 02.11, 99.99)").format(baseline))
        for name in (self.PROCESSING_CENTRE, self.ARCHIVING_CENTRE):
            centre = self._text(parameters, name, context)
            if centre and (len(centre) != 4 or not set(centre) <= _CENTRE_CHARS):
                raise QgsProcessingException(self.tr(
                    "Centre '{0}' must be four characters A-Z or '_' (e.g. SGS_)").format(centre))

    def _text(self, parameters, name: str, context, as_file: bool = False) -> str:
        if self.parameterDefinition(name) is None:
            return ""
        value = (self.parameterAsFile if as_file else self.parameterAsString)(parameters, name, context)
        return (value or "").strip()

    def mode_options(self, parameters, context) -> Dict[str, Any]:
        """ProcessingOptions fields of the algorithm's mode (resolution, sc_only, cr_only, ...)."""
        return {}

    def mode_overrides(self, parameters, context, notes: List[str]) -> Dict[str, Any]:
        """GIPP values the algorithm itself sets (they win over the dialog's GIPP fields);
        may append lines for the log to `notes`."""
        return {}

    def build_request(self, parameters, context, feedback=None) -> RunRequest:
        """Read every parameter (main thread) into the engine's options."""
        input_path = self.check_input(parameters, context)
        self._check_texts(parameters, context)
        notes: List[str] = []
        overrides = self.gipp.overrides(self, parameters, context)
        if overrides:
            notes.append(self.tr("Dialog values overriding the GIPP files: {0}").format(
                ", ".join(f"{find_param(k).element}={_shown(find_param(k), v)}"
                          for k, v in overrides.items())))
        prefs = provider_settings.read()
        offered = {p.name for p in self.gipp.params}
        if prefs.dem_folder and "dem_directory" in offered and "dem_directory" not in overrides:
            overrides["dem_directory"] = prefs.dem_folder
            notes.append(self.tr("DEM_Directory={0} (provider setting)").format(prefs.dem_folder))
        if prefs.threads and "nr_threads" in offered and "nr_threads" not in overrides:
            limit = int(find_param("nr_threads").maximum)
            overrides["nr_threads"] = min(prefs.threads, limit)
            notes.append(self.tr("Nr_Threads={0} (provider setting)").format(overrides["nr_threads"]))
        overrides.update(self.mode_overrides(parameters, context, notes))
        try:
            typed = validate_overrides(overrides)
        except Sen2CorError as exc:
            raise QgsProcessingException(str(exc)) from None

        output_dir = self.parameterAsFileOutput(parameters, self.OUTPUT_DIR, context) or None
        fields: Dict[str, Any] = dict(
            output_dir=output_dir,
            work_dir=self._text(parameters, self.WORK_DIR, context, True) or prefs.work_folder or None,
            img_database_dir=self._text(parameters, self.IMG_DATABASE_DIR, context, True) or None,
            res_database_dir=self._text(parameters, self.RES_DATABASE_DIR, context, True) or None,
            processing_centre=self._text(parameters, self.PROCESSING_CENTRE, context) or None,
            archiving_centre=self._text(parameters, self.ARCHIVING_CENTRE, context) or None,
            processing_baseline=self._text(parameters, self.PROCESSING_BASELINE, context) or None,
            output_format=self.parameterAsEnumString(parameters, self.OUTPUT_FORMAT, context) or "JP2",
            debug=self.parameterAsBool(parameters, self.DEBUG, context),
            overrides=typed,
        )
        for name, key in GIPP_FILE_PARAMETERS:
            fields[f"gip_{key.lower()}"] = self._text(parameters, name, context, True) or None
        fields.update(self.mode_options(parameters, context))
        known = {f.name for f in dataclasses.fields(ProcessingOptions)}
        for field_name, value, what in (
                ("aux_data_dir", prefs.aux_folder, self.tr("auxiliary-data folder")),
                ("memory_limit_mb", prefs.memory_mb, self.tr("memory cap"))):
            if value and field_name in known:
                fields[field_name] = value
            elif value:
                notes.append(self.tr("Provider setting '{0}' is not supported by this engine "
                                     "build; ignored").format(what))
        # Settings without a dialog parameter whose engine defaults are real values (0 retries
        # is a choice): passed whenever the engine knows the field.
        for field_name, value in (("cams", prefs.cams), ("dem_download_timeout", prefs.dem_timeout),
                                  ("dem_download_retries", prefs.dem_retries)):
            if field_name in known:
                fields[field_name] = value
        fields.update(self.aux_options(parameters, context))
        try:
            options = ProcessingOptions(**fields)
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from None
        load_boa = self.OFFERS_BOA and self.parameterAsBool(parameters, self.LOAD_BOA, context)
        return RunRequest(input_path=input_path, options=options, notes=notes, load_boa=load_boa)

    def aux_options(self, parameters, context) -> Dict[str, Any]:
        """The auxiliary-data parameters the dialog sets (they win over the provider settings)."""
        out: Dict[str, Any] = {}
        folder = self._text(parameters, self.AUX_DATA_DIR, context, True)
        if folder:
            out["aux_data_dir"] = folder
        if parameters.get(self.CAMS) not in (None, ""):
            out["cams"] = self.parameterAsEnumString(parameters, self.CAMS, context)
        if parameters.get(self.DEM_DOWNLOAD_TIMEOUT) not in (None, ""):
            out["dem_download_timeout"] = self.parameterAsDouble(parameters, self.DEM_DOWNLOAD_TIMEOUT, context)
        if parameters.get(self.DEM_DOWNLOAD_RETRIES) not in (None, ""):
            out["dem_download_retries"] = self.parameterAsInt(parameters, self.DEM_DOWNLOAD_RETRIES, context)
        return out

    def build_options(self, parameters, context=None) -> ProcessingOptions:
        """The engine options for these parameters (what a run would use)."""
        return self.build_request(parameters, context or QgsProcessingContext()).options

    # -- running ----------------------------------------------------------------------------------
    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802
        self._to_load = []
        self._request = self.build_request(parameters, context, feedback)
        return True

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        feedback = feedback or QgsProcessingFeedback()
        request = self._request or self.build_request(parameters, context, feedback)
        for line in request.notes:
            feedback.pushInfo(line)
        with FeedbackBridge(feedback, debug=request.options.debug) as bridge:
            try:
                if bridge.cancel.is_set():
                    raise QgsProcessingException(self.tr("Cancelled before start; nothing was written."))
                result = process_product(request.input_path, request.options,
                                         progress=bridge.progress, cancel=bridge.cancel,
                                         log=bridge.logger)
            except Sen2CorError as exc:
                raise QgsProcessingException(str(exc)) from None
        product = Path(result.product_path)
        feedback.pushInfo(self.tr("Level-2A product: {0}").format(product))
        results: Dict[str, Any] = {self.OUTPUT: str(product), self.OUTPUT_DIR: str(product.parent)}
        results.update(self.raster_results(product, feedback))
        self._to_load = self.layers_to_load(product, results, request)
        feedback.setProgress(100)
        return results

    def raster_results(self, product: Path, feedback) -> Dict[str, Optional[str]]:
        """Paths of the declared raster outputs in the finished product (None where absent)."""
        if not self.RASTER_OUTPUTS:
            return {}
        results: Dict[str, Optional[str]] = {}
        found = product_layers(product)
        for name in (self.TCI, self.SCL, self.AOT, self.WVP):
            if name in self.RASTER_OUTPUTS:
                results[name] = found.get(name)
        for name, res in ((self.BOA_10M, 10), (self.BOA_20M, 20)):
            if name in self.RASTER_OUTPUTS and res in BOA_RESOLUTIONS:
                try:
                    results[name] = build_boa_stack(product, res)
                except OSError as exc:    # the product is complete; only the stack is missing
                    feedback.pushWarning(self.tr("Cannot write the {0} m reflectance stack: {1}")
                                         .format(res, exc))
                    results[name] = None
        missing = [name for name, path in results.items() if not path]
        if missing:
            feedback.pushInfo(self.tr("Not in this product: {0}").format(", ".join(missing)))
        return results

    def layers_to_load(self, product: Path, results: Dict[str, Any], request: RunRequest) -> List[LayerToLoad]:
        labels = self.output_labels()
        group = product.name[:-5] if product.name.upper().endswith(".SAFE") else product.name
        wanted = [self.TCI, self.SCL] + ([self.BOA_10M, self.BOA_20M] if request.load_boa else [])
        layers = []
        for name in wanted:
            path = results.get(name)
            if path:
                style = str(SCL_STYLE) if name == self.SCL else None
                layers.append(LayerToLoad(path=path, name=labels[name], output_name=name,
                                          group=group, style=style))
        return layers

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        if self._to_load:
            add_layers_to_load(context, self._to_load)
        elif feedback is not None:
            feedback.pushInfo(self.tr("No raster layers to load into the project."))
        return {}
