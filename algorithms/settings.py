"""Provider settings (Settings > Options > Processing > Providers > Sentinel-2 L2A).

Registered when the provider loads and removed when it unloads, as QGIS's own providers do.
They are the user's standing defaults, between the GIPP file and the dialog:

    dialog value (explicit)  >  provider setting (when set)  >  L2A_GIPP.xml

* default DEM folder     -> DEM_Directory, unless the dialog gives one;
* number of threads      -> Nr_Threads (0: the GIPP decides), unless the dialog gives one;
* work folder            -> --work_dir, unless the dialog gives one;
* auxiliary-data folder -> ProcessingOptions.aux_data_dir (ESA CCI maps, GlobalSnowMap);
* memory cap             -> ProcessingOptions.memory_limit_mb once the engine has that field;
  until then the run's log says the setting is ignored;
* CAMS netCDF (AUTO/ON/OFF) -> ProcessingOptions.cams (CAMS files in the auxiliary-data folder);
* DEM download timeout / retries -> ProcessingOptions.dem_download_timeout / _retries.

The last three have no dialog parameter (like the auxiliary-data folder): they describe the
user's installation and network, not one run. Their stored defaults are the engine's.

Without the Processing plugin (a bare `qgis.core` script) nothing is registered and every setting
reads as unset.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from qgis.PyQt.QtCore import QCoreApplication

GROUP = "Sentinel-2 L2A (Sen2Cor)"
DEM_FOLDER = "SEN2COR_DEM_FOLDER"
AUX_FOLDER = "SEN2COR_AUX_FOLDER"
WORK_FOLDER = "SEN2COR_WORK_FOLDER"
THREADS = "SEN2COR_THREADS"
MEMORY_MB = "SEN2COR_MEMORY_MB"
CAMS = "SEN2COR_CAMS"
DEM_TIMEOUT = "SEN2COR_DEM_DOWNLOAD_TIMEOUT"
DEM_RETRIES = "SEN2COR_DEM_DOWNLOAD_RETRIES"
ALL = (DEM_FOLDER, AUX_FOLDER, WORK_FOLDER, THREADS, MEMORY_MB, CAMS, DEM_TIMEOUT, DEM_RETRIES)
CAMS_MODES = ("AUTO", "ON", "OFF")      # core.auxdata.cams_inputs.CAMS_MODES, in this order
DEFAULT_DEM_TIMEOUT = 30.0              # ProcessingOptions' defaults
DEFAULT_DEM_RETRIES = 3


@dataclass(frozen=True)
class ProviderSettings:
    dem_folder: str = ""
    aux_folder: str = ""
    work_folder: str = ""
    threads: int = 0          # 0: Nr_Threads of the GIPP file
    memory_mb: int = 0        # 0: no cap
    cams: str = "AUTO"
    dem_timeout: float = DEFAULT_DEM_TIMEOUT
    dem_retries: int = DEFAULT_DEM_RETRIES


def _config():
    try:
        from processing.core.ProcessingConfig import ProcessingConfig, Setting
    except ImportError:
        return None, None
    return ProcessingConfig, Setting


def register() -> bool:
    """Add the settings (idempotent) and read their stored values; False without Processing."""
    config, setting = _config()
    if config is None:
        return False
    translate = QCoreApplication.translate
    entries = (
        (DEM_FOLDER, translate("ProviderSettings", "Default DEM folder (used when the dialog "
                                                   "leaves DEM_Directory unset)"),
         "", setting.FOLDER),
        (AUX_FOLDER, translate("ProviderSettings", "Auxiliary-data folder (ESA CCI maps, snow "
                                                   "climatology)"),
         "", setting.FOLDER),
        (WORK_FOLDER, translate("ProviderSettings", "Work folder for temporary databases "
                                                    "(empty: the engine's default)"),
         "", setting.FOLDER),
        (THREADS, translate("ProviderSettings", "Number of threads (0: Nr_Threads of "
                                                "L2A_GIPP.xml)"),
         0, setting.INT),
        (MEMORY_MB, translate("ProviderSettings", "Memory cap in MB (0: no cap)"), 0, setting.INT),
        (DEM_TIMEOUT, translate("ProviderSettings", "DEM download: seconds without data before an "
                                                    "attempt fails"),
         DEFAULT_DEM_TIMEOUT, setting.FLOAT),
        (DEM_RETRIES, translate("ProviderSettings", "DEM download: extra attempts after the first one"),
         DEFAULT_DEM_RETRIES, setting.INT),
    )
    for name, description, default, valuetype in entries:
        if name not in config.settings:
            config.addSetting(setting(GROUP, name, description, default, valuetype=valuetype))
    if CAMS not in config.settings:
        config.addSetting(setting(
            GROUP, CAMS, translate("ProviderSettings", "CAMS netCDF files of the auxiliary-data folder "
                                                       "(AUTO: when found, ON: required, OFF: never)"),
            "AUTO", valuetype=setting.SELECTION, options=list(CAMS_MODES)))
    config.readSettings()
    return True


def unregister() -> None:
    config, _ = _config()
    if config is None:
        return
    for name in ALL:
        if name in config.settings:
            config.removeSetting(name)


def _value(config, name: str) -> Optional[Any]:
    try:
        return config.getSetting(name)
    except Exception:  # noqa: BLE001 - a broken stored value must not stop processing
        return None


def _int(value: Any) -> int:
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return 0


def _cams(value: Any) -> str:
    """A SELECTION setting reads as the option's index; a stored text is accepted too."""
    if isinstance(value, int) and 0 <= value < len(CAMS_MODES):
        return CAMS_MODES[value]
    text = str(value or "").strip().upper()
    return text if text in CAMS_MODES else "AUTO"


def _timeout(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return DEFAULT_DEM_TIMEOUT
    return number if number > 0 else DEFAULT_DEM_TIMEOUT


def _retries(value: Any) -> int:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return DEFAULT_DEM_RETRIES
    return number if number >= 0 else DEFAULT_DEM_RETRIES


def read() -> ProviderSettings:
    """The current values (unset ones empty, 0 or the engine's default)."""
    config, _ = _config()
    if config is None:
        return ProviderSettings()
    text = {name: str(_value(config, name) or "").strip() for name in (DEM_FOLDER, AUX_FOLDER, WORK_FOLDER)}
    return ProviderSettings(dem_folder=text[DEM_FOLDER], aux_folder=text[AUX_FOLDER],
                            work_folder=text[WORK_FOLDER], threads=_int(_value(config, THREADS)),
                            memory_mb=_int(_value(config, MEMORY_MB)), cams=_cams(_value(config, CAMS)),
                            dem_timeout=_timeout(_value(config, DEM_TIMEOUT)),
                            dem_retries=_retries(_value(config, DEM_RETRIES)))
