"""Criteria: the raw value of each criterion on every cell, and its 0-1 sub-score."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.config import Criterion, Exclusion
from geo.grid import Grid, distance_to_features_km, rasterize_values, slope_degrees
from geo.terrain import height_above_basin_m

log = logging.getLogger(__name__)

#: The lowest standard US voltage (kV) in each HIFLD voltage class, used where a line
#: has a class but no voltage. DC lines get no AC voltage and never pass a voltage filter.
NOMINAL_KV_BY_CLASS = {
    "UNDER 100": 69.0, "100-161": 115.0, "220-287": 230.0, "345": 345.0,
    "500": 500.0, "735 AND ABOVE": 735.0, "DC": np.nan,
}

def effective_voltage_kv(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Voltage of each line or substation in kV: the stated voltage, else its class's nominal one."""
    column = "voltage_kv" if "voltage_kv" in frame.columns else "max_voltage_kv"
    kv = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    if "voltage_class" in frame.columns:
        by_class = frame["voltage_class"].map(NOMINAL_KV_BY_CLASS).to_numpy(dtype="float64", na_value=np.nan)
        kv = np.where(np.isnan(kv), by_class, kv)
    return kv


def select_features(rule: Criterion | Exclusion, layer: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The features of ``frame`` that count for a criterion (voltage and population filters)."""
    keep = np.ones(len(frame), dtype=bool)
    min_kv = getattr(rule, "min_voltage_kv", None)
    if min_kv is not None and layer in ("transmission", "substations"):
        with np.errstate(invalid="ignore"):
            keep &= effective_voltage_kv(frame) >= min_kv
    min_pop = rule.min_population
    if min_pop is not None and layer == "places":
        keep &= frame["population"].fillna(0).to_numpy() >= min_pop
    return frame[keep]


def criterion_raw(
    criterion: Criterion, layers: Mapping[str, gpd.GeoDataFrame], grid: Grid,
    elevation_path: Path | None = None,
) -> np.ndarray:
    """The raw value of ``criterion`` on every cell, as float16 (NaN where unknown).

    Notes
    -----
    Distances are in km, computed on the grid by an exact Euclidean distance
    transform of the rasterized features and capped at ``criterion.cap_km``.
    """
    if criterion.measure in ("slope", "height_above_basin"):
        if elevation_path is None:
            raise ValueError(f"criterion {criterion.name!r} needs the elevation layer")
        if criterion.measure == "slope":
            return slope_degrees(elevation_path, grid)
        return height_above_basin_m(elevation_path, grid, criterion.radius_km)
    if criterion.measure == "attribute":
        raw = rasterize_values(layers[criterion.layers[0]], criterion.attribute, grid)
        for name in criterion.layers[1:]:
            burned = rasterize_values(layers[name], criterion.attribute, grid)
            np.copyto(raw, burned, where=~np.isnan(burned))
        return raw.astype(np.float16)
    frames = [select_features(criterion, name, layers[name]) for name in criterion.layers if name in layers]
    if not any(len(frame) for frame in frames):
        log.warning("criterion %s: no feature passes its filters; every cell is %g km away",
                    criterion.name, criterion.cap_km)
    return distance_to_features_km(frames, grid, criterion.cap_km)
