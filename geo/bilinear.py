"""Bilinear sampling of a coarse north-up array at the cell centres of a finer grid in the same CRS.

This is what GDAL's warper does when it resamples such an array bilinearly (the weights
of the two nearest source cells along each axis; source cells without data left out and
the weights of the others rescaled; no value where the source cell under the point has
none), done in NumPy so that it can be evaluated on the cells wanted only. Its values
agree with GDAL's to the last bit of float32 on all but a few cells in a million, which
differ by one unit in the last place.
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from rasterio.warp import Resampling

#: Rows, or cells, of the destination computed at a time: few enough for the float64
#: temporaries to stay in the processor's cache, which makes sampling several times faster.
ROWS_PER_CHUNK = 4
CELLS_PER_CHUNK = 1 << 14


def samples_directly(src_transform: Affine | None, src_crs: str | None, dst_crs: str,
                     resampling: Resampling) -> bool:
    """Whether :func:`sample_bilinear` can stand for GDAL's warp of an array onto a grid.

    Parameters
    ----------
    src_transform, src_crs
        The array's transform and CRS.
    dst_crs
        The grid's CRS.
    resampling
        The resampling asked for.

    Returns
    -------
    bool
        True for a bilinear warp within one CRS of a north-up array whose corner lies a
        whole number of its cells from the origin (as :meth:`geo.grid.Grid.covering` makes it).
    """
    if src_transform is None or resampling != Resampling.bilinear or src_crs != dst_crs:
        return False
    t = src_transform
    return (t.b == t.d == 0 and t.a > 0 and t.e < 0 and abs(t.c / t.a - round(t.c / t.a)) < 1e-6
            and abs(t.f / t.e - round(t.f / t.e)) < 1e-6)


def sample_bilinear(source: np.ndarray, src_transform: Affine, xs: np.ndarray, ys: np.ndarray,
                    cells: np.ndarray | None = None, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """Bilinear values of ``source`` at the centres of a grid's cells.

    Parameters
    ----------
    source
        The coarse array (NaN as no data).
    src_transform
        Its transform: north-up, its corner a whole number of cells from the CRS origin.
    xs, ys
        The x of each column's centre and the y of each row's centre of the destination
        grid (same CRS as ``source``).
    cells
        Flat indices (row-major over ``ys`` by ``xs``) of the only cells wanted; None: every cell.
    dtype
        The values' type: float32, or a narrower one the float32 values are rounded to.

    Returns
    -------
    numpy.ndarray
        Values of shape ``(len(ys), len(xs))``, or one per cell of ``cells``.
    """
    x_index, x_weights = _axis(xs, src_transform.a, src_transform.c, source.shape[1])
    y_index, y_weights = _axis(ys, src_transform.e, src_transform.f, source.shape[0])
    known = ~np.isnan(source)
    values = np.where(known, source, 0.0).astype(np.float64)
    # along x first, for every source row (small: the source is coarse); then between two such rows
    along_x = values[:, x_index[0]] * x_weights[0] + values[:, x_index[1]] * x_weights[1]
    weight_x = known[:, x_index[0]] * x_weights[0] + known[:, x_index[1]] * x_weights[1]
    centre_x = _centre(xs, src_transform.a, src_transform.c, source.shape[1])
    centre_known_x = known[:, np.maximum(centre_x, 0)] & (centre_x >= 0)
    centre_y = _centre(ys, src_transform.e, src_transform.f, source.shape[0])

    def combine(rows: np.ndarray, cols: np.ndarray | None) -> np.ndarray:
        """Values at (rows, cols) pairs, or on whole rows when ``cols`` is None."""
        y0, y1, w0, w1, cy = y_index[0][rows], y_index[1][rows], y_weights[0][rows], y_weights[1][rows], centre_y[rows]
        if cols is None:  # whole rows: gather rows, weights broadcast along them
            w0, w1, inside = w0[:, None], w1[:, None], (cy >= 0)[:, None]
            pick: tuple[np.ndarray, ...] = (np.maximum(cy, 0),)
            y0_pick: tuple[np.ndarray, ...] = (y0,)
            y1_pick: tuple[np.ndarray, ...] = (y1,)
        else:
            inside = cy >= 0
            pick, y0_pick, y1_pick = (np.maximum(cy, 0), cols), (y0, cols), (y1, cols)
        total = along_x[y0_pick] * w0 + along_x[y1_pick] * w1
        weight = weight_x[y0_pick] * w0 + weight_x[y1_pick] * w1
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(inside & centre_known_x[pick], total / weight, np.nan).astype(np.float32)

    if cells is not None:
        out = np.empty(cells.size, dtype=dtype)
        for start in range(0, cells.size, CELLS_PER_CHUNK):
            rows, cols = np.divmod(cells[start:start + CELLS_PER_CHUNK], xs.size)
            out[start:start + rows.size] = combine(rows, cols)
        return out
    out = np.empty((ys.size, xs.size), dtype=dtype)
    for start in range(0, ys.size, ROWS_PER_CHUNK):
        out[start:start + ROWS_PER_CHUNK] = combine(np.arange(start, min(start + ROWS_PER_CHUNK, ys.size)), None)
    return out


def block_centres(transform: Affine, width: int, height: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """The x of each column's and the y of each row's cell centre, as a warp block by block places them.

    Parameters
    ----------
    transform, width, height
        The grid's transform and size.
    block
        The edge (cells) of the blocks, aligned to whole multiples of their size in the CRS.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        Block corner plus whole cells: the same to the bit for a cell whichever window of
        the grid it is computed in.
    """
    res, size = transform.a, block * transform.a
    minx, maxy = transform.c, transform.f
    first_col, first_row = (int(round(v)) for v in ~transform @ (np.floor(minx / size) * size,
                                                                np.ceil(maxy / size) * size))
    col, row = np.arange(width) - first_col, np.arange(height) - first_row
    xs = (np.floor(minx / size) + col // block) * size + (col % block + 0.5) * res
    ys = (np.ceil(maxy / size) - row // block) * size - (row % block + 0.5) * res
    return xs, ys


def _source_position(coords: np.ndarray, step: float, origin: float) -> np.ndarray:
    """Position of coordinates in source cells, the same to the bit whatever window they come from."""
    return coords / step - round(origin / step)  # a whole number subtracted: exact


def _axis(coords: np.ndarray, step: float, origin: float, n: int) -> tuple[tuple[np.ndarray, np.ndarray],
                                                                           tuple[np.ndarray, np.ndarray]]:
    """The two source cells along one axis each coordinate falls between, and their weights (0 beyond the edge)."""
    position = _source_position(coords, step, origin) - 0.5
    first = np.floor(position).astype(np.int64)
    fraction = position - first
    second = first + 1
    w0 = np.where((first >= 0) & (first < n), 1.0 - fraction, 0.0)
    w1 = np.where((second >= 0) & (second < n), fraction, 0.0)
    return (np.clip(first, 0, n - 1), np.clip(second, 0, n - 1)), (w0, w1)


def _centre(coords: np.ndarray, step: float, origin: float, n: int) -> np.ndarray:
    """The source cell each coordinate lies in along one axis (-1 outside the source)."""
    index = np.floor(_source_position(coords, step, origin)).astype(np.int64)
    return np.where((index >= 0) & (index < n), index, -1)
