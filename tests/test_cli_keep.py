"""``geo refresh --keep N`` (or ``GEO_KEEP_VERSIONS``): how many versions of each layer the store keeps."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString

import geo.cli.refresh as refresh_cli
from geo.refresh import RefreshOutcome
from geo.store import LayerStore


def _stores_four_versions(store: LayerStore, **kwargs) -> list[RefreshOutcome]:
    """Stands in for the network: each call stores four new versions of the transmission layer."""
    for day in range(1, 5):
        frame = gpd.GeoDataFrame({"voltage_kv": [345.0], "voltage_class": ["345"], "status": ["IN SERVICE"],
                                  "owner": [f"owner {day}"]},
                                 geometry=[LineString([(-117, 38), (-116, 39)])], crs="EPSG:4326")
        store.write("transmission", frame, source="test", url="u", license="l",
                    retrieved_at=f"2030-01-0{day}T00:00:00Z")
    return [RefreshOutcome("transmission", "test", "ok", 1)]


@pytest.mark.parametrize("args, env, kept", [
    ([], {}, 3),
    (["--keep", "1"], {}, 1),
    ([], {"GEO_KEEP_VERSIONS": "2"}, 2),
])
def test_refresh_keeps_the_asked_number_of_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    args: list[str], env: dict[str, str], kept: int) -> None:
    monkeypatch.setattr(refresh_cli, "run_refresh", _stores_four_versions)
    store = tmp_path / "store"
    result = CliRunner(env=env).invoke(refresh_cli.refresh_command, ["--store", str(store), *args])
    assert result.exit_code == 0, result.output
    versions = sorted(p.name[:8] for p in (store / "transmission").iterdir() if p.is_dir())
    assert versions == ["20300101", "20300102", "20300103", "20300104"][-kept:]


def test_keep_below_one_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(refresh_cli.refresh_command, ["--store", str(tmp_path), "--keep", "0"])
    assert result.exit_code == 2 and "--keep" in result.output
