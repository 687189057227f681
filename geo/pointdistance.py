"""Distances from cells to a few point features: the distance transform's values, found with a k-d tree.

A tile's capped distance transform costs its whole window, the tile widened by up to the
cap on every side: for a 250 km cap at 30 m, 25 times the tile's own cells. When the
features are a few points (backbone points of presence, substations), the nearest
feature cells of each cell are found with :class:`scipy.spatial.cKDTree` instead, and the
distance is read from the *kernel*: the distance transform of a single feature cell, by
row and column offset. The transform's value at a cell is the smallest of the kernel's
values over the feature cells, so the result is the transform's own, float for float;
:data:`CANDIDATES` nearest feature cells are compared, as cells almost equally far can
round the other way.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from affine import Affine
from scipy.spatial import cKDTree

from geo.distance import distance_km
from geo.grid import Grid

#: Nearest feature cells compared for each cell.
CANDIDATES = 4
#: Cells queried at once, to bound the memory of the tree's answers.
QUERY_BLOCK = 1 << 20


@functools.lru_cache(maxsize=4)
def distance_kernel(resolution_m: float, cap_km: float) -> np.ndarray:
    """Capped distance (km, float16) from a feature cell to the cell ``dr`` rows and ``dc`` columns away.

    Parameters
    ----------
    resolution_m
        Cell size of the grid.
    cap_km
        Largest distance reported.

    Returns
    -------
    numpy.ndarray
        Read-only float16 array indexed ``[dr, dc]`` for offsets up to the cap, as
        :func:`geo.distance.distance_km` computes them.
    """
    cells = math.ceil(cap_km * 1000.0 / resolution_m) + 1
    single = np.zeros((cells, cells), dtype=bool)
    single[0, 0] = True
    kernel = distance_km(single, Grid(Affine(resolution_m, 0, 0, 0, -resolution_m, 0), cells, cells), cap_km)
    kernel.flags.writeable = False
    return kernel


def distance_to_cells_km(features: np.ndarray, cells: np.ndarray, resolution_m: float, cap_km: float) -> np.ndarray:
    """Capped distance (km, float16) from each of ``cells`` to the nearest of ``features``.

    Parameters
    ----------
    features
        Row and column of every feature cell, shape (n, 2).
    cells
        Row and column of every cell measured, shape (m, 2), on the same grid.
    resolution_m
        Cell size of the grid.
    cap_km
        Largest distance reported; farther cells get it.

    Returns
    -------
    numpy.ndarray
        float16 distances of shape (m,), equal to the distance transform's.
    """
    out = np.full(len(cells), np.float16(cap_km), dtype=np.float16)
    if len(features) == 0 or len(cells) == 0:
        return out
    features, cells = np.asarray(features, dtype=np.int64), np.asarray(cells, dtype=np.int64)
    kernel = distance_kernel(resolution_m, cap_km)
    reach = kernel.shape[0]
    tree = cKDTree(features)
    k = min(CANDIDATES, len(features))
    for start in range(0, len(cells), QUERY_BLOCK):
        block = cells[start:start + QUERY_BLOCK]
        _, nearest = tree.query(block, k=k, distance_upper_bound=reach * math.sqrt(2), workers=-1)
        nearest = nearest.reshape(len(block), k)
        for j in range(k):
            found = np.flatnonzero(nearest[:, j] < len(features))
            offset = np.abs(block[found] - features[nearest[found, j]])
            within = (offset < reach).all(axis=1)
            at = found[within] + start
            out[at] = np.minimum(out[at], kernel[offset[within, 0], offset[within, 1]])
    return out
