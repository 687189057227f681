"""One tile of the analysis: exclusions, criteria, sub-scores and cell scores on a window of the grid.

A tile is computed on its own window of the grid, widened by a halo where a criterion
looks beyond the cell: for capped distances as far as the nearest feature can be from
the tile's eligible cells, and by one cell for slope.

A capped distance is exact when the halo is as wide as the cap: a feature within the
cap always lies in the window. Most tiles need far less. A coarse distance surface,
computed once for the whole grid, bounds how far the nearest feature is from each part
of the tile, and the tile's window is widened by that bound instead. The tile then
checks its answer: a distance measured inside a window is exact wherever it is no
longer than the halo, as anything beyond the window is further away. A tile where the
check fails (the surface was coarser than the features) is measured again with the cap
as halo, so every eligible cell is exact either way. Excluded cells carry no raw value.
Neighbourhood measures on coarse grids (people, generation, lines at the nearest
substation, height above the basin floor) pad their own working grid, and exclusion
buffers are drawn around the features themselves, so they only need the features near
the window. Only the features that touch a window are rasterized.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
from affine import Affine
from rasterio.warp import Resampling
from shapely.geometry import box

from geo.aggregate import aggregate
from geo.analysis import _blank_outside_coverage, _subscores
from geo.config import Config, Criterion
from geo.criteria import criterion_raw, select_features
from geo.distance import burn_features, distance_to_features_km
from geo.exclusions import build_exclusions
from geo.grid import Grid, resample_aligned
from geo.labour import coarse_labour_pool
from geo.pointdistance import distance_to_cells_km
from geo.provenance import Provenance

#: Measures whose whole layers are needed wherever the tile is: the nearest substation may be far away.
WHOLE_LAYER_MEASURES = ("substation_lines",)
#: Measures computed on a coarse working grid around the window, which needs the features within the radius.
NEIGHBOURHOOD_MEASURES = ("people_within", "capacity_within", "substation_lines", "height_above_basin")
#: Raw values kept as float32 (counts of people, MW, lines); every other measure is float16.
FLOAT32_MEASURES = ("people_within", "capacity_within", "substation_lines")
#: Margin (m) around a window within which features are kept: the coarse working grids' cells.
FEATURE_MARGIN_M = 5000.0
#: Cell edge (m) of the coarse surfaces that bound how far each distance criterion's nearest feature is.
REACH_CELL_M = 1000.0

Window = tuple[slice, slice]


@dataclass
class TileInputs:
    """What every tile needs, computed once and shipped to every worker.

    ``layers`` are in the grid CRS; ``weights`` are the normalised weights of the
    active ``criteria``; ``coverage`` is the area the ownership layer covers (None:
    everywhere); ``labour`` holds, per labour criterion, the people within reach on the
    whole grid's coarse surface and that surface's grid; ``reach`` holds, per distance
    criterion, the distance (km) to its nearest feature on a coarse grid of
    :data:`REACH_CELL_M` cells, and how many grid cells make one of its cells (both
    filled on creation).
    """

    config: Config
    grid: Grid
    study_area: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame]
    provenance: dict[str, Provenance]
    elevation: Path | None
    coverage: gpd.GeoSeries | None
    criteria: list[Criterion]
    weights: dict[str, float]
    labour: dict[str, tuple[np.ndarray, Grid]] = field(default_factory=dict)
    reach: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """People within reach of each labour criterion, and the nearest-feature surface of each distance criterion."""
        factor = max(1, round(REACH_CELL_M / self.grid.resolution))
        reach_grid = self.grid.coarsened(factor)
        for criterion in self.criteria:
            if criterion.measure == "distance":
                frames = [select_features(criterion, n, self.layers[n]) for n in criterion.layers if n in self.layers]
                self.reach[criterion.name] = (distance_to_features_km(frames, reach_grid, criterion.cap_km), factor)
            if criterion.measure == "people_within" and "county_stats" in self.layers:
                within, coarse, _ = coarse_labour_pool(
                    self.layers["county_stats"], self.grid, radius_km=criterion.radius_km,
                    urban=self.layers.get("urban"), places=self.layers.get("places"))
                self.labour[criterion.name] = (within, coarse)


def raw_dtype(criterion: Criterion) -> np.dtype:
    """The dtype of a criterion's raw values, as :func:`geo.criteria.criterion_raw` returns them.

    Parameters
    ----------
    criterion
        The criterion.

    Returns
    -------
    numpy.dtype
        float32 for counts of people, MW and lines; float16 otherwise.
    """
    return np.dtype(np.float32 if criterion.measure in FLOAT32_MEASURES else np.float16)


def halo_cells(criterion: Criterion, resolution_m: float) -> int:
    """How many cells a criterion's window reaches beyond its tile.

    Parameters
    ----------
    criterion
        The criterion.
    resolution_m
        Cell size of the grid.

    Returns
    -------
    int
        The cap in cells (plus one) for capped distances, one for slope, zero otherwise.
    """
    if criterion.measure == "distance":
        return math.ceil(criterion.cap_km * 1000.0 / resolution_m) + 1
    return 1 if criterion.measure == "slope" else 0


def tile_windows(grid: Grid, tile_size: int) -> list[list[Window]]:
    """The tiles of a grid, row by row, each at most ``tile_size`` cells square.

    Parameters
    ----------
    grid
        The grid to cut.
    tile_size
        Tile edge in cells; a tile size larger than the grid gives one tile.

    Returns
    -------
    list of list of (slice, slice)
        Row and column slices of every tile, in row-major order.
    """
    return [[(slice(r, min(r + tile_size, grid.height)), slice(c, min(c + tile_size, grid.width)))
             for c in range(0, grid.width, tile_size)] for r in range(0, grid.height, tile_size)]


def window_grid(grid: Grid, tile: Window, halo: int) -> tuple[Grid, Window]:
    """The sub-grid of a tile widened by ``halo`` cells (clipped to the grid), and the tile's place in it.

    Parameters
    ----------
    grid
        The full grid.
    tile
        Row and column slices of the tile.
    halo
        Cells to add on every side.

    Returns
    -------
    tuple of Grid and (slice, slice)
        The window's grid, whose cells are cells of ``grid``, and the slices that crop
        it back to the tile.
    """
    rows, cols = tile
    r0, r1 = max(0, rows.start - halo), min(grid.height, rows.stop + halo)
    c0, c1 = max(0, cols.start - halo), min(grid.width, cols.stop + halo)
    sub = Grid(grid.transform @ Affine.translation(c0, r0), c1 - c0, r1 - r0, grid.crs)
    inner = (slice(rows.start - r0, rows.stop - r0), slice(cols.start - c0, cols.stop - c0))
    return sub, inner


def compute_tile(inputs: TileInputs, tile: Window) -> dict[str, np.ndarray]:
    """Exclusion bits, raw criterion values and cell scores of one tile.

    Parameters
    ----------
    inputs
        The run's shared inputs.
    tile
        Row and column slices of the tile on the full grid.

    Returns
    -------
    dict of str to numpy.ndarray
        ``bits`` (the exclusion bitmask), ``score`` (float32, NaN where excluded or
        unknown) and ``raw/<criterion>`` for every active criterion (NaN where
        excluded), each of the tile's shape.

    Notes
    -----
    Peak memory is that of the in-memory analysis on the largest criterion window:
    about 7 bytes per cell of the tile widened by the largest halo, at most the cap.
    """
    config, grid = inputs.config, inputs.grid
    tile_grid, _ = window_grid(grid, tile, 0)
    exclusion_grid, inner = window_grid(grid, tile, 1)
    margin = max([e.buffer_m for e in config.exclusions], default=0.0)
    near = _features_near(inputs.layers, exclusion_grid, margin + FEATURE_MARGIN_M)
    exclusions = build_exclusions(config, _features_near({"s": inputs.study_area}, exclusion_grid, 0)["s"], near,
                                  exclusion_grid, ownership_coverage=inputs.coverage,
                                  elevation_path=inputs.elevation, skipped=[])
    bits = np.ascontiguousarray(exclusions.bits[inner])
    eligible = np.flatnonzero(bits == 0)
    out: dict[str, np.ndarray] = {"bits": bits}
    subscores = {}
    for criterion in inputs.criteria:
        if eligible.size:
            raw = _criterion_on_tile(criterion, inputs, tile, bits == 0)
            raw = _blank_outside_coverage(raw, criterion, inputs.provenance, tile_grid)
            raw = raw if raw.flags.writeable else raw.copy()
            raw[bits != 0] = np.nan
        else:
            raw = np.full(bits.shape, np.nan, dtype=raw_dtype(criterion))
        out[f"raw/{criterion.name}"] = raw
        subscores[criterion.name] = _subscores(criterion, raw.ravel(), eligible)
    score = np.full(bits.shape, np.nan, dtype=np.float32)
    if eligible.size:
        score.ravel()[eligible] = aggregate(subscores, inputs.weights, config.aggregation.method)
    out["score"] = score
    return out


def _criterion_on_tile(criterion: Criterion, inputs: TileInputs, tile: Window, eligible: np.ndarray) -> np.ndarray:
    """A criterion's raw values on a tile, exact on its ``eligible`` cells (see the module notes)."""
    full = halo_cells(criterion, inputs.grid.resolution)
    if criterion.name not in inputs.reach:
        return _criterion_on_window(criterion, inputs, tile, full)
    halo = min(full, reach_halo(inputs.reach[criterion.name], tile, eligible, inputs.grid.resolution))
    raw = _criterion_on_window(criterion, inputs, tile, halo, eligible)
    if halo < full and not _exact_within_halo(raw[eligible], halo, inputs.grid.resolution):
        raw = _criterion_on_window(criterion, inputs, tile, full, eligible)
    return raw


