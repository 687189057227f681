"""Sensitivity of the ranking to the weights: Monte Carlo draws, one-at-a-time sweeps, leave-one-out.

The expensive part of a run (layers on the grid, distances, sub-scores) is done once
by :func:`geo.analysis.prepare`. For every new set of weights only the aggregation
(:meth:`Analysis.cell_scores`) and the site selection (:func:`geo.sites.find_sites`
on cells scoring at least ``min_cell_score``) are redone; sites are ranked from
per-label means computed with ``bincount``, without tracing polygons.

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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.grid import rasterize_values
from geo.sameland import MIN_SHARED, match_cells
from geo.sites import label_stats

if TYPE_CHECKING:
    from geo.analysis import Analysis
    from geo.runmodel import RunResult

log = logging.getLogger(__name__)

#: Columns :func:`add_robustness` adds to a site table.
ROBUSTNESS_COLUMNS = ("top_n_share", "site_share", "rank_median", "rank_p05", "rank_p95",
                      "most_sensitive_to", "sweep_rank_shift")

#: ``most_sensitive_to`` of a site whose rank no one-at-a-time sweep moves.
NOT_SENSITIVE = "none"

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
        """Rank of each base site under ``weights`` (inf where not a site), and the number of sites found."""
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


def dirichlet_weights(weights: Mapping[str, float], draws: int, concentration: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Weight vectors drawn from a Dirichlet distribution centred on ``weights``.

    The parameters are ``concentration * w``: the mean of each draw is ``w`` and the
    variance of weight ``i`` is ``w_i (1 - w_i) / (concentration + 1)``, so larger
    concentrations stay closer to the configured weights. Criteria with zero weight
    stay at zero. Returns an array of shape ``(draws, len(weights))`` in the order of
    ``weights``.
    """
    if concentration <= 0:
        raise ValueError(f"concentration must be positive, got {concentration}")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    base = np.array(list(weights.values()), dtype=np.float64)
    if (base < 0).any() or base.sum() <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {dict(weights)}")
    base = base / base.sum()
    out = np.zeros((draws, base.size))
    positive = base > 0
    if positive.sum() == 1:
        out[:, positive] = 1.0
    else:
        out[:, positive] = rng.dirichlet(concentration * base[positive], size=draws)
    return out


def swept_weights(weights: Mapping[str, float], criterion: str, change: float) -> dict[str, float]:
    """Weights with one criterion's weight changed by ``change`` (e.g. 0.25 = +25 %), others rescaled.

    The changed weight is ``w * (1 + change)`` clipped to [0, 1]; the other weights keep
    their ratios and are scaled so that all sum to one. A lone criterion stays alone
    (the aggregation renormalises, so its scores do not change).
    """
    total = sum(weights.values())
    normal = {name: w / total for name, w in weights.items()}
    old = normal[criterion]
    new = min(max(old * (1.0 + change), 0.0), 1.0)
    rest = 1.0 - old
    if rest <= 0:
        return {name: (new if name == criterion else 0.0) for name in normal}
    scale = (1.0 - new) / rest
    return {name: (new if name == criterion else w * scale) for name, w in normal.items()}


def without(weights: Mapping[str, float], criterion: str) -> dict[str, float]:
    """Weights with one criterion left out and the others renormalised."""
    rest = {name: w for name, w in weights.items() if name != criterion}
    total = sum(rest.values())
    if total <= 0:
        raise ValueError(f"cannot leave out {criterion!r}: no other criterion has a positive weight")
    return {name: w / total for name, w in rest.items()}


def sweep_changes(amplitude: float, steps: int) -> list[float]:
    """Relative weight changes of a sweep: ``steps`` evenly spaced on each side of zero, e.g. ±25 %, ±50 %."""
    if not 0 < amplitude <= 1:
        raise ValueError(f"sweep amplitude must be in (0, 1], got {amplitude}")
    if steps < 1:
        raise ValueError(f"sweep steps must be at least 1, got {steps}")
    side = [amplitude * (i + 1) / steps for i in range(steps)]
    return [-c for c in reversed(side)] + side


