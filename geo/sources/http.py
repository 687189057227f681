"""HTTP plumbing shared by every network client: one retrying session and a careful JSON reader.

All requests go through a :class:`requests.Session` whose adapter retries connection
errors and HTTP 429/500/502/503/504 with exponential backoff, honours ``Retry-After``,
applies a default timeout and sends a User-Agent naming this package and its version.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from geo import __version__
from geo.atomic import atomic_path
from geo.errors import FetchError

log = logging.getLogger(__name__)

USER_AGENT = f"geo-siting/{__version__} python-requests/{requests.__version__}"
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Overpass is queried with POST, so POST is retried as well (every query here is read-only).
RETRY_METHODS = frozenset({"GET", "HEAD", "POST"})


@dataclass(frozen=True)
class HttpSettings:
    """How patient the session is.

    Parameters
    ----------
    retries
        Attempts after the first, for connection errors, read timeouts and retryable statuses.
    backoff_factor
        Exponential backoff: sleeps ``backoff_factor * 2**(n-1)`` seconds before retry ``n``.
    backoff_max
        Longest backoff sleep, in seconds.
    retry_after_max
        Longest ``Retry-After`` wait honoured, in seconds.
    connect_timeout, read_timeout
        Default timeouts in seconds for requests that do not set their own.
    pool_size
        Connections kept per host; bounds the requests in flight per host.
    """

    retries: int = 5
    backoff_factor: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 300.0
    connect_timeout: float = 15.0
    read_timeout: float = 180.0
    pool_size: int = 4


class _TimeoutAdapter(HTTPAdapter):
    """An adapter that applies a default timeout to requests that give none."""

    def __init__(self, *, timeout: tuple[float, float], **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def _log_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    size = response.headers.get("Content-Length", "?")
    log.debug(
        "%s %s %s -> HTTP %d (%s bytes, %.2f s)",
        response.request.method, urlsplit(response.url).netloc, urlsplit(response.url).path,
        response.status_code, size, response.elapsed.total_seconds(),
    )


def make_session(settings: HttpSettings | None = None) -> requests.Session:
    """A session with retries, backoff, ``Retry-After``, default timeouts and a User-Agent.

    Parameters
    ----------
    settings
        How patient the session is (default :class:`HttpSettings`).

    Returns
    -------
    requests.Session
        A session that retries connection errors, read timeouts and retryable statuses.
    """
    settings = settings or HttpSettings()
    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        other=0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        backoff_factor=settings.backoff_factor,
        backoff_max=settings.backoff_max,
        # urllib3 annotates int, but caps the Retry-After seconds with any number
        retry_after_max=settings.retry_after_max,  # type: ignore[arg-type]
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = _TimeoutAdapter(
        timeout=(settings.connect_timeout, settings.read_timeout),
        max_retries=retry,
        pool_connections=settings.pool_size,
        pool_maxsize=settings.pool_size,
    )
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.hooks["response"].append(_log_response)
    return session


def request(
    session: requests.Session,
    url: str,
    *,
    method: str = "GET",
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    stream: bool = False,
    timeout: float | tuple[float, float] | None = None,
) -> requests.Response:
    """Send one request and return the response, or raise :class:`FetchError` naming the URL.

    Retries happen inside the session's adapter; what reaches this function is the final
    outcome, so any error or non-2xx status here is a failure.

    Parameters
    ----------
    session
        Session from :func:`make_session`.
    url
        The address to ask.
    method
        HTTP method, ``"GET"`` or ``"POST"``.
    params
        Query string parameters.
    data
        Form fields of a POST.
    stream
        Leave the body unread, for large downloads.
    timeout
        Seconds, or ``(connect, read)`` seconds; the session's default when None.

    Returns
    -------
    requests.Response
        The successful (2xx) response.
    """
    try:
        response = session.request(
            method, url, params=params, data=data, stream=stream, timeout=timeout
        )
    except requests.exceptions.Timeout as exc:
        raise FetchError(f"{url}: timed out ({exc})") from exc
    except requests.exceptions.RequestException as exc:
        if _timed_out(exc):  # retries exhausted on read timeouts surface as a ConnectionError
            raise FetchError(f"{url}: timed out after retries ({exc})") from exc
        raise FetchError(f"{url}: request failed ({exc})") from exc
    if not response.ok:
        response.close()
        raise FetchError(
            f"{response.url}: HTTP {response.status_code} {response.reason}"
            + _retry_note(response)
        )
    return response


def _timed_out(exc: BaseException) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # a refused connection
        return False
    return isinstance(reason, (urllib3.exceptions.TimeoutError, TimeoutError))


def _retry_note(response: requests.Response) -> str:
    if response.status_code in RETRY_STATUSES:
        return " (still failing after retries)"
    return ""


def get_json(
    session: requests.Session,
    url: str,
    *,
    method: str = "GET",
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    timeout: float | tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Fetch and decode a JSON object.

    Parameters
    ----------
    session
        Session from :func:`make_session`.
    url
        The address to ask.
    method
        HTTP method, ``"GET"`` or ``"POST"`` (for long ArcGIS queries).
    params
        Query string parameters.
    data
        Form fields of a POST.
    timeout
        Seconds, or ``(connect, read)`` seconds; the session's default when None.

    Returns
    -------
    dict[str, Any]
        The decoded JSON object.

    Raises
    ------
    FetchError
        On a network failure, a non-2xx status, a truncated or invalid body (naming the URL
        and the bytes received), a body that is not an object, or an ArcGIS error object
        (``{"error": {"code", "message", "details"}}``), which ArcGIS sends with HTTP 200.
    """
    response = request(session, url, method=method, params=params, data=data, timeout=timeout)
    where = response.url
    try:
        payload = json.loads(response.content)
    except ValueError as exc:
        raise FetchError(
            f"{where}: the response is not valid JSON ({len(response.content)} bytes received; "
            f"truncated or not JSON): {exc}"
        ) from exc
    log.debug("%s: %d bytes of JSON", urlsplit(where).netloc, len(response.content))
    if not isinstance(payload, dict):
        raise FetchError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    if "error" in payload:
        raise FetchError(f"{where}: the service answered with an error: {describe_error(payload['error'])}")
    return payload


