"""The `geo` command line: run, rank, score and explain, exit codes and help."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from geo.cli import cli


@pytest.fixture
def runner(demo_store, tmp_path, monkeypatch) -> CliRunner:
    """A runner inside a fresh folder whose store is the demo region."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEO_STORE", str(demo_store.root))
    return CliRunner()


@pytest.mark.parametrize("command", ["run", "rank", "score", "explain", "refresh", "layers"])
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_run_writes_outputs_and_prints_top_sites(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["run", "--top", "3", "-q"])
    assert result.exit_code == 0, result.output
    folders = [p for p in (tmp_path / "data" / "runs").iterdir() if p.is_dir()]
    assert len(folders) == 1
    assert {p.name for p in folders[0].iterdir()} >= {"sites.csv", "sites.geojson", "sites.parquet", "run.json"}
    shown = runner.invoke(cli, ["run", "--top", "3"])
    assert "SYNTHETIC DEMO DATA" in shown.output and "Top 3 of" in shown.output


def test_rank_writes_requested_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["rank", "--preset", "chip_fab", "-o", "fab.geojson"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fab.geojson").stat().st_size > 0
    assert not (tmp_path / "data" / "runs").exists()


def test_score_points(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "places.csv").write_text("name,lon,lat\nbasin,-113.92,38.46\npark,-114.45,38.68\n")
    result = runner.invoke(cli, ["score", "--points", "places.csv", "-o", "scored.csv"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "scored.csv").read_text()
    assert "transmission_score" in text and "protected" in text


def test_explain_site_and_place(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["run", "-q"]).exit_code == 0
    import json

    first = runner.invoke(cli, ["explain", "--lon", "-113.4", "--lat", "38.5", "--json"])
    assert json.loads(first.output)["status"] == "excluded"
    from geo.runs import latest_run, read_run

    sites, _ = read_run(latest_run(Path("data/runs")))
    site = sites.iloc[0]["site_id"]
    result = runner.invoke(cli, ["explain", site])
    assert result.exit_code == 0 and f"Site {site} ranks 1" in result.output


@pytest.mark.parametrize("args, code, message", [
    (["run", "--preset", "steel_mill"], 3, "unknown preset"),
    (["explain", "XX-000000"], 3, "no site"),
    (["score", "--points", "missing.csv"], 3, "no such file"),
    (["explain"], 2, "give either a SITE_ID"),
])
def test_errors_have_clear_messages_and_exit_codes(runner: CliRunner, args, code, message) -> None:
    if args[0] == "explain" and len(args) > 1:
        assert runner.invoke(cli, ["run", "-q"]).exit_code == 0
    result = runner.invoke(cli, args)
    assert result.exit_code == code
    assert message in result.output


def test_missing_layer_exit_code(tmp_path, monkeypatch, tiny_store) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text("states: [NV]\ncriteria:\n  slope: {required: true}\n")
    result = CliRunner().invoke(cli, ["rank", "-c", "c.yaml", "--store", str(tiny_store.root)])
    assert result.exit_code == 4
    assert "elevation" in result.output and "c.yaml" in result.output
