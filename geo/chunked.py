"""The chunked analysis: the in-memory run of :mod:`geo.analysis`, tile by tile on a Dask cluster.

1. Every tile (:mod:`geo.tiles`) computes its exclusion bits, raw criterion values and
   cell scores on its own window; the results go to a Zarr store in a work folder, one
   chunk per tile.
2. Buildable land (:func:`geo.sites.buildable_core`) is found blockwise with a halo as
   wide as the core rule needs, and its contiguous regions are labelled across tile
   borders (:mod:`geo.regions`, dask-image's algorithm on ``dask.delayed`` blocks).
3. Each region of at least the minimum area is split (:func:`geo.sites.find_sites`) and
   measured on its own window, read from the store.
4. The site table is made from the per-site figures by :func:`geo.sitetable.site_table`, as
   the in-memory path makes it. When asked, each region also reduces its sites' cells to
   what re-ranking them under new weights needs (:class:`geo.reranking.SiteTerms`), and the
   parts become one :class:`~geo.reranking.SiteReranker` of the table's rows.

Nothing of the grid's size is ever gathered in one process, except an overview for
the map and report (:func:`overview`), which is the full grid only when it is small.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import zarr
from affine import Affine

from geo.analysis import (
    Analysis,
    StepCallback,
    _applicable_criteria,
    _coverage,
    _load_layers,
    _shared_sources,
    _study_area,
    _terrain_note,
    timed_step,
)
from geo.config import Config
from geo.errors import ConfigError
from geo.exclusions import ExclusionMap, build_exclusions
from geo.grid import Grid
from geo.regions import label_regions, region_extents
from geo.reranking import SiteReranker, SiteTerms
from geo.sites import buildable_core, find_sites, label_stats
from geo.sitetable import site_polygons, site_table
from geo.store import LayerStore
from geo.tiles import TileInputs, compute_tile, raw_dtype, tile_windows

log = logging.getLogger(__name__)

#: Default tile edge in cells.
DEFAULT_TILE_SIZE = 4096
#: Largest overview (cells) handed to the map, report and per-state summary.
OVERVIEW_CELLS = 25_000_000


@dataclass(frozen=True)
class Footprint:
    """The cells of the sites found in one region: a packed boolean window at ``row``, ``col``."""

    row: int
    col: int
    shape: tuple[int, int]
    packed: np.ndarray

    def mask(self) -> np.ndarray:
        """The window's cells that lie in a site.

        Returns
        -------
        numpy.ndarray
            Boolean array of ``shape``.
        """
        return np.unpackbits(self.packed, count=self.shape[0] * self.shape[1]).reshape(self.shape).view(bool)


@dataclass
class ChunkedAnalysis:
    """The outcome of a chunked run: the site table, and the rasters in a Zarr store.

    ``analysis`` carries the configuration, layers, criteria and exclusion causes, but
    no array of the grid's size: its ``exclusions.bits`` is empty and its ``raw`` and
    ``subscores`` hold nothing. ``cause_cells`` counts the cells each cause removes.
    ``reranker`` re-ranks the rows of ``sites`` under new weights (when asked for).
    """

    analysis: Analysis
    sites: gpd.GeoDataFrame
    zarr_path: Path
    tile_size: int
    eligible_cells: int
    cause_cells: dict[str, int]
    site_count: int
    footprints: list[Footprint] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    reranker: SiteReranker | None = None

    def array(self, name: str) -> da.Array:
        """One raster of the run as a Dask array, read chunk by chunk from the Zarr store.

        Parameters
        ----------
        name
            ``bits``, ``score``, ``labels`` or ``raw/<criterion>``.

        Returns
        -------
        dask.array.Array
            The raster, one chunk per tile.
        """
        return da.from_zarr(str(self.zarr_path), component=name)


def check_tile_size(tile_size: int) -> int:
    """A valid tile size, or a :class:`~geo.errors.ConfigError` naming the bad value.

    Parameters
    ----------
    tile_size
        Tile edge in cells.

    Returns
    -------
    int
        ``tile_size`` itself.
    """
    if isinstance(tile_size, bool) or not isinstance(tile_size, int | np.integer) or tile_size < 1:
        raise ConfigError(f"tile size must be a whole number of cells of at least 1, got {tile_size!r}")
    return int(tile_size)


def analyse_chunked(config: Config, store: LayerStore, workdir: Path, *, tile_size: int = DEFAULT_TILE_SIZE,
                    rerank: bool = False, on_step: StepCallback | None = None) -> ChunkedAnalysis:
    """Run the analysis tile by tile on the current Dask client (or the local scheduler).

    Parameters
    ----------
    config, store
        The configuration and layer store, as for :func:`geo.analysis.prepare`.
    workdir
        An empty folder for the Zarr store of intermediate rasters; it must be reachable
        by every worker (a local folder for a local cluster).
    tile_size
        Tile edge in cells; larger than the grid gives one tile.
    rerank
        Also keep what re-ranking the sites under new weights needs (``reranker``): per
        site and pattern of known criteria, sub-score sums (a weighted sum), or the
        logarithms of the sites' cells (a weighted product).
    on_step
        Called with the name of each step as it starts.

    Returns
    -------
    ChunkedAnalysis
        The site table, the rasters in ``workdir`` and, with ``rerank``, the re-ranker.

    Raises
    ------
    ConfigError
        A bad tile size, or any configuration problem :func:`geo.analysis.prepare` raises.
    """
    tile_size = check_tile_size(tile_size)
    timings: dict[str, float] = {}

    step = partial(timed_step, timings=timings, on_step=on_step)

    with step("load layers"):
        inputs, analysis = tile_inputs(config, store)
    grid = inputs.grid
    log.info("grid %d x %d cells at %g m in tiles of %d cells", grid.width, grid.height, grid.resolution, tile_size)
    zarr_path = Path(workdir) / "rasters.zarr"
    with step(f"tiles ({_tile_count(grid, tile_size)})"):
        _write_tiles(inputs, analysis.exclusions, tile_size, zarr_path)
    with step("label regions"):
        count = _label_regions(zarr_path, config, grid)
    with step("split and describe sites"):
        table, polygons, x, y, footprints, terms = _describe_regions(zarr_path, inputs, count, rerank)
        sites, order = site_table(analysis, table, polygons, x, y)
        reranker = SiteReranker.from_terms(SiteTerms.join(terms, order)) if rerank else None
    with step("count exclusions"):
        cause_cells, eligible_cells = _count_causes(zarr_path, analysis.exclusions.causes)
    analysis.timings.update(timings)
    return ChunkedAnalysis(analysis, sites, zarr_path, tile_size, eligible_cells, cause_cells, len(sites),
                            footprints, timings, reranker)


def tile_inputs(config: Config, store: LayerStore) -> tuple[TileInputs, Analysis]:
    """The inputs every tile shares, and the analysis without arrays of the grid's size.

    Parameters
    ----------
    config, store
        The configuration and layer store, as for :func:`geo.analysis.prepare`.

    Returns
    -------
    tuple[TileInputs, Analysis]
        The tiles' inputs (layers in the grid CRS with their spatial indexes built, criteria,
        weights, the labour surfaces) and the analysis: configuration, grid, criteria,
        exclusion causes, provenance and notes, with empty rasters.

    Raises
    ------
    ConfigError
        No criterion with a positive weight has its layers in the store.
    """
    skipped: list[str] = []
    layers, provenance, elevation = _load_layers(config, store, skipped)
    study_area = _study_area(config, layers["states"])
    grid = Grid.covering(tuple(study_area.total_bounds), config.resolution_m)
    criteria = _applicable_criteria(config, layers, elevation, skipped)
    if not criteria or sum(config.weights()[c.name] for c in criteria) <= 0:
        raise ConfigError("no criterion with a positive weight has its layers in the store")
    coverage = _coverage(provenance.get("federal_land"))
    corner = Grid(grid.transform, 3, 3, grid.crs)  # causes, descriptions and skipped rules, without the grid
    causes = build_exclusions(config, study_area, layers, corner, ownership_coverage=coverage,
                              elevation_path=elevation, skipped=skipped)
    exclusions = ExclusionMap(np.zeros((0, 0), dtype=causes.bits.dtype), causes.causes, causes.descriptions)
    for frame in [study_area, *layers.values()]:
        frame.sindex  # noqa: B018  built once here, shipped with the frames
    analysis = Analysis(
        config=config, grid=grid, exclusions=exclusions, criteria=criteria, raw={}, layers=layers,
        provenance=provenance, eligible=np.empty(0, dtype=np.int64), subscores={}, skipped=skipped,
        warnings=_shared_sources(criteria, provenance),
        terrain=_terrain_note(config, criteria, exclusions, elevation),
    )
    inputs = TileInputs(config, grid, study_area, layers, provenance, elevation, coverage, criteria,
                        analysis.weights)
    return inputs, analysis


def _tile_count(grid: Grid, tile_size: int) -> int:
    return math.ceil(grid.height / tile_size) * math.ceil(grid.width / tile_size)


def _write_tiles(inputs: TileInputs, exclusions: ExclusionMap, tile_size: int, zarr_path: Path) -> None:
    """Compute every tile and store its rasters in the Zarr store, each tile's chunks by the task that made them.

    A task writes its own chunks before it ends, so a worker holds one tile's results at
    a time however far ahead of the writes the scheduler runs.
    """
    shared = _share(inputs)
    windows = [tile for row in tile_windows(inputs.grid, tile_size) for tile in row]
    dtypes = {"bits": exclusions.bits.dtype, "score": np.dtype(np.float32)}
    dtypes.update({f"raw/{c.name}": raw_dtype(c) for c in inputs.criteria})
    chunks = (min(tile_size, inputs.grid.height), min(tile_size, inputs.grid.width))
    group = zarr.open_group(str(zarr_path), mode="w")
    for name, dtype in dtypes.items():
        group.create_array(name, shape=inputs.grid.shape, chunks=chunks, dtype=dtype,
                           fill_value=0 if name == "bits" else np.nan)
    dask.compute(*(dask.delayed(_compute_and_store, pure=True)(shared, tile, str(zarr_path)) for tile in windows))


def _compute_and_store(inputs: TileInputs, tile: tuple[slice, slice], zarr_path: str) -> None:
    """One tile's rasters, written to their chunks of the Zarr store."""
    for name, values in compute_tile(inputs, tile).items():
        zarr.open_array(zarr_path, path=name, mode="r+")[tile] = values


