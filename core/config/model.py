"""The typed configuration model: frozen dataclasses generated from the parameter declarations.

The classes are built from `parameters.PARAMETERS`, so a parameter is declared once and appears
here with its Python type, default and help text (see each class's docstring, or `help()`):

    cfg.aerosol_type, cfg.nr_threads, cfg.dem_directory, cfg.visibility, cfg.roi_row0 ...
                                          user parameters of L2A_GIPP.xml (flat on the config)
    cfg.sc.snow_map, cfg.sc.thresholds.T1_B04, cfg.sc.classificators.WATER
                                          L2A_CAL_SC_GIPP.xml (cfg.thresholds is a shortcut)
    cfg.ac.min_ddv_area, cfg.ac.fwhm, cfg.ac.scaling_disabler
                                          L2A_CAL_AC_GIPP.xml (AC_ prefix dropped, lower case)
    cfg.pb.baseline_version               L2A_PB_GIPP.xml

Instances are immutable, comparable and picklable (plain values only), so the same object can be
handed to Dask workers; `dataclasses.replace` or `loader.apply_overrides` make modified copies.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Type, Union

from .parameters import GIPP_KEYS, PARAMETERS, Param, find_param, params_in_group
from .values import Kind, PsdScheme, format_value

_PY_TYPES: Dict[Kind, Any] = {
    Kind.ENUM: str, Kind.BOOL: bool, Kind.INT: int, Kind.FLOAT: float, Kind.STR: str,
    Kind.ROI: Union[int, str], Kind.THREADS: Union[int, str],
    Kind.FLOAT_LIST: Tuple[float, ...], Kind.PSD_SCHEMES: Tuple[PsdScheme, ...],
}


@dataclasses.dataclass(frozen=True)
class GippSources:
    """Which files a configuration was read from (informative; not part of equality)."""

    l2a: Optional[Path] = None
    sc: Optional[Path] = None
    ac: Optional[Path] = None
    pb: Optional[Path] = None
    home: Optional[Path] = None

    def of(self, gipp: str) -> Optional[Path]:
        return getattr(self, gipp.lower())


def _doc(title: str, params: Tuple[Param, ...], extra: str = "") -> str:
    lines = [title, "", "Attributes:"]
    for p in params:
        if p.kind in (Kind.FLOAT_LIST, Kind.PSD_SCHEMES):
            default = "as in the default file"
        else:
            default = format_value(p, p.default)
        lines.append(f"    {p.name}: {p.help} Default {default}. [{p.file_name} {p.path}]")
    if extra:
        lines += ["", extra]
    return "\n".join(lines)


def _make(cls_name: str, group: str, title: str, extra_fields: Tuple[tuple, ...] = (),
          bases: Tuple[type, ...] = (), extra_doc: str = "") -> Type[Any]:
    params = params_in_group(group)
    fields = [(p.name, _PY_TYPES[p.kind]) for p in params] + list(extra_fields)
    cls = dataclasses.make_dataclass(cls_name, fields, bases=bases, frozen=True)
    cls.__module__ = __name__
    cls.__qualname__ = cls_name
    cls.__doc__ = _doc(title, params, extra_doc)
    return cls


class _ConfigMethods:
    """Helpers of the top-level configuration (mixed into the generated Sen2CorConfig)."""

    @property
    def thresholds(self) -> Any:
        """Scene-classification thresholds (same object as cfg.sc.thresholds)."""
        return self.sc.thresholds  # type: ignore[attr-defined]

    @property
    def classificators(self) -> Any:
        """SCL class values (same object as cfg.sc.classificators)."""
        return self.sc.classificators  # type: ignore[attr-defined]

    @property
    def roi_enabled(self) -> bool:
        """True when a fixed or automatic region of interest replaces the whole tile."""
        return self.roi_row0 != "OFF"  # type: ignore[attr-defined]

    def dem_path(self) -> Optional[Path]:
        """DEM folder: None for NONE (flat terrain), else DEM_Directory joined to the home folder
        the configuration was loaded with (so an absolute DEM_Directory is kept as it is)."""
        directory = self.dem_directory  # type: ignore[attr-defined]
        if directory.strip().upper() in ("", "NONE"):
            return None
        home = self.sources.home  # type: ignore[attr-defined]
        return Path(home) / directory if home is not None else Path(directory)

    def threads(self) -> int:
        """Number of workers to use: Nr_Threads, or the CPU count when it is AUTO."""
        value = self.nr_threads  # type: ignore[attr-defined]
        return int(value) if value != "AUTO" else max(1, os.cpu_count() or 1)

    def values(self) -> Dict[str, Any]:
        """Every parameter's value by Python name (flat, as declared)."""
        return config_values(self)  # type: ignore[arg-type]


