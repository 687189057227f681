"""Candidate sites on the grid: contiguous suitable land of park size, split where too large.

The table that describes each site is built by :mod:`geo.sitetable`.
"""

from __future__ import annotations

import logging
import math

import cv2
import geopandas as gpd
import numpy as np

from geo.config import SiteRules
from geo.distance import cell_distances
from geo.grid import Grid

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

    Parameters
    ----------
    suitable
        Boolean array of the cells a site may use.
    grid
        The grid the cells lie on (its cell area turns acres into cells).
    rules
        The site rules: minimum and maximum area.

    Returns
    -------
    numpy.ndarray
        int32 labels of ``suitable``'s shape.
    """
    min_cells = max(1, math.ceil(rules.min_area_acres / grid.cell_acres))
    max_cells = max(min_cells, math.floor(rules.max_area_acres / grid.cell_acres))
    regions, count = label_regions(suitable)
    if count == 0:
        return regions
    # every region cell is a suitable cell: the work below reads and writes those alone
    cells = np.flatnonzero(suitable)
    flat = regions.reshape(-1)
    region_of = flat[cells]
    sizes = np.bincount(region_of, minlength=count + 1)
    kept = np.flatnonzero(sizes[1:] >= min_cells) + 1
    whole, large = kept[sizes[kept] <= max_cells], kept[sizes[kept] > max_cells]
    # Regions to split are renumbered in place with negative ids, so that a new id never
    # meets an unvisited region's; one lookup then renumbers everything else.
    next_id = len(whole) + 1
    for region_id in large:
        rows, cols = np.divmod(cells[region_of == region_id], regions.shape[1])  # in row-major order
        regions[rows, cols] = 0
        for part_rows, part_cols in _bisect(rows, cols, max_cells):
            # label each part inside its own bounding box: same numbering, far less work than the region window
            local_r, local_c = part_rows - part_rows.min(), part_cols - part_cols.min()
            part = np.zeros((local_r.max() + 1, local_c.max() + 1), dtype=bool)
            part[local_r, local_c] = True
            pieces, n = label_regions(part)
            piece_of = pieces[local_r, local_c]
            keep = np.bincount(piece_of, minlength=n + 1) >= min_cells
            keep[0] = False
            kept = np.flatnonzero(keep)
            new_id = np.zeros(n + 1, dtype=np.int32)
            new_id[kept] = next_id + np.arange(kept.size, dtype=np.int32)
            chosen = keep[piece_of]
            regions[part_rows[chosen], part_cols[chosen]] = -new_id[piece_of[chosen]]
            next_id += kept.size
    offset = next_id  # lookup index of value v is v + offset, for v in [-next_id + 1, count]
    lookup = np.zeros(offset + count + 1, dtype=np.int32)
    lookup[:offset] = np.arange(offset, 0, -1)      # -v for the split parts
    lookup[offset + whole] = np.arange(1, len(whole) + 1)
    flat[cells] = lookup[flat[cells] + offset]
    log.info("found %d sites in %d suitable regions", next_id - 1, count)
    return regions


def label_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected regions of ``mask``, numbered from 1 in the row-major order of their first cell.

    The numbering is :func:`scipy.ndimage.label`'s; the labelling is OpenCV's
    (``cv2.connectedComponents``), several times faster on a large grid, renumbered.

    Parameters
    ----------
    mask
        2-D boolean array.

    Returns
    -------
    tuple[numpy.ndarray, int]
        int32 labels of ``mask``'s shape (0 outside every region) and the number of regions.
    """
    mask = np.ascontiguousarray(mask, dtype=bool)
    count, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    count -= 1  # OpenCV counts the background as a component
    if count > 1:
        flat = labels.reshape(-1)
        cells = np.flatnonzero(mask)
        found, first = np.unique(flat[cells], return_index=True)
        renumber = np.zeros(count + 1, dtype=np.int32)
        renumber[found[np.argsort(first, kind="stable")]] = np.arange(1, count + 1, dtype=np.int32)
        flat[cells] = renumber[flat[cells]]
    return labels, count


