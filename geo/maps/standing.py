"""A site's standing in another scenario's site table, for the popup's "in other scenarios" lines."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from geo.types import ANALYSIS_CRS


def scenario_standing(sites: gpd.GeoDataFrame, other: gpd.GeoDataFrame) -> list[str]:
    """For each site, its standing in another site table: the rank of the site overlapping it most."""
    if len(other) == 0:
        return ["not a site"] * len(sites)
    left = sites[["geometry"]].to_crs(ANALYSIS_CRS).assign(_i=np.arange(len(sites)))
    right = other[["rank", "score", "geometry"]].to_crs(ANALYSIS_CRS)
    pairs = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    out = ["not a site"] * len(sites)
    if len(pairs) == 0:
        return out
    pairs["_area"] = pairs.geometry.area
    best = pairs.sort_values(["_i", "_area"], ascending=[True, False]).drop_duplicates("_i")
    for i, rank, score in zip(best["_i"], best["rank"], best["score"]):
        out[int(i)] = f"rank {int(rank)} (score {score:.3f})"
    return out
