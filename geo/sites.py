"""Candidate sites: contiguous suitable land of park size, and the table that explains each one."""

from __future__ import annotations

import hashlib
import logging
import math
import os
from typing import TYPE_CHECKING

import edt
import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from rasterio import features
from scipy import ndimage
from shapely import STRtree
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from geo.config import Criterion, SiteRules
from geo.criteria import select_features
from geo.gridstrength import effective_voltage_kv
from geo.grid import Grid
from geo.types import STORE_CRS

if TYPE_CHECKING:
    from geo.analysis import Analysis

log = logging.getLogger(__name__)

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def find_sites(suitable: np.ndarray, grid: Grid, rules: SiteRules) -> np.ndarray:
    """Label candidate sites on the grid (int32, 0 = no site, sites numbered from 1).

    Sites are 8-connected regions of ``suitable`` cells of at least
    ``rules.min_area_acres``; a region larger than ``rules.max_area_acres`` is cut
    by recursive bisection along its longer side into parts no larger than the
    maximum, and each part keeps only its connected pieces that still reach the
    minimum. The numbering is deterministic: whole regions first in row-major order,
    then the parts of split regions.
    """
    min_cells = max(1, math.ceil(rules.min_area_acres / grid.cell_acres))
    max_cells = max(min_cells, math.floor(rules.max_area_acres / grid.cell_acres))
    regions, count = ndimage.label(suitable, structure=EIGHT_CONNECTED, output=np.int32)
    if count == 0:
        return regions
    rows_per_block = max(1, (1 << 22) // max(1, regions.shape[1]))
    blocks = range(0, regions.shape[0], rows_per_block)
    sizes = sum(np.bincount(regions[i:i + rows_per_block].ravel(), minlength=count + 1) for i in blocks)
    kept = np.flatnonzero(sizes[1:] >= min_cells) + 1
    whole, large = kept[sizes[kept] <= max_cells], kept[sizes[kept] > max_cells]
    # Regions to split are renumbered in place with negative ids, so that a new id never
    # meets an unvisited region's; one lookup then renumbers everything else.
    next_id = len(whole) + 1
    windows = ndimage.find_objects(regions) if len(large) else []
    for region_id in large:
        view = regions[windows[region_id - 1]]
        inside = view == region_id
        view[inside] = 0
        rows, cols = np.nonzero(inside)
        for part_rows, part_cols in _bisect(rows, cols, max_cells):
            # label each part inside its own bounding box: same numbering, far less work than the region window
            local_r, local_c = part_rows - part_rows.min(), part_cols - part_cols.min()
            part = np.zeros((local_r.max() + 1, local_c.max() + 1), dtype=bool)
            part[local_r, local_c] = True
            pieces, n = ndimage.label(part, structure=EIGHT_CONNECTED)
            piece_of = pieces[local_r, local_c]
            keep = np.bincount(piece_of, minlength=n + 1) >= min_cells
            keep[0] = False
            kept = np.flatnonzero(keep)
            new_id = np.zeros(n + 1, dtype=np.int32)
            new_id[kept] = next_id + np.arange(kept.size, dtype=np.int32)
            chosen = keep[piece_of]
            view[part_rows[chosen], part_cols[chosen]] = -new_id[piece_of[chosen]]
            next_id += kept.size
    offset = next_id  # lookup index of value v is v + offset, for v in [-next_id + 1, count]
    lookup = np.zeros(offset + count + 1, dtype=np.int32)
    lookup[:offset] = np.arange(offset, 0, -1)      # -v for the split parts
    lookup[offset + whole] = np.arange(1, len(whole) + 1)
    for start in blocks:
        block = regions[start:start + rows_per_block]
        block[...] = lookup[block + offset]
    log.info("found %d sites in %d suitable regions", next_id - 1, count)
    return regions


def buildable_core(suitable: np.ndarray, resolution_m: float, min_core_width_m: float) -> np.ndarray:
    """The suitable cells that lie inside a disk of ``min_core_width_m`` fitting wholly in suitable land.

    A morphological opening by a disk, done with two exact distance transforms: cells at
    least half the width from any unsuitable cell are cores, and every suitable cell
    within half the width of a core is buildable. Exact to within one cell.
    """
    radius = min_core_width_m / 2
    if radius <= resolution_m or not suitable.any():
        return suitable
    cores = edt.edt(suitable.view(np.uint8), anisotropy=(resolution_m, resolution_m), black_border=True,
                    parallel=os.cpu_count() or 1) >= radius
    if not cores.any():
        return cores
    near_core = edt.edt(np.logical_not(cores).view(np.uint8), anisotropy=(resolution_m, resolution_m),
                        black_border=False, parallel=os.cpu_count() or 1) <= radius
    return near_core & suitable


def compactness(polygons: gpd.GeoSeries) -> np.ndarray:
    """Polsby-Popper compactness, 4 pi area / perimeter squared: 1 for a disk, about 0.785 for a square,
    near 0 for a thin strip (polygons in an equal-area CRS)."""
    perimeter = polygons.length.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(perimeter > 0, 4 * np.pi * polygons.area.to_numpy() / perimeter**2, np.nan)


def _bisect(rows: np.ndarray, cols: np.ndarray, max_cells: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split cells into parts of at most ``max_cells``, cutting across the longer extent."""
    n = rows.size
    if n <= max_cells:
        return [(rows, cols)]
    parts_needed = math.ceil(n / max_cells)
    first_share = (parts_needed // 2) / parts_needed
    if np.ptp(rows) >= np.ptp(cols):
        order = np.lexsort((cols, rows))
    else:
        order = np.lexsort((rows, cols))
    cut = int(round(n * first_share))
    head, tail = order[:cut], order[cut:]
    return _bisect(rows[head], cols[head], max_cells) + _bisect(rows[tail], cols[tail], max_cells)


def site_id(state: str, x: float, y: float) -> str:
    """A stable id from the state and the site's centroid (EPSG:5070) rounded to 100 m."""
    key = f"{round(x / 100)}:{round(y / 100)}".encode()
    return f"{state}-{hashlib.blake2s(key, digest_size=3).hexdigest().upper()}"


def label_stats(labels_flat: np.ndarray, values_flat: np.ndarray, count: int) -> np.ndarray:
    """Mean of ``values`` per label 1..count, ignoring NaN (NaN where a label has no known value)."""
    values = values_flat.astype(np.float64)
    known = ~np.isnan(values)
    sums = np.bincount(labels_flat[known], weights=values[known], minlength=count + 1)
    n = np.bincount(labels_flat[known], minlength=count + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / n
    return means[1:]


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
    """
    count = int(labels.max())
    columns = _site_columns(analysis)
    if count == 0:
        return gpd.GeoDataFrame(columns=columns, geometry=[], crs=STORE_CRS)
    grid = analysis.grid
    on_eligible = labels.ravel()[analysis.eligible]
    in_site = on_eligible > 0
    cells, site_of = analysis.eligible[in_site], on_eligible[in_site]
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
        table[f"{criterion.name}_value"] = label_stats(site_of, analysis.raw[criterion.name].ravel()[cells], count)
        table[f"{criterion.name}_score"] = sub
        table[f"{criterion.name}_contribution"] = weights[criterion.name] * sub
    return site_table(analysis, table, _polygons(labels, grid, count), x, y)


def site_table(analysis: Analysis, table: dict[str, object], polygons: list[BaseGeometry],
               x: np.ndarray, y: np.ndarray) -> gpd.GeoDataFrame:
    """The ranked site table from per-site statistics, polygons and centroids (grid CRS).

    Parameters
    ----------
    analysis
        The analysis behind the sites (configuration, layers, criteria, provenance).
    table
        Per-site columns: ``score``, ``area_acres``, ``n_cells`` and the criteria's
        ``_value``, ``_score`` and ``_contribution`` columns.
    polygons, x, y
        Each site's polygon and centroid in the grid CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The table :func:`describe_sites` returns.
    """
    grid, columns = analysis.grid, _site_columns(analysis)
    if not polygons:
        return gpd.GeoDataFrame(columns=columns, geometry=[], crs=STORE_CRS)
    sites = gpd.GeoDataFrame(table, geometry=polygons, crs=grid.crs)
    sites[["county", "state"]] = _majority(sites.geometry, analysis.layers["counties"], ["name", "state"])
    land = analysis.layers.get("federal_land")
    if land is not None and analysis.config.land.federal_only:
        land = land[land["is_federal"].fillna(False).to_numpy(dtype=bool)]  # the land the sites stand on
    if land is None:
        sites["agency"], sites["unit_name"], sites["ownership_source"] = "UNKNOWN", None, None
    else:
        managed = _majority(sites.geometry, land, ["agency", "unit_name", "source"])
        sites[["agency", "unit_name", "ownership_source"]] = managed.to_numpy()
        sites["agency"] = sites["agency"].fillna("UNKNOWN")
    sites["compactness"] = compactness(sites.geometry)
    sites["terrain"] = analysis.terrain
    centroids = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=grid.crs).to_crs(STORE_CRS)
    sites["lon"], sites["lat"] = centroids.x.to_numpy(), centroids.y.to_numpy()
    sites["state"] = sites["state"].fillna("??")
    sites["site_id"] = [site_id(st, cx, cy) for st, cx, cy in zip(sites["state"], x, y)]
    _add_nearest(sites, analysis)
    sites["caveats"] = data_caveats(analysis)
    sites = sites.sort_values(["score", "area_acres", "site_id"], ascending=[False, False, True], kind="stable")
    sites.insert(0, "rank", np.arange(1, len(sites) + 1))
    sites["state_rank"] = sites.groupby("state").cumcount().to_numpy() + 1
    sites = sites.reset_index(drop=True).to_crs(STORE_CRS)
    return sites[[*columns, "geometry"]]


def _site_columns(analysis: Analysis) -> list[str]:
    columns = ["rank", "state_rank", "site_id", "score", "area_acres", "n_cells", "compactness", "state", "county",
               "agency", "unit_name", "ownership_source", "lon", "lat"]
    for criterion in analysis.criteria:
        columns += [f"{criterion.name}_score", f"{criterion.name}_value", f"{criterion.name}_contribution"]
    return columns + list(NEAREST_COLUMNS) + ["terrain", "caveats"]


def data_caveats(analysis: Analysis) -> str:
    """One line naming every synthetic, proxy or partial layer behind the analysis ('' when none)."""
    if analysis.synthetic and all(p.synthetic for p in analysis.provenance.values()):
        return "SYNTHETIC demo data: every layer is made up"
    return "; ".join(f"{name}: {p.caveat}" for name, p in analysis.provenance.items() if p.caveat)


NEAREST_COLUMNS = ("nearest_line_kv", "nearest_line_km", "nearest_substation", "nearest_substation_kv",
                   "nearest_substation_km", "nearest_town", "nearest_town_population", "nearest_town_km")


def _majority(geoms: gpd.GeoSeries, zones: gpd.GeoDataFrame, columns: list[str]) -> pd.DataFrame:
    """For each geometry, ``columns`` of the zone that covers most of its area (missing where none does)."""
    pieces = gpd.overlay(
        gpd.GeoDataFrame({"_site": np.arange(len(geoms))}, geometry=geoms.to_numpy(), crs=geoms.crs),
        zones[[*columns, zones.geometry.name]].reset_index(drop=True), how="intersection", keep_geom_type=True,
    )
    out = pd.DataFrame({c: pd.Series([None] * len(geoms), dtype=object) for c in columns})
    if len(pieces):
        pieces["_area"] = pieces.geometry.area
        best = pieces.sort_values(["_site", "_area"], ascending=[True, False]).drop_duplicates("_site")
        for column in columns:
            out.loc[best["_site"].to_numpy(), column] = best[column].astype(object).to_numpy()
    return out.set_index(geoms.index)


def _polygons(labels: np.ndarray, grid: Grid, count: int) -> list[BaseGeometry]:
    """One (multi)polygon per site from its cells, traced window by window."""
    polygons: list[BaseGeometry] = [Polygon()] * count
    for site, window in enumerate(ndimage.find_objects(labels), start=1):
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
