"""The protocols a source can be fetched with, as a table: refresh looks its protocol up here.

Each protocol module offers ``fetch(source, request) -> Fetched``. A new protocol is a
module with such a function and a row in :data:`PROTOCOLS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from geo.sources import arcgis, bulk, overpass
from geo.sources.base import Fetched, FetchRequest
from geo.sources.spec import Source


@dataclass(frozen=True)
class Protocol:
    """How to fetch with one protocol.

    ``bounded``: its query is bounded by the states' extent (when the endpoint's
    ``bbox_filter`` is on), so the states must be known first. ``filtered``: it sends the
    endpoint's ``where`` clause.
    """

    fetch: Callable[[Source, FetchRequest], Fetched]
    bounded: bool = False
    filtered: bool = False


PROTOCOLS: dict[str, Protocol] = {
    "arcgis": Protocol(arcgis.fetch, bounded=True, filtered=True),
    "overpass": Protocol(overpass.fetch, bounded=True),
    "bulk": Protocol(bulk.fetch),
    "table": Protocol(bulk.fetch_table),
}


def needs_area(source: Source) -> bool:
    """Whether fetching ``source`` needs the states' extent (a bounded query or tiles over the area).

    Parameters
    ----------
    source
        A source with an online endpoint.

    Returns
    -------
    bool
        True when the states layer must be known first.
    """
    endpoint = source.endpoint
    if endpoint is None:
        return False
    return endpoint.url_template is not None or (endpoint.bbox_filter and PROTOCOLS[endpoint.protocol].bounded)


def describe_fetch(source: Source, states: tuple[str, ...], bbox: tuple[float, float, float, float] | None) -> str:
    """One line saying what fetching ``source`` would ask for, for a dry run.

    Parameters
    ----------
    source
        A source with an online endpoint.
    states
        The requested states.
    bbox
        The area, when the states are known.

    Returns
    -------
    str
        ``id [protocol] address`` and the query, if the protocol sends one.
    """
    endpoint = source.endpoint
    assert endpoint is not None
    if endpoint.url_template and bbox is None:
        where = f"{endpoint.url_template} (tiles over the states' extent)"
    elif endpoint.url_template:
        tiles = endpoint.resolve_urls(states, bbox)
        where = f"{len(tiles)} tiles like {tiles[0]}"
    else:
        where = ", ".join(endpoint.resolve_urls(states, bbox))
    query = f" where {endpoint.resolve_where(states)}" if PROTOCOLS[endpoint.protocol].filtered else ""
    return f"{source.id} [{endpoint.protocol}] {where}{query}"
