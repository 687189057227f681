"""One small normaliser per public source, each producing one canonical layer.

:func:`normalize` is the entry point: it takes what a fetcher (or the offline
reader) got, with the publisher's own field names, and returns a
:class:`~geo.sources.base.NormalizedLayer` that passes :func:`geo.schema.validate_layer`
and carries its provenance. ``raw`` is

* a GeoDataFrame (any CRS) for vector services and files;
* a pandas DataFrame for tables (GridKit vertices, EIA plants with Latitude/Longitude,
  the US Drought Monitor county series);
* a mapping of named tables for sources built from several tables
  (``gridkit_substations``: ``{"vertices": ..., "links": ...}``;
  ``usdm_drought_proxy``: ``{"drought": ..., "water_use": ...}``), the second optional;
* a :class:`~pathlib.Path` to a GeoTIFF for elevation.

``provenance["url"]`` is the publisher's address for the dataset; a caller that read
the data from somewhere else (a mirror, a local file) replaces it. The elevation
normalisers write a temporary GeoTIFF that the caller owns and deletes once stored.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.warp
import rasterio.windows
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import EmptyLayerError, LayerSchemaError
from geo.schema import (
    FEDERAL_AGENCIES,
    SENTINEL_NUMBERS,
    VOLTAGE_CLASSES,
    WATER_STRESS_LABELS,
    schema_for,
    validate_layer,
)
from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.types import ANALYSIS_CRS, STATE_FIPS, STORE_CRS

log = logging.getLogger(__name__)

PUBLIC_DOMAIN = "Public domain (US Government work)"
NATURAL_EARTH = "Public domain (Natural Earth)"
ODBL = "ODbL 1.0 (© OpenStreetMap contributors)"

#: Simplification tolerance of a partial layer's coverage outline, in metres (EPSG:5070).
COVERAGE_TOLERANCE_M = 1000.0
#: Grid (degrees) that a coverage outline is snapped to before it is written as WKT.
COVERAGE_GRID_DEG = 1e-5
#: Fresh-water withdrawals, as a depth over the county's area, at which the withdrawal
#: part of the water-stress proxy reaches the top of the 0-5 scale.
WITHDRAWAL_SATURATION_MM = 100.0
#: US Drought Monitor classes on the Aqueduct 0-5 scale.
DROUGHT_CLASS_SCORE = {"None": 0.0, "D0": 1.0, "D1": 2.0, "D2": 3.0, "D3": 4.0, "D4": 5.0}
_M3_PER_MGAL = 3785.411784
_DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source before any data is read."""

    layer: str
    source: str
    url: str
    license: str
    proxy_for: str | None = None
    partial: bool = False
    coarse: str | None = None
    notes: tuple[str, ...] = ()


Normalizer = Callable[[Any, NormalizeContext, str], NormalizedLayer]
SOURCES: dict[str, SourceInfo] = {}
_NORMALIZERS: dict[str, Normalizer] = {}


def _register(source_id: str, info: SourceInfo) -> Callable[[Normalizer], Normalizer]:
    def register(fn: Normalizer) -> Normalizer:
        SOURCES[source_id] = info
        _NORMALIZERS[source_id] = fn
        return fn

    return register


def layer_of(source_id: str) -> str:
    """The canonical layer that ``source_id`` produces."""
    return _info(source_id).layer


def normalize(source_id: str, raw: Any, ctx: NormalizeContext) -> NormalizedLayer:
    """Turn what the publisher of ``source_id`` distributes into its canonical layer.

    Raises
    ------
    LayerSchemaError
        For an unknown source id, input of the wrong kind, a missing publisher field,
        or a result that does not match the layer's schema.
    EmptyLayerError
        When nothing of the source lies inside the requested states.
    """
    _info(source_id)
    result = _NORMALIZERS[source_id](raw, ctx, source_id)
    log.info(
        "normalised %s into layer %s%s", source_id, result.layer,
        f" ({len(result.frame)} features)" if result.frame is not None else "",
    )
    return result


def _info(source_id: str) -> SourceInfo:
    try:
        return SOURCES[source_id]
    except KeyError:
        raise LayerSchemaError(
            f"unknown source {source_id!r}; the sources are: {', '.join(sorted(SOURCES))}"
        ) from None


# -- shared helpers ----------------------------------------------------------------------


def _frame(raw: Any, source_id: str, fields: tuple[str, ...]) -> pd.DataFrame:
    """``raw`` as a (Geo)DataFrame that has ``fields``, matched case-insensitively."""
    if not isinstance(raw, pd.DataFrame):
        raise LayerSchemaError(
            f"source {source_id!r}: expected a table or GeoDataFrame, got {type(raw).__name__}"
        )
    by_lower = {str(c).strip().lower(): c for c in raw.columns}
    renames: dict[Any, str] = {}
    for name in fields:
        if name in raw.columns:
            continue
        match = by_lower.get(name.lower())
        if match is None:
            raise LayerSchemaError(
                f"source {source_id!r}: missing field {name!r} "
                f"(fields present: {', '.join(map(str, raw.columns))})"
            )
        renames[match] = name
    return raw.rename(columns=renames) if renames else raw


def _geoframe(raw: Any, source_id: str, fields: tuple[str, ...]) -> gpd.GeoDataFrame:
    frame = _frame(raw, source_id, fields)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerSchemaError(
            f"source {source_id!r}: expected a GeoDataFrame with geometries, got a plain table"
        )
    return frame


def _points(table: pd.DataFrame, lon: str, lat: str, source_id: str) -> gpd.GeoDataFrame:
    """Points from longitude/latitude columns (WGS84); rows without coordinates are dropped."""
    x = pd.to_numeric(table[lon], errors="coerce")
    y = pd.to_numeric(table[lat], errors="coerce")
    ok = x.notna() & y.notna() & ~x.isin(SENTINEL_NUMBERS) & ~y.isin(SENTINEL_NUMBERS)
    if not ok.any():
        raise LayerSchemaError(f"source {source_id!r}: no row has numeric {lon!r}/{lat!r}")
    if (~ok).any():
        log.warning("source %s: %d rows without coordinates dropped", source_id, int((~ok).sum()))
    return gpd.GeoDataFrame(table.loc[ok], geometry=gpd.points_from_xy(x[ok], y[ok]), crs=STORE_CRS)


