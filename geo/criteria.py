"""Criteria: the raw value of each criterion on every cell, and its 0-1 sub-score."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.config import Criterion, Exclusion
from geo.errors import ConfigError
from geo.grid import Grid, rasterize_values, values_at
from geo.gridstrength import capacity_within, effective_voltage_kv, substation_line_count
from geo.labour import labour_pool
from geo.rastercache import RunRasters

log = logging.getLogger(__name__)


def select_features(rule: Criterion | Exclusion, layer: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The features of ``frame`` that count for a criterion (voltage and population filters).

    Parameters
    ----------
    rule
        The criterion or exclusion; its ``min_voltage_kv`` filters lines and substations,
        its ``min_population`` towns.
    layer
        The name of the layer ``frame`` holds.
    frame
        The layer's features.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows of ``frame`` that pass the rule's filters (all of them on other layers).
    """
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
    elevation_path: Path | None = None, *, rasters: RunRasters | None = None, cells: np.ndarray | None = None,
) -> np.ndarray:
    """The raw value of ``criterion`` on every cell, as float16, or float32 for people and MW (NaN where unknown).

    Parameters
    ----------
    criterion
        The criterion to measure.
    layers
        The run's vector layers, in the grid CRS.
    grid
        The analysis grid.
    elevation_path
        The elevation raster, for slope and height above the basin floor.
    rasters
        The run's shared rasters: a distance or terrain raster another rule already made is
        taken from there (read-only) instead of being computed again. None: compute afresh.
    cells
        Flat indices of the only cells wanted (``rasters``, when given, must be restricted to
        them: :meth:`RunRasters.restrict`); None: every cell.

    Returns
    -------
    numpy.ndarray
        The raw values on ``grid``, or one per cell of ``cells``; read-only when it came from ``rasters``.

    Notes
    -----
    Distances are in km, computed on the grid by an exact Euclidean distance
    transform of the rasterized features and capped at ``criterion.cap_km``.
    """
    if rasters is None or rasters.grid != grid:
        rasters = RunRasters(grid, elevation_path, shared=False, cells=cells)
    if rasters.cells is not cells:
        raise ValueError("criterion_raw: the shared rasters are restricted to other cells than those asked for")
    if criterion.measure in ("slope", "height_above_basin"):
        if elevation_path is None:
            raise ValueError(f"criterion {criterion.name!r} needs the elevation layer")
        if criterion.measure == "slope":
            return rasters.slope_degrees()
        return rasters.height_above_basin_m(criterion.radius_km)
    if criterion.measure == "people_within":
        return labour_pool(layers["county_stats"], grid, radius_km=criterion.radius_km, urban=layers.get("urban"),
                           places=layers.get("places"), cells=cells).people_within
    if criterion.measure == "capacity_within":
        return capacity_within(layers["power_plants"], grid, radius_km=criterion.radius_km, cells=cells).capacity_mw
    if criterion.measure == "substation_lines":
        counts = substation_line_count(layers["substations"], layers["transmission"], grid,
                                       min_voltage_kv=criterion.min_voltage_kv or 0.0, within_km=criterion.radius_km,
                                       cells=cells)
        return counts.astype(np.float16)  # whole numbers of lines: exact in float16, at half the memory
    if criterion.measure == "attribute":
        if criterion.attribute is None:
            raise ConfigError(f"criterion {criterion.name!r}: measure 'attribute' needs 'attribute'")
        raw = rasters.scratch.lend("values", np.float32, fill=np.nan)
        for name in criterion.layers:  # a later layer's features burn over an earlier one's
            rasterize_values(layers[name], criterion.attribute, grid, out=raw)
        return values_at(raw, cells, np.float16)
    frames = [select_features(criterion, name, layers[name]) for name in criterion.layers if name in layers]
    if not any(len(frame) for frame in frames):
        log.warning("criterion %s: no feature passes its filters; every cell is %g km away",
                    criterion.name, criterion.cap_km)
    return rasters.distance_km(frames, criterion.cap_km)
