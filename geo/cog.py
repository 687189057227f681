"""Rasters of the chunked analysis, written tile by tile as Cloud-Optimized GeoTIFFs.

:func:`chunked_rasters` gives :func:`geo.runs.write_run` the writer of a chunked run's
``exclusions.tif`` and ``scores.tif``: the same values as :func:`geo.outputs.write_rasters`
writes, one tile in memory at a time. The run folder is written as every run folder is:
into a hidden staging folder renamed into place only when every file is complete, after
which ``LATEST`` names it.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import dask.array as da
import numpy as np
import rasterio
from rasterio.shutil import copy as copy_raster
from rasterio.windows import Window

from geo.grid import Grid
from geo.outputs import EXCLUSIONS_TIF, SCORE_NODATA, SCORE_SCALE, SCORES_TIF
from geo.runs import RasterWriter

log = logging.getLogger(__name__)


def write_cog(path: Path, data: da.Array, grid: Grid, nodata: float | None) -> None:
    """Write a Dask array as a Cloud-Optimized GeoTIFF, one chunk at a time.

    Parameters
    ----------
    path
        The file to write.
    data
        The raster, of ``grid.shape``; only one chunk is in memory at a time.
    grid
        Its grid.
    nodata
        The no-data value, if any.

    Notes
    -----
    Chunks go into a tiled GeoTIFF beside ``path``, which GDAL's COG driver then copies
    with overviews (nearest neighbour, as the rasters hold codes and bitmasks).
    """
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tif")
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1,
               "dtype": data.dtype.name, "crs": grid.crs, "transform": grid.transform, "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "deflate", "nodata": nodata, "BIGTIFF": "IF_SAFER"}
    try:
        with rasterio.open(scratch, "w", **profile) as dst:
            offsets = [np.cumsum((0, *c[:-1])) for c in data.chunks]
            for (i, j), block in np.ndenumerate(data.to_delayed()):
                values = block.compute()
                dst.write(values, 1, window=Window(offsets[1][j], offsets[0][i], values.shape[1], values.shape[0]))
        copy_raster(scratch, path, driver="COG", compress="DEFLATE", blocksize=256, overview_resampling="NEAREST",
                    BIGTIFF="IF_SAFER")
    finally:
        scratch.unlink(missing_ok=True)


def scaled_scores(score: da.Array) -> da.Array:
    """Cell scores as the integers of ``scores.tif``: score x 200, 255 where excluded or unknown.

    Parameters
    ----------
    score
        Cell scores (float32, NaN where excluded or unknown).

    Returns
    -------
    dask.array.Array
        uint8 scores with the chunks of ``score``.
    """
    def scale(block: np.ndarray) -> np.ndarray:
        out = np.full(block.shape, SCORE_NODATA, dtype=np.uint8)
        known = ~np.isnan(block)
        out[known] = np.round(block[known] * SCORE_SCALE).astype(np.uint8)
        return out

    return da.map_blocks(scale, score, dtype=np.uint8)


def chunked_rasters(grid: Grid, bits: da.Array, score: da.Array) -> RasterWriter:
    """A writer of a chunked run's ``exclusions.tif`` and ``scores.tif`` for :func:`geo.runs.write_run`.

    Parameters
    ----------
    grid
        The analysis grid.
    bits
        The exclusion bitmask, chunked.
    score
        The cell scores (float32, NaN where excluded or unknown), chunked.

    Returns
    -------
    RasterWriter
        Writes both rasters as Cloud-Optimized GeoTIFFs, tile by tile, into the folder it is given.
    """
    def write(folder: Path) -> None:
        write_cog(folder / EXCLUSIONS_TIF, bits, grid, nodata=None)
        write_cog(folder / SCORES_TIF, scaled_scores(score), grid, nodata=SCORE_NODATA)

    return write