def buildable_core(suitable: np.ndarray, resolution_m: float, min_core_width_m: float) -> np.ndarray:
    """The suitable cells that lie inside a disk of ``min_core_width_m`` fitting wholly in suitable land.

    A morphological opening by a disk, done with two exact distance transforms: cells at
    least half the width from any unsuitable cell are cores, and every suitable cell
    within half the width of a core is buildable. Exact to within one cell.

    Parameters
    ----------
    suitable
        Boolean array of suitable cells.
    resolution_m
        Cell size in metres.
    min_core_width_m
        The width of the narrowest land a park can use.

    Returns
    -------
    numpy.ndarray
        Boolean array of the buildable cells (``suitable`` itself when the width is at most a cell).
    """
    radius = min_core_width_m / 2
    if radius <= resolution_m or not suitable.any():
        return suitable
    radius_cells = radius / resolution_m
    cores = cell_distances(suitable, black_border=True) >= radius_cells
    if not cores.any():
        return cores
    near_core = cell_distances(np.logical_not(cores)) <= radius_cells
    return near_core & suitable


def buildable_land(suitable: np.ndarray, resolution_m: float, min_core_width_m: float,
                   block: int = 512) -> np.ndarray:
    """:func:`buildable_core` block by block, each block widened by the halo the rule needs.

    A cell's verdict depends only on the land within the core width of it, so each block
    computed on itself plus a halo of that width (and one cell) gets the very cells the
    whole array would; blocks without a suitable cell are skipped, the others are cut to
    the bounding box of their suitable cells, and no temporary is larger than a widened block.

    Parameters
    ----------
    suitable
        Boolean array of suitable cells.
    resolution_m
        Cell size in metres.
    min_core_width_m
        The width of the narrowest land a park can use.
    block
        Edge (cells) of the blocks.

    Returns
    -------
    numpy.ndarray
        Boolean array of the buildable cells, as :func:`buildable_core` gives it.
    """
    depth = 2 * math.ceil(min_core_width_m / 2 / resolution_m) + 2
    out = np.zeros(suitable.shape, dtype=bool)
    height, width = suitable.shape
    for top in range(0, height, block):
        for left in range(0, width, block):
            inner = (slice(top, min(top + block, height)), slice(left, min(left + block, width)))
            if not suitable[inner].any():
                continue
            r0, c0 = max(top - depth, 0), max(left - depth, 0)
            widened = suitable[r0:min(top + block + depth, height), c0:min(left + block + depth, width)]
            # around the suitable cells' bounding box all is unsuitable, as beyond the array's edge:
            # the box alone gives its cells the same distances
            rows, cols = np.flatnonzero(widened.any(axis=1)), np.flatnonzero(widened.any(axis=0))
            r0, c0 = r0 + rows[0], c0 + cols[0]
            r1, c1 = r0 + rows[-1] - rows[0] + 1, c0 + cols[-1] - cols[0] + 1
            core = buildable_core(np.ascontiguousarray(suitable[r0:r1, c0:c1]), resolution_m, min_core_width_m)
            rows_in = slice(max(top, r0), min(top + block, r1))
            cols_in = slice(max(left, c0), min(left + block, c1))
            out[rows_in, cols_in] = core[rows_in.start - r0:rows_in.stop - r0, cols_in.start - c0:cols_in.stop - c0]
    return out


def compactness(polygons: gpd.GeoSeries) -> np.ndarray:
    """Polsby-Popper compactness, 4 pi area / perimeter squared.

    Parameters
    ----------
    polygons
        Polygons in an equal-area CRS.

    Returns
    -------
    numpy.ndarray
        1 for a disk, about 0.785 for a square, near 0 for a thin strip; NaN for an empty polygon.
    """
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


def label_stats(labels_flat: np.ndarray, values_flat: np.ndarray, count: int) -> np.ndarray:
    """Mean of ``values_flat`` per label 1..count, ignoring NaN.

    Parameters
    ----------
    labels_flat
        The label of each value (0: none).
    values_flat
        The values, aligned with ``labels_flat``.
    count
        The largest label.

    Returns
    -------
    numpy.ndarray
        float64 means of labels 1..count (NaN where a label has no known value).
    """
    values = values_flat.astype(np.float64)
    known = ~np.isnan(values)
    if not known.all():
        labels_flat, values = labels_flat[known], values[known]
    sums = np.bincount(labels_flat, weights=values, minlength=count + 1)
    n = np.bincount(labels_flat, minlength=count + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / n
    return means[1:]
