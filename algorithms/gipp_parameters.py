"""QGIS parameters generated from the core's one declaration of the GIPP parameters.

Every configuration field the dialog offers comes from `core.config.parameters`: its kind gives
the widget, its choices/range the allowed values, its help the tooltip. Nothing is declared twice.

"Explicitly set" is modelled by optional parameters **without a default**: a field the user leaves
untouched is absent (None, an empty text, "[Not selected]" or "Not set" in the dialog), so the GIPP
file decides; a field with a value becomes an override of the GIPP file (keyed by the core's
Python name, validated by the core). Booleans are offered as the choice TRUE/FALSE rather than a
check box, because a check box cannot say "not set".

Kinds -> parameters:
  ENUM, BOOL, INT with a list of values, THREADS   -> enum with static strings (optional)
  INT, FLOAT with a range                          -> number with minimum/maximum (optional)
  STR, ROI ('OFF', 'AUTO' or a number), FLOAT_LIST -> text (optional); DEM_Directory -> folder
User parameters of L2A_GIPP.xml are the main fields (its Calibration section, the region of
interest and metadata fields advanced); the expert calibration of L2A_CAL_SC_GIPP.xml and
L2A_CAL_AC_GIPP.xml is offered as advanced parameters. Not offered: the SCL class values
(fixed), the schema names, and L2A_PB_GIPP.xml (the processing baseline has its own parameter).
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingParameterString, QgsProperty)
from qgis.PyQt.QtCore import QVariant

from ..core.config import PARAMETERS, Kind, Param, user_parameters
from ..core.config.values import describe_allowed, format_value
from .qgis_compat import FILE_BEHAVIOR_FOLDER, set_advanced
from .translation import Translatable

TRUE_FALSE = ("TRUE", "FALSE")
_AC_PREFIX = "Atmospheric_Correction/"
_ADVANCED_USER = frozenset((
    "product_doi", "product_generator", "dem_reference", "psd_version",
    "roi_row0", "roi_col0", "roi_nrow_win", "roi_ncol_win",
))
_FOLDER_PARAMS = frozenset(("dem_directory",))


def qgis_name(param: Param) -> str:
    """Name of the QGIS parameter: the GIPP element name, as the L2A_Process flags use it
    ('Aerosol_Type', 'Nr_Threads', 'row0', 'T1_B02'; 'wavelength@c0' becomes 'wavelength_c0')."""
    return param.element.replace("@", "_")


def is_expert(param: Param) -> bool:
    """Expert calibration (L2A_CAL_SC/AC_GIPP.xml) offered in the dialog: not the fixed SCL class
    values and not the processing-baseline file."""
    return not param.user and param.gipp in ("SC", "AC") and param.group != "sc.classificators"


def is_atmospheric(param: Param) -> bool:
    """Only used by the atmospheric correction (left out of the scene-classification dialog)."""
    return param.gipp == "AC" or param.path.startswith(_AC_PREFIX)


def is_roi(param: Param) -> bool:
    return param.kind is Kind.ROI


def select_parameters(*, expert: bool = True, atmospheric: bool = True, roi: bool = True,
                      names: Optional[Iterable[str]] = None) -> Tuple[Param, ...]:
    """The declarations an algorithm offers, in declaration (file) order.

    names: restrict to these Python names (e.g. the product-tree algorithm's Product_DOI).
    """
    wanted = set(names) if names is not None else None
    chosen = []
    for param in user_parameters() + tuple(p for p in PARAMETERS if is_expert(p)):
        if wanted is not None and param.name not in wanted:
            continue
        if not expert and not param.user:
            continue
        if not atmospheric and is_atmospheric(param):
            continue
        if not roi and is_roi(param):
            continue
        chosen.append(param)
    return tuple(chosen)


def _is_unset(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, QVariant):
        return value.isNull()
    if isinstance(value, str):
        return not value.strip()
    return False


class GippParameters(Translatable):
    """The QGIS parameters of a set of GIPP declarations, and the overrides they hold."""

    def __init__(self, params: Iterable[Param]):
        self.params: Tuple[Param, ...] = tuple(params)
        self.by_qgis_name: Dict[str, Param] = {qgis_name(p): p for p in self.params}

    # ------------------------------------------------------------------------------ labels

    def labels(self) -> Dict[str, str]:
        """Translated labels of the user parameters of L2A_GIPP.xml, by Python name."""
        return {
            "log_level": self.tr("Log level"),
            "roi_row0": self.tr("Region of interest: midpoint row (10 m pixels, OFF or AUTO)"),
            "roi_col0": self.tr("Region of interest: midpoint column (10 m pixels, OFF or AUTO)"),
            "roi_nrow_win": self.tr("Region of interest: height (10 m pixels)"),
            "roi_ncol_win": self.tr("Region of interest: width (10 m pixels)"),
            "product_doi": self.tr("Product DOI written into the metadata"),
            "nr_threads": self.tr("Number of threads"),
            "product_generator": self.tr("Product generator"),
            "dem_directory": self.tr("DEM folder"),
            "dem_reference": self.tr("DEM download address"),
            "generate_dem_output": self.tr("Write the DEM into the product"),
            "force_exit_on_dem_error": self.tr("Stop on DEM errors"),
            "generate_tci_output": self.tr("Write true-colour images (TCI)"),
            "generate_ddv_output": self.tr("Write the dark dense vegetation map (DDV)"),
            "handle_l1c_qlt_mask": self.tr("Use the L1C quality masks"),
            "downsample_20_to_60": self.tr("Derive 60 m from 20 m"),
            "psd_version": self.tr("Product specification (PSD) version of the output"),
            "median_filter": self.tr("Median filter size for the scene classification"),
            "aerosol_type": self.tr("Aerosol type"),
            "mid_latitude": self.tr("Season (mid-latitude atmosphere)"),
            "ozone_content": self.tr("Ozone content (DU)"),
            "wv_correction": self.tr("Water-vapour correction"),
            "vis_update_mode": self.tr("Visibility update mode"),
            "wv_watermask": self.tr("Water vapour over water"),
            "cirrus_correction": self.tr("Cirrus correction"),
            "dem_terrain_correction": self.tr("Terrain correction with the DEM"),
            "brdf_correction": self.tr("BRDF correction mode"),
            "brdf_lower_bound": self.tr("BRDF lower bound"),
            "adj_km": self.tr("Adjacency range (km)"),
            "visibility": self.tr("Start visibility (km)"),
            "altitude": self.tr("Ground altitude without DEM (km)"),
            "smooth_wv_map": self.tr("Water-vapour map smoothing (m)"),
            "wv_threshold_cirrus": self.tr("Water-vapour threshold for cirrus correction (cm)"),
            "database_compression_level": self.tr("Work database compression level"),
        }

    def label(self, param: Param, labels: Optional[Dict[str, str]] = None) -> str:
        labels = self.labels() if labels is None else labels
        if param.name in labels:
            return labels[param.name]
        if param.user:   # a parameter added to the core later: its element name, readable
            return param.element.replace("_", " ")
        prefix = self.tr("[SC calibration]") if param.gipp == "SC" else self.tr("[AC calibration]")
        return f"{prefix} {param.element}: {param.help.rstrip('.')}"

    def help_text(self, param: Param) -> str:
        """Tooltip / help: the core's help, the 2.11 default, what is allowed, where it lives."""
        if param.kind is Kind.FLOAT_LIST:
            default = ", ".join(format_value(param, v) for v in param.default)
        else:
            default = format_value(param, param.default)
        return self.tr("{help} Sen2Cor 2.11 default: {default}. Allowed: {allowed}. "
                       "Not set: the value of {file} ({path}) is used.").format(
            help=param.help, default=default, allowed=describe_allowed(param),
            file=param.file_name, path=param.path)

    # ------------------------------------------------------------------------------ definitions

    def definitions(self) -> List[Any]:
        labels = self.labels()
        return [self.definition(p, labels) for p in self.params]

    def definition(self, param: Param, labels: Optional[Dict[str, str]] = None):
        """One optional QGIS parameter without default for a declaration."""
        name, label = qgis_name(param), self.label(param, labels)
        kind = param.kind
        if kind is Kind.ENUM:
            qp = QgsProcessingParameterEnum(name, label, list(param.choices), False, None, True, True)
        elif kind is Kind.BOOL:
            qp = QgsProcessingParameterEnum(name, label, list(TRUE_FALSE), False, None, True, True)
        elif kind is Kind.INT and param.choices:
            qp = QgsProcessingParameterEnum(name, label, [str(c) for c in param.choices],
                                            False, None, True, True)
        elif kind is Kind.THREADS:
            options = ["AUTO"] + [str(n) for n in range(int(param.minimum), int(param.maximum) + 1)]
            qp = QgsProcessingParameterEnum(name, label, options, False, None, True, True)
        elif kind in (Kind.INT, Kind.FLOAT):
            integer = kind is Kind.INT
            qp = QgsProcessingParameterNumber(
                name, label,
                QgsProcessingParameterNumber.Integer if integer else QgsProcessingParameterNumber.Double,
                None, True,
                param.minimum if param.minimum is not None else -1e12,
                param.maximum if param.maximum is not None else 1e12)
        elif param.name in _FOLDER_PARAMS:
            qp = QgsProcessingParameterFile(name, label, FILE_BEHAVIOR_FOLDER, "", None, True)
        else:  # STR, ROI, FLOAT_LIST: text
            qp = QgsProcessingParameterString(name, label, None, False, True)
        qp.setHelp(self.help_text(param))
        advanced = (not param.user or param.name in _ADVANCED_USER
                    or param.path.startswith(_AC_PREFIX + "Calibration/"))
        return set_advanced(qp, advanced)

    # ------------------------------------------------------------------------------ values

    def is_set(self, parameters: Dict[str, Any], name: str) -> bool:
        return not _is_unset(parameters.get(name))

    def overrides(self, algorithm, parameters: Dict[str, Any], context) -> Dict[str, Any]:
        """The values the user gave explicitly, keyed by the core's Python name.

        Values are handed over in the core's terms (words, numbers, TRUE/FALSE as bool) and are
        validated by the core (`load_config(overrides=...)`), which names the parameter and the
        allowed values in its message.
        """
        overrides: Dict[str, Any] = {}
        for name, param in self.by_qgis_name.items():
            raw = parameters.get(name)
            if _is_unset(raw):
                continue
            value = self._value(algorithm, parameters, name, param, raw, context)
            if value is not None:
                overrides[param.name] = value
        return overrides

    def _value(self, algorithm, parameters, name: str, param: Param, raw: Any, context) -> Any:
        kind = param.kind
        if isinstance(raw, bool) and kind is Kind.BOOL:   # processing.run(..., {'X': True})
            return raw
        if kind in (Kind.ENUM, Kind.BOOL, Kind.THREADS) or (kind is Kind.INT and param.choices):
            if isinstance(raw, QgsProperty) or isinstance(raw, (int, str)):
                text = algorithm.parameterAsEnumString(parameters, name, context)
            else:
                text = str(raw)
            if not text:        # not one of the options: let the core say what is allowed
                text = str(raw)
            if kind is Kind.BOOL:
                low = text.strip().lower()
                return True if low == "true" else False if low == "false" else text
            if kind is Kind.INT:
                return int(text) if text.strip().lstrip("-").isdigit() else text
            if kind is Kind.THREADS:
                return text if text.strip().upper() == "AUTO" or not text.strip().isdigit() else int(text)
            return text
        if kind is Kind.INT:
            return algorithm.parameterAsInt(parameters, name, context)
        if kind is Kind.FLOAT:
            return algorithm.parameterAsDouble(parameters, name, context)
        if param.name in _FOLDER_PARAMS:
            return algorithm.parameterAsFile(parameters, name, context) or None
        text = algorithm.parameterAsString(parameters, name, context).strip()
        if not text:
            return None
        if kind is Kind.FLOAT_LIST:
            return tuple(item.strip() for item in text.replace(";", ",").split(",") if item.strip())
        return text
