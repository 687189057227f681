"""``geo refresh`` and ``geo layers`` end to end, against local services and the real normalisers."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from werkzeug import Request, Response

from geo.cli.layers import layers
from geo.cli.options import EXIT_BAD_INPUT, EXIT_FETCH_FAILED, EXIT_NO_DATA
from geo.cli.refresh import refresh_command

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CENSUS_STATES = SHARED / "raw" / "boundaries" / "cb_2018_us_state_5m.zip"
LINES = "/arcgis/rest/services/US_Electric_Power_Transmission_Lines/FeatureServer/0"
STATES_ZIP = "/geo/tiger/GENZ2018/shp/cb_2018_us_state_5m.zip"


class FakeLines:
    """HIFLD-shaped transmission lines in Nevada; ``error`` makes every query fail with HTTP 200."""

    def __init__(self, n: int = 6) -> None:
        self.n = n
        self.error = False

    def metadata(self, request: Request) -> Response:
        return _json({"name": "US_Electric_Power_Transmission_Lines", "objectIdField": "OBJECTID",
                      "maxRecordCount": 4, "advancedQueryCapabilities": {"supportsPagination": True}})

    def query(self, request: Request) -> Response:
        if self.error:
            return _json({"error": {"code": 400, "message": "Unable to complete operation.", "details": []}})
        offset, count = int(request.args["resultOffset"]), int(request.args["resultRecordCount"])
        ids = range(1, self.n + 1)[offset : offset + count]
        out: dict[str, Any] = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": i,
             "geometry": {"type": "LineString", "coordinates": [[-117.0 + i / 50, 38.0], [-116.0, 39.0]]},
             "properties": {"OBJECTID": i, "VOLTAGE": 345, "VOLT_CLASS": "345", "STATUS": "IN SERVICE",
                            "OWNER": "NV ENERGY"}} for i in ids]}
        if offset + count < self.n:
            out["properties"] = {"exceededTransferLimit": True}
        return _json(out)


def _json(payload: Any) -> Response:
    return Response(json.dumps(payload), content_type="application/json")


@pytest.fixture(autouse=True)
def _no_user_override(monkeypatch):
    monkeypatch.delenv("GEO_SOURCES", raising=False)


@pytest.fixture
def lines() -> FakeLines:
    return FakeLines()


@pytest.fixture
def mirror(httpserver, lines, tmp_path) -> Path:
    """A sources override pointing two sources at the local server, as a user's mirror would."""
    if not CENSUS_STATES.is_file():
        pytest.skip(f"shared data not found: {CENSUS_STATES}")
    httpserver.expect_request(STATES_ZIP).respond_with_data(CENSUS_STATES.read_bytes(),
                                                            content_type="application/zip")
    httpserver.expect_request(LINES, query_string={"f": "json"}).respond_with_handler(lines.metadata)
    httpserver.expect_request(f"{LINES}/query").respond_with_handler(lines.query)
    override = tmp_path / "mirror.yaml"
    override.write_text(yaml.safe_dump({"sources": {
        "census_states": {"url": httpserver.url_for(STATES_ZIP)},
        "hifld_transmission": {"url": httpserver.url_for(LINES)},
    }}))
    return override


def invoke(command, *args: Any):
    wide = CliRunner(env={"COLUMNS": "250"})  # rich tables would otherwise be cut to 80 columns
    return wide.invoke(command, [str(a) for a in args], catch_exceptions=False)


def refresh_args(store: Path, mirror: Path, *extra: str) -> list[str]:
    return ["--store", str(store), "--sources", str(mirror), "--states", "NV",
            "--layer", "states", "--layer", "transmission", *extra]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.shared_data
def test_dry_run_lists_sources_without_fetching(tmp_path, mirror, httpserver):
    result = invoke(refresh_command, *refresh_args(tmp_path / "store", mirror, "--dry-run"))
    assert result.exit_code == 0, result.output
    assert "Refresh plan" in result.output
    assert "census_states" in result.output and "hifld_transmission" in result.output
    assert f"localhost:{httpserver.port}" in re.sub(r"[\s│]", "", result.output)
    assert len(httpserver.log) == 0
    assert not (tmp_path / "store").exists()


@pytest.mark.shared_data
def test_refresh_then_layers(tmp_path, mirror, httpserver):
    store = tmp_path / "store"
    result = invoke(refresh_command, *refresh_args(store, mirror))
    assert result.exit_code == 0, result.output
    assert "Refresh summary" in result.output
    assert result.output.count(" ok ") == 2
    shown = invoke(layers, "--store", store)
    assert shown.exit_code == 0
    assert "states" in shown.output and "transmission" in shown.output
    rows = {row["layer"]: row for row in json.loads(invoke(layers, "--store", store, "--json").output)}
    assert rows["states"]["features"] == 1
    assert rows["transmission"]["features"] == 6
    assert rows["transmission"]["url"] == httpserver.url_for(LINES)  # the mirror that was read
    assert rows["transmission"]["age_days"] == 0.0
    assert rows["states"]["license"].startswith("Public domain")


@pytest.mark.shared_data
def test_a_failing_service_exits_with_the_fetch_code_and_keeps_the_layer(tmp_path, mirror, lines):
    store = tmp_path / "store"
    assert invoke(refresh_command, *refresh_args(store, mirror)).exit_code == 0
    before = snapshot(store / "transmission")
    lines.error = True
    result = invoke(refresh_command, *refresh_args(store, mirror))
    assert result.exit_code == EXIT_FETCH_FAILED
    flat = re.sub(r"[\s│]", "", result.output)  # table cells fold long messages over lines
    assert "failed" in result.output and "Unabletocompleteoperation" in flat
    assert "previous versions were kept" in result.output
    assert snapshot(store / "transmission") == before