def _finish(
    source_id: str,
    frame: gpd.GeoDataFrame,
    ctx: NormalizeContext,
    *,
    clip: bool = True,
    notes: list[str] | None = None,
    coverage: Callable[[gpd.GeoDataFrame, BaseGeometry | None], BaseGeometry] | None = None,
) -> NormalizedLayer:
    """The generic steps after a source's fields are mapped to the layer's columns.

    Reproject, repair and drop empty geometries, clip to the requested states, drop
    exact duplicates and rows missing a required value, validate, and assemble the
    provenance. ``coverage`` computes the area a partial layer covers.
    """
    info = SOURCES[source_id]
    schema = schema_for(info.layer)
    assert schema.geometry is not None, "raster layers do not pass through _finish"
    where = f"source {source_id!r}"
    columns = [c.name for c in schema.columns if c.name in frame.columns]
    out = gpd.GeoDataFrame(frame[columns], geometry=frame.geometry.to_numpy(), crs=frame.crs)
    out = clean.to_store_crs(out, where=where)
    out, repaired = clean.repair_geometries(out, schema.geometry)
    out, empty = clean.drop_empty(out)
    region = clean.clip_region(ctx) if clip else None
    outside = 0
    if region is not None:
        out, outside = clean.clip_to_region(out, region, schema.geometry)
    out, duplicates = clean.drop_duplicates(out)
    required = [c.name for c in schema.columns if not c.nullable and c.name in out.columns]
    incomplete = out[required].isna().any(axis=1) if required else pd.Series(False, index=out.index)
    out = out.loc[~incomplete]
    if out.empty:
        raise EmptyLayerError(
            f"{where}: no usable feature inside {', '.join(ctx.states)} "
            f"({outside} outside, {int(incomplete.sum())} without required values)"
        )
    frame_ok = validate_layer(info.layer, out, where=where)

    processing = []
    if repaired:
        processing.append(f"{repaired} invalid geometries repaired with make_valid")
    if empty:
        processing.append(f"{empty} features without geometry dropped")
    if duplicates:
        processing.append(f"{duplicates} exact duplicate features dropped")
    if int(incomplete.sum()):
        processing.append(
            f"{int(incomplete.sum())} features without {'/'.join(required)} dropped"
        )
    if clip and region is None:
        processing.append("not clipped: state boundaries were not available")
    for line in processing:
        log.info("%s: %s", where, line)
    all_notes = [*info.notes, *(notes or []), *processing]
    provenance: dict[str, Any] = {
        "source": info.source,
        "url": info.url,
        "license": info.license,
        "proxy_for": info.proxy_for,
        "partial": info.partial,
        "coarse": info.coarse,
        "coverage_wkt": None,
        "notes": all_notes,
        "states": list(ctx.states),
    }
    if coverage is not None:
        # snapping to a 1e-5 degree grid (about 1 m) keeps the outline valid once written as text
        outline = shapely.set_precision(coverage(frame_ok, region), COVERAGE_GRID_DEG)
        provenance["coverage_wkt"] = shapely.to_wkt(outline, rounding_precision=6)
    return NormalizedLayer(
        layer=info.layer,
        provenance=provenance,
        frame=frame_ok,
        repaired_geometries=repaired,
        dropped_duplicates=duplicates,
        dropped_outside=outside,
        notes=processing,
    )


def _covered_area(frame: gpd.GeoDataFrame, region: BaseGeometry | None) -> BaseGeometry:
    """Union of all polygons of ``frame``, simplified to ~1 km, within ``region`` (EPSG:4326)."""
    albers = frame.geometry.to_crs(ANALYSIS_CRS)
    rough = shapely.simplify(albers.to_numpy(), COVERAGE_TOLERANCE_M / 4)
    union = shapely.union_all(shapely.make_valid(rough))
    # close the slivers that simplification opens between neighbouring managers
    closed = shapely.buffer(shapely.buffer(union, COVERAGE_TOLERANCE_M / 2), -COVERAGE_TOLERANCE_M / 2)
    outline = shapely.make_valid(shapely.simplify(closed, COVERAGE_TOLERANCE_M))
    area = gpd.GeoSeries([outline], crs=ANALYSIS_CRS).to_crs(STORE_CRS).iloc[0]
    if region is not None:
        area = shapely.intersection(area, region)
    kept = clean.keep_family(shapely.make_valid(area), "Polygon")
    if kept is None:
        raise EmptyLayerError("the covered area of a partial layer is empty")
    return kept


# -- states and counties -----------------------------------------------------------------

_CENSUS_NOTE = "US Census Bureau cartographic boundaries, 2018 vintage"


@_register("census_states", SourceInfo(
    "states", "US Census Bureau, Cartographic Boundary Files 2018: states (1:5,000,000)",
    "https://www2.census.gov/geo/tiger/GENZ2018/shp/cb_2018_us_state_5m.zip", PUBLIC_DOMAIN,
    notes=(_CENSUS_NOTE,),
))
def _census_states(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("STUSPS", "NAME"))
    chosen = frame.loc[frame["STUSPS"].isin(ctx.states)]
    missing = sorted(set(ctx.states) - set(chosen["STUSPS"]))
    if missing:
        raise LayerSchemaError(f"source {source_id!r}: no boundary for state(s) {', '.join(missing)}")
    out = chosen.assign(state=chosen["STUSPS"], name=chosen["NAME"])
    return _finish(source_id, out, ctx, clip=False)


@_register("census_counties", SourceInfo(
    "counties", "US Census Bureau, Cartographic Boundary Files 2018: counties (1:5,000,000)",
    "https://www2.census.gov/geo/tiger/GENZ2018/shp/cb_2018_us_county_5m.zip", PUBLIC_DOMAIN,
    notes=(_CENSUS_NOTE,),
))
def _census_counties(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("GEOID", "NAME", "STATEFP"))
    code_of = {fips: code for code, fips in STATE_FIPS.items()}
    unknown = sorted(set(ctx.states) - set(STATE_FIPS))
    if unknown:
        raise LayerSchemaError(f"source {source_id!r}: no FIPS code known for {', '.join(unknown)}")
    state = frame["STATEFP"].astype("string").str.zfill(2).map(code_of)
    chosen = frame.assign(state=state).loc[state.isin(ctx.states)]
    out = chosen.assign(geoid=chosen["GEOID"].astype("string").str.zfill(5), name=chosen["NAME"])
    return _finish(source_id, out, ctx, clip=False)


# -- federal land ------------------------------------------------------------------------

