"""Build the one configuration model from the four GIPP files plus overrides.

This is the single entry point the command line, the QGIS dialog and the batch runner share:
they differ only in where the GIPP paths and the override values come from.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

from ..errors import ConfigError
from .gipp import default_gipp_path, gipp_xml_bytes, read_gipp, roi_problem, write_gipp
from .home import ensure_user_gipp, resolve_gipp_path, sen2cor_home
from .model import GippSources, Sen2CorConfig, build_config, config_values
from .parameters import GIPP_FILES, GIPP_KEYS, find_param
from .values import ValueProblem, check_value

log = logging.getLogger(__name__)
PathLike = Union[str, Path]


def load_config(gip_l2a: Optional[PathLike] = None, gip_sc: Optional[PathLike] = None,
                gip_ac: Optional[PathLike] = None, gip_pb: Optional[PathLike] = None,
                overrides: Optional[Mapping[str, Any]] = None,
                home: Optional[PathLike] = None, cwd: Optional[PathLike] = None,
                create_user_gipp: bool = True) -> Sen2CorConfig:
    """The configuration Sen2Cor 2.11 would run with, as one validated, typed model.

    gip_*: the --GIP_L2A/_SC/_AC/_PB values (path, or bare name in <home>/cfg). Without gip_l2a
    the user file <home>/cfg/L2A_GIPP.xml is used (created from the default on the first run,
    unless `create_user_gipp` is False: then the shipped default is read). The calibration files
    default to the shipped ones. `overrides` (from CLI flags or the dialog) are keyed by Python
    name, element name or element path and win over the files; they are validated the same way.
    Any invalid input raises ConfigError with a one-line message naming the file or parameter.
    """
    home_dir = sen2cor_home(home)
    given = {"L2A": gip_l2a, "SC": gip_sc, "AC": gip_ac, "PB": gip_pb}
    paths: Dict[str, Path] = {}
    for key in GIPP_KEYS:
        if given[key] is not None:
            paths[key] = resolve_gipp_path(given[key], home_dir, cwd)
        elif key == "L2A" and create_user_gipp:
            paths[key] = ensure_user_gipp(home_dir, report=False)  # read_gipp reports age
        else:
            paths[key] = default_gipp_path(key)
    values: Dict[str, Any] = {}
    for key in GIPP_KEYS:
        values.update(read_gipp(paths[key], key).values)
    values.update(validate_overrides(overrides or {}))
    if overrides:
        problem = roi_problem(values)
        if problem:
            raise ConfigError(f"overrides: {problem}")
    sources = GippSources(l2a=paths["L2A"], sc=paths["SC"], ac=paths["AC"], pb=paths["PB"],
                          home=home_dir)
    return build_config(values, sources)


def default_config() -> Sen2CorConfig:
    """The shipped 2.11 defaults (no home folder involved)."""
    values: Dict[str, Any] = {}
    for key in GIPP_KEYS:
        values.update(read_gipp(default_gipp_path(key), key).values)
    sources = GippSources(**{k.lower(): default_gipp_path(k) for k in GIPP_KEYS})
    return build_config(values, sources)


def validate_overrides(overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """Typed values by Python name; ConfigError naming the parameter for a bad key or value."""
    typed: Dict[str, Any] = {}
    for key, value in overrides.items():
        param = find_param(key)
        if param is None:
            raise ConfigError(f"override {key!r}: no such GIPP parameter")
        try:
            typed[param.name] = check_value(param, value)
        except ValueProblem as problem:
            shown = value if isinstance(value, str) else repr(value)
            raise ConfigError(f"override {param.element} ({param.file_name} {param.path}) = "
                              f"'{shown}' {problem}") from None
    return typed


def apply_overrides(cfg: Sen2CorConfig, overrides: Mapping[str, Any]) -> Sen2CorConfig:
    """A copy of `cfg` with validated overrides applied (the dialog's way to change values)."""
    values = config_values(cfg)
    values.update(validate_overrides(overrides))
    problem = roi_problem(values)
    if problem:
        raise ConfigError(f"overrides: {problem}")
    return build_config(values, cfg.sources)


def config_xml_bytes(cfg: Sen2CorConfig, gipp: str) -> bytes:
    """One GIPP file (L2A, SC, AC or PB) of the configuration, as Sen2Cor XML."""
    return gipp_xml_bytes(config_values(cfg), gipp)


def write_config(cfg: Sen2CorConfig, folder: PathLike) -> Dict[str, Path]:
    """Write the four GIPP files under their standard names into `folder` (created if needed);
    this is how the configuration is recorded with a product. Returns the paths by key."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values = config_values(cfg)
    return {key: write_gipp(values, key, folder / GIPP_FILES[key].file_name) for key in GIPP_KEYS}
