"""Client for ArcGIS REST FeatureServer/MapServer layers.

``query_features`` reads the layer metadata, then pages with ``resultOffset`` /
``resultRecordCount`` ordered by the object-id field until the service no longer sets
``exceededTransferLimit`` (top level in ``f=json``, inside ``properties`` in
``f=geojson``). Where the layer does not support paging it lists the object ids
(``returnIdsOnly``) and queries them in id ranges, a bounded number at a time.

Pages are read as GeoDataFrames by :mod:`geo.sources.esrijson`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import requests

from geo.errors import FetchError
from geo.sources.base import Fetched, FetchRequest
from geo.sources.esrijson import exceeded_transfer_limit, parse_features
from geo.sources.http import ResponseCache, get_json
from geo.sources.spec import Source
from geo.types import STORE_CRS

log = logging.getLogger(__name__)

#: Callback ``progress(done, total)``; ``total`` is None while unknown.
Progress = Callable[[int, int | None], None]

#: A query never reads more pages than this (a guard against a service that never ends).
MAX_PAGES = 5000
DEFAULT_PAGE_SIZE = 1000


@dataclass(frozen=True)
class LayerMetadata:
    """What a client needs from ``{layer_url}?f=json``."""

    url: str
    name: str
    max_record_count: int
    supports_pagination: bool
    object_id_field: str
    query_formats: tuple[str, ...]
    fields: tuple[str, ...] = field(default_factory=tuple)
    wkid: int | None = None


def layer_metadata(session: requests.Session, url: str) -> LayerMetadata:
    """Read a layer's page size, paging support, object-id field and fields.

    Parameters
    ----------
    session
        Session from :func:`geo.sources.http.make_session`.
    url
        The layer's address (``.../FeatureServer/0``).

    Returns
    -------
    LayerMetadata
        What the layer's ``?f=json`` description says.

    Raises
    ------
    FetchError
        When the service fails or the URL is not a queryable layer.
    """
    url = url.rstrip("/")
    meta = get_json(session, url, params={"f": "json"})
    fields = meta.get("fields") or []
    oid = meta.get("objectIdField") or next(
        (f.get("name") for f in fields if f.get("type") == "esriFieldTypeOID"), None
    )
    if not oid:
        raise FetchError(f"{url}: the layer metadata names no object-id field; is this a feature layer?")
    advanced = meta.get("advancedQueryCapabilities") or {}
    extent_sr = (meta.get("extent") or {}).get("spatialReference") or {}
    formats = tuple(
        f.strip().lower() for f in str(meta.get("supportedQueryFormats", "JSON")).split(",") if f.strip()
    )
    return LayerMetadata(
        url=url,
        name=str(meta.get("name", "")),
        max_record_count=int(meta.get("maxRecordCount") or DEFAULT_PAGE_SIZE),
        supports_pagination=bool(advanced.get("supportsPagination", False)),
        object_id_field=str(oid),
        query_formats=formats,
        fields=tuple(str(f.get("name")) for f in fields),
        wkid=extent_sr.get("latestWkid") or extent_sr.get("wkid"),
    )


def resolve_layer(session: requests.Session, service_url: str, name: str) -> str:
    """The URL of the layer called ``name`` in a FeatureServer/MapServer service.

    Parameters
    ----------
    session
        Session from :func:`geo.sources.http.make_session`.
    service_url
        The service's address (``.../FeatureServer``).
    name
        The layer's or table's name, compared case-insensitively.

    Returns
    -------
    str
        The layer's address, ``{service_url}/{id}``.

    Raises
    ------
    FetchError
        When the service has no layer of that name (the message lists the layers it has).
    """
    service_url = service_url.rstrip("/")
    info = get_json(session, service_url, params={"f": "json"})
    layers = [*(info.get("layers") or []), *(info.get("tables") or [])]
    for layer in layers:
        if str(layer.get("name", "")).lower() == name.lower():
            return f"{service_url}/{layer['id']}"
    names = ", ".join(str(layer.get("name")) for layer in layers) or "none"
    raise FetchError(f"{service_url}: no layer named {name!r}; the service has: {names}")


def query_features(
    session: requests.Session,
    url: str,
    *,
    where: str = "1=1",
    bbox: Sequence[float] | None = None,
    out_fields: str = "*",
    fmt: Literal["geojson", "json"] = "geojson",
    page_size: int | None = None,
    max_workers: int = 2,
    progress: Progress | None = None,
    max_pages: int = MAX_PAGES,
    cache: ResponseCache | None = None,
) -> gpd.GeoDataFrame:
    """All features of a layer matching ``where`` and ``bbox``, in EPSG:4326.

    Parameters
    ----------
    session
        A session from :func:`geo.sources.http.make_session`.
    url
        The layer URL, e.g. ``.../FeatureServer/0``.
    where
        SQL filter evaluated by the server.
    bbox
        ``(xmin, ymin, xmax, ymax)`` in EPSG:4326; features intersecting it are returned.
    out_fields
        Comma-separated field names or ``*``.
    fmt
        ``geojson`` or ``json`` (Esri JSON).
    page_size
        Features per request; capped at the layer's ``maxRecordCount``.
    max_workers
        Requests in flight at once when querying object-id ranges.
    progress
        Called as ``progress(features_so_far, total_or_None)`` after each page.
    max_pages
        Give up (with :class:`FetchError`) after this many pages.
    cache
        Keeps every checked answer; a query run again after an interruption reads the
        pages it already has from here and requests only the rest.

    Returns
    -------
    GeoDataFrame
        The publisher's fields as columns, geometry in EPSG:4326.
    """
    meta = layer_metadata(session, url)
    size = min(page_size or meta.max_record_count, meta.max_record_count)
    base = _base_params(meta, where, bbox, out_fields, fmt)
    if meta.supports_pagination:
        frames = _query_paged(session, meta, base, fmt, size, progress, max_pages, cache)
        if frames is not None:
            return _combine(frames, meta.url)
        log.warning("%s: paging stalled; querying by object-id ranges instead", meta.url)
    frames = _query_by_ids(session, meta, base, fmt, size, max_workers, progress, max_pages, cache)
    return _combine(frames, meta.url)


def _base_params(
    meta: LayerMetadata, where: str, bbox: Sequence[float] | None, out_fields: str, fmt: str
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "where": where,
        "outFields": out_fields,
        "returnGeometry": "true",
        "outSR": "4326",
        "f": fmt,
    }
    if bbox is not None:
        if len(bbox) != 4:
            raise ValueError(f"bbox must be (xmin, ymin, xmax, ymax), got {bbox!r}")
        params.update(
            geometry=",".join(f"{v:.6f}" for v in bbox),
            geometryType="esriGeometryEnvelope",
            inSR="4326",
            spatialRel="esriSpatialRelIntersects",
        )
    return params


def _query_paged(
    session: requests.Session,
    meta: LayerMetadata,
    base: dict[str, Any],
    fmt: str,
    size: int,
    progress: Progress | None,
    max_pages: int,
    cache: ResponseCache | None,
) -> list[gpd.GeoDataFrame] | None:
    """Pages by offset; None when the service claims more results but returns none."""
    query_url = f"{meta.url}/query"
    frames: list[gpd.GeoDataFrame] = []
    offset = 0
    for page in range(max_pages):
        params = {
            **base,
            "orderByFields": f"{meta.object_id_field} ASC",
            "resultOffset": offset,
            "resultRecordCount": size,
        }
        payload, fresh = _get_page(session, query_url, params, cache)
        frame = parse_features(payload, fmt, where=f"{query_url} (offset {offset})")
        if fresh and cache is not None:
            cache.put(query_url, payload, params)
        frames.append(frame)
        offset += len(frame)
        if progress is not None:
            progress(offset, None)
        more = exceeded_transfer_limit(payload, fmt)
        log.debug("%s: page %d, %d features, more=%s", meta.url, page + 1, len(frame), more)
        if not more:
            return frames
        if len(frame) == 0:
            return None
    raise FetchError(f"{query_url}: still more features after {max_pages} pages; giving up")


def _query_by_ids(
    session: requests.Session,
    meta: LayerMetadata,
    base: dict[str, Any],
    fmt: str,
    size: int,
    max_workers: int,
    progress: Progress | None,
    max_pages: int,
    cache: ResponseCache | None,
) -> list[gpd.GeoDataFrame]:
    query_url = f"{meta.url}/query"
    id_params = {k: v for k, v in base.items() if k not in ("outFields", "outSR", "returnGeometry")}
    ids_params = {**id_params, "returnIdsOnly": "true", "f": "json"}
    payload, fresh = _get_page(session, query_url, ids_params, cache)
    ids = sorted(int(i) for i in payload.get("objectIds") or [])
    if fresh and cache is not None:
        cache.put(query_url, payload, ids_params)
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
    if len(chunks) > max_pages:
        raise FetchError(f"{query_url}: {len(ids)} features need {len(chunks)} requests, over {max_pages}")
    oid = meta.object_id_field
    done = 0

    def fetch(chunk: list[int]) -> gpd.GeoDataFrame:
        where = f"({base['where']}) AND {oid} >= {chunk[0]} AND {oid} <= {chunk[-1]}"
        params = {**base, "where": where}
        page, fresh = _get_page(session, query_url, params, cache)
        label = f"{query_url} ({oid} {chunk[0]}-{chunk[-1]})"
        if exceeded_transfer_limit(page, fmt):
            raise FetchError(f"{label}: the server truncated an id range of {len(chunk)} features")
        frame = parse_features(page, fmt, where=label)
        if fresh and cache is not None:
            cache.put(query_url, page, params)
        return frame

    frames = []
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        for frame in pool.map(fetch, chunks):
            frames.append(frame)
            done += len(frame)
            if progress is not None:
                progress(done, len(ids))
    return frames


def _get_page(
    session: requests.Session, url: str, params: dict[str, Any], cache: ResponseCache | None
) -> tuple[dict[str, Any], bool]:
    """A query answer from ``cache`` if it has one, else from the service; True when fetched now."""
    if cache is not None:
        cached = cache.get(url, params)
        if cached is not None:
            return cached, False
    return get_json(session, url, params=params), True


def _combine(frames: list[gpd.GeoDataFrame], url: str) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        log.info("%s: no features matched", url)
        return gpd.GeoDataFrame(geometry=[], crs=STORE_CRS)
    out = pd.concat(frames, ignore_index=True)
    log.info("%s: %d features", url, len(out))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS)


def _counted_after(before: int, report: Callable[[int, int | None], None]) -> Progress:
    """Progress of one layer's pages, reported as features counted after ``before`` from earlier layers."""
    return lambda done, total: report(before + done, None)


