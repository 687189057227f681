"""Grid strength near a site: generating capacity within reach, and how well connected the nearest substation is."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from geo.blocks import for_each_block
from geo.errors import LayerSchemaError
from geo.grid import Grid

log = logging.getLogger(__name__)

#: The lowest standard US voltage (kV) in each HIFLD voltage class, used where a line
#: has a class but no voltage. DC lines get no AC voltage and never pass a voltage filter.
NOMINAL_KV_BY_CLASS = {
    "UNDER 100": 69.0, "100-161": 115.0, "220-287": 230.0, "345": 345.0,
    "500": 500.0, "735 AND ABOVE": 735.0, "DC": np.nan,
}


def effective_voltage_kv(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Voltage of each line or substation in kV: the stated voltage, else its class's nominal one.

    Parameters
    ----------
    frame
        Transmission lines (``voltage_kv``) or substations (``max_voltage_kv``), optionally
        with a HIFLD ``voltage_class``.

    Returns
    -------
    numpy.ndarray
        float64 kV per row; NaN for DC or where neither is known.
    """
    column = "voltage_kv" if "voltage_kv" in frame.columns else "max_voltage_kv"
    kv = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    if "voltage_class" in frame.columns:
        by_class = frame["voltage_class"].map(NOMINAL_KV_BY_CLASS).to_numpy(dtype="float64", na_value=np.nan)
        kv = np.where(np.isnan(kv), by_class, kv)
    return kv



@dataclass(frozen=True)
class PlantCapacity:
    """Generating capacity (MW, float32) within reach of every cell, and the plants left out."""

    capacity_mw: np.ndarray
    plants_without_capacity: list[str]


def capacity_within(
    plants: gpd.GeoDataFrame, grid: Grid, *, radius_km: float = 50.0, coarse_m: float = 1000.0,
    cells: np.ndarray | None = None,
) -> PlantCapacity:
    """Total ``capacity_mw`` of the power plants within ``radius_km`` of every cell of ``grid``.

    Parameters
    ----------
    plants
        Points with ``capacity_mw`` (and ``name``, used to report plants left out), in the grid CRS.
    grid
        The analysis grid.
    radius_km
        Reach (km) from a cell centre to a plant.
    coarse_m
        Cell size (m) of the grid the sums are taken on before they are copied onto ``grid``.
    cells
        Flat indices of the only cells wanted; None: every cell.

    Returns
    -------
    PlantCapacity
        MW within reach (float32 on ``grid``, or one per cell of ``cells``), and the names of
        the plants whose capacity is missing or zero: they add nothing, and a warning names them.

    Raises
    ------
    LayerSchemaError
        If a plant has a negative capacity.

    Notes
    -----
    Sums are exact for the centres of the coarse cells, and each cell of ``grid`` takes the
    value of the coarse cell it lies in: a plant nearer than ``radius_km - coarse_m`` always
    counts, one farther than ``radius_km + coarse_m`` never does.
    """
    capacity = plants["capacity_mw"].to_numpy(dtype="float64", na_value=np.nan)
    names = _names(plants)
    if (capacity < 0).any():
        raise LayerSchemaError(f"power_plants layer, column 'capacity_mw': negative capacity for "
                               f"{', '.join(names[capacity < 0])}; capacities are MW, 0 or more")
    usable = capacity > 0
    skipped = names[~usable].tolist()
    if skipped:
        log.warning("%d power plants have no capacity and add nothing: %s", len(skipped), ", ".join(skipped))
    coarse = Grid.covering(grid.bounds, coarse_m)
    totals = np.zeros(coarse.shape, dtype=np.float64)
    xs, _ = coarse.cell_centres(np.zeros(coarse.width), np.arange(coarse.width))
    _, ys = coarse.cell_centres(np.arange(coarse.height), np.zeros(coarse.height))
    reach = radius_km * 1000.0
    for (x, y), mw in zip(_xy(plants[usable]), capacity[usable], strict=True):
        # the window of centres within reach along each axis (ys fall row by row), then the disk in it
        c0, c1 = np.searchsorted(xs, x - reach, "left"), np.searchsorted(xs, x + reach, "right")
        r0, r1 = np.searchsorted(-ys, -(y + reach), "left"), np.searchsorted(-ys, -(y - reach), "right")
        if c0 < c1 and r0 < r1:
            dx, dy = xs[c0:c1] - x, ys[r0:r1] - y
            totals[r0:r1, c0:c1] += np.where(dy[:, None] ** 2 + dx[None, :] ** 2 <= reach**2, mw, 0.0)
    return PlantCapacity(_nearest_onto(totals, coarse, grid, cells), skipped)


