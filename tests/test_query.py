"""Point and parcel queries, reading places, and explanations."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import tiny_geometry
from shapely.geometry import Point, box
from test_analysis import tiny_config

from geo.analysis import prepare
from geo.errors import InputError
from geo.query import explain_location, explain_site, read_places, score_places


def places(*geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(geoms))]},
                            geometry=[tiny_geometry(g) for g in geoms], crs="EPSG:5070").to_crs("EPSG:4326")


def test_point_scores_match_the_grid_and_name_the_exclusion(tiny_store) -> None:
    points = places(Point(0.5, 8.5), Point(3.5, 3.5), Point(15.5, 10.5))
    scored = score_places(prepare(tiny_config(), tiny_store, places=points), points)
    assert scored.loc[0, "transmission_value"] == pytest.approx(8.0, abs=0.02)
    assert not scored.loc[0, "excluded"] and scored.loc[0, "exclusions"] == ""
    assert scored.loc[1, "excluded"] and "protected" in scored.loc[1, "exclusions"]
    assert scored.loc[2, "excluded"] and "not federal" in scored.loc[2, "exclusions"]
    assert 0 <= scored.loc[0, "score"] <= 1
    assert list(scored["name"]) == ["p0", "p1", "p2"]


def test_polygon_takes_mean_of_cells_and_share_excluded(tiny_store) -> None:
    parcel = places(box(8, 6, 12, 8))   # half BLM, half private
    scored = score_places(prepare(tiny_config(), tiny_store, places=parcel), parcel)
    assert scored.loc[0, "excluded_share"] == pytest.approx(0.5)
    assert scored.loc[0, "transmission_value"] == pytest.approx(np.mean([0.0, 1.0, 2.0, 3.0]), abs=0.02)


def test_point_outside_grid(tiny_store) -> None:
    analysis = prepare(tiny_config(), tiny_store)
    scored = score_places(analysis, places(Point(500, 500)))
    assert scored.loc[0, "excluded"] and "outside" in scored.loc[0, "exclusions"]


def test_read_places_csv_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "p.csv"
    good.write_text("name,Longitude,Latitude\nA,-114.0,38.5\n")
    assert read_places(good).geometry.iloc[0].equals(Point(-114.0, 38.5))
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lon,lat\nA,-114.0,38.5\nB,-999999,38\n")
    with pytest.raises(InputError, match=r"bad.csv: row 3 has an invalid coordinate"):
        read_places(bad)
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("name,east,north\nA,1,2\n")
    with pytest.raises(InputError, match="needs longitude and latitude columns"):
        read_places(nocols)
    with pytest.raises(InputError, match="no such file"):
        read_places(tmp_path / "missing.geojson")


def test_explain_site_and_location(demo_result) -> None:
    sites, record = demo_result.sites, demo_result.record
    answer = explain_site(sites.iloc[0], record, len(sites))
    assert answer["summary"].startswith(f"Site {sites.iloc[0]['site_id']} ranks 1 of {len(sites)}")
    assert {p["criterion"] for p in answer["criteria"]} == set(record.weights)
    centre = sites.iloc[0].geometry.representative_point()
    inside = explain_location(demo_result.output_dir, record, sites, centre.x, centre.y)
    assert inside["status"] == "site" and inside["rank"] == 1
    east = explain_location(demo_result.output_dir, record, sites, -113.4, 38.5)
    assert east["status"] == "excluded" and "ownership_unknown" in east["causes"]
