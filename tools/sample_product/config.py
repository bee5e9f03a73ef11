"""Scene defaults shared by the 6S table builder and the generator (pure Python)."""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SIXS_TABLE = DATA_DIR / "sixs_forward.json"
ATMOSPHERES_TABLE = DATA_DIR / "sixs_atmospheres.json"
RELIEF_TABLE = DATA_DIR / "sixs_relief.json"
SPECTRAL_RESPONSES = DATA_DIR / "spectral_responses.json"

SPACECRAFTS = ("S2A", "S2B", "S2C")
SPACECRAFT_NAMES = {"S2A": "Sentinel-2A", "S2B": "Sentinel-2B", "S2C": "Sentinel-2C"}

# The scene the 6S table is computed for. A product made for another tile or date gets its own
# (realistic) angles in the metadata, but its pixels keep this atmosphere geometry (the truth
# records both and the generator warns).
DEFAULT_TILE = "34UDD"            # UTM 34N, central Poland (about 52.75 N, 20.33 E)
DEFAULT_DATE = "2023-04-12"       # a Sentinel-2B repeat date of relative orbit 79 over 34UDD

ATMOSPHERE = {
    "aerosol_model": "Continental",        # 6S predefined model (closest to Sen2Cor's "rural")
    "aot550": 0.15,
    "water_vapour_g_cm2": 1.5,             # = 15 kg m-2 = 1.5 cm precipitable water
    "ozone_cm_atm": 0.36,                  # = 360 DU (northern spring)
    "target_altitude_km": 0.0,             # flat scene at sea level
    "cloud_top_altitude_km": 2.0,          # Lambertian cloud-top level for thick clouds
    "sea_level_pressure_pa": 101325.0,
}

# Selectable atmospheres (closed-loop tests of the atmospheric correction). "default" is ATMOSPHERE
# above with the table geometry (data/sixs_forward.json, all units). The others are computed for
# S2B only (data/sixs_atmospheres.json): the same tile, date, sun azimuth and per-band view
# geometry, with the sun zenith replaced when `sun_zenith` is given (None: the table's 45.03 deg).
# Ozone 0.36 cm-atm, aerosol Continental everywhere. Water vapour is 6S's UserWaterAndOzone input:
# the column of the scaled profile from sea level (above an elevated target 6S keeps only the
# part of the profile above it).
ATMOSPHERE_UNITS = ("S2B",)
ATMOSPHERES = {
    "default": None,
    "aot0.05": {"aot550": 0.05, "water_vapour_g_cm2": 2.0, "sun_zenith": None, "target_altitude_km": 0.0},
    "aot0.40": {"aot550": 0.40, "water_vapour_g_cm2": 2.0, "sun_zenith": None, "target_altitude_km": 0.0},
    "wv0.5": {"aot550": 0.15, "water_vapour_g_cm2": 0.5, "sun_zenith": None, "target_altitude_km": 0.0},
    "wv4.0": {"aot550": 0.15, "water_vapour_g_cm2": 4.0, "sun_zenith": None, "target_altitude_km": 0.0},
    "sza25": {"aot550": 0.15, "water_vapour_g_cm2": 2.0, "sun_zenith": 25.0, "target_altitude_km": 0.0},
    "sza60": {"aot550": 0.15, "water_vapour_g_cm2": 2.0, "sun_zenith": 60.0, "target_altitude_km": 0.0},
    "z1.5": {"aot550": 0.15, "water_vapour_g_cm2": 2.0, "sun_zenith": None, "target_altitude_km": 1.5},
    "hazy_mountain": {"aot550": 0.40, "water_vapour_g_cm2": 4.0, "sun_zenith": 60.0,
                      "target_altitude_km": 1.5},
}


def atmosphere_parameters(name: str) -> dict:
    """Full parameter set of a selectable atmosphere (ATMOSPHERE keys + sun_zenith)."""
    if name not in ATMOSPHERES:
        raise ValueError(f"atmosphere must be one of {sorted(ATMOSPHERES)}, got {name!r}")
    extra = ATMOSPHERES[name]
    out = dict(ATMOSPHERE, sun_zenith=None)
    if extra:
        out.update(extra)
        out["cloud_top_altitude_km"] = max(ATMOSPHERE["cloud_top_altitude_km"],
                                           out["target_altitude_km"] + 1.5)
    return out


# Relief (generate_product(..., relief="mountain" | "alpine")): the default atmosphere's forward
# terms at these ground altitudes (km, data/sixs_relief.json) between the 0 km surface level and
# the 2 km cloud-top level of sixs_forward.json; the generator interpolates them linearly in
# elevation. Each relief uses the levels up to its RELIEF_TOP_LEVEL_KM (then 2 km): "mountain"
# stays inside 0-0.75 km (0.25-0.75 km levels, as when it was made), "alpine" inside 0-1.5 km, the
# elevation range the project's look-up table covers (1.5 km node of its RURAL stage).
RELIEF_LEVELS_KM = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
RELIEF_CHECK_LEVELS_KM = (0.125, 0.375, 0.625, 0.875, 1.125, 1.375)  # direct 6S runs between
RELIEF_CHECK_UNIT = "S2B"                         # levels (S2B): the interpolation error
RELIEF_CHECK_TARGETS = ("vegetation", "bare_soil")  # direct 6S runs at 0.5 km (forward model check)
RELIEFS = ("flat", "mountain", "alpine")
RELIEF_TOP_LEVEL_KM = {"mountain": 0.75, "alpine": 1.5}

# 6S bands are integrated from the 1 nm responses resampled (linearly) to 6S's 2.5 nm grid.
SIXS_STEP_NM = 2.5

# Sizes: side of the 10 m grid, side of the valid data window at 10 m (None: whole product less
# a no-data wedge on the left, as at a swath edge). "full_coverage" is a whole tile with data in
# every pixel (the pipeline benchmark's case; about 7.5 GB of memory and 8 min to generate on 2 cores).
SIZES = {
    "tiny": (240, None),
    "small": (1830, None),
    "full": (10980, 5490),
    "full_coverage": (10980, 10980),
}
FULL_TILE_SIZES = ("full", "full_coverage")

# Solar irradiance (W m-2 um-1, bandId order) as written by ESA in real products
# (SEN2COR_REFERENCE §8.4): S2A from a baseline 02.06 product, S2B from a baseline 05.09 product.
# S2C: derived by the 6S table builder (S2B values scaled by the ratio of 6S band-integrated solar
# spectra for the S2C and S2B responses), recorded in the table.
SOLAR_IRRADIANCE = {
    "S2A": (1884.69, 1959.72, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08, 1041.63, 955.32,
            812.92, 367.15, 245.59, 85.25),
    "S2B": (1874.30, 1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57, 1041.28, 953.93,
            817.58, 365.41, 247.08, 87.75),
}
