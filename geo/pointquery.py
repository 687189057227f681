"""Score places straight from the layers, without building the analysis grid.

:class:`PointScorer` loads the layers a configuration needs once, as
:func:`geo.analysis.prepare` does, and builds spatial indexes over them; scoring a
place then costs a few index look-ups. It applies the same exclusions, criteria,
value functions and aggregation as the raster path, and agrees with it within one
cell: the raster path measures from cell centres, this from the place itself.

How each kind of criterion is measured at a point:

* ``distance``: exact distance to the nearest qualifying feature (an STRtree
  nearest query limited to ``cap_km``); 0 inside a polygon.
* ``attribute``: the value of the polygon under the point (the later feature wins
  where polygons overlap, as when they are burnt into the grid).
* ``capacity_within``: the MW of the plants within ``radius_km`` of the point, summed
  exactly from the plant points.
* ``substation_lines``: the line count of the nearest substation, exactly.
* ``people_within``: sampled bilinearly from the 2 km population-within-reach surface
  that the raster path also resamples (:func:`geo.labour.labour_pool`), computed once
  when the scorer loads; a commute radius is far wider than that surface's cells.
* ``height_above_basin``: sampled bilinearly from the same 1 km-or-coarser surface the
  raster path uses (:func:`geo.terrain.height_above_basin_m`), computed once on loading.
* ``slope``: central differences one analysis cell apart of the elevation sampled
  bilinearly, as a grid cell centred on the point would get (the elevation raster is
  read whole on loading: its size, not the number of places, sets that memory).

Exclusions are point-in-polygon tests (with their buffers as ``dwithin`` queries), and
the terrain exclusions use the same slope and height as the criteria.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from scipy.spatial import cKDTree

from geo.aggregate import aggregate
from geo.analysis import _applicable_criteria, _coverage, _load_layers, _study_area
from geo.config import Config, Criterion
from geo.criteria import select_features
from geo.errors import ConfigError, LayerSchemaError
from geo.grid import Grid, raster_cell_m
from geo.gridstrength import lines_at_substations
from geo.labour import labour_pool
from geo.pointexclusions import PointExclusions
from geo.pointsample import NearestFeature, RasterSampler, Within
from geo.provenance import Provenance
from geo.store import LayerStore
from geo.terrain import MIN_BASIN_CELL_M, height_above_basin_m
from geo.types import ANALYSIS_CRS

log = logging.getLogger(__name__)

#: Raw value of one criterion at points (x, y in the analysis CRS).
Measure = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: The coarse cell (m) the labour pool is summed on, as in :func:`geo.labour.labour_pool`.
LABOUR_CELL_M = 2000.0


@dataclass
class PointScores:
    """What :meth:`PointScorer.score_xy` finds at each point, as parallel arrays.

    ``bits`` is the exclusion bitmask of :class:`geo.exclusions.ExclusionMap` (bit ``i``
    for ``causes[i]``); ``raw`` and ``subscores`` hold each criterion's raw value and
    0-1 sub-score (NaN where unknown, and everywhere outside the states).
    """

    bits: np.ndarray
    outside: np.ndarray
    raw: dict[str, np.ndarray] = field(default_factory=dict)
    subscores: dict[str, np.ndarray] = field(default_factory=dict)


class PointScorer:
    """The analysis of one configuration at arbitrary points, from the stored layers.

    Build it with :meth:`load`; then :meth:`score_xy` scores arrays of points.
    """

    def __init__(self, config: Config, criteria: list[Criterion], measures: dict[str, Measure],
                 exclusions: PointExclusions, provenance: dict[str, Provenance], skipped: list[str]) -> None:
        self.config = config
        self.criteria = criteria
        self.measures = measures
        self.exclusions = exclusions
        self.provenance = provenance
        self.skipped = skipped
        configured = config.weights()
        total = sum(configured[c.name] for c in criteria)
        self.weights = {c.name: configured[c.name] / total for c in criteria}

    @classmethod
    def load(cls, config: Config, store: LayerStore) -> PointScorer:
        """Read the layers ``config`` needs from ``store`` and index them for point queries.

        Parameters
        ----------
        config
            The configuration; its resolution sets the spacing slope is taken over.
        store
            The layer store.

        Returns
        -------
        PointScorer
            Ready to score points.

        Raises
        ------
        ConfigError, LayerNotFoundError, LayerSchemaError
            As :func:`geo.analysis.prepare` raises them, for the same configurations and stores.
        """
        skipped: list[str] = []
        layers, provenance, elevation = _load_layers(config, store, skipped)
        study_area = _study_area(config, layers["states"])
        criteria = _applicable_criteria(config, layers, elevation, skipped)
        if not criteria or sum(config.weights()[c.name] for c in criteria) <= 0:
            raise ConfigError("no criterion with a positive weight has its layers in the store")
        bounds = tuple(study_area.total_bounds)
        terrain = _Terrain(elevation, bounds, config.resolution_m)
        exclusions = PointExclusions.build(config, study_area, layers, _coverage(provenance.get("federal_land")),
                                           elevation, terrain.slope, terrain.height, skipped)
        measures = {c.name: _blank_outside_coverage(_measure(c, layers, terrain, bounds), c, provenance)
                    for c in criteria}
        return cls(config, criteria, measures, exclusions, provenance, skipped)

    @property
    def causes(self) -> list[str]:
        """Names of the exclusion causes, in bit order."""
        return self.exclusions.causes

    @property
    def descriptions(self) -> dict[str, str]:
        """Each exclusion cause in words."""
        return self.exclusions.descriptions

    @property
    def caveats(self) -> dict[str, str]:
        """The caveat of every layer used that is synthetic, a proxy, partial or coarse."""
        return {name: p.caveat for name, p in self.provenance.items() if p.caveat}

    @property
    def synthetic(self) -> bool:
        """Whether any layer used is synthetic demo data."""
        return any(p.synthetic for p in self.provenance.values())

    def aggregate(self, subscores: dict[str, np.ndarray]) -> np.ndarray:
        """The score (float32, 0-1) from sub-scores, weighted and combined as the raster path combines them.

        Parameters
        ----------
        subscores
            Sub-scores (0-1, NaN where unknown) by criterion name, one value per point.

        Returns
        -------
        numpy.ndarray
            The score per point, weights renormalised over the known sub-scores; NaN where none is known.
        """
        return aggregate(subscores, self.weights, self.config.aggregation.method)

    def score_xy(self, x: np.ndarray, y: np.ndarray) -> PointScores:
        """Exclusions, raw values and sub-scores at points of the analysis CRS.

        Parameters
        ----------
        x, y
            Coordinates (EPSG:5070 metres).

        Returns
        -------
        PointScores
            Places outside the states get no values (NaN), never a capped distance.
        """
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        bits, outside = self.exclusions.at(x, y)
        result = PointScores(bits, outside)
        inside = ~outside
        for criterion in self.criteria:
            raw = np.full(len(x), np.nan, dtype=np.float32)
            if inside.any():
                raw[inside] = self.measures[criterion.name](x[inside], y[inside])
            result.raw[criterion.name] = raw
            result.subscores[criterion.name] = criterion.value_function(raw)
        return result


class _Terrain:
    """Slope and height above the basin floor at points, from the elevation layer (read when first asked for)."""

    def __init__(self, elevation: Path | None, bounds: tuple[float, float, float, float], resolution: float) -> None:
        self.elevation = elevation
        self.bounds = bounds
        self.resolution = resolution
        self._dem: RasterSampler | None = None
        self._heights: dict[float, Measure] = {}

    def slope(self) -> Measure:
        """Slope (degrees) a grid cell centred on each point would get; reads the elevation raster whole."""
        if self._dem is None:
            assert self.elevation is not None
            with rasterio.open(self.elevation) as src:
                values = src.read(1, masked=True).astype(np.float32).filled(np.nan)
                self._dem = RasterSampler(values, src.transform, src.crs.to_string(), ANALYSIS_CRS)
        dem, spacing = self._dem, self.resolution
        return lambda x, y: dem.slope_degrees(x, y, spacing)

    def height(self, radius_km: float) -> Measure:
        """Height (m) above the lowest ground within ``radius_km``, on the raster path's working surface."""
        if radius_km not in self._heights:
            assert self.elevation is not None
            cell = max(raster_cell_m(self.elevation), MIN_BASIN_CELL_M, self.resolution)
            work = Grid.covering(self.bounds, cell)
            surface = height_above_basin_m(self.elevation, work, radius_km).astype(np.float32)
            self._heights[radius_km] = RasterSampler(surface, work.transform, work.crs, ANALYSIS_CRS).sample
        return self._heights[radius_km]


