"""End to end on the real public files: refresh from a directory, then rank real sites.

Skipped where ``../shared/data`` is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geo.cli import cli
from geo.store import LayerStore


@pytest.fixture
def real_run(shared_data: Path, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    refreshed = runner.invoke(cli, ["refresh", "--from", str(shared_data / "raw"), "--store", "store", "-q"])
    assert refreshed.exit_code == 0, refreshed.output
    ranked = runner.invoke(cli, ["run", "--store", "store", "--resolution", "1000", "-q"])
    assert ranked.exit_code == 0, ranked.output
    return next(p for p in (tmp_path / "data" / "runs").iterdir() if p.is_dir())


def test_real_layers_rank_real_sites(real_run: Path, tmp_path: Path) -> None:
    sites = pd.read_csv(real_run / "sites.csv")
    assert len(sites) > 10
    assert set(sites["state"]) <= {"NV", "UT"}, "Arizona has no ownership data, so no site may be placed there"
    assert (sites["agency"] != "UNKNOWN").all()
    assert sites["nearest_line_kv"].dropna().ge(230).all()
    assert sites["caveats"].str.contains("proxy").all()
    record = json.loads((real_run / "run.json").read_text())
    assert not record["synthetic"]
    assert record["layers"]["federal_land"]["partial"]
    assert record["layers"]["fiber"]["proxy_for"]
    assert record["exclusions"]["area_km2"]["ownership_unknown"] > 250_000  # all of Arizona at least
    stored = LayerStore(tmp_path / "store")
    assert {"states", "counties", "federal_land", "transmission", "substations", "water_stress", "fiber"} <= set(
        stored.layers())


def test_arizona_is_shown_as_unknown_not_as_non_federal(real_run: Path) -> None:
    from geo.outputs import read_run
    from geo.query import explain_location

    sites, record = read_run(real_run)
    phoenix_desert = explain_location(real_run, record, sites, -112.9, 33.2)
    assert phoenix_desert["status"] == "excluded"
    assert "ownership_unknown" in phoenix_desert["causes"] and "not_federal" not in phoenix_desert["causes"]


def test_criteria_from_the_same_file_are_flagged(real_run: Path) -> None:
    record = json.loads((real_run / "run.json").read_text())
    assert any("'fiber' and 'highway_rail'" in w and "counts twice" in w for w in record["warnings"])
