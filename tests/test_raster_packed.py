"""The bit-packed full-tile mask reads back exactly what was OR-ed into it."""
import numpy as np

from sen2cor_qgis.core.raster.packed import PackedMask


def test_packed_mask_reads_like_the_boolean_array():
    rng = np.random.default_rng(3)
    full = rng.random((37, 1003)) < 0.2                 # width not a multiple of 8
    mask = PackedMask(full.shape)
    for r0 in range(0, 37, 10):                          # filled strip by strip, twice
        mask.or_rows(r0, full[r0:r0 + 10])
        mask.or_rows(r0, np.zeros_like(full[r0:r0 + 10]))
    np.testing.assert_array_equal(np.asarray(mask), full)
    np.testing.assert_array_equal(mask[5:17], full[5:17])
    rows = np.array([0, 4, 36])
    np.testing.assert_array_equal(mask[rows], full[rows])
    np.testing.assert_array_equal(mask[rows][:, :], full[rows])
    np.testing.assert_array_equal(mask[7], full[7])
    np.testing.assert_array_equal(mask[3:9, 100:200], full[3:9, 100:200])
    assert mask.any() and mask.nbytes == 37 * 126 and mask.shape == full.shape
    assert not PackedMask((4, 9)).any()
    np.testing.assert_array_equal(np.asarray(PackedMask.from_array(full)), full)


def test_packed_mask_tuple_keys_and_checks():
    import pytest

    full = np.random.default_rng(4).random((20, 30)) < 0.5
    mask = PackedMask.from_array(full)
    np.testing.assert_array_equal(mask[3, 5:9], full[3, 5:9])
    assert mask[3, 7] == full[3, 7]
    rows, cols = np.array([1, 4, 9]), np.array([0, 29, 3])
    np.testing.assert_array_equal(mask[rows, cols], full[rows, cols])      # point selection
    np.testing.assert_array_equal(~mask, ~full)
    with pytest.raises(ValueError):
        mask.or_rows(0, np.zeros((2, 29), dtype=bool))                      # narrower rows
    with pytest.raises(ValueError):
        mask.or_rows(19, np.zeros((2, 30), dtype=bool))                     # past the end