#: Agency codes and names used by BLM SMA and PAD-US, mapped to the canonical agency codes.
_AGENCY_CODES: dict[str, str] = {
    "BLM": "BLM", "FS": "USFS", "USFS": "USFS", "NPS": "NPS", "FWS": "FWS", "USFWS": "FWS",
    "BOR": "BOR", "USBR": "BOR", "DOD": "DOD", "ARMY": "DOD", "NAVY": "DOD", "USAF": "DOD",
    "USMC": "DOD", "COE": "DOD", "USACE": "DOD", "DOE": "DOE",
    "OTHFE": "OTHER_FEDERAL", "OTHF": "OTHER_FEDERAL", "ARS": "OTHER_FEDERAL",
    "NRCS": "OTHER_FEDERAL", "NOAA": "OTHER_FEDERAL", "TVA": "OTHER_FEDERAL",
    "NASA": "OTHER_FEDERAL", "BIA": "TRIBAL", "TRIB": "TRIBAL", "TRIBAL": "TRIBAL",
    "ST": "STATE", "STATE": "STATE", "SLB": "STATE", "SDNR": "STATE", "SDOL": "STATE",
    "SFW": "STATE", "SPR": "STATE", "SDC": "STATE", "OTHS": "STATE",
    "LG": "LOCAL", "LOC": "LOCAL", "CITY": "LOCAL", "CNTY": "LOCAL", "REG": "LOCAL",
    "RWD": "LOCAL", "OTHR": "LOCAL", "JNT": "LOCAL",
    "PVT": "PRIVATE", "NGO": "NGO", "UND": "UNKNOWN", "UNK": "UNKNOWN", "UNKL": "UNKNOWN",
}
_AGENCY_NAMES: dict[str, str] = {
    "bureau of land management": "BLM", "forest service": "USFS",
    "national park service": "NPS", "u.s. fish and wildlife service": "FWS",
    "fish and wildlife service": "FWS", "bureau of reclamation": "BOR",
    "department of defense": "DOD", "army corps of engineers": "DOD",
    "department of energy": "DOE", "american indian lands": "TRIBAL",
    "bureau of indian affairs": "TRIBAL", "non-governmental organization": "NGO",
    "private": "PRIVATE", "unknown": "UNKNOWN",
}
#: Manager types (PAD-US ``Mang_Type``, BLM ``ADMIN_DEPT_CODE``) for agencies not named above.
_MANAGER_TYPES: dict[str, str] = {
    "FED": "OTHER_FEDERAL", "DOI": "OTHER_FEDERAL", "USDA": "OTHER_FEDERAL", "DOD": "DOD",
    "DOE": "DOE", "STAT": "STATE", "ST": "STATE", "TERR": "STATE", "LOC": "LOCAL",
    "LG": "LOCAL", "DIST": "LOCAL", "JNT": "LOCAL", "TRIB": "TRIBAL", "BIA": "TRIBAL",
    "PVT": "PRIVATE", "NGO": "NGO", "UNK": "UNKNOWN", "UND": "UNKNOWN",
}


def _agency(code: object, manager_type: object = None) -> str:
    """Canonical agency for a publisher's agency code or name, then its manager type."""
    for value, table in ((code, _AGENCY_CODES), (code, _AGENCY_NAMES), (manager_type, _MANAGER_TYPES)):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            continue
        text = str(value).strip()
        found = table.get(text.upper() if table is not _AGENCY_NAMES else text.lower())
        if found is not None:
            return found
    return "UNKNOWN"


def _federal_land(frame: gpd.GeoDataFrame, agency: pd.Series, name: pd.Series,
                  unit: pd.Series | None, source_id: str) -> gpd.GeoDataFrame:
    unmapped = sorted(set(name[agency.eq("UNKNOWN") & name.notna()].astype(str)))
    if unmapped:
        log.warning("source %s: agencies mapped to UNKNOWN: %s", source_id, ", ".join(unmapped[:20]))
    return frame.assign(
        agency=agency.to_numpy(), agency_name=name.to_numpy(),
        unit_name=unit.to_numpy() if unit is not None else pd.NA,
        is_federal=agency.isin(FEDERAL_AGENCIES).to_numpy(),
    )


@_register("blm_sma", SourceInfo(
    "federal_land", "Bureau of Land Management, Surface Management Agency (SMA)",
    "https://gis.blm.gov/arcgis/rest/services/lands/BLM_Natl_SMA_LimitedScale/MapServer/1",
    PUBLIC_DOMAIN,
))
def _blm_sma(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("ADMIN_AGENCY_CODE",))
    frame = clean.null_sentinels(frame, ["ADMIN_AGENCY_CODE", "ADMIN_UNIT_NAME", "ADMIN_DEPT_CODE"])
    if "ADMIN_DEPT_CODE" in frame.columns:
        dept = frame["ADMIN_DEPT_CODE"]
    else:
        dept = pd.Series(None, index=frame.index)
    agency = pd.Series(
        [_agency(c, d) for c, d in zip(frame["ADMIN_AGENCY_CODE"], dept)], index=frame.index
    )
    unit = frame["ADMIN_UNIT_NAME"] if "ADMIN_UNIT_NAME" in frame.columns else None
    out = _federal_land(frame, agency, frame["ADMIN_AGENCY_CODE"], unit, source_id)
    return _finish(source_id, out, ctx)


@_register("padus_fee", SourceInfo(
    "federal_land", "USGS Gap Analysis Project, PAD-US 4.0 Fee managers",
    "https://services.arcgis.com/P3ePLMYs2RVChkJx/arcgis/rest/services/PADUS4_0Fee/FeatureServer/0",
    PUBLIC_DOMAIN,
    notes=("PAD-US maps protected and public land; land it does not map is private or unknown",),
))
def _padus_fee(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("Mang_Name", "Mang_Type"))
    frame = clean.null_sentinels(frame, ["Mang_Name", "Mang_Type", "Unit_Nm"])
    agency = pd.Series(
        [_agency(n, t) for n, t in zip(frame["Mang_Name"], frame["Mang_Type"])], index=frame.index
    )
    unit = frame["Unit_Nm"] if "Unit_Nm" in frame.columns else None
    out = _federal_land(frame, agency, frame["Mang_Name"], unit, source_id)
    return _finish(source_id, out, ctx)


@_register("padus3_great_basin", SourceInfo(
    "federal_land",
    "USGS Gap Analysis Project, PAD-US 3.0 (vector-analysis layer) land managers, "
    "Great Basin Desert extract dissolved by manager (USGS Water Mission Area, saline lakes study)",
    "https://github.com/elmeraa-usgs/saline-lakes-land-ownership", PUBLIC_DOMAIN,
    partial=True,
    notes=(
        "covers the Great Basin Desert only: about 76% of Nevada and the western 52% of Utah",
        "no Arizona, no southern Nevada (Las Vegas valley, Mojave) and no eastern Utah "
        "(Colorado Plateau): ownership there is unknown, not non-federal",
        "dissolved by manager and simplified (about 5% of vertices kept): boundaries are good "
        "to a few hundred metres to about 1 km; no unit names",
    ),
))
def _padus3_great_basin(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("Mng_Level", "MngNm_D"))
    level = frame["Mng_Level"].astype("string")
    name = frame["MngNm_D"].astype("string")
    by_level = {"Federal": "OTHER_FEDERAL", "NGO": "NGO", "Tribal Land": "TRIBAL"}
    agency = []
    for lvl, nm in zip(level, name):
        code = _agency(nm)
        if code == "UNKNOWN" and not pd.isna(nm) and str(nm).strip().lower() != "unknown":
            if lvl == "Regional/State/Local":
                code = "STATE" if "state" in str(nm).lower() else "LOCAL"
            else:
                code = by_level.get(str(lvl), "UNKNOWN")
        agency.append(code)
    agency_s = pd.Series(agency, index=frame.index)
    federal = level.eq("Federal").fillna(False).to_numpy()
    out = _federal_land(frame, agency_s, name, None, source_id).assign(is_federal=federal)
    mismatch = out["agency"].isin(FEDERAL_AGENCIES).to_numpy() != federal
    if mismatch.any():
        raise LayerSchemaError(
            f"source {source_id!r}: manager {name[mismatch].iloc[0]!r} disagrees with Mng_Level"
        )
    return _finish(source_id, out, ctx, coverage=_covered_area)


