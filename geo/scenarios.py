"""Scenario comparison: two or more configurations over the same layers.

Each scenario (a preset or configuration file) is prepared and ranked on the same
store. Configurations that differ only in weights, aggregation or site rules share
one prepared analysis; layers are read from the store once for all scenarios.

Matching sites across scenarios
-------------------------------
Sites of different scenarios are matched by the package's one rule of "the same
land" (:mod:`geo.sameland`: they share at least half of the smaller site, one to one,
largest shared area first), the rule the map's popups use too. For each pair of
scenarios the comparison reports how many sites their top N share (count and
Jaccard index), Kendall's tau and Spearman's rho on the ranks of the sites matched
in both, and the top-N sites of each that are not in the other's top N.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from geo.analysis import Analysis, prepare
from geo.config import Config
from geo.pipeline import build_record, resolve, run_id_for
from geo.runmodel import RunResult
from geo.sameland import MIN_SHARED, match_sites
from geo.sitetable import rank
from geo.store import LayerStore

log = logging.getLogger(__name__)

#: Settings that change scores or sites but not the prepared layers, distances and sub-scores.
_SCORING_ONLY = ("name", "description", "aggregation", "sites")

ScenarioCallback = Callable[[str], None]


class _ReadOnceStore(LayerStore):
    """A layer store that reads each layer from disk once and hands out copies."""

    def __init__(self, root: Any) -> None:
        super().__init__(root)
        self._frames: dict[str, gpd.GeoDataFrame] = {}

    def read(self, layer: str) -> gpd.GeoDataFrame:
        if layer not in self._frames:
            self._frames[layer] = super().read(layer)
        return self._frames[layer].copy()


def rank_correlation(ranks_a: Sequence[float], ranks_b: Sequence[float]) -> dict[str, float]:
    """Kendall's tau-b and Spearman's rho (with p-values) of two paired rankings.

    NaN with fewer than two pairs or when either ranking is constant.

    Parameters
    ----------
    ranks_a, ranks_b
        The ranks of the same sites in two scenarios, pair by pair.

    Returns
    -------
    dict[str, float]
        ``kendall_tau``, ``kendall_p``, ``spearman_rho`` and ``spearman_p``.
    """
    a, b = np.asarray(ranks_a, dtype=float), np.asarray(ranks_b, dtype=float)
    if a.size < 2:
        return {"kendall_tau": np.nan, "kendall_p": np.nan, "spearman_rho": np.nan, "spearman_p": np.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        tau = stats.kendalltau(a, b)
        rho = stats.spearmanr(a, b)
    return {"kendall_tau": float(tau.statistic), "kendall_p": float(tau.pvalue),
            "spearman_rho": float(rho.statistic), "spearman_p": float(rho.pvalue)}


@dataclass
class ComparisonResult:
    """Scenarios ranked over the same layers, and how their rankings agree.

    Attributes
    ----------
    results
        Each scenario's run (analysis, site table, labels, score grid, record), by name.
    sites
        Each scenario's site table with a ``rank_in_<name>`` column per scenario: the
        rank of the same land there (NaN where it is not a site).
    pairs
        One row per pair of scenarios: ``scenario_a``, ``scenario_b``, ``top_n``,
        ``top_n_a``, ``top_n_b`` (sites in each top N), ``top_n_shared``, ``jaccard``,
        ``matched`` (sites that are the same land in both), ``kendall_tau``,
        ``kendall_p``, ``spearman_rho``, ``spearman_p``, ``only_in_a``, ``only_in_b``
        (site ids in one top N and not the other's).
    only_in
        Per scenario, the site ids of its top N that are in no other scenario's top N.
    top_n
        The size of the lists compared.
    """

    results: dict[str, RunResult]
    sites: dict[str, gpd.GeoDataFrame]
    pairs: pd.DataFrame
    only_in: dict[str, list[str]]
    top_n: int

    @property
    def names(self) -> list[str]:
        return list(self.sites)

    def table(self) -> pd.DataFrame:
        """Every scenario's sites in one table (no geometry): ``scenario`` then the site columns.

        Returns
        -------
        pandas.DataFrame
            One row per site and scenario, with its ``rank_in_<name>`` columns.
        """
        columns = ["rank", "site_id", "score", "area_acres", "state", "county", "lon", "lat",
                   *[rank_column(n) for n in self.names]]
        frames = [pd.DataFrame(t[[c for c in columns if c in t.columns]]).assign(scenario=name)
                  for name, t in self.sites.items()]
        frame = pd.concat(frames, ignore_index=True)
        return frame[["scenario", *[c for c in frame.columns if c != "scenario"]]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the comparison: settings, pairwise statistics, sites only in one, top N.

        Returns
        -------
        dict[str, Any]
            Keys ``top_n``, ``min_overlap``, ``scenarios``, ``pairs``, ``only_in`` and ``top_sites``.
        """
        top = self.table()
        top = top[top["rank"] <= self.top_n]
        return {
            "top_n": self.top_n,
            "min_overlap": MIN_SHARED,
            "scenarios": {name: {"description": r.analysis.config.description, "weights": r.analysis.weights,
                                 "sites": int(len(r.sites)), "synthetic": r.synthetic}
                          for name, r in self.results.items()},
            "pairs": _records(self.pairs),
            "only_in": self.only_in,
            "top_sites": _records(top),
        }


def rank_column(name: str) -> str:
    """Name of the column holding a site's rank in scenario ``name``.

    Parameters
    ----------
    name
        The scenario's name.

    Returns
    -------
    str
        ``rank_in_<name>``.
    """
    return f"rank_in_{name}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(pd.notna(frame), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in clean.to_dict(orient="records")]


def scenario_names(configs: Sequence[Config]) -> list[str]:
    """A distinct name per configuration: its ``name``, numbered when repeated.

    Parameters
    ----------
    configs
        The configurations compared, in order.

    Returns
    -------
    list[str]
        One name per configuration, e.g. ``default``, ``default-2``.
    """
    names: list[str] = []
    for config in configs:
        name, k = config.name, 2
        while name in names:
            name, k = f"{config.name}-{k}", k + 1
        names.append(name)
    return names


def _layer_key(config: Config) -> str:
    """What a configuration asks of the prepared analysis: everything but weights and scoring settings."""
    data = config.model_dump(mode="json", exclude=set(_SCORING_ONLY))
    for criterion in data["criteria"]:
        criterion.pop("weight")
    return repr(data)


def _reuse(analysis: Analysis, config: Config) -> Analysis:
    """A prepared analysis re-pointed at a configuration that differs only in weights or scoring settings."""
    by_name = {c.name: c for c in config.criteria}
    return dataclasses.replace(analysis, config=config, criteria=[by_name[c.name] for c in analysis.criteria],
                               timings={})


def compare(configs: Sequence[Config], store: LayerStore | str | Path | None = None, *, top_n: int | None = None,
            on_scenario: ScenarioCallback | None = None) -> ComparisonResult:
    """Rank every configuration over the same layers and compare the rankings.

    Parameters
    ----------
    configs
        Two or more configurations (presets or files already loaded).
    store
        The layer store (default ``data/store``, or the demo region when it is empty).
    top_n
        Size of the lists compared (default: the first configuration's ``sites.top_n``).
    on_scenario
        Called with each scenario's name before it is prepared.

    Returns
    -------
    ComparisonResult
        Each scenario's run and site table, and how the rankings agree pair by pair.
    """
    if len(configs) < 2:
        raise ValueError(f"compare needs at least two configurations, got {len(configs)}")
    top_n = configs[0].sites.top_n if top_n is None else top_n
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    _, base_store = resolve(configs[0], store)
    shared = _ReadOnceStore(base_store.root)
    names = scenario_names(configs)
    prepared: dict[str, Analysis] = {}
    results: dict[str, RunResult] = {}
    for name, config in zip(names, configs, strict=True):
        if on_scenario:
            on_scenario(name)
        started = datetime.now(UTC)
        config, layer_store = resolve(config, shared)
        key = _layer_key(config)
        if key in prepared:
            log.info("scenario %s: reusing the analysis prepared for an earlier scenario", name)
            analysis = _reuse(prepared[key], config)
        else:
            analysis = prepared[key] = prepare(config, layer_store)
        sites, labels, cell_scores = rank(analysis)
        record = build_record(analysis, sites, run_id_for(started, name), started, layer_store)
        results[name] = RunResult(analysis, sites, labels, cell_scores, record)
    return _compare_tables({n: r.sites for n, r in results.items()}, results, top_n)


def _compare_tables(tables: dict[str, gpd.GeoDataFrame], results: dict[str, RunResult],
                    top_n: int) -> ComparisonResult:
    names = list(tables)
    sites = {name: table.copy() for name, table in tables.items()}
    for name in names:
        sites[name][rank_column(name)] = sites[name]["rank"].astype(float)
    rows = []
    for a, b in itertools.combinations(names, 2):
        ta, tb = sites[a], sites[b]
        match = match_sites(ta, tb)
        found = match >= 0
        rank_b = np.full(len(ta), np.nan)
        rank_b[found] = tb["rank"].to_numpy()[match[found]]
        ta[rank_column(b)] = rank_b
        rank_a = np.full(len(tb), np.nan)
        rank_a[match[found]] = ta["rank"].to_numpy()[found]
        tb[rank_column(a)] = rank_a
        rows.append(_pair_row(a, b, ta, tb, top_n))
    only_in = {}
    for name in names:
        table = sites[name]
        others = [rank_column(o) for o in names if o != name]
        elsewhere = (table[others] <= top_n).any(axis=1)
        only_in[name] = table.loc[(table["rank"] <= top_n) & ~elsewhere, "site_id"].tolist()
    for name in names:
        table = sites[name]
        sites[name] = table[[c for c in table.columns if c != table.geometry.name] + [table.geometry.name]]
    return ComparisonResult(results=results, sites=sites, pairs=pd.DataFrame(rows), only_in=only_in, top_n=top_n)


def _pair_row(a: str, b: str, ta: gpd.GeoDataFrame, tb: gpd.GeoDataFrame, top_n: int) -> dict[str, Any]:
    in_a, in_b = ta["rank"] <= top_n, tb["rank"] <= top_n
    shared = int((in_a & (ta[rank_column(b)] <= top_n)).sum())
    size_a, size_b = int(in_a.sum()), int(in_b.sum())
    union = size_a + size_b - shared
    matched = ta[ta[rank_column(b)].notna()]
    return {
        "scenario_a": a, "scenario_b": b, "top_n": top_n, "top_n_a": size_a, "top_n_b": size_b,
        "top_n_shared": shared, "jaccard": shared / union if union else np.nan, "matched": int(len(matched)),
        **rank_correlation(matched["rank"], matched[rank_column(b)]),
        "only_in_a": ta.loc[in_a & ~(ta[rank_column(b)] <= top_n), "site_id"].tolist(),
        "only_in_b": tb.loc[in_b & ~(tb[rank_column(a)] <= top_n), "site_id"].tolist(),
    }


__all__ = ["ComparisonResult", "compare", "rank_column", "rank_correlation", "scenario_names"]
