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

from geo.blocks import for_each_block

#: Whole destination rows sampled one after another by a thread.
ROWS_PER_BLOCK = 64


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
    sampler = _RowSampler(source, src_transform, xs, ys)
    if cells is None:
        out = np.empty((ys.size, xs.size), dtype=dtype)

        def whole_rows(block: slice) -> None:
            for row in range(*block.indices(ys.size)):
                sampler.sample(row, None, out[row])

        for_each_block(ys.size, whole_rows, ROWS_PER_BLOCK)
        return out
    order = None if cells.size < 2 or bool(np.all(cells[1:] >= cells[:-1])) else np.argsort(cells, kind="stable")
    ordered = cells if order is None else cells[order]
    values = np.empty(cells.size, dtype=dtype)
    row_starts = np.searchsorted(ordered, np.arange(ys.size + 1) * xs.size)
    # one thread: rows hold few wanted cells, and threads would wait on each other between them
    for row in np.flatnonzero(np.diff(row_starts)).tolist():
        start, end = row_starts[row], row_starts[row + 1]
        sampler.sample(row, ordered[start:end] - row * xs.size, values[start:end])
    if order is None:
        return values
    out = np.empty_like(values)
    out[order] = values
    return out


class _RowSampler:
    """Bilinear values along one destination row at a time (rows may be sampled on several threads).

    The source is first interpolated along x at every destination column, for each source
    row (small: the source is coarse); a destination row then weighs two such rows. The
    arithmetic is GDAL's, in float64, in the same order, rounded to float32.
    """

    def __init__(self, source: np.ndarray, src_transform: Affine, xs: np.ndarray, ys: np.ndarray) -> None:
        x_index, x_weights = _axis(xs, src_transform.a, src_transform.c, source.shape[1])
        y_index, y_weights = _axis(ys, src_transform.e, src_transform.f, source.shape[0])
        known = ~np.isnan(source)
        values = np.where(known, source, 0.0).astype(np.float64)
        # np.take keeps C order: a destination row then reads two contiguous rows of each
        self.along_x, self.weight_x = (np.take(a, x_index[0], axis=1) * x_weights[0]
                                       + np.take(a, x_index[1], axis=1) * x_weights[1] for a in (values, known))
        centre_x = _centre(xs, src_transform.a, src_transform.c, source.shape[1])
        # no value where the source cell under the point has none
        self.centre_unknown_x = ~np.take(known, np.maximum(centre_x, 0), axis=1) | (centre_x < 0)
        self.rows = list(zip(y_index[0].tolist(), y_index[1].tolist(), y_weights[0].tolist(), y_weights[1].tolist(),
                             _centre(ys, src_transform.e, src_transform.f, source.shape[0]).tolist(), strict=True))

    def sample(self, row: int, cols: np.ndarray | None, out: np.ndarray) -> None:
        """Write the values of destination ``row`` at columns ``cols`` (None: all) into ``out``."""
        y0, y1, w0, w1, centre = self.rows[row]
        total, weight, part = (np.empty(out.size) for _ in range(3))
        for result, along in ((total, self.along_x), (weight, self.weight_x)):
            if cols is None:
                np.multiply(along[y0], w0, out=result)
                np.multiply(along[y1], w1, out=part)
            else:
                np.multiply(np.take(along[y0], cols, out=result), w0, out=result)
                np.multiply(np.take(along[y1], cols, out=part), w1, out=part)
            np.add(result, part, out=result)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(total, weight, out=total)
        if centre < 0:
            total.fill(np.nan)
        else:
            unknown = self.centre_unknown_x[centre]
            np.copyto(total, np.nan, where=unknown if cols is None else unknown[cols])
        if out.dtype == np.float32:
            np.copyto(out, total, casting="same_kind")
        else:  # to float32 first, then to the narrower type: the float32 values, rounded
            np.copyto(out, total.astype(np.float32), casting="same_kind")


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
