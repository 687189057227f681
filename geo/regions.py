"""Contiguous regions of a chunked boolean raster, labelled across chunk borders.

The algorithm of :func:`dask_image.ndmeasure.label`: every block is labelled on its own
(8-connected, :func:`scipy.ndimage.label`), labels that touch across a block border or
corner are joined as a graph, and its connected components
(:func:`scipy.sparse.csgraph.connected_components`) give the final labels. It is written
out here over ``dask.delayed`` blocks, and dask-image is not a dependency, because
:func:`dask_image.ndmeasure.label` took 62 to 88 s just to build its graph for 63 blocks
here (its construction grows with the square of the block count), while this one stays
linear; only block edges travel to the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd
import zarr
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.sites import EIGHT_CONNECTED


@dataclass(frozen=True)
class _BlockEdges:
    """The local labels on a block's four edges, and how many labels the block has."""

    count: int
    top: np.ndarray
    bottom: np.ndarray
    left: np.ndarray
    right: np.ndarray


def label_regions(mask: da.Array, zarr_path: Path, component: str) -> int:
    """Label the 8-connected regions of ``mask`` into a Zarr array, chunk by chunk.

    Parameters
    ----------
    mask
        Boolean Dask array.
    zarr_path, component
        Where the int64 labels (0 outside every region) are written, with ``mask``'s chunks.

    Returns
    -------
    int
        The number of regions.
    """
    chunks = tuple(c[0] for c in mask.chunks)
    target = zarr.create_array(str(zarr_path), name=component, shape=mask.shape, chunks=chunks, dtype="int64",
                               fill_value=0, overwrite=True)
    offsets = [np.cumsum((0, *c[:-1])) for c in mask.chunks]
    blocks = mask.to_delayed()
    tasks = {(i, j): dask.delayed(_label_block)(blocks[i, j], target, int(offsets[0][i]), int(offsets[1][j]))
             for i, j in np.ndindex(blocks.shape)}
    edges = dict(zip(tasks, dask.compute(*tasks.values()), strict=True))
    first = {}
    total = 0
    for key in sorted(edges):
        first[key] = total
        total += edges[key].count
    if total == 0:
        return 0
    pairs = np.concatenate([np.empty((0, 2), dtype=np.int64), *_touching(edges, first, blocks.shape)])
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(total + 1, total + 1))
    count, component = connected_components(graph, directed=False)
    final = np.zeros(total + 1, dtype=np.int64)  # background (index 0) is its own component: renumber it to 0
    order = np.unique(component[1:], return_inverse=True)[1]
    final[1:] = order + 1
    relabel = [dask.delayed(_relabel_block)(target, (i, j), chunks, first[i, j], final)
               for i, j in np.ndindex(blocks.shape)]
    dask.compute(*relabel)
    return int(order.max()) + 1


def _label_block(block: np.ndarray, target: zarr.Array, row0: int, col0: int) -> _BlockEdges:
    """Label one block, write its local labels (1..n) and return its edges."""
    labels, count = ndimage.label(block, structure=EIGHT_CONNECTED, output=np.int64)
    target[row0:row0 + block.shape[0], col0:col0 + block.shape[1]] = labels
    return _BlockEdges(count, labels[0].copy(), labels[-1].copy(), labels[:, 0].copy(), labels[:, -1].copy())


def _relabel_block(target: zarr.Array, index: tuple[int, int], chunks: tuple[int, int], first: int,
                   final: np.ndarray) -> None:
    """Replace one block's local labels by the final ones."""
    window = tuple(slice(k * c, (k + 1) * c) for k, c in zip(index, chunks, strict=True))
    local = np.asarray(target[window])
    target[window] = np.where(local > 0, final[local + first], 0)


def _touching(edges: dict[tuple[int, int], _BlockEdges], first: dict[tuple[int, int], int],
              shape: tuple[int, int]) -> list[np.ndarray]:
    """Pairs of global labels that touch across block borders and corners (8-connected)."""
    pairs = []

    def join(a: np.ndarray, b: np.ndarray, ka: tuple[int, int], kb: tuple[int, int]) -> None:
        keep = (a > 0) & (b > 0)
        if keep.any():
            pairs.append(np.stack([a[keep] + first[ka], b[keep] + first[kb]], axis=1))

    for i, j in np.ndindex(shape):
        here = edges[i, j]
        if i + 1 < shape[0]:  # the block below: same, left and right neighbours along the border
            below = edges[i + 1, j].top
            for shift in (-1, 0, 1):
                a, b = _shifted(here.bottom, below, shift)
                join(a, b, (i, j), (i + 1, j))
        if j + 1 < shape[1]:  # the block to the right
            right = edges[i, j + 1].left
            for shift in (-1, 0, 1):
                a, b = _shifted(here.right, right, shift)
                join(a, b, (i, j), (i, j + 1))
        if i + 1 < shape[0] and j + 1 < shape[1]:  # diagonal corners
            join(here.bottom[-1:], edges[i + 1, j + 1].top[:1], (i, j), (i + 1, j + 1))
        if i + 1 < shape[0] and j > 0:
            join(here.bottom[:1], edges[i + 1, j - 1].top[-1:], (i, j), (i + 1, j - 1))
    return pairs


def _shifted(a: np.ndarray, b: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``a[k]`` and ``b[k + shift]`` side by side, over the positions both have."""
    if shift >= 0:
        n = min(len(a), len(b) - shift)
        return a[:n], b[shift:shift + n]
    n = min(len(a) + shift, len(b))
    return a[-shift:-shift + n], b[:n]


def region_extents(labels: da.Array) -> pd.DataFrame:
    """Per region: ``label``, ``cells`` and bounding box (``r0``, ``r1``, ``c0``, ``c1``, end exclusive).

    Parameters
    ----------
    labels
        Region labels as a Dask array (0: no region).

    Returns
    -------
    pandas.DataFrame
        One row per region, gathered from per-block figures.
    """
    offsets = [np.cumsum((0, *c[:-1])) for c in labels.chunks]
    parts = [dask.delayed(_block_extents)(block, offsets[0][i], offsets[1][j])
             for (i, j), block in np.ndenumerate(labels.to_delayed())]
    extents = pd.concat(dask.compute(*parts))
    return extents.groupby("label").agg(cells=("cells", "sum"), r0=("r0", "min"), r1=("r1", "max"),
                                        c0=("c0", "min"), c1=("c1", "max")).reset_index()


def _block_extents(block: np.ndarray, row0: int, col0: int) -> pd.DataFrame:
    """Cells and bounding box (full-grid rows and columns) of every label in one block."""
    ids = np.unique(block)
    ids = ids[ids > 0]
    if not ids.size:
        return pd.DataFrame({k: pd.Series(dtype="int64") for k in ("label", "cells", "r0", "r1", "c0", "c1")})
    local = np.searchsorted(ids, block) + 1
    local[block == 0] = 0
    boxes = ndimage.find_objects(local.astype(np.int32))
    return pd.DataFrame({
        "label": ids, "cells": np.bincount(local.ravel(), minlength=ids.size + 1)[1:],
        "r0": [b[0].start + row0 for b in boxes], "r1": [b[0].stop + row0 for b in boxes],
        "c0": [b[1].start + col0 for b in boxes], "c1": [b[1].stop + col0 for b in boxes],
    })
