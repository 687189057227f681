"""State boundaries: the US Census Bureau's cartographic boundary file."""

from __future__ import annotations

from typing import Any

from geo.errors import LayerSchemaError
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec


def _census_states(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("STUSPS", "NAME"))
    chosen = frame.loc[frame["STUSPS"].isin(ctx.states)]
    missing = sorted(set(ctx.states) - set(chosen["STUSPS"]))
    if missing:
        raise LayerSchemaError(f"source {spec.id!r}: no boundary for state(s) {', '.join(missing)}")
    out = chosen.assign(state=chosen["STUSPS"], name=chosen["NAME"])
    return finish(spec, out, ctx, clip=False)


CENSUS_STATES = SourceSpec(
    id="census_states", layer="states",
    title="US Census Bureau, Cartographic Boundary Files 2018: states (1:5,000,000)",
    license=PUBLIC_DOMAIN, vintage="2018",
    url="https://www2.census.gov/geo/tiger/GENZ2018/shp/cb_2018_us_state_5m.zip",
    endpoint=Endpoint(
        protocol="bulk", format="zipped shapefile", bbox_filter=False, member="cb_2018_us_state_5m.shp",
        url="https://www2.census.gov/geo/tiger/GENZ2018/shp/cb_2018_us_state_5m.zip",
    ),
    files=OfflineFiles(FileKind(
        "census_states", "Census cartographic boundary states (zipped shapefile)",
        ("cb_*_us_state_*.zip", "tl_*_us_state.zip"), frozenset({"STUSPS", "STATEFP", "NAME"}),
    )),
    normalize=_census_states,
)

LAYER = LayerSources("states", (CENSUS_STATES,))
