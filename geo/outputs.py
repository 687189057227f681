"""Run outputs: the ranked site table (CSV, GeoJSON, GeoParquet), rasters and the run record.

A run writes into a hidden staging folder beside its final place and renames it
into place only when every file is complete, so a failed run leaves nothing
half-written. ``<runs>/LATEST`` names the newest complete run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from geo.errors import StoreError
from geo.grid import Grid
from geo.store import atomic_write_text

log = logging.getLogger(__name__)

SITES_CSV = "sites.csv"
SITES_GEOJSON = "sites.geojson"
SITES_PARQUET = "sites.parquet"
RUN_RECORD = "run.json"
EXCLUSIONS_TIF = "exclusions.tif"
SCORES_TIF = "scores.tif"
#: Scores are stored in scores.tif as integers 0-200 (score x 200); 255 marks excluded cells.
SCORE_SCALE = 200
SCORE_NODATA = 255


def write_run(
    runs_dir: Path, run_id: str, sites: gpd.GeoDataFrame, record: dict[str, Any], grid: Grid,
    exclusion_bits: np.ndarray, eligible: np.ndarray, cell_scores: np.ndarray,
) -> Path:
    """Write every output of a run atomically and point ``LATEST`` at it; returns the run folder."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    final = runs_dir / run_id
    staging = runs_dir / f".staging-{run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        write_site_table(sites, staging)
        _write_raster(staging / EXCLUSIONS_TIF, exclusion_bits, grid, exclusion_bits.dtype.name, nodata=None)
        scaled = np.full(grid.shape, SCORE_NODATA, dtype=np.uint8)
        known = ~np.isnan(cell_scores)
        scaled.ravel()[eligible[known]] = np.round(cell_scores[known] * SCORE_SCALE).astype(np.uint8)
        _write_raster(staging / SCORES_TIF, scaled, grid, "uint8", nodata=SCORE_NODATA)
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


def write_site_table(sites: gpd.GeoDataFrame, folder: Path) -> None:
    """The ranked sites as GeoParquet (full precision), GeoJSON and CSV (no geometry; lon/lat columns)."""
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


def latest_run(runs_dir: Path) -> Path:
    """The newest complete run folder."""
    pointer = runs_dir / "LATEST"
    if not pointer.is_file():
        raise StoreError(f"no run found in {runs_dir}; run `geo run` first")
    folder = runs_dir / pointer.read_text(encoding="utf-8").strip()
    if not (folder / RUN_RECORD).is_file():
        raise StoreError(f"run folder {folder} is incomplete or missing")
    return folder


def read_run(folder: Path) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The site table and run record of a run folder."""
    try:
        sites = gpd.read_parquet(folder / SITES_PARQUET)
        record = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"run {folder} is unreadable: {exc}") from exc
    return sites, record


def write_sites_file(sites: gpd.GeoDataFrame, path: Path) -> None:
    """Write a site table to one file chosen by its suffix (.csv, .geojson, .parquet), atomically."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".geojson", ".parquet"):
        raise ValueError(f"{path}: unsupported output format {suffix!r}; use .csv, .geojson or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
    try:
        _write_table(sites, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
