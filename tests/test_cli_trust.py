"""`geo sensitivity`, `geo compare` and `geo validate` on the demo region, in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geo.api import RunResult
from geo.cli.compare import compare
from geo.cli.sensitivity import sensitivity
from geo.cli.validate import validate
from geo.sensitivity import ROBUSTNESS_COLUMNS
from geo.store import LayerStore


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_sensitivity_prints_robustness_and_writes_table_and_record(in_tmp: Path, demo_store: LayerStore) -> None:
    runner = CliRunner()
    args = ["--store", str(demo_store.root), "--draws", "10", "--top-n", "5", "--seed", "2"]
    result = runner.invoke(sensitivity, [*args, "-o", "robust.csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DEMO DATA" in result.output and "Robustness of the top 5" in result.output
    table = pd.read_csv(in_tmp / "robust.csv")
    assert table["site_id"].iloc[0] in result.output
    assert set(ROBUSTNESS_COLUMNS) <= set(table.columns)
    again = runner.invoke(sensitivity, [*args, "-q", "-o", "robust.json"], catch_exceptions=False)
    assert again.exit_code == 0
    record = json.loads((in_tmp / "robust.json").read_text())
    assert record["settings"]["draws"] == 10 and record["settings"]["top_n"] == 5
    by_site = {s["site_id"]: s["top_n_share"] for s in record["sites"]}
    assert by_site == dict(zip(table["site_id"], table["top_n_share"].round(4), strict=True))  # same seed, same answer
    assert len(record["summary"]) == len(record["weights"])


def test_sensitivity_rejects_an_unknown_output_format(in_tmp: Path, demo_store: LayerStore) -> None:
    result = CliRunner().invoke(sensitivity, ["--store", str(demo_store.root), "-o", "out.xlsx"])
    assert result.exit_code == 2 and "out.xlsx" in result.output
    assert not (in_tmp / "out.xlsx").exists()


def test_compare_presets_and_a_file(in_tmp: Path, demo_store: LayerStore) -> None:
    (in_tmp / "water.yaml").write_text("preset: chip_fab\nname: thirsty\ncriteria:\n  water_stress: {weight: 0.6}\n")
    result = CliRunner().invoke(
        compare, ["chip_fab", "water.yaml", "fiber_cable_plant", "--store", str(demo_store.root), "--top-n", "5",
                  "-o", "compare.json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Agreement between scenarios" in result.output and "rank in thirsty" in result.output
    record = json.loads((in_tmp / "compare.json").read_text())
    assert set(record["scenarios"]) == {"chip_fab", "thirsty", "fiber_cable_plant"}
    assert len(record["pairs"]) == 3
    csv = CliRunner().invoke(compare, ["chip_fab", "fiber_cable_plant", "--store", str(demo_store.root), "-q",
                                       "-o", "compare.csv", "--map", "compare.html"], catch_exceptions=False)
    assert csv.exit_code == 0
    assert {"scenario", "rank_in_chip_fab", "rank_in_fiber_cable_plant"} <= set(pd.read_csv(in_tmp / "compare.csv"))
    assert "Scenario: fiber_cable_plant" in (in_tmp / "compare.html").read_text(encoding="utf-8")


def test_compare_names_an_unknown_scenario(in_tmp: Path, demo_store: LayerStore) -> None:
    result = CliRunner().invoke(compare, ["chip_fab", "rocket_plant", "--store", str(demo_store.root)])
    assert result.exit_code == 2 and "rocket_plant" in result.output
    single = CliRunner().invoke(compare, ["chip_fab", "--store", str(demo_store.root)])
    assert single.exit_code == 2 and "at least two" in single.output


def test_validate_reports_auc_and_percentile(in_tmp: Path, demo_store: LayerStore, demo_result: RunResult) -> None:
    sites = demo_result.sites
    good = pd.DataFrame({"lon": sites["lon"].head(5), "lat": sites["lat"].head(5), "known_good": 1})
    bad = pd.DataFrame({"lon": sites["lon"].tail(5), "lat": sites["lat"].tail(5), "known_good": 0})
    pd.concat([good, bad]).to_csv(in_tmp / "places.csv", index=False)
    result = CliRunner().invoke(validate, ["--points", "places.csv", "--store", str(demo_store.root),
                                           "--bootstrap", "200", "-o", "validation.json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "ROC AUC: 1.000" in result.output and "median rank percentile" in result.output
    record = json.loads((in_tmp / "validation.json").read_text())
    assert record["positives"] == 5 and record["negatives"] == 5 and len(record["places"]) == 10
