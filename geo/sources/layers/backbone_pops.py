"""Backbone points of presence: where a long-haul network can be joined (Internet Topology Zoo)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_frame, finish, points_from_columns
from geo.sources.spec import Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec


def _topology_zoo_pops(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """Network nodes: GeoJSON points, or a table of GraphML nodes with Latitude/Longitude."""
    if isinstance(raw, gpd.GeoDataFrame):
        frame = as_frame(raw, spec.id, ("label", "network"))
    else:
        frame = points_from_columns(as_frame(raw, spec.id, ("label", "network", "Latitude", "Longitude")),
                        "Longitude", "Latitude", spec.id)
    frame = clean.null_sentinels(frame, ["label", "network"])
    historic = frame["network"].astype("string").str.lower().str.startswith("arpanet").fillna(False)
    notes = [f"{int(historic.sum())} Arpanet nodes (historic maps) dropped"] if historic.any() else []
    frame = frame.loc[~historic.to_numpy()]
    out = frame.assign(name=frame["label"], network=frame["network"])
    return finish(spec, out, ctx, notes=notes)


TOPOLOGY_ZOO_POPS = SourceSpec(
    id="topology_zoo_pops", layer="backbone_pops",
    title="The Internet Topology Zoo (Knight et al., IEEE JSAC 29(9), 2011): backbone points of presence",
    license="CC BY 4.0 (The Internet Topology Zoo; cite Knight et al. 2011)",
    url="http://www.topology-zoo.org/files/archive.zip", vintage="operators' maps of 2005-2011",
    coarse="city-level points from operators' network maps of 2005-2011",
    notes=(
        "where a backbone network could be joined, by city; not a map of fiber routes",
        "long-haul fiber in the West mostly follows rail and interstate rights of way "
        "(Durairajan et al., SIGCOMM 2015); those are scored by the highway_rail criterion",
    ),
    endpoint=Endpoint(
        protocol="bulk", format="graphml", member="*.graphml", bbox_filter=False,
        url="http://www.topology-zoo.org/files/archive.zip",
        notes=["No open dataset maps long-haul fiber routes, so the `fiber` layer has no public source; "
               "points of presence say where a backbone can be joined."],
    ),
    files=OfflineFiles(FileKind("topology_zoo_pops", "Internet Topology Zoo backbone points of presence",
                                ("*topology_zoo*",), frozenset({"network", "label", "node_id"}))),
    ignores=(FileKind(
        "county_broadband", "Microsoft/FCC county broadband availability and usage (CSV)",
        ("*broadband_data*.csv",), frozenset({"ST", "COUNTY ID", "BROADBAND AVAILABILITY PER FCC"}),
        skip_reason="county shares of people with 25/3 Mbps broadband say nothing about fiber "
        "routes; the fiber criterion uses backbone points of presence instead",
    ),),
    normalize=_topology_zoo_pops,
)

LAYER = LayerSources("backbone_pops", (TOPOLOGY_ZOO_POPS,))