@pytest.mark.shared_data
def test_a_collapsed_layer_needs_force(tmp_path, mirror, lines):
    store = tmp_path / "store"
    assert invoke(refresh_command, *refresh_args(store, mirror)).exit_code == 0
    lines.n = 2
    refused = invoke(refresh_command, *refresh_args(store, mirror))
    assert refused.exit_code == EXIT_FETCH_FAILED
    assert "--force" in refused.output.replace("\n", "")
    forced = invoke(refresh_command, *refresh_args(store, mirror, "--force"))
    assert forced.exit_code == 0, forced.output
    rows = json.loads(invoke(layers, "--store", store, "--json").output)
    assert {r["layer"]: r["features"] for r in rows}["transmission"] == 2


def test_an_unknown_key_in_the_sources_file_is_named(tmp_path):
    override = tmp_path / "sources.yaml"
    override.write_text("sources:\n  hifld_transmission:\n    adress: https://mirror.example.org/x\n")
    result = CliRunner().invoke(refresh_command, ["--store", str(tmp_path / "s"), "--sources",
                                                  str(override), "--dry-run"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "adress" in result.output and str(override) in result.output


def test_unknown_layer_and_state_are_refused(tmp_path):
    result = CliRunner().invoke(refresh_command, ["--store", str(tmp_path / "s"), "--layer", "pipelines",
                                                  "--dry-run"])
    assert result.exit_code == EXIT_BAD_INPUT and "pipelines" in result.output
    result = CliRunner().invoke(refresh_command, ["--store", str(tmp_path / "s"), "--states", "CA",
                                                  "--dry-run"])
    assert result.exit_code == 2 and "CA" in result.output  # a usage error, as for every command


def test_layers_on_an_empty_store(tmp_path):
    result = invoke(layers, "--store", tmp_path / "empty")
    assert result.exit_code == EXIT_NO_DATA
    assert "holds no layers" in result.output


@pytest.mark.shared_data
def test_dry_run_shows_protocols_in_brackets(tmp_path, mirror):
    result = invoke(refresh_command, *refresh_args(tmp_path / "store", mirror, "--dry-run"))
    assert result.exit_code == 0, result.output
    assert "[bulk]" in result.output and "[arcgis]" in result.output  # not swallowed as markup


def _stored_layer(store: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from geo.store import LayerStore

    frame = gpd.GeoDataFrame({"name": ["Westwing"], "max_voltage_kv": [500.0]}, geometry=[Point(-112.2, 33.7)],
                             crs="EPSG:4326")
    title = ("GridKit North America high-voltage network, vertices (OpenStreetMap power=* objects, "
             "export of 14 March 2016; B. Wiegmans, SciGRID)")
    LayerStore(store).write("substations", frame, source=title, url="file:///gridkit.csv", license="ODbL 1.0",
                            vintage="OpenStreetMap export of March 2016", limitation="newer substations are missing")


def test_layers_piped_prints_full_text_with_vintage_and_missing_layers(tmp_path):
    _stored_layer(tmp_path / "store")
    result = CliRunner(env={"COLUMNS": "60"}).invoke(layers, ["--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    lines = result.output.splitlines()
    header = lines[0].split("\t")
    row = dict(zip(header, lines[1].split("\t"), strict=True))
    assert row["source"].endswith("B. Wiegmans, SciGRID)")
    assert row["data vintage"] == "OpenStreetMap export of March 2016"
    assert row["caveat"] == "newer substations are missing"
    missing = dict(line.split("\t") for line in lines[lines.index("missing layer\twhat the analysis does without it") + 1:])
    assert "substations" not in missing
    assert missing["elevation"].startswith("no slope")
    assert set(missing) == {"states", "counties", "federal_land", "tribal_land", "protected", "transmission",
                            "water_stress", "county_stats", "water_service_areas", "fiber", "backbone_pops",
                            "roads", "rail", "places", "urban", "water_bodies", "power_plants", "elevation"}


@pytest.mark.shared_data
def test_the_refresh_summary_lists_the_missing_layers(tmp_path, mirror):
    result = invoke(refresh_command, *refresh_args(tmp_path / "store", mirror))
    assert result.exit_code == 0, result.output
    flat = re.sub(r"[\s│]", "", result.output)
    assert "Missinglayers" in flat
    assert "federal_land" in flat and "nowhileland.federal_onlyison" in flat.replace("run", "")
    assert "transmission" in flat


@pytest.mark.shared_data
@pytest.mark.parametrize("code,reason", [(errno.ENOSPC, "No space left on device"),
                                         (errno.EROFS, "Read-only file system")])
def test_a_full_disk_or_read_only_store_is_a_local_write_failure(tmp_path, mirror, monkeypatch, code, reason):
    from geo.cli import cli
    from geo.cli.options import EXIT_STORE
    from geo.store import LayerStore

    store = tmp_path / "store"
    assert invoke(refresh_command, *refresh_args(store, mirror)).exit_code == 0
    before = snapshot(store / "transmission")

    def refuse(self, layer, *args, **kwargs):
        raise OSError(code, reason, str(self.root / layer / ".staging-x"))

    monkeypatch.setattr(LayerStore, "write", refuse)
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["refresh", *refresh_args(store, mirror, "--force")])
    assert result.exit_code == EXIT_STORE == 6, result.output
    assert reason in result.output and "local problem, not a public source" in result.output
    assert "Run the same command again to resume" not in result.output
    assert snapshot(store / "transmission") == before
