"""Fixtures shared across the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.store import LayerStore

#: Real public data kept beside the repository on development machines (absent elsewhere).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> LayerStore:
    """The synthetic demo region, written once per test session (treat as read-only)."""
    from geo.demo import build_demo_store

    return build_demo_store(tmp_path_factory.mktemp("demo") / "store")


@pytest.fixture(scope="session")
def demo_result(demo_store: LayerStore, tmp_path_factory: pytest.TempPathFactory):
    """A full run on the demo region with its outputs written (treat as read-only)."""
    from geo.api import run

    return run(store=demo_store, runs_dir=tmp_path_factory.mktemp("runs"))


@pytest.fixture
def shared_data() -> Path:
    """The real public data directory, or a skip when this machine does not have it."""
    if not (SHARED_DATA / "raw").is_dir():
        pytest.skip(f"real public data not present at {SHARED_DATA}")
    return SHARED_DATA


#: Origin (EPSG:5070 metres) of the tiny hand-made region used by known-answer tests.
TINY_X0, TINY_Y0 = -1_500_000.0, 1_800_000.0


def tiny_geometry(geom):
    """A shape drawn in km from the tiny region's origin, as EPSG:5070 metres."""
    from shapely import affinity

    return affinity.affine_transform(geom, [1000, 0, 0, 1000, TINY_X0, TINY_Y0])


@pytest.fixture
def tiny_store(tmp_path: Path) -> LayerStore:
    """A 20 x 20 km square state whose right answers are known by hand.

    West half BLM, east half private; ownership unknown north of y = 15 km;
    protected box x 2-4, y 2-4 km; a 500 kV line at x = 8.5 km and a 138 kV line
    at x = 18.5 km; a substation at (8.5, 10); fiber along y = 0.5 km; one town of
    20,000 at (15, 5); water stress 2.0 everywhere.
    """
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    def layer(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(rows, geometry=[tiny_geometry(g) for g in geoms], crs="EPSG:5070").to_crs(
            "EPSG:4326")

    store = LayerStore(tmp_path / "tiny")
    meta = {"source": "hand-made test fixture", "url": "tests/conftest.py", "license": "CC0-1.0", "synthetic": True}
    square = box(0, 0, 20, 20)
    store.write("states", layer([{"state": "NV", "name": "Tiny"}], [square]), **meta)
    store.write("counties", layer([{"geoid": "32999", "name": "Tiny County", "state": "NV"}], [square]), **meta)
    coverage = gpd.GeoSeries([tiny_geometry(box(0, 0, 20, 15))], crs="EPSG:5070").to_crs("EPSG:4326")
    store.write("federal_land", layer(
        [{"agency": "BLM", "agency_name": "Bureau of Land Management", "unit_name": "Tiny FO", "is_federal": True},
         {"agency": "PRIVATE", "agency_name": "Private", "unit_name": None, "is_federal": False}],
        [box(0, 0, 10, 15), box(10, 0, 20, 15)]), coverage_wkt=coverage.iloc[0].wkt, partial=True, **meta)
    store.write("protected", layer([{"designation": "Wilderness", "name": "Tiny Wilderness"}], [box(2, 2, 4, 4)]),
                **meta)
    store.write("transmission", layer(
        [{"voltage_kv": 500.0, "voltage_class": "500"}, {"voltage_kv": 138.0, "voltage_class": "100-161"}],
        [LineString([(8.5, -1), (8.5, 21)]), LineString([(18.5, -1), (18.5, 21)])]), **meta)
    store.write("substations", layer([{"name": "Tiny 500", "max_voltage_kv": 500.0}], [Point(8.5, 10)]), **meta)
    store.write("water_stress", layer([{"score": 2.0, "category": "Medium - High (20-40%)"}], [square]), **meta)
    store.write("fiber", layer([{"name": "Tiny route", "kind": "fiber"}], [LineString([(-1, 0.5), (21, 0.5)])]),
                **meta)
    store.write("places", layer([{"name": "Tinytown", "population": 20000}], [Point(15, 5)]), **meta)
    return store