def _measure(criterion: Criterion, layers: dict[str, gpd.GeoDataFrame], terrain: _Terrain,
             bounds: tuple[float, float, float, float]) -> Measure:
    """How to take ``criterion``'s raw value at points."""
    if criterion.measure == "slope":
        return terrain.slope()
    if criterion.measure == "height_above_basin":
        return terrain.height(criterion.radius_km)
    if criterion.measure == "people_within":
        return _labour_measure(criterion, layers, bounds)
    if criterion.measure == "capacity_within":
        return _capacity_measure(layers["power_plants"], criterion.radius_km)
    if criterion.measure == "substation_lines":
        return _substation_lines_measure(layers["substations"], layers["transmission"],
                                         criterion.min_voltage_kv or 0.0, criterion.radius_km)
    if criterion.measure == "attribute":
        return _attribute_measure(criterion, layers)
    frames = [select_features(criterion, name, layers[name]) for name in criterion.layers if name in layers]
    if not any(len(frame) for frame in frames):
        log.warning("criterion %s: no feature passes its filters; every place is %g km away",
                    criterion.name, criterion.cap_km)
    geometries = np.concatenate([frame.geometry.to_numpy() for frame in frames])
    return NearestFeature(geometries, criterion.cap_km).distance_km


def _attribute_measure(criterion: Criterion, layers: dict[str, gpd.GeoDataFrame]) -> Measure:
    """The attribute of the polygon under each point; a later layer overrides an earlier one where it has a value."""
    lookups = []
    for name in criterion.layers:
        if name not in layers:
            continue
        frame = layers[name]
        values = frame[criterion.attribute].to_numpy(dtype="float64", na_value=np.nan)
        known = ~np.isnan(values)
        lookups.append((Within(frame.geometry.to_numpy()[known]), values[known]))

    def measure(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.full(len(x), np.nan, dtype=np.float64)
        for within, values in lookups:
            point, feature = within.hits(x, y)
            last = np.full(len(x), -1, dtype=np.int64)
            np.maximum.at(last, point, feature)  # the later feature wins, as when burnt in order
            found = last >= 0
            out[found] = values[last[found]]
        return out.astype(np.float32)
    return measure


def _labour_measure(criterion: Criterion, layers: dict[str, gpd.GeoDataFrame],
                    bounds: tuple[float, float, float, float]) -> Measure:
    """People within the commute radius, sampled from the surface the raster path resamples."""
    coarse = Grid.covering(bounds, LABOUR_CELL_M)
    pool = labour_pool(layers["county_stats"], coarse, radius_km=criterion.radius_km, urban=layers.get("urban"),
                       places=layers.get("places"), coarse_m=LABOUR_CELL_M)
    return RasterSampler(pool.people_within, coarse.transform, coarse.crs, ANALYSIS_CRS).sample


def _capacity_measure(plants: gpd.GeoDataFrame, radius_km: float) -> Measure:
    """MW of the plants within ``radius_km`` of each point, summed exactly."""
    capacity = plants["capacity_mw"].to_numpy(dtype="float64", na_value=np.nan)
    if (capacity < 0).any():
        raise LayerSchemaError("power_plants layer, column 'capacity_mw': negative capacity; capacities are MW, "
                               "0 or more")
    usable = capacity > 0
    xy = np.column_stack([plants.geometry.x.to_numpy()[usable], plants.geometry.y.to_numpy()[usable]])
    mw = capacity[usable]

    def measure(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        total = np.zeros(len(x), dtype=np.float64)
        if len(mw) and len(x):
            reached = cKDTree(np.column_stack([x, y])).query_ball_point(xy, r=radius_km * 1000.0,
                                                                        return_sorted=False)
            counts = [len(r) for r in reached]
            if sum(counts):
                np.add.at(total, np.concatenate(reached).astype(np.int64), np.repeat(mw, counts))
        return total.astype(np.float32)
    return measure


def _substation_lines_measure(substations: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, min_voltage_kv: float,
                              within_km: float) -> Measure:
    """Lines of at least ``min_voltage_kv`` within ``within_km`` of the substation nearest each point."""
    counts = lines_at_substations(substations, lines, min_voltage_kv=min_voltage_kv, within_km=within_km)
    tree = cKDTree(np.column_stack([substations.geometry.x.to_numpy(), substations.geometry.y.to_numpy()])) \
        if len(substations) else None

    def measure(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if tree is None:
            return np.full(len(x), np.nan, dtype=np.float32)
        _, nearest = tree.query(np.column_stack([x, y]))
        return counts[nearest].astype(np.float32)
    return measure


def _blank_outside_coverage(measure: Measure, criterion: Criterion, provenance: dict[str, Provenance]) -> Measure:
    """NaN where a criterion's only layer says it has no data, as the raster path blanks it."""
    coverage = _coverage(provenance.get(criterion.layers[0])) if len(criterion.layers) == 1 else None
    if coverage is None:
        return measure
    area = coverage.iloc[0]
    shapely.prepare(area)

    def blanked(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        values = measure(x, y)
        values[~shapely.contains_xy(area, x, y)] = np.nan
        return values
    return blanked
