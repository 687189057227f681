"""The analysis on a tiny hand-made region: exclusions, their causes, distances and sites."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from conftest import TINY_X0, TINY_Y0

from geo.analysis import prepare
from geo.config import load_config
from geo.errors import LayerNotFoundError
from geo.query import raw_at
from geo.store import LayerStore


def tiny_config(**overrides):
    base = {"states": ["NV"], "resolution_m": 1000, "sites": {"min_cell_score": 0.0, "min_area_acres": 1000,
                                                              "max_area_acres": 100000}}
    base.update(overrides)
    return load_config(overrides=base)


def cell(analysis, x_km: float, y_km: float) -> int:
    rows, cols, inside = analysis.grid.cell_of(np.array([TINY_X0 + x_km * 1000]), np.array([TINY_Y0 + y_km * 1000]))
    assert inside[0]
    return int(rows[0] * analysis.grid.width + cols[0])


def raw(analysis, name: str, x_km: float, y_km: float) -> float:
    """A criterion's raw value at a cell (eligible, or kept for the places ``prepare`` was given)."""
    return float(raw_at(analysis, name, np.array([cell(analysis, x_km, y_km)]))[0])


def places_at(*xy_km: tuple[float, float]) -> gpd.GeoDataFrame:
    """Points at the given kilometres of the tiny region, to keep their raw values."""
    x, y = zip(*xy_km, strict=True)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(TINY_X0 + np.array(x) * 1000, TINY_Y0 + np.array(y) * 1000),
                            crs="EPSG:5070")


def causes(analysis, x_km: float, y_km: float) -> list[str]:
    return analysis.exclusions.causes_at(int(analysis.exclusions.bits.ravel()[cell(analysis, x_km, y_km)]))


def test_exclusion_causes_are_kept_per_cell(tiny_store: LayerStore) -> None:
    analysis = prepare(tiny_config(), tiny_store)
    assert causes(analysis, 6.5, 8.5) == []                       # BLM, away from everything
    assert causes(analysis, 15.5, 10.5) == ["not_federal"]        # private east half
    assert causes(analysis, 5.5, 17.5) == ["ownership_unknown"]   # north of the ownership data
    assert causes(analysis, 3.5, 3.5) == ["protected"]            # inside the wilderness
    assert causes(analysis, 4.5, 3.5) == ["protected"]            # 0.5 km away: inside the 1 km buffer
    assert causes(analysis, 5.5, 3.5) == []                       # 1.5 km away: outside it
    assert "towns" in causes(analysis, 15.5, 5.5)                 # within 5 km of a town of 20,000


def test_unknown_ownership_can_be_included(tiny_store: LayerStore) -> None:
    analysis = prepare(tiny_config(land={"unknown_ownership": "include"}), tiny_store)
    assert causes(analysis, 5.5, 17.5) == []


def test_distance_criteria_are_real_km(tiny_store: LayerStore) -> None:
    analysis = prepare(tiny_config(), tiny_store, places=places_at((18.5, 8.5)))
    assert raw(analysis, "transmission", 0.5, 8.5) == pytest.approx(8.0, abs=0.02)
    assert raw(analysis, "fiber", 0.5, 8.5) == pytest.approx(8.0, abs=0.02)
    assert raw(analysis, "water_stress", 0.5, 8.5) == pytest.approx(2.0)
    # the 138 kV line does not count for the default 230 kV minimum (on private land: kept as a place)
    assert "not_federal" in causes(analysis, 18.5, 8.5)
    assert raw(analysis, "transmission", 18.5, 8.5) == pytest.approx(10.0, abs=0.02)


def test_raw_values_are_kept_on_eligible_cells_and_places_only(tiny_store: LayerStore) -> None:
    analysis = prepare(tiny_config(), tiny_store)
    assert all(values.shape == analysis.eligible.shape for values in analysis.raw.values())
    with pytest.raises(KeyError, match="neither"):
        raw(analysis, "transmission", 18.5, 8.5)
    kept = prepare(tiny_config(), tiny_store, places=places_at((18.5, 8.5), (0.5, 8.5)))
    assert kept.kept_cells.tolist() == [cell(analysis, 18.5, 8.5)]   # the eligible place needs no copy
    for name, values in analysis.raw.items():
        assert np.array_equal(values, kept.raw[name], equal_nan=True)
        assert np.array_equal(analysis.subscores[name], kept.subscores[name], equal_nan=True)


def test_voltage_filter_follows_configuration(tiny_store: LayerStore) -> None:
    analysis = prepare(tiny_config(criteria={"transmission": {"min_voltage_kv": 115}}), tiny_store,
                       places=places_at((18.5, 8.5)))
    assert raw(analysis, "transmission", 18.5, 8.5) == pytest.approx(0.0, abs=0.02)


def test_optional_layers_missing_are_reported_not_fatal(tiny_store: LayerStore) -> None:
    analysis = prepare(tiny_config(), tiny_store)
    assert [c.name for c in analysis.criteria] == ["transmission", "substation", "substation_lines", "water_stress",
                                                   "fiber"]
    assert any("slope" in line for line in analysis.skipped)
    assert sum(analysis.weights.values()) == pytest.approx(1.0)


def test_missing_required_layer_is_a_clear_error(tmp_path, tiny_store: LayerStore) -> None:
    config = tiny_config(criteria={"roads_only": {"layers": ["roads"], "weight": 0.1,
                                                  "value_function": {"kind": "linear", "low": 0, "high": 10}}})
    with pytest.raises(LayerNotFoundError, match=r"criterion .roads_only. \(configuration: .*\) needs layer .roads."):
        prepare(config, tiny_store)