@dataclass
class SensitivityResult:
    """Everything a sensitivity analysis measured.

    Attributes
    ----------
    sites
        The base site table with the columns of :data:`ROBUSTNESS_COLUMNS` added.
    criteria
        Criterion names, in the column order of ``draw_weights``.
    base_weights
        The configured (normalised) weights.
    draw_weights
        Weights of each Monte Carlo draw, shape ``(draws, criteria)``.
    draw_ranks
        Rank of each base site in each draw, shape ``(draws, sites)``; inf = not a site.
    sweep
        One row per criterion, change and site: ``criterion``, ``change``, ``weight``,
        ``site_id``, ``base_rank``, ``rank`` (NaN = not a site).
    leave_one_out
        One row per left-out criterion and site: ``criterion``, ``site_id``, ``base_rank``, ``rank``.
    settings
        Draws, concentration, top N, sweep changes, seed, the matching rule and timings.
    """

    sites: gpd.GeoDataFrame
    criteria: list[str]
    base_weights: dict[str, float]
    draw_weights: np.ndarray
    draw_ranks: np.ndarray
    sweep: pd.DataFrame
    leave_one_out: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Per criterion, how many of the base top N stay in the top N at each sweep step and when it is left out.

        One row per criterion: ``criterion``, ``weight``, then one column per sweep
        change (e.g. ``-50%``) and ``left out``, each holding the count kept; the
        number of sites in the base top N is in ``settings["top_n"]`` (or fewer when
        the run has fewer sites).
        """
        top_n = self.settings["top_n"]
        changes = [f"{c:+.0%}" for c in self.settings["sweep_changes"]]
        rows = []
        for criterion in self.criteria:
            row: dict[str, Any] = {"criterion": criterion, "weight": self.base_weights[criterion]}
            swept = self.sweep[self.sweep["criterion"] == criterion]
            for change, label in zip(self.settings["sweep_changes"], changes):
                row[label] = _kept(swept[np.isclose(swept["change"].astype(float), change)], top_n)
            row["left out"] = _kept(self.leave_one_out[self.leave_one_out["criterion"] == criterion], top_n)
            rows.append(row)
        return pd.DataFrame(rows, columns=["criterion", "weight", *changes, "left out"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record: settings, weights, the site table (no geometry), sweeps and summary."""
        table = pd.DataFrame(self.sites.drop(columns=self.sites.geometry.name))
        return {
            "settings": self.settings,
            "weights": self.base_weights,
            "sites": _records(table),
            "summary": _records(self.summary()),
            "sweep": _records(self.sweep),
            "leave_one_out": _records(self.leave_one_out),
        }


