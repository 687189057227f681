"""`geo explain`: coordinates it refuses, a missing runs folder, and nearest features that are absent."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from geo.cli import cli
from geo.runs import RUN_RECORD, SITES_PARQUET, latest_run


@pytest.fixture
def runner(demo_store, tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEO_STORE", str(demo_store.root))
    return CliRunner()


@pytest.mark.parametrize("lon, lat, bad", [
    ("nan", "nan", "nan"), ("-114", "95", "95.0"), ("-200", "38", "-200.0"), ("-114", "inf", "inf"),
])
def test_explain_refuses_coordinates_that_are_not_on_earth(runner: CliRunner, lon: str, lat: str, bad: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail the test
        result = runner.invoke(cli, ["explain", "--lon", lon, "--lat", lat])
    assert result.exit_code == 2, result.output
    assert bad in result.output and "not a coordinate" in result.output
    assert "Warning" not in result.output


def test_explain_far_from_the_states_is_outside(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["run", "-q"]).exit_code == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.invoke(cli, ["explain", "--lon", "170", "--lat", "-80", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "outside"


def test_explain_with_a_runs_dir_that_does_not_exist_names_it(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    result = runner.invoke(cli, ["explain", "XX-1", "--runs-dir", str(missing)])
    assert result.exit_code == 3
    assert f"--runs-dir {missing}: no such folder" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_explain_never_prints_nan_for_a_missing_substation(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["run", "-q"]).exit_code == 0
    folder = latest_run(Path("data/runs"))
    sites = gpd.read_parquet(folder / SITES_PARQUET)
    sites["nearest_substation"] = None
    sites["nearest_substation_km"] = float("nan")
    sites["nearest_town_km"] = float("nan")
    sites.to_parquet(folder / SITES_PARQUET)
    record = json.loads((folder / RUN_RECORD).read_text())
    del record["layers"]["substations"]
    (folder / RUN_RECORD).write_text(json.dumps(record))
    result = runner.invoke(cli, ["explain", sites.iloc[0]["site_id"]])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output.lower().replace("unnamed", "")
    assert "nearest substation: no substation layer" in result.output
    assert "nearest town: none qualifying in the places layer" in result.output
