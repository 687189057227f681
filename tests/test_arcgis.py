"""The ArcGIS REST client against a local server that answers like a FeatureServer layer."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from shapely.geometry import MultiPolygon, Polygon
from werkzeug import Request, Response

from geo.errors import FetchError
from geo.sources import arcgis, esrijson
from geo.sources.http import HttpSettings, ResponseCache, make_session

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LAYER = "/arcgis/rest/services/Lines/FeatureServer/0"


class FakeLayer:
    """A polyline layer served in the shapes ArcGIS uses (f=json and f=geojson).

    ``short_pages`` caps every page below the requested size while still setting the
    transfer-limit flag, as a spatial-index filtered server does.
    """

    def __init__(self, n: int = 7, *, max_records: int = 3, paging: bool = True, short_pages: int | None = None,
                 error_at_offset: int | None = None, endless: bool = False, stall: bool = False) -> None:
        self.rows = [
            {"OBJECTID": 10 + i, "VOLTAGE": 100.0 + i, "OWNER": f"owner {i}",
             "path": [[-112.0 + i * 0.1, 35.0], [-111.9 + i * 0.1, 35.1]]}
            for i in range(n)
        ]
        self.max_records, self.paging, self.short_pages = max_records, paging, short_pages
        self.error_at_offset, self.endless, self.stall = error_at_offset, endless, stall
        self.queries: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def metadata(self, _request: Request) -> Response:
        return _json({
            "name": "Lines", "type": "Feature Layer", "maxRecordCount": self.max_records,
            "objectIdField": "OBJECTID", "supportedQueryFormats": "JSON, geoJSON, PBF",
            "advancedQueryCapabilities": {"supportsPagination": self.paging},
            "extent": {"spatialReference": {"wkid": 102100, "latestWkid": 3857}},
            "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"},
                       {"name": "VOLTAGE", "type": "esriFieldTypeDouble"},
                       {"name": "OWNER", "type": "esriFieldTypeString"}],
        })

    def query(self, request: Request) -> Response:
        args = dict(request.args)
        with self.lock:
            self.queries.append(args)
        rows = self.rows
        match = re.search(r"OBJECTID >= (\d+) AND OBJECTID <= (\d+)", args.get("where", ""))
        if match:
            lo, hi = int(match[1]), int(match[2])
            rows = [r for r in rows if lo <= r["OBJECTID"] <= hi]
        if args.get("returnIdsOnly") == "true":
            return _json({"objectIdFieldName": "OBJECTID", "objectIds": [r["OBJECTID"] for r in reversed(rows)]})
        more = False
        if "resultOffset" in args:
            assert self.paging, "paging parameters sent to a layer without paging"
            assert args["orderByFields"] == "OBJECTID ASC"
            offset = int(args["resultOffset"])
            if offset == self.error_at_offset:
                return _json({"error": {"code": 500, "message": "Error performing query operation", "details": []}})
            size = min(int(args["resultRecordCount"]), self.max_records, self.short_pages or self.max_records)
            if self.endless:
                page = rows[:size]
            elif self.stall and offset > 0:
                page = []
            else:
                page = rows[offset : offset + size]
            more = self.endless or self.stall or offset + len(page) < len(rows)
            rows = page
        elif len(rows) > self.max_records:
            rows, more = rows[: self.max_records], True
        return _json(_geojson(rows, more) if args.get("f") == "geojson" else _esri(rows, more))


def _geojson(rows: list[dict], more: bool) -> dict:
    out = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r["OBJECTID"],
         "geometry": {"type": "LineString", "coordinates": r["path"]},
         "properties": {k: v for k, v in r.items() if k != "path"}}
        for r in rows
    ]}
    if more:
        out["properties"] = {"exceededTransferLimit": True}
    return out


def _esri(rows: list[dict], more: bool) -> dict:
    out = {
        "objectIdFieldName": "OBJECTID", "geometryType": "esriGeometryPolyline",
        "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"}],
        "features": [{"attributes": {k: v for k, v in r.items() if k != "path"},
                      "geometry": {"paths": [r["path"]]}} for r in rows],
    }
    if more:
        out["exceededTransferLimit"] = True
    return out


def _json(payload: dict) -> Response:
    return Response(json.dumps(payload), content_type="application/json")


@pytest.fixture
def session():
    with make_session(HttpSettings(retries=1, backoff_factor=0.0, read_timeout=5.0)) as s:
        yield s


def serve(httpserver, layer: FakeLayer) -> str:
    httpserver.expect_request(LAYER).respond_with_handler(layer.metadata)
    httpserver.expect_request(f"{LAYER}/query").respond_with_handler(layer.query)
    return httpserver.url_for(LAYER)


@pytest.mark.parametrize("fmt", ["geojson", "json"])
def test_pages_until_the_flag_is_gone(httpserver, session, fmt):
    layer = FakeLayer(7, max_records=3)
    seen = []
    frame = arcgis.query_features(session, serve(httpserver, layer), fmt=fmt,
                                  progress=lambda done, total: seen.append(done))
    assert frame["OBJECTID"].tolist() == list(range(10, 17))
    assert frame.crs.to_epsg() == 4326
    assert set(frame.geom_type) == {"LineString"}
    assert frame.loc[0, "OWNER"] == "owner 0"
    assert [int(q["resultOffset"]) for q in layer.queries] == [0, 3, 6]
    assert all(q["f"] == fmt and q["outSR"] == "4326" for q in layer.queries)
    assert seen == [3, 6, 7]


def test_page_size_is_capped_at_max_record_count(httpserver, session):
    layer = FakeLayer(5, max_records=2)
    arcgis.query_features(session, serve(httpserver, layer), page_size=1000)
    assert {q["resultRecordCount"] for q in layer.queries} == {"2"}


def test_flag_on_a_short_page_keeps_paging(httpserver, session):
    layer = FakeLayer(7, max_records=3, short_pages=2)
    frame = arcgis.query_features(session, serve(httpserver, layer), fmt="json")
    assert frame["OBJECTID"].tolist() == list(range(10, 17))
    assert [int(q["resultOffset"]) for q in layer.queries] == [0, 2, 4, 6]


def test_without_paging_queries_object_id_ranges(httpserver, session):
    layer = FakeLayer(8, max_records=3, paging=False)
    seen = []
    frame = arcgis.query_features(session, serve(httpserver, layer), where="VOLTAGE > 0", max_workers=2,
                                  progress=lambda done, total: seen.append((done, total)))
    assert sorted(frame["OBJECTID"]) == list(range(10, 18))
    assert frame["OBJECTID"].tolist() == list(range(10, 18))  # chunks come back in order
    ids_query, *chunks = layer.queries
    assert ids_query["returnIdsOnly"] == "true"
    assert len(chunks) == 3
    assert all("resultOffset" not in q for q in chunks)
    assert all(q["where"].startswith("(VOLTAGE > 0) AND OBJECTID >= ") for q in chunks)
    assert seen[-1] == (8, 8)


def test_stalled_paging_falls_back_to_id_ranges(httpserver, session):
    layer = FakeLayer(6, max_records=3, stall=True)
    frame = arcgis.query_features(session, serve(httpserver, layer))
    assert frame["OBJECTID"].tolist() == list(range(10, 16))
    assert any(q.get("returnIdsOnly") == "true" for q in layer.queries)


def test_error_object_on_a_later_page_fails(httpserver, session):
    layer = FakeLayer(7, max_records=3, error_at_offset=3)
    with pytest.raises(FetchError, match="Error performing query operation"):
        arcgis.query_features(session, serve(httpserver, layer))


def test_the_number_of_pages_is_bounded(httpserver, session):
    layer = FakeLayer(4, max_records=2, endless=True)
    with pytest.raises(FetchError, match="after 3 pages"):
        arcgis.query_features(session, serve(httpserver, layer), max_pages=3)
    assert len(layer.queries) == 3


def test_bbox_and_where_reach_the_server(httpserver, session):
    layer = FakeLayer(2)
    arcgis.query_features(session, serve(httpserver, layer), where="STATE IN ('AZ')",
                          bbox=(-115.0, 31.0, -109.0, 37.0), out_fields="VOLTAGE,OWNER")
    query = layer.queries[0]
    assert query["where"] == "STATE IN ('AZ')"
    assert query["geometry"] == "-115.000000,31.000000,-109.000000,37.000000"
    assert query["geometryType"] == "esriGeometryEnvelope"
    assert query["inSR"] == "4326" and query["spatialRel"] == "esriSpatialRelIntersects"
    assert query["outFields"] == "VOLTAGE,OWNER"


def test_metadata_is_read(httpserver, session):
    meta = arcgis.layer_metadata(session, serve(httpserver, FakeLayer(max_records=2000, paging=False)))
    assert meta.max_record_count == 2000
    assert not meta.supports_pagination
    assert meta.object_id_field == "OBJECTID"
    assert meta.query_formats == ("json", "geojson", "pbf")
    assert meta.wkid == 3857
    assert meta.fields == ("OBJECTID", "VOLTAGE", "OWNER")


def test_layer_is_found_by_name(httpserver, session):
    service = "/arcgis/rest/services/NPS/FeatureServer"
    httpserver.expect_request(service).respond_with_json(
        {"layers": [{"id": 0, "name": "nps_tracts"}, {"id": 2, "name": "nps_boundary"}], "tables": []}
    )
    url = httpserver.url_for(service)
    assert arcgis.resolve_layer(session, url, "nps_boundary") == f"{url}/2"
    with pytest.raises(FetchError, match="nps_tracts, nps_boundary"):
        arcgis.resolve_layer(session, url, "parks")


def test_esri_rings_make_shells_and_holes():
    shell = [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]  # clockwise: a shell
    hole = [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]  # counter-clockwise: a hole
    other = [[20, 0], [20, 5], [25, 5], [25, 0], [20, 0]]
    single = esrijson.esri_geometry({"rings": [shell, hole]})
    assert isinstance(single, Polygon) and len(single.interiors) == 1
    assert single.area == pytest.approx(96)
    multi = esrijson.esri_geometry({"rings": [shell, hole, other]})
    assert isinstance(multi, MultiPolygon) and len(multi.geoms) == 2
    assert multi.area == pytest.approx(96 + 25)


def test_esri_points_and_empty_geometries():
    assert esrijson.esri_geometry({"x": -112.5, "y": 36.1}).coords[0] == (-112.5, 36.1)
    assert esrijson.esri_geometry({"x": None, "y": None}) is None
    assert esrijson.esri_geometry(None) is None
    assert len(esrijson.esri_geometry({"points": [[0, 0], [1, 1]]}).geoms) == 2
    with pytest.raises(FetchError, match="unknown Esri geometry"):
        esrijson.esri_geometry({"curveRings": []})


def test_esri_json_in_web_mercator_is_reprojected():
    page = {"spatialReference": {"wkid": 102100, "latestWkid": 3857},
            "features": [{"attributes": {"OBJECTID": 1}, "geometry": {"x": -12523442.714243, "y": 4300621.372044}}]}
    frame = esrijson.parse_features(page, "json")
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry[0].x == pytest.approx(-112.5, abs=1e-6)
    assert frame.geometry[0].y == pytest.approx(36.0, abs=1e-6)


@pytest.mark.shared_data
@pytest.mark.parametrize("name,bounds", [
    ("aps", (-114.82, 31.33, -109.28, 36.28)),
    ("tep", (-114.76, 31.68, -110.57, 36.21)),
])
def test_captured_hifld_response_with_crs_member(httpserver, session, name, bounds):
    path = SHARED / "responses" / f"hifld_Electric_Holding_Company_Areas_query_f-geojson_outSR3857_{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    layer = FakeLayer(1, max_records=1000)
    httpserver.expect_request(LAYER).respond_with_handler(layer.metadata)
    httpserver.expect_request(f"{LAYER}/query").respond_with_data(path.read_bytes(), content_type="application/json")
    frame = arcgis.query_features(session, httpserver.url_for(LAYER))
    assert len(frame) == 1
    assert frame.crs.to_epsg() == 4326
    assert frame.geom_type[0] == "MultiPolygon"
    assert tuple(frame.total_bounds) == pytest.approx(bounds, abs=0.01)


@pytest.mark.parametrize("paging", [True, False])
def test_a_query_run_again_resumes_from_the_cached_pages(httpserver, session, tmp_path, paging):
    cache = ResponseCache(tmp_path / "answers")
    layer = FakeLayer(9, max_records=3, paging=paging)
    url = serve(httpserver, layer)
    full = arcgis.query_features(session, url, cache=cache)
    assert len(cache) == (3 if paging else 4)  # three pages, or the id list and three ranges
    first_run = len(layer.queries)
    again = arcgis.query_features(session, url, cache=cache)
    assert len(layer.queries) == first_run  # everything came from the cache
    assert again.equals(full)


def test_an_interrupted_paged_query_requests_only_the_missing_pages(httpserver, session, tmp_path):
    cache = ResponseCache(tmp_path / "answers")
    layer = FakeLayer(9, max_records=3, error_at_offset=6)
    url = serve(httpserver, layer)
    with pytest.raises(FetchError, match="Error performing query operation"):
        arcgis.query_features(session, url, cache=cache)
    assert len(cache) == 2  # the error answer is not kept
    layer.error_at_offset = None
    layer.queries.clear()
    frame = arcgis.query_features(session, url, cache=cache)
    assert [q["resultOffset"] for q in layer.queries] == ["6"]
    assert frame["OBJECTID"].tolist() == list(range(10, 19))


def test_stale_cached_pages_are_ignored(httpserver, session, tmp_path):
    layer = FakeLayer(4, max_records=3)
    url = serve(httpserver, layer)
    arcgis.query_features(session, url, cache=ResponseCache(tmp_path / "answers"))
    for answer in (tmp_path / "answers").iterdir():
        os.utime(answer, (time.time() - 7200, time.time() - 7200))
    layer.queries.clear()
    arcgis.query_features(session, url, cache=ResponseCache(tmp_path / "answers", max_age=timedelta(hours=1)))
    assert [q["resultOffset"] for q in layer.queries] == ["0", "3"]
