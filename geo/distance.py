"""Exact Euclidean distances on the analysis grid: to rasterized features, in km, capped.

The transform is OpenCV's (``cv2.distanceTransform`` with the precise L2 mask: the exact
algorithm of Felzenszwalb and Huttenlocher, multi-threaded). It measures in cells, where
every squared distance is a whole number and every distance its correctly rounded square
root; the distance in km is that times the cell size, in float32. A run measures several
distances on one grid: the two full-grid arrays a transform needs are lent by a
:class:`geo.scratch.ScratchRasters`, so that the next distance uses them again.
"""

from __future__ import annotations

import cv2
import geopandas as gpd
import numpy as np

from geo.blocks import for_each_block
from geo.grid import Grid, burn, burns_touched_cells
from geo.scratch import ScratchRasters


def cell_distances(background: np.ndarray, out: np.ndarray | None = None, *, black_border: bool = False
                   ) -> np.ndarray:
    """Exact distance, in cells, from every cell to the nearest cell that is 0 in ``background``.

    Parameters
    ----------
    background
        2-D uint8 (or bool) array, 0 on feature cells.
    out
        A float32 array of the same shape to write into (None: a new one).
    black_border
        Count the cells just outside the array as features.

    Returns
    -------
    numpy.ndarray
        float32 distances in cells (``out`` when given); a grid without a feature cell gets
        values larger than its diagonal.
    """
    if black_border:
        padded = np.pad(background.view(np.uint8), 1)
        return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE, dstType=cv2.CV_32F)[1:-1, 1:-1]
    source = np.ascontiguousarray(background.view(np.uint8))
    return cv2.distanceTransform(source, cv2.DIST_L2, cv2.DIST_MASK_PRECISE, dst=out, dstType=cv2.CV_32F)


def distance_km(feature_mask: np.ndarray, grid: Grid, cap_km: float | None = None) -> np.ndarray:
    """Euclidean distance (km) from every cell centre to the nearest feature cell.

    Returns float16 to halve memory; beyond ``cap_km`` distances are set to ``cap_km``.
    A grid with no feature cell gets ``cap_km`` everywhere (or ``inf`` without a cap).

    Parameters
    ----------
    feature_mask
        Boolean array of ``grid.shape``, True on feature cells.
    grid
        The grid (its cell size gives the distances).
    cap_km
        Largest distance reported.

    Returns
    -------
    numpy.ndarray
        float16 distances in km.
    """
    return _distance_from_background(np.logical_not(feature_mask).view(np.uint8), grid, cap_km)


def distance_to_features_km(frames: list[gpd.GeoDataFrame], grid: Grid, cap_km: float | None = None, *,
                            cells: np.ndarray | None = None, scratch: ScratchRasters | None = None) -> np.ndarray:
    """:func:`distance_km` to the geometries of ``frames``, rasterized straight into the background.

    Lines and points burn every cell they touch, polygons the cells whose centres they
    contain, as in :func:`geo.grid.rasterize_mask`.

    Parameters
    ----------
    frames
        Feature layers in the grid CRS.
    grid
        The grid.
    cap_km
        Largest distance reported.
    cells
        Flat indices of the cells wanted; None: every cell.
    scratch
        Lends the feature raster and the transform's output (None: new arrays).

    Returns
    -------
    numpy.ndarray
        float16 distances in km, of ``grid.shape``, or one per cell of ``cells``.
    """
    if scratch is None:
        scratch = ScratchRasters(grid.shape)
    background = burn_features(frames, grid, scratch.lend("mask", np.uint8))
    return _distance_from_background(background, grid, cap_km, cells, scratch.lend("values", np.float32))


def burn_features(frames: list[gpd.GeoDataFrame], grid: Grid, out: np.ndarray) -> np.ndarray:
    """``out`` set to 0 on the cells the geometries of ``frames`` burn and to 1 elsewhere.

    Lines and points burn every cell they touch, polygons the cells whose centres they
    contain; the frames that burn alike are rasterized in one pass.

    Parameters
    ----------
    frames
        Feature layers in the grid CRS.
    grid
        The grid.
    out
        A uint8 array of ``grid.shape``.

    Returns
    -------
    numpy.ndarray
        ``out``: the background a distance transform measures from.
    """
    out.fill(1)
    for touched in (True, False):
        shapes = [(g, 0) for frame in frames if len(frame) and burns_touched_cells(frame) == touched
                  for g in frame.geometry]
        if shapes:
            burn(shapes, grid, out, all_touched=touched)
    return out


def _distance_from_background(background: np.ndarray, grid: Grid, cap_km: float | None,
                              cells: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Distances (km, float16, capped) from a uint8 grid that is 0 on features and 1 elsewhere.

    With ``cells``, the km, cap and float16 rounding are taken on those cells alone.
    ``out`` is a float32 array of the grid's shape for the transform (None: a new one).
    """
    cap = np.float32(cap_km if cap_km is not None else np.inf)
    shape = grid.shape if cells is None else cells.shape
    if background.all():
        return np.full(shape, cap, dtype=np.float16)
    cell_km = np.float32(grid.resolution / 1000.0)
    in_cells = cell_distances(background, out).ravel()
    result = np.empty(shape, dtype=np.float16)
    flat = result.ravel()

    def to_km(block: slice) -> None:
        km = (in_cells[block] if cells is None else in_cells[cells[block]]) * cell_km
        np.minimum(km, cap, out=flat[block], casting="same_kind")

    for_each_block(flat.size, to_km)
    return result
