"""OpenStreetMap substations through the Overpass API.

The area is cut into tiles (2°×2° by default) so that each query stays inside the
server's time limit; elements on a tile edge come back twice and are kept once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import requests
from shapely.geometry import Point

from geo.errors import FetchError
from geo.sources.base import Fetched, FetchRequest
from geo.sources.http import ResponseCache, get_json
from geo.sources.spec import Source
from geo.types import STORE_CRS

log = logging.getLogger(__name__)

DEFAULT_URL = "https://overpass-api.de/api/interpreter"
#: OSM tags kept as columns.
TAGS = ("voltage", "name", "operator", "substation")

#: Callback ``progress(tiles_done, tiles_total)``.
Progress = Callable[[int, int | None], None]


def substation_query(south: float, west: float, north: float, east: float, timeout_s: int = 180) -> str:
    """The Overpass QL query for ``power=substation`` nodes, ways and relations in a box.

    Parameters
    ----------
    south, west, north, east
        The box's edges in degrees (EPSG:4326).
    timeout_s
        Seconds the Overpass server may spend on the query.

    Returns
    -------
    str
        The query, asking for the tags and (for ways and relations) the centre.
    """
    box = f"({south:.6f},{west:.6f},{north:.6f},{east:.6f})"
    return (
        f"[out:json][timeout:{timeout_s}];"
        f'(node["power"="substation"]{box};way["power"="substation"]{box};'
        f'relation["power"="substation"]{box};);out center tags;'
    )


def tiles(bbox: Sequence[float], size_deg: float) -> list[tuple[float, float, float, float]]:
    """Cut ``(xmin, ymin, xmax, ymax)`` into tiles of at most ``size_deg`` degrees.

    Parameters
    ----------
    bbox
        ``(xmin, ymin, xmax, ymax)`` in degrees.
    size_deg
        Largest tile side, in degrees.

    Returns
    -------
    list[tuple[float, float, float, float]]
        The tiles as ``(xmin, ymin, xmax, ymax)``, row by row from the south-west.

    Raises
    ------
    ValueError
        When the box is empty or the size is not positive.
    """
    xmin, ymin, xmax, ymax = bbox
    if xmin >= xmax or ymin >= ymax or size_deg <= 0:
        raise ValueError(f"invalid bbox {tuple(bbox)!r} or tile size {size_deg!r}")
    nx = math.ceil((xmax - xmin) / size_deg)
    ny = math.ceil((ymax - ymin) / size_deg)
    out = []
    for j in range(ny):
        for i in range(nx):
            out.append((
                xmin + i * size_deg, ymin + j * size_deg,
                min(xmax, xmin + (i + 1) * size_deg), min(ymax, ymin + (j + 1) * size_deg),
            ))
    return out


def substations(
    session: requests.Session,
    bbox: Sequence[float],
    *,
    url: str = DEFAULT_URL,
    tile_deg: float = 2.0,
    timeout_s: int = 180,
    progress: Progress | None = None,
    cache: ResponseCache | None = None,
) -> gpd.GeoDataFrame:
    """Substations inside ``bbox`` (EPSG:4326) as points with their OSM tags.

    Ways and relations are placed at the centre Overpass computes for them. With a
    ``cache``, every complete tile is kept, so a run again after an interruption queries
    only the tiles still missing.

    Parameters
    ----------
    session
        Session from :func:`geo.sources.http.make_session`.
    bbox
        ``(xmin, ymin, xmax, ymax)`` in degrees.
    url
        The Overpass interpreter endpoint.
    tile_deg
        Largest tile side in degrees; one query per tile.
    timeout_s
        Seconds each query may run on the server.
    progress
        Called as ``progress(tiles_done, tiles_total)``.
    cache
        Where complete tiles' answers are kept.

    Returns
    -------
    GeoDataFrame
        Columns ``osm_type``, ``osm_id`` and :data:`TAGS` (missing tags as None), EPSG:4326.

    Raises
    ------
    FetchError
        When a tile fails or Overpass reports a runtime error (its answer is then incomplete).
    """
    boxes = tiles(bbox, tile_deg)
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for done, (west, south, east, north) in enumerate(boxes, start=1):
        query = substation_query(south, west, north, east, timeout_s)
        form = {"data": query}
        payload = cache.get(url, data=form) if cache is not None else None
        if payload is None:
            payload = get_json(session, url, method="POST", data=form, timeout=(15.0, timeout_s + 30.0))
            remark = str(payload.get("remark") or "")
            if "error" in remark.lower():
                raise FetchError(f"{url}: Overpass tile {(west, south, east, north)} incomplete: {remark}")
            if cache is not None:
                cache.put(url, payload, data=form)
        for element in payload.get("elements") or []:
            row = _element_row(element)
            if row is not None:
                seen[(row["osm_type"], row["osm_id"])] = row
        if progress is not None:
            progress(done, len(boxes))
    log.info("%s: %d substations in %d tiles", url, len(seen), len(boxes))
    columns = ["osm_type", "osm_id", *TAGS]
    frame = pd.DataFrame.from_records(list(seen.values()), columns=[*columns, "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORE_CRS)


def _element_row(element: dict[str, Any]) -> dict[str, Any] | None:
    kind = element.get("type")
    if kind == "node":
        lat, lon = element.get("lat"), element.get("lon")
    else:
        center = element.get("center") or {}
        lat, lon = center.get("lat"), center.get("lon")
    if lat is None or lon is None or kind is None:
        log.debug("skipping Overpass element without a position: %s %s", kind, element.get("id"))
        return None
    tags = element.get("tags") or {}
    row: dict[str, Any] = {"osm_type": kind, "osm_id": int(element["id"])}
    row.update({tag: tags.get(tag) for tag in TAGS})
    row["geometry"] = Point(float(lon), float(lat))
    return row


def fetch(source: Source, request: FetchRequest) -> Fetched:
    """The substations of ``source`` inside the request's area (the ``overpass`` protocol).

    Parameters
    ----------
    source
        A source with an Overpass endpoint.
    request
        The area, session, answer cache and progress of this refresh.

    Returns
    -------
    Fetched
        The substations as points, and the interpreter's address.
    """
    assert source.endpoint is not None
    if request.bbox is None:
        raise FetchError(f"source {source.id!r} needs the states layer to bound its query; refresh `states` first")
    url = source.endpoint.url or DEFAULT_URL
    frame = substations(request.session, request.bbox, url=url, progress=request.progress("tiles"),
                        cache=request.answers)
    return Fetched(frame, url)
