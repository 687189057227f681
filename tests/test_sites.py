"""Candidate sites: minimum area, splitting, ids and per-site statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from geo.config import SiteRules
from geo.grid import Grid
from geo.sites import find_sites, label_regions, label_stats
from geo.sitetable import site_id

# 1 km cells: 247.1 acres each, so 1,000 acres = 5 cells and 2,500 acres = 10 cells.
GRID = Grid.covering((0, 0, 10_000, 10_000), 1000)
RULES = SiteRules(min_area_acres=1000, max_area_acres=2500)


def test_regions_below_minimum_area_are_dropped() -> None:
    suitable = np.zeros(GRID.shape, dtype=bool)
    suitable[0, :4] = True          # 4 cells: too small
    suitable[5, :5] = True          # 5 cells: a site
    labels = find_sites(suitable, GRID, RULES)
    assert labels.max() == 1
    assert (labels[5, :5] == 1).all() and (labels[0] == 0).all()


def test_diagonal_cells_are_connected() -> None:
    suitable = np.zeros(GRID.shape, dtype=bool)
    for i in range(5):
        suitable[i, i] = True
    assert find_sites(suitable, GRID, RULES).max() == 1


def test_large_region_is_split_into_park_sized_sites() -> None:
    suitable = np.zeros(GRID.shape, dtype=bool)
    suitable[0:2, :] = True         # 20 cells = 4,942 acres > 2,500
    labels = find_sites(suitable, GRID, RULES)
    sizes = np.bincount(labels.ravel())[1:]
    assert sizes.tolist() == [10, 10]
    assert (labels[0:2, :5] == 1).all() and (labels[0:2, 5:] == 2).all()


def test_split_parts_respect_both_limits() -> None:
    suitable = np.ones(GRID.shape, dtype=bool)
    labels = find_sites(suitable, GRID, RULES)
    sizes = np.bincount(labels.ravel())[1:]
    assert sizes.min() >= 5 and sizes.max() <= 10
    assert sizes.sum() == 100


def test_site_id_is_stable_and_rounded() -> None:
    assert site_id("NV", -1_700_000.0, 2_000_000.0) == site_id("NV", -1_700_020.0, 2_000_040.0)
    assert site_id("NV", 0.0, 0.0) != site_id("UT", 0.0, 0.0)
    assert site_id("NV", 0.0, 0.0).startswith("NV-")


def test_label_stats() -> None:
    labels = np.array([1, 1, 2, 2, 2])
    assert label_stats(labels, np.array([1.0, 3.0, np.nan, 4.0, 6.0]), 2).tolist() == [2.0, 5.0]
    assert np.isnan(label_stats(np.array([1]), np.array([np.nan]), 1)[0])


def test_rules_reject_max_below_twice_min() -> None:
    with pytest.raises(ValueError, match="at least twice"):
        SiteRules(min_area_acres=1000, max_area_acres=1500)


@pytest.mark.parametrize(("resolution", "width", "block"), [(90, 1000, 97), (250, 1000, 64), (30, 600, 128)])
def test_buildable_land_block_by_block_is_the_whole_array_rule(resolution: float, width: float, block: int) -> None:
    from scipy import ndimage

    from geo.sites import buildable_core, buildable_land

    noise = ndimage.gaussian_filter(np.random.default_rng(0).random((600, 500)), 6)
    suitable = noise > np.quantile(noise, 0.6)
    suitable[:, :3] = suitable[-2:, :] = True   # suitable land along the edges, where the border counts
    expected = buildable_core(suitable, resolution, width)
    assert expected.any() and not expected.all()
    assert np.array_equal(buildable_land(suitable, resolution, width, block=block), expected)


@pytest.mark.parametrize("density", [0.0, 0.05, 0.3, 0.6, 1.0])
@pytest.mark.parametrize("shape", [(1, 1), (1, 40), (37, 1), (123, 157)])
def test_label_regions_numbers_regions_as_scipy_does(density: float, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(int(density * 100) + shape[0])
    mask = rng.random(shape) < density
    labels, count = label_regions(mask)
    expected, expected_count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    assert count == expected_count
    assert labels.dtype == np.int32
    assert np.array_equal(labels, expected)


def test_label_regions_joins_diagonal_neighbours() -> None:
    mask = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 0, 1]], dtype=bool)
    labels, count = label_regions(mask)
    assert count == 4
    assert labels.tolist() == [[1, 0, 0, 2], [0, 1, 0, 2], [0, 0, 0, 0], [3, 3, 0, 4]]
