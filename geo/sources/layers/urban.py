"""Built-up urban areas: Natural Earth's urban extents (MODIS 2002-2003)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import NATURAL_EARTH, FileKind, LayerSources, OfflineFiles, SourceSpec


def _ne_urban(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ())
    out = frame.assign(name=frame["name"] if "name" in frame.columns else pd.NA)
    return finish(spec, out, ctx)


NE_URBAN_AREAS = SourceSpec(
    id="ne_urban_areas", layer="urban", title="Natural Earth 1:50m urban areas (MODIS 2002-2003 urban extent)",
    license=NATURAL_EARTH, vintage="2002-2003",
    url="https://www.naturalearthdata.com/downloads/50m-cultural-vectors/50m-urban-areas/",
    coarse="1:50,000,000 urban extents",
    notes=("small-scale urban extents of 2002-2003; the file carries no names",),
    files=OfflineFiles(FileKind("ne_urban_areas", "Natural Earth urban areas", ("ne_*_urban_areas*",))),
    normalize=_ne_urban,
)

LAYER = LayerSources("urban", (NE_URBAN_AREAS,))
