"""Refresh orchestration against local services: failures keep the previous layer byte-identical."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box
from werkzeug import Request, Response

from geo.errors import LayerSchemaError
from geo.refresh import refresh
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.http import HttpSettings, make_session
from geo.sources.registry import Registry
from geo.store import LayerStore

FAST = HttpSettings(connect_timeout=1.0, read_timeout=0.5, retries=1, backoff_factor=0.01,
                    retry_after_max=0.1)
LINES = "/arcgis/rest/services/US_Electric_Power_Transmission_Lines/FeatureServer/0"
STATES_ZIP = "/geo/tiger/GENZ2018/shp/cb_2018_us_state_5m.zip"
NEVADA = box(-120.0, 35.0, -114.0, 42.0)


def states_zip(tmp: Path) -> bytes:
    """A zipped shapefile shaped like the Census cartographic boundary file."""
    frame = gpd.GeoDataFrame({"STUSPS": ["NV", "UT"], "NAME": ["Nevada", "Utah"], "STATEFP": ["32", "49"]},
                             geometry=[NEVADA, box(-114.0, 37.0, -109.0, 42.0)], crs="EPSG:4269")
    folder = tmp / "shp"
    folder.mkdir(exist_ok=True)
    frame.to_file(folder / "cb_2018_us_state_5m.shp", engine="pyogrio")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
    return buffer.getvalue()


class FakeLines:
    """A transmission FeatureServer layer of ``n`` lines, with injectable answers per query."""

    def __init__(self, n: int = 10) -> None:
        self.n = n
        self.max_records = 2000
        self.fault: Response | None = None
        self.fault_offset: int | None = None  # the fault answers only this page (None: every page)
        self.delay = 0.0
        self.queries = 0
        self.offsets: list[int] = []

    def metadata(self, request: Request) -> Response:
        return _json({"name": "Transmission_Lines", "type": "Feature Layer", "objectIdField": "OBJECTID",
                      "maxRecordCount": self.max_records,
                      "advancedQueryCapabilities": {"supportsPagination": True},
                      "supportedQueryFormats": "JSON, geoJSON, PBF"})

    def query(self, request: Request) -> Response:
        self.queries += 1
        offset = int(request.args.get("resultOffset", 0))
        count = int(request.args.get("resultRecordCount", self.max_records))
        self.offsets.append(offset)
        if self.delay:
            time.sleep(self.delay)
        if self.fault is not None and self.fault_offset in (None, offset):
            return self.fault
        ids = range(1, self.n + 1)[offset : offset + count]
        features = [{"type": "Feature", "id": i,
                     "geometry": {"type": "LineString", "coordinates": [[-117 + i / 100, 38], [-116, 39]]},
                     "properties": {"OBJECTID": i, "VOLTAGE": 345.0, "STATUS": "IN SERVICE"}}
                    for i in ids]
        out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
        if offset + count < self.n:
            out["properties"] = {"exceededTransferLimit": True}
        return _json(out)


def _json(payload: Any) -> Response:
    return Response(json.dumps(payload), content_type="application/json")


def tiny_normalize(source_id: str, raw: Any, ctx: NormalizeContext) -> NormalizedLayer:
    """A normaliser for the two test sources."""
    if source_id == "census_states":
        frame = raw.rename(columns={"STUSPS": "state", "NAME": "name"}).to_crs("EPSG:4326")
        return NormalizedLayer("states", {"notes": ["from the test zip"]}, frame=frame)
    if source_id == "hifld_transmission":
        assert ctx.state_boundaries is not None  # the boundaries were fetched first
        frame = gpd.GeoDataFrame({"voltage_kv": raw["VOLTAGE"], "status": raw["STATUS"]},
                                 geometry=raw.geometry, crs=raw.crs)
        return NormalizedLayer("transmission", {}, frame=frame)
    raise LayerSchemaError(f"unknown source {source_id!r}")


def make_registry(base: str, states_sha256: str | None = None) -> Registry:
    return Registry.model_validate({"layers": {
        "states": {"sources": [{
            "id": "census_states", "layer": "states", "title": "US Census Bureau, states 2018",
            "license": "Public domain", "endpoint": {
                "protocol": "bulk", "url": f"{base}{STATES_ZIP}", "format": "zipped shapefile",
                "member": "cb_2018_us_state_5m.shp", "bbox_filter": False, "sha256": states_sha256}}]},
        "transmission": {"sources": [{
            "id": "hifld_transmission", "layer": "transmission", "title": "HIFLD transmission lines",
            "license": "Public domain (HIFLD)", "endpoint": {
                "protocol": "arcgis", "url": f"{base}{LINES}", "format": "geojson"}}]},
    }})


@pytest.fixture
def lines() -> FakeLines:
    return FakeLines()


@pytest.fixture
def served(httpserver, lines, tmp_path) -> Iterator[dict[str, Any]]:
    data = states_zip(tmp_path)
    httpserver.expect_request(STATES_ZIP).respond_with_data(data, content_type="application/zip")
    httpserver.expect_request(LINES, query_string={"f": "json"}).respond_with_handler(lines.metadata)
    httpserver.expect_request(f"{LINES}/query").respond_with_handler(lines.query)
    base = httpserver.url_for("").rstrip("/")
    yield {"base": base, "zip": data, "registry": make_registry(base)}


def run(store: LayerStore, registry: Registry, **kwargs: Any):
    kwargs.setdefault("states", ("NV",))
    return refresh(store, registry=registry, session=make_session(FAST), normalizer=tiny_normalize, **kwargs)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def stored(tmp_path, served) -> LayerStore:
    """A store holding states and transmission from a first, successful refresh."""
    store = LayerStore(tmp_path / "store")
    outcomes = run(store, served["registry"])
    assert [(o.layer, o.status) for o in outcomes] == [("states", "ok"), ("transmission", "ok")]
    return store


def test_refresh_stores_layers_with_provenance(stored, served):
    record = stored.provenance("transmission")
    assert record.feature_count == 10
    assert record.source == "HIFLD transmission lines"
    assert record.url == f"{served['base']}{LINES}"
    assert record.license == "Public domain (HIFLD)"
    assert record.states == ["NV"]
    states = stored.provenance("states")
    assert states.source_checksum == hashlib.sha256(served["zip"]).hexdigest()
    assert "from the test zip" in states.notes
    assert stored.read("states")["state"].tolist() == ["NV", "UT"]


def test_progress_is_reported_per_layer(tmp_path, served):
    seen: list[tuple[str, str]] = []
    run(LayerStore(tmp_path / "s"), served["registry"],
        progress=lambda layer, done, total, unit: seen.append((layer, unit)))
    assert ("states", "bytes") in seen and ("transmission", "features") in seen


def test_dry_run_sends_no_request(tmp_path, served, httpserver):
    store = LayerStore(tmp_path / "store")
    outcomes = run(store, served["registry"], dry_run=True)
    assert [(o.layer, o.status) for o in outcomes] == [("states", "dry-run"), ("transmission", "dry-run")]
    assert STATES_ZIP in outcomes[0].message and LINES in outcomes[1].message
    assert len(httpserver.log) == 0
    assert store.layers() == []


FAULTS = {
    "error object with HTTP 200": (
        lambda lines: setattr(lines, "fault", _json({"error": {"code": 400, "message": "Invalid query"}})),
        "code 400: Invalid query"),
    "truncated JSON": (
        lambda lines: setattr(lines, "fault", Response('{"type":"FeatureCollection","features":[{"ty',
                                                       content_type="application/json")),
        "not valid JSON"),
    "HTTP 500 on every attempt": (
        lambda lines: setattr(lines, "fault", Response("Error performing query operation", status=500)),
        "HTTP 500"),
    "timeout": (lambda lines: setattr(lines, "delay", 0.8), "timed out"),
    "collapsed feature count": (lambda lines: setattr(lines, "n", 3), "3 features against 10"),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_failed_refresh_keeps_the_previous_layer_byte_identical(stored, served, lines, fault):
    folder = stored.root / "transmission"
    before = snapshot(folder)
    inject, message = FAULTS[fault]
    inject(lines)
    outcomes = run(stored, served["registry"], layers=["states", "transmission"])
    by_layer = {o.layer: o for o in outcomes}
    assert by_layer["states"].status == "ok"  # the other layers go on
    assert by_layer["transmission"].status == "failed"
    assert message in by_layer["transmission"].message
    assert snapshot(folder) == before
    assert stored.provenance("transmission").feature_count == 10


def test_force_accepts_a_collapsed_layer(stored, served, lines):
    lines.n = 3
    outcomes = run(stored, served["registry"], layers=["transmission"], force=True)
    assert outcomes[0].status == "ok" and outcomes[0].features == 3


def test_a_failed_layer_is_retried_and_stored_layers_skipped_on_rerun(stored, served, lines):
    lines.fault = Response("busy", status=503)
    first = run(stored, served["registry"])
    assert [o.status for o in first] == ["ok", "failed"]
    lines.fault = None
    version = stored.version("states")
    second = run(stored, served["registry"])
    assert [(o.layer, o.status) for o in second] == [("states", "skipped"), ("transmission", "ok")]
    assert "resumed" in second[0].message
    assert stored.version("states") == version
    third = run(stored, served["registry"], layers=["states"])  # a finished run starts afresh
    assert third[0].status == "ok"


def test_checksum_mismatch_keeps_previous_boundaries(stored, served):
    folder = stored.root / "states"
    before = snapshot(folder)
    registry = make_registry(served["base"], states_sha256="0" * 64)
    outcomes = run(stored, registry, layers=["states"])
    assert outcomes[0].status == "failed" and "hash" in outcomes[0].message.lower()
    assert snapshot(folder) == before


def test_connection_dropped_in_a_bulk_download_keeps_previous_boundaries(stored, served, httpserver):
    folder = stored.root / "states"
    before = snapshot(folder)
    for cached in stored.cache_dir.rglob("*"):  # make it download again
        if cached.is_file():
            cached.unlink()
    httpserver.clear()
    httpserver.expect_request(STATES_ZIP).respond_with_response(
        Response(b"PK\x03\x04" + b"x" * 100, headers={"Content-Length": "50000"},
                 content_type="application/zip"))
    outcomes = run(stored, served["registry"], layers=["states"])
    assert outcomes[0].status == "failed"
    assert STATES_ZIP in outcomes[0].message
    assert snapshot(folder) == before


def test_offline_ingestion_uses_the_injected_ingester(tmp_path, served):
    store = LayerStore(tmp_path / "store")
    frame = gpd.GeoDataFrame({"voltage_kv": [230.0], "status": ["IN SERVICE"]},
                             geometry=[LineString([(-115, 36), (-114, 37)])], crs="EPSG:4326")
    calls: list[tuple[Path, tuple[str, ...]]] = []

    def ingest(directory, ctx, layers=None, *, on_error=None, registry=None):
        calls.append((Path(directory), ctx.states))
        yield NormalizedLayer("transmission", {"source": "HIFLD (files)", "url": "file://lines.geojson",
                                               "license": "Public domain"}, frame=frame)

    folder = tmp_path / "downloads"
    folder.mkdir()
    outcomes = refresh(store, states=("NV",), from_dir=folder, registry=served["registry"],
                       ingester=ingest, layers=["transmission"])
    assert [(o.layer, o.status, o.features) for o in outcomes] == [("transmission", "ok", 1)]
    assert calls == [(folder, ("NV",))]
    assert store.provenance("transmission").source == "HIFLD (files)"


# -- offline errors, tables, tiles and the registry --------------------------------------------


def test_offline_broken_file_fails_its_layer_only(tmp_path, served):
    store = LayerStore(tmp_path / "store")
    frame = gpd.GeoDataFrame({"voltage_kv": [230.0]}, geometry=[LineString([(-115, 36), (-114, 37)])],
                             crs="EPSG:4326")

    def ingest(directory, ctx, layers=None, *, on_error=None, registry=None):
        on_error("substations", LayerSchemaError("gridkit.csv: column 'lat' is missing"))
        yield NormalizedLayer("transmission", {"source": "HIFLD (files)", "url": "file://lines.geojson",
                                               "license": "Public domain"}, frame=frame)

    folder = tmp_path / "downloads"
    folder.mkdir()
    outcomes = refresh(store, states=("NV",), from_dir=folder, registry=served["registry"], ingester=ingest,
                       layers=["transmission", "substations"])
    by_layer = {o.layer: o for o in outcomes}
    assert by_layer["substations"].status == "failed" and "gridkit.csv" in by_layer["substations"].message
    assert by_layer["transmission"].status == "ok"
    assert store.layers() == ["transmission"]


def test_offline_raster_temp_file_is_removed(tmp_path, served):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    raster = tmp_path / "elevation-tmp.tif"
    with rasterio.open(raster, "w", driver="GTiff", height=4, width=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(-115, 37, 0.5, 0.5)) as dst:
        dst.write(np.full((1, 4, 4), 1200.0, dtype="float32"))

    def ingest(directory, ctx, layers=None, *, on_error=None, registry=None):
        yield NormalizedLayer("elevation", {"source": "test DEM", "url": "file://dem.tif", "license": "CC0"},
                              raster_path=raster)

    outcomes = refresh(LayerStore(tmp_path / "store"), states=("NV",), from_dir=tmp_path, ingester=ingest,
                       registry=served["registry"], layers=["elevation"])
    assert [(o.layer, o.status) for o in outcomes] == [("elevation", "ok")]
    assert not raster.exists()


def test_table_source_reads_fips_as_text(tmp_path, served, httpserver):
    httpserver.expect_request("/water/usco2015.csv").respond_with_data(
        "USGS county water use 2015\nSTATE,FIPS,TO-WFrTo\nNV,32003,--\nNV,32031,84.5\n", content_type="text/csv")
    seen: dict[str, Any] = {}

    def normalize(source_id, raw, ctx):
        if source_id != "usgs_water_use":
            return tiny_normalize(source_id, raw, ctx)
        seen["table"] = raw
        frame = ctx.state_boundaries[["geometry"]].assign(score=2.0)
        return NormalizedLayer("water_stress", {"notes": ["test proxy"]}, frame=frame)

    registry = Registry.model_validate({"layers": {
        **served["registry"].model_dump(include={"layers": {"states"}})["layers"],
        "water_stress": {"sources": [{
            "id": "usgs_water_use", "layer": "water_stress", "title": "USGS water use 2015",
            "license": "Public domain", "proxy_for": "WRI Aqueduct baseline water stress",
            "endpoint": {"protocol": "table", "url": httpserver.url_for("/water/usco2015.csv"), "format": "csv",
                         "table": {"header": 1, "na_values": ["--"], "text_columns": ["FIPS"]}}}]},
    }})
    store = LayerStore(tmp_path / "store")
    outcomes = refresh(store, states=("NV",), registry=registry, session=make_session(FAST), normalizer=normalize)
    assert [(o.layer, o.status) for o in outcomes] == [("states", "ok"), ("water_stress", "ok")]
    table = seen["table"]
    assert table["FIPS"].tolist() == ["32003", "32031"]
    assert table["TO-WFrTo"].isna().tolist() == [True, False]
    record = store.provenance("water_stress")
    assert record.proxy_for == "WRI Aqueduct baseline water stress"
    assert record.source == "USGS water use 2015"


def _dem_tile(lat: int, lon: int, value: float) -> bytes:
    import numpy as np
    from rasterio.io import MemoryFile
    from rasterio.transform import from_origin

    with MemoryFile() as memory:
        with memory.open(driver="GTiff", height=20, width=20, count=1, dtype="float32", crs="EPSG:4269",
                         transform=from_origin(-lon, lat, 0.05, 0.05), nodata=-999999.0) as dst:
            dst.write(np.full((1, 20, 20), value, dtype="float32"))
        return memory.read()


def test_elevation_tiles_are_downloaded_and_mosaicked(tmp_path, httpserver):
    import rasterio

    served_tiles = []

    def tile(request: Request) -> Response:
        lat, lon = (int(v) for v in request.path.rsplit("/", 1)[1][len("n"):-len(".tif")].split("w"))
        served_tiles.append((lat, lon))
        return Response(_dem_tile(lat, lon, 1000.0 + lat), content_type="image/tiff")

    httpserver.expect_request("/dem/n36w115.tif").respond_with_handler(tile)
    httpserver.expect_request("/dem/n36w116.tif").respond_with_handler(tile)
    store = LayerStore(tmp_path / "store")
    state = gpd.GeoDataFrame({"state": ["NV"], "name": ["Nevada"]}, geometry=[box(-115.7, 35.4, -114.3, 35.6)],
                             crs="EPSG:4326")
    store.write("states", state, source="test", url="file://states", license="CC0")
    captured: dict[str, Any] = {}

    def normalize(source_id, raw, ctx):
        with rasterio.open(raw) as src:
            captured.update(res=src.res, bounds=src.bounds, mean=float(src.read(1, masked=True).mean()))
        return NormalizedLayer("elevation", {}, raster_path=raw)

    registry = Registry.model_validate({"layers": {"elevation": {"default": False, "sources": [{
        "id": "usgs_3dep", "layer": "elevation", "title": "USGS 3DEP 1 arc-second", "license": "Public domain",
        "endpoint": {"protocol": "bulk", "format": "GeoTIFF tiles", "resolution_deg": 0.1,
                     "url_template": httpserver.url_for("/dem/") + "n{lat:02d}w{lon:03d}.tif"}}]}}})
    assert refresh(store, states=("NV",), registry=registry, normalizer=normalize) == []  # not a default layer
    outcomes = refresh(store, states=("NV",), registry=registry, normalizer=normalize, layers=["elevation"],
                       session=make_session(FAST))
    assert [(o.layer, o.status) for o in outcomes] == [("elevation", "ok")], outcomes
    assert sorted(served_tiles) == [(36, 115), (36, 116)]
    assert captured["res"] == pytest.approx((0.1, 0.1))
    assert captured["mean"] == pytest.approx(1036.0)
    assert store.provenance("elevation").url.startswith("2 tiles like ")


def test_registry_override_replaces_a_url(tmp_path, monkeypatch):
    from geo.sources.registry import load_registry

    override = tmp_path / "mirror.yaml"
    override.write_text("sources:\n  blm_sma:\n    url: https://mirror.example.org/sma/FeatureServer/0\n")
    registry = load_registry(override)
    sma = registry.source("blm_sma")
    assert sma.endpoint.resolve_urls(["AZ", "NV"]) == ["https://mirror.example.org/sma/FeatureServer/0"]
    assert sma.endpoint.state_urls == {}
    packaged = load_registry().source("blm_sma").endpoint
    assert packaged.resolve_urls(["AZ"])[0].startswith("https://gis.blm.gov/azarcgis/")
    monkeypatch.setenv("GEO_SOURCES", str(override))
    assert load_registry().source("blm_sma").endpoint.url == "https://mirror.example.org/sma/FeatureServer/0"


@pytest.mark.parametrize("text,message", [
    ("sources:\n  blm_sma:\n    urll: https://x\n", "unknown key 'sources.blm_sma.urll'"),
    ("sources:\n  no_such_source:\n    url: https://x\n", "key 'sources.no_such_source': 'no_such_source' is not a known source"),
    ("sources:\n  blm_sma:\n    protocol: ftp\n", "sources.blm_sma.protocol: Input should be 'arcgis'"),
    ("sources:\n  census_states:\n    sha256: abc\n", "sha256 must be 64 hex digits"),
    ("sources:\n  ne_parks:\n    url: https://x\n", "key 'sources.ne_parks': this source is read from files only"),
    ("layers:\n  states:\n    sources: [hifld_transmission]\n",
     "key 'layers.states.sources': 'hifld_transmission' is not a source of layer 'states'"),
    ("layers:\n  fiber:\n    default: false\n", "key 'layers.fiber': not a layer with sources"),
    ("layers:\n  states:\n    colour: red\n", "unknown key 'layers.states.colour'"),
    ("sources: [", "not valid YAML"),
])
def test_registry_errors_name_the_file_and_key(tmp_path, text, message):
    from geo.errors import ConfigError
    from geo.sources.registry import load_registry

    override = tmp_path / "bad.yaml"
    override.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_registry(override)
    assert message in str(info.value)
    assert str(override) in str(info.value)


def test_the_packaged_registry_is_the_specs():
    from geo.sources.catalog import LAYERS, SPECS
    from geo.sources.registry import load_registry

    registry = load_registry()
    assert {s.id for entry in registry.layers.values() for s in entry.sources} == set(SPECS)
    online = {s.id for layer in registry.layers for s in registry.sources(layer)}
    assert online == {
        "census_states", "census_counties", "blm_sma", "padus_fee", "blm_nlcs_wilderness", "nps_boundaries",
        "hifld_transmission", "osm_substations", "aqueduct_baseline", "topology_zoo_pops", "census_aiannh",
        "tiger_primary_roads", "ne_interstates", "ne_railroads", "ne_populated_places", "eia_power_plants",
        "usgs_3dep",
    }
    for layer, entry in LAYERS.items():
        assert [s.id for s in registry.layers[layer].sources] == [s.id for s in entry.sources]
        assert registry.layers[layer].mode == entry.mode


def test_a_layer_override_chooses_among_its_sources(tmp_path):
    from geo.sources.registry import load_registry

    override = tmp_path / "layers.yaml"
    override.write_text("layers:\n  roads: {sources: [ne_interstates], default: false}\n")
    registry = load_registry(override)
    assert [s.id for s in registry.sources("roads")] == ["ne_interstates"]
    assert "roads" not in registry.default_layers()


def test_an_override_of_title_and_licence_reaches_the_stored_provenance(tmp_path, served):
    from geo.sources.registry import load_registry

    override = tmp_path / "mirror.yaml"
    override.write_text(
        f"sources:\n  census_states:\n    url: {served['base']}{STATES_ZIP}\n    bbox_filter: false\n"
        "    title: Census states, our mirror\n    license: CC0 (mirror)\n    vintage: '2018'\n"
    )
    registry = load_registry(override)
    store = LayerStore(tmp_path / "store")
    outcomes = refresh(store, states=("NV",), registry=registry, session=make_session(FAST), layers=["states"])
    assert [(o.layer, o.status) for o in outcomes] == [("states", "ok")], outcomes
    record = store.provenance("states")
    assert (record.source, record.license, record.vintage) == ("Census states, our mirror", "CC0 (mirror)", "2018")
    assert record.url == f"{served['base']}{STATES_ZIP}"


def test_an_override_of_title_and_licence_reaches_offline_provenance(tmp_path):
    from geo.sources.registry import load_registry

    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "cb_2018_us_state_5m.zip").write_bytes(states_zip(tmp_path))
    override = tmp_path / "titles.yaml"
    override.write_text("sources:\n  census_states:\n    title: States as we read them\n    license: CC0\n")
    store = LayerStore(tmp_path / "store")
    outcomes = refresh(store, states=("NV",), from_dir=folder, registry=load_registry(override), layers=["states"])
    assert [(o.layer, o.status) for o in outcomes] == [("states", "ok")], outcomes
    record = store.provenance("states")
    assert (record.source, record.license) == ("States as we read them", "CC0")
    assert record.vintage == "2018"  # from the spec, not overridden


def test_an_interrupted_refresh_keeps_the_previous_layer_and_resumes(stored, served, lines):
    folder = stored.root / "transmission"
    before = snapshot(folder)
    lines.n = 12

    def interrupted(source_id: str, raw: Any, ctx: NormalizeContext) -> NormalizedLayer:
        if source_id == "hifld_transmission":
            raise KeyboardInterrupt  # Ctrl-C after the boundaries were stored
        return tiny_normalize(source_id, raw, ctx)

    with pytest.raises(KeyboardInterrupt):
        refresh(stored, registry=served["registry"], session=make_session(FAST), normalizer=interrupted,
                states=("NV",))
    assert snapshot(folder) == before
    states_version = stored.version("states")
    outcomes = run(stored, served["registry"])
    assert [(o.layer, o.status) for o in outcomes] == [("states", "skipped"), ("transmission", "ok")]
    assert stored.version("states") == states_version
    assert stored.provenance("transmission").feature_count == 12


def test_a_rerun_resumes_an_interrupted_paged_query(stored, served, lines):
    lines.max_records, lines.n = 4, 11
    lines.fault, lines.fault_offset = Response("Service Unavailable", status=503), 8
    failed = run(stored, served["registry"], layers=["transmission"])
    assert failed[0].status == "failed" and "HTTP 503" in failed[0].message
    answers = stored.cache_dir / "answers" / "hifld_transmission"
    assert len(list(answers.glob("*.json.gz"))) == 2  # the pages at offsets 0 and 4
    lines.fault = None
    lines.offsets.clear()
    done = run(stored, served["registry"], layers=["transmission"])
    assert done[0].status == "ok" and done[0].features == 11
    assert lines.offsets == [8]  # only the missing page was asked for
    assert not answers.exists()  # stored: the kept answers are gone
