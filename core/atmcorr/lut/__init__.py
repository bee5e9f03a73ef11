"""The project's 6S look-up table (numpy/SciPy only; 6S runs only in tools/build_lut.py).

    from sen2cor_qgis.core.atmcorr.lut import AtmosphereLUT, surface_from_toa
    lut = AtmosphereLUT.load("S2A", aerosol="RURAL", season="SUMMER")
    terms = lut.terms("B04", aot550, sza, vza, raa, elevation_km, water_vapour_cm, ozone_du)
    rho = surface_from_toa(terms, rho_toa)
    lut.coverage          # what is usable while the build is incomplete

Design, grid, measured accuracy and compute: README.md in this folder; grid: grid.py; loading,
band integration and interpolation: table.py, interp.py.
"""
from ..terms import AtmosphericTerms, surface_from_toa, toa_from_surface
from ..visibility import aot550_to_visibility, visibility_to_aot550
from .table import (PROVENANCE_FILE, TABLE_FILE, AtmosphereLUT, Coverage, LUTNotAvailableError,
                    load_raw, resample_response)

__all__ = ["AtmosphereLUT", "Coverage", "LUTNotAvailableError", "AtmosphericTerms",
           "surface_from_toa", "toa_from_surface", "visibility_to_aot550",
           "aot550_to_visibility", "load_raw", "resample_response", "TABLE_FILE",
           "PROVENANCE_FILE"]