def test_sites_only_on_eligible_federal_land(tiny_store: LayerStore) -> None:
    from geo.api import rank

    analysis = prepare(tiny_config(), tiny_store)
    sites, labels, _ = rank(analysis)
    assert len(sites) >= 1
    assert (analysis.exclusions.bits[labels > 0] == 0).all()
    assert set(sites["agency"]) == {"BLM"}
    top = sites.iloc[0]
    assert top["nearest_line_kv"] == 500.0
    assert top["nearest_substation"] == "Tiny 500"
    assert top["nearest_town"] == "Tinytown"


def test_two_criteria_measuring_the_same_file_warn_but_other_columns_do_not() -> None:
    from datetime import UTC, datetime

    from geo.analysis import _shared_sources
    from geo.config import Criterion
    from geo.provenance import Provenance

    record = Provenance(layer="rail", source="s", url="u", license="l", retrieved_at=datetime.now(UTC),
                        sha256="0" * 64, feature_count=1, source_checksum="a" * 64)
    stats = record.model_copy(update={"layer": "county_stats"})
    linear = {"kind": "linear", "low": 0, "high": 10}
    rail = Criterion(name="rail", layers=["rail"], value_function=linear, weight=1)
    rail_again = Criterion(name="rail_again", layers=["rail"], value_function=linear, weight=1)
    people = Criterion(name="people", layers=["county_stats"], measure="attribute", attribute="population",
                       value_function=linear, weight=1)
    wells = Criterion(name="wells", layers=["county_stats"], measure="attribute", attribute="groundwater_share",
                      value_function=linear, weight=1)
    warnings = _shared_sources([rail, rail_again, people, wells], {"rail": record, "county_stats": stats})
    assert len(warnings) == 1 and "'rail' and 'rail_again'" in warnings[0] and "counts twice" in warnings[0]


def test_each_distinct_raster_is_computed_once_per_run(tiny_store: LayerStore, monkeypatch) -> None:
    import geo.rastercache as rastercache

    calls: list[int] = []
    real = rastercache.distance_to_features_km

    def counting(frames, grid, cap_km=None, **kwargs):
        calls.append(len(frames))
        return real(frames, grid, cap_km, **kwargs)

    monkeypatch.setattr(rastercache, "distance_to_features_km", counting)
    # the same route stored again as a second layer, and measured by a second criterion with a smaller cap
    tiny_store.write("rail", tiny_store.read("fiber")[["geometry"]].assign(name="Tiny rail"),
                     source="hand-made test fixture", url="tests", license="CC0-1.0", synthetic=True)
    linear = {"kind": "linear", "low": 0, "high": 10}
    config = tiny_config(criteria={"rail_route": {"layers": ["rail"], "cap_km": 100, "weight": 0.1,
                                                  "value_function": linear}})
    analysis = prepare(config, tiny_store)
    distance_criteria = {c.name for c in analysis.criteria if c.measure == "distance"}
    # highway_rail finds only the rail layer here: fiber, highway_rail and rail_route measure one route
    assert distance_criteria == {"transmission", "substation", "fiber", "highway_rail", "rail_route"}
    assert len(calls) == 3
    fiber, rail = analysis.raw["fiber"], analysis.raw["rail_route"]
    assert np.array_equal(np.minimum(fiber, np.float16(100)), rail)
    assert np.array_equal(analysis.raw["highway_rail"], rail)
    assert raw(analysis, "rail_route", 0.5, 8.5) == pytest.approx(8.0, abs=0.02)


def test_slope_and_basin_height_are_shared_by_criteria_and_exclusions(demo_store: LayerStore, monkeypatch) -> None:
    import geo.rastercache as rastercache

    counts = {"slope": 0, "height": 0}
    real_slope, real_height = rastercache.slope_degrees, rastercache.height_above_basin_m

    def slope(*args):
        counts["slope"] += 1
        return real_slope(*args)

    def height(*args):
        counts["height"] += 1
        return real_height(*args)

    monkeypatch.setattr(rastercache, "slope_degrees", slope)
    monkeypatch.setattr(rastercache, "height_above_basin_m", height)
    config = load_config(overrides={
        "states": ["NV", "UT"],
        "criteria": {"relief": {"fallback_for": None}},
        "exclusions": {"high_ground": {"fallback_for": None}},
    })
    analysis = prepare(config, demo_store)
    names = {c.name for c in analysis.criteria}
    assert {"slope", "relief"} <= names
    assert {"steep_slope", "high_ground"} <= set(analysis.exclusions.causes)
    assert counts == {"slope": 1, "height": 1}
    assert analysis.raster_counts["slope reused"] == 1 and analysis.raster_counts["height above basin reused"] == 1
    steep = analysis.exclusions.bits & (1 << analysis.exclusions.causes.index("steep_slope")) > 0
    assert steep.any() and np.nanmax(analysis.raw["slope"]) <= 10   # the slope the exclusion took


def test_float16_raw_values_are_scored_through_a_table_with_the_same_result() -> None:
    from geo.analysis import _subscores

    every_float16 = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    raw = np.concatenate([every_float16, np.linspace(-5, 300, 100_000).astype(np.float16)])
    for criterion in load_config().criteria:
        direct = criterion.value_function(raw).astype(np.float16)
        assert np.array_equal(_subscores(criterion, raw), direct, equal_nan=True), criterion.name
        assert np.array_equal(_subscores(criterion, raw[::-1], np.arange(raw.size)[::-1].copy()), direct,
                              equal_nan=True), criterion.name
