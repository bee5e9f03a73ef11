"""Atmosphere selection: mid-latitude season and ozone (reference §4.6).

* `season(mid_latitude, latitude, date)`: SUMMER / WINTER; AUTO from the tile's centre latitude
  (integer degrees) and the day of year: -30 <= lat < 30 -> SUMMER; 30 <= lat < 90 -> SUMMER for
  1 April <= date < 1 October, else WINTER; -90 <= lat < -30 -> the inverse.
* `ozone(ozone_content, season, aux_mean_du)`: Ozone_Content > 0 -> CONFIG and that value;
  0 -> the mean of the positive AUX_ECMWFT ozone values (AUX_ECMWFT), or 331 DU (summer) / 377 DU
  (winter) when no AUX value is readable (OTHER). Sen2Cor then uses the table with the nearest
  ozone column of the season (`table_du`); the project's look-up table interpolates in ozone, so
  the value given to it (`lut_du`) is the ozone value itself unless `snap_to_tables` asks for
  Sen2Cor's discrete choice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional, Union

SUMMER, WINTER = "SUMMER", "WINTER"
# §4.6: table ozone columns (DU) and letters per season; the standard table of each season.
OZONE_TABLES = {
    SUMMER: {"f": 250.0, "g": 290.0, "h": 331.0, "i": 370.0, "j": 410.0, "k": 450.0},
    WINTER: {"t": 250.0, "u": 290.0, "v": 330.0, "w": 377.0, "x": 420.0, "y": 460.0},
}
STANDARD_OZONE = {SUMMER: 331.0, WINTER: 377.0}
# §6.2: the base water-vapour table of each season (cm) - used when WV_Correction is 0.
BASE_WATER_VAPOUR = {SUMMER: 2.0, WINTER: 0.4}


def season(mid_latitude: str, latitude: Optional[float] = None,
           when: Optional[Union[date, datetime]] = None) -> str:
    """SUMMER or WINTER (module notes). AUTO needs `latitude` and `when`."""
    choice = str(mid_latitude).upper()
    if choice in (SUMMER, WINTER):
        return choice
    if choice != "AUTO":
        raise ValueError(f"Mid_Latitude must be SUMMER, WINTER or AUTO, got {mid_latitude!r}")
    if latitude is None or when is None:
        raise ValueError("Mid_Latitude AUTO needs the tile latitude and the sensing date")
    lat = int(latitude)                       # integer degrees (truncation, as Sen2Cor)
    day = when.timetuple().tm_yday
    leap = (when.year % 4 == 0 and when.year % 100 != 0) or when.year % 400 == 0
    first, last = (92, 275) if leap else (91, 274)      # 1 April .. 30 September
    northern_summer = first <= day < last
    if -30 <= lat < 30:
        return SUMMER
    if lat >= 30:
        return SUMMER if northern_summer else WINTER
    return WINTER if northern_summer else SUMMER


@dataclass(frozen=True)
class OzoneChoice:
    source: str          # OZONE_SOURCE: AUX_ECMWFT | CONFIG | OTHER
    value_du: float      # OZONE_VALUE
    table_du: float      # nearest Sen2Cor table column of the season
    table_letter: str    # its letter in Sen2Cor's LUT file names
    lut_du: float        # the value given to the look-up table


def nearest_table(value_du: float, season_name: str):
    """(letter, DU) of the nearest ozone table of a season."""
    tables = OZONE_TABLES[season_name]
    letter = min(tables, key=lambda k: (abs(tables[k] - value_du), tables[k]))
    return letter, tables[letter]


def ozone(ozone_content: float, season_name: str, aux_mean_du: Optional[float] = None,
          snap_to_tables: bool = False) -> OzoneChoice:
    """The ozone column to use (module notes)."""
    configured = float(ozone_content or 0)
    if configured > 0:
        source, value = "CONFIG", configured
    elif aux_mean_du is not None and aux_mean_du > 0:
        source, value = "AUX_ECMWFT", float(aux_mean_du)
    else:
        source, value = "OTHER", STANDARD_OZONE[season_name]
    letter, table = nearest_table(value, season_name)
    return OzoneChoice(source, value, table, letter, table if snap_to_tables else value)


def water_vapour_start(season_name: str, ac_calibration) -> float:
    """AC_Wv_Iter_Start_Summer / _Winter (cm): start value of the water-vapour iteration."""
    if season_name == WINTER:
        return float(ac_calibration.wv_iter_start_winter)
    return float(ac_calibration.wv_iter_start_summer)


def lut_file_name(ozone_choice: OzoneChoice, water_vapour_cm: float, aerosol_type: str,
                  season_name: str) -> str:
    """Sen2Cor's LUT file name of this atmosphere (for the quality report's LUT_DATA_FILES):
    <ozone letter>99000_wv<XX>_<rura|mari>.atm with the nearest water-vapour table."""
    nodes = (0.4, 1.0, 2.0, 2.9, 4.0, 5.0) if season_name == SUMMER else (0.2, 0.4, 0.8, 1.1)
    wv = min(nodes, key=lambda v: abs(v - water_vapour_cm))
    kind = "mari" if str(aerosol_type).upper() == "MARITIME" else "rura"
    return f"{ozone_choice.table_letter}99000_wv{int(round(wv * 10)):02d}_{kind}.atm"
