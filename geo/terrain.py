"""Terrain measures that the available elevation can honestly support.

Slope needs elevation at least as fine as about 1 km; the coarse fallback grid
(about 9 km cells) flattens slopes away, but it still tells a mountain from a basin.
:func:`height_above_basin_m` measures how far a place stands above the lowest ground
within a radius: near zero on a valley floor or bajada, hundreds of metres on a range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.warp import Resampling
from scipy import ndimage

from geo.grid import Grid, raster_cell_m, resample_aligned

#: Elevation coarser than this (m per cell) gives no meaningful slope for site screening.
MAX_ELEVATION_CELL_FOR_SLOPE_M = 1000.0
#: Finest working cell for the basin floor: a finer DEM is averaged to this first.
MIN_BASIN_CELL_M = 1000.0


def slope_supported(elevation_path: Path) -> bool:
    """Whether the elevation raster is fine enough for slope.

    Parameters
    ----------
    elevation_path
        The elevation raster.

    Returns
    -------
    bool
        True when its cells are at most :data:`MAX_ELEVATION_CELL_FOR_SLOPE_M`.
    """
    return raster_cell_m(elevation_path) <= MAX_ELEVATION_CELL_FOR_SLOPE_M


def describe_elevation(elevation_path: Path) -> str:
    """A short label of the elevation's cell size, for outputs.

    Parameters
    ----------
    elevation_path
        The elevation raster.

    Returns
    -------
    str
        E.g. ``9 km elevation`` or ``90 m elevation``.
    """
    cell = raster_cell_m(elevation_path)
    return f"{cell / 1000:.0f} km elevation" if cell >= 1500 else f"{cell:.0f} m elevation"


def height_above_basin_m(elevation_path: Path, grid: Grid, radius_km: float) -> np.ndarray:
    """Height (m, float16) of every cell above the lowest ground within ``radius_km``.

    The elevation is averaged onto a working grid (EPSG:5070) no finer than
    :data:`MIN_BASIN_CELL_M`, the lowest elevation within the radius is taken with a
    disk-shaped minimum filter, and the difference is resampled bilinearly onto
    ``grid``. Both warps go in blocks aligned to the grid's CRS
    (:func:`geo.grid.resample_aligned`), so a tile and the whole grid get the same values.

    Parameters
    ----------
    elevation_path
        The elevation raster (metres).
    grid
        The grid.
    radius_km
        How far to look for the basin floor.

    Returns
    -------
    numpy.ndarray
        float16 heights in metres, NaN where the elevation has no data.
    """
    cell = max(raster_cell_m(elevation_path), MIN_BASIN_CELL_M, grid.resolution)
    pad = radius_km * 1000 + cell
    minx, miny, maxx, maxy = grid.bounds
    work = Grid.covering((minx - pad, miny - pad, maxx + pad, maxy + pad), cell)
    elevation = resample_aligned(elevation_path, work, Resampling.average)
    reach = max(1, int(round(radius_km * 1000 / cell)))
    yy, xx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    disk = (yy**2 + xx**2) <= (radius_km * 1000 / cell) ** 2 + 1e-9
    floor = ndimage.minimum_filter(np.where(np.isnan(elevation), np.inf, elevation), footprint=disk, mode="nearest")
    height = np.where(np.isfinite(floor), elevation - floor, np.nan).astype(np.float32)
    return resample_aligned(height, grid, Resampling.bilinear, src_transform=work.transform, src_crs=work.crs,
                            dtype=np.float16)
