"""True-colour image and preview (reference §9.8)."""
from __future__ import annotations

import numpy as np
import pytest

from sen2cor_qgis.core.raster import Grid
from sen2cor_qgis.core.raster.tci import (PVI_SIZE, TCI_BANDS, preview, preview_grid, tci_channel,
                                          true_colour, true_colour_from)


def test_tci_formula_hand_values():
    dn = np.array([0, 1, 10, 1250, 2499, 2500, 3000, 65535], dtype=np.uint16)
    # uint8(clip(v, 0, 2500) * 254 / 2500 + 1), 0 for NO_DATA
    # 1 -> 1.1016 -> 1 ; 10 -> 2.016 -> 2 ; 1250 -> 128 ; 2499 -> 254.898 -> 254 ; >= 2500 -> 255
    assert tci_channel(dn).tolist() == [0, 1, 2, 128, 254, 255, 255, 255]


def test_tci_with_radiometric_offset():
    dn = np.array([0, 1, 999, 1000, 1010, 2250, 3500, 4000], dtype=np.uint16)
    # v = DN - 1000: NO_DATA stays 0, negative reflectance -> 1, v = 1250 -> 128
    assert tci_channel(dn, offset=-1000.0).tolist() == [0, 1, 1, 1, 2, 128, 255, 255]


def test_tci_matches_float_formula_everywhere():
    v = np.arange(0, 3001, dtype=np.uint16)
    expected = np.where(v == 0, 0, (np.clip(v.astype(np.float64), 0, 2500) * 254 / 2500 + 1).astype(np.uint8))
    assert np.array_equal(tci_channel(v), expected)


def test_true_colour_order_and_nodata_per_channel():
    red = np.array([[2500, 0]], dtype=np.uint16)
    green = np.array([[1250, 1250]], dtype=np.uint16)
    blue = np.array([[0, 2500]], dtype=np.uint16)
    tci = true_colour(red, green, blue)
    assert tci.shape == (3, 1, 2) and tci.dtype == np.uint8
    assert tci[:, 0, 0].tolist() == [255, 128, 0]
    assert tci[:, 0, 1].tolist() == [0, 128, 255]
    assert TCI_BANDS == ("B04", "B03", "B02")
    bands = {"B04": red, "B03": green, "B02": blue}
    assert np.array_equal(true_colour_from(bands), tci)
    shifted = {k: (v.astype(np.int32) + 1000 * (v > 0)).astype(np.uint16) for k, v in bands.items()}
    assert np.array_equal(true_colour_from(shifted, {b: -1000.0 for b in bands}), tci)


def test_preview_size_nearest_and_grid():
    tci = np.zeros((3, 1830, 1830), dtype=np.uint8)
    tci[0, :915] = 200
    pvi = preview(tci)
    assert pvi.shape == (3, PVI_SIZE, PVI_SIZE)
    assert set(np.unique(pvi[0])) == {0, 200}               # nearest: no new values
    # row i takes floor((i + 0.5) * 1830 / 343): row 170 -> 909, row 171 -> exactly 915
    assert (pvi[0, :171] == 200).all() and (pvi[0, 171:] == 0).all()
    grid = Grid(32634, (600000.0, 60.0, 0.0, 5000040.0, 0.0, -60.0), (1830, 1830))
    pg = preview_grid(grid)
    assert pg.shape == (343, 343)
    assert pg.geotransform[0] == 600000.0 and pg.geotransform[3] == 5000040.0
    assert pg.geotransform[1] == pytest.approx(109800 / 343)
    assert pg.extent == pytest.approx(grid.extent)
