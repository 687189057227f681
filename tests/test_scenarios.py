"""Scenario comparison: rank correlation, matching sites by land, and presets on the demo region."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from geo.config import load_config
from geo.maps import build_map, scenario_standing
from geo.scenarios import compare, rank_column, rank_correlation, scenario_names
from geo.store import LayerStore


@pytest.mark.parametrize(("a", "b"), [
    ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
    ([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]),
    ([1, 2, 3, 4, 5, 6, 7], [3, 1, 2, 7, 5, 4, 6]),
    ([1, 2, 2, 4, 5], [1, 3, 2, 2, 5]),
])
def test_rank_correlation_matches_scipy(a: list[int], b: list[int]) -> None:
    got = rank_correlation(a, b)
    assert got["kendall_tau"] == pytest.approx(stats.kendalltau(a, b).statistic)
    assert got["spearman_rho"] == pytest.approx(stats.spearmanr(a, b).statistic)
    assert got["kendall_p"] == pytest.approx(stats.kendalltau(a, b).pvalue)


def test_rank_correlation_known_values_and_degenerate_cases() -> None:
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1])["kendall_tau"] == pytest.approx(-1)
    # one discordant pair of six: tau = (5 - 1) / 6
    assert rank_correlation([1, 2, 3, 4], [1, 2, 4, 3])["kendall_tau"] == pytest.approx(4 / 6)
    assert np.isnan(rank_correlation([1], [1])["spearman_rho"])
    assert np.isnan(rank_correlation([1, 2, 3], [2, 2, 2])["kendall_tau"])


def test_scenario_names_are_distinct() -> None:
    configs = [load_config(preset="chip_fab"), load_config(preset="chip_fab"), load_config(preset="fiber_cable_plant")]
    assert scenario_names(configs) == ["chip_fab", "chip_fab-2", "fiber_cable_plant"]


def test_identical_scenarios_agree_completely_and_share_the_analysis(demo_store: LayerStore) -> None:
    config = load_config(preset="chip_fab")
    heavier_water = load_config(preset="chip_fab", overrides={"criteria": {"water_stress": {"weight": 0.6}}})
    result = compare([config, config, heavier_water], demo_store, top_n=5)
    assert result.names == ["chip_fab", "chip_fab-2", "chip_fab-3"]
    analyses = [r.analysis for r in result.results.values()]
    assert analyses[0].subscores is analyses[1].subscores is analyses[2].subscores
    assert analyses[2].weights["water_stress"] > analyses[0].weights["water_stress"]
    same = result.pairs.iloc[0]
    assert (same["top_n_shared"], same["jaccard"], same["kendall_tau"], same["spearman_rho"]) == (5, 1.0, 1.0, 1.0)
    assert same["only_in_a"] == [] and same["only_in_b"] == []
    sites = result.sites["chip_fab"]
    assert (sites[rank_column("chip_fab-2")] == sites["rank"]).all()
    assert result.only_in["chip_fab"] == [] and result.only_in["chip_fab-2"] == []


def test_presets_differ_and_report_sites_in_only_one(demo_store: LayerStore) -> None:
    result = compare([load_config(preset="chip_fab"), load_config(preset="fiber_cable_plant")], demo_store, top_n=10)
    analyses = [r.analysis for r in result.results.values()]
    assert analyses[0].subscores is not analyses[1].subscores  # different minimum voltages: prepared apart
    pair = result.pairs.iloc[0]
    assert pair["top_n_a"] == pair["top_n_b"] == 10
    assert 0 <= pair["top_n_shared"] < 10
    assert pair["jaccard"] == pytest.approx(pair["top_n_shared"] / (20 - pair["top_n_shared"]))
    assert len(pair["only_in_a"]) == 10 - pair["top_n_shared"] == len(result.only_in["chip_fab"])
    fab, cable = result.sites["chip_fab"], result.sites["fiber_cable_plant"]
    matched = fab[fab[rank_column("fiber_cable_plant")].notna()]
    assert len(matched) == pair["matched"] == cable[rank_column("chip_fab")].notna().sum()
    expected = stats.kendalltau(matched["rank"], matched[rank_column("fiber_cable_plant")]).statistic
    assert pair["kendall_tau"] == pytest.approx(expected)
    record = json.loads(json.dumps(result.to_dict()))
    assert record["top_n"] == 10 and len(record["pairs"]) == 1 and len(record["top_sites"]) == 20
    assert set(result.table()["scenario"]) == {"chip_fab", "fiber_cable_plant"}


def test_compare_and_the_map_popups_agree_on_every_site(demo_store: LayerStore) -> None:
    names = ("chip_fab", "transformer_plant")
    result = compare([load_config(preset=n) for n in names], demo_store, top_n=10)
    for this, other in (names, names[::-1]):
        sites = result.sites[this]
        standing = scenario_standing(sites, result.sites[other])
        from_compare = ["not a site" if np.isnan(r) else f"rank {int(r)}" for r in sites[rank_column(other)]]
        assert [s.split(" (score")[0] for s in standing] == from_compare
    assert 0 < result.pairs.iloc[0]["matched"] < len(result.sites["chip_fab"])
    page = build_map(result.results["chip_fab"], scenarios={"transformer_plant": result.sites["transformer_plant"]})
    html = page.get_root().render()
    first = scenario_standing(result.sites["chip_fab"].iloc[:1], result.sites["transformer_plant"])[0]
    assert first in html


def test_compare_needs_two_configurations(demo_store: LayerStore) -> None:
    with pytest.raises(ValueError, match="at least two"):
        compare([load_config()], demo_store)
