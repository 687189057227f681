"""Distances to point features found with a k-d tree equal the distance transform's, float for float."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from geo.distance import distance_km
from geo.grid import Grid
from geo.pointdistance import distance_kernel, distance_to_cells_km


@pytest.mark.parametrize("resolution_m", [30.0, 90.0, 250.0])
def test_equal_to_the_distance_transform(resolution_m: float) -> None:
    rng = np.random.default_rng(int(resolution_m))
    grid = Grid(Affine(resolution_m, 0, 0, 0, -resolution_m, 0), 700, 600)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[rng.integers(0, 600, 40), rng.integers(0, 700, 40)] = True
    mask[300, 100] = mask[300, 140] = mask[340, 120] = True  # cells equally far from two or three features
    cap = 12.0
    rows, cols = np.indices(grid.shape)
    got = distance_to_cells_km(np.argwhere(mask), np.column_stack([rows.ravel(), cols.ravel()]), resolution_m, cap)
    np.testing.assert_array_equal(got, distance_km(mask, grid, cap).ravel())


def test_cells_beyond_the_cap_or_without_features_get_the_cap() -> None:
    cells = np.array([[0, 0], [0, 50], [50, 50]])
    got = distance_to_cells_km(np.array([[0, 0]]), cells, 250.0, 5.0)
    assert got.tolist() == [0.0, 5.0, 5.0]
    assert distance_to_cells_km(np.empty((0, 2)), cells, 250.0, 5.0).tolist() == [5.0, 5.0, 5.0]


def test_kernel_is_capped_and_read_only() -> None:
    kernel = distance_kernel(250.0, 1.0)
    assert kernel.shape == (5, 5) and kernel.dtype == np.float16 and not kernel.flags.writeable
    assert kernel[0, 0] == 0 and kernel[0, 2] == np.float16(0.5) and kernel[4, 4] == np.float16(1.0)
