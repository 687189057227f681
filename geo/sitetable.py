"""The site table: one row per site, ranked, with the breakdown behind its score and what lies nearest."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
from affine import Affine
from rasterio import features
from scipy import ndimage
from shapely import STRtree
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from geo.aggregate import Method
from geo.analysis import Analysis
from geo.config import Criterion
from geo.criteria import select_features
from geo.grid import Grid
from geo.gridstrength import effective_voltage_kv
from geo.sameland import covering_zone
from geo.sites import compactness, label_stats
from geo.types import STORE_CRS


def rank(analysis: Analysis, weights: Mapping[str, float] | None = None,
         method: Method | None = None) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Score cells, find and describe sites.

    Parameters
    ----------
    analysis
        The prepared analysis.
    weights, method
        Weights and aggregation other than the configuration's (default: its own).

    Returns
    -------
    tuple[GeoDataFrame, numpy.ndarray, numpy.ndarray]
        The site table, the site labels on the grid, and the scores of the eligible
        cells (aligned with ``analysis.eligible``).
    """
    cell_scores = analysis.cell_scores(weights, method)
    labels = analysis.site_labels(cell_scores)
    sites = describe_sites(analysis, labels, cell_scores)
    return sites, labels, cell_scores


def site_id(state: str, x: float, y: float) -> str:
    """A stable id from the state and the site's centroid (EPSG:5070) rounded to 100 m.

    Parameters
    ----------
    state
        The state code.
    x, y
        The site's centroid in EPSG:5070 metres.

    Returns
    -------
    str
        E.g. ``NV-3FA2C1``.
    """
    key = f"{round(x / 100)}:{round(y / 100)}".encode()
    return f"{state}-{hashlib.blake2s(key, digest_size=3).hexdigest().upper()}"


def describe_sites(analysis: Analysis, labels: np.ndarray, cell_scores: np.ndarray) -> gpd.GeoDataFrame:
    """The site table: one row per labelled site, ranked, with the breakdown behind its score.

    Columns: ``rank``, ``site_id``, ``score``, ``area_acres``, ``state``, ``county``,
    ``agency``, ``unit_name``, ``lon``/``lat`` (centroid), then per criterion
    ``<name>_score`` (mean sub-score), ``<name>_value`` (mean raw value, in the
    criterion's unit) and ``<name>_contribution`` (its share of the score), then the
    nearest features (``nearest_line_kv``, ``nearest_line_km``, ``nearest_substation``,
    ``nearest_substation_km``, ``nearest_town``, ``nearest_town_km``) and ``caveats``
    (the synthetic, proxy or partial layers behind every score). The geometry is the
    site polygon in EPSG:4326.

    ``labels`` mark eligible cells only, as :meth:`Analysis.site_labels` makes them, so
    each site's sub-scores are the ones the analysis already holds for its cells.

    Parameters
    ----------
    analysis
        The prepared analysis.
    labels
        int32 site labels on the grid.
    cell_scores
        Scores of the eligible cells the labels were found from.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site, best first.
    """
    count = int(labels.max())
    columns = _site_columns(analysis)
    if count == 0:
        return gpd.GeoDataFrame(columns=columns, geometry=[], crs=STORE_CRS)
    grid = analysis.grid
    on_eligible = labels.ravel()[analysis.eligible]
    in_site = np.flatnonzero(on_eligible)  # positions among the eligible cells: a small share of them
    cells, site_of = analysis.eligible[in_site], on_eligible[in_site].astype(np.intp)  # bincount's own type
    n_cells = np.bincount(site_of, minlength=count + 1)[1:]
    rows, cols = np.divmod(cells, grid.width)
    x, y = grid.cell_centres(label_stats(site_of, rows, count), label_stats(site_of, cols, count))
    table: dict[str, object] = {
        "score": label_stats(site_of, cell_scores[in_site], count),
        "area_acres": n_cells * grid.cell_acres,
        "n_cells": n_cells,
    }
    weights = analysis.weights
    for criterion in analysis.criteria:
        sub = label_stats(site_of, analysis.subscores[criterion.name][in_site], count)
        table[f"{criterion.name}_value"] = label_stats(site_of, analysis.raw[criterion.name][in_site], count)
        table[f"{criterion.name}_score"] = sub
        table[f"{criterion.name}_contribution"] = weights[criterion.name] * sub
    return site_table(analysis, table, site_polygons(labels, grid, count, _windows(site_of, rows, cols, count)),
                      x, y)[0]