def _share(inputs: TileInputs) -> object:
    """The inputs scattered once to every worker when a distributed client is active (else as they are)."""
    try:
        from distributed import get_client

        return get_client().scatter(inputs, broadcast=True, hash=False)
    except ValueError:  # no client: the local scheduler shares memory
        return inputs


def _shape(tile: tuple[slice, slice]) -> tuple[int, int]:
    return (tile[0].stop - tile[0].start, tile[1].stop - tile[1].start)


def _label_regions(zarr_path: Path, config: Config, grid: Grid) -> int:
    """Label the contiguous buildable regions across tiles into ``labels``; returns how many there are."""
    score = da.from_zarr(str(zarr_path), component="score")
    rules = config.sites
    with np.errstate(invalid="ignore"):
        suitable = score >= np.float32(rules.min_cell_score)
    radius_cells = math.ceil(rules.min_core_width_m / 2 / grid.resolution)
    depth = min(2 * radius_cells + 2, max(grid.shape))
    buildable = suitable.map_overlap(buildable_core, depth=depth, boundary="none", dtype=bool,
                                     resolution_m=grid.resolution, min_core_width_m=rules.min_core_width_m,
                                     allow_rechunk=True).rechunk(score.chunks)
    count = label_regions(buildable, zarr_path, "labels")
    log.info("%d buildable regions", count)
    return count


