"""Bilinear sampling in NumPy: GDAL's values, on any window of the grid, on the cells wanted only."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.warp import Resampling

import geo.grid
from geo.grid import Grid, resample_aligned

CRS = "EPSG:5070"


def _surface(nan: bool) -> tuple[np.ndarray, Grid]:
    coarse = Grid.covering((-12_000, -9_000, 61_000, 47_000), 2000)
    values = np.random.default_rng(1).normal(300, 120, coarse.shape).astype(np.float32)
    if nan:
        values[3:6, 4:9] = np.nan
        values[-1, :] = np.nan
    return values, coarse


@pytest.mark.parametrize("nan", [False, True])
def test_values_are_gdal_bilinear_to_the_last_bit_but_rarely(nan: bool, monkeypatch) -> None:
    values, coarse = _surface(nan)
    grid = Grid.covering((0, 0, 50_000, 40_000), 90)
    ours = resample_aligned(values, grid, Resampling.bilinear, src_transform=coarse.transform, src_crs=CRS)
    monkeypatch.setattr(geo.grid, "samples_directly", lambda *args: False)
    gdal = resample_aligned(values, grid, Resampling.bilinear, src_transform=coarse.transform, src_crs=CRS)
    assert np.array_equal(np.isnan(ours), np.isnan(gdal)) and np.isnan(ours).any() == nan
    known = ~np.isnan(ours)
    assert (ours[known] != gdal[known]).mean() < 1e-4
    assert np.allclose(ours[known], gdal[known], rtol=2e-7, atol=0)
    cells = np.flatnonzero(np.random.default_rng(3).random(grid.width * grid.height) < 0.001)  # blocks skipped
    at = resample_aligned(values, grid, Resampling.bilinear, src_transform=coarse.transform, src_crs=CRS,
                          cells=cells)
    assert np.array_equal(at, gdal.ravel()[cells], equal_nan=True)


def test_a_window_and_the_cells_asked_for_get_the_whole_grids_values() -> None:
    values, coarse = _surface(True)
    grid = Grid.covering((0, 0, 50_000, 40_000), 90)
    whole = resample_aligned(values, grid, Resampling.bilinear, src_transform=coarse.transform, src_crs=CRS)
    row0, col0, height, width = 137, 201, 300, 260
    window = Grid(grid.transform @ Affine.translation(col0, row0), width, height, CRS)
    part = resample_aligned(values, window, Resampling.bilinear, src_transform=coarse.transform, src_crs=CRS)
    assert np.array_equal(part, whole[row0:row0 + height, col0:col0 + width], equal_nan=True)
    cells = np.flatnonzero(np.random.default_rng(2).random(grid.width * grid.height) < 0.2)
    at = resample_aligned(values, grid, Resampling.bilinear, src_transform=coarse.transform, src_crs=CRS,
                          cells=cells)
    assert np.array_equal(at, whole.ravel()[cells], equal_nan=True)
    narrow = resample_aligned(values, grid, Resampling.bilinear, src_transform=coarse.transform, src_crs=CRS,
                              dtype=np.float16)   # the float32 values, rounded
    assert narrow.dtype == np.float16 and np.array_equal(narrow, whole.astype(np.float16), equal_nan=True)
