"""County figures: population and where fresh water is drawn from (USGS water use, 2015)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import LayerSchemaError
from geo.schema import SENTINEL_NUMBERS
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_frame, finish
from geo.sources.spec import PUBLIC_DOMAIN, FileKind, LayerSources, OfflineFiles, SourceSpec

log = logging.getLogger(__name__)

#: The USGS county water-use table; the water-stress proxy reads it too.
USGS_WATER_USE_FILE = FileKind(
    "usgs_water_use", "USGS county water use 2015 (CSV, header on line 2)", ("usco2015*.csv",),
    frozenset({"FIPS", "TO-WFrTo", "PS-Wtotl"}),
)


def _usgs_county_water_use(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """The county table (header below a citation line, ``--`` missing) joined to the county polygons."""
    if ctx.county_boundaries is None:
        raise LayerSchemaError(f"source {spec.id!r}: county boundaries are needed to place the county table")
    use = as_frame(raw, spec.id, ("FIPS", "TP-TotPop", "TO-WGWFr", "TO-WFrTo"))
    use = use.replace("--", np.nan)
    numbers = {c: pd.to_numeric(use[c], errors="coerce") for c in ("TP-TotPop", "TO-WGWFr", "TO-WFrTo")}
    for column, values in numbers.items():
        sentinel = values.isin(SENTINEL_NUMBERS) | (values < 0)
        if sentinel.any():
            fips = use.loc[sentinel, "FIPS"].iloc[0]
            raise LayerSchemaError(f"source {spec.id!r}: county {fips} has {column} = {values[sentinel].iloc[0]:g}, "
                                   "a sentinel or negative value; expected a count or a blank")
    table = pd.DataFrame({
        "geoid": use["FIPS"].astype("string").str.zfill(5),
        "population": numbers["TP-TotPop"] * 1000,
        "groundwater_share": (numbers["TO-WGWFr"] / numbers["TO-WFrTo"]).where(numbers["TO-WFrTo"] > 0),
        "fresh_withdrawal_mgd": numbers["TO-WFrTo"],
    }).drop_duplicates("geoid").set_index("geoid")
    counties = ctx.county_boundaries[["geoid", "geometry"]]
    frame = counties.join(table, on="geoid")
    notes = []
    missing = sorted(frame.loc[frame["population"].isna(), "geoid"])
    if missing:
        notes.append(f"no population for counties {', '.join(missing)}: their people are unknown, not zero")
        log.warning("source %s: %s", spec.id, notes[-1])
    return finish(spec, frame, ctx, clip=False, notes=notes)


USGS_COUNTY_WATER_USE = SourceSpec(
    id="usgs_county_water_use", layer="county_stats",
    title="USGS, Estimated Use of Water in the United States, county data 2015 (Dieter et al. 2018, "
          "doi:10.5066/F7TB15V5)",
    license=PUBLIC_DOMAIN, vintage="2015", url="https://water.usgs.gov/watuse/data/2015/usco2015v2.0.csv",
    notes=(
        "population is the 2015 county total (TP-TotPop, thousands, times 1,000): vintage 2015",
        "groundwater share = fresh groundwater withdrawals / all fresh withdrawals (TO-WGWFr / TO-WFrTo), 2015",
    ),
    files=OfflineFiles(USGS_WATER_USE_FILE),
    needs_counties=True,
    normalize=_usgs_county_water_use,
)

LAYER = LayerSources("county_stats", (USGS_COUNTY_WATER_USE,))
