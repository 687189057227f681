"""Weight sensitivity: known answers on small hand-made grids, and the demo region."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box
from shapely.ops import unary_union

from geo.analysis import Analysis
from geo.api import RunResult
from geo.config import Config, Criterion, SiteRules
from geo.exclusions import ExclusionMap
from geo.grid import Grid
from geo.sensitivity import (
    NOT_SENSITIVE,
    ROBUSTNESS_COLUMNS,
    SiteFollower,
    SiteReranker,
    add_robustness,
    dirichlet_weights,
    rank_labels,
    sensitivity,
    site_labels,
    sweep_changes,
    swept_weights,
    without,
)
from geo.sites import find_sites
from geo.types import STORE_CRS
from geo.valuefunctions import Linear

# 1 km cells: 247.1 acres each, so sites need 5 to 10 cells.
RULES = SiteRules(min_cell_score=0.5, min_area_acres=1000, max_area_acres=2500)
SHAPE = (8, 16)
#: Three site blocks of 2 x 3 cells separated by empty columns.
BLOCKS = {"A": (slice(1, 3), slice(1, 4)), "B": (slice(1, 3), slice(6, 9)), "C": (slice(1, 3), slice(11, 14)),
          "D": (slice(5, 7), slice(1, 4))}


def make_result(values: dict[str, dict[str, float]], weights: dict[str, float]) -> RunResult:
    """A run on a hand-made grid: each block of ``BLOCKS`` gets the given sub-score per criterion, elsewhere 0."""
    grid = Grid.covering((0, 0, SHAPE[1] * 1000, SHAPE[0] * 1000), 1000)
    criteria = [Criterion(name=name, layers=["transmission"], value_function=Linear(low=0, high=1), weight=w)
                for name, w in weights.items()]
    config = Config(criteria=criteria, sites=RULES)
    grids = {name: np.zeros(SHAPE, dtype=np.float32) for name in weights}
    for block, scores in values.items():
        for name, value in scores.items():
            grids[name][BLOCKS[block]] = value
    analysis = Analysis(
        config=config, grid=grid, exclusions=ExclusionMap(np.zeros(SHAPE, dtype=np.uint8), [], {}),
        criteria=criteria, raw={}, layers={}, provenance={}, eligible=np.arange(SHAPE[0] * SHAPE[1]),
        subscores={name: g.ravel() for name, g in grids.items()},
    )
    cell_scores = analysis.cell_scores()
    labels = find_sites((cell_scores >= RULES.min_cell_score).reshape(SHAPE), grid, RULES)
    count = int(labels.max())
    ranks = rank_labels(labels.ravel(), cell_scores, count)
    polygons = []
    for k in range(1, count + 1):
        rows, cols = np.nonzero(labels == k)
        polygons.append(unary_union([box(*(grid.transform @ (c, r + 1)), *(grid.transform @ (c + 1, r)))
                                     for r, c in zip(rows, cols, strict=True)]))
    names = {int(labels[window][0, 0]): name for name, window in BLOCKS.items() if labels[window][0, 0] > 0}
    sites = gpd.GeoDataFrame({"rank": ranks, "site_id": [names[k] for k in range(1, count + 1)],
                              "n_cells": np.bincount(labels.ravel())[1:]}, geometry=polygons, crs=grid.crs)
    sites = sites.sort_values("rank").reset_index(drop=True).to_crs(STORE_CRS)
    return RunResult(analysis, sites, labels, cell_scores, record={})


def test_dominating_site_stays_first_in_every_draw() -> None:
    result = make_result({"A": {"a": 0.95, "b": 0.95, "c": 0.95}, "B": {"a": 0.9, "b": 0.6, "c": 0.6},
                          "C": {"a": 0.6, "b": 0.9, "c": 0.6}}, {"a": 0.4, "b": 0.4, "c": 0.2})
    outcome = sensitivity(result, draws=300, concentration=5, top_n=1, seed=3)
    first = outcome.sites.set_index("site_id")
    assert (outcome.draw_ranks[:, 0] == 1).all()
    assert first.loc["A", "top_n_share"] == 1.0 and first.loc["A", "rank_p95"] == 1
    # B and C trade places with the weights, so the draws do move the ranking
    assert set(np.unique(outcome.draw_ranks[:, 1:])) == {2.0, 3.0}
    assert first.loc["B", "top_n_share"] == 0 and first.loc["C", "top_n_share"] == 0
    assert first.loc["B", "rank_p05"] == 2 and first.loc["B", "rank_p95"] == 3


def test_one_criterion_sweep_and_draws_change_nothing() -> None:
    result = make_result({"A": {"a": 0.9}, "B": {"a": 0.7}, "C": {"a": 0.8}}, {"a": 1.0})
    outcome = sensitivity(result, draws=20, sweep=0.5, seed=0)
    assert (outcome.sweep["rank"] == outcome.sweep["base_rank"]).all()
    assert len(outcome.sweep) == 4 * 3
    assert outcome.leave_one_out.empty
    assert (outcome.draw_ranks == outcome.sites["rank"].to_numpy()).all()
    assert (outcome.sites["most_sensitive_to"] == NOT_SENSITIVE).all()
    assert (outcome.sites["sweep_rank_shift"] == 0).all()


def test_leaving_out_an_irrelevant_criterion_keeps_the_ranking() -> None:
    values = {"A": {"a": 0.9, "b": 0.6, "flat": 0.7}, "B": {"a": 0.6, "b": 0.95, "flat": 0.7},
              "C": {"a": 0.75, "b": 0.75, "flat": 0.7}}
    result = make_result(values, {"a": 0.5, "b": 0.3, "flat": 0.2})
    outcome = sensitivity(result, draws=5, seed=0)
    loo = outcome.leave_one_out
    flat = loo[loo["criterion"] == "flat"]
    assert (flat["rank"] == flat["base_rank"]).all()
    assert len(flat) == 3
    dropped_a = loo[loo["criterion"] == "a"].set_index("site_id")["rank"]
    assert dropped_a["B"] == 1  # leaving out a relevant criterion does change it


def test_a_site_whose_land_stops_qualifying_is_not_a_site() -> None:
    result = make_result({"A": {"a": 0.9, "b": 0.9}, "D": {"a": 0.9, "b": 0.2}}, {"a": 0.5, "b": 0.5})
    outcome = sensitivity(result, draws=5, seed=0)
    loo = outcome.leave_one_out.set_index(["criterion", "site_id"])["rank"]
    assert np.isnan(loo[("a", "D")]) and loo[("a", "A")] == 1
    assert loo[("b", "A")] == 1 and loo[("b", "D")] == 2  # equal scores and sizes: row-major label order
    summary = outcome.summary().set_index("criterion")
    assert summary.loc["a", "left out"] == 1 and summary.loc["b", "left out"] == 2


def test_follower_reproduces_the_base_ranking_on_the_demo(demo_result: RunResult) -> None:
    analysis = demo_result.analysis
    labels = site_labels(demo_result.sites, analysis)
    assert (np.bincount(labels.ravel())[1:] == demo_result.sites["n_cells"].to_numpy()).all()
    follower = SiteFollower(analysis, labels)
    ranks, count = follower.ranks(analysis.weights)
    assert count == len(demo_result.sites)
    assert (ranks == demo_result.sites["rank"].to_numpy()).all()


def test_add_robustness_is_seeded_and_adds_the_columns(demo_result: RunResult) -> None:
    first = add_robustness(demo_result, draws=8, concentration=50, top_n=10, seed=7, method="search")
    again = add_robustness(demo_result, draws=8, concentration=50, top_n=10, seed=7, method="search")
    assert list(first.columns[-len(ROBUSTNESS_COLUMNS) - 1:-1]) == list(ROBUSTNESS_COLUMNS)
    assert first.drop(columns="geometry").equals(again.drop(columns="geometry"))
    assert first["top_n_share"].between(0, 1).all() and first["site_share"].between(0, 1).all()
    known = first["rank_p05"].notna() & first["rank_p95"].notna()
    assert (first.loc[known, "rank_p05"] <= first.loc[known, "rank_p95"]).all()
    assert set(first["most_sensitive_to"].dropna()) <= set(demo_result.analysis.weights)


def test_dirichlet_weights_centre_on_the_configured_weights() -> None:
    weights = {"a": 0.5, "b": 0.3, "c": 0.2, "off": 0.0}
    draws = dirichlet_weights(weights, 4000, 100, np.random.default_rng(0))
    assert draws.shape == (4000, 4)
    assert np.allclose(draws.sum(axis=1), 1)
    assert np.allclose(draws.mean(axis=0), [0.5, 0.3, 0.2, 0.0], atol=0.01)
    assert (draws[:, 3] == 0).all()
    assert np.allclose(draws[:, 0].var(), 0.5 * 0.5 / 101, rtol=0.15)
    assert np.array_equal(draws, dirichlet_weights(weights, 4000, 100, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="concentration"):
        dirichlet_weights(weights, 10, 0, np.random.default_rng(0))


def test_swept_and_left_out_weights() -> None:
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    up = swept_weights(weights, "a", 0.5)
    assert up["a"] == pytest.approx(0.75) and sum(up.values()) == pytest.approx(1)
    assert up["b"] / up["c"] == pytest.approx(1.5)
    assert swept_weights({"a": 0.8, "b": 0.2}, "a", 0.5)["a"] == 1.0
    assert swept_weights({"a": 1.0}, "a", -0.5) == {"a": 0.5}
    assert without(weights, "a") == pytest.approx({"b": 0.6, "c": 0.4})
    assert sweep_changes(0.5, 2) == [-0.5, -0.25, 0.25, 0.5]
    with pytest.raises(ValueError, match="no other criterion"):
        without({"a": 1.0}, "a")


def test_rank_labels_orders_by_score_then_size() -> None:
    labels = np.array([1, 1, 2, 2, 2, 3, 3, 3, 0])
    scores = np.array([0.9, 0.9, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.99])
    assert rank_labels(labels, scores, 3).tolist() == [1, 2, 3]
    labels = np.array([1, 2, 2])
    assert rank_labels(labels, np.array([0.7, 0.7, 0.7]), 2).tolist() == [2, 1]


def test_worker_processes_give_the_same_answer(demo_result: RunResult) -> None:
    alone = sensitivity(demo_result, draws=6, concentration=30, top_n=10, seed=5)
    shared = sensitivity(demo_result, draws=6, concentration=30, top_n=10, seed=5, workers=2)
    assert np.array_equal(alone.draw_ranks, shared.draw_ranks)
    assert np.array_equal(alone.draw_weights, shared.draw_weights)


def test_reranking_reproduces_the_base_ranking_and_scores_on_the_demo(demo_result: RunResult) -> None:
    analysis, sites = demo_result.analysis, demo_result.sites
    reranker = SiteReranker(analysis, site_labels(sites, analysis), n_sites=len(sites))
    ranks, count = reranker.ranks(analysis.weights)
    assert count == len(sites)
    assert (ranks == sites["rank"].to_numpy()).all()
    assert np.allclose(reranker.scores(analysis.weights), sites["score"].to_numpy(), rtol=1e-6)


def test_reranking_follows_the_weights_without_a_new_site_search() -> None:
    # B is best on a, C on b: leaving out a (or b) must put C (or B) first; D never qualifies as land
    values = {"A": {"a": 0.7, "b": 0.7}, "B": {"a": 0.95, "b": 0.55}, "C": {"a": 0.55, "b": 0.95},
              "D": {"a": 0.1, "b": 0.1}}
    result = make_result(values, {"a": 0.5, "b": 0.5})
    ids = list(result.sites["site_id"])
    reranker = SiteReranker(result.analysis, site_labels(result.sites, result.analysis))
    assert ids == ["B", "C", "A"]                                   # equal scores: by area, then site order
    assert reranker.ranks({"a": 0.0, "b": 1.0})[0].tolist() == [3, 1, 2]
    assert reranker.ranks({"a": 1.0, "b": 0.0})[0].tolist() == [1, 3, 2]
    outcome = sensitivity(result, draws=50, concentration=20, top_n=1, seed=1, method="rerank")
    assert outcome.settings["method"] == "rerank" and outcome.sites["site_share"].isna().all()
    assert np.isfinite(outcome.draw_ranks).all()
    first = outcome.draw_ranks.argmin(axis=1)
    assert set(first) == {0, 1}                                      # B and C trade first place; A never wins it
    loo = outcome.leave_one_out.set_index(["criterion", "site_id"])["rank"]
    assert loo[("a", "C")] == 1 and loo[("b", "B")] == 1


def test_rerank_and_search_agree_where_the_sites_keep_their_land() -> None:
    values = {"A": {"a": 0.95, "b": 0.95, "c": 0.95}, "B": {"a": 0.9, "b": 0.6, "c": 0.6},
              "C": {"a": 0.6, "b": 0.9, "c": 0.6}}
    result = make_result(values, {"a": 0.4, "b": 0.4, "c": 0.2})
    fast = sensitivity(result, draws=100, concentration=5, top_n=1, seed=3, method="rerank")
    thorough = sensitivity(result, draws=100, concentration=5, top_n=1, seed=3, method="search")
    assert np.array_equal(fast.draw_ranks, thorough.draw_ranks)
    assert fast.sites["most_sensitive_to"].equals(thorough.sites["most_sensitive_to"])


def test_add_robustness_reranks_by_default(demo_result: RunResult) -> None:
    fast = add_robustness(demo_result, draws=20, top_n=10, seed=2)
    assert fast["site_share"].isna().all()
    assert fast["top_n_share"].between(0, 1).all()
    assert (fast["rank_p05"] <= fast["rank_p95"]).all()
    with pytest.raises(ValueError, match="unknown sensitivity method"):
        add_robustness(demo_result, draws=2, method="guess")  # type: ignore[arg-type]


def test_search_draws_on_a_dask_cluster_give_the_same_answer(demo_result: RunResult) -> None:
    alone = sensitivity(demo_result, draws=4, concentration=30, top_n=10, seed=5)
    cluster = sensitivity(demo_result, draws=4, concentration=30, top_n=10, seed=5, workers=1, scheduler="local")
    assert np.array_equal(alone.draw_ranks, cluster.draw_ranks)


def test_a_scheduler_that_does_not_answer_is_a_clear_error(demo_result: RunResult) -> None:
    import socket
    import time

    from geo.errors import ConfigError

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=rf"Dask scheduler 'tcp://127.0.0.1:{port}' did not answer"):
        sensitivity(demo_result, draws=2, seed=0, scheduler=f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - start < 30


def test_run_record_names_the_robustness_method(demo_store) -> None:
    from geo.api import run

    result = run(store=demo_store, runs_dir=None, robustness_draws=12)
    robustness = result.record.robustness
    assert robustness is not None and robustness.method == "rerank"
    assert "no new site search" in (robustness.method_text or "")
    assert result.sites["top_n_share"].between(0, 1).all() and result.sites["site_share"].isna().all()


def test_cli_chooses_the_method_and_rejects_a_silent_scheduler(tmp_path, demo_store) -> None:
    import json
    import socket

    from click.testing import CliRunner

    from geo.cli import cli

    runner = CliRunner()
    args = ["sensitivity", "--store", str(demo_store.root), "--draws", "6", "--top-n", "5", "-q"]
    out = tmp_path / "robust.json"
    done = runner.invoke(cli, [*args, "--method", "rerank", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["settings"]["method"] == "rerank"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    failed = runner.invoke(cli, args, env={"GEO_DASK_SCHEDULER": f"tcp://127.0.0.1:{port}"})
    assert failed.exit_code == 3 and f"tcp://127.0.0.1:{port}" in failed.output and "did not answer" in failed.output


@pytest.mark.parametrize("method", ["weighted_sum", "weighted_product"])
def test_reranked_scores_are_the_means_of_the_aggregated_cell_scores(method: str) -> None:
    from geo.sites import label_stats

    values = {"A": {"a": 0.9, "b": np.nan, "c": 0.6}, "B": {"a": 0.7, "b": 0.8, "c": 0.0},
              "C": {"a": 0.6, "b": 0.9, "c": 0.8}}
    result = make_result(values, {"a": 0.5, "b": 0.3, "c": 0.2})
    analysis = result.analysis
    analysis.config = analysis.config.model_copy(
        update={"aggregation": analysis.config.aggregation.model_copy(update={"method": method})})
    labels = site_labels(result.sites, analysis)
    reranker = SiteReranker(analysis, labels)
    for weights in ({"a": 0.5, "b": 0.3, "c": 0.2}, {"a": 0.1, "b": 0.1, "c": 0.8}, {"a": 0.0, "b": 1.0, "c": 0.0}):
        cells = analysis.cell_scores(weights, method)
        expected = label_stats(labels.ravel(), cells, len(result.sites))
        assert np.allclose(reranker.scores(weights), expected, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("method", ["weighted_sum", "weighted_product"])
def test_a_reranker_from_per_region_sums_scores_as_the_cells_do(method: str) -> None:
    """Sites reduced region by region (as the chunked path does), joined in table order, score as their cells."""
    from geo.aggregate import aggregate
    from geo.reranking import SiteTerms
    from geo.sites import label_stats

    rng = np.random.default_rng(4)
    names, n_sites, cells, product = ["a", "b", "c"], 9, 600, method == "weighted_product"
    site = rng.integers(0, n_sites, cells)
    subscores = rng.random((cells, len(names))).astype(np.float16)
    subscores[rng.random(subscores.shape) < 0.2] = np.nan
    subscores[rng.random(subscores.shape) < 0.05] = 0.0
    subscores[site == 4] = np.nan                                  # a site with no known score
    order = rng.permutation(n_sites)                               # table row i is site order[i]
    row_of = np.argsort(order)
    regions = [SiteTerms.from_cells(names, site[site // 3 == k] - 3 * k, subscores[site // 3 == k], 3, product)
               for k in range(3)]
    joined = SiteTerms.join(regions, order)
    whole = SiteReranker.from_terms(SiteTerms.from_cells(names, row_of[site], subscores, n_sites, product))
    reranker = SiteReranker.from_terms(joined)
    assert len(joined.site) == (cells if product else len(np.unique(joined.site * 8 + joined.pattern)))
    assert product or len(joined.site) < cells / 5                 # a sum needs a few groups per site, not the cells
    for weights in ({"a": 0.5, "b": 0.3, "c": 0.2}, {"a": 0.1, "b": 0.1, "c": 0.8}, {"a": 0.0, "b": 1.0, "c": 0.0}):
        expected = label_stats(site + 1, aggregate({n: subscores[:, j] for j, n in enumerate(names)}, weights,
                                                   method), n_sites)[order]
        scores = reranker.scores(weights)
        assert np.isnan(scores[row_of[4]]) and np.isfinite(np.delete(scores, row_of[4])).all()
        np.testing.assert_allclose(scores, expected, rtol=1e-6)
        np.testing.assert_array_equal(scores, whole.scores(weights))
        np.testing.assert_array_equal(reranker.ranks(weights)[0], whole.ranks(weights)[0])
