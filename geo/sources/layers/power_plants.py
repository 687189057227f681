"""Power plants with their capacity: the EIA Energy Atlas."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_frame, finish, points_from_columns
from geo.sources.spec import PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec

_EIA_URL = "https://services7.arcgis.com/FGr1D95XCGALKXqM/ArcGIS/rest/services/ElectricPowerPlants/FeatureServer/0"


def _eia_plants(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """A GeoDataFrame, or a table with Latitude/Longitude as in EIA's CSV."""
    fields = ("Plant_Name", "Total_MW", "PrimSource")
    if isinstance(raw, gpd.GeoDataFrame):
        frame = as_frame(raw, spec.id, fields)
    else:
        table = as_frame(raw, spec.id, (*fields, "Latitude", "Longitude"))
        frame = points_from_columns(table, "Longitude", "Latitude", spec.id)
    frame = clean.null_sentinels(frame, list(fields))
    mw = pd.to_numeric(frame["Total_MW"], errors="coerce")
    notes, period = [], None
    if "Period" in frame.columns and frame["Period"].notna().any():
        period = f"EIA period {frame['Period'].dropna().astype(str).max()}"
        notes.append(period)
    out = frame.assign(name=frame["Plant_Name"], capacity_mw=mw.where(mw >= 0), fuel=frame["PrimSource"])
    result = finish(spec, out, ctx, notes=notes)
    result.provenance["vintage"] = period  # the data's own date, when the file carries it
    return result


EIA_POWER_PLANTS = SourceSpec(
    id="eia_power_plants", layer="power_plants",
    title="US Energy Information Administration, Power Plants (EIA-860, EIA-860M, EIA-923)",
    license=PUBLIC_DOMAIN, url=_EIA_URL,
    endpoint=Endpoint(
        protocol="arcgis", format="geojson", url=_EIA_URL,
        notes=["Services of this organisation have been reported to require a token (HTTP 499)."],
    ),
    files=OfflineFiles(FileKind(
        "eia_power_plants", "EIA power plants (GeoJSON or CSV with Latitude/Longitude)", ("eia_power*plant*",),
        frozenset({"Plant_Name", "Total_MW", "PrimSource"}),
    )),
    normalize=_eia_plants,
)

LAYER = LayerSources("power_plants", (EIA_POWER_PLANTS,))
