"""Baseline water stress: WRI Aqueduct, or a documented county proxy from drought and withdrawals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import LayerSchemaError
from geo.schema import WATER_STRESS_LABELS
from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.layers.county_stats import USGS_WATER_USE_FILE
from geo.sources.normalizing import as_frame, as_geoframe, finish
from geo.sources.spec import Endpoint, FileKind, JoinSpec, LayerSources, OfflineFiles, SourceSpec
from geo.types import ANALYSIS_CRS

#: Fresh-water withdrawals, as a depth over the county's area, at which the withdrawal
#: part of the water-stress proxy reaches the top of the 0-5 scale.
WITHDRAWAL_SATURATION_MM = 100.0
#: US Drought Monitor classes on the Aqueduct 0-5 scale.
DROUGHT_CLASS_SCORE = {"None": 0.0, "D0": 1.0, "D1": 2.0, "D2": 3.0, "D3": 4.0, "D4": 5.0}
_M3_PER_MGAL = 3785.411784
_DAYS_PER_YEAR = 365.25
_AQUEDUCT_BANDS = ((1.0, WATER_STRESS_LABELS[0]), (2.0, WATER_STRESS_LABELS[1]),
                   (3.0, WATER_STRESS_LABELS[2]), (4.0, WATER_STRESS_LABELS[3]))
_AQUEDUCT_ZIP = "Aqueduct40_waterrisk_download_Y2023M07D05"


def aqueduct_label(score: float) -> str:
    """The Aqueduct baseline-water-stress label of a 0-5 score (bands of one point).

    Parameters
    ----------
    score
        A water-stress score on Aqueduct's 0-5 scale.

    Returns
    -------
    str
        One of the schema's water-stress labels.
    """
    for upper, label in _AQUEDUCT_BANDS:
        if score < upper:
            return label
    return WATER_STRESS_LABELS[4]


def _aqueduct(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("bws_score",))
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
    return finish(spec, out, ctx)


def _withdrawal_score(
    counties: gpd.GeoDataFrame, water_use: Any, source_id: str
) -> tuple[np.ndarray, list[str]]:
    """The withdrawal part of the water-stress proxy per county (NaN without a figure)."""
    use = as_frame(water_use, source_id, ("FIPS", "TO-WFrTo"))
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


def _usdm_drought_proxy(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """``raw`` is the USDM county table, or ``{"drought": ..., "water_use": ...}``."""
    if ctx.county_boundaries is None:
        raise LayerSchemaError(
            f"source {spec.id!r}: county boundaries are needed to place the county table"
        )
    water_use = None
    if isinstance(raw, Mapping):
        drought, water_use = raw.get("drought"), raw.get("water_use")
    else:
        drought = raw
    table = as_frame(drought, spec.id, ("STATEFP", "COUNTYFP", "usdm_date", "usdm_class", "usdm_percent"))
    classes = table["usdm_class"].astype("string").str.strip()
    unknown = sorted(set(classes.dropna()) - set(DROUGHT_CLASS_SCORE))
    if unknown:
        raise LayerSchemaError(f"source {spec.id!r}: unknown usdm_class {unknown[0]!r}")
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
        withdrawal, use_notes = _withdrawal_score(frame, water_use, spec.id)
        notes += use_notes
        score = score.where(np.isnan(withdrawal), (score + withdrawal) / 2)
    else:
        notes.append("no water-use table given: score is the drought score alone")
    out = frame.assign(score=score.clip(0, 5), category=score.map(aqueduct_label))
    return finish(spec, out, ctx, clip=False, notes=notes)


AQUEDUCT_BASELINE = SourceSpec(
    id="aqueduct_baseline", layer="water_stress", title="WRI Aqueduct 4.0, baseline annual water stress",
    license="CC BY 4.0 (World Resources Institute)", vintage="Aqueduct 4.0 (2023)",
    url="https://files.wri.org/aqueduct/aqueduct-4-0-water-risk-data.zip",
    endpoint=Endpoint(
        protocol="bulk", format="zipped file geodatabase and CSV",
        url="https://files.wri.org/aqueduct/aqueduct-4-0-water-risk-data.zip",
        member=f"{_AQUEDUCT_ZIP}/GDB/Aq40_Y2023D07M05.gdb", columns=["aq30_id", "pfaf_id"],
        join=JoinSpec(member=f"{_AQUEDUCT_ZIP}/CVS/Aqueduct40_baseline_annual_y2023m07d05.csv", key="aq30_id",
                      columns=["aq30_id", "gid_1", "name_1", "bws_raw", "bws_score", "bws_cat", "bws_label"]),
        notes=["A large download (the global archive); it is kept in the download cache for later refreshes."],
    ),
    files=OfflineFiles(FileKind("aqueduct_baseline", "WRI Aqueduct baseline water stress", ("aqueduct*",),
                                frozenset({"bws_score", "bws_label"}))),
    normalize=_aqueduct,
)

USDM_DROUGHT_PROXY = SourceSpec(
    id="usdm_drought_proxy", layer="water_stress",
    title="US Drought Monitor county drought statistics 2000-2025 (NDMC, USDA, NOAA; weekly "
          "categorical percent area) with USGS Estimated Use of Water in the United States, "
          "county data 2015 (Dieter et al. 2018, doi:10.5066/F7TB15V5)",
    license="Public domain (US Government work)", vintage="drought 2000-2025, withdrawals 2015",
    url="https://usdmdataservices.unl.edu/api/CountyStatistics/GetDroughtSeverityStatisticsByAreaPercent",
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
    files=OfflineFiles(
        FileKind("usdm_counties", "US Drought Monitor county statistics (Parquet or CSV)", ("usdm_county*",),
                 frozenset({"STATEFP", "COUNTYFP", "usdm_date", "usdm_class", "usdm_percent"})),
        main_key="drought", extras={"water_use": USGS_WATER_USE_FILE},
    ),
    needs_counties=True,
    normalize=_usdm_drought_proxy,
)

LAYER = LayerSources("water_stress", (AQUEDUCT_BASELINE, USDM_DROUGHT_PROXY))
