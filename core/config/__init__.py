"""The four Sen2Cor GIPP files and the one typed parameter model built from them.

Typical use::

    from sen2cor_qgis.core.config import load_config
    cfg = load_config(gip_l2a=args.GIP_L2A, overrides={"Aerosol_Type": "MARITIME"}, home=home)
    cfg.aerosol_type, cfg.nr_threads, cfg.thresholds.T1_B04, cfg.ac.min_ddv_area

Modules: parameters (the declarations), values (parse/check/format per kind), gipp (read/write one
file), model (the generated dataclasses), home (SEN2COR_HOME, --GIP_* lookup), loader
(load_config and friends), cli_args (argparse flags derived from the declarations).
"""
from .cli_args import GROUP_TITLE, add_override_arguments, overrides_from_args
from .gipp import GippContent, default_gipp_path, read_gipp, write_gipp
from .home import (ensure_user_gipp, outdated_problems, resolve_gipp_path, sen2cor_home,
                   user_config_dir)
from .loader import (apply_overrides, config_xml_bytes, default_config, load_config,
                     validate_overrides, write_config)
from .model import (AtmosphericCorrectionCalibration, Classificators, GippSources,
                    ProcessingBaseline, SceneClassificationCalibration, Sen2CorConfig, Thresholds,
                    build_config, config_values, get_value)
from .parameters import (GIPP_FILES, GIPP_KEYS, PARAMETERS, GippFile, Param, find_param,
                         params_of, user_parameters)
from .values import Kind, PsdScheme

__all__ = [
    "GROUP_TITLE", "add_override_arguments", "overrides_from_args",
    "GippContent", "default_gipp_path", "read_gipp", "write_gipp",
    "ensure_user_gipp", "outdated_problems", "resolve_gipp_path", "sen2cor_home",
    "user_config_dir",
    "apply_overrides", "config_xml_bytes", "default_config", "load_config", "validate_overrides",
    "write_config",
    "AtmosphericCorrectionCalibration", "Classificators", "GippSources", "ProcessingBaseline",
    "SceneClassificationCalibration", "Sen2CorConfig", "Thresholds", "build_config",
    "config_values", "get_value",
    "GIPP_FILES", "GIPP_KEYS", "PARAMETERS", "GippFile", "Param", "find_param", "params_of",
    "user_parameters",
    "Kind", "PsdScheme",
]
