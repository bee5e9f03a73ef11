"""Scene classification (Sen2Cor 2.11, classic and evolution modes) on TOA reflectance.

    from sen2cor_qgis.core.sceneclass import classify
    result = classify({"B02": b02, ...}, nodata, sun_zenith=35.2, sun_azimuth=152.0,
                      resolution=20, config=cfg)
    result.scl                    # uint8 SCL classes 0..11
    result.cloud_probability      # MSK_CLDPRB, uint8 percent
    result.snow_probability       # MSK_SNWPRB, uint8 percent
    result.percentages()          # Image_Content_QI values
    scl60, cld60, snw60 = result.at_60m(); scl10 = result.scl_10m()

Modules (one purpose each): ramps, codes, bands (inputs, strip access), cloud (steps 1, 2, 10),
snow (step 3), classes (steps 4, 6-9), cirrus (10b, 10c), shadow (step 11), terrain (DEM
layers), recovery (step 12), parallax (evolution), dilation (evolution), resample (10/60 m,
Median_Filter), percentages (§5.7), classify (orchestration), product_inputs (reading an
L1C product at 20/60 m).
"""
from .bands import ArraySource, Bands, BandSource
from .classify import (MODES, SceneClassification, SceneClassificationError, classify,
                       classify_source, encode_probability)
from .codes import NOT_CLASSIFIED, ClassCodes
from .parallax import ParallaxReport, ParallaxSettings
from .percentages import ClassCounter, class_percentages
from .resample import (median_filter_scl, probability_20_to_60, scl_20_to_10, scl_20_to_60,
                       upsample_nearest)

__all__ = [
    "ArraySource", "Bands", "BandSource", "MODES", "SceneClassification",
    "SceneClassificationError", "classify", "classify_source", "encode_probability",
    "NOT_CLASSIFIED", "ClassCodes", "ParallaxReport", "ParallaxSettings", "ClassCounter",
    "class_percentages", "median_filter_scl", "probability_20_to_60", "scl_20_to_10",
    "scl_20_to_60", "upsample_nearest",
]
