"""Railroads: Natural Earth's North American railroads."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import NATURAL_EARTH, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec


def _ne_railroads(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ())
    out = frame.assign(name=frame["name"] if "name" in frame.columns else pd.NA)
    return finish(spec, out, ctx)


NE_RAILROADS = SourceSpec(
    id="ne_railroads", layer="rail", title="Natural Earth 10m railroads (North America)",
    license=NATURAL_EARTH, url="https://www.naturalearthdata.com/downloads/10m-cultural-vectors/railroads/",
    coarse="1:10,000,000 generalised lines",
    notes=("small-scale generalised lines; the file carries no line or owner names",),
    endpoint=Endpoint(
        protocol="bulk", format="geojson",
        url="https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson/"
            "ne_10m_railroads_north_america.geojson",
    ),
    files=OfflineFiles(FileKind("ne_railroads", "Natural Earth railroads", ("ne_*_railroads*",))),
    normalize=_ne_railroads,
)

LAYER = LayerSources("rail", (NE_RAILROADS,))
