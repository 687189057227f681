"""Scoring places from the layers directly: known answers, and agreement with the raster path within one cell."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import tiny_geometry
from shapely.geometry import Point, box
from test_analysis import tiny_config

from geo.analysis import Analysis, _blank_outside_coverage, prepare
from geo.api import resolve, score_points
from geo.config import load_config
from geo.criteria import criterion_raw
from geo.placescores import score_places_from_layers
from geo.pointquery import PointScorer
from geo.query import score_places
from geo.store import LayerStore

#: Cells (m) some raster measures are computed on before they are copied onto the grid.
COARSE_CELL_M = {"capacity_within": 1000.0, "substation_lines": 1000.0}


def places(*geoms, **columns) -> gpd.GeoDataFrame:
    data = {"name": [f"p{i}" for i in range(len(geoms))], **columns}
    return gpd.GeoDataFrame(data, geometry=[tiny_geometry(g) for g in geoms], crs="EPSG:5070").to_crs("EPSG:4326")


def test_exact_distances_exclusions_and_status_on_the_tiny_region(tiny_store: LayerStore) -> None:
    scorer = PointScorer.load(tiny_config(), tiny_store)
    scored = score_places_from_layers(scorer, places(
        Point(0.3, 8.7), Point(3.5, 3.5), Point(15.5, 10.5), Point(4.6, 3.0), Point(5.2, 3.0), Point(500, 500),
        Point(5.5, 17.5)))
    assert scored.loc[0, "transmission_value"] == pytest.approx(8.2, abs=1e-4)   # exact, not the cell's 8.0
    assert scored.loc[0, "substation_value"] == pytest.approx(np.hypot(8.2, 1.3), abs=1e-4)
    assert scored.loc[0, "status"] == "scored" and 0 < scored.loc[0, "score"] <= 1
    assert list(scored["status"]) == ["scored", "excluded", "excluded", "excluded", "scored", "outside", "excluded"]
    assert scored.loc[1, "exclusion_causes"] == "protected" and "protected area" in scored.loc[1, "exclusions"]
    assert scored.loc[2, "exclusion_causes"] == "not_federal"
    assert scored.loc[3, "exclusion_causes"] == "protected"        # 600 m from the wilderness: inside its buffer
    assert scored.loc[6, "exclusion_causes"] == "ownership_unknown"
    assert scored.loc[1:3, "score"].isna().all() and scored.loc[1:3, "excluded"].all()
    outside = scored.loc[5]
    assert outside["exclusion_causes"] == "outside_study_area" and np.isnan(outside["score"])
    assert outside.filter(like="_value").isna().all()                # never a capped 100 km
    assert list(scored["name"]) == [f"p{i}" for i in range(7)] and list(scored["row"]) == list(range(1, 8))


def test_polygon_takes_the_mean_of_its_cells_and_the_share_excluded(tiny_store: LayerStore) -> None:
    scorer = PointScorer.load(tiny_config(), tiny_store)
    scored = score_places_from_layers(scorer, places(box(8, 6, 12, 8), box(0.2, 8.2, 0.4, 8.4)))
    assert scored.loc[0, "excluded_share"] == pytest.approx(0.5)      # half BLM, half private
    assert scored.loc[0, "transmission_value"] == pytest.approx(np.mean([0.0, 1.0, 2.0, 3.0]), abs=1e-4)
    assert scored.loc[1, "status"] == "scored"                        # smaller than a cell: its inner point
    assert scored.loc[1, "transmission_value"] == pytest.approx(8.2, abs=0.01)


def test_user_columns_are_kept_and_a_clash_is_renamed(tiny_store: LayerStore) -> None:
    scorer = PointScorer.load(tiny_config(), tiny_store)
    scored = score_places_from_layers(scorer, places(Point(6.5, 8.5), id=["A-1"], score=[99]))
    assert list(scored.columns[:3]) == ["name", "id", "score_input"]
    assert scored.loc[0, "id"] == "A-1" and scored.loc[0, "score_input"] == 99


def test_score_points_uses_the_layers_and_hides_the_score_of_excluded_places(tiny_store: LayerStore) -> None:
    scored = score_points(places(Point(6.5, 8.5), Point(3.5, 3.5)), tiny_config(), tiny_store)
    assert scored.loc[0, "status"] == "scored" and scored.loc[0, "score"] > 0
    assert scored.loc[1, "status"] == "excluded" and np.isnan(scored.loc[1, "score"])


def _cell_centres(analysis: Analysis, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and centres of random eligible cells and random cells of the grid."""
    rng = np.random.default_rng(seed)
    flat = np.concatenate([rng.choice(analysis.eligible, n), rng.integers(0, analysis.grid.width *
                                                                          analysis.grid.height, n)])
    rows, cols = np.divmod(flat, analysis.grid.width)
    x, y = analysis.grid.cell_centres(rows, cols)
    return rows, cols, gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=analysis.grid.crs).to_crs(4326)