def _describe_regions(zarr_path: Path, inputs: TileInputs, count: int, rerank: bool
                      ) -> tuple[dict[str, object], list, np.ndarray, np.ndarray, list[Footprint], list[SiteTerms]]:
    """Split every large enough region into sites on its own window and measure them.

    With ``rerank``, also the :class:`~geo.reranking.SiteTerms` of each region's sites (else
    none), after one of no site, in the order of the sites' rows.
    """
    product = inputs.config.aggregation.method == "weighted_product"
    names = [c.name for c in inputs.criteria]
    terms = [SiteTerms.from_cells(names, np.zeros(0, dtype=np.int64), np.zeros((0, len(names))), 0, product)]
    empty: tuple = ({}, [], np.empty(0), np.empty(0), [], terms if rerank else [])
    if count == 0:
        return empty
    grid, rules = inputs.grid, inputs.config.sites
    min_cells = max(1, math.ceil(rules.min_area_acres / grid.cell_acres))
    regions = region_extents(da.from_zarr(str(zarr_path), component="labels"))
    regions = regions[regions["cells"] >= min_cells]
    light = {"grid": grid, "rules": rules, "criteria": inputs.criteria, "weights": inputs.weights,
             "rerank": rerank, "product": product}
    parts = [dask.delayed(_region_sites)(str(zarr_path), light, int(r.label), (r.r0, r.r1, r.c0, r.c1))
             for r in regions.itertuples()]
    done = [part for part in dask.compute(*parts) if len(part[0])]
    if not done:
        return empty
    frames, footprints, region_terms = zip(*done, strict=True)
    sites = pd.concat(frames, ignore_index=True)
    polygons = sites.pop("geometry").tolist()
    x, y = sites.pop("x").to_numpy(), sites.pop("y").to_numpy()
    return ({c: sites[c].to_numpy() for c in sites.columns}, polygons, x, y, list(footprints),
            [*terms, *region_terms] if rerank else [])


