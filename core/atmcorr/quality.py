"""Quality values of the atmospheric correction for L2A_QUALITY.xml and Image_Content_QI
(reference §9.7, §6.4.8, §6.5, §6.11).

`build_quality` returns one flat dict keyed by the element names of L2A_QUALITY.xml
(core.product.l2a_quality.VALUE_NAMES: the ATMOSPHERIC_CORRECTION_QUALITY items, the negative-BOA
percentages per band, LUT_DATA_FILES and the AUX items the correction knows) and of
Image_Content_QI (RADIATIVE_TRANSFER_ACCURACY, WATER_VAPOUR_RETRIEVAL_ACCURACY, ...), plus
"details" (not written to XML: season, aerosol model, DDV level, cirrus gamma, terrain mode,
negative-QA flags, ozone table...). `l2a_quality_values` / `image_content_qi_values` pick the
names each file takes. Accuracies are 0.0, as Sen2Cor writes them.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from . import visibility as vis
from .season import lut_file_name

IMAGE_CONTENT_QI_NAMES = ("RADIATIVE_TRANSFER_ACCURACY", "WATER_VAPOUR_RETRIEVAL_ACCURACY",
                          "AOT_RETRIEVAL_ACCURACY", "AOT_RETRIEVAL_METHOD", "GRANULE_MEAN_AOT",
                          "GRANULE_MEAN_WV", "OZONE_SOURCE", "OZONE_VALUE")
BANDS_ALL = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")


def build_quality(*, cfg, aerosol, aerosol_model: str, ozone, season: str, terrain, geometry, qa,
                  wavelengths: Mapping[str, float], mean_aot: Optional[float],
                  mean_wv: Optional[float], wv_method: str, providers: Mapping[str, Any],
                  chosen: str, cirrus, adjacency: bool, step2: bool, resolution: float, sample,
                  fixed_aot: bool) -> Dict[str, Any]:
    mean_aot = float(mean_aot) if mean_aot is not None else 0.0
    mean_wv = float(mean_wv) if mean_wv is not None else 0.0
    start_vis = float(cfg.visibility)
    if aerosol is not None:
        method = aerosol.method
        final_vis = float(aerosol.final_visibility_km)
        ddv_vis = float(aerosol.ddv_visibility_km or 0.0)
        ddv_share = float(aerosol.ddv_share_percent if aerosol.ddv_level else 0.0)
        ddv_range = float(aerosol.ddv_b12_range[1]) if aerosol.ddv_level else 0.0
        blue = float(aerosol.blue_scale)
    else:
        method = "FIXED" if fixed_aot else "NONE"
        z = float(terrain.mean_altitude_km)
        final_vis = float(vis.aot550_to_visibility(mean_aot, z)) if mean_aot > 0 else 0.0
        ddv_vis, ddv_share, ddv_range, blue = 0.0, 0.0, 0.0, 1.0
    provider = providers.get(chosen)
    files = list(getattr(provider, "files", ()) or ())
    if not files:
        files = [lut_file_name(ozone, mean_wv or 2.0, chosen, season)]
    negative = qa.percentages()
    sza = float(geometry.mean_sun_zenith)
    out: Dict[str, Any] = {
        # Image_Content_QI
        "RADIATIVE_TRANSFER_ACCURACY": 0.0,
        "WATER_VAPOUR_RETRIEVAL_ACCURACY": 0.0,
        "AOT_RETRIEVAL_ACCURACY": 0.0,
        "AOT_RETRIEVAL_METHOD": method,
        "GRANULE_MEAN_AOT": mean_aot,
        "GRANULE_MEAN_WV": mean_wv,
        "OZONE_SOURCE": ozone.source,
        "OZONE_VALUE": float(ozone.value_du),
        # L2A_QUALITY ATMOSPHERIC_CORRECTION_QUALITY
        "WV_RETRIEVAL_ACCURACY": 0.0,
        "START_VISIBILITY_KM": start_vis,
        "VISIBILITY_FROM_DDV_KM": ddv_vis,
        "FINAL_VISIBILITY_KM": final_vis,
        "AVERAGE_SOLAR_ZENITH_ANGLE": sza,
        "DDV_PIXEL_PERCENTAGE": ddv_share,
        "DDV_REFLECTANCE_RANGE": ddv_range,
        "BLUE_PATH_RADIANCE_RESCALING_FACTOR": blue,
        "WV_RETRIEVAL_METHOD": wv_method,
        "VISIBILITY_LESS_THAN_5_KM": bool(0.0 < final_vis < 5.0),
        "AOT_ABOVE_1": bool(mean_aot > 1.0),
        "GRANULE_WV_ABOVE_5_CM": bool(mean_wv > 5.0),
        "LUT_DATA_FILES": files,
        # AUX_DATA_QUALITY (what the correction knows; DEM_TYPE comes from the DEM reader)
        "DEM_MEAN_ALTITUDE_KM": float(terrain.mean_altitude_km),
        "DEM_MEAN_SLOPE": float(terrain.mean_slope_deg),
        "GROUND_ELEVATION_ABOVE_3_KM": bool(terrain.mean_altitude_km > 3.0),
        "SOLAR_ZENITH_ANGLE_ABOVE_70_DEG": bool(sza >= 70.0),
    }
    for band in BANDS_ALL:
        if band in negative:
            out[band] = float(negative[band])
    out["details"] = {
        "season": season,
        "aerosol_type_config": str(cfg.aerosol_type),
        "aerosol_model": aerosol_model,
        "ozone_table_du": ozone.table_du,
        "ozone_lut_du": ozone.lut_du,
        "lut": getattr(provider, "description", type(provider).__name__),
        "ddv_level": getattr(aerosol, "ddv_level", 0),
        "ddv_sampled_pixels": getattr(aerosol, "ddv_pixels", 0),
        "double_ratios": dict(getattr(aerosol, "double_ratios", {}) or {}),
        "green_red_iterations": getattr(aerosol, "green_red_iterations", 0),
        "negative_check_iterations": getattr(aerosol, "negative_iterations", 0),
        "dbv_used": bool(getattr(aerosol, "dbv_used", False)),
        "vis_update_mode": int(cfg.vis_update_mode),
        "cirrus": None if cirrus is None else {"gamma": cirrus.gamma, "gamma_water": cirrus.gamma_water,
                                               "baseline": cirrus.baseline, "applied": cirrus.applied},
        "terrain": terrain.reason,
        "terrain_correction": bool(terrain.terrain),
        "adjacency": bool(adjacency),
        "rho_retrieval_step2": bool(step2),
        "negative_flags": qa.flagged(wavelengths),
        "resolution": resolution,
        "sample_spacing_m": sample.spacing_m,
    }
    return out


def l2a_quality_values(quality: Mapping[str, Any]) -> Dict[str, Any]:
    """The names L2A_QUALITY.xml takes (core.product.l2a_quality.VALUE_NAMES)."""
    from ..product.l2a_quality import VALUE_NAMES
    return {k: v for k, v in quality.items() if k in VALUE_NAMES}


def image_content_qi_values(quality: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: quality[k] for k in IMAGE_CONTENT_QI_NAMES if k in quality}
