"""Labour: how many people live within commuting distance of every cell.

County populations are spread over a coarse grid (towns first, the rest evenly), summed within
a radius by FFT convolution with a disk, and resampled onto the analysis grid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import pairwise

import geopandas as gpd
import numpy as np
from rasterio.warp import Resampling
from scipy.signal import fftconvolve
from shapely.geometry import box

from geo.errors import LayerSchemaError
from geo.grid import Grid, burn, resample_aligned

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PopulationSurface:
    """People per cell (float64) and the geoids of counties left out for an unknown population."""

    people: np.ndarray
    counties_without_population: list[str]


@dataclass(frozen=True)
class LabourPool:
    """People within commuting distance of every cell (float32; or of the cells asked for) and the counties left out."""

    people_within: np.ndarray
    counties_without_population: list[str]


def dasymetric_population(
    counties: gpd.GeoDataFrame, grid: Grid, *, urban: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None, place_radius_km: float = 3.0,
) -> PopulationSurface:
    """Spread each county's population over the cells of ``grid``, towns first.

    Parameters
    ----------
    counties
        Polygons with ``geoid`` and ``population`` (people; NaN where unknown), in the grid CRS.
    grid
        The grid to fill, usually coarse (2 km).
    urban
        Built-up areas: a place inside one spreads its people over that area's cells in its county.
    places, place_radius_km
        Points with ``population``, which a county gives its people to first (scaled down together
        never to exceed the county's); a place outside urban areas spreads them over the county
        cells within ``place_radius_km`` (km).

    Returns
    -------
    PopulationSurface
        People per cell (float64); the counties of unknown population add no one, and are named.

    Notes
    -----
    Cells belong to a county by cell centre; a county with no cell centre puts its people on
    the cell of its representative point; a place outside the grid keeps its people outside.
    The rest is spread evenly over the county's cells, so a county wholly inside the grid adds
    exactly its population, and one cut by the grid edge the share of its area inside.
    """
    population = _county_population(counties)
    unknown = counties["geoid"].astype(str)[np.isnan(population)].tolist()
    if unknown:
        log.warning("%d counties have no population and add no one: %s", len(unknown), ", ".join(unknown))
    urban_ids = _feature_ids(urban, grid).ravel() if urban is not None and len(urban) else None
    xy, place_pop, place_county, place_urban = _locate_places(places, counties, urban)
    in_grid = grid.cell_of(xy[:, 0], xy[:, 1])[2]
    people = np.zeros(grid.height * grid.width, dtype=np.float64)
    grid_box = box(*grid.bounds)
    for k, cells in enumerate(_cells_of_features(counties, grid)):
        total, geometry = population[k], counties.geometry.iloc[k]
        if not total > 0 or len(cells) == 0:
            continue
        mine = np.flatnonzero(place_county == k)
        wanted = place_pop[mine].sum()
        scale = min(1.0, total / wanted) if wanted > 0 else 0.0
        cx, cy = grid.cell_centres(*np.divmod(cells, grid.width))
        for i in mine[in_grid[mine]]:
            target = _place_cells(cells, cx, cy, xy[i], place_urban[i], urban_ids, place_radius_km)
            people[target] += place_pop[i] * scale / len(target)
        area_cells = len(cells) if grid_box.covers(geometry) else max(len(cells), geometry.area / grid.resolution**2)
        people[cells] += (total - wanted * scale) / area_cells
    return PopulationSurface(people.reshape(grid.shape), unknown)


def people_within(people: np.ndarray, grid: Grid, radius_km: float) -> np.ndarray:
    """Sum of ``people`` over the cells whose centres lie within ``radius_km`` of each cell's centre.

    Parameters
    ----------
    people, grid
        People per cell, and their grid.
    radius_km
        Radius of the disk summed over (km).

    Returns
    -------
    numpy.ndarray
        float32 array of ``grid.shape``; cells beyond the grid edge count as empty.
    """
    reach = radius_km * 1000.0 / grid.resolution
    offsets = np.arange(-int(reach), int(reach) + 1)
    disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= reach**2).astype(np.float64)
    summed = fftconvolve(people, disk, mode="same")
    return np.clip(summed, 0.0, None).astype(np.float32)


def labour_pool(
    counties: gpd.GeoDataFrame, grid: Grid, *, radius_km: float = 60.0, urban: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None, coarse_m: float = 2000.0, place_radius_km: float = 3.0,
    cells: np.ndarray | None = None,
) -> LabourPool:
    """People living within ``radius_km`` of every cell of ``grid``.

    Parameters
    ----------
    counties, urban, places, place_radius_km
        As for :func:`dasymetric_population`.
    grid
        The analysis grid.
    radius_km
        Commuting radius (km).
    coarse_m
        Cell size (m) of the grid the population is spread and summed on.
    cells
        Flat indices of the only cells wanted; None: every cell.

    Returns
    -------
    LabourPool
        People within reach (float32 on ``grid``, or one per cell of ``cells``) and the counties
        left out as unknown.

    Notes
    -----
    The coarse grid covers ``grid`` padded by ``radius_km`` (people just outside still count)
    and is resampled bilinearly; the only array of ``grid``'s size is the float32 result.
    """
    within, coarse, unknown = coarse_labour_pool(counties, grid, radius_km=radius_km, urban=urban, places=places,
                                                 coarse_m=coarse_m, place_radius_km=place_radius_km)
    out = resample_aligned(within, grid, Resampling.bilinear, src_transform=coarse.transform, src_crs=coarse.crs,
                           cells=cells)
    return LabourPool(out, unknown)


def coarse_labour_pool(
    counties: gpd.GeoDataFrame, grid: Grid, *, radius_km: float = 60.0, urban: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None, coarse_m: float = 2000.0, place_radius_km: float = 3.0,
) -> tuple[np.ndarray, Grid, list[str]]:
    """The people within reach on the coarse grid :func:`labour_pool` resamples onto ``grid``.

    Parameters
    ----------
    counties, grid, radius_km, urban, places, coarse_m, place_radius_km
        As for :func:`labour_pool`.

    Returns
    -------
    tuple
        People within reach (float32) on the coarse grid, that grid (``grid`` padded by
        the radius), and the counties left out as unknown. A tile of the chunked analysis
        resamples the whole grid's coarse surface, so towns spread over urban areas the
        tile cuts count as they do in memory.
    """
    pad = radius_km * 1000.0
    minx, miny, maxx, maxy = grid.bounds
    coarse = Grid.covering((minx - pad, miny - pad, maxx + pad, maxy + pad), coarse_m)
    surface = dasymetric_population(counties, coarse, urban=urban, places=places, place_radius_km=place_radius_km)
    within = np.asarray(people_within(surface.people, coarse, radius_km), dtype=np.float32)
    return within, coarse, surface.counties_without_population


def _county_population(counties: gpd.GeoDataFrame) -> np.ndarray:
    """County populations as float64 (NaN where unknown); a negative one is an error naming the county."""
    missing = {"geoid", "population"} - set(counties.columns)
    if missing:
        raise LayerSchemaError(f"counties layer is missing column(s) {sorted(missing)}: need geoid and population")
    population = counties["population"].to_numpy(dtype="float64", na_value=np.nan)
    negative = population < 0
    if negative.any():
        geoids = counties["geoid"][negative]
        named = ", ".join(f"{g} ({p:g})" for g, p in zip(geoids, population[negative], strict=True))
        raise LayerSchemaError(f"counties layer, column 'population': negative population in county {named}; "
                               "fix the source or set it to NaN for unknown")
    return population


def _feature_ids(frame: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """Raster of 1 + the row number of the feature covering each cell centre; 0 elsewhere."""
    return burn(zip(frame.geometry, range(1, len(frame) + 1), strict=True), grid, np.zeros(grid.shape, dtype=np.int32))


def _cells_of_features(frame: gpd.GeoDataFrame, grid: Grid) -> list[np.ndarray]:
    """Flat indices of each feature's cells; a feature with none gets the cell of its representative point."""
    ids = _feature_ids(frame, grid).ravel()
    order = np.argsort(ids, kind="stable")
    ends = np.cumsum(np.bincount(ids, minlength=len(frame) + 1))
    cells = [order[start:end] for start, end in pairwise(ends)]
    points = frame.geometry.representative_point()
    rows, cols, inside = grid.cell_of(points.x.to_numpy(), points.y.to_numpy())
    for k in np.flatnonzero(inside & (np.diff(ends) == 0)):
        cells[k] = np.array([rows[k] * grid.width + cols[k]])
    return cells


def _locate_places(
    places: gpd.GeoDataFrame | None, counties: gpd.GeoDataFrame, urban: gpd.GeoDataFrame | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, population, county row and urban row (-1: none) of the places with people."""
    if places is None or len(places) == 0:
        return np.empty((0, 2)), np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    places = places[places["population"].fillna(0).to_numpy(dtype="float64") > 0]
    county = _first_container(places, counties)
    in_urban = _first_container(places, urban) if urban is not None and len(urban) else np.full(len(places), -1)
    xy = np.column_stack([places.geometry.x.to_numpy(), places.geometry.y.to_numpy()])
    return xy, places["population"].to_numpy(dtype="float64"), county, in_urban


def _first_container(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame) -> np.ndarray:
    """Row of the first polygon containing each point, -1 for none."""
    point_idx, polygon_idx = polygons.sindex.query(points.geometry, predicate="within")
    first = np.full(len(points), -1, dtype=np.int64)
    found, at = np.unique(point_idx, return_index=True)
    first[found] = polygon_idx[at]
    return first


def _place_cells(
    cells: np.ndarray, cx: np.ndarray, cy: np.ndarray, xy: np.ndarray, urban_row: int,
    urban_ids: np.ndarray | None, radius_km: float,
) -> np.ndarray:
    """The county cells a place's people go to: its urban area's, else those within the radius, else the nearest."""
    if urban_row >= 0 and urban_ids is not None:
        in_area = cells[urban_ids[cells] == urban_row + 1]
        if len(in_area):
            return in_area
    d2 = (cx - xy[0]) ** 2 + (cy - xy[1]) ** 2
    near = cells[d2 <= (radius_km * 1000.0) ** 2]
    return near if len(near) else cells[[np.argmin(d2)]]