def lines_at_substations(
    substations: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, *, min_voltage_kv: float, within_km: float = 3.0,
) -> np.ndarray:
    """Number of transmission lines of at least ``min_voltage_kv`` passing within ``within_km`` of each substation.

    Parameters
    ----------
    substations
        Substations (points), in the same CRS as ``lines`` (metres).
    lines
        Transmission lines with ``voltage_kv`` and ``voltage_class``; the voltage is
        :func:`geo.criteria.effective_voltage_kv`, and lines of unknown voltage never count.
    min_voltage_kv
        The lowest voltage (kV) that counts.
    within_km
        How close (km) a line must come to the substation.

    Returns
    -------
    numpy.ndarray
        int64 count per substation, in row order.
    """
    with np.errstate(invalid="ignore"):
        strong = lines[effective_voltage_kv(lines) >= min_voltage_kv]
    if len(substations) == 0 or len(strong) == 0:
        return np.zeros(len(substations), dtype=np.int64)
    station_idx, _ = strong.sindex.query(substations.geometry, predicate="dwithin", distance=within_km * 1000.0)
    return np.bincount(station_idx, minlength=len(substations)).astype(np.int64)


def substation_line_count(
    substations: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, grid: Grid, *, min_voltage_kv: float,
    within_km: float = 3.0, coarse_m: float = 1000.0, cells: np.ndarray | None = None,
) -> np.ndarray:
    """For every cell, :func:`lines_at_substations` of the substation nearest to it.

    Parameters
    ----------
    substations, lines, min_voltage_kv, within_km
        As for :func:`lines_at_substations`; every substation is a candidate, whatever its voltage.
    grid
        The analysis grid.
    coarse_m
        Cell size (m) of the grid the nearest substation is found on.

    cells
        Flat indices of the only cells wanted; None: every cell.

    Returns
    -------
    numpy.ndarray
        float32 on ``grid`` (or one per cell of ``cells``); NaN everywhere when there is no substation.

    Notes
    -----
    Near the line halfway between two substations a cell may take the count of the one a
    ``coarse_m`` cell away from being nearest.
    """
    if len(substations) == 0:
        log.warning("no substation: the line count is unknown on every cell")
        return np.full(grid.shape if cells is None else cells.shape, np.nan, dtype=np.float32)
    counts = lines_at_substations(substations, lines, min_voltage_kv=min_voltage_kv, within_km=within_km)
    coarse = Grid.covering(grid.bounds, coarse_m)
    _, nearest = cKDTree(_xy(substations)).query(np.column_stack(_all_cell_centres(coarse)),
                                                  workers=os.cpu_count() or 1)
    return _nearest_onto(counts[nearest].reshape(coarse.shape), coarse, grid, cells)


def _names(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Each feature's name, or its row label where it has none."""
    labels = frame.index.astype(str).to_numpy()
    if "name" not in frame.columns:
        return labels
    return np.where(frame["name"].isna().to_numpy(), labels, frame["name"].astype(str).to_numpy())


def _xy(points: gpd.GeoDataFrame) -> np.ndarray:
    """Coordinates of point features as an (n, 2) array."""
    return np.column_stack([points.geometry.x.to_numpy(), points.geometry.y.to_numpy()])


def _all_cell_centres(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of every cell centre, flattened in row-major order."""
    rows, cols = np.divmod(np.arange(grid.height * grid.width), grid.width)
    return grid.cell_centres(rows, cols)


def _nearest_onto(values: np.ndarray, coarse: Grid, grid: Grid, cells: np.ndarray | None = None) -> np.ndarray:
    """``values`` on ``coarse`` copied onto ``grid`` (float32), or onto its ``cells`` only: each cell takes the
    coarse cell its centre is in."""
    xs, _ = grid.cell_centres(np.zeros(grid.width), np.arange(grid.width))
    _, ys = grid.cell_centres(np.arange(grid.height), np.zeros(grid.height))
    rows, _, _ = coarse.cell_of(np.full(grid.height, xs[0]), ys)
    _, cols, _ = coarse.cell_of(xs, np.full(grid.width, ys[0]))
    rows, cols = np.clip(rows, 0, coarse.height - 1), np.clip(cols, 0, coarse.width - 1)
    values = values.astype(np.float32)
    if cells is None:
        return values[np.ix_(rows, cols)]
    out = np.empty(cells.shape, dtype=np.float32)

    def gather(block: slice) -> None:  # in blocks: no temporaries the size of ``cells``
        cell_rows, cell_cols = np.divmod(cells[block], grid.width)
        out[block] = values[rows[cell_rows], cols[cell_cols]]

    for_each_block(cells.size, gather)
    return out