def fetch(source: Source, request: FetchRequest) -> Fetched:
    """Every feature of ``source``'s layers for the requested states (the ``arcgis`` protocol).

    Parameters
    ----------
    source
        A source with an ArcGIS endpoint: one layer, several, or one per state.
    request
        The states, area, session, answer cache and progress of this refresh.

    Returns
    -------
    Fetched
        The features of every layer together, and the addresses read.
    """
    endpoint = source.endpoint
    assert endpoint is not None
    if endpoint.bbox_filter and request.bbox is None:
        raise FetchError(f"source {source.id!r} needs the states layer to bound its query; refresh `states` first")
    urls = endpoint.resolve_urls(request.states)
    if not urls:
        raise FetchError(f"source {source.id!r} has no service for states {', '.join(request.states)}")
    report = request.progress("features")
    fmt: Literal["json", "geojson"] = "json" if endpoint.format == "json" else "geojson"
    frames, done_before = [], 0
    for url in urls:
        if endpoint.layer_name:
            url = resolve_layer(request.session, url, endpoint.layer_name)
        frame = query_features(
            request.session, url, where=endpoint.resolve_where(request.states),
            bbox=request.bbox if endpoint.bbox_filter else None, out_fields=endpoint.out_fields, fmt=fmt,
            page_size=endpoint.page_size, progress=_counted_after(done_before, report),
            cache=request.answers,
        )
        done_before += len(frame)
        frames.append(frame)
    raw = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=STORE_CRS)
    return Fetched(raw, " ; ".join(urls))
