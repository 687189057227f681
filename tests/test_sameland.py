"""The one rule of "the same land", on polygons and on cells."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from affine import Affine
from rasterio import features
from shapely.geometry import box, shape
from shapely.ops import unary_union

from geo.sameland import covering_zone, match_cells, match_sites, pair_up


def _frame(geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"rank": np.arange(1, len(geoms) + 1)}, geometry=geoms, crs="EPSG:5070")


def test_match_sites_needs_half_of_the_smaller_and_is_one_to_one() -> None:
    left = _frame([box(0, 0, 1000, 1000), box(5000, 0, 6000, 1000), box(10000, 0, 11000, 1000)])
    right = _frame([
        box(400, 0, 1400, 1000),        # 60 % of the first: the same land
        box(5700, 0, 6700, 1000),       # 30 % of the second: not the same
        box(10000, 0, 10900, 1000),     # 90 % of the third
        box(10100, 0, 11000, 1000),     # 90 % as well: on equal overlaps the first is taken
    ])
    assert match_sites(left, right).tolist() == [0, -1, 2]
    assert match_sites(right, left).tolist() == [0, -1, 2, -1]
    assert match_sites(left.iloc[:0], right).tolist() == []


def test_a_small_site_inside_a_large_one_is_the_same_land() -> None:
    # half of the smaller, not of the larger: a 1 km2 site inside a 9 km2 one matches it
    assert match_sites(_frame([box(0, 0, 1000, 1000)]), _frame([box(0, 0, 3000, 3000)])).tolist() == [0]


def test_pairs_are_taken_largest_shared_area_first() -> None:
    # site 0 shares 6 with partner 0 and 8 with partner 1; site 1 shares 7 with partner 1
    partner = pair_up(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([6.0, 8.0, 7.0]),
                      np.array([10.0, 10.0, 10.0]), np.array([10.0, 10.0, 10.0]), n_left=2)
    assert partner.tolist() == [1, -1]


def _polygons(labels: np.ndarray, transform: Affine) -> gpd.GeoDataFrame:
    count = int(labels.max())
    geoms = [unary_union([shape(g) for g, _ in features.shapes((labels == k).astype(np.uint8),
                                                                mask=labels == k, transform=transform)])
             for k in range(1, count + 1)]
    return _frame(geoms)


def test_cells_and_polygons_give_the_same_answer() -> None:
    rng = np.random.default_rng(3)
    transform = Affine(250, 0, -1_500_000, 0, -250, 1_800_000)
    for _ in range(5):
        left = rng.integers(0, 5, size=(12, 12)).repeat(2, axis=0).repeat(2, axis=1)
        right = np.roll(left, rng.integers(-3, 4), axis=int(rng.integers(0, 2)))
        right = np.where(rng.random(right.shape) < 0.2, 0, right)
        left_sizes = np.bincount(left.ravel(), minlength=5)[1:]
        right_sizes = np.bincount(right.ravel(), minlength=5)[1:]
        both = (left > 0) & (right > 0)
        by_cells = match_cells(left[both], right[both], left_sizes, right_sizes)
        by_polygons = match_sites(_polygons(left, transform), _polygons(right, transform))
        assert by_cells.tolist() == (by_polygons + 1).tolist()


def test_covering_zone_takes_the_largest_share() -> None:
    zones = gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[box(0, 0, 600, 1000), box(600, 0, 2000, 1000)],
                             crs="EPSG:5070")
    sites = gpd.GeoSeries([box(0, 0, 1000, 1000), box(5000, 0, 6000, 1000)], crs="EPSG:5070")
    assert covering_zone(sites, zones, ["name"])["name"].tolist() == ["west", None]
