"""The grid of the project's 6S look-up table (pure Python: imported by the builder from its own
6S environment as well as by the loader).

Two kinds of tables (see README.md in this folder for the reasoning and the measurements):

* **Scattering table** (gas-free, monochromatic, shared by every Sentinel-2 unit): 6S runs at
  the wavelength nodes `WAVELENGTHS_UM` for each aerosol model, AOT550, sun zenith, view zenith,
  relative azimuth and ground elevation. The loader integrates the nodes over each band with the
  unit's spectral response exactly as 6S integrates a band (6S itself computes scattering at 20
  fixed wavelengths and interpolates them as power laws; the nodes are those wavelengths on 6S's
  2.5 nm grid). AOT550 = 0 is the pure-Rayleigh atmosphere, the same for every aerosol model.
* **Gas table** per unit and band (band-integrated 6S runs without aerosol, cheap): global gas
  transmittance over air mass, elevation and water vapour at a reference ozone, and an ozone
  factor over air mass and ozone.

Axis conventions (those of `core.atmcorr.terms`): AOT550 of the column above the ground (6S
`aot550`); angles in degrees, relative azimuth 0 = sun and sensor on the same side
(backscattering), folded into 0..180; elevation of the ground in km; water vapour and ozone as
6S's `UserWaterAndOzone` takes them (g cm-2 = cm, and Dobson units / 1000 = cm-atm).
"""
from __future__ import annotations

import math

FORMAT_VERSION = 1

# ----------------------------------------------------------------------------------- spectral
# 6SV1.1 computes the scattering functions at 20 discrete wavelengths and interpolates them in
# between as power laws (subroutine INTERP). The nodes below are those wavelengths where they lie
# on 6S's 2.5 nm grid, the 2.5 nm grid point next to the others (0.412 -> 0.4125, 0.443 ->
# 0.4425, 0.488 -> 0.4875, 0.694 -> 0.695, 1.536 -> 1.5375; 0.633 is left out), and 3.75 um for
# the long end of B12. Measured against band-integrated 6S runs: <= 3e-5 in path reflectance,
# <= 2e-4 relative in the transmittances, <= 6e-5 in spherical albedo (README.md).
WAVELENGTHS_UM = (0.4125, 0.4425, 0.470, 0.4875, 0.515, 0.550, 0.590, 0.670, 0.695, 0.760,
                  0.860, 1.240, 1.5375, 1.650, 1.950, 2.250, 3.750)
SIXS_STEP_UM = 0.0025

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
UNITS = ("S2A", "S2B", "S2C")

# ------------------------------------------------------------------------------ scattering
AEROSOLS = ("continental", "maritime")                 # Sen2Cor RURAL, MARITIME
SIXS_AEROSOL = {"continental": "Continental", "maritime": "Maritime"}
SEN2COR_AEROSOL = {"RURAL": "continental", "MARITIME": "maritime",
                   "CONTINENTAL": "continental"}

AOT550 = (0.0, 0.05, 0.1, 0.2, 0.5, 0.8, 1.2)
# The AOT 0 node is computed with a continental aerosol of AOT550 1e-4: 6SV1.1 without aerosol
# ("NoAerosols") returns wrong transmittances and spherical albedo between its discrete
# wavelengths 0.412 and 0.470 um (e.g. T_down 0.52 instead of 0.89 at 0.4425 um, nadir sun), while
# 1e-4 changes the path reflectance by < 1e-5 and the transmittances by < 2e-4.
RAYLEIGH_AOT = 1e-4
SZA = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0)
VZA = (0.0, 6.0, 12.0)
RAA = (0.0, 45.0, 90.0, 135.0, 180.0)
ELEVATION_KM = (0.0, 0.75, 1.5, 2.5, 3.5)

# Values stored per scattering run (6S field, printed decimals):
MONO_FIELDS = (
    "rho_rayleigh",     # reflectance I rayleigh (5): molecular path reflectance, no gas
    "rho_atm",          # reflectance I total (5): path reflectance, no gas (6S "romix")
    "t_down",           # total scattering transmittance downward (5)
    "t_up",             # total scattering transmittance upward (5)
    "s_albedo",         # spherical albedo total (5)
    "tau_rayleigh",     # optical depth total rayleigh (5)
    "tau_aerosol",      # optical depth total aerosol (5)
    "apparent",         # apparent reflectance (7), includes the gas at the wavelength (check)
)

# ------------------------------------------------------------------------------------- gas
# Global gas transmittance of a band depends on the geometry only through the two-way air mass
# M = 1/cos(SZA) + 1/cos(VZA) (checked: identical 6S values for two geometries of equal M). The
# gas runs use VZA = 0 and SZA = acos(1 / (M - 1)).
AIRMASS = (2.0, 2.155, 2.414, 2.743, 3.13, 3.559, 4.07)   # SZA 0, 30, 45, 55, 62, 67, ~71 at nadir
# 0.5 km steps: the water-vapour transmittance of B09 changes fast with elevation (the columns are
# sea-level referenced); measured at 350 random points: 1 km steps gave up to 6e-4 (0.2 %).
GAS_ELEVATION_KM = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
WATER_VAPOUR_CM = (0.0, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0)
OZONE_DU = (200.0, 250.0, 300.0, 350.0, 400.0, 460.0, 520.0)
OZONE_REF_DU = 330.0
WATER_VAPOUR_REF_CM = 2.0
GAS_FIELDS = ("t_gas", "t_water", "t_ozone", "t_gas_down", "t_gas_up")

# Sen2Cor's ranges (SEN2COR_REFERENCE §4.6, §6.2) per season, for information and clipping
# warnings; one table serves both seasons (6S user water vapour and ozone columns).
SEASONS = {
    "SUMMER": {"water_vapour_cm": (0.4, 5.0), "ozone_du": (250.0, 450.0),
               "default_water_vapour_cm": 2.0, "default_ozone_du": 331.0},
    "WINTER": {"water_vapour_cm": (0.2, 1.1), "ozone_du": (250.0, 460.0),
               "default_water_vapour_cm": 0.4, "default_ozone_du": 377.0},
}


def gas_sza(airmass: float) -> float:
    """Sun zenith (degrees, nadir view) of a two-way air mass."""
    return math.degrees(math.acos(1.0 / (airmass - 1.0)))


def fmt(x: float) -> str:
    """Canonical text of a grid value in run keys."""
    return ("%.4f" % float(x)).rstrip("0").rstrip(".")


def mono_key(aerosol: str, wl_um: float, aot: float, sza: float, vza: float, raa: float,
             z_km: float) -> str:
    """Key of one scattering run. AOT 0 is the Rayleigh atmosphere (aerosol 'rayleigh'); at
    nadir view the azimuth does not matter (raa 0)."""
    if float(aot) == 0.0:
        aerosol = "rayleigh"
    if float(vza) == 0.0:
        raa = 0.0
    return "|".join(["M", aerosol, fmt(wl_um), fmt(aot), fmt(sza), fmt(vza), fmt(raa), fmt(z_km)])


def gas_key(unit: str, band: str, airmass: float, z_km: float, wv_cm: float, o3_du: float) -> str:
    return "|".join(["G", unit, band, fmt(airmass), fmt(z_km), fmt(wv_cm), fmt(o3_du)])


def solar_key(wl_um: float) -> str:
    return "S|" + fmt(wl_um)