def reach_halo(reach: tuple[np.ndarray, int], tile: Window, eligible: np.ndarray, resolution_m: float) -> int:
    """The halo (cells) that likely holds the nearest feature of every eligible cell of a tile.

    Parameters
    ----------
    reach
        The criterion's coarse nearest-feature surface (km) and how many grid cells make one of its cells.
    tile
        Row and column slices of the tile on the full grid.
    eligible
        Boolean array of the tile's shape, True on the cells that need a value.
    resolution_m
        Cell size of the grid.

    Returns
    -------
    int
        The largest coarse distance under an eligible cell (at most the cap), plus a
        coarse cell's diagonal and one cell, in cells. Only a guess: the tile checks its
        distances against it.
    """
    surface, factor = reach
    rows, cols = np.nonzero(eligible)
    if rows.size == 0:
        return 0
    under = surface[(rows + tile[0].start) // factor, (cols + tile[1].start) // factor]
    bound_km = float(under.max()) + math.sqrt(2) * factor * resolution_m / 1000.0
    return math.ceil(bound_km * 1000.0 / resolution_m) + 1


def _exact_within_halo(distances: np.ndarray, halo: int, resolution_m: float) -> bool:
    """Whether distances measured on a window widened by ``halo`` cells are all no longer than the halo.

    Every cell beyond the window is at least ``halo`` cells away, so such distances are
    exact; the float16 values are allowed their rounding.
    """
    if distances.size == 0:
        return True
    return float(distances.max()) * (1 + 2.0 ** -10) < halo * resolution_m / 1000.0


def _criterion_on_window(criterion: Criterion, inputs: TileInputs, tile: Window, halo: int,
                         eligible: np.ndarray | None = None) -> np.ndarray:
    """A criterion's raw values on a tile, computed on the tile widened by ``halo`` cells.

    Distances to point features are measured on the ``eligible`` cells only (NaN elsewhere).
    """
    sub, inner = window_grid(inputs.grid, tile, halo)
    if criterion.name in inputs.labour:
        within, coarse = inputs.labour[criterion.name]
        return resample_aligned(within, sub, Resampling.bilinear, src_transform=coarse.transform, src_crs=coarse.crs)
    names = [n for n in criterion.layers if n in inputs.layers]
    if criterion.measure in WHOLE_LAYER_MEASURES:
        layers = {n: inputs.layers[n] for n in names}
    else:
        reach = criterion.radius_km * 1000 if criterion.measure in NEIGHBOURHOOD_MEASURES else 0.0
        layers = _features_near({n: inputs.layers[n] for n in names}, sub, reach + FEATURE_MARGIN_M)
        if criterion.measure == "people_within":
            layers.update(_features_near({n: inputs.layers[n] for n in ("urban", "places") if n in inputs.layers},
                                         sub, reach + FEATURE_MARGIN_M))
    if criterion.measure == "distance":
        frames = [select_features(criterion, n, layers[n]) for n in names]
        if not any(len(frame) for frame in frames):
            return np.full(sub.shape, criterion.cap_km, dtype=np.float16)[inner].copy()
        if eligible is not None and all((frame.geom_type == "Point").all() for frame in frames):
            return _distance_to_points(frames, sub, inner, eligible, criterion.cap_km)
    raw = criterion_raw(criterion, layers, sub, inputs.elevation)
    return np.ascontiguousarray(raw[inner], dtype=raw_dtype(criterion))


def _distance_to_points(frames: list[gpd.GeoDataFrame], sub: Grid, inner: Window, eligible: np.ndarray,
                        cap_km: float) -> np.ndarray:
    """Distances (km, float16) from a tile's eligible cells to point features, as the window's transform gives them."""
    background = burn_features(frames, sub, np.empty(sub.shape, dtype=np.uint8))
    cells = np.argwhere(eligible) + np.array([inner[0].start, inner[1].start])
    raw = np.full(eligible.shape, np.nan, dtype=np.float16)
    raw[eligible] = distance_to_cells_km(np.argwhere(background == 0), cells, sub.resolution, cap_km)
    return raw


def _features_near(layers: Mapping[str, gpd.GeoDataFrame], grid: Grid, margin_m: float
                   ) -> dict[str, gpd.GeoDataFrame]:
    """Each layer's features that touch the grid's bounds widened by ``margin_m``."""
    minx, miny, maxx, maxy = grid.bounds
    area = box(minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)
    return {name: frame.iloc[np.sort(frame.sindex.query(area, predicate="intersects"))]
            for name, frame in layers.items()}
