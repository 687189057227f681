"""Run folders of the chunked analysis: rasters written tile by tile as Cloud-Optimized GeoTIFFs.

The folder holds the same files as :func:`geo.outputs.write_run` writes, and is written
the same way: into a hidden staging folder renamed into place only when every file is
complete, after which ``LATEST`` points at it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import dask.array as da
import geopandas as gpd
import numpy as np
import rasterio
from rasterio.shutil import copy as copy_raster
from rasterio.windows import Window

from geo.grid import Grid
from geo.outputs import EXCLUSIONS_TIF, RUN_RECORD, SCORE_NODATA, SCORE_SCALE, SCORES_TIF, write_site_table
from geo.store import atomic_write_text

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
    """Cell scores as the integers of ``scores.tif``: score x 200, 255 where excluded or unknown."""
    def scale(block: np.ndarray) -> np.ndarray:
        out = np.full(block.shape, SCORE_NODATA, dtype=np.uint8)
        known = ~np.isnan(block)
        out[known] = np.round(block[known] * SCORE_SCALE).astype(np.uint8)
        return out

    return score.map_blocks(scale, dtype=np.uint8)


def write_chunked_run(runs_dir: Path, run_id: str, sites: gpd.GeoDataFrame, record: dict[str, Any], grid: Grid,
                      bits: da.Array, score: da.Array) -> Path:
    """Write every output of a chunked run atomically and point ``LATEST`` at it.

    Parameters
    ----------
    runs_dir, run_id
        Where the run folder goes, and its name.
    sites, record
        The site table and run record.
    grid, bits, score
        The grid, the exclusion bitmask and the cell scores (float32, NaN where excluded).

    Returns
    -------
    pathlib.Path
        The run folder.
    """
    runs_dir.mkdir(parents=True, exist_ok=True)
    final = runs_dir / run_id
    staging = runs_dir / f".staging-{run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        write_site_table(sites, staging)
        write_cog(staging / EXCLUSIONS_TIF, bits, grid, nodata=None)
        write_cog(staging / SCORES_TIF, scaled_scores(score), grid, nodata=SCORE_NODATA)
        (staging / RUN_RECORD).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    atomic_write_text(runs_dir / "LATEST", run_id)
    log.info("wrote run %s to %s", run_id, final)
    return final