def _windows(site_of: np.ndarray, rows: np.ndarray, cols: np.ndarray,
             count: int) -> list[tuple[slice, slice] | None]:
    """Each site's bounding window on the grid from its cells' rows and columns (None for a site with no cell)."""
    first_row, first_col = np.full(count + 1, np.iinfo(np.int64).max), np.full(count + 1, np.iinfo(np.int64).max)
    last_row, last_col = np.full(count + 1, -1), np.full(count + 1, -1)
    for reduce, out, values in ((np.minimum, first_row, rows), (np.minimum, first_col, cols),
                                (np.maximum, last_row, rows), (np.maximum, last_col, cols)):
        reduce.at(out, site_of, values)
    return [(slice(first_row[k], last_row[k] + 1), slice(first_col[k], last_col[k] + 1)) if last_row[k] >= 0
            else None for k in range(1, count + 1)]


def site_table(analysis: Analysis, table: dict[str, object], polygons: list[BaseGeometry],
               x: np.ndarray, y: np.ndarray) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The ranked site table from per-site figures, polygons and centroids (grid CRS), and where each row came from.

    The in-memory path (:func:`describe_sites`) and the chunked one
    (:mod:`geo.chunked`, which measures each region on its own window) both end here,
    so their tables agree column for column.

    Parameters
    ----------
    analysis
        The analysis behind the sites (configuration, layers, criteria, provenance).
    table
        Per-site columns: ``score``, ``area_acres``, ``n_cells`` and the criteria's
        ``_value``, ``_score`` and ``_contribution`` columns.
    polygons
        Each site's polygon in the grid CRS, in the order of ``table``.
    x, y
        Each site's centroid in the grid CRS.

    Returns
    -------
    tuple[geopandas.GeoDataFrame, numpy.ndarray]
        The table :func:`describe_sites` returns, and for each of its rows the position
        of the site in ``table`` (int64).
    """
    grid, columns = analysis.grid, _site_columns(analysis)
    if not polygons:
        return gpd.GeoDataFrame(columns=columns, geometry=[], crs=STORE_CRS), np.zeros(0, dtype=np.int64)
    sites = gpd.GeoDataFrame(table, geometry=polygons, crs=grid.crs)
    sites[["county", "state"]] = covering_zone(sites.geometry, analysis.layers["counties"], ["name", "state"])
    land = analysis.layers.get("federal_land")
    if land is not None and analysis.config.land.federal_only:
        land = land[land["is_federal"].fillna(False).to_numpy(dtype=bool)]  # the land the sites stand on
    if land is None:
        sites["agency"], sites["unit_name"], sites["ownership_source"] = "UNKNOWN", None, None
    else:
        managed = covering_zone(sites.geometry, land, ["agency", "unit_name", "source"])
        sites[["agency", "unit_name", "ownership_source"]] = managed.to_numpy()
        sites["agency"] = sites["agency"].fillna("UNKNOWN")
    sites["compactness"] = compactness(sites.geometry)
    sites["terrain"] = analysis.terrain
    centroids = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=grid.crs).to_crs(STORE_CRS)
    sites["lon"], sites["lat"] = centroids.x.to_numpy(), centroids.y.to_numpy()
    sites["state"] = sites["state"].fillna("??")
    sites["site_id"] = [site_id(st, cx, cy) for st, cx, cy in zip(sites["state"], x, y, strict=True)]
    _add_nearest(sites, analysis)
    sites["caveats"] = data_caveats(analysis)
    sites = sites.sort_values(["score", "area_acres", "site_id"], ascending=[False, False, True], kind="stable")
    order = sites.index.to_numpy(dtype=np.int64)
    sites.insert(0, "rank", np.arange(1, len(sites) + 1))
    sites["state_rank"] = sites.groupby("state").cumcount().to_numpy() + 1
    sites = sites.reset_index(drop=True).to_crs(STORE_CRS)
    return sites[[*columns, "geometry"]], order


def _site_columns(analysis: Analysis) -> list[str]:
    columns = ["rank", "state_rank", "site_id", "score", "area_acres", "n_cells", "compactness", "state", "county",
               "agency", "unit_name", "ownership_source", "lon", "lat"]
    for criterion in analysis.criteria:
        columns += [f"{criterion.name}_score", f"{criterion.name}_value", f"{criterion.name}_contribution"]
    return columns + list(NEAREST_COLUMNS) + ["terrain", "caveats"]


def data_caveats(analysis: Analysis) -> str:
    """One line naming every synthetic, proxy or partial layer behind the analysis ('' when none).

    Parameters
    ----------
    analysis
        The prepared analysis, with the provenance of its layers.

    Returns
    -------
    str
        The caveats, separated by semicolons.
    """
    if analysis.synthetic and all(p.synthetic for p in analysis.provenance.values()):
        return "SYNTHETIC demo data: every layer is made up"
    return "; ".join(f"{name}: {p.caveat}" for name, p in analysis.provenance.items() if p.caveat)


NEAREST_COLUMNS = ("nearest_line_kv", "nearest_line_km", "nearest_substation", "nearest_substation_kv",
                   "nearest_substation_km", "nearest_town", "nearest_town_population", "nearest_town_km")


def site_polygons(labels: np.ndarray, grid: Grid, count: int,
                  windows: Sequence[tuple[slice, slice] | None] | None = None) -> list[BaseGeometry]:
    """One (multi)polygon per site from its cells, traced window by window.

    Parameters
    ----------
    labels
        Site labels (0: no site) on ``grid``.
    grid
        The grid the labels lie on (a window of the analysis grid is fine).
    count
        The number of sites (the largest label).
    windows
        Each site's bounding window, when the caller knows them (None: found by a pass over ``labels``).

    Returns
    -------
    list[BaseGeometry]
        The polygon of site ``k`` at index ``k - 1``, in the grid CRS (empty for a label with no cell).
    """
    polygons: list[BaseGeometry] = [Polygon()] * count
    for site, window in enumerate(ndimage.find_objects(labels) if windows is None else windows, start=1):
        if window is None:
            continue
        inside = (labels[window] == site).astype(np.uint8)
        transform = grid.transform @ Affine.translation(window[1].start, window[0].start)
        parts = [shape(geom) for geom, value in features.shapes(inside, mask=inside.astype(bool),
                                                                  transform=transform, connectivity=8)]
        polygons[site - 1] = unary_union(parts)
    return polygons


def _add_nearest(sites: gpd.GeoDataFrame, analysis: Analysis) -> None:
    """Nearest qualifying line, substation and town of each site, measured from its polygon."""
    for column in NEAREST_COLUMNS:
        sites[column] = np.nan if column.endswith(("_km", "_kv", "_population")) else None
    line_rule = _rule_for(analysis, "transmission")
    targets = {
        "transmission": ("nearest_line", line_rule),
        "substations": ("nearest_substation", _rule_for(analysis, "substations")),
        "places": ("nearest_town", _rule_for(analysis, "places")),
    }
    for layer, (prefix, rule) in targets.items():
        frame = analysis.layers.get(layer)
        if frame is None:
            continue
        if rule is not None:
            frame = select_features(rule, layer, frame)
        if len(frame) == 0:
            continue
        tree_index, distance = _nearest(sites.geometry, frame.geometry)
        sites[f"{prefix}_km"] = distance / 1000.0
        nearest = frame.iloc[tree_index]
        if layer == "transmission":
            sites["nearest_line_kv"] = effective_voltage_kv(nearest)
        elif layer == "substations":
            sites["nearest_substation"] = nearest["name"].to_numpy(dtype=object)
            sites["nearest_substation_kv"] = nearest["max_voltage_kv"].to_numpy(dtype="float64", na_value=np.nan)
        else:
            sites["nearest_town"] = nearest["name"].to_numpy(dtype=object)
            sites["nearest_town_population"] = nearest["population"].to_numpy(dtype="float64", na_value=np.nan)


def _rule_for(analysis: Analysis, layer: str) -> Criterion | None:
    """The first active criterion that reads ``layer`` alone, whose filters define 'qualifying'."""
    return next((c for c in analysis.criteria if c.layers == [layer]), None)


def _nearest(geoms: gpd.GeoSeries, targets: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    tree = STRtree(targets.to_numpy())
    (src, dst), dist = tree.query_nearest(geoms.to_numpy(), return_distance=True, all_matches=False)
    index = np.zeros(len(geoms), dtype=np.int64)
    distance = np.full(len(geoms), np.nan)
    index[src], distance[src] = dst, dist
    return index, distance


__all__ = ["NEAREST_COLUMNS", "data_caveats", "describe_sites", "rank", "site_id", "site_polygons", "site_table"]