def _region_sites(zarr_path: str, light: dict, region: int, extent: tuple[int, int, int, int]
                  ) -> tuple[pd.DataFrame, Footprint | None, SiteTerms | None]:
    """The sites one region splits into, with the figures :func:`geo.sitetable.describe_sites` reports,
    their footprint and (with ``light["rerank"]``) their cells reduced for re-ranking."""
    grid: Grid = light["grid"]
    r0, r1, c0, c1 = extent
    window = (slice(r0, r1), slice(c0, c1))

    def read(name: str) -> np.ndarray:
        return np.asarray(zarr.open_array(zarr_path, path=name, mode="r")[window])

    inside = read("labels") == region
    sub = Grid(grid.transform @ Affine.translation(c0, r0), c1 - c0, r1 - r0, grid.crs)
    labels = find_sites(inside, sub, light["rules"])
    count = int(labels.max())
    if count == 0:
        return pd.DataFrame(), None, None
    cells = np.flatnonzero(labels)
    site_of = labels.ravel()[cells]
    rows, cols = np.divmod(cells, sub.width)
    x, y = grid.cell_centres(label_stats(site_of, rows + r0, count), label_stats(site_of, cols + c0, count))
    n_cells = np.bincount(site_of, minlength=count + 1)[1:]
    table: dict[str, object] = {
        "score": label_stats(site_of, read("score").ravel()[cells], count),
        "area_acres": n_cells * grid.cell_acres,
        "n_cells": n_cells,
    }
    subscores = np.empty((cells.size, len(light["criteria"])), dtype=np.float16)
    for j, criterion in enumerate(light["criteria"]):
        raw = read(f"raw/{criterion.name}").ravel()[cells]
        subscores[:, j] = criterion.value_function(raw)
        sub_score = label_stats(site_of, subscores[:, j], count)
        table[f"{criterion.name}_value"] = label_stats(site_of, raw, count)
        table[f"{criterion.name}_score"] = sub_score
        table[f"{criterion.name}_contribution"] = light["weights"][criterion.name] * sub_score
    table["x"], table["y"] = x, y
    table["geometry"] = site_polygons(labels, sub, count)
    terms = SiteTerms.from_cells([c.name for c in light["criteria"]], site_of - 1, subscores, count,
                                 light["product"]) if light["rerank"] else None
    return pd.DataFrame(table), Footprint(r0, c0, labels.shape, np.packbits(labels > 0)), terms


