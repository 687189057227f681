"""The analysis grid: snapping, rasterizing and distances known by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from geo.distance import distance_km
from geo.grid import Grid, rasterize_mask, rasterize_values

CRS = "EPSG:5070"


def test_grid_snaps_to_resolution() -> None:
    grid = Grid.covering((130.0, -260.0, 1020.0, 740.0), 100)
    assert grid.bounds == (100.0, -300.0, 1100.0, 800.0)
    assert grid.shape == (11, 10)
    assert grid.cell_acres == pytest.approx(100 * 100 / 4046.8564224)


def test_cell_of_points() -> None:
    grid = Grid.covering((0, 0, 1000, 1000), 100)
    rows, cols, inside = grid.cell_of(np.array([50.0, 950.0, -5.0]), np.array([950.0, 50.0, 10.0]))
    assert rows[:2].tolist() == [0, 9] and cols[:2].tolist() == [0, 9]
    assert inside.tolist() == [True, True, False]


def test_distance_along_a_row_is_exact_km() -> None:
    grid = Grid.covering((0, 0, 1000, 1000), 100)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[:, 0] = True
    dist = distance_km(mask, grid)
    assert dist[5].astype(float).tolist() == pytest.approx([0.1 * i for i in range(10)], abs=1e-3)


def test_distance_diagonal_and_cap() -> None:
    grid = Grid.covering((0, 0, 1000, 1000), 100)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[0, 0] = True
    dist = distance_km(mask, grid, cap_km=0.5)
    assert float(dist[3, 4]) == pytest.approx(0.5, abs=1e-3)
    assert float(dist[2, 2]) == pytest.approx(np.hypot(0.2, 0.2), abs=1e-3)


def test_no_features_means_cap_everywhere() -> None:
    grid = Grid.covering((0, 0, 500, 500), 100)
    dist = distance_km(np.zeros(grid.shape, dtype=bool), grid, cap_km=42)
    assert (dist == 42).all()


def test_rasterize_polygon_by_centre_and_line_by_touch() -> None:
    grid = Grid.covering((0, 0, 1000, 1000), 100)
    square = gpd.GeoDataFrame(geometry=[box(0, 0, 300, 300)], crs=CRS)
    assert rasterize_mask(square, grid).sum() == 9
    line = gpd.GeoDataFrame(geometry=[LineString([(50, 950), (950, 950)])], crs=CRS)
    assert rasterize_mask(line, grid)[0].all()
    point = gpd.GeoDataFrame(geometry=[Point(550, 450)], crs=CRS)
    assert np.argwhere(rasterize_mask(point, grid)).tolist() == [[5, 5]]


def test_rasterize_values_fills_missing() -> None:
    grid = Grid.covering((0, 0, 400, 400), 100)
    frame = gpd.GeoDataFrame({"v": [2.5, np.nan]}, geometry=[box(0, 0, 200, 400), box(200, 0, 400, 400)], crs=CRS)
    raster = rasterize_values(frame, "v", grid)
    assert (raster[:, :2] == 2.5).all() and np.isnan(raster[:, 2:]).all()


def test_distance_to_features_matches_mask_path() -> None:
    from geo.distance import distance_to_features_km

    grid = Grid.covering((0, 0, 2000, 2000), 100)
    lines = gpd.GeoDataFrame(geometry=[LineString([(50, 50), (1950, 1250)])], crs=CRS)
    points = gpd.GeoDataFrame(geometry=[Point(1500, 1800)], crs=CRS)
    mask = rasterize_mask(lines, grid) | rasterize_mask(points, grid)
    direct = distance_to_features_km([lines, points], grid, cap_km=1.0)
    assert np.array_equal(direct, distance_km(mask, grid, cap_km=1.0))
    assert float(direct.max()) == pytest.approx(1.0)
    assert (distance_to_features_km([lines.iloc[:0]], grid, cap_km=3.0) == 3.0).all()
    # on some cells only: the same values, from the squared transform's root taken there
    cells = np.flatnonzero(np.random.default_rng(0).random(grid.width * grid.height) < 0.3)
    for cap in (1.0, 0.35, None):
        whole = distance_to_features_km([lines, points], grid, cap_km=cap)
        assert np.array_equal(distance_to_features_km([lines, points], grid, cap_km=cap, cells=cells),
                              whole.ravel()[cells])
