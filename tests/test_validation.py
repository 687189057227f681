"""Validation measures: ROC AUC, its bootstrap interval, rank percentiles, and labelled places on the demo."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geo.api import RunResult
from geo.errors import InputError
from geo.store import LayerStore
from geo.validation import (
    bootstrap_auc_interval,
    median_rank_percentile,
    parse_labels,
    rank_percentiles,
    roc_auc,
    validate,
)


def test_auc_of_perfect_reversed_and_tied_sets() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1, 0.0])
    assert roc_auc(scores, labels) == 1.0
    assert roc_auc(-scores, labels) == 0.0
    assert roc_auc(np.full(7, 0.5), labels) == 0.5
    # one positive tied with one negative: that pair counts half of 1 / (3 * 4)
    tied = np.array([0.9, 0.8, 0.3, 0.3, 0.2, 0.1, 0.0])
    assert roc_auc(tied, labels) == pytest.approx(1 - 0.5 / 12)


def test_auc_equals_the_mann_whitney_statistic() -> None:
    rng = np.random.default_rng(4)
    scores = np.round(rng.random(60), 1)  # rounding makes ties
    labels = rng.random(60) < 0.3
    u = stats.mannwhitneyu(scores[labels], scores[~labels]).statistic
    assert roc_auc(scores, labels) == pytest.approx(u / (labels.sum() * (~labels).sum()))


def test_auc_treats_rejected_places_as_lowest() -> None:
    assert roc_auc(np.array([0.2, -np.inf, 0.1]), np.array([1, 0, 0])) == 1.0


def test_auc_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="one positive and one negative"):
        roc_auc(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(ValueError, match="NaN"):
        roc_auc(np.array([np.nan, 0.2]), np.array([1, 0]))
    with pytest.raises(ValueError, match="0 or 1"):
        roc_auc(np.array([0.1, 0.2]), np.array([1, 2]))


def test_bootstrap_interval_is_seeded_and_brackets_the_auc() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(40), np.zeros(60)].astype(int)
    scores = rng.normal(labels * 1.0, 1.0)
    auc = roc_auc(scores, labels)
    low, high = bootstrap_auc_interval(scores, labels, n=1000, seed=1)
    assert low < auc < high and 0.5 < low and high < 1
    assert (low, high) == bootstrap_auc_interval(scores, labels, n=1000, seed=1)
    narrow = bootstrap_auc_interval(scores, labels, n=1000, level=0.5, seed=1)
    assert low < narrow[0] < narrow[1] < high
    assert bootstrap_auc_interval(np.array([3.0, 2.0, 1.0]), np.array([1, 0, 0]), n=200) == (1.0, 1.0)


def test_rank_percentiles_and_their_median() -> None:
    reference = np.arange(100, dtype=float)
    assert rank_percentiles(reference, np.array([99.5, 49.5, -1.0])).tolist() == [100.0, 50.0, 0.0]
    assert rank_percentiles(reference, np.array([10.0]))[0] == pytest.approx(10.5)  # half the tie counts
    assert median_rank_percentile(reference, np.array([99.5, 49.5, 89.5])) == 90.0
    assert median_rank_percentile(np.array([1.0, np.nan, 3.0]), np.array([2.0])) == 50.0


def test_parse_labels_reads_common_spellings_and_names_the_bad_row() -> None:
    values = pd.Series(["1", "0", "TRUE", "no", "Yes", 1.0, 0])
    assert parse_labels(values, "good", "f.csv").tolist() == [True, False, True, False, True, True, False]
    with pytest.raises(InputError, match=r"f.csv: column 'good', row 3: 'maybe'"):
        parse_labels(pd.Series(["1", "maybe"]), "good", "f.csv")


def test_validate_labelled_places_on_the_demo(demo_store: LayerStore, demo_result: RunResult, tmp_path) -> None:
    sites = demo_result.sites
    cells = demo_result.analysis.cell_scores()
    low_cells = demo_result.analysis.eligible[np.argsort(cells)[:6]]
    rows, cols = np.divmod(low_cells, demo_result.analysis.grid.width)
    x, y = demo_result.analysis.grid.cell_centres(rows, cols)
    low = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=demo_result.analysis.grid.crs).to_crs("EPSG:4326")
    table = pd.concat([
        pd.DataFrame({"lon": sites["lon"].head(6), "lat": sites["lat"].head(6), "known_good": "yes"}),
        pd.DataFrame({"lon": low.x, "lat": low.y, "known_good": "no"}),
        pd.DataFrame({"lon": [-100.0], "lat": [45.0], "known_good": ["no"]}),  # far outside the grid
    ])
    path = tmp_path / "labelled.csv"
    table.to_csv(path, index=False)
    result = validate(path, "known_good", store=demo_store, n_boot=300)
    assert (result.positives, result.negatives, result.dropped) == (6, 6, 1)
    assert result.auc == 1.0 and result.auc_low == 1.0
    assert result.median_rank_percentile > 90
    assert result.places["rank_percentile"].isna().sum() == 1
    with pytest.raises(InputError, match="no column 'good'"):
        validate(path, "good", store=demo_store)