def _count_causes(zarr_path: Path, causes: list[str]) -> tuple[dict[str, int], int]:
    """Cells each exclusion cause removes, and eligible cells, counted block by block."""
    bits = da.from_zarr(str(zarr_path), component="bits")
    counts = [((bits & (1 << i)) != 0).sum() for i in range(len(causes))]
    *per_cause, eligible = dask.compute(*counts, (bits == 0).sum())
    return {cause: int(n) for cause, n in zip(causes, per_cause, strict=True)}, int(eligible)


def overview_factor(grid: Grid, max_cells: int = OVERVIEW_CELLS) -> int:
    """The whole-number step that brings a grid to at most ``max_cells`` cells (1: the grid itself).

    Parameters
    ----------
    grid
        The analysis grid.
    max_cells
        Largest overview wanted.

    Returns
    -------
    int
        Every ``factor``-th row and column make the overview.
    """
    return max(1, math.ceil(math.sqrt(grid.width * grid.height / max_cells)))


def overview(chunked: ChunkedAnalysis, max_cells: int = OVERVIEW_CELLS
             ) -> tuple[Analysis, np.ndarray, np.ndarray]:
    """The run on a grid small enough for the map, report and per-state summary.

    Every ``factor``-th cell (:func:`overview_factor`) of the exclusion bits, scores and
    site labels, on a grid of cells that much larger; with a factor of 1 this is the
    whole grid, exactly as the in-memory path holds it, except that every site cell
    is labelled 1 (the overview knows which cells are in a site, not which site).

    Parameters
    ----------
    chunked
        The chunked run.
    max_cells
        Largest overview wanted.

    Returns
    -------
    tuple[Analysis, numpy.ndarray, numpy.ndarray]
        The analysis on the overview grid (no raw values or sub-scores), the site
        labels on it, and the cell scores of its eligible cells.
    """
    source = chunked.analysis
    grid, step = source.grid, overview_factor(source.grid, max_cells)
    small = grid.coarsened(step)
    bits, score = dask.compute(*(chunked.array(n)[::step, ::step] for n in ("bits", "score")))
    labels = np.zeros(small.shape, dtype=np.int32)
    for footprint in chunked.footprints:  # every step-th cell of each site, as 1
        rows = np.arange(-footprint.row % step, footprint.shape[0], step)
        cols = np.arange(-footprint.col % step, footprint.shape[1], step)
        if rows.size and cols.size:
            window = labels[(footprint.row + rows[0]) // step:, (footprint.col + cols[0]) // step:]
            window[:rows.size, :cols.size] |= footprint.mask()[np.ix_(rows, cols)]
    eligible = np.flatnonzero(bits == 0)
    exclusions = ExclusionMap(bits, source.exclusions.causes, source.exclusions.descriptions)
    analysis = Analysis(
        config=source.config, grid=small, exclusions=exclusions, criteria=source.criteria, raw={},
        layers=source.layers, provenance=source.provenance, eligible=eligible, subscores={},
        skipped=source.skipped, warnings=source.warnings, timings=source.timings, terrain=source.terrain,
    )
    return analysis, labels, score.ravel()[eligible]
