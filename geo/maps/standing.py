"""A site's standing in another scenario's site table, for the popup's "in other scenarios" lines."""

from __future__ import annotations

import geopandas as gpd

from geo.sameland import match_sites


def scenario_standing(sites: gpd.GeoDataFrame, other: gpd.GeoDataFrame) -> list[str]:
    """For each site, its standing in another site table: the rank of the same land there.

    Parameters
    ----------
    sites
        The run's site table.
    other
        Another scenario's site table (``rank``, ``score``, polygons).

    Returns
    -------
    list of str
        One line per site, "rank 4 (score 0.812)" or "not a site", by the rule of :mod:`geo.sameland`.
    """
    partner = match_sites(sites, other)
    ranks, scores = other["rank"].to_numpy(), other["score"].to_numpy()
    return [f"rank {int(ranks[k])} (score {scores[k]:.3f})" if k >= 0 else "not a site" for k in partner]
