"""Bulk downloads through pooch, against a real local HTTP server."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from datetime import timedelta

import geopandas as gpd
import pytest
from werkzeug import Request, Response

from geo.errors import FetchError
from geo.sources.bulk import download
from geo.sources.http import HttpSettings, make_session

POINTS = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"NAME": "Kingman"}, "geometry": {"type": "Point", "coordinates": [-114.05, 35.19]}},
        {"type": "Feature", "properties": {"NAME": "Ely"}, "geometry": {"type": "Point", "coordinates": [-114.89, 39.25]}},
    ],
}


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def session():
    with make_session(HttpSettings(retries=1, backoff_factor=0.0, read_timeout=3.0)) as s:
        yield s


def cache_files(cache):
    return sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file())


def test_zip_is_unpacked_and_reused(httpserver, session, tmp_path):
    body = zipped({"places/places.geojson": json.dumps(POINTS).encode()})
    httpserver.expect_request("/data/places.zip").respond_with_data(body, content_type="application/zip")
    url = httpserver.url_for("/data/places.zip")
    seen = []
    first = download(url, tmp_path, unzip=True, session=session, progress=lambda d, t: seen.append((d, t)))
    assert first.path.is_dir()
    assert gpd.read_file(first.path / "places" / "places.geojson")["NAME"].tolist() == ["Kingman", "Ely"]
    assert first.sha256 == hashlib.sha256(body).hexdigest()
    assert seen[-1] == (len(body), len(body))
    again = download(url, tmp_path, unzip=True, session=session)
    assert again.path == first.path
    assert len(httpserver.log) == 1  # the completed download was reused


def test_known_hash_is_checked(httpserver, session, tmp_path):
    body = json.dumps(POINTS).encode()
    httpserver.expect_request("/places.geojson").respond_with_data(body)
    url = httpserver.url_for("/places.geojson")
    good = download(url, tmp_path, known_hash=hashlib.sha256(body).hexdigest(), session=session)
    assert good.path.read_bytes() == body


def test_checksum_mismatch_leaves_nothing_behind(httpserver, session, tmp_path):
    httpserver.expect_request("/places.geojson").respond_with_data(json.dumps(POINTS).encode())
    url = httpserver.url_for("/places.geojson")
    with pytest.raises(FetchError, match=r"places\.geojson.*hash") as info:
        download(url, tmp_path, known_hash="0" * 64, session=session)
    assert url in str(info.value)
    assert cache_files(tmp_path) == []


def test_checksum_mismatch_keeps_an_earlier_good_file(httpserver, session, tmp_path):
    body = json.dumps(POINTS).encode()
    httpserver.expect_oneshot_request("/p.geojson").respond_with_data(body)
    httpserver.expect_request("/p.geojson").respond_with_data(b'{"tampered": true}')
    url = httpserver.url_for("/p.geojson")
    good = download(url, tmp_path, known_hash=hashlib.sha256(body).hexdigest(), session=session)
    with pytest.raises(FetchError):
        download(url, tmp_path, known_hash="1" * 64, session=session)
    assert good.path.read_bytes() == body
    assert cache_files(tmp_path) == [good.path.name]


def test_connection_dropped_mid_download(httpserver, session, tmp_path):
    def dropped(_request: Request) -> Response:
        # promises 100000 bytes, sends 1000 and the server closes the connection
        return Response(iter([b"x" * 1000]), headers={"Content-Length": "100000"},
                        content_type="application/zip", direct_passthrough=True)

    httpserver.expect_request("/big.zip").respond_with_handler(dropped)
    url = httpserver.url_for("/big.zip")
    with pytest.raises(FetchError) as info:
        download(url, tmp_path, unzip=True, session=session)
    assert url in str(info.value)
    assert cache_files(tmp_path) == []


def test_broken_archive_is_discarded(httpserver, session, tmp_path):
    httpserver.expect_request("/broken.zip").respond_with_data(b"this is not a zip file")
    url = httpserver.url_for("/broken.zip")
    with pytest.raises(FetchError, match="not a readable zip"):
        download(url, tmp_path, unzip=True, session=session)
    assert cache_files(tmp_path) == []


def test_http_error_names_the_url(httpserver, session, tmp_path):
    httpserver.expect_request("/gone.zip").respond_with_data("no", status=404)
    url = httpserver.url_for("/gone.zip")
    with pytest.raises(FetchError, match="HTTP 404") as info:
        download(url, tmp_path, session=session)
    assert "/gone.zip" in str(info.value)
    assert cache_files(tmp_path) == []


def test_an_unchecksummed_download_is_fetched_again_once_too_old(httpserver, session, tmp_path):
    body = zipped({"places/places.geojson": json.dumps(POINTS).encode()})
    httpserver.expect_request("/data/places.zip").respond_with_data(body, content_type="application/zip")
    url = httpserver.url_for("/data/places.zip")
    first = download(url, tmp_path, unzip=True, session=session, max_age=timedelta(hours=12))
    download(url, tmp_path, unzip=True, session=session, max_age=timedelta(hours=12))
    assert len(httpserver.log) == 1  # fresh enough: reused
    day_old = time.time() - 86400
    os.utime(first.archive, (day_old, day_old))
    again = download(url, tmp_path, unzip=True, session=session, max_age=timedelta(hours=12))
    assert len(httpserver.log) == 2
    assert again.archive.read_bytes() == body
    assert (again.path / "places" / "places.geojson").is_file()
    os.utime(again.archive, (day_old, day_old))
    download(url, tmp_path, unzip=True, session=session, known_hash=hashlib.sha256(body).hexdigest(),
             max_age=timedelta(hours=12))
    assert len(httpserver.log) == 2  # a file that matches its published checksum never expires
