"""Areas served by a public-supply water system (USGS, 2017)."""

from __future__ import annotations

from typing import Any

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import PUBLIC_DOMAIN, FileKind, LayerSources, OfflineFiles, SourceSpec


def _usgs_water_service_areas(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("WSA_NAME",))
    frame = clean.null_sentinels(frame, ["WSA_NAME"])
    return finish(spec, frame.assign(name=frame["WSA_NAME"]), ctx)


USGS_WATER_SERVICE_AREAS = SourceSpec(
    id="usgs_water_service_areas", layer="water_service_areas",
    title="USGS, Public-supply water service areas within the conterminous United States, 2017 "
          "(Buchwald et al. 2022, doi:10.5066/P9I22Z24)",
    license=PUBLIC_DOMAIN, vintage="2017", url="https://doi.org/10.5066/P9I22Z24",
    notes=("where a public-supply system delivers water in 2017; says nothing of its spare capacity or rights",),
    files=OfflineFiles(FileKind(
        "usgs_water_service_areas", "USGS public-supply water service areas",
        ("usgs_public_supply_water_service_areas*",), frozenset({"WSA_NAME"}),
    )),
    ignores=(FileKind(
        "usgs_water_service_area_tiles", "USGS public-supply water service areas, vector tiles",
        ("usgs_public_supply_water_service_areas*vector_tiles*.zip",), tileset="usgs_water_supply",
        skip_reason="the published tiles behind the service-area GeoJSON, which is read instead",
    ),),
    normalize=_usgs_water_service_areas,
)

LAYER = LayerSources("water_service_areas", (USGS_WATER_SERVICE_AREAS,))
