"""Types shared by every source: what a fetcher and a normaliser receive and hand on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd

#: Layers are clipped to the requested states grown by this margin, so that a line or
#: substation just across a border still counts for distances near it.
CLIP_MARGIN_KM = 25.0


@dataclass(frozen=True)
class NormalizeContext:
    """What every normaliser needs to know about the request.

    ``states`` are two-letter codes; ``state_boundaries`` and ``county_boundaries``
    are the canonical ``states`` and ``counties`` layers (EPSG:4326) when they are
    known, used to clip features and to join county tables by FIPS.
    """

    states: tuple[str, ...]
    state_boundaries: gpd.GeoDataFrame | None = None
    county_boundaries: gpd.GeoDataFrame | None = None

    def with_boundaries(self, layer: str, frame: gpd.GeoDataFrame) -> NormalizeContext:
        """This request with ``frame`` (the ``states`` or ``counties`` layer) as its boundaries.

        Parameters
        ----------
        layer
            "states" or "counties".
        frame
            The canonical layer; only the requested states' rows are kept.

        Returns
        -------
        NormalizeContext
            A new context.
        """
        chosen = frame[frame["state"].isin(self.states)].reset_index(drop=True)
        if layer == "states":
            return replace(self, state_boundaries=chosen)
        return replace(self, county_boundaries=chosen)


@dataclass
class NormalizedLayer:
    """One canonical layer, ready for :meth:`geo.store.LayerStore.write`.

    Exactly one of ``frame`` (vector layers) and ``raster_path`` (``elevation``) is set.
    ``provenance`` holds the keyword arguments for the store's provenance record
    (source, url, license, proxy_for, partial, coverage_wkt, notes, source_checksum, states).
    """

    layer: str
    provenance: dict[str, Any]
    frame: gpd.GeoDataFrame | None = None
    raster_path: Path | None = None
    repaired_geometries: int = 0
    dropped_duplicates: int = 0
    dropped_outside: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Fetched:
    """What a protocol fetched: the publisher's data, where it was read, and its checksum if known."""

    raw: Any
    url: str
    checksum: str | None = None


@dataclass(frozen=True)
class FetchRequest:
    """What a protocol needs to fetch one source for one refresh.

    ``bbox`` is the requested states grown by :data:`CLIP_MARGIN_KM` (EPSG:4326), or None
    before the states are known; ``answers`` keeps the checked service answers of this
    source so that an interrupted fetch resumes; ``progress(unit)`` gives the callback
    for a unit ("features", "tiles" or "bytes").
    """

    session: Any
    cache_dir: Path
    states: tuple[str, ...]
    bbox: tuple[float, float, float, float] | None
    answers: Any
    progress: Callable[[str], Callable[[int, int | None], None]]
    max_age: timedelta
