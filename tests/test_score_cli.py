"""`geo score`: status per place, a bounded preview, chunked atomic output files, the layers' caveats."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

import geo.cli.score as score_command
from geo.cli import cli

BASIN, PARK, EAST, DENVER = (-113.92, 38.46), (-114.45, 38.68), (-113.4, 38.5), (-104.99, 39.74)


@pytest.fixture
def runner(demo_store, tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEO_STORE", str(demo_store.root))
    return CliRunner()


def write_places(path: Path, rows: list[tuple[str, tuple[float, float]]]) -> None:
    lines = ["site_id,label,lon,lat"] + [f"S{i},{name},{lon},{lat}" for i, (name, (lon, lat)) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")


def test_excluded_and_outside_places_get_no_score_and_keep_the_users_columns(runner: CliRunner,
                                                                                tmp_path: Path) -> None:
    write_places(tmp_path / "p.csv", [("basin", BASIN), ("park", PARK), ("east", EAST), ("denver", DENVER)])
    result = runner.invoke(cli, ["score", "--points", "p.csv", "-o", "out.csv"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv").set_index("label")
    assert list(out["site_id"]) == ["S0", "S1", "S2", "S3"]
    assert out.loc["basin", "status"] == "scored" and 0 <= out.loc["basin", "score"] <= 1
    assert out.loc["park", "status"] == "excluded" and pd.isna(out.loc["park", "score"])
    assert "protected" in out.loc["park", "exclusion_causes"]
    assert out.loc["east", "status"] == "excluded" and "ownership_unknown" in out.loc["east", "exclusion_causes"]
    assert out.loc["denver", "status"] == "outside" and pd.isna(out.loc["denver", "score"])
    assert out.loc["denver"].filter(like="_value").isna().all()
    assert "1 scored, 2 on excluded land (no score), 1 outside" in result.output
    assert "SYNTHETIC DEMO DATA: these scores are made up" in result.output


def test_caveats_of_proxy_and_coarse_layers_are_printed(tiny_store, tmp_path: Path, monkeypatch) -> None:
    from geo.provenance import Provenance

    monkeypatch.chdir(tmp_path)
    record = tiny_store.provenance("water_stress").model_dump()
    proxied = Provenance(**{**record, "synthetic": False, "proxy_for": "WRI Aqueduct baseline water stress"})
    (tiny_store.root / "water_stress" / (tiny_store.root / "water_stress" / "CURRENT").read_text().strip()
     / "provenance.json").write_text(proxied.model_dump_json())
    (tmp_path / "p.csv").write_text("name,lon,lat\nA,-114.0,38.5\n")
    (tmp_path / "c.yaml").write_text("states: [NV]\nresolution_m: 1000\n")
    result = CliRunner().invoke(cli, ["score", "--points", "p.csv", "-c", "c.yaml", "--store", str(tiny_store.root)])
    assert result.exit_code == 0, result.output
    assert "note water_stress: proxy: WRI Aqueduct baseline water stress" in result.output


def test_preview_without_output_is_bounded(runner: CliRunner, tmp_path: Path) -> None:
    write_places(tmp_path / "many.csv", [(f"place{i:03d}", BASIN) for i in range(45)])
    result = runner.invoke(cli, ["score", "--points", "many.csv"])
    assert result.exit_code == 0, result.output
    assert "first 20 of 45" in result.output and "25 more places not shown" in result.output
    assert "place019" in result.output and "place020" not in result.output
    assert "S0" in result.output                        # the user's id column labels the places


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".parquet"])
def test_output_written_in_chunks_equals_one_chunk(runner: CliRunner, tmp_path: Path, monkeypatch,
                                                   suffix: str) -> None:
    write_places(tmp_path / "p.csv", [(f"p{i}", point) for i, point in enumerate([BASIN, PARK, EAST, DENVER] * 5)])
    assert runner.invoke(cli, ["score", "--points", "p.csv", "-o", f"whole{suffix}", "-q"]).exit_code == 0
    monkeypatch.setattr(score_command, "CHUNK_ROWS", 3)
    result = runner.invoke(cli, ["score", "--points", "p.csv", "-o", f"chunked{suffix}", "-q"])
    assert result.exit_code == 0, result.output
    read = pd.read_csv if suffix == ".csv" else gpd.read_parquet if suffix == ".parquet" else gpd.read_file
    whole, chunked = read(tmp_path / f"whole{suffix}"), read(tmp_path / f"chunked{suffix}")
    assert len(chunked) == 20 and list(chunked["row"]) == list(range(1, 21))
    pd.testing.assert_frame_equal(pd.DataFrame(whole), pd.DataFrame(chunked))
    if suffix == ".geojson":
        features = json.loads((tmp_path / "chunked.geojson").read_text())["features"]
        assert features[1]["properties"]["score"] is None and features[0]["geometry"]["type"] == "Point"
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_bad_row_in_a_later_chunk_keeps_the_previous_file(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "out.csv").write_text("previous\n")
    write_places(tmp_path / "p.csv", [("a", BASIN)] * 5 + [("bad", (-999.0, 38.0))])
    monkeypatch.setattr(score_command, "CHUNK_ROWS", 2)
    result = runner.invoke(cli, ["score", "--points", "p.csv", "-o", "out.csv"])
    assert result.exit_code == 3 and "row 7 has an invalid coordinate" in result.output
    assert (tmp_path / "out.csv").read_text() == "previous\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_unsupported_output_format_is_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    write_places(tmp_path / "p.csv", [("a", BASIN)])
    result = runner.invoke(cli, ["score", "--points", "p.csv", "-o", "out.xlsx"])
    assert result.exit_code == 2 and "out.xlsx" in result.output and ".parquet" in result.output, result.output