def _one_cell_change(analysis: Analysis, elevation: Path | None, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Per cell, how much the raster score can change within one cell of it: the weighted range of each
    criterion's sub-score over its neighbours (over the coarse cell where a measure is taken on one)."""
    change = np.zeros(len(rows))
    for criterion in analysis.criteria:
        full = criterion_raw(criterion, analysis.layers, analysis.grid, elevation)   # on every cell, as kept
        full = _blank_outside_coverage(full, criterion, analysis.provenance, analysis.grid)
        reach = max(1, int(np.ceil(COARSE_CELL_M.get(criterion.measure, 0) / analysis.grid.resolution)))
        for i, (row, col) in enumerate(zip(rows, cols, strict=True)):
            window = full[max(row - reach, 0):row + reach + 1, max(col - reach, 0):col + reach + 1]
            sub = criterion.value_function(window.astype(np.float32))
            if not np.isnan(sub).all():
                change[i] += analysis.weights[criterion.name] * float(np.nanmax(sub) - np.nanmin(sub))
    return change


def _agreement(store: LayerStore | None, resolution: float, n: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    config, layer_store = resolve(load_config(overrides={"resolution_m": resolution}), store)
    rows, cols, points = _cell_centres(prepare(config, layer_store), n)
    analysis = prepare(config, layer_store, places=points)
    fast = score_places_from_layers(PointScorer.load(config, layer_store), points)
    slow = score_places(analysis, points)
    elevation = layer_store.data_path("elevation") if layer_store.has("elevation") else None
    return fast, slow, {"analysis": analysis, "rows": rows, "cols": cols, "elevation": elevation}


def _assert_within_one_cell(fast: pd.DataFrame, slow: pd.DataFrame, context: dict, *, exact_share: float,
                            sees_all: np.ndarray | None = None) -> None:
    analysis = context["analysis"]
    diagonal_km = analysis.grid.resolution * np.sqrt(2) / 1000
    inside = (fast["status"] != "outside").to_numpy()
    assert (fast["excluded"].to_numpy() == slow["excluded"].to_numpy())[inside].mean() >= exact_share
    for criterion in analysis.criteria:
        if criterion.measure != "distance":
            continue
        ours = fast[f"{criterion.name}_value"].to_numpy(float)[inside]
        theirs = slow[f"{criterion.name}_value"].to_numpy(float)[inside]
        assert (ours <= theirs + diagonal_km + 1e-3).all(), criterion.name   # exact is never farther
        close = np.ones(len(ours), dtype=bool) if sees_all is None else sees_all[inside]
        within = np.abs(ours - theirs)[close] <= diagonal_km + 1e-3
        polygons = all(analysis.layers[name].geom_type.str.contains("Polygon").all()
                       for name in criterion.layers if name in analysis.layers)
        # the grid burns a polygon by cell centre, so one narrower than a cell can vanish from the raster
        assert within.mean() >= (0.95 if polygons else 1.0), criterion.name
    both = (fast["status"] == "scored").to_numpy() & ~slow["excluded"].to_numpy()
    change = _one_cell_change(analysis, context["elevation"], context["rows"], context["cols"])
    gap = np.abs(fast["score"].to_numpy(float) - slow["score"].to_numpy(float))
    assert both.sum() > 50
    assert (gap[both] <= change[both] + 0.01).all(), np.max(gap[both] - change[both])


def test_agrees_with_the_raster_path_within_one_cell_on_the_demo_region(demo_store: LayerStore) -> None:
    fast, slow, context = _agreement(demo_store, 250.0, 200)
    _assert_within_one_cell(fast, slow, context, exact_share=1.0)


@pytest.mark.shared_data
def test_agrees_with_the_raster_path_within_one_cell_on_the_real_files(shared_data: Path, tmp_path: Path) -> None:
    from geo.refresh import refresh

    store = LayerStore(tmp_path / "store")
    refresh(store, from_dir=shared_data / "raw")
    fast, slow, context = _agreement(store, 250.0, 200)
    analysis = context["analysis"]
    # the raster only sees features inside its grid: compare distances where no feature can hide beyond its edge
    x, y = analysis.grid.cell_centres(context["rows"], context["cols"])
    minx, miny, maxx, maxy = analysis.grid.bounds
    edge_km = np.minimum.reduce([x - minx, maxx - x, y - miny, maxy - y]) / 1000
    nearest_km = np.nanmax(slow.filter(like="_value")[[f"{c.name}_value" for c in analysis.criteria
                                                        if c.measure == "distance"]].to_numpy(float), axis=1)
    _assert_within_one_cell(fast, slow, context, exact_share=0.98, sees_all=edge_km > nearest_km)
