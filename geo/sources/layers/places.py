"""Towns and cities: Natural Earth's populated places."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import NATURAL_EARTH, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec


def _ne_places(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("NAME", "POP_MAX"))
    frame = clean.null_sentinels(frame, ["NAME", "POP_MAX"])
    population = pd.to_numeric(frame["POP_MAX"], errors="coerce")
    out = frame.assign(name=frame["NAME"], population=population.where(population >= 0).round())
    return finish(spec, out, ctx)


NE_POPULATED_PLACES = SourceSpec(
    id="ne_populated_places", layer="places", title="Natural Earth 10m populated places",
    license=NATURAL_EARTH,
    url="https://www.naturalearthdata.com/downloads/10m-cultural-vectors/10m-populated-places/",
    coarse="only the larger towns of a 1:10,000,000 selection",
    notes=("only the larger towns of the small-scale Natural Earth selection; population is POP_MAX",),
    endpoint=Endpoint(
        protocol="bulk", format="geojson",
        url="https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson/"
            "ne_10m_populated_places.geojson",
    ),
    files=OfflineFiles(FileKind(
        "ne_populated_places", "Natural Earth populated places", ("ne_*_populated_places*",),
        frozenset({"NAME", "POP_MAX", "ADM1NAME"}),
    )),
    normalize=_ne_places,
)

LAYER = LayerSources("places", (NE_POPULATED_PLACES,))
