"""Types shared by every source: what a normaliser receives and what it hands to the store."""

from __future__ import annotations

from dataclasses import dataclass, field
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
