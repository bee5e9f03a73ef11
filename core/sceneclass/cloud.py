"""Cloud-probability tests: brightness (step 1), NDSI (step 2) and the cloud classes (step 10).

Reference §5.1. `cls` (uint8 class map, NOT_CLASSIFIED for pixels not assigned yet, NO_DATA
outside the data) and `p` (float32 cloud probability) are updated in place. Thresholds are the
GIPP values (`th` = cfg.sc.thresholds); the constants below are hard-coded in Sen2Cor's source.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .bands import Bands
from .codes import NOT_CLASSIFIED, ClassCodes
from .ramps import normalized_difference, ramp

# §5.1 step 1 (hard-coded): dark features are B04 < 0.1 with 0.04 < B8A < 0.15.
DARK_B04_MAX = np.float32(0.1)
DARK_B8A_MIN = np.float32(0.04)
DARK_B8A_MAX = np.float32(0.15)


def brightness_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """Step 1: P = ramp(B04, T1_B04, T2_B04)^2 on valid pixels; dark features -> class 2, P = 0."""
    valid = cls != codes.NO_DATA
    r = ramp(b.b04, th.T1_B04, th.T2_B04)
    p[valid] = (r * r)[valid]
    dark = (valid & (cls == NOT_CLASSIFIED) & (b.b04 < DARK_B04_MAX)
            & (b.b8a > DARK_B8A_MIN) & (b.b8a < DARK_B8A_MAX))
    cls[dark] = codes.DARK_FEATURES
    p[dark] = 0.0


def ndsi_cloud_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any,
                    codes: ClassCodes) -> np.ndarray:
    """Step 2: P *= ramp(NDSI, T1_NDSI_CLD, T2_NDSI_CLD); where that ramp is 0 the pixel is reset
    to not classified (undoing step-1 dark features there). Returns the NDSI (float32)."""
    ndsi = normalized_difference(b.b03, b.b11)
    r = ramp(ndsi, th.T1_NDSI_CLD, th.T2_NDSI_CLD)
    valid = cls != codes.NO_DATA
    p *= np.where(valid, r, np.float32(1.0))
    cls[valid & (r == 0) & (cls == codes.DARK_FEATURES)] = NOT_CLASSIFIED
    return ndsi


def cloud_class_step(cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """Step 10: not-classified pixels by cloud probability: T_CLOUD_LP < P < T_CLOUD_MP -> 7
    (low probability, same value as UNCLASSIFIED), T_CLOUD_MP <= P < T_CLOUD_HP -> 8, P >=
    T_CLOUD_HP -> 9. Pixels with P <= T_CLOUD_LP stay not classified."""
    unc = cls == NOT_CLASSIFIED
    lp, mp, hp = np.float32(th.T_CLOUD_LP), np.float32(th.T_CLOUD_MP), np.float32(th.T_CLOUD_HP)
    low = unc & (p > lp) & (p < mp)
    med = unc & (p >= mp) & (p < hp)
    high = unc & (p >= hp)
    cls[low] = codes.UNCLASSIFIED
    cls[med] = codes.MEDIUM_PROBA_CLOUDS
    cls[high] = codes.HIGH_PROBA_CLOUDS
