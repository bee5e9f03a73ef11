"""Atmospheric correction (Sen2Cor 2.11, reference §6): TOA reflectance -> surface reflectance,
AOT550 and water-vapour maps, quality values.

    from sen2cor_qgis.core.atmcorr import correct, Geometry
    result = correct(toa, nodata, scl, Geometry.from_product(product, 20), dem=dem,
                     config=cfg, terms_provider=provider, resolution=20)

Modules (one purpose each): terms (AtmosphericTerms, TermsProvider, the reflectance model),
tabulated (SceneTableProvider: small exact 6S tables), visibility (§6.3), season (§4.6),
geometry (§4.3), evaluate (per-pixel terms via distinct combinations), sample (the retrievals'
60 m sampling), neighbourhood (coarse-grid filters), aerosol (§6.4), watervapour (§6.5),
cirrus (§6.6), terrain (§6.7), surface (§6.7-§6.9), encoding (§6.10, §6.11), quality (§9.7),
correct (orchestration). The 6S look-up table itself lives in `lut` (a TermsProvider).
"""
from .correct import BANDS_10, BANDS_20_60, CorrectionResult, correct
from .geometry import Geometry, relative_azimuth
from .quality import image_content_qi_values, l2a_quality_values
from .tabulated import SceneTableProvider
from .terms import AtmosphericTerms, TermsProvider, surface_from_toa, toa_from_surface
from .visibility import aot550_to_visibility, visibility_to_aot550

__all__ = [
    "BANDS_10", "BANDS_20_60", "CorrectionResult", "correct", "Geometry", "relative_azimuth",
    "image_content_qi_values", "l2a_quality_values", "SceneTableProvider", "AtmosphericTerms",
    "TermsProvider", "surface_from_toa", "toa_from_surface", "aot550_to_visibility",
    "visibility_to_aot550",
]
