"""The retrying session and the JSON reader, against a real local HTTP server."""

from __future__ import annotations

import logging
import time

import pytest
from werkzeug import Request, Response

from geo import __version__
from geo.errors import FetchError
from geo.sources.http import USER_AGENT, HttpSettings, get_json, make_session

FAST = HttpSettings(retries=2, backoff_factor=0.0, retry_after_max=0.2, connect_timeout=1.0, read_timeout=1.0)


@pytest.fixture
def session():
    with make_session(FAST) as s:
        yield s


def test_user_agent_names_package_and_version(httpserver, session):
    seen = {}

    def handler(request: Request) -> Response:
        seen["ua"] = request.headers.get("User-Agent")
        return Response('{"ok": true}', content_type="application/json")

    httpserver.expect_request("/meta").respond_with_handler(handler)
    assert get_json(session, httpserver.url_for("/meta")) == {"ok": True}
    assert seen["ua"] == USER_AGENT
    assert seen["ua"].startswith(f"geo-siting/{__version__} ")


def test_http_500_then_success_is_retried(httpserver, session):
    httpserver.expect_oneshot_request("/q").respond_with_data("busy", status=500)
    httpserver.expect_request("/q").respond_with_json({"features": []})
    assert get_json(session, httpserver.url_for("/q")) == {"features": []}
    assert len(httpserver.log) == 2


def test_persistent_503_fails_after_the_retries(httpserver, session):
    httpserver.expect_request("/q").respond_with_data("down", status=503)
    with pytest.raises(FetchError, match=r"HTTP 503.*after retries"):
        get_json(session, httpserver.url_for("/q"))
    assert len(httpserver.log) == 1 + FAST.retries


def test_429_waits_for_retry_after(httpserver):
    settings = HttpSettings(retries=1, backoff_factor=0.0, retry_after_max=5.0)
    httpserver.expect_oneshot_request("/q").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_request("/q").respond_with_json({"n": 1})
    with make_session(settings) as session:
        start = time.monotonic()
        assert get_json(session, httpserver.url_for("/q")) == {"n": 1}
        waited = time.monotonic() - start
    assert 0.9 <= waited < 3.0


def test_retry_after_wait_is_capped(httpserver, session):
    httpserver.expect_oneshot_request("/q").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3600"}
    )
    httpserver.expect_request("/q").respond_with_json({"n": 2})
    start = time.monotonic()
    assert get_json(session, httpserver.url_for("/q")) == {"n": 2}
    assert time.monotonic() - start < 2.0


def test_timeout_becomes_fetch_error(httpserver):
    def slow(_request: Request) -> Response:
        time.sleep(0.6)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    settings = HttpSettings(retries=0, read_timeout=0.2)
    with make_session(settings) as session, pytest.raises(FetchError, match="timed out") as info:
        get_json(session, httpserver.url_for("/slow"))
    assert httpserver.url_for("/slow") in str(info.value)


def test_truncated_json_names_the_url(httpserver, session):
    httpserver.expect_request("/q").respond_with_data(
        '{"features": [{"attributes": {"OBJECTID": 1}', content_type="application/json"
    )
    with pytest.raises(FetchError, match="not valid JSON") as info:
        get_json(session, httpserver.url_for("/q"))
    assert "/q" in str(info.value)
    assert "bytes received" in str(info.value)


def test_arcgis_error_object_with_http_200_is_a_failure(httpserver, session):
    httpserver.expect_request("/q").respond_with_json(
        {"error": {"code": 400, "message": "Unable to complete operation.",
                   "details": ["Service does not exist or is inaccessible"]}}
    )
    with pytest.raises(FetchError, match=r"code 400: Unable to complete operation\. \(Service does not exist"):
        get_json(session, httpserver.url_for("/q"))
    assert len(httpserver.log) == 1  # an error object is final, not retried


def test_non_object_json_is_rejected(httpserver, session):
    httpserver.expect_request("/q").respond_with_json([1, 2, 3])
    with pytest.raises(FetchError, match="expected a JSON object"):
        get_json(session, httpserver.url_for("/q"))


def test_connection_refused_is_a_fetch_error():
    with make_session(HttpSettings(retries=0, connect_timeout=0.5)) as session:
        with pytest.raises(FetchError, match="request failed"):
            get_json(session, "http://127.0.0.1:9/nothing")


def test_post_is_retried(httpserver, session):
    httpserver.expect_oneshot_request("/interpreter", method="POST").respond_with_data("", status=504)
    httpserver.expect_request("/interpreter", method="POST").respond_with_json({"elements": []})
    assert get_json(session, httpserver.url_for("/interpreter"), method="POST", data={"data": "x"}) == {"elements": []}


def test_each_request_is_logged_with_host(httpserver, session, caplog):
    httpserver.expect_request("/q").respond_with_json({"a": 1})
    with caplog.at_level(logging.DEBUG, logger="geo.sources.http"):
        get_json(session, httpserver.url_for("/q"))
    host = f"{httpserver.host}:{httpserver.port}"
    assert any(host in r.getMessage() and "HTTP 200" in r.getMessage() for r in caplog.records)
