"""Labour pool: county populations spread over cells and summed within a radius, checked by hand."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from geo.errors import LayerSchemaError
from geo.grid import Grid
from geo.labour import dasymetric_population, labour_pool, people_within

CRS = "EPSG:5070"
KM = 1000.0


def counties(*rows: tuple[str, float, tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    """Square counties from (geoid, population, bounds in km)."""
    return gpd.GeoDataFrame(
        {"geoid": [r[0] for r in rows], "population": [r[1] for r in rows]},
        geometry=[box(*(KM * v for v in r[2])) for r in rows], crs=CRS,
    )


def places(*rows: tuple[float, float, float]) -> gpd.GeoDataFrame:
    """Places from (x km, y km, population)."""
    return gpd.GeoDataFrame({"name": [f"P{i}" for i in range(len(rows))], "population": [r[2] for r in rows]},
                            geometry=[Point(r[0] * KM, r[1] * KM) for r in rows], crs=CRS)


def value_at(raster: np.ndarray, grid: Grid, x_km: float, y_km: float) -> float:
    rows, cols, _ = grid.cell_of(np.array([x_km * KM]), np.array([y_km * KM]))
    return float(raster[rows[0], cols[0]])


def test_uniform_county_gives_density_times_disk_area() -> None:
    county = counties(("04001", 1_000_000.0, (0, 0, 100, 100)))  # 100 people per km2
    grid = Grid.covering((40 * KM, 40 * KM, 60 * KM, 60 * KM), 500)
    pool = labour_pool(county, grid, radius_km=20.0)
    assert pool.people_within.dtype == np.float32 and pool.people_within.shape == grid.shape
    assert value_at(pool.people_within, grid, 50, 50) == pytest.approx(100 * np.pi * 20**2, rel=0.03)
    assert pool.counties_without_population == []


def test_place_people_stay_near_the_place() -> None:
    county = counties(("04001", 50_000.0, (0, 0, 200, 200)))
    town = places((100, 100, 50_000.0))
    coarse = Grid.covering((0, 0, 200 * KM, 200 * KM), 2000)
    surface = dasymetric_population(county, coarse, places=town, place_radius_km=3.0)
    near_town = people_within(surface.people, coarse, 3.0)
    assert value_at(near_town, coarse, 100, 100) == pytest.approx(50_000, rel=1e-6)

    grid = Grid.covering((120 * KM, 90 * KM, 140 * KM, 110 * KM), 500)
    assert value_at(labour_pool(county, grid, radius_km=20.0, places=town).people_within, grid, 130, 100) \
        == pytest.approx(0, abs=1e-3)
    assert value_at(labour_pool(county, grid, radius_km=40.0, places=town).people_within, grid, 130, 100) \
        == pytest.approx(50_000, rel=1e-5)


def test_place_in_urban_area_spreads_over_its_cells_in_the_county() -> None:
    county = counties(("04001", 30_000.0, (0, 0, 100, 100)))
    urban = gpd.GeoDataFrame(geometry=[box(80 * KM, 40 * KM, 120 * KM, 60 * KM)], crs=CRS)  # half outside
    grid = Grid.covering((0, 0, 130 * KM, 100 * KM), 2000)
    surface = dasymetric_population(county, grid, urban=urban, places=places((90, 50, 30_000.0)))
    in_urban = np.zeros(grid.shape, dtype=bool)
    in_urban[20:30, 40:50] = True  # x 80-100 km, y 40-60 km
    assert surface.people[in_urban] == pytest.approx(np.full(100, 300.0))
    assert surface.people[~in_urban].sum() == pytest.approx(0)


def test_places_above_the_county_total_are_scaled_down() -> None:
    county = counties(("04001", 10_000.0, (0, 0, 50, 50)))
    metro = places((10, 10, 30_000.0), (40, 40, 10_000.0))
    grid = Grid.covering((-10 * KM, -10 * KM, 60 * KM, 60 * KM), 2000)
    surface = dasymetric_population(county, grid, places=metro)
    assert surface.people.sum() == pytest.approx(10_000)
    assert value_at(people_within(surface.people, grid, 3.0), grid, 10, 10) == pytest.approx(7_500)
    assert value_at(people_within(surface.people, grid, 3.0), grid, 40, 40) == pytest.approx(2_500)


def test_total_equals_known_county_populations() -> None:
    rng = np.random.default_rng(7)
    layer = counties(*((f"49{i:03d}", float(rng.integers(1_000, 900_000)), (x, y, x + 37, y + 29))
                       for i, (x, y) in enumerate((x, y) for x in range(0, 148, 37) for y in range(0, 116, 29))))
    towns = places(*((float(x), float(y), float(p)) for x, y, p in zip(rng.uniform(0, 148, 30),
                                                                          rng.uniform(0, 116, 30),
                                                                          rng.integers(100, 2_000_000, 30), strict=True)))
    urban = gpd.GeoDataFrame(geometry=[Point(x * KM, y * KM).buffer(6 * KM) for x, y in rng.uniform(0, 110, (8, 2))],
                             crs=CRS)
    grid = Grid.covering((-5 * KM, -5 * KM, 160 * KM, 130 * KM), 2000)
    surface = dasymetric_population(layer, grid, urban=urban, places=towns)
    assert surface.people.sum() == pytest.approx(layer["population"].sum(), rel=1e-9)
    assert (surface.people >= 0).all()


def test_county_without_population_is_reported_and_adds_no_one(caplog: pytest.LogCaptureFixture) -> None:
    layer = counties(("04001", np.nan, (0, 0, 50, 50)), ("04003", 5_000.0, (50, 0, 100, 50)))
    grid = Grid.covering((0, 0, 100 * KM, 50 * KM), 2000)
    with caplog.at_level(logging.WARNING, logger="geo.labour"):
        surface = dasymetric_population(layer, grid, places=places((25, 25, 80_000.0)))
    assert surface.counties_without_population == ["04001"]
    assert "04001" in caplog.text
    assert surface.people[:, :25].sum() == 0
    assert surface.people.sum() == pytest.approx(5_000)
    assert labour_pool(layer, grid, radius_km=10.0).counties_without_population == ["04001"]


def test_negative_population_names_the_county() -> None:
    layer = counties(("04001", 100.0, (0, 0, 50, 50)), ("04013", -5.0, (50, 0, 100, 50)))
    with pytest.raises(LayerSchemaError, match="04013"):
        dasymetric_population(layer, Grid.covering((0, 0, 100 * KM, 50 * KM), 2000))


def test_county_smaller_than_a_cell_keeps_its_people() -> None:
    tiny = counties(("51600", 2_000.0, (10.2, 10.2, 10.8, 10.8)))
    grid = Grid.covering((0, 0, 20 * KM, 20 * KM), 2000)
    surface = dasymetric_population(tiny, grid)
    assert surface.people.sum() == pytest.approx(2_000)
    assert value_at(surface.people, grid, 10.5, 10.5) == pytest.approx(2_000)


def test_county_cut_by_the_grid_edge_adds_the_share_inside() -> None:
    county = counties(("32003", 40_000.0, (0, 0, 100, 100)))
    grid = Grid.covering((0, 0, 50 * KM, 100 * KM), 2000)
    assert dasymetric_population(county, grid).people.sum() == pytest.approx(20_000)
