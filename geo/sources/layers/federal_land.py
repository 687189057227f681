"""Land ownership by managing agency: BLM surface management, PAD-US and the National Atlas."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import LayerSchemaError
from geo.schema import FEDERAL_AGENCIES
from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, covered_area, finish
from geo.sources.spec import PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec

log = logging.getLogger(__name__)

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


def _blm_sma(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("ADMIN_AGENCY_CODE",))
    frame = clean.null_sentinels(frame, ["ADMIN_AGENCY_CODE", "ADMIN_UNIT_NAME", "ADMIN_DEPT_CODE"])
    if "ADMIN_DEPT_CODE" in frame.columns:
        dept = frame["ADMIN_DEPT_CODE"]
    else:
        dept = pd.Series(None, index=frame.index)
    agency = pd.Series(
        [_agency(c, d) for c, d in zip(frame["ADMIN_AGENCY_CODE"], dept, strict=True)], index=frame.index
    )
    unit = frame["ADMIN_UNIT_NAME"] if "ADMIN_UNIT_NAME" in frame.columns else None
    out = _federal_land(frame, agency, frame["ADMIN_AGENCY_CODE"], unit, spec.id)
    return finish(spec, out, ctx)


def _padus_fee(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("Mang_Name", "Mang_Type"))
    frame = clean.null_sentinels(frame, ["Mang_Name", "Mang_Type", "Unit_Nm"])
    agency = pd.Series(
        [_agency(n, t) for n, t in zip(frame["Mang_Name"], frame["Mang_Type"], strict=True)], index=frame.index
    )
    unit = frame["Unit_Nm"] if "Unit_Nm" in frame.columns else None
    out = _federal_land(frame, agency, frame["Mang_Name"], unit, spec.id)
    return finish(spec, out, ctx)


def _padus3_great_basin(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("Mng_Level", "MngNm_D"))
    level = frame["Mng_Level"].astype("string")
    name = frame["MngNm_D"].astype("string")
    by_level = {"Federal": "OTHER_FEDERAL", "NGO": "NGO", "Tribal Land": "TRIBAL"}
    agency = []
    for lvl, nm in zip(level, name, strict=True):
        code = _agency(nm)
        if code == "UNKNOWN" and not pd.isna(nm) and str(nm).strip().lower() != "unknown":
            if lvl == "Regional/State/Local":
                code = "STATE" if "state" in str(nm).lower() else "LOCAL"
            else:
                code = by_level.get(str(lvl), "UNKNOWN")
        agency.append(code)
    agency_s = pd.Series(agency, index=frame.index)
    federal = level.eq("Federal").fillna(False).to_numpy()
    out = _federal_land(frame, agency_s, name, None, spec.id).assign(is_federal=federal)
    mismatch = out["agency"].isin(FEDERAL_AGENCIES).to_numpy() != federal
    if mismatch.any():
        raise LayerSchemaError(
            f"source {spec.id!r}: manager {name[mismatch].iloc[0]!r} disagrees with Mng_Level"
        )
    return finish(spec, out, ctx, coverage=covered_area)


#: Agency codes of the National Atlas federal-lands layer as recoded from its ADMIN1 field.


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


def _national_atlas(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """Polygons with a closed agency vocabulary (BLM, FS, NPS, FWS, BOR, DOD, DOE, BIA)."""
    frame = as_geoframe(raw, spec.id, ("agency",))
    frame = clean.null_sentinels(frame, ["agency"])
    code = frame["agency"].astype("string").str.strip().str.upper()
    unknown = sorted(set(code.dropna()) - set(_NATIONAL_ATLAS_AGENCIES))
    if unknown:
        raise LayerSchemaError(
            f"source {spec.id!r}: field 'agency' has value(s) {', '.join(map(repr, unknown[:5]))}, expected one "
            f"of {', '.join(_NATIONAL_ATLAS_AGENCIES)}"
        )
    agency = code.map(_NATIONAL_ATLAS_AGENCIES)
    out = _federal_land(frame, agency, code.map(_NATIONAL_ATLAS_NAMES), None, spec.id)
    return finish(spec, out.assign(source=spec.id), ctx)


BLM_SMA = SourceSpec(
    id="blm_sma", layer="federal_land", title="Bureau of Land Management, Surface Management Agency (SMA)",
    license=PUBLIC_DOMAIN, url="https://gis.blm.gov/arcgis/rest/services/lands/BLM_Natl_SMA_LimitedScale/MapServer/1",
    endpoint=Endpoint(
        protocol="arcgis", format="geojson",
        state_urls={
            "AZ": "https://gis.blm.gov/azarcgis/rest/services/lands/BLM_AZ_SMA/FeatureServer/0",
            "NV": "https://gis.blm.gov/nvarcgis/rest/services/lands/BLM_NV_SMA/FeatureServer/0",
            "UT": "https://gis.blm.gov/utarcgis/rest/services/lands/BLM_UT_SMA/FeatureServer/0",
        },
        notes=["The state services use different field names; the Utah layer's native CRS is EPSG:26912."],
    ),
    files=OfflineFiles(FileKind("blm_sma", "BLM Surface Management Agency polygons", ("*blm*sma*",),
                                frozenset({"ADMIN_AGENCY_CODE"}))),
    normalize=_blm_sma,
)

PADUS_FEE = SourceSpec(
    id="padus_fee", layer="federal_land", title="USGS Gap Analysis Project, PAD-US 4.0 Fee managers",
    license=PUBLIC_DOMAIN, vintage="PAD-US 4.0 (2024)",
    url="https://services.arcgis.com/P3ePLMYs2RVChkJx/arcgis/rest/services/PADUS4_0Fee/FeatureServer/0",
    notes=("PAD-US maps protected and public land; land it does not map is private or unknown",),
    endpoint=Endpoint(
        protocol="arcgis", format="geojson", where="State_Nm IN ({states})", bbox_filter=False,
        url="https://services.arcgis.com/P3ePLMYs2RVChkJx/arcgis/rest/services/PADUS4_0Fee/FeatureServer/0",
    ),
    files=OfflineFiles(FileKind("padus_fee", "PAD-US Fee managers", ("padus*fee*",),
                                frozenset({"Mang_Name", "Mang_Type"}))),
    normalize=_padus_fee,
)

PADUS3_GREAT_BASIN = SourceSpec(
    id="padus3_great_basin", layer="federal_land",
    title="USGS Gap Analysis Project, PAD-US 3.0 (vector-analysis layer) land managers, "
          "Great Basin Desert extract dissolved by manager (USGS Water Mission Area, saline lakes study)",
    license=PUBLIC_DOMAIN, vintage="PAD-US 3.0 (2022)", partial=True,
    url="https://github.com/elmeraa-usgs/saline-lakes-land-ownership",
    caveat="Great Basin Desert only: ownership elsewhere is unknown",
    notes=(
        "covers the Great Basin Desert only: about 76% of Nevada and the western 52% of Utah",
        "no Arizona, no southern Nevada (Las Vegas valley, Mojave) and no eastern Utah "
        "(Colorado Plateau): ownership there is unknown, not non-federal",
        "dissolved by manager and simplified (about 5% of vertices kept): boundaries are good "
        "to a few hundred metres to about 1 km; no unit names",
    ),
    files=OfflineFiles(FileKind("padus3_great_basin", "PAD-US 3.0 Great Basin land managers",
                                ("padus3*great_basin*",), frozenset({"Mng_Level", "MngNm_D"}))),
    normalize=_padus3_great_basin,
)

NATIONAL_ATLAS_FEDERAL_LANDS = SourceSpec(
    id="national_atlas_federal_lands", layer="federal_land",
    title="USGS National Atlas, Federal Lands of the United States (fedlanp010g, 1:1,000,000)",
    license=PUBLIC_DOMAIN, vintage="2005-2014 editions",
    url="https://www.sciencebase.gov/catalog/item/4f4e4a6ae4b07f02db5fde1c",
    coarse="1:1,000,000 (about 1-5 km positional error), 2005-2014 editions",
    notes=(
        "federal land only: land without a polygon is not federal (state, private or tribal)",
        "private inholdings inside large federal blocks count as federal; no unit names or designations",
        "good for 'is this broadly federal, and which agency' at county scale; not parcel-grade: "
        "confirm with BLM Surface Management Agency data before any decision",
    ),
    files=OfflineFiles(FileKind("national_atlas_federal_lands",
                                "USGS National Atlas federal lands by agency (1:1,000,000)",
                                ("*national_atlas_federal_lands*", "fedlanp*"), frozenset({"agency", "st"}))),
    fills=True,
    normalize=_national_atlas,
)

LAYER = LayerSources("federal_land", (BLM_SMA, PADUS_FEE, PADUS3_GREAT_BASIN, NATIONAL_ATLAS_FEDERAL_LANDS))
