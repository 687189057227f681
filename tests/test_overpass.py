"""The Overpass client against a local server that answers like overpass-api.de."""

from __future__ import annotations

import json
import re

import pytest
from werkzeug import Request, Response

from geo.errors import FetchError
from geo.sources import overpass
from geo.sources.http import HttpSettings, ResponseCache, make_session

ELEMENTS = [
    {"type": "node", "id": 1, "lat": 35.2, "lon": -114.1,
     "tags": {"power": "substation", "voltage": "500000;230000", "name": "Mead", "operator": "WAPA"}},
    {"type": "way", "id": 2, "center": {"lat": 33.4, "lon": -112.0},
     "tags": {"power": "substation", "voltage": "69000", "substation": "distribution"}},
    {"type": "relation", "id": 3, "center": {"lat": 40.7, "lon": -111.9},
     "tags": {"power": "substation", "name": "Camp Williams"}},
    # exactly on the edge between two tiles: Overpass returns it for both
    {"type": "node", "id": 4, "lat": 35.0, "lon": -113.0, "tags": {"power": "substation"}},
    {"type": "way", "id": 5, "tags": {"power": "substation"}},  # no center: cannot be placed
]


class FakeOverpass:
    def __init__(self, remark: str | None = None) -> None:
        self.queries: list[str] = []
        self.remark = remark

    def __call__(self, request: Request) -> Response:
        query = request.form["data"]
        self.queries.append(query)
        south, west, north, east = map(float, re.search(r"\(([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)\)", query).groups())
        inside = [
            e for e in ELEMENTS
            if "lat" not in e and "center" not in e
            or south <= e.get("lat", e.get("center", {}).get("lat", 0)) <= north
            and west <= e.get("lon", e.get("center", {}).get("lon", 0)) <= east
        ]
        body = {"version": 0.6, "generator": "Overpass API", "elements": inside}
        if self.remark:
            body["remark"] = self.remark
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def session():
    with make_session(HttpSettings(retries=1, backoff_factor=0.0, read_timeout=3.0)) as s:
        yield s


def test_tiles_cover_the_box():
    boxes = overpass.tiles((-115.0, 33.0, -111.0, 36.5), 2.0)
    assert len(boxes) == 4
    assert boxes[0] == (-115.0, 33.0, -113.0, 35.0)
    assert boxes[-1] == (-113.0, 35.0, -111.0, 36.5)
    with pytest.raises(ValueError, match="invalid bbox"):
        overpass.tiles((1, 1, 0, 2), 2.0)


def test_query_asks_for_nodes_ways_and_relations_with_centres():
    query = overpass.substation_query(33.0, -115.0, 35.0, -113.0)
    for kind in ("node", "way", "relation"):
        assert f'{kind}["power"="substation"](33.000000,-115.000000,35.000000,-113.000000);' in query
    assert query.startswith("[out:json]") and query.endswith("out center tags;")


def test_substations_from_tiles(httpserver, session):
    server = FakeOverpass()
    httpserver.expect_request("/api/interpreter", method="POST").respond_with_handler(server)
    seen = []
    frame = overpass.substations(session, (-115.0, 33.0, -111.0, 41.0), url=httpserver.url_for("/api/interpreter"),
                                 tile_deg=2.0, progress=lambda d, t: seen.append((d, t)))
    assert len(server.queries) == 8
    assert seen[-1] == (8, 8)
    assert frame.crs.to_epsg() == 4326
    assert sorted(zip(frame["osm_type"], frame["osm_id"], strict=True)) == [("node", 1), ("node", 4), ("relation", 3), ("way", 2)]
    assert list(frame.columns) == ["osm_type", "osm_id", "voltage", "name", "operator", "substation", "geometry"]
    mead = frame.set_index("osm_id").loc[1]
    assert mead["voltage"] == "500000;230000" and mead["operator"] == "WAPA"
    assert (mead.geometry.x, mead.geometry.y) == (-114.1, 35.2)
    assert frame.set_index("osm_id").loc[2].geometry.y == 33.4  # way placed at its centre


def test_runtime_error_remark_is_a_failure(httpserver, session):
    server = FakeOverpass(remark="runtime error: Query timed out in \"query\" at line 1 after 180 seconds.")
    httpserver.expect_request("/api/interpreter", method="POST").respond_with_handler(server)
    with pytest.raises(FetchError, match="incomplete: runtime error"):
        overpass.substations(session, (-115.0, 33.0, -113.0, 35.0), url=httpserver.url_for("/api/interpreter"))


def test_busy_server_is_retried(httpserver, session):
    httpserver.expect_oneshot_request("/api/interpreter", method="POST").respond_with_data(
        "rate limited", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_request("/api/interpreter", method="POST").respond_with_handler(FakeOverpass())
    frame = overpass.substations(session, (-115.0, 35.0, -114.0, 36.0), url=httpserver.url_for("/api/interpreter"))
    assert frame["osm_id"].tolist() == [1]


def test_an_interrupted_run_queries_only_the_missing_tiles(httpserver, session, tmp_path):
    cache = ResponseCache(tmp_path / "answers")
    server = FakeOverpass()
    calls = {"n": 0}

    def flaky(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 3:  # the third tile times out on the server
            return Response(json.dumps({"elements": [], "remark": "runtime error: Query timed out"}),
                            content_type="application/json")
        return server(request)

    httpserver.expect_request("/api/interpreter", method="POST").respond_with_handler(flaky)
    box, url = (-115.0, 33.0, -111.0, 37.0), httpserver.url_for("/api/interpreter")
    with pytest.raises(FetchError, match="runtime error"):
        overpass.substations(session, box, url=url, cache=cache)
    assert len(cache) == 2  # the incomplete tile is not kept
    frame = overpass.substations(session, box, url=url, cache=cache)
    assert calls["n"] == 3 + 2  # the re-run asked only for the third and fourth tiles
    assert sorted(frame["osm_id"]) == [1, 2, 4]
