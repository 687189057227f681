"""Generic normalisation steps: CRS, repair, duplicates, sentinels, units, clipping."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, Point, Polygon, box

from geo.errors import LayerSchemaError
from geo.sources import clean
from geo.sources.base import CLIP_MARGIN_KM, NormalizeContext

BOW_TIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])


def _state_ctx() -> NormalizeContext:
    states = gpd.GeoDataFrame(
        {"state": ["AZ", "NV"], "name": ["Arizona", "Nevada"]},
        geometry=[box(-113, 34, -111, 36), box(-118, 38, -116, 40)], crs="EPSG:4326",
    )
    return NormalizeContext(("AZ",), state_boundaries=states)


def _east_of(lon: float, lat: float, km: float) -> Point:
    """The point ``km`` east of (lon, lat), measured in EPSG:5070."""
    albers = gpd.GeoSeries([Point(lon, lat)], crs="EPSG:4326").to_crs("EPSG:5070").iloc[0]
    moved = Point(albers.x + km * 1000, albers.y)
    return gpd.GeoSeries([moved], crs="EPSG:5070").to_crs("EPSG:4326").iloc[0]


def test_to_store_crs_reprojects_and_refuses_missing_crs():
    frame = gpd.GeoDataFrame(geometry=[Point(-12245143.99, 4163881.14)], crs="EPSG:3857")
    out = clean.to_store_crs(frame, where="test")
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].x == pytest.approx(-110.0, abs=1e-6)
    assert out.geometry.iloc[0].y == pytest.approx(35.0, abs=1e-6)
    with pytest.raises(LayerSchemaError, match="no coordinate reference system"):
        clean.to_store_crs(gpd.GeoDataFrame(geometry=[Point(0, 0)]), where="test")


def test_repair_bow_tie_counts_it_and_keeps_polygons():
    frame = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[BOW_TIE, box(5, 5, 6, 6)], crs="EPSG:4326")
    out, repaired = clean.repair_geometries(frame, "Polygon")
    assert repaired == 1
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].geom_type == "MultiPolygon"
    assert out.geometry.iloc[0].area == pytest.approx(2.0)
    assert out.geometry.iloc[1].equals(box(5, 5, 6, 6))


def test_keep_family_extracts_the_layer_geometry_type():
    mixed = GeometryCollection([Point(0, 0), LineString([(0, 0), (1, 1)]), box(0, 0, 1, 1)])
    assert clean.keep_family(mixed, "Polygon").equals(box(0, 0, 1, 1))
    assert clean.keep_family(mixed, "Line").geom_type == "LineString"
    assert clean.keep_family(GeometryCollection([Point(0, 0)]), "Polygon") is None


def test_drop_empty_and_duplicates_count_what_they_remove():
    frame = gpd.GeoDataFrame(
        {"name": ["a", "a", "b", "c"]},
        geometry=[Point(1, 1), Point(1, 1), Point(1, 1), Point()], crs="EPSG:4326",
    )
    kept, empty = clean.drop_empty(frame)
    assert empty == 1
    unique, dups = clean.drop_duplicates(kept)
    assert dups == 1
    assert sorted(unique["name"]) == ["a", "b"]


def test_null_sentinels_numbers_and_text():
    frame = pd.DataFrame({
        "VOLTAGE": [-999999, 345.0, 9999],
        "OWNER": ["NOT AVAILABLE", " n/a ", "APS"],
        "other": [-999999, 1, 2],
    })
    out = clean.null_sentinels(frame, ["VOLTAGE", "OWNER", "absent"])
    assert out["VOLTAGE"].isna().tolist() == [True, False, True]
    assert out["OWNER"].isna().tolist() == [True, True, False]
    assert out["other"].tolist() == [-999999, 1, 2]


def test_max_kv_from_volts():
    values = pd.Series(["500000;230000", "115000", "medium", None, "-999999", "69000;fifty"])
    out = clean.max_kv_from_volts(values)
    assert out.iloc[0] == 500.0
    assert out.iloc[1] == 115.0
    assert np.isnan(out.iloc[2]) and np.isnan(out.iloc[3]) and np.isnan(out.iloc[4])
    assert out.iloc[5] == 69.0


def test_clip_region_is_the_states_grown_by_the_margin_in_true_km():
    region = clean.clip_region(_state_ctx())
    assert region.contains(_east_of(-111, 35, CLIP_MARGIN_KM - 5))
    assert not region.contains(_east_of(-111, 35, CLIP_MARGIN_KM + 5))
    assert not region.intersects(box(-118, 38, -116, 40))  # Nevada was not asked for


def test_clip_region_without_boundaries_and_with_a_missing_state():
    assert clean.clip_region(NormalizeContext(("AZ",))) is None
    ctx = _state_ctx()
    with pytest.raises(LayerSchemaError, match="UT"):
        clean.clip_region(NormalizeContext(("AZ", "UT"), state_boundaries=ctx.state_boundaries))


def test_clip_to_region_trims_crossing_lines_and_drops_outside_features():
    region = box(0, 0, 10, 10)
    frame = gpd.GeoDataFrame(
        {"id": [1, 2, 3]},
        geometry=[LineString([(5, 5), (15, 5)]), LineString([(20, 20), (30, 30)]),
                  LineString([(1, 1), (2, 2)])],
        crs="EPSG:4326",
    )
    out, outside = clean.clip_to_region(frame, region, "Line")
    assert outside == 1
    assert out["id"].tolist() == [1, 3]
    assert out.geometry.iloc[0].equals(LineString([(5, 5), (10, 5)]))
    assert shapely.within(out.geometry.to_numpy(), shapely.buffer(region, 1e-9)).all()