def _kept(part: pd.DataFrame, top_n: int) -> int | None:
    """Sites of the base top N still in the top N (None when the variant was not run)."""
    if part.empty:
        return None
    return int(((part["base_rank"] <= top_n) & (part["rank"] <= top_n)).sum())


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NaN and inf as None, numpy scalars as Python ones."""
    clean = frame.replace([np.inf, -np.inf], np.nan).astype(object)
    clean = clean.where(pd.notna(clean), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in clean.to_dict(orient="records")]


#: The follower a forked worker process uses (set in the parent just before forking).
_WORKER_FOLLOWER: tuple[SiteFollower, list[str]] | None = None


def _ranks_of(rows: np.ndarray) -> np.ndarray:
    """Ranks of the base sites for each weight vector of ``rows`` (runs in a forked worker)."""
    if _WORKER_FOLLOWER is None:
        raise RuntimeError("no site follower was set before the worker processes were forked")
    follower, criteria = _WORKER_FOLLOWER
    return np.stack([follower.ranks(dict(zip(criteria, row.tolist())))[0] for row in rows])


def follow_draws(follower: SiteFollower, criteria: list[str], draw_weights: np.ndarray, workers: int = 1,
                 on_draw: DrawCallback | None = None) -> np.ndarray:
    """Ranks of the base sites for every row of ``draw_weights``, shape ``(draws, sites)``, inf = not a site.

    With ``workers`` > 1 the draws are shared among forked processes, which see the
    analysis without copying it; the result is the same in draw order.
    """
    global _WORKER_FOLLOWER
    draws = len(draw_weights)
    out = np.empty((draws, follower.n_sites))
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        log.info("processes cannot be forked on this platform; running the draws in one process")
        workers = 1
    if workers <= 1 or draws < 2:
        for i, row in enumerate(draw_weights):
            out[i] = follower.ranks(dict(zip(criteria, row.tolist())))[0]
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


def sensitivity(
    result: RunResult,
    *,
    draws: int = 1000,
    concentration: float = 100.0,
    top_n: int | None = None,
    sweep: float = 0.5,
    sweep_steps: int = 2,
    seed: int = 0,
    workers: int = 1,
    on_draw: DrawCallback | None = None,
) -> SensitivityResult:
    """Measure how the ranking of a run holds up when the weights change.

    Parameters
    ----------
    result
        A run (its analysis is reused; nothing is prepared again).
    draws
        Monte Carlo draws of the weights (Dirichlet around the configured weights).
    concentration
        Dirichlet concentration: larger stays closer to the configured weights.
    top_n
        Size of the list that matters (default: the configuration's ``sites.top_n``).
    sweep
        Largest relative change of the one-at-a-time sweeps (0.5 = -50 % to +50 %).
    sweep_steps
        Sweep steps on each side of the configured weight.
    seed
        Seed of the random generator; the same seed gives the same draws.
    workers
        Processes that share the draws (forked, so the analysis is not copied); the
        result does not depend on it.
    on_draw
        Called as ``on_draw(done, total)`` as draws finish.

    Notes
    -----
    ``most_sensitive_to`` is the criterion whose one-at-a-time sweep moves the site's
    rank most (largest absolute change over the sweep steps, first criterion in
    configuration order on ties, empty when no sweep moves it). ``sweep_rank_shift``
    is that largest change; a site that is not a site at a sweep step counts there as
    one place below the last site found.
    """
    analysis = result.analysis
    top_n = analysis.config.sites.top_n if top_n is None else top_n
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    changes = sweep_changes(sweep, sweep_steps)
    weights = analysis.weights
    criteria = list(weights)
    sites = result.sites
    site_ids = sites["site_id"].to_numpy(dtype=object)
    base_rank = sites["rank"].to_numpy(dtype=np.int64)
    follower = SiteFollower(analysis, site_labels(sites, analysis), n_sites=len(sites))
    timings: dict[str, float] = {}

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    draw_weights = dirichlet_weights(weights, draws, concentration, rng)
    draw_ranks = follow_draws(follower, criteria, draw_weights, workers, on_draw)
    timings["draws_s"] = round(time.perf_counter() - start, 3)
    timings["per_draw_s"] = round(timings["draws_s"] / draws, 4)
    log.info("%d draws in %.1f s (%.3f s per draw)", draws, timings["draws_s"], timings["draws_s"] / draws)

    start = time.perf_counter()
    sweep_rows: list[pd.DataFrame] = []
    shifts = np.zeros((len(criteria), follower.n_sites))
    for j, criterion in enumerate(criteria):
        if weights[criterion] <= 0:
            continue
        for change in changes:
            varied = swept_weights(weights, criterion, change)
            ranks, count = follower.ranks(varied)
            shifts[j] = np.maximum(shifts[j], np.abs(np.where(np.isinf(ranks), count + 1, ranks) - base_rank))
            sweep_rows.append(_rank_frame(criterion, site_ids, base_rank, ranks,
                                          change=change, weight=varied[criterion]))
    loo_rows = [
        _rank_frame(criterion, site_ids, base_rank, follower.ranks(without(weights, criterion))[0])
        for criterion in criteria
        if weights[criterion] > 0 and sum(w for n, w in weights.items() if n != criterion) > 0
    ]
    timings["sweeps_s"] = round(time.perf_counter() - start, 3)

    table = sites.copy()
    table["top_n_share"] = (draw_ranks <= top_n).mean(axis=0)
    table["site_share"] = np.isfinite(draw_ranks).mean(axis=0)
    for column, q in (("rank_median", 0.5), ("rank_p05", 0.05), ("rank_p95", 0.95)):
        value = np.quantile(draw_ranks, q, axis=0, method="inverted_cdf")
        table[column] = np.where(np.isinf(value), np.nan, value)
    moved = shifts.max(axis=0, initial=0) > 0
    table["most_sensitive_to"] = np.where(moved, np.array(criteria, dtype=object)[shifts.argmax(axis=0)],
                                          NOT_SENSITIVE)
    table["sweep_rank_shift"] = shifts.max(axis=0, initial=0)
    table = table[[c for c in table.columns if c != table.geometry.name] + [table.geometry.name]]
    settings = {
        "draws": draws, "concentration": concentration, "top_n": top_n, "sweep_changes": changes, "seed": seed,
        "workers": workers,
        "min_shared": MIN_SHARED, "sites": follower.n_sites, "timings": timings,
    }
    return SensitivityResult(
        sites=table, criteria=criteria, base_weights=dict(weights), draw_weights=draw_weights,
        draw_ranks=draw_ranks, sweep=_concat(sweep_rows, with_change=True), leave_one_out=_concat(loo_rows),
        settings=settings,
    )


def _rank_frame(criterion: str, site_ids: np.ndarray, base_rank: np.ndarray, ranks: np.ndarray,
                **extra: float) -> pd.DataFrame:
    return pd.DataFrame({"criterion": criterion, **extra, "site_id": site_ids, "base_rank": base_rank,
                         "rank": np.where(np.isinf(ranks), np.nan, ranks)})


def _concat(frames: Sequence[pd.DataFrame], with_change: bool = False) -> pd.DataFrame:
    columns = ["criterion", *(["change", "weight"] if with_change else []), "site_id", "base_rank", "rank"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def add_robustness(result: RunResult, *, draws: int = 1000, concentration: float = 100.0,
                   top_n: int | None = None, seed: int = 0, workers: int = 1,
                   on_draw: DrawCallback | None = None) -> gpd.GeoDataFrame:
    """The run's site table with the robustness columns of :data:`ROBUSTNESS_COLUMNS`.

    ``top_n_share`` is the share of draws in which the site is in the top N;
    ``site_share`` the share in which it is a site at all; ``rank_median``,
    ``rank_p05`` and ``rank_p95`` its median rank and 90 % rank interval over the draws
    (NaN where it is not a site at that quantile); ``most_sensitive_to`` and
    ``sweep_rank_shift`` come from the one-at-a-time sweeps (see :func:`sensitivity`).
    """
    return sensitivity(result, draws=draws, concentration=concentration, top_n=top_n, seed=seed,
                       workers=workers, on_draw=on_draw).sites


__all__ = [
    "ROBUSTNESS_COLUMNS", "SensitivityResult", "SiteFollower", "add_robustness",
    "dirichlet_weights", "follow_draws", "rank_labels", "sensitivity", "site_labels", "swept_weights",
    "sweep_changes", "without",
]
