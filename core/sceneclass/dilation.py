"""Evolution mode: dilation of the cloud and cloud-shadow masks (Sen2Cor 2.10 evolution).

Cloud edges and the penumbra of cloud shadows are the commonest omissions of a per-pixel
classifier: the transition pixels mix cloud (or shadow) and ground and pass none of the tests.
After the recoveries, opaque clouds (8, 9) are grown by `CLOUD_DILATION_M` and cloud shadows (3)
by `SHADOW_DILATION_M` (Euclidean disks, at least one pixel). The cloud ring becomes
MEDIUM_PROBA_CLOUDS over any class but NO_DATA; the shadow ring becomes CLOUD_SHADOWS over any
class but NO_DATA and the clouds and cirrus. The distances are this project's choice (Sen2Cor
2.10 does not publish its values). Reach: the dilation radius.
"""
from __future__ import annotations

import numpy as np

from .codes import ClassCodes
from .morphology import dilate, disk

CLOUD_DILATION_M = 40.0
SHADOW_DILATION_M = 40.0


def dilation_radius_px(distance_m: float, resolution: float) -> int:
    return max(1, int(round(distance_m / resolution))) if distance_m > 0 else 0


def dilate_clouds_and_shadows(cls: np.ndarray, codes: ClassCodes, resolution: float,
                              cloud_m: float = CLOUD_DILATION_M,
                              shadow_m: float = SHADOW_DILATION_M) -> None:
    """Grow clouds then shadows in place (whole tile or a strip with a halo of the radius)."""
    valid = cls != codes.NO_DATA
    rc = dilation_radius_px(cloud_m, resolution)
    if rc:
        clouds = (cls == codes.MEDIUM_PROBA_CLOUDS) | (cls == codes.HIGH_PROBA_CLOUDS)
        ring = dilate(clouds, disk(rc)) & ~clouds & valid
        cls[ring] = codes.MEDIUM_PROBA_CLOUDS
    rs = dilation_radius_px(shadow_m, resolution)
    if rs:
        shadows = cls == codes.CLOUD_SHADOWS
        protected = np.isin(cls, (codes.NO_DATA, codes.MEDIUM_PROBA_CLOUDS,
                                  codes.HIGH_PROBA_CLOUDS, codes.THIN_CIRRUS))
        ring = dilate(shadows, disk(rs)) & ~shadows & ~protected
        cls[ring] = codes.CLOUD_SHADOWS
