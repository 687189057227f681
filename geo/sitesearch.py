"""Search for sites again under new weights, and follow the base sites through the new ones.

For every new set of weights only the aggregation (:meth:`Analysis.cell_scores`) and the
site selection (:func:`geo.sites.find_sites` on cells scoring at least ``min_cell_score``)
are redone; sites are ranked from per-label means computed with ``bincount``, without
tracing polygons. This is the thorough method of :mod:`geo.sensitivity`: it sees a site
grow, shrink, split or stop being a site, and it costs one site search per draw. The draws
can be shared among forked processes or sent to a Dask cluster.

Following a site across weights
-------------------------------
The sites of a run with other weights are not the sites of the base run: a region
may grow, shrink or be cut in other places. Each base site (a row of the run's site
table) is followed through a draw by its land, with the package's one rule of "the
same land" (:mod:`geo.sameland`) measured on cells: its rank in the draw is the rank
of the draw site that shares at least half of the smaller of the two, matched one to
one, largest shared area first (ties go to the better-ranked draw site). A base site
with no such partner is "not a site" in the draw (rank infinity, never in the top N).

Draw sites are ranked like the site table: by mean score, then by area, then by
their (row-major) label, which stands in for the site id on exact ties.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from geo.grid import rasterize_values
from geo.sameland import match_cells
from geo.sites import label_stats

if TYPE_CHECKING:
    from geo.analysis import Analysis

log = logging.getLogger(__name__)

DrawCallback = Callable[[int, int], None]

def rank_labels(labels: np.ndarray, scores: np.ndarray, count: int) -> np.ndarray:
    """Rank of each label 1..count (1 = best) by mean score, then cell count, then label.

    Parameters
    ----------
    labels
        Site label of each cell (0 = no site), aligned with ``scores``.
    scores
        Cell scores.
    count
        Highest label.

    Returns
    -------
    numpy.ndarray
        ``ranks[k - 1]`` is the rank of label ``k`` (int64).
    """
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    means = label_stats(labels, scores, count)
    sizes = np.bincount(labels, minlength=count + 1)[1:]
    means = np.where(np.isnan(means), -np.inf, means)
    order = np.lexsort((np.arange(count), -sizes, -means))
    ranks = np.empty(count, dtype=np.int64)
    ranks[order] = np.arange(1, count + 1)
    return ranks


def site_labels(sites: gpd.GeoDataFrame, analysis: Analysis) -> np.ndarray:
    """The cells of each row of a site table on the analysis grid: label = row position + 1.

    Site polygons are traced along cell edges, so burning them in by cell centre
    gives back exactly their cells.

    Parameters
    ----------
    sites
        A site table with site polygons (any CRS), in rank order.
    analysis
        The analysis whose grid the sites are burnt onto.

    Returns
    -------
    numpy.ndarray
        int32 labels on the grid, 0 outside every site.
    """
    if len(sites) == 0:
        return np.zeros(analysis.grid.shape, dtype=np.int32)
    projected = sites[[sites.geometry.name]].to_crs(analysis.grid.crs)
    projected["_label"] = np.arange(1, len(sites) + 1)
    labels = rasterize_values(projected, "_label", analysis.grid, fill=0, dtype="int32")
    if "n_cells" in sites.columns:
        burnt = np.bincount(labels.ravel(), minlength=len(sites) + 1)[1:]
        expected = sites["n_cells"].to_numpy(dtype=np.int64)
        if not np.array_equal(burnt, expected):
            log.warning("%d site polygons do not burn back to their cell counts; following them by the "
                        "cells they cover", int(np.count_nonzero(burnt != expected)))
    return labels


class SiteFollower:
    """Re-select sites for new weights and follow the sites of a base table through them.

    Parameters
    ----------
    analysis
        The prepared analysis (its sub-scores are reused for every set of weights).
    base_labels
        Grid of base sites, label ``k`` = row ``k - 1`` of the base site table.
    n_sites
        Rows of the base site table (default: the highest label).
    """

    def __init__(self, analysis: Analysis, base_labels: np.ndarray, n_sites: int | None = None) -> None:
        self.analysis = analysis
        cells = np.flatnonzero(base_labels)
        base_of = base_labels.ravel()[cells].astype(np.int64)
        order = np.argsort(base_of, kind="stable")
        self._cells, self._base_of = cells[order], base_of[order]
        self.n_sites = int(base_labels.max(initial=0)) if n_sites is None else n_sites
        self._sizes = np.bincount(self._base_of, minlength=self.n_sites + 1)[1:]

    def ranks(self, weights: Mapping[str, float]) -> tuple[np.ndarray, int]:
        """Rank of each base site under ``weights`` (inf where not a site), and the number of sites found.

        Parameters
        ----------
        weights
            Weight by criterion name.

        Returns
        -------
        tuple[numpy.ndarray, int]
            The rank each base site's land takes in the new site search, and how many sites it finds.
        """
        analysis = self.analysis
        scores = analysis.cell_scores(weights)
        labels = analysis.site_labels(scores).ravel()
        count = int(labels.max(initial=0))
        out = np.full(self.n_sites, np.inf)
        if count == 0 or self.n_sites == 0:
            return out, count
        on_eligible = labels[analysis.eligible]
        in_site = on_eligible > 0
        site_cells = on_eligible[in_site].astype(np.int64)
        draw_rank = rank_labels(site_cells, scores[in_site], count)
        sizes_by_rank = np.empty(count, dtype=np.int64)
        sizes_by_rank[draw_rank - 1] = np.bincount(site_cells, minlength=count + 1)[1:]
        covering = labels[self._cells].astype(np.int64)
        inside = covering > 0
        # draw sites numbered by rank, so that ties go to the better-ranked one
        partner = match_cells(self._base_of[inside], draw_rank[covering[inside] - 1], self._sizes, sizes_by_rank)
        found = partner > 0
        out[found] = partner[found]
        return out, count


#: The follower a forked worker process uses (set in the parent just before forking).
_WORKER_FOLLOWER: tuple[SiteFollower, list[str]] | None = None


def _ranks_of(rows: np.ndarray) -> np.ndarray:
    """Ranks of the base sites for each weight vector of ``rows`` (runs in a forked worker)."""
    if _WORKER_FOLLOWER is None:
        raise RuntimeError("no site follower was set before the worker processes were forked")
    follower, criteria = _WORKER_FOLLOWER
    return np.stack([follower.ranks(dict(zip(criteria, row.tolist(), strict=True)))[0] for row in rows])


def follow_draws(follower: SiteFollower, criteria: list[str], draw_weights: np.ndarray, workers: int = 1,
                 on_draw: DrawCallback | None = None, *, scheduler: str | None = None) -> np.ndarray:
    """Ranks of the base sites for every row of ``draw_weights``, shape ``(draws, sites)``, inf = not a site.

    Parameters
    ----------
    follower
        Follows the base sites through each new site search.
    criteria
        Criterion names, in the column order of ``draw_weights``.
    draw_weights
        One set of weights per row.
    workers
        Without ``scheduler``: forked processes sharing the draws, which see the analysis
        without copying it. With ``scheduler`` ``"local"``: the workers of the local Dask cluster.
    on_draw
        Called as ``on_draw(done, total)`` as draws finish.
    scheduler
        ``"local"`` to start a Dask ``LocalCluster`` for the draws, or the address of a
        running Dask scheduler (``tcp://host:8786``) to send them there. None: this machine's
        processes.

    Returns
    -------
    numpy.ndarray
        float64 ranks, the same in draw order whatever the workers or cluster.

    Raises
    ------
    ConfigError
        The scheduler does not answer within :data:`geo.drawcluster.SCHEDULER_TIMEOUT_S`.
    """
    global _WORKER_FOLLOWER
    if scheduler:
        from geo.drawcluster import ranks_on_cluster

        return ranks_on_cluster(follower, criteria, draw_weights, scheduler, workers=workers, on_draw=on_draw)
    draws = len(draw_weights)
    out = np.empty((draws, follower.n_sites))
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        log.info("processes cannot be forked on this platform; running the draws in one process")
        workers = 1
    if workers <= 1 or draws < 2:
        for i, row in enumerate(draw_weights):
            out[i] = follower.ranks(dict(zip(criteria, row.tolist(), strict=True)))[0]
            if on_draw:
                on_draw(i + 1, draws)
        return out
    chunks = np.array_split(draw_weights, min(draws, workers * 25))
    _WORKER_FOLLOWER = (follower, criteria)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = 0
            for ranks in pool.imap(_ranks_of, chunks):
                out[done:done + len(ranks)] = ranks
                done += len(ranks)
                if on_draw:
                    on_draw(done, draws)
    finally:
        _WORKER_FOLLOWER = None
    return out
