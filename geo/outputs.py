"""The files of a run: the ranked site table (CSV, GeoJSON, GeoParquet) and the rasters.

The run folder that holds them, with the run record, map and report, is written by
:mod:`geo.runs`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from geo.atomic import atomic_path
from geo.errors import InputError
from geo.grid import Grid

log = logging.getLogger(__name__)

SITES_CSV = "sites.csv"
SITES_GEOJSON = "sites.geojson"
SITES_PARQUET = "sites.parquet"
#: The formats a site table can be written in, chosen by the file's suffix.
TABLE_SUFFIXES = (".csv", ".geojson", ".parquet")
EXCLUSIONS_TIF = "exclusions.tif"
SCORES_TIF = "scores.tif"
#: Scores are stored in scores.tif as integers 0-200 (score x 200); 255 marks excluded cells.
SCORE_SCALE = 200
SCORE_NODATA = 255


def write_rasters(folder: Path, grid: Grid, exclusion_bits: np.ndarray, eligible: np.ndarray,
                  cell_scores: np.ndarray) -> None:
    """Write ``exclusions.tif`` (the cause bits of every cell) and ``scores.tif`` (scores x 200) into ``folder``.

    Parameters
    ----------
    folder
        The folder to write into.
    grid
        The analysis grid.
    exclusion_bits
        The exclusion bitmask on the grid.
    eligible
        Flat indices of the eligible cells.
    cell_scores
        Scores of the eligible cells (NaN where unknown).
    """
    _write_raster(folder / EXCLUSIONS_TIF, exclusion_bits, grid, exclusion_bits.dtype.name, nodata=None)
    scaled = np.full(grid.shape, SCORE_NODATA, dtype=np.uint8)
    known = ~np.isnan(cell_scores)
    scaled.ravel()[eligible[known]] = np.round(cell_scores[known] * SCORE_SCALE).astype(np.uint8)
    _write_raster(folder / SCORES_TIF, scaled, grid, "uint8", nodata=SCORE_NODATA)


def write_site_table(sites: gpd.GeoDataFrame, folder: Path) -> None:
    """The ranked sites as GeoParquet (full precision), GeoJSON and CSV (no geometry; lon/lat columns).

    Parameters
    ----------
    sites
        The ranked site table.
    folder
        The run folder to write ``sites.parquet``, ``sites.geojson`` and ``sites.csv`` into.
    """
    for name in (SITES_PARQUET, SITES_GEOJSON, SITES_CSV):
        _write_table(sites, folder / name)


def _write_table(sites: gpd.GeoDataFrame, path: Path) -> None:
    """One site table file, its format chosen by the suffix; GeoJSON and CSV get rounded values."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        sites.to_parquet(path, index=False)
    elif suffix == ".geojson":
        _rounded(sites).to_file(path, driver="GeoJSON", engine="pyogrio")
    else:
        frame = _rounded(sites)
        pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_csv(path, index=False)


def _rounded(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = sites.copy()
    for column in out.columns:
        if column in ("lon", "lat"):
            out[column] = out[column].round(5)
        elif column != "geometry" and pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(4)
    return out


def _write_raster(path: Path, data: np.ndarray, grid: Grid, dtype: str, nodata: float | None) -> None:
    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": dtype,
        "crs": grid.crs, "transform": grid.transform, "compress": "deflate", "tiled": True,
        "blockxsize": 256, "blockysize": 256, "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype), 1)


def check_table_path(path: Path) -> None:
    """Refuse a site table path whose suffix is not one of :data:`TABLE_SUFFIXES`.

    Parameters
    ----------
    path
        The file a site table is to be written to.

    Raises
    ------
    InputError
        Naming the path and the accepted suffixes.
    """
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(f"{path}: cannot write a site table as {path.suffix or 'a file without suffix'!r}; "
                         f"use {', '.join(TABLE_SUFFIXES)}")


def write_sites_file(sites: gpd.GeoDataFrame, path: Path) -> None:
    """Write a site table to one file chosen by its suffix (.csv, .geojson, .parquet), atomically.

    Parameters
    ----------
    sites
        The site table.
    path
        The file to write; the previous file there is kept when writing fails.

    Raises
    ------
    InputError
        The suffix is not one of :data:`TABLE_SUFFIXES`.
    WriteError
        The file could not be written (full disk, read-only folder); no partial file is left.
    """
    check_table_path(path)
    with atomic_path(path) as tmp:
        _write_table(sites, tmp)
