"""Wrong input on the command line: usage errors naming the option, and every error its documented exit code."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

import geo.errors as errors
from geo.cli import EXIT_CODES, cli, exit_code
from geo.cli.options import EXIT_BAD_INPUT, EXIT_CLUSTER, EXIT_FETCH_FAILED, EXIT_NO_DATA, EXIT_STORE, EXIT_USAGE
from geo.outputs import SITES_GEOJSON, SITES_PARQUET
from geo.store import LayerStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder with no store asked for: no --store, no GEO_STORE, no data/store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GEO_STORE", raising=False)
    return tmp_path


@pytest.mark.parametrize("args, option, value", [
    (["rank", "--resolution", "0"], "--resolution", "0"),
    (["rank", "--resolution", "-250"], "--resolution", "-250"),
    (["rank", "--resolution", "nan"], "--resolution", "nan"),
    (["rank", "--resolution", "inf"], "--resolution", "inf"),
    (["run", "--resolution", "10"], "--resolution", "10"),
    (["compare", "chip_fab", "fiber_cable_plant", "--resolution", "0"], "--resolution", "0"),
    (["rank", "--states", ""], "--states", "''"),
    (["rank", "--states", " , "], "--states", "' , '"),
    (["run", "--states", "AZ,CA"], "--states", "CA"),
    (["score", "--points", "p.csv", "--states", "XX"], "--states", "XX"),
    (["rank", "--top", "-1"], "--top", "-1"),
    (["run", "--top", "0"], "--top", "0"),
    (["rank", "-o", "sites.xlsx"], "--output", "'.xlsx'"),
    (["score", "--points", "p.csv", "-o", "scores"], "--output", "without a suffix"),
])
def test_bad_options_are_usage_errors_naming_option_and_value(no_store: Path, args: list[str], option: str,
                                                              value: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == EXIT_USAGE, result.output
    assert option in result.output and value in result.output
    assert not (no_store / "data").exists(), "nothing may run before the options are checked"


def test_states_are_normalised(no_store: Path) -> None:
    from geo.cli.options import parse_states

    assert parse_states(None, None, " nv, ut ,NV") == "NV,UT"
    assert parse_states(None, None, None) is None


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_mistyped_store_is_an_error_not_the_demo(no_store: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    typo = no_store / "data" / "stor"
    args = ["rank", "--states", "AZ"]
    if how == "option":
        args += ["--store", str(typo)]
    else:
        monkeypatch.setenv("GEO_STORE", str(typo))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == EXIT_NO_DATA, result.output
    assert str(typo) in result.output and "no such folder" in result.output
    assert "SYNTHETIC" in result.output  # only in the advice on how to get the demo on purpose
    assert "Top " not in result.output and not (no_store / "data" / "demo").exists()


def test_scoring_against_an_empty_store_is_an_error(no_store: Path) -> None:
    (no_store / "empty").mkdir()
    (no_store / "p.csv").write_text("lon,lat\n-114.2,38.45\n")
    result = CliRunner().invoke(cli, ["score", "--points", "p.csv", "-q", "-o", "out.csv", "--store", "empty"])
    assert result.exit_code == EXIT_NO_DATA
    assert "empty" in result.output and "holds no layers" in result.output
    assert not (no_store / "out.csv").exists()


def test_scores_from_the_demo_region_say_synthetic(no_store: Path) -> None:
    (no_store / "p.csv").write_text("lon,lat,name\n-114.2,38.45,by the line\n-114.6,38.3,west\n")
    result = CliRunner().invoke(cli, ["score", "--points", "p.csv", "-q", "-o", "out.parquet"])
    assert result.exit_code == 0, result.output
    scores = gpd.read_parquet(no_store / "out.parquet")
    assert len(scores) == 2 and scores["caveats"].str.contains("SYNTHETIC").all()


def test_every_site_table_from_the_demo_says_synthetic(demo_result) -> None:
    for name in (SITES_GEOJSON, SITES_PARQUET):
        table = gpd.read_file(demo_result.output_dir / name) if name.endswith("json") else \
            gpd.read_parquet(demo_result.output_dir / name)
        assert len(table) and table["caveats"].str.contains("SYNTHETIC").all(), name


def test_a_damaged_stored_layer_names_layer_path_and_remedy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           tiny_store: LayerStore) -> None:
    monkeypatch.chdir(tmp_path)
    data = tiny_store.data_path("transmission")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    result = CliRunner().invoke(cli, ["rank", "--states", "NV", "--store", str(tiny_store.root)])
    assert result.exit_code == EXIT_STORE, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = " ".join(result.output.split())
    assert "layer 'transmission'" in message and "data.parquet" in message
    assert f"geo refresh --store {tiny_store.root} --layer transmission" in message


def test_every_package_error_has_a_documented_exit_code() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.GeoError)
               and c is not errors.GeoError]
    assert classes
    for cls in classes:
        assert exit_code(cls("x")) in (EXIT_BAD_INPUT, EXIT_NO_DATA, EXIT_FETCH_FAILED, EXIT_STORE, EXIT_CLUSTER), cls


def test_the_readme_exit_code_table_is_the_one_the_cli_uses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = {int(code): text for code, text in re.findall(r"^\| (\d) \| (.*) \|$", readme, re.MULTILINE)}
    assert documented[0] == "success" and "bug" in documented[1] and documented[2].startswith("usage")
    assert set(documented) == {0, 1, EXIT_USAGE, *EXIT_CODES.values()}
    assert "configuration" in documented[EXIT_BAD_INPUT] and "missing" in documented[EXIT_NO_DATA]
    assert "source" in documented[EXIT_FETCH_FAILED] and "store" in documented[EXIT_STORE]
    assert "Dask cluster" in documented[EXIT_CLUSTER]


def test_a_bad_configuration_or_input_file_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  tiny_store: LayerStore) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("criteria:\n  transmision: {weight: 0.3}\n")
    bad = CliRunner().invoke(cli, ["rank", "-c", "bad.yaml", "--store", str(tiny_store.root)])
    assert bad.exit_code == EXIT_BAD_INPUT and "did you mean 'transmission'" in bad.output
    (tmp_path / "inf.yaml").write_text("criteria:\n  transmission: {weight: .inf}\n")
    inf = CliRunner().invoke(cli, ["rank", "-c", "inf.yaml", "--store", str(tiny_store.root)])
    assert inf.exit_code == EXIT_BAD_INPUT and "transmission.weight: Input should be a finite number" in inf.output
    frame = pd.DataFrame({"lon": [1.0]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    points = CliRunner().invoke(cli, ["score", "--points", "p.csv", "--store", str(tiny_store.root)])
    assert points.exit_code == EXIT_BAD_INPUT and "p.csv" in points.output


@pytest.mark.parametrize("states", ["", " , ", "AZ,XX"])
def test_refresh_refuses_empty_or_unknown_states_as_a_usage_error(tmp_path: Path, states: str) -> None:
    result = CliRunner().invoke(cli, ["refresh", "--store", str(tmp_path / "store"), "--states", states, "--dry-run"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "--states" in result.output
