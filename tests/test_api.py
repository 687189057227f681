"""End to end on the demo region: the Python API, the outputs and the run record."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest

from geo.api import open_store, run
from geo.config import load_config
from geo.outputs import SITES_CSV, SITES_GEOJSON, SITES_PARQUET
from geo.runs import RUN_RECORD, latest_run


def test_demo_run_ranks_sites_with_breakdowns(demo_result) -> None:
    sites = demo_result.sites
    assert len(sites) > 5
    assert sites["rank"].tolist() == list(range(1, len(sites) + 1))
    assert sites["score"].is_monotonic_decreasing
    assert sites["site_id"].is_unique
    assert (sites["area_acres"] >= 1000).all() and (sites["area_acres"] <= 10000 + 1).all()
    for name in demo_result.record.weights:
        assert sites[f"{name}_score"].between(0, 1).all()
    total = sum(sites[f"{name}_contribution"] for name in demo_result.record.weights)
    assert (total - sites["score"]).abs().max() < 0.01
    assert sites.crs.to_epsg() == 4326
    assert demo_result.synthetic


def test_outputs_and_run_record(demo_result) -> None:
    folder = demo_result.output_dir
    assert latest_run(folder.parent) == folder
    csv = pd.read_csv(folder / SITES_CSV)
    geojson = gpd.read_file(folder / SITES_GEOJSON)
    parquet = gpd.read_parquet(folder / SITES_PARQUET)
    assert len(csv) == len(geojson) == len(parquet) == len(demo_result.sites)
    assert list(csv["site_id"]) == list(parquet["site_id"])
    record = json.loads((folder / RUN_RECORD).read_text())
    assert record["synthetic"] is True
    assert record["config"]["resolution_m"] == 250
    assert set(record["layers"]) >= {"states", "federal_land", "transmission", "elevation"}
    assert all(layer["synthetic"] for layer in record["layers"].values())
    assert record["version"]
    assert "criterion transmission" in record["timings_s"]
    assert record["exclusions"]["area_km2"]["ownership_unknown"] > 0


def test_failed_run_leaves_nothing_half_written(demo_store, tmp_path, monkeypatch) -> None:
    import geo.outputs

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(geo.outputs, "_write_raster", broken)
    with pytest.raises(OSError, match="disk full"):
        run(store=demo_store, runs_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_presets_change_the_ranking(demo_store) -> None:
    fab = run(load_config(preset="chip_fab"), demo_store, runs_dir=None)
    cable = run(load_config(preset="fiber_cable_plant"), demo_store, runs_dir=None)
    assert fab.analysis.weights != cable.analysis.weights
    assert list(fab.sites["site_id"][:10]) != list(cable.sites["site_id"][:10])


def test_empty_default_store_falls_back_to_demo(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no data/store here
    store, demo = open_store(None, demo_dir=tmp_path / "demo")
    assert demo and store.has("federal_land")
    assert all(p.synthetic for p in store.provenances().values())


def test_every_output_row_says_synthetic(demo_result) -> None:
    csv = pd.read_csv(demo_result.output_dir / SITES_CSV)
    assert csv["caveats"].str.contains("SYNTHETIC").all()
