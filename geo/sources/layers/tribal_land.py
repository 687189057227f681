"""Tribal land: American Indian reservations and off-reservation trust land (Census AIANNH)."""

from __future__ import annotations

from typing import Any

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec


def _census_aiannh(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """TIGER/Line or cartographic-boundary AIANNH polygons (fields NAME, GEOID)."""
    frame = as_geoframe(raw, spec.id, ("NAME", "GEOID"))
    frame = clean.null_sentinels(frame, ["NAME", "GEOID"])
    name = frame["NAMELSAD"] if "NAMELSAD" in frame.columns else frame["NAME"]
    out = frame.assign(name=name.fillna(frame["NAME"]), geoid=frame["GEOID"].astype("string"))
    return finish(spec, out, ctx)


CENSUS_AIANNH = SourceSpec(
    id="census_aiannh", layer="tribal_land",
    title="US Census Bureau, American Indian / Alaska Native / Native Hawaiian Areas (AIANNH), 2020",
    license=PUBLIC_DOMAIN, vintage="2020",
    url="https://www2.census.gov/geo/tiger/TIGER2020/AIANNH/tl_2020_us_aiannh.zip",
    notes=(
        "reservations and off-reservation trust land; Census draws some reservations by their exterior "
        "boundary (e.g. Uintah and Ouray), which includes non-tribal land inside it",
    ),
    endpoint=Endpoint(
        protocol="bulk", format="zipped shapefile", member="tl_2020_us_aiannh.shp",
        url="https://www2.census.gov/geo/tiger/TIGER2020/AIANNH/tl_2020_us_aiannh.zip",
    ),
    files=OfflineFiles(FileKind(
        "census_aiannh", "Census American Indian / Alaska Native / Native Hawaiian areas",
        ("cb_*_us_aiannh_*", "tl_*_us_aiannh*"), frozenset({"AIANNHCE", "GEOID", "NAME"}),
    )),
    normalize=_census_aiannh,
)

LAYER = LayerSources("tribal_land", (CENSUS_AIANNH,))