def describe_error(error: Any) -> str:
    """One line from an ArcGIS error object: code, message and details.

    Parameters
    ----------
    error
        The ``error`` member of an ArcGIS answer (normally a dict).

    Returns
    -------
    str
        ``"code N: message (details)"``, or the value as text when it is not a dict.
    """
    if not isinstance(error, dict):
        return str(error)
    text = f"code {error.get('code', '?')}: {error.get('message') or 'no message'}"
    details = [str(d) for d in error.get("details") or [] if d]
    return text + (f" ({'; '.join(details)})" if details else "")


class ResponseCache:
    """JSON answers kept on disk so that an interrupted query resumes where it stopped.

    Each answer is a gzip file named by the sha256 of its URL, query and form
    parameters, written atomically; answers older than ``max_age`` are ignored. A caller
    stores an answer only once it has checked it, and clears the cache once the data it
    served is safely stored.

    Parameters
    ----------
    folder
        Where the answers are kept, one folder per source.
    max_age
        Ignore answers older than this; ``None`` keeps them until :meth:`clear`.
    """

    def __init__(self, folder: str | os.PathLike[str], max_age: timedelta | None = None) -> None:
        self.folder = Path(folder)
        self.max_age = max_age

    def __len__(self) -> int:
        return len(list(self.folder.glob("*.json.gz"))) if self.folder.is_dir() else 0

    def _path(self, url: str, params: dict[str, Any] | None, data: dict[str, Any] | None) -> Path:
        key = json.dumps([url, params or {}, data or {}], sort_keys=True, default=str)
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()}.json.gz"

    def get(
        self, url: str, params: dict[str, Any] | None = None, data: dict[str, Any] | None = None
    ) -> Any | None:
        """The stored answer to this request, or None.

        Parameters
        ----------
        url
            The address asked.
        params
            Its query string parameters.
        data
            Its form fields (POST).

        Returns
        -------
        Any or None
            The decoded answer; None when there is none, it is older than ``max_age`` or damaged.
        """
        path = self._path(url, params, data)
        try:
            if self.max_age is not None and time.time() - path.stat().st_mtime > self.max_age.total_seconds():
                return None
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                payload = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, ValueError) as exc:
            log.warning("ignoring the damaged cached answer %s: %s", path, exc)
            return None
        log.debug("%s: answer read from %s", describe(url, params), path.name)
        return payload

    def put(
        self, url: str, payload: Any, params: dict[str, Any] | None = None, data: dict[str, Any] | None = None
    ) -> None:
        """Keep ``payload`` as the answer to this request.

        Parameters
        ----------
        url
            The address asked.
        payload
            The checked answer, anything JSON can hold.
        params
            Its query string parameters.
        data
            Its form fields (POST).
        """
        with atomic_path(self._path(url, params, data)) as tmp, gzip.open(tmp, "wb") as fh:
            fh.write(json.dumps(payload).encode("utf-8"))

    def clear(self) -> None:
        """Forget every answer."""
        shutil.rmtree(self.folder, ignore_errors=True)


def describe(url: str, params: dict[str, Any] | None = None) -> str:
    """``url`` with its query string, for messages.

    Parameters
    ----------
    url
        The address.
    params
        Query string parameters, if any.

    Returns
    -------
    str
        The full address, query string encoded.
    """
    return f"{url}?{urlencode(params)}" if params else url
