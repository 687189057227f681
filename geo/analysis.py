"""The analysis: layers from the store onto the grid, exclusions, criteria and cell scores.

:func:`prepare` does the expensive part once (rasterizing, distance transforms,
slope) and returns an :class:`Analysis`; scoring cells for a set of weights and
finding sites are cheap afterwards, which is what sensitivity analysis and scenario
comparison rely on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely import wkt

from geo.aggregate import Method, aggregate
from geo.blocks import CELL_BLOCK, for_each_block
from geo.config import Config, Criterion, Exclusion
from geo.criteria import criterion_raw
from geo.errors import ConfigError, LayerNotFoundError
from geo.exclusions import ExclusionMap, build_exclusions
from geo.grid import Grid, cells_of, rasterize_mask
from geo.provenance import Provenance
from geo.rastercache import RunRasters
from geo.sites import buildable_land, find_sites
from geo.store import LayerStore
from geo.terrain import describe_elevation, slope_supported
from geo.types import ANALYSIS_CRS

log = logging.getLogger(__name__)

StepCallback = Callable[[str], None]


@dataclass
class Analysis:
    """Everything computed once per configuration and set of layers.

    ``eligible`` lists the flat indices of cells no exclusion removes (ascending); ``raw``
    holds each active criterion's raw value on those cells only (float16, or float32 for
    people and MW; NaN where unknown) and ``subscores`` their 0-1 sub-scores (float16),
    both aligned with ``eligible``. ``kept_cells`` are other cells whose raw values
    ``kept_raw`` holds, for the places :func:`prepare` was asked to keep.
    """

    config: Config
    grid: Grid
    exclusions: ExclusionMap
    criteria: list[Criterion]
    raw: dict[str, np.ndarray]
    layers: dict[str, gpd.GeoDataFrame]
    provenance: dict[str, Provenance]
    eligible: np.ndarray
    subscores: dict[str, np.ndarray]
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    terrain: str = "no terrain measure"
    #: How many distance and terrain rasters the run computed, and how many times it reused one.
    raster_counts: dict[str, int] = field(default_factory=dict)
    kept_cells: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    kept_raw: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def weights(self) -> dict[str, float]:
        """Normalised weights of the active criteria."""
        configured = self.config.weights()
        active = {c.name: configured[c.name] for c in self.criteria}
        total = sum(active.values())
        return {name: w / total for name, w in active.items()}

    @property
    def synthetic(self) -> bool:
        """Whether any layer used is synthetic demo data."""
        return any(p.synthetic for p in self.provenance.values())

    def criterion(self, name: str) -> Criterion:
        """The active criterion called ``name``.

        Parameters
        ----------
        name
            A criterion name from the configuration.

        Returns
        -------
        Criterion
            Its configuration.

        Raises
        ------
        StopIteration
            No active criterion has that name.
        """
        return next(c for c in self.criteria if c.name == name)

    def cell_scores(self, weights: Mapping[str, float] | None = None, method: Method | None = None) -> np.ndarray:
        """Aggregate score of every eligible cell (aligned with ``eligible``).

        Parameters
        ----------
        weights
            Weight by criterion name; None: the configuration's normalised weights.
        method
            ``weighted_sum`` or ``weighted_product``; None: the configuration's aggregation.

        Returns
        -------
        numpy.ndarray
            float32 scores in [0, 1], one per eligible cell; NaN where no sub-score is known.
        """
        return aggregate(self.subscores, weights or self.weights, method or self.config.aggregation.method)

    def site_labels(self, cell_scores: np.ndarray) -> np.ndarray:
        """Candidate sites (int32 labels on the full grid) of the cells scoring at least the site threshold.

        Buildable land is found block by block, skipping blocks without a suitable cell
        (:func:`geo.sites.buildable_land`), so the cost follows the land that can hold
        sites rather than the whole grid.

        Parameters
        ----------
        cell_scores
            Scores of the eligible cells, as :meth:`cell_scores` returns them.

        Returns
        -------
        numpy.ndarray
            int32 site labels on the full grid, 0 outside every site.
        """
        rules = self.config.sites
        suitable = np.zeros(self.grid.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            suitable.ravel()[self.eligible[cell_scores >= rules.min_cell_score]] = True
        buildable = buildable_land(suitable, self.grid.resolution, rules.min_core_width_m)
        del suitable
        return find_sites(buildable, self.grid, rules)

    def score_grid(self, cell_scores: np.ndarray) -> np.ndarray:
        """Cell scores spread onto the full grid (NaN where excluded).

        Parameters
        ----------
        cell_scores
            Scores of the eligible cells, as :meth:`cell_scores` returns them.

        Returns
        -------
        numpy.ndarray
            float32 scores on the full grid.
        """
        grid = np.full(self.grid.shape, np.nan, dtype=np.float32)
        grid.ravel()[self.eligible] = cell_scores
        return grid


@contextmanager
def timed_step(name: str, timings: dict[str, float], on_step: StepCallback | None = None) -> Iterator[None]:
    """Announce a step of a run, then record how long it took.

    Parameters
    ----------
    name
        The step, as progress and the run record name it.
    timings
        Where the step's wall time (s, 3 decimals) is recorded under ``name``.
    on_step
        Called with ``name`` as the step starts.

    Yields
    ------
    None
        Control, for the step's work.
    """
    if on_step:
        on_step(name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)
    log.info("%s took %.2f s", name, timings[name])


def prepare(config: Config, store: LayerStore, *, on_step: StepCallback | None = None,
            places: gpd.GeoDataFrame | None = None) -> Analysis:
    """Load the layers a configuration needs and compute exclusions and criteria on the grid.

    Criteria are computed only where they are needed: on the eligible cells, and on the
    cells of ``places``.

    Parameters
    ----------
    config
        The run's configuration.
    store
        The layer store to read from.
    on_step
        Called with the name of each step (loading layers, exclusions, each criterion) as it starts.
    places
        Points or polygons (any CRS) whose cells keep their raw values even where excluded,
        for :func:`geo.query.score_places`; None: none.

    Returns
    -------
    Analysis
        The layers, grid, exclusions, raw values and sub-scores of the run.

    Raises
    ------
    ConfigError
        A required layer of a criterion or exclusion is not in the store.
    LayerSchemaError
        A stored layer does not match its schema.
    """
    timings: dict[str, float] = {}
    skipped: list[str] = []

    step = partial(timed_step, timings=timings, on_step=on_step)

    with step("load layers"):
        layers, provenance, elevation = _load_layers(config, store, skipped)
        study_area = _study_area(config, layers["states"])
        grid = Grid.covering(tuple(study_area.total_bounds), config.resolution_m)
        log.info("grid %d x %d cells at %g m", grid.width, grid.height, grid.resolution)
    criteria = _applicable_criteria(config, layers, elevation, skipped)
    if not criteria or sum(config.weights()[c.name] for c in criteria) <= 0:
        raise ConfigError("no criterion with a positive weight has its layers in the store")

    rasters = RunRasters(grid, elevation)  # each distance or terrain raster once, whoever asks for it
    with step("exclusions"):
        coverage = _coverage(provenance.get("federal_land"))
        exclusions = build_exclusions(
            config, study_area, layers, grid,
            ownership_coverage=coverage, elevation_path=elevation, skipped=skipped, rasters=rasters,
        )
    eligible = np.flatnonzero(exclusions.eligible)
    kept = np.empty(0, dtype=np.int64)
    if places is not None and len(places):
        kept = np.setdiff1d(np.concatenate([cells_of(g, grid) for g in places.to_crs(grid.crs).geometry]), eligible)
    wanted = eligible if kept.size == 0 else np.union1d(eligible, kept)
    is_kept = np.isin(wanted, kept, assume_unique=True)
    rasters.restrict(wanted)
    raw: dict[str, np.ndarray] = {}
    kept_raw: dict[str, np.ndarray] = {}
    for criterion in criteria:
        with step(f"criterion {criterion.name}"):
            values = criterion_raw(criterion, layers, grid, elevation, rasters=rasters, cells=wanted)
            values = _blank_outside_coverage(values, criterion, provenance, grid, cells=wanted)
            if kept.size:
                values, kept_raw[criterion.name] = values[~is_kept], values[is_kept]
            raw[criterion.name] = values
    log.info("rasters computed and reused: %s", rasters.computed)
    raster_counts = rasters.computed
    del rasters
    with step("sub-scores"):
        subscores = {c.name: _subscores(c, raw[c.name]) for c in criteria}
    return Analysis(
        config=config, grid=grid, exclusions=exclusions, criteria=criteria, raw=raw, layers=layers,
        provenance=provenance, eligible=eligible,
        subscores=subscores, skipped=skipped, warnings=_shared_sources(criteria, provenance), timings=timings,
        terrain=_terrain_note(config, criteria, exclusions, elevation), raster_counts=raster_counts,
        kept_cells=kept, kept_raw=kept_raw,
    )


def _terrain_note(config: Config, criteria: list[Criterion], exclusions: ExclusionMap, elevation: Path | None) -> str:
    """Which terrain measure the run used, and which it could not, in one line for every output."""
    if elevation is None:
        return "no terrain measure: no elevation layer in the store"
    source = describe_elevation(elevation)
    used: list[Criterion | Exclusion] = [c for c in criteria if c.measure in ("slope", "height_above_basin")]
    used += [e for e in config.exclusions if e.layer == "elevation" and e.name in exclusions.causes]
    parts = []
    for rule in used:
        kind = "criterion" if isinstance(rule, Criterion) else "exclusion"
        measure = "slope" if getattr(rule, "measure", None) == "slope" or getattr(rule, "max_slope_deg", None) else (
            f"height above the basin floor within {rule.radius_km:g} km")
        parts.append(f"{kind} {rule.name}: {measure}")
    if not parts:
        return f"no terrain measure applied ({source} in the store)"
    note = f"{'; '.join(parts)} (from {source})"
    if not slope_supported(elevation):
        note += f"; slope not used: {source} is too coarse for it"
    return note


def _shared_sources(criteria: list[Criterion], provenance: Mapping[str, Provenance]) -> list[str]:
    """Warnings for pairs of criteria whose layers all come from the same source file (it counts twice)."""
    def origin(criterion: Criterion) -> tuple[frozenset[str], str, str | None] | None:
        """The source files a criterion reads and what it measures of them (other columns count apart)."""
        records = [provenance[name] for name in criterion.layers if name in provenance]
        checksums = [r.source_checksum for r in records if r.source_checksum is not None]
        if not records or len(checksums) < len(records):
            return None
        return frozenset(checksums), criterion.measure, criterion.attribute

    warnings = []
    for i, first in enumerate(criteria):
        for second in criteria[i + 1:]:
            if origin(first) is not None and origin(first) == origin(second):
                layers = sorted({n for n in first.layers + second.layers if n in provenance})
                warnings.append(
                    f"criteria {first.name!r} and {second.name!r} are computed from the same source file "
                    f"(layers {', '.join(layers)}), so it counts twice; consider dropping one or lowering its weight"
                )
    return warnings


def _subscores(criterion: Criterion, raw_flat: np.ndarray, eligible: np.ndarray | None = None,
               chunk: int = CELL_BLOCK) -> np.ndarray:
    """A criterion's sub-scores on the eligible cells (float16), computed chunk by chunk to stay in cache.

    ``raw_flat`` is on the whole grid, or already on the eligible cells when ``eligible`` is None.
    Float16 raw values are scored through a table of the value function at every float16
    value: the same sub-scores, as value functions score each value on its own.
    """
    size = raw_flat.size if eligible is None else eligible.size
    out = np.empty(size, dtype=np.float16)
    table = None
    if raw_flat.dtype == np.float16 and size > 1 << 16:
        table = criterion.value_function(np.arange(1 << 16, dtype=np.uint16).view(np.float16)).astype(np.float16)

    def score(block: slice) -> None:
        part = raw_flat[block] if eligible is None else raw_flat[eligible[block]]
        out[block] = criterion.value_function(part) if table is None else table[part.view(np.uint16)]

    for_each_block(size, score, chunk)
    return out


def _needed_layers(config: Config) -> dict[str, str | None]:
    """Layers the configuration reads, each with what requires it (None: optional)."""
    needed: dict[str, str | None] = {"states": "the study area", "counties": "site descriptions"}
    needed["federal_land"] = "the federal-land rule (land.federal_only)" if config.land.federal_only else None
    needed["tribal_land"] = None
    for c in config.criteria:
        for layer in c.layers:
            required = c.required and len(c.layers) == 1
            needed[layer] = needed.get(layer) or (f"criterion {c.name!r}" if required else None)
    for e in config.exclusions:
        needed[e.layer] = needed.get(e.layer) or (f"exclusion {e.name!r}" if e.required else None)
    for layer in ("transmission", "substations", "places"):
        needed.setdefault(layer, None)  # used to describe sites when present
    return needed


def _load_layers(config: Config, store: LayerStore, skipped: list[str]
                 ) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Provenance], Path | None]:
    layers: dict[str, gpd.GeoDataFrame] = {}
    provenance: dict[str, Provenance] = {}
    elevation: Path | None = None
    for layer, required_by in _needed_layers(config).items():
        if not store.has(layer):
            if required_by:
                raise LayerNotFoundError(
                    f"{required_by} (configuration: {config.origin}) needs layer {layer!r}, "
                    f"which the store at {store.root} does not hold; "
                    f"run `geo refresh --layer {layer}` or drop it from the configuration"
                )
            continue
        provenance[layer] = store.provenance(layer)
        if layer == "elevation":
            elevation = store.data_path(layer)
            continue
        layers[layer] = store.read(layer).to_crs(ANALYSIS_CRS)
    return layers, provenance, elevation


def _study_area(config: Config, states: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    missing = sorted(set(config.states) - set(states["state"]))
    if missing:
        raise ConfigError(f"states {missing} are not in the 'states' layer (it holds {sorted(set(states['state']))})")
    return states[states["state"].isin(config.states)]


def _applicable_criteria(config: Config, layers: Mapping[str, gpd.GeoDataFrame], elevation: Path | None,
                         skipped: list[str]) -> list[Criterion]:
    """The criteria that can be computed; a fallback only where the criterion it stands in for cannot."""
    usable = {c.name: _criterion_available(c, layers, elevation, skipped, config.origin) for c in config.criteria}
    chosen = []
    for c in config.criteria:
        if usable[c.name] and c.fallback_for is not None and usable.get(c.fallback_for, False):
            skipped.append(f"criterion {c.name!r}: not needed, {c.fallback_for!r} applies")
        elif usable[c.name]:
            chosen.append(c)
    return chosen


def _criterion_available(c: Criterion, layers: Mapping[str, gpd.GeoDataFrame], elevation: Path | None,
                         skipped: list[str], config_origin: str) -> bool:
    if c.measure == "slope" and elevation is not None and not slope_supported(elevation):
        skipped.append(f"criterion {c.name!r}: {describe_elevation(elevation)} is too coarse for slope; "
                       "criterion not applied")
        return False
    present = [name for name in c.layers if (elevation is not None if name == "elevation" else name in layers)]
    if present:
        if len(present) < len(c.layers):
            absent = sorted(set(c.layers) - set(present))
            skipped.append(f"criterion {c.name!r}: uses {present}; {absent} not in the store")
        return True
    if c.required:
        raise LayerNotFoundError(f"criterion {c.name!r} (configuration: {config_origin}) needs layer(s) "
                                 f"{c.layers}, which are not in the store or not usable")
    skipped.append(f"criterion {c.name!r}: layer(s) {c.layers} not usable; criterion not applied")
    return False


def _coverage(record: Provenance | None) -> gpd.GeoSeries | None:
    if record is None or record.coverage_wkt is None:
        return None
    return gpd.GeoSeries([wkt.loads(record.coverage_wkt)], crs="EPSG:4326").to_crs(ANALYSIS_CRS)


def _blank_outside_coverage(raw: np.ndarray, criterion: Criterion, provenance: Mapping[str, Provenance],
                            grid: Grid, *, cells: np.ndarray | None = None) -> np.ndarray:
    """Raw values set to NaN where a criterion's only layer says it has no data (a copy if ``raw`` is shared).

    ``raw`` is on the whole grid, or at ``cells`` (flat indices) when they are given.
    """
    if len(criterion.layers) != 1:
        return raw
    coverage = _coverage(provenance.get(criterion.layers[0]))
    if coverage is not None:
        covered = rasterize_mask(gpd.GeoDataFrame(geometry=coverage), grid)
        raw = raw if raw.flags.writeable else raw.copy()
        raw[~(covered if cells is None else covered.ravel()[cells])] = np.nan
    return raw
