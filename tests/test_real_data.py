"""End to end on the real public files: refresh from a directory, rank real sites at 250 m, and check the
answer against places a siting analyst knows (``tests/data/known_places.csv``).

The known places guard against regressions; they are not evidence that the ranking is right.
Skipped where ``../shared/data`` is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA

from geo.cli import cli
from geo.store import LayerStore

KNOWN_PLACES = Path(__file__).parent / "data" / "known_places.csv"
#: Land that must never hold a site in the default configuration.
NEVER = ("DOD", "DOE", "NPS", "FWS", "TRIBAL")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not (SHARED_DATA / "raw").is_dir():
        pytest.skip(f"real public data not present at {SHARED_DATA}")
    root = tmp_path_factory.mktemp("real")
    runner = CliRunner()
    store = root / "store"
    refreshed = runner.invoke(cli, ["refresh", "--from", str(SHARED_DATA / "raw"), "--store", str(store), "-q"])
    assert refreshed.exit_code == 0, refreshed.output
    ranked = runner.invoke(cli, ["run", "--store", str(store), "--runs-dir", str(root / "runs"),
                                 "--robustness-draws", "0", "--per-state", "2"])
    assert ranked.exit_code == 0, ranked.output
    assert "sites per state: " in ranked.output and "terrain: " in ranked.output
    return next(p for p in (root / "runs").iterdir() if p.is_dir()), store


@pytest.mark.shared_data
def test_all_three_states_hold_sites_on_blm_land(real_run) -> None:
    folder, store = real_run
    sites = pd.read_csv(folder / "sites.csv")
    counts = sites["state"].value_counts()
    assert {"AZ", "NV", "UT"} <= set(counts.index) and counts.min() >= 5
    assert (sites.head(50)["state"] == "AZ").any()
    assert set(sites["agency"]) == {"BLM"}
    record = json.loads((folder / "run.json").read_text())
    assert all(record["states"][s]["sites"] == counts[s] for s in ("AZ", "NV", "UT"))
    assert not record["synthetic"]
    assert "ownership_unknown" not in record["exclusions"]["area_km2"] or (
        record["exclusions"]["area_km2"]["ownership_unknown"] < 1000)


@pytest.mark.shared_data
def test_top_sites_are_near_high_voltage_and_off_excluded_land(real_run) -> None:
    folder, store = real_run
    sites = gpd.read_file(folder / "sites.geojson").to_crs(5070)
    top = sites.head(20)
    assert top["nearest_line_kv"].ge(230).all() and top["nearest_line_km"].le(20).all()
    land = LayerStore(store).read("federal_land").to_crs(5070)
    tribal = LayerStore(store).read("tribal_land").to_crs(5070)
    never = pd.concat([land[land["agency"].isin(NEVER)].geometry, tribal.geometry]).make_valid().union_all()
    shares = top.geometry.intersection(never).area / top.geometry.area
    assert shares.max() < 0.2, top.assign(share=shares)[["site_id", "share"]]


@pytest.mark.shared_data
def test_every_site_row_says_how_terrain_and_ownership_were_measured(real_run) -> None:
    folder, _ = real_run
    sites = pd.read_csv(folder / "sites.csv")
    assert sites["terrain"].str.contains("height above the basin floor").all()
    assert sites["terrain"].str.contains("slope not used").all()
    assert sites["compactness"].between(0, 1).all()
    assert set(sites["ownership_source"]) <= {"padus3_great_basin", "national_atlas_federal_lands"}
    assert (sites.loc[sites["state"] == "AZ", "ownership_source"] == "national_atlas_federal_lands").all()


@pytest.mark.shared_data
def test_known_bad_places_lie_outside_every_top_site_and_good_ones_are_eligible(real_run) -> None:
    folder, store = real_run
    places = pd.read_csv(KNOWN_PLACES)
    points = gpd.GeoDataFrame(places, geometry=gpd.points_from_xy(places["lon"], places["lat"]), crs=4326)
    top = gpd.read_file(folder / "sites.geojson").head(100)
    bad = points[~points["known_good"]]
    inside = gpd.sjoin(bad, top[["site_id", "geometry"]], predicate="within")
    assert inside.empty, inside[["name", "site_id"]]
    from geo.query import explain_location
    from geo.runs import read_run

    sites, record = read_run(folder)
    for place in points[points["known_good"]].itertuples():
        answer = explain_location(folder, record, sites, place.lon, place.lat)
        assert answer["status"] != "excluded", (place.name, answer)


@pytest.mark.shared_data
def test_validate_reports_auc_and_rank_percentiles_on_the_known_places(real_run, tmp_path) -> None:
    _, store = real_run
    out = tmp_path / "validation.csv"
    result = CliRunner().invoke(cli, ["validate", "--points", str(KNOWN_PLACES), "--store", str(store),
                                      "--resolution", "1000", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "ROC AUC: " in result.output and "median rank percentile" in result.output
    assert pd.read_csv(out)["rank_percentile"].notna().all()


@pytest.mark.shared_data
def test_criteria_no_longer_share_a_source_file(real_run) -> None:
    folder, _ = real_run
    record = json.loads((folder / "run.json").read_text())
    assert not any("counts twice" in w for w in record["warnings"])
    assert record["layers"]["backbone_pops"]["coarse"]


@pytest.mark.shared_data
def test_labour_water_and_grid_strength_give_known_answers(real_run) -> None:
    from geo.api import score_points
    from geo.config import load_config

    _, store = real_run
    places = pd.DataFrame({"name": ["Phoenix 30 km west", "Ely 10 km south", "Las Vegas Valley", "Hunter plant"],
                           "lon": [-112.40, -114.89, -115.15, -111.03], "lat": [33.45, 39.16, 36.15, 39.17]})
    points = gpd.GeoDataFrame(places, geometry=gpd.points_from_xy(places["lon"], places["lat"]), crs=4326)
    scored = score_points(points, load_config(overrides={"resolution_m": 1000}), store).set_index("name")
    assert scored.loc["Phoenix 30 km west", "labour_pool_value"] > 1_000_000
    assert scored.loc["Ely 10 km south", "labour_pool_value"] < 50_000
    assert scored.loc["Las Vegas Valley", "water_access_value"] == 0
    assert scored.loc["Hunter plant", "generation_nearby_value"] >= 1500  # Hunter alone is 1,577 MW
    assert (scored["groundwater_value"].between(0, 1)).all()
    record = LayerStore(store).provenance("county_stats")
    assert any("vintage 2015" in note for note in record.notes)