Classificators = _make("Classificators", "sc.classificators",
                       "SCL values of the scene classes (L2A_CAL_SC_GIPP.xml Classificators).")
Thresholds = _make("Thresholds", "sc.thresholds",
                   "Scene-classification thresholds (L2A_CAL_SC_GIPP.xml Thresholds), by GIPP name.")
SceneClassificationCalibration = _make(
    "SceneClassificationCalibration", "sc",
    "Expert calibration of the scene classification (L2A_CAL_SC_GIPP.xml).",
    extra_fields=(("classificators", Classificators), ("thresholds", Thresholds)),
    extra_doc="Also: classificators (Classificators), thresholds (Thresholds).")
AtmosphericCorrectionCalibration = _make(
    "AtmosphericCorrectionCalibration", "ac",
    "Expert calibration of the atmospheric correction (L2A_CAL_AC_GIPP.xml).")
ProcessingBaseline = _make("ProcessingBaseline", "pb",
                           "Processor version and processing baseline (L2A_PB_GIPP.xml).")
Sen2CorConfig = _make(
    "Sen2CorConfig", "user",
    "Complete Sen2Cor 2.11 configuration: user parameters of L2A_GIPP.xml as attributes, "
    "calibration files as sub-objects.",
    extra_fields=(
        ("sc", SceneClassificationCalibration),
        ("ac", AtmosphericCorrectionCalibration),
        ("pb", ProcessingBaseline),
        ("sources", GippSources, dataclasses.field(default=GippSources(), compare=False)),
    ),
    bases=(_ConfigMethods,),
    extra_doc="Also: sc, ac, pb (calibration sub-objects), sources (files read; not compared), "
              "thresholds and classificators (shortcuts into sc).")


def build_config(values: Mapping[str, Any],
                 sources: Optional[GippSources] = None) -> "Sen2CorConfig":
    """Sen2CorConfig from already validated values keyed by Python name (all must be present)."""
    def group(name: str) -> Dict[str, Any]:
        return {p.name: values[p.name] for p in params_in_group(name)}

    sc = SceneClassificationCalibration(
        **group("sc"),
        classificators=Classificators(**group("sc.classificators")),
        thresholds=Thresholds(**group("sc.thresholds")))
    return Sen2CorConfig(
        **group("user"), sc=sc,
        ac=AtmosphericCorrectionCalibration(**group("ac")),
        pb=ProcessingBaseline(**group("pb")),
        sources=sources or GippSources())


_GROUP_PATH = {"user": (), "sc": ("sc",), "sc.classificators": ("sc", "classificators"),
               "sc.thresholds": ("sc", "thresholds"), "ac": ("ac",), "pb": ("pb",)}


def config_values(cfg: "Sen2CorConfig") -> Dict[str, Any]:
    """Every parameter's value by Python name, read back from a Sen2CorConfig."""
    values: Dict[str, Any] = {}
    for param in PARAMETERS:
        holder = cfg
        for attr in _GROUP_PATH[param.group]:
            holder = getattr(holder, attr)
        values[param.name] = getattr(holder, param.name)
    return values


def get_value(cfg: "Sen2CorConfig", key: str) -> Any:
    """One parameter's value by Python name, element name or path, wherever it lives."""
    param = find_param(key)
    if param is None:
        raise KeyError(key)
    return config_values(cfg)[param.name]


__all__ = ["Sen2CorConfig", "SceneClassificationCalibration", "AtmosphericCorrectionCalibration",
           "ProcessingBaseline", "Classificators", "Thresholds", "GippSources", "build_config",
           "config_values", "get_value", "GIPP_KEYS"]