#: Agency codes of the National Atlas federal-lands layer as recoded from its ADMIN1 field.
_NATIONAL_ATLAS_AGENCIES = {
    "BLM": "BLM", "FS": "USFS", "NPS": "NPS", "FWS": "FWS", "BOR": "BOR", "DOD": "DOD", "DOE": "DOE",
    "BIA": "TRIBAL",
}
_NATIONAL_ATLAS_NAMES = {
    "BLM": "Bureau of Land Management", "FS": "Forest Service", "NPS": "National Park Service",
    "FWS": "Fish and Wildlife Service", "BOR": "Bureau of Reclamation", "DOD": "Department of Defense",
    "DOE": "Department of Energy", "BIA": "Bureau of Indian Affairs",
}


@_register("national_atlas_federal_lands", SourceInfo(
    "federal_land", "USGS National Atlas, Federal Lands of the United States (fedlanp010g, 1:1,000,000)",
    "https://www.sciencebase.gov/catalog/item/4f4e4a6ae4b07f02db5fde1c", PUBLIC_DOMAIN,
    coarse="1:1,000,000 (about 1-5 km positional error), 2005-2014 editions",
    notes=(
        "federal land only: land without a polygon is not federal (state, private or tribal)",
        "private inholdings inside large federal blocks count as federal; no unit names or designations",
        "good for 'is this broadly federal, and which agency' at county scale; not parcel-grade: "
        "confirm with BLM Surface Management Agency data before any decision",
    ),
))
def _national_atlas(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """Polygons with a closed agency vocabulary (BLM, FS, NPS, FWS, BOR, DOD, DOE, BIA)."""
    frame = _geoframe(raw, source_id, ("agency",))
    frame = clean.null_sentinels(frame, ["agency"])
    code = frame["agency"].astype("string").str.strip().str.upper()
    unknown = sorted(set(code.dropna()) - set(_NATIONAL_ATLAS_AGENCIES))
    if unknown:
        raise LayerSchemaError(
            f"source {source_id!r}: field 'agency' has value(s) {', '.join(map(repr, unknown[:5]))}, expected one "
            f"of {', '.join(_NATIONAL_ATLAS_AGENCIES)}"
        )
    agency = code.map(_NATIONAL_ATLAS_AGENCIES)
    out = _federal_land(frame, agency, code.map(_NATIONAL_ATLAS_NAMES), None, source_id)
    return _finish(source_id, out.assign(source=source_id), ctx)


# -- tribal land -------------------------------------------------------------------------


@_register("census_aiannh", SourceInfo(
    "tribal_land", "US Census Bureau, American Indian / Alaska Native / Native Hawaiian Areas (AIANNH), 2020",
    "https://www2.census.gov/geo/tiger/TIGER2020/AIANNH/tl_2020_us_aiannh.zip", PUBLIC_DOMAIN,
    notes=(
        "reservations and off-reservation trust land; Census draws some reservations by their exterior "
        "boundary (e.g. Uintah and Ouray), which includes non-tribal land inside it",
    ),
))
def _census_aiannh(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """TIGER/Line or cartographic-boundary AIANNH polygons (fields NAME, GEOID)."""
    frame = _geoframe(raw, source_id, ("NAME", "GEOID"))
    frame = clean.null_sentinels(frame, ["NAME", "GEOID"])
    name = frame["NAMELSAD"] if "NAMELSAD" in frame.columns else frame["NAME"]
    out = frame.assign(name=name.fillna(frame["NAME"]), geoid=frame["GEOID"].astype("string"))
    return _finish(source_id, out, ctx)


# -- protected areas ---------------------------------------------------------------------


@_register("blm_nlcs_wilderness", SourceInfo(
    "protected", "Bureau of Land Management, National Conservation Lands: Wilderness and WSA",
    "https://gis.blm.gov/arcgis/rest/services/lands/BLM_Natl_NLCS_WLD_WSA/MapServer",
    PUBLIC_DOMAIN,
))
def _blm_nlcs(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """Designation from a ``designation`` column the fetcher adds (service layer 0 is
    Wilderness, layer 1 WSA), else from the unit's name."""
    frame = _geoframe(raw, source_id, ("NLCS_NAME",))
    frame = clean.null_sentinels(frame, ["NLCS_NAME"])
    names = frame["NLCS_NAME"].astype("string")
    if "designation" in frame.columns:
        designation = frame["designation"].astype("string")
    else:
        upper = names.str.upper()
        designation = pd.Series(pd.NA, index=frame.index, dtype="string")
        designation = designation.mask(upper.str.contains("WILDERNESS", na=False), "Wilderness")
        designation = designation.mask(
            upper.str.contains(r"\bWSA\b|WILDERNESS STUDY", regex=True, na=False), "WSA"
        )
        designation = designation.fillna("Wilderness or WSA")
    out = frame.assign(designation=designation, name=names)
    return _finish(source_id, out, ctx)


@_register("nps_boundaries", SourceInfo(
    "protected", "National Park Service, Land Resources Division unit boundaries",
    "https://services1.arcgis.com/fBc8EJBxQRMcHlei/arcgis/rest/services/"
    "NPS_Land_Resources_Division_Boundary_and_Tract_Data_Service/FeatureServer/2",
    PUBLIC_DOMAIN,
    partial=True,
    notes=("National Park Service units only: wilderness, WSA, NCA and ACEC come from other sources",),
))
def _nps_boundaries(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("UNIT_NAME", "UNIT_TYPE"))
    frame = clean.null_sentinels(frame, ["UNIT_NAME", "UNIT_TYPE"])
    out = frame.assign(designation=frame["UNIT_TYPE"], name=frame["UNIT_NAME"])
    return _finish(source_id, out, ctx)


@_register("ne_parks", SourceInfo(
    "protected", "Natural Earth 10m parks and protected lands (US National Park Service units)",
    "https://www.naturalearthdata.com/downloads/10m-cultural-vectors/parks-and-protected-lands/",
    NATURAL_EARTH,
    partial=True,
    notes=(
        "National Park Service units only: wilderness, WSA, national monument/NCA and ACEC "
        "polygons are missing",
        "generalised small-scale file: many smaller NPS units (e.g. Arches, Bryce Canyon, "
        "Great Basin) are absent",
    ),
))
def _ne_parks(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("unit_name", "unit_type"))
    frame = clean.null_sentinels(frame, ["unit_name", "unit_type"])
    out = frame.assign(designation=frame["unit_type"], name=frame["unit_name"])
    return _finish(source_id, out, ctx)


# -- transmission and substations --------------------------------------------------------


def _plausible_kv(kv: pd.Series, what: str) -> tuple[pd.Series, list[str]]:
    """``kv`` with values outside the schema's range (0, 1500] kV made missing, and a note."""
    upper = schema_for("transmission").column("voltage_kv").max_value
    bad = kv.notna() & ((kv <= 0) | (kv > upper))
    if not bad.any():
        return kv, []
    example = kv[bad].iloc[0]
    return kv.mask(bad), [f"{int(bad.sum())} implausible {what} voltages (e.g. {example:g} kV) left missing"]


def _volt_class(values: pd.Series, source_id: str) -> tuple[pd.Series, list[str]]:
    """HIFLD voltage classes with 'NOT AVAILABLE' missing and 'SUB 100' read as 'UNDER 100'."""
    text = clean.null_sentinels(values.to_frame("v"), ["v"])["v"].astype("string").str.upper()
    notes = []
    sub100 = text.eq("SUB 100").fillna(False)
    if sub100.any():
        notes.append(f"{int(sub100.sum())} lines of class 'SUB 100' stored as 'UNDER 100'")
        text = text.mask(sub100, "UNDER 100")
    bad = text.notna() & ~text.isin(VOLTAGE_CLASSES)
    if bad.any():
        raise LayerSchemaError(
            f"source {source_id!r}: unknown VOLT_CLASS {text[bad].iloc[0]!r}; "
            f"expected one of {', '.join(VOLTAGE_CLASSES)}"
        )
    return text, notes


@_register("hifld_transmission", SourceInfo(
    "transmission", "HIFLD, U.S. Electric Power Transmission Lines",
    "https://services2.arcgis.com/FiaPA4ga0iQKduv3/arcgis/rest/services/"
    "US_Electric_Power_Transmission_Lines/FeatureServer/0",
    PUBLIC_DOMAIN,
))
def _hifld_transmission(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("VOLTAGE", "VOLT_CLASS"))
    frame = clean.null_sentinels(frame, ["VOLTAGE", "STATUS", "OWNER"])
    kv, notes = _plausible_kv(pd.to_numeric(frame["VOLTAGE"], errors="coerce"), "line")
    volt_class, class_notes = _volt_class(frame["VOLT_CLASS"], source_id)
    notes += class_notes
    out = frame.assign(
        voltage_kv=kv, voltage_class=volt_class,
        status=frame["STATUS"] if "STATUS" in frame.columns else pd.NA,
        owner=frame["OWNER"] if "OWNER" in frame.columns else pd.NA,
    )
    return _finish(source_id, out, ctx, notes=notes)


_IM3_NOTES = (
    "HIFLD lines as packaged in the PNNL IM3 Open Source Data Center Atlas vector tiles "
    "(zoom 8): only VOLT_CLASS is available; voltage, owner and status are missing",
    "voltage_kv is left missing: only the HIFLD voltage class is known",
    "rebuilt from vector tiles: positions good to about 30-40 m; lines are split at junctions "
    "and merged per class, so features do not match HIFLD records one to one",
)
_IM3_LICENSE = "Public domain (HIFLD Open data); IM3 atlas tiles BSD-2-Clause (Battelle)"


def _im3_transmission(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("VOLT_CLASS",))
    volt_class, notes = _volt_class(frame["VOLT_CLASS"], source_id)
    out = frame.assign(voltage_class=volt_class)
    return _finish(source_id, out, ctx, notes=notes)


_register("hifld_volt_class", SourceInfo(
    "transmission", "HIFLD U.S. Electric Power Transmission Lines via PNNL IM3 Data Center "
    "Atlas (GeoJSON rebuilt from the atlas's zoom-8 vector tiles)",
    "https://github.com/IMMM-SFA/datacenter-atlas", _IM3_LICENSE, notes=_IM3_NOTES,
))(_im3_transmission)
_register("hifld_volt_class_tiles", SourceInfo(
    "transmission", "HIFLD U.S. Electric Power Transmission Lines via PNNL IM3 Data Center "
    "Atlas (zoom-8 Mapbox vector tiles)",
    "https://github.com/IMMM-SFA/datacenter-atlas", _IM3_LICENSE, notes=_IM3_NOTES,
))(_im3_transmission)


def _substation_points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Substations mapped as areas become points inside them."""
    geoms = frame.geometry
    areal = ~geoms.geom_type.isin(["Point", "MultiPoint"]) & geoms.notna()
    if not areal.any():
        return frame
    out = frame.copy()
    out.loc[areal, frame.geometry.name] = geoms[areal].representative_point()
    return out


@_register("osm_substations", SourceInfo(
    "substations", "OpenStreetMap power=substation (Overpass API)",
    "https://overpass-api.de/api/interpreter", ODBL,
    notes=("OpenStreetMap coverage of substations is uneven; voltages are tagged in volts",),
))
def _osm_substations(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ())
    frame = clean.null_sentinels(frame, [c for c in ("name", "voltage") if c in frame.columns])
    notes: list[str] = []
    if "voltage" in frame.columns:
        kv, notes = _plausible_kv(clean.max_kv_from_volts(frame["voltage"]), "substation")
    else:
        kv = pd.Series(np.nan, index=frame.index)
    out = _substation_points(frame).assign(max_voltage_kv=kv)
    return _finish(source_id, out, ctx, notes=notes)


_GRIDKIT_SUBSTATION_TYPES = ("substation", "station", "sub_station")


@_register("gridkit_substations", SourceInfo(
    "substations", "GridKit North America high-voltage network, vertices "
    "(OpenStreetMap power=* objects, export of 14 March 2016; B. Wiegmans, SciGRID)",
    "https://github.com/bdw/GridKit",
    "ODbL 1.0 (© OpenStreetMap contributors; GridKit, B. Wiegmans)",
    notes=(
        "OpenStreetMap as of March 2016: substations built or mapped since are missing, and "
        "Western substations were incompletely mapped then",
        "vertices of type substation, station and sub_station; joints, merges and plants left out",
    ),
))
def _gridkit_substations(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """``raw`` is the vertices table, or ``{"vertices": ..., "links": ...}``; a vertex's
    voltage is its own (volts, ``;``-separated) or else the highest of its links."""
    links = None
    if isinstance(raw, Mapping):
        vertices, links = raw.get("vertices"), raw.get("links")
    else:
        vertices = raw
    table = _frame(vertices, source_id, ("v_id", "lon", "lat", "typ", "voltage"))
    table = clean.null_sentinels(table, ["name", "voltage"])
    chosen = table.loc[table["typ"].astype("string").isin(_GRIDKIT_SUBSTATION_TYPES).fillna(False)]
    kv, notes = _plausible_kv(clean.max_kv_from_volts(chosen["voltage"]), "substation")
    notes.append(f"{int(kv.notna().sum())} of {len(chosen)} substations carry their own voltage")
    if links is not None:
        link_table = _frame(links, source_id, ("v_id_1", "v_id_2", "voltage"))
        link_kv, link_notes = _plausible_kv(clean.max_kv_from_volts(link_table["voltage"]), "link")
        notes += link_notes
        ends = pd.concat([
            pd.DataFrame({"v_id": link_table["v_id_1"], "kv": link_kv}),
            pd.DataFrame({"v_id": link_table["v_id_2"], "kv": link_kv}),
        ])
        by_vertex = ends.dropna().groupby("v_id")["kv"].max()
        from_links = chosen["v_id"].map(by_vertex).astype("float64")
        filled = kv.isna() & from_links.notna()
        kv = kv.fillna(from_links)
        notes.append(f"{int(filled.sum())} more take the highest voltage of the GridKit links touching them")
    points = _points(chosen.assign(max_voltage_kv=kv), "lon", "lat", source_id)
    return _finish(source_id, points, ctx, notes=notes)


# -- water stress ------------------------------------------------------------------------

_AQUEDUCT_BANDS = ((1.0, WATER_STRESS_LABELS[0]), (2.0, WATER_STRESS_LABELS[1]),
                   (3.0, WATER_STRESS_LABELS[2]), (4.0, WATER_STRESS_LABELS[3]))


def aqueduct_label(score: float) -> str:
    """The Aqueduct baseline-water-stress label of a 0-5 score (bands of one point)."""
    for upper, label in _AQUEDUCT_BANDS:
        if score < upper:
            return label
    return WATER_STRESS_LABELS[4]


@_register("aqueduct_baseline", SourceInfo(
    "water_stress", "WRI Aqueduct 4.0, baseline annual water stress",
    "https://files.wri.org/aqueduct/aqueduct-4-0-water-risk-data.zip",
    "CC BY 4.0 (World Resources Institute)",
))
def _aqueduct(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("bws_score",))
    frame = clean.null_sentinels(frame, ["bws_score", "bws_label", "bws_raw"])
    score = pd.to_numeric(frame["bws_score"], errors="coerce")
    score = score.where((score >= 0) & (score <= 5))
    if "bws_label" in frame.columns:
        label = frame["bws_label"].astype("string")
        label = label.where(label.isin(WATER_STRESS_LABELS))
    else:
        label = pd.Series(pd.NA, index=frame.index, dtype="string")
    label = label.fillna(score.map(lambda s: aqueduct_label(s) if pd.notna(s) else pd.NA).astype("string"))
    out = frame.assign(score=score, category=label)
    return _finish(source_id, out, ctx)


@_register("usdm_drought_proxy", SourceInfo(
    "water_stress",
    "US Drought Monitor county drought statistics 2000-2025 (NDMC, USDA, NOAA; weekly "
    "categorical percent area) with USGS Estimated Use of Water in the United States, "
    "county data 2015 (Dieter et al. 2018, doi:10.5066/F7TB15V5)",
    "https://usdmdataservices.unl.edu/api/CountyStatistics/GetDroughtSeverityStatisticsByAreaPercent",
    PUBLIC_DOMAIN,
    proxy_for="WRI Aqueduct baseline water stress",
    notes=(
        "proxy, not Aqueduct: no Aqueduct data was available; Aqueduct measures withdrawals "
        "against renewable supply per river basin, this proxy is per county",
        "drought score = time average over all weeks of the area-weighted US Drought Monitor "
        "class (None=0, D0=1, D1=2, D2=3, D3=4, D4=5), on Aqueduct's 0-5 scale",
        f"withdrawal score = 5 * min(1, log10(1 + W) / log10(1 + {WITHDRAWAL_SATURATION_MM:g})), "
        "W = total fresh-water withdrawals 2015 (USGS TO-WFrTo, Mgal/d) as a depth over the "
        "county's area in mm/year",
        "score = mean of the drought and withdrawal scores (the drought score alone where a "
        "county has no withdrawal figure); category = Aqueduct label of the score by one-point "
        "bands; 'Arid and Low Water Use' is never assigned",
    ),
))
def _usdm_drought_proxy(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """``raw`` is the USDM county table, or ``{"drought": ..., "water_use": ...}``."""
    if ctx.county_boundaries is None:
        raise LayerSchemaError(
            f"source {source_id!r}: county boundaries are needed to place the county table"
        )
    water_use = None
    if isinstance(raw, Mapping):
        drought, water_use = raw.get("drought"), raw.get("water_use")
    else:
        drought = raw
    table = _frame(drought, source_id, ("STATEFP", "COUNTYFP", "usdm_date", "usdm_class", "usdm_percent"))
    classes = table["usdm_class"].astype("string").str.strip()
    unknown = sorted(set(classes.dropna()) - set(DROUGHT_CLASS_SCORE))
    if unknown:
        raise LayerSchemaError(f"source {source_id!r}: unknown usdm_class {unknown[0]!r}")
    geoid = table["STATEFP"].astype("string").str.zfill(2) + table["COUNTYFP"].astype("string").str.zfill(3)
    weighted = classes.map(DROUGHT_CLASS_SCORE).astype("float64") * pd.to_numeric(table["usdm_percent"])
    per_county = pd.DataFrame({"geoid": geoid, "w": weighted, "date": table["usdm_date"]}).groupby("geoid")
    drought_score = (per_county["w"].sum() / per_county["date"].nunique()).clip(0, 5)

    counties = ctx.county_boundaries
    frame = counties.loc[counties["geoid"].isin(drought_score.index), ["geoid", "geometry"]].copy()
    frame["drought"] = frame["geoid"].map(drought_score).to_numpy()
    low, high = frame["drought"].min(), frame["drought"].max()
    notes = [f"{len(frame)} counties; drought score {low:.2f} to {high:.2f}"]
    missing = sorted(set(counties["geoid"]) - set(drought_score.index))
    if missing:
        notes.append(f"no drought record for counties {', '.join(missing)}")
    score = frame["drought"]
    if water_use is not None:
        withdrawal, use_notes = _withdrawal_score(frame, water_use, source_id)
        notes += use_notes
        score = score.where(np.isnan(withdrawal), (score + withdrawal) / 2)
    else:
        notes.append("no water-use table given: score is the drought score alone")
    out = frame.assign(score=score.clip(0, 5), category=score.map(aqueduct_label))
    return _finish(source_id, out, ctx, clip=False, notes=notes)


def _withdrawal_score(
    counties: gpd.GeoDataFrame, water_use: Any, source_id: str
) -> tuple[np.ndarray, list[str]]:
    """The withdrawal part of the water-stress proxy per county (NaN without a figure)."""
    use = _frame(water_use, source_id, ("FIPS", "TO-WFrTo"))
    use = clean.null_sentinels(use.replace("--", np.nan), ["TO-WFrTo"])
    mgal = pd.to_numeric(use["TO-WFrTo"], errors="coerce")
    by_fips = pd.Series(mgal.to_numpy(), index=use["FIPS"].astype("string").str.zfill(5))
    mgal_per_day = counties["geoid"].map(by_fips).to_numpy(dtype="float64")
    area_m2 = counties.geometry.to_crs(ANALYSIS_CRS).area.to_numpy()
    depth_mm = mgal_per_day * _M3_PER_MGAL * _DAYS_PER_YEAR / area_m2 * 1000
    score = 5 * np.minimum(1.0, np.log10(1 + depth_mm) / np.log10(1 + WITHDRAWAL_SATURATION_MM))
    known = ~np.isnan(depth_mm)
    if not known.any():
        return score, ["no county has a withdrawal figure: score is the drought score alone"]
    notes = [f"withdrawal depth {depth_mm[known].min():.1f} to {depth_mm[known].max():.1f} mm/year"]
    if not known.all():
        notes.append(f"{int((~known).sum())} counties without a withdrawal figure use the drought score alone")
    return score, notes


@_register("usgs_county_water_use", SourceInfo(
    "county_stats", "USGS, Estimated Use of Water in the United States, county data 2015 (Dieter et al. 2018, "
    "doi:10.5066/F7TB15V5)",
    "https://water.usgs.gov/watuse/data/2015/usco2015v2.0.csv", PUBLIC_DOMAIN,
    notes=(
        "population is the 2015 county total (TP-TotPop, thousands, times 1,000): vintage 2015",
        "groundwater share = fresh groundwater withdrawals / all fresh withdrawals (TO-WGWFr / TO-WFrTo), 2015",
    ),
))
def _usgs_county_water_use(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """The county table (header below a citation line, ``--`` missing) joined to the county polygons."""
    if ctx.county_boundaries is None:
        raise LayerSchemaError(f"source {source_id!r}: county boundaries are needed to place the county table")
    use = _frame(raw, source_id, ("FIPS", "TP-TotPop", "TO-WGWFr", "TO-WFrTo"))
    use = use.replace("--", np.nan)
    numbers = {c: pd.to_numeric(use[c], errors="coerce") for c in ("TP-TotPop", "TO-WGWFr", "TO-WFrTo")}
    for column, values in numbers.items():
        sentinel = values.isin(SENTINEL_NUMBERS) | (values < 0)
        if sentinel.any():
            fips = use.loc[sentinel, "FIPS"].iloc[0]
            raise LayerSchemaError(f"source {source_id!r}: county {fips} has {column} = {values[sentinel].iloc[0]:g}, "
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
        log.warning("source %s: %s", source_id, notes[-1])
    return _finish(source_id, frame, ctx, clip=False, notes=notes)


@_register("usgs_water_service_areas", SourceInfo(
    "water_service_areas", "USGS, Public-supply water service areas within the conterminous United States, 2017 "
    "(Buchwald et al. 2022, doi:10.5066/P9I22Z24)",
    "https://doi.org/10.5066/P9I22Z24", PUBLIC_DOMAIN,
    notes=("where a public-supply system delivers water in 2017; says nothing of its spare capacity or rights",),
))
def _usgs_water_service_areas(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("WSA_NAME",))
    frame = clean.null_sentinels(frame, ["WSA_NAME"])
    return _finish(source_id, frame.assign(name=frame["WSA_NAME"]), ctx)


# -- backbone, rail, roads ------------------------------------------------------------------

_NE_RAIL_URL = "https://www.naturalearthdata.com/downloads/10m-cultural-vectors/railroads/"


@_register("topology_zoo_pops", SourceInfo(
    "backbone_pops", "The Internet Topology Zoo (Knight et al., IEEE JSAC 29(9), 2011): backbone points of presence",
    "http://www.topology-zoo.org/files/archive.zip", "CC BY 4.0 (The Internet Topology Zoo; cite Knight et al. 2011)",
    coarse="city-level points from operators' network maps of 2005-2011",
    notes=(
        "where a backbone network could be joined, by city; not a map of fiber routes",
        "long-haul fiber in the West mostly follows rail and interstate rights of way "
        "(Durairajan et al., SIGCOMM 2015); those are scored by the highway_rail criterion",
    ),
))
def _topology_zoo_pops(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """Network nodes: GeoJSON points, or a table of GraphML nodes with Latitude/Longitude."""
    if isinstance(raw, gpd.GeoDataFrame):
        frame = _frame(raw, source_id, ("label", "network"))
    else:
        frame = _points(_frame(raw, source_id, ("label", "network", "Latitude", "Longitude")),
                        "Longitude", "Latitude", source_id)
    frame = clean.null_sentinels(frame, ["label", "network"])
    historic = frame["network"].astype("string").str.lower().str.startswith("arpanet").fillna(False)
    notes = [f"{int(historic.sum())} Arpanet nodes (historic maps) dropped"] if historic.any() else []
    frame = frame.loc[~historic.to_numpy()]
    out = frame.assign(name=frame["label"], network=frame["network"])
    return _finish(source_id, out, ctx, notes=notes)


@_register("ne_railroads", SourceInfo(
    "rail", "Natural Earth 10m railroads (North America)", _NE_RAIL_URL, NATURAL_EARTH,
    notes=("small-scale generalised lines; the file carries no line or owner names",),
))
def _ne_railroads(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ())
    out = frame.assign(name=frame["name"] if "name" in frame.columns else pd.NA)
    return _finish(source_id, out, ctx)


_TIGER_ROAD_CLASS = {"I": "interstate", "U": "primary", "S": "secondary"}


@_register("tiger_primary_roads", SourceInfo(
    "roads", "US Census Bureau, TIGER/Line primary roads",
    "https://www2.census.gov/geo/tiger/TIGER2021/PRIMARYROADS/tl_2021_us_primaryroads.zip",
    PUBLIC_DOMAIN,
))
def _tiger_roads(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """RTTYP I is an interstate, U a US highway (primary); state and other routes are secondary."""
    frame = _geoframe(raw, source_id, ("RTTYP", "FULLNAME"))
    frame = clean.null_sentinels(frame, ["RTTYP", "FULLNAME"])
    road_class = frame["RTTYP"].astype("string").str.upper().map(_TIGER_ROAD_CLASS).fillna("secondary")
    out = frame.assign(name=frame["FULLNAME"], road_class=road_class)
    return _finish(source_id, out, ctx)


@_register("ne_interstates", SourceInfo(
    "roads", "Natural Earth 10m roads, US Interstates (about 2014)",
    "https://www.naturalearthdata.com/downloads/10m-cultural-vectors/roads/", NATURAL_EARTH,
    coarse="1:10,000,000 lines, about 0.5-1 km positional error",
    notes=("Interstates only: US and state highways are not in this layer",),
))
def _ne_interstates(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """Natural Earth roads; the full file is filtered to US Interstates (``level``, ``sov_a3``)."""
    frame = _geoframe(raw, source_id, ("name",))
    if "level" in frame.columns:
        keep = frame["level"].astype("string").eq("Interstate").fillna(False)
        if "sov_a3" in frame.columns:
            keep &= frame["sov_a3"].astype("string").eq("USA").fillna(False)
        frame = frame.loc[keep.to_numpy()]
    number = frame["name"].astype("string").str.strip()
    out = frame.assign(name="I-" + number, road_class="interstate")
    return _finish(source_id, out, ctx)


# -- places, urban areas, power plants ---------------------------------------------------


@_register("ne_populated_places", SourceInfo(
    "places", "Natural Earth 10m populated places",
    "https://www.naturalearthdata.com/downloads/10m-cultural-vectors/10m-populated-places/",
    NATURAL_EARTH,
    notes=("only the larger towns of the small-scale Natural Earth selection; population is POP_MAX",),
))
def _ne_places(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ("NAME", "POP_MAX"))
    frame = clean.null_sentinels(frame, ["NAME", "POP_MAX"])
    population = pd.to_numeric(frame["POP_MAX"], errors="coerce")
    out = frame.assign(name=frame["NAME"], population=population.where(population >= 0).round())
    return _finish(source_id, out, ctx)


@_register("ne_urban_areas", SourceInfo(
    "urban", "Natural Earth 1:50m urban areas (MODIS 2002-2003 urban extent)",
    "https://www.naturalearthdata.com/downloads/50m-cultural-vectors/50m-urban-areas/",
    NATURAL_EARTH,
    notes=("small-scale urban extents of 2002-2003; the file carries no names",),
))
def _ne_urban(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    frame = _geoframe(raw, source_id, ())
    out = frame.assign(name=frame["name"] if "name" in frame.columns else pd.NA)
    return _finish(source_id, out, ctx)


@_register("eia_power_plants", SourceInfo(
    "power_plants", "US Energy Information Administration, Power Plants (EIA-860, EIA-860M, EIA-923)",
    "https://services7.arcgis.com/FGr1D95XCGALKXqM/ArcGIS/rest/services/ElectricPowerPlants/FeatureServer/0",
    PUBLIC_DOMAIN,
))
def _eia_plants(raw: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """A GeoDataFrame, or a table with Latitude/Longitude as in EIA's CSV."""
    fields = ("Plant_Name", "Total_MW", "PrimSource")
    if isinstance(raw, gpd.GeoDataFrame):
        frame = _frame(raw, source_id, fields)
    else:
        table = _frame(raw, source_id, (*fields, "Latitude", "Longitude"))
        frame = _points(table, "Longitude", "Latitude", source_id)
    frame = clean.null_sentinels(frame, list(fields))
    mw = pd.to_numeric(frame["Total_MW"], errors="coerce")
    notes = []
    if "Period" in frame.columns and frame["Period"].notna().any():
        notes.append(f"EIA period {frame['Period'].dropna().astype(str).max()}")
    out = frame.assign(name=frame["Plant_Name"], capacity_mw=mw.where(mw >= 0), fuel=frame["PrimSource"])
    return _finish(source_id, out, ctx, notes=notes)


# -- elevation ---------------------------------------------------------------------------


def _elevation(path: Any, ctx: NormalizeContext, source_id: str) -> NormalizedLayer:
    """Band 1 of ``path`` in metres (float32, NaN nodata), cropped to the requested states."""
    info = SOURCES[source_id]
    if not isinstance(path, (str, os.PathLike)):
        raise LayerSchemaError(f"source {source_id!r}: expected a GeoTIFF path, got {type(path).__name__}")
    path = Path(path)
    region = clean.clip_region(ctx)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise LayerSchemaError(f"source {source_id!r}: {path} has no CRS")
            window = None
            if region is not None:
                west, south, east, north = rasterio.warp.transform_bounds(STORE_CRS, src.crs, *region.bounds)
                exact = rasterio.windows.from_bounds(west, south, east, north, src.transform)
                col0, row0 = math.floor(exact.col_off), math.floor(exact.row_off)
                col1 = math.ceil(exact.col_off + exact.width)
                row1 = math.ceil(exact.row_off + exact.height)
                window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0).intersection(
                    rasterio.windows.Window(0, 0, src.width, src.height)
                )
            data = src.read(1, window=window, masked=True)
            scale, offset = src.scales[0], src.offsets[0]
            transform = src.window_transform(window) if window is not None else src.transform
            crs = src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise LayerSchemaError(f"source {source_id!r}: {path} is not a readable GeoTIFF: {exc}") from exc
    except rasterio.errors.WindowError as exc:
        raise EmptyLayerError(f"source {source_id!r}: {path} does not reach the requested states") from exc
    metres = data.astype("float32") * np.float32(scale) + np.float32(offset)
    values = metres.filled(np.nan)
    values[np.isin(values, SENTINEL_NUMBERS)] = np.nan
    if np.isnan(values).all():
        raise EmptyLayerError(f"source {source_id!r}: {path} has no data inside the requested states")
    fd, out_name = tempfile.mkstemp(prefix="geo-elevation-", suffix=".tif")
    os.close(fd)
    profile = {
        "driver": "GTiff", "width": values.shape[1], "height": values.shape[0], "count": 1,
        "dtype": "float32", "crs": crs, "transform": transform, "nodata": np.nan,
        "compress": "deflate", "predictor": 3, "tiled": False,
    }
    try:
        with rasterio.open(out_name, "w", **profile) as dst:
            dst.write(values, 1)
            dst.update_tags(1, units="metre")
    except BaseException:
        Path(out_name).unlink(missing_ok=True)
        raise
    extra = [f"{values.shape[1]} x {values.shape[0]} cells, {int(np.isnan(values).sum())} without data"]
    if scale != 1 or offset != 0:
        extra.append(f"decoded as value * {scale:g} + {offset:g}")
    return NormalizedLayer(
        layer=info.layer,
        provenance={
            "source": info.source, "url": info.url, "license": info.license,
            "proxy_for": info.proxy_for, "partial": info.partial, "coarse": info.coarse, "coverage_wkt": None,
            "notes": [*info.notes, *extra], "states": list(ctx.states),
        },
        raster_path=Path(out_name),
        notes=extra,
    )


_register("usgs_3dep", SourceInfo(
    "elevation", "USGS 3D Elevation Program (3DEP) 1 arc-second DEM",
    "https://prd-tnm.s3.amazonaws.com/StagedProducts/Elevation/1/TIFF/", PUBLIC_DOMAIN,
))(_elevation)
_register("pvlib_altitude", SourceInfo(
    "elevation", "pvlib-python low-resolution altitude map (Mapzen terrain tiles from USGS 3DEP, "
    "SRTM, GMTED2010 and ETOPO1, aggregated to 5 arc-minutes)",
    "https://pypi.org/project/pvlib/", "BSD-3-Clause (pvlib-python)",
    coarse="5 arc-minute cells (about 9 km), 28 m steps: no slope, only broad relief",
    notes=(
        "coarse fallback: cells of 5 arc-minutes (about 9 km) and elevations in 28 m steps; "
        "peaks are flattened",
        "not usable for slope; refresh from USGS 3DEP for slope screening",
    ),
))(_elevation)
