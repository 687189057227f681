"""Which sites are the same land: one rule for scenario comparison, the map, sensitivity and site tables.

The rule
--------
Two sites (of two rankings: two scenarios, or a run and a re-weighted draw of it) are
**the same land when the area they share is at least half of the smaller site**
(:data:`MIN_SHARED`). Matching is **one to one**: candidate pairs are taken largest
shared area first (ties: the earlier site of the first ranking, then of the second),
and a site already matched is not matched again. A site with no partner is "not a
site" in the other ranking.

The rule is measured on polygons (:func:`match_sites`) or, on one grid, on cells
(:func:`match_cells`); site polygons are traced along cell edges, so both give the
same answer for sites of one grid.

A site's county, state or managing agency is the zone it shares the most area with
(:func:`covering_zone`): zones do not overlap, so there "the same land" is simply the
largest share.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.types import ANALYSIS_CRS

#: Two sites are the same land when they share at least this share of the smaller one.
MIN_SHARED = 0.5


def pair_up(left: np.ndarray, right: np.ndarray, shared: np.ndarray, left_size: np.ndarray,
            right_size: np.ndarray, n_left: int) -> np.ndarray:
    """Apply the rule to candidate pairs of sites.

    Parameters
    ----------
    left, right
        Index of each candidate pair's site in the first and second ranking.
    shared
        Area (or cells) each pair shares.
    left_size, right_size
        Area (or cells) of each pair's two sites.
    n_left
        Sites in the first ranking.

    Returns
    -------
    numpy.ndarray
        For each site of the first ranking, the index of its partner in the second
        (-1 where none), int64.
    """
    out = np.full(n_left, -1, dtype=np.int64)
    keep = shared >= MIN_SHARED * np.minimum(left_size, right_size)
    left, right, shared = left[keep], right[keep], shared[keep]
    taken: set[int] = set()
    for k in np.lexsort((right, left, -shared)):
        a, b = int(left[k]), int(right[k])
        if out[a] < 0 and b not in taken:
            out[a] = b
            taken.add(b)
    return out


def match_sites(left: gpd.GeoDataFrame, right: gpd.GeoDataFrame) -> np.ndarray:
    """For each row of ``left``, the row of ``right`` that is the same land (-1 where none).

    Parameters
    ----------
    left, right
        Two site tables (any CRS; areas are measured in the equal-area analysis CRS).

    Returns
    -------
    numpy.ndarray
        Row positions in ``right`` (int64), -1 where a site of ``left`` has no partner.
    """
    if len(left) == 0 or len(right) == 0:
        return np.full(len(left), -1, dtype=np.int64)
    a = left.geometry.to_crs(ANALYSIS_CRS).to_numpy()
    b = right.geometry.to_crs(ANALYSIS_CRS).to_numpy()
    ia, ib = shapely.STRtree(b).query(a, predicate="intersects")
    shared = shapely.area(shapely.intersection(a[ia], b[ib]))
    return pair_up(ia, ib, shared, shapely.area(a)[ia], shapely.area(b)[ib], len(left))


def match_cells(left_of: np.ndarray, right_of: np.ndarray, left_sizes: np.ndarray,
                right_sizes: np.ndarray) -> np.ndarray:
    """The rule on one grid: for each site of the first labelling, its partner in the second.

    Parameters
    ----------
    left_of, right_of
        For each cell that lies in a site of both labellings, its two labels (from 1).
    left_sizes, right_sizes
        Cells of each site, label ``k`` at position ``k - 1``.

    Returns
    -------
    numpy.ndarray
        For label ``k`` of the first labelling (at position ``k - 1``), the label of its
        partner in the second (0 where none), int64. Ties between partners go to the lower label.
    """
    n_left, n_right = len(left_sizes), len(right_sizes)
    if left_of.size == 0 or n_left == 0 or n_right == 0:
        return np.zeros(n_left, dtype=np.int64)
    keys, shared = np.unique(left_of.astype(np.int64) * (n_right + 1) + right_of, return_counts=True)
    pair_left, pair_right = np.divmod(keys, n_right + 1)
    partner = pair_up(pair_left - 1, pair_right - 1, shared, left_sizes[pair_left - 1],
                      right_sizes[pair_right - 1], n_left)
    return partner + 1


def covering_zone(geoms: gpd.GeoSeries, zones: gpd.GeoDataFrame, columns: list[str]) -> pd.DataFrame:
    """For each geometry, ``columns`` of the zone that shares most of its area (missing where none does).

    Parameters
    ----------
    geoms
        Site polygons, in an equal-area CRS.
    zones
        Non-overlapping zones (counties, managed land) in any CRS.
    columns
        Columns of ``zones`` to report.

    Returns
    -------
    pandas.DataFrame
        ``columns`` for each geometry, indexed like ``geoms``.
    """
    zones = zones.to_crs(geoms.crs).reset_index(drop=True)
    site, zone = zones.sindex.query(geoms.to_numpy(), predicate="intersects")
    shared = shapely.area(shapely.intersection(geoms.to_numpy()[site], _valid(zones.geometry.to_numpy(), zone)))
    out = pd.DataFrame({c: pd.Series([None] * len(geoms), dtype=object) for c in columns})
    order = np.lexsort((-shared, site))  # by site, the largest share first
    first = order[np.r_[True, site[order][1:] != site[order][:-1]]] if order.size else order
    best = first[shared[first] > 0]
    for column in columns:
        out.loc[site[best], column] = zones[column].iloc[zone[best]].astype(object).to_numpy()
    return out.set_index(geoms.index)


def _valid(polygons: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``polygons[at]``, an invalid one made valid and kept to its polygonal parts (as geopandas' overlay does)."""
    each, position = np.unique(at, return_inverse=True)
    picked = polygons[each]
    for i in np.flatnonzero(~shapely.is_valid(picked)):
        parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(picked[i])))
        picked[i] = shapely.multipolygons(parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON])
    return picked[position]


__all__ = ["MIN_SHARED", "covering_zone", "match_cells", "match_sites", "pair_up"]
