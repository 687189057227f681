"""Electric substations: OpenStreetMap through Overpass, or GridKit's 2016 OpenStreetMap export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.layers.transmission import plausible_kv
from geo.sources.normalizing import as_frame, as_geoframe, finish, points_from_columns
from geo.sources.spec import ODBL, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec

_GRIDKIT_SUBSTATION_TYPES = ("substation", "station", "sub_station")


def _substation_points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Substations mapped as areas become points inside them."""
    geoms = frame.geometry
    areal = ~geoms.geom_type.isin(["Point", "MultiPoint"]) & geoms.notna()
    if not areal.any():
        return frame
    out = frame.copy()
    out.loc[areal, frame.geometry.name] = geoms[areal].representative_point()
    return out


def _osm_substations(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ())
    frame = clean.null_sentinels(frame, [c for c in ("name", "voltage") if c in frame.columns])
    notes: list[str] = []
    if "voltage" in frame.columns:
        kv, notes = plausible_kv(clean.max_kv_from_volts(frame["voltage"]), "substation")
    else:
        kv = pd.Series(np.nan, index=frame.index)
    out = _substation_points(frame).assign(max_voltage_kv=kv)
    return finish(spec, out, ctx, notes=notes)


def _gridkit_substations(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """``raw`` is the vertices table, or ``{"vertices": ..., "links": ...}``; a vertex's
    voltage is its own (volts, ``;``-separated) or else the highest of its links."""
    links = None
    if isinstance(raw, Mapping):
        vertices, links = raw.get("vertices"), raw.get("links")
    else:
        vertices = raw
    table = as_frame(vertices, spec.id, ("v_id", "lon", "lat", "typ", "voltage"))
    table = clean.null_sentinels(table, ["name", "voltage"])
    chosen = table.loc[table["typ"].astype("string").isin(_GRIDKIT_SUBSTATION_TYPES).fillna(False)]
    kv, notes = plausible_kv(clean.max_kv_from_volts(chosen["voltage"]), "substation")
    notes.append(f"{int(kv.notna().sum())} of {len(chosen)} substations carry their own voltage")
    if links is not None:
        link_table = as_frame(links, spec.id, ("v_id_1", "v_id_2", "voltage"))
        link_kv, link_notes = plausible_kv(clean.max_kv_from_volts(link_table["voltage"]), "link")
        notes += link_notes
        ends = pd.concat([
            pd.DataFrame({"v_id": link_table["v_id_1"], "kv": link_kv}),
            pd.DataFrame({"v_id": link_table["v_id_2"], "kv": link_kv}),
        ])
        by_vertex = ends.dropna().groupby("v_id")["kv"].max()
        from_links = chosen["v_id"].map(by_vertex).astype("float64")
        filled = kv.isna() & from_links.notna()
        kv = kv.fillna(from_links)
        notes.append(f"{int(filled.sum())} more take the highest voltage of the GridKit links touching them")
    points = points_from_columns(chosen.assign(max_voltage_kv=kv), "lon", "lat", spec.id)
    return finish(spec, points, ctx, notes=notes)


OSM_SUBSTATIONS = SourceSpec(
    id="osm_substations", layer="substations",
    title="OpenStreetMap contributors, power=substation (Overpass API)",
    license=ODBL, url="https://overpass-api.de/api/interpreter", vintage="OpenStreetMap at retrieval",
    notes=("OpenStreetMap coverage of substations is uneven; voltages are tagged in volts",),
    endpoint=Endpoint(
        protocol="overpass", format="overpass json", url="https://overpass-api.de/api/interpreter",
        notes=["HIFLD and EIA no longer publish substation locations (EIA FAQ, January 2024)."],
    ),
    normalize=_osm_substations,
)

GRIDKIT_SUBSTATIONS = SourceSpec(
    id="gridkit_substations", layer="substations",
    title="GridKit North America high-voltage network, vertices "
          "(OpenStreetMap power=* objects, export of 14 March 2016; B. Wiegmans, SciGRID)",
    license="ODbL 1.0 (© OpenStreetMap contributors; GridKit, B. Wiegmans)",
    url="https://github.com/bdw/GridKit", vintage="OpenStreetMap export of March 2016",
    caveat="OpenStreetMap as of March 2016: newer substations are missing",
    notes=(
        "OpenStreetMap as of March 2016: substations built or mapped since are missing, and "
        "Western substations were incompletely mapped then",
        "vertices of type substation, station and sub_station; joints, merges and plants left out",
    ),
    files=OfflineFiles(
        FileKind("gridkit_vertices", "GridKit high-voltage network vertices (CSV)", ("gridkit_*vertices*.csv",),
                 frozenset({"v_id", "lon", "lat", "typ", "voltage"})),
        main_key="vertices",
        extras={"links": FileKind("gridkit_links", "GridKit high-voltage network links (CSV)",
                                  ("gridkit_*links*.csv",), frozenset({"l_id", "v_id_1", "v_id_2", "voltage"}))},
        extra_only="GridKit links are straight segments between stations; they only supply "
        "substation voltages, together with the GridKit vertices file",
    ),
    normalize=_gridkit_substations,
)

LAYER = LayerSources("substations", (OSM_SUBSTATIONS, GRIDKIT_SUBSTATIONS))
