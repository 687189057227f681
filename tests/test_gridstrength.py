"""Grid strength: capacity within reach and lines at the nearest substation, checked by hand."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from geo.errors import LayerSchemaError
from geo.grid import Grid
from geo.gridstrength import capacity_within, lines_at_substations, substation_line_count

CRS = "EPSG:5070"
KM = 1000.0
SITE = (100 * KM, 100 * KM)


def plants(*rows: tuple[str, float, float, float]) -> gpd.GeoDataFrame:
    """Plants from (name, x km, y km, capacity MW)."""
    return gpd.GeoDataFrame({"name": [r[0] for r in rows], "capacity_mw": [r[3] for r in rows]},
                            geometry=[Point(r[1] * KM, r[2] * KM) for r in rows], crs=CRS)


def value_at(raster: np.ndarray, grid: Grid, x: float, y: float) -> float:
    rows, cols, _ = grid.cell_of(np.array([x]), np.array([y]))
    return float(raster[rows[0], cols[0]])


@pytest.fixture
def grid() -> Grid:
    return Grid.covering((0, 0, 200 * KM, 200 * KM), 250)


def test_plant_counts_within_radius_and_not_beyond(grid: Grid) -> None:
    near = plants(("Palo Verde", 100, 130, 1_577.0))
    far = plants(("Far", 180, 100, 1_577.0))
    assert value_at(capacity_within(near, grid, radius_km=50.0).capacity_mw, grid, *SITE) == 1_577.0
    assert value_at(capacity_within(far, grid, radius_km=50.0).capacity_mw, grid, *SITE) == 0.0


def test_exact_within_one_coarse_cell_of_the_radius(grid: Grid) -> None:
    inside = plants(("In", 100 + 50 - 1.01, 100, 10.0))
    outside = plants(("Out", 100, 100 + 50 + 1.01, 10.0))
    both = capacity_within(pd.concat([inside, outside]), grid, radius_km=50.0, coarse_m=1000.0).capacity_mw
    assert value_at(both, grid, *SITE) == 10.0


def test_plants_add(grid: Grid) -> None:
    two = plants(("A", 90, 100, 300.0), ("B", 100, 120, 1_200.0))
    result = capacity_within(two, grid, radius_km=50.0)
    assert result.capacity_mw.dtype == np.float32 and result.capacity_mw.shape == grid.shape
    assert value_at(result.capacity_mw, grid, *SITE) == 1_500.0


def test_plants_without_capacity_are_reported(grid: Grid, caplog: pytest.LogCaptureFixture) -> None:
    layer = plants(("Unknown", 100, 110, np.nan), ("Retired", 100, 90, 0.0), ("Real", 110, 100, 50.0))
    with caplog.at_level(logging.WARNING, logger="geo.gridstrength"):
        result = capacity_within(layer, grid)
    assert result.plants_without_capacity == ["Unknown", "Retired"]
    assert "Unknown" in caplog.text and "Retired" in caplog.text
    assert value_at(result.capacity_mw, grid, *SITE) == 50.0


def test_negative_capacity_names_the_plant(grid: Grid) -> None:
    with pytest.raises(LayerSchemaError, match="Broken"):
        capacity_within(plants(("Broken", 100, 100, -3.0)), grid)


def hub_lines() -> gpd.GeoDataFrame:
    """Lines ending 0.5 km from (100, 100) km: three of >=345 kV, one of 138 kV, one DC; and a far 500 kV line."""
    ends = [(150, 100), (100, 160), (60, 60), (100, 40), (140, 140)]
    return gpd.GeoDataFrame(
        {"voltage_kv": [345.0, np.nan, 500.0, 138.0, np.nan, 500.0],
         "voltage_class": [None, "500", None, None, "DC", None]},
        geometry=[LineString([(100 * KM, 100.5 * KM), (x * KM, y * KM)]) for x, y in ends]
        + [LineString([(300 * KM, 300 * KM), (350 * KM, 300 * KM)])],
        crs=CRS,
    )


def substations(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"S{i}" for i in range(len(xy))]},
                            geometry=[Point(x * KM, y * KM) for x, y in xy], crs=CRS)


def test_lines_at_substation_by_voltage() -> None:
    hub = substations((100, 100), (20, 180))
    assert lines_at_substations(hub, hub_lines(), min_voltage_kv=345).tolist() == [3, 0]
    assert lines_at_substations(hub, hub_lines(), min_voltage_kv=100).tolist() == [4, 0]


def test_cell_takes_the_count_of_its_nearest_substation(grid: Grid) -> None:
    stations = substations((100, 100), (20, 180))
    count = substation_line_count(stations, hub_lines(), grid, min_voltage_kv=345)
    assert count.dtype == np.float32 and count.shape == grid.shape
    assert value_at(count, grid, 70 * KM, 130 * KM) == 3.0  # 42 km from A, 67 km from B
    assert value_at(count, grid, 30 * KM, 160 * KM) == 0.0
    assert set(np.unique(count).tolist()) == {0.0, 3.0}


def test_no_substation_is_unknown_everywhere(grid: Grid) -> None:
    count = substation_line_count(substations(), hub_lines(), grid, min_voltage_kv=345)
    assert np.isnan(count).all()

