"""Cirrus tests on B10 (reference §5.1 steps 10b and 10c) and the cirrus-recovery thresholds
(§5.5, "Cirrus (B10)").

Both tests apply to every non-NO_DATA pixel, overwriting earlier classes (reference §5.1, §9.11).
The cloud-probability limits of the two tests (0.20 and 0.80 in the reference) are taken as the
GIPP's T_CLOUD_MP and T_CLOUD_HP, whose default values they are (inferred: the reference does not
say whether the source repeats the numbers or reads the thresholds).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .bands import Bands
from .codes import ClassCodes

# §5.1 step 10b (hard-coded): thin cirrus needs B02 < 0.50 and, with a DEM, elevation < 1500 m.
CIRRUS_B02_MAX = np.float32(0.50)
CIRRUS_DEM_MAX_M = np.float32(1500.0)


def thin_cirrus_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes,
                     dem: Optional[np.ndarray] = None) -> None:
    """Step 10b: T1_B10 < B10 < T2_B10 and B02 < 0.50 and P < T_CLOUD_MP (and DEM < 1500 m)
    -> THIN_CIRRUS."""
    if b.b10 is None:
        return
    hit = ((cls != codes.NO_DATA) & (b.b10 > np.float32(th.T1_B10)) & (b.b10 < np.float32(th.T2_B10))
           & (b.b02 < CIRRUS_B02_MAX) & (p < np.float32(th.T_CLOUD_MP)))
    if dem is not None:
        hit &= dem < CIRRUS_DEM_MAX_M
    cls[hit] = codes.THIN_CIRRUS


def thick_cirrus_step(b: Bands, cls: np.ndarray, p: np.ndarray, th: Any, codes: ClassCodes) -> None:
    """Step 10c: B10 >= T2_B10 and P < T_CLOUD_HP -> MEDIUM_PROBA_CLOUDS."""
    if b.b10 is None:
        return
    hit = (cls != codes.NO_DATA) & (b.b10 >= np.float32(th.T2_B10)) & (p < np.float32(th.T_CLOUD_HP))
    cls[hit] = codes.MEDIUM_PROBA_CLOUDS
