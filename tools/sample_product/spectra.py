"""Land covers of the synthetic scene: surface reflectance per band and the SCL class expected.

Pure Python (no numpy, no GDAL): the 6S table builder imports this module from its own virtual
environment.

Sources of the spectra
----------------------
The values are representative band-averaged surface reflectances, hand-tabulated from the shape of
typical library spectra (not exact convolutions of one library sample):

* dense dark vegetation: conifer forest (USGS Spectral Library v7, Kokaly et al. 2017, conifer
  and "dense dark vegetation" of Kaufman et al. 1997, IEEE TGRS 35(5)). The visible values are set
  to satisfy exactly the empirical DDV relations Sen2Cor uses (SEN2COR_REFERENCE §6.4.2):
  rho_red = 0.5 * rho_B12 and rho_blue = 0.5 * rho_red + 0.005, so that a DDV aerosol retrieval
  applied to the product can recover the true AOT550;
* vegetation: green crop / lawn grass (USGS v7 "Lawn_Grass", ECOSTRESS library, Meerdink et al.
  2019, green-vegetation spectra);
* bare soil: dry loamy agricultural soil (ECOSTRESS soils, USGS v7 soils);
* urban: built-up mixture (concrete, asphalt, roofing; ECOSTRESS man-made materials), not
  vegetated;
* water: clear inland lake (low, blue-green maximum, near zero beyond 800 nm);
* snow: old / slightly wet snow (USGS v7 "Melting_snow", Painter/Dozier type spectra: bright in
  the visible, strong ice absorption at 1.6 and 2.2 um);
* cloud: thick water cloud seen from above (bright and flat in the VNIR, lower in the SWIR because
  of liquid-water absorption). Treated in the forward model as a Lambertian target at the cloud-top
  altitude of the 6S table (see atmosphere.py), which is an approximation.

B10 (1375 nm) surface values hardly matter: the water vapour below ~3 km absorbs nearly all of it.
"""
from __future__ import annotations

from typing import Dict, Tuple

BANDS: Tuple[str, ...] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)

# code -> (name, description, SCL class expected from a Sen2Cor-like classifier)
LAND_COVERS: Dict[int, Tuple[str, str, int]] = {
    1: ("dense_dark_vegetation", "conifer forest, DDV reference pixels", 4),
    2: ("vegetation", "green crop / grassland", 4),
    3: ("bare_soil", "dry loamy agricultural soil", 5),
    4: ("urban", "built-up area (concrete, asphalt, roofs)", 5),
    5: ("water", "clear inland water", 6),
    6: ("snow", "old snow / snow-covered ground", 11),
}
LAND_COVER_CODES: Dict[str, int] = {v[0]: k for k, v in LAND_COVERS.items()}

#                   B01    B02    B03    B04    B05    B06    B07    B08    B8A    B09    B10    B11    B12
SURFACE_REFLECTANCE: Dict[str, Tuple[float, ...]] = {
    "dense_dark_vegetation":
        (0.014, 0.015, 0.040, 0.020, 0.065, 0.170, 0.215, 0.240, 0.250, 0.250, 0.170, 0.110, 0.040),
    "vegetation":
        (0.030, 0.035, 0.080, 0.040, 0.120, 0.310, 0.390, 0.420, 0.430, 0.420, 0.250, 0.230, 0.110),
    "bare_soil":
        (0.070, 0.090, 0.130, 0.180, 0.210, 0.230, 0.250, 0.270, 0.280, 0.290, 0.330, 0.360, 0.300),
    "urban":
        (0.085, 0.095, 0.120, 0.140, 0.160, 0.175, 0.190, 0.200, 0.210, 0.210, 0.230, 0.240, 0.210),
    "water":
        (0.045, 0.040, 0.045, 0.025, 0.015, 0.007, 0.006, 0.005, 0.004, 0.003, 0.002, 0.002, 0.001),
    "snow":
        (0.900, 0.910, 0.900, 0.880, 0.860, 0.840, 0.820, 0.790, 0.770, 0.720, 0.250, 0.080, 0.060),
}
CLOUD_REFLECTANCE: Tuple[float, ...] = (
    0.750, 0.750, 0.750, 0.750, 0.750, 0.750, 0.750, 0.740, 0.740, 0.720, 0.600, 0.450, 0.300,
)

# Thin cirrus: additive TOA reflectance per band relative to its B10 value (ice crystals are
# nearly grey in the VNIR, absorb somewhat at 1.6 and 2.2 um). Empirical, not computed by 6S.
CIRRUS_SPECTRAL_FACTOR: Tuple[float, ...] = (
    1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 0.80, 0.60,
)

# SCL classes used by the truth maps (Sen2Cor numbering).
SCL_NO_DATA, SCL_SHADOW, SCL_VEGETATION, SCL_NOT_VEGETATED, SCL_WATER = 0, 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_THIN_CIRRUS, SCL_SNOW = 8, 9, 10, 11


def spectrum(name: str) -> Dict[str, float]:
    """Surface reflectance of one land cover (or 'cloud') as {band: value}."""
    values = CLOUD_REFLECTANCE if name == "cloud" else SURFACE_REFLECTANCE[name]
    return dict(zip(BANDS, values))


def check_targets() -> Dict[str, Dict[str, object]]:
    """The (surface, reflectance) pairs for which the 6S table stores a direct 6S run."""
    out: Dict[str, Dict[str, object]] = {}
    for code, (name, _, _) in LAND_COVERS.items():
        out[name] = {"level": "surface", "reflectance": dict(zip(BANDS, SURFACE_REFLECTANCE[name]))}
    out["cloud"] = {"level": "cloud_top", "reflectance": dict(zip(BANDS, CLOUD_REFLECTANCE))}
    return out
