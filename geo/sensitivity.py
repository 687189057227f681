"""Sensitivity of the ranking to the weights: Monte Carlo draws, one-at-a-time sweeps, leave-one-out.

The expensive part of a run (layers on the grid, distances, sub-scores) is done once
by :func:`geo.analysis.prepare`. For every new set of weights the base sites are ranked
again by one of two methods:

* ``rerank`` (:mod:`geo.reranking`, the default of ``geo run``): the base sites keep their
  land and are re-ranked from their own cells' sub-scores. One aggregation over the sites'
  cells per draw; it cannot see a site appear, split or vanish. A chunked run, which never
  holds the grid, carries its re-ranker (``RunResult.reranker``) and is re-ranked by it.
* ``search`` (:mod:`geo.sitesearch`, the default of ``geo sensitivity``): sites are searched
  for again on all eligible land and each base site is followed by its land. One site
  search per draw; the draws can be shared among processes or sent to a Dask cluster.
  It needs the grid's sub-scores, so the in-memory path.

The weights themselves come from :mod:`geo.weightdraws`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.ranker import Ranker
from geo.reranking import SiteReranker
from geo.sameland import MIN_SHARED
from geo.sitesearch import SiteFollower, follow_draws, rank_labels, site_labels
from geo.weightdraws import dirichlet_weights, sweep_changes, swept_weights, without

if TYPE_CHECKING:
    from geo.runmodel import RunResult

log = logging.getLogger(__name__)

#: Columns :func:`add_robustness` adds to a site table.
ROBUSTNESS_COLUMNS = ("top_n_share", "site_share", "rank_median", "rank_p05", "rank_p95",
                      "most_sensitive_to", "sweep_rank_shift")

#: ``most_sensitive_to`` of a site whose rank no one-at-a-time sweep moves.
NOT_SENSITIVE = "none"

Method = Literal["rerank", "search"]
#: What each method does, in the words the run record and the outputs use.
METHODS: dict[str, str] = {
    "rerank": "base sites re-ranked from their cells' sub-scores under each set of weights (no new site search)",
    "search": "sites searched for again under each set of weights, base sites followed by their land",
}

DrawCallback = Callable[[int, int], None]


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

        Returns
        -------
        pandas.DataFrame
            One row per criterion, as above.
        """
        top_n = self.settings["top_n"]
        changes = [f"{c:+.0%}" for c in self.settings["sweep_changes"]]
        rows = []
        for criterion in self.criteria:
            row: dict[str, Any] = {"criterion": criterion, "weight": self.base_weights[criterion]}
            swept = self.sweep[self.sweep["criterion"] == criterion]
            for change, label in zip(self.settings["sweep_changes"], changes, strict=True):
                row[label] = _kept(swept[np.isclose(swept["change"].astype(float), change)], top_n)
            row["left out"] = _kept(self.leave_one_out[self.leave_one_out["criterion"] == criterion], top_n)
            rows.append(row)
        return pd.DataFrame(rows, columns=["criterion", "weight", *changes, "left out"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record: settings, weights, the site table (no geometry), sweeps and summary.

        Returns
        -------
        dict[str, Any]
            Keys ``settings``, ``weights``, ``sites``, ``summary``, ``sweep`` and ``leave_one_out``.
        """
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
    method: Method = "search",
    scheduler: str | None = None,
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
        Processes that share the draws of the ``search`` method (forked, so the analysis is
        not copied, or the workers of a local Dask cluster); the result does not depend on it.
    on_draw
        Called as ``on_draw(done, total)`` as draws finish.
    method
        ``search`` (find sites again under each set of weights) or ``rerank`` (re-rank the
        base sites from their cells' sub-scores); see :data:`METHODS`.
    scheduler
        For ``search``: ``"local"`` for a Dask cluster on this machine, or the address of a
        running Dask scheduler; None shares the draws among forked processes.

    Returns
    -------
    SensitivityResult
        The site table with the robustness columns, every draw, sweep and leave-one-out.

    Raises
    ------
    ValueError
        An unknown method, ``top_n`` below 1, or a run without the grid's sub-scores (a
        chunked run) for ``search``, or for ``rerank`` when it carries no re-ranker.
    ConfigError
        The Dask scheduler does not answer.

    Notes
    -----
    ``most_sensitive_to`` is the criterion whose one-at-a-time sweep moves the site's
    rank most (largest absolute change over the sweep steps, first criterion in
    configuration order on ties, empty when no sweep moves it). ``sweep_rank_shift``
    is that largest change; a site that is not a site at a sweep step counts there as
    one place below the last site found. With ``rerank`` every base site stays a site, so
    ``site_share`` is NaN (not measured).
    """
    analysis = result.analysis
    top_n = analysis.config.sites.top_n if top_n is None else top_n
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    if method not in METHODS:
        raise ValueError(f"unknown sensitivity method {method!r}; use one of {', '.join(METHODS)}")
    changes = sweep_changes(sweep, sweep_steps)
    weights = analysis.weights
    criteria = list(weights)
    sites = result.sites
    site_ids = sites["site_id"].to_numpy(dtype=object)
    base_rank = sites["rank"].to_numpy(dtype=np.int64)
    follower = base_ranker(result, method)
    timings: dict[str, float] = {}

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    draw_weights = dirichlet_weights(weights, draws, concentration, rng)
    if isinstance(follower, SiteFollower):
        draw_ranks = follow_draws(follower, criteria, draw_weights, workers, on_draw, scheduler=scheduler)
    else:
        draw_ranks = _rank_draws(follower, criteria, draw_weights, on_draw)
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
    table["site_share"] = np.isfinite(draw_ranks).mean(axis=0) if method == "search" else np.nan
    for column, q in (("rank_median", 0.5), ("rank_p05", 0.05), ("rank_p95", 0.95)):
        value = np.quantile(draw_ranks, q, axis=0, method="inverted_cdf")
        table[column] = np.where(np.isinf(value), np.nan, value)
    moved = shifts.max(axis=0, initial=0) > 0
    table["most_sensitive_to"] = np.where(moved, np.array(criteria, dtype=object)[shifts.argmax(axis=0)],
                                          NOT_SENSITIVE)
    table["sweep_rank_shift"] = shifts.max(axis=0, initial=0)
    table = table[[c for c in table.columns if c != table.geometry.name] + [table.geometry.name]]
    settings = {
        "method": method, "method_text": METHODS[method], "scheduler": scheduler,
        "draws": draws, "concentration": concentration, "top_n": top_n, "sweep_changes": changes, "seed": seed,
        "workers": workers,
        "min_shared": MIN_SHARED, "sites": follower.n_sites, "timings": timings,
    }
    return SensitivityResult(
        sites=table, criteria=criteria, base_weights=dict(weights), draw_weights=draw_weights,
        draw_ranks=draw_ranks, sweep=_concat(sweep_rows, with_change=True), leave_one_out=_concat(loo_rows),
        settings=settings,
    )


def base_ranker(result: RunResult, method: Method) -> Ranker:
    """What ranks a run's sites under new weights by ``method``.

    Parameters
    ----------
    result
        The run: its own re-ranker when it carries one (a chunked run), else its
        analysis's sub-scores and its site table.
    method
        ``rerank`` or ``search``.

    Returns
    -------
    Ranker
        A :class:`~geo.reranking.SiteReranker` or a :class:`~geo.sitesearch.SiteFollower`
        of the site table's rows.

    Raises
    ------
    ValueError
        The run holds no sub-scores of the grid (a chunked run) and ``method`` is
        ``search``, or it is ``rerank`` and the run carries no re-ranker.
    """
    analysis, sites = result.analysis, result.sites
    if method == "rerank" and result.reranker is not None:
        return result.reranker
    if not analysis.subscores:
        if method == "search":
            raise ValueError("the search method searches the whole grid again and needs the in-memory path; "
                             "this run was chunked: use the rerank method, or run it in memory")
        raise ValueError("this chunked run kept nothing to re-rank its sites by: run it with robustness draws")
    labels = site_labels(sites, analysis)
    if method == "rerank":
        return SiteReranker(analysis, labels, n_sites=len(sites))
    return SiteFollower(analysis, labels, n_sites=len(sites))


def _rank_draws(ranker: Ranker, criteria: list[str], draw_weights: np.ndarray,
                on_draw: DrawCallback | None) -> np.ndarray:
    """Ranks of the base sites for every row of ``draw_weights``, in one process."""
    out = np.empty((len(draw_weights), ranker.n_sites))
    for i, row in enumerate(draw_weights):
        out[i] = ranker.ranks(dict(zip(criteria, row.tolist(), strict=True)))[0]
        if on_draw:
            on_draw(i + 1, len(draw_weights))
    return out


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
                   on_draw: DrawCallback | None = None, method: Method = "rerank",
                   scheduler: str | None = None) -> gpd.GeoDataFrame:
    """The run's site table with the robustness columns of :data:`ROBUSTNESS_COLUMNS`.

    Parameters
    ----------
    result
        A run whose site table gains the columns.
    draws, concentration, top_n, seed, workers, on_draw, scheduler
        As for :func:`sensitivity`.
    method
        ``rerank`` (default: the base sites re-ranked from their cells' sub-scores, fast)
        or ``search`` (sites searched for again under every draw).

    Returns
    -------
    geopandas.GeoDataFrame
        ``top_n_share`` is the share of draws in which the site is in the top N;
        ``site_share`` the share in which it is a site at all (NaN with ``rerank``);
        ``rank_median``, ``rank_p05`` and ``rank_p95`` its median rank and 90 % rank
        interval over the draws (NaN where it is not a site at that quantile);
        ``most_sensitive_to`` and ``sweep_rank_shift`` come from the one-at-a-time sweeps
        (see :func:`sensitivity`).
    """
    return sensitivity(result, draws=draws, concentration=concentration, top_n=top_n, seed=seed,
                       workers=workers, on_draw=on_draw, method=method, scheduler=scheduler).sites


__all__ = [
    "METHODS", "NOT_SENSITIVE", "ROBUSTNESS_COLUMNS", "SensitivityResult", "SiteFollower",
    "SiteReranker", "add_robustness", "base_ranker", "dirichlet_weights", "follow_draws", "rank_labels", "sensitivity",
    "site_labels", "swept_weights", "sweep_changes", "without",
]
