"""Canonical layer schemas: every kind of bad input gets an error naming layer and column."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon

from geo.errors import LayerSchemaError
from geo.schema import SCHEMAS, validate_layer


def lines(**columns: list) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=[LineString([(i, 0), (i, 1)]) for i in range(n)], crs="EPSG:4326")


def test_valid_layer_gets_canonical_dtypes() -> None:
    out = validate_layer("transmission", lines(voltage_kv=[230, None], voltage_class=["220-287", None]))
    assert str(out["voltage_kv"].dtype) == "float64"
    assert out["status"].isna().all()  # optional column added as missing
    assert list(out.columns) == ["voltage_kv", "voltage_class", "status", "owner", "geometry"]


def test_wrong_crs() -> None:
    frame = lines(voltage_kv=[230.0]).set_crs("EPSG:5070", allow_override=True)
    with pytest.raises(LayerSchemaError, match="layer 'transmission'.*CRS EPSG:5070: expected EPSG:4326"):
        validate_layer("transmission", frame)


def test_invalid_geometry() -> None:
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    frame = gpd.GeoDataFrame({"designation": ["Wilderness"]}, geometry=[bowtie], crs="EPSG:4326")
    with pytest.raises(LayerSchemaError, match="'protected'.*1 invalid geometries.*make_valid"):
        validate_layer("protected", frame)


def test_empty_layer() -> None:
    with pytest.raises(LayerSchemaError, match="'substations' is empty"):
        validate_layer("substations", gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326"))


def test_missing_required_column() -> None:
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(LayerSchemaError, match="'places' is missing column 'population'"):
        validate_layer("places", frame)


def test_wrong_geometry_type() -> None:
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(LayerSchemaError, match="expected Line"):
        validate_layer("fiber", frame.assign(kind="fiber"))


@pytest.mark.parametrize("value", [-999999, -9999])
def test_sentinel_numbers_rejected(value: float) -> None:
    with pytest.raises(LayerSchemaError, match=r"column 'voltage_kv': sentinel value"):
        validate_layer("transmission", lines(voltage_kv=[230.0, value]))


def test_nan_in_required_numeric_column() -> None:
    polygons = [Polygon([(0, 0), (1, 0), (1, 1)]), Polygon([(2, 0), (3, 0), (3, 1)])]
    frame = gpd.GeoDataFrame({"score": [1.0, np.nan]}, geometry=polygons, crs="EPSG:4326")
    with pytest.raises(LayerSchemaError, match="'water_stress', column 'score': 1 missing values"):
        validate_layer("water_stress", frame)


def test_out_of_range_and_unparsable() -> None:
    with pytest.raises(LayerSchemaError, match="outside \\[0, 1500\\] kV"):
        validate_layer("transmission", lines(voltage_kv=[5000.0]))
    with pytest.raises(LayerSchemaError, match="expected numbers, found 'high'"):
        validate_layer("transmission", lines(voltage_kv=["high"]))


def test_unknown_choice() -> None:
    with pytest.raises(LayerSchemaError, match="'voltage_class': value 'NOT AVAILABLE' is not one of"):
        validate_layer("transmission", lines(voltage_class=["NOT AVAILABLE"]))


def test_every_vector_schema_names_its_columns() -> None:
    for name, schema in SCHEMAS.items():
        assert schema.description
        for column in schema.columns:
            assert column.description, f"{name}.{column.name}"
