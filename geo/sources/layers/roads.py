"""Major roads: TIGER/Line primary roads, or Natural Earth's US Interstates."""

from __future__ import annotations

from typing import Any

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import NATURAL_EARTH, PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec

_TIGER_ROAD_CLASS = {"I": "interstate", "U": "primary", "S": "secondary"}
_TIGER_URL = "https://www2.census.gov/geo/tiger/TIGER2021/PRIMARYROADS/tl_2021_us_primaryroads.zip"


def _tiger_roads(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """RTTYP I is an interstate, U a US highway (primary); state and other routes are secondary."""
    frame = as_geoframe(raw, spec.id, ("RTTYP", "FULLNAME"))
    frame = clean.null_sentinels(frame, ["RTTYP", "FULLNAME"])
    road_class = frame["RTTYP"].astype("string").str.upper().map(_TIGER_ROAD_CLASS).fillna("secondary")
    out = frame.assign(name=frame["FULLNAME"], road_class=road_class)
    return finish(spec, out, ctx)


def _ne_interstates(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """Natural Earth roads; the full file is filtered to US Interstates (``level``, ``sov_a3``)."""
    frame = as_geoframe(raw, spec.id, ("name",))
    if "level" in frame.columns:
        keep = frame["level"].astype("string").eq("Interstate").fillna(False)
        if "sov_a3" in frame.columns:
            keep &= frame["sov_a3"].astype("string").eq("USA").fillna(False)
        frame = frame.loc[keep.to_numpy()]
    number = frame["name"].astype("string").str.strip()
    out = frame.assign(name="I-" + number, road_class="interstate")
    return finish(spec, out, ctx)


TIGER_PRIMARY_ROADS = SourceSpec(
    id="tiger_primary_roads", layer="roads", title="US Census Bureau, TIGER/Line 2021 primary roads",
    license=PUBLIC_DOMAIN, vintage="2021", url=_TIGER_URL,
    endpoint=Endpoint(protocol="bulk", format="zipped shapefile", member="tl_2021_us_primaryroads.shp",
                      url=_TIGER_URL),
    files=OfflineFiles(FileKind("tiger_primary_roads", "TIGER/Line primary roads", ("tl_*_primaryroads*",),
                                frozenset({"RTTYP", "FULLNAME", "MTFCC"}))),
    normalize=_tiger_roads,
)

NE_INTERSTATES = SourceSpec(
    id="ne_interstates", layer="roads", title="Natural Earth 10m roads, US Interstates",
    license=NATURAL_EARTH, vintage="about 2014",
    url="https://www.naturalearthdata.com/downloads/10m-cultural-vectors/roads/",
    coarse="1:10,000,000 lines, about 0.5-1 km positional error",
    notes=("Interstates only: US and state highways are not in this layer",),
    endpoint=Endpoint(
        protocol="bulk", format="geojson",
        url="https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson/ne_10m_roads.geojson",
    ),
    files=OfflineFiles(FileKind("ne_interstates", "Natural Earth 10m roads, US Interstates",
                                ("ne_*_roads*interstate*",))),
    normalize=_ne_interstates,
)

LAYER = LayerSources("roads", (TIGER_PRIMARY_ROADS, NE_INTERSTATES))
