"""County boundaries: the US Census Bureau's cartographic boundary file."""

from __future__ import annotations

from typing import Any

from geo.errors import LayerSchemaError
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec
from geo.types import STATE_FIPS


def _census_counties(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("GEOID", "NAME", "STATEFP"))
    code_of = {fips: code for code, fips in STATE_FIPS.items()}
    unknown = sorted(set(ctx.states) - set(STATE_FIPS))
    if unknown:
        raise LayerSchemaError(f"source {spec.id!r}: no FIPS code known for {', '.join(unknown)}")
    state = frame["STATEFP"].astype("string").str.zfill(2).map(code_of)
    chosen = frame.assign(state=state).loc[state.isin(ctx.states)]
    out = chosen.assign(geoid=chosen["GEOID"].astype("string").str.zfill(5), name=chosen["NAME"])
    return finish(spec, out, ctx, clip=False)


CENSUS_COUNTIES = SourceSpec(
    id="census_counties", layer="counties",
    title="US Census Bureau, Cartographic Boundary Files 2018: counties (1:5,000,000)",
    license=PUBLIC_DOMAIN, vintage="2018",
    url="https://www2.census.gov/geo/tiger/GENZ2018/shp/cb_2018_us_county_5m.zip",
    endpoint=Endpoint(
        protocol="bulk", format="zipped shapefile", member="cb_2018_us_county_5m.shp",
        url="https://www2.census.gov/geo/tiger/GENZ2018/shp/cb_2018_us_county_5m.zip",
    ),
    files=OfflineFiles(FileKind(
        "census_counties", "Census cartographic boundary counties (zipped shapefile)",
        ("cb_*_us_county_*.zip", "tl_*_us_county.zip"), frozenset({"STATEFP", "COUNTYFP", "GEOID", "NAME"}),
    )),
    normalize=_census_counties,
)

LAYER = LayerSources("counties", (CENSUS_COUNTIES,))
