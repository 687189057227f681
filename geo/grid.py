"""The analysis grid and the raster operations on it: rasterize, resample, slope.

The grid is a regular raster in EPSG:5070 (CONUS Albers, equal area) snapped to
whole multiples of the resolution, so that the same states and resolution always
give the same cells.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from rasterio import features
from rasterio.warp import Resampling, reproject
from shapely.geometry.base import BaseGeometry

from geo.bilinear import block_centres, sample_bilinear, samples_directly
from geo.blocks import for_each_block
from geo.types import ACRE_M2, ANALYSIS_CRS


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid in :data:`~geo.types.ANALYSIS_CRS`."""

    transform: Affine
    width: int
    height: int
    crs: str = ANALYSIS_CRS

    @classmethod
    def covering(cls, bounds: tuple[float, float, float, float], resolution: float) -> Grid:
        """The smallest snapped grid covering ``bounds``.

        Parameters
        ----------
        bounds
            minx, miny, maxx, maxy in metres (grid CRS).
        resolution
            Cell size in metres; the grid's corners are whole multiples of it.

        Returns
        -------
        Grid
            The grid.
        """
        minx, miny, maxx, maxy = bounds
        x0, y1 = np.floor(minx / resolution) * resolution, np.ceil(maxy / resolution) * resolution
        width, height = int(np.ceil((maxx - x0) / resolution)), int(np.ceil((y1 - miny) / resolution))
        return cls(Affine(resolution, 0, x0, 0, -resolution, y1), width, height)

    def coarsened(self, factor: int) -> Grid:
        """The grid of cells ``factor`` times as large, from the same corner, covering this one.

        Parameters
        ----------
        factor
            How many cells of this grid make one cell of the coarse grid, along each axis.

        Returns
        -------
        Grid
            Cell ``(r, c)`` of the coarse grid holds cells ``r * factor`` to ``(r + 1) * factor - 1``
            (rows) and likewise columns of this one; the last row and column may reach beyond it.
        """
        return Grid(self.transform @ Affine.scale(factor), math.ceil(self.width / factor),
                    math.ceil(self.height / factor), self.crs)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def resolution(self) -> float:
        return float(self.transform.a)

    @property
    def cell_acres(self) -> float:
        return self.resolution**2 / ACRE_M2

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        minx, maxy = self.transform.c, self.transform.f
        return (minx, maxy - self.height * self.resolution, minx + self.width * self.resolution, maxy)

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row and column of points, and whether each falls inside the grid.

        Parameters
        ----------
        x, y
            Point coordinates in the grid CRS.

        Returns
        -------
        tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]
            Rows and columns (int64, possibly outside the grid) and a boolean mask of the
            points inside it.
        """
        col, row = ~self.transform @ (np.asarray(x, float), np.asarray(y, float))
        row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
        inside = (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)
        return row, col, inside

    def cell_centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of cell centres.

        Parameters
        ----------
        rows, cols
            Cell rows and columns (fractional values give points between centres).

        Returns
        -------
        tuple[numpy.ndarray, numpy.ndarray]
            x and y in the grid CRS.
        """
        t = self.transform  # north-up: no rotation terms
        return t.c + t.a * (np.asarray(cols, float) + 0.5), t.f + t.e * (np.asarray(rows, float) + 0.5)


#: Bytes per cell the in-memory analysis holds at its peak besides the raw values: exclusion
#: bits (2), a distance transform's mask and result (5), the ranking's windows of eligible land (1).
MEMORY_BYTES_PER_CELL = 8
#: Bytes per cell of each criterion's raw values (float16).
MEMORY_BYTES_PER_CRITERION_CELL = 2
#: Memory the process holds whatever the grid: the interpreter, libraries and vector layers.
MEMORY_BASE_BYTES = 600_000_000


def analysis_memory_bytes(cells: int, criteria: int) -> int:
    """Estimated peak memory (bytes) of the in-memory analysis of a grid.

    Parameters
    ----------
    cells
        Cells of the grid.
    criteria
        Criteria the analysis computes.

    Returns
    -------
    int
        Bytes, as if every cell were eligible (raw values and sub-scores are kept on
        eligible cells only): with the eleven default criteria that apply on the real
        files, the three states measured 0.84 GB at 250 m (21 M cells) and 3.2 GB at
        90 m (159 M cells), which this estimate (1.2 and 5.4 GB) bounds from above.
    """
    return MEMORY_BASE_BYTES + cells * (MEMORY_BYTES_PER_CELL + MEMORY_BYTES_PER_CRITERION_CELL * criteria)


def cells_of(geometry: BaseGeometry, grid: Grid) -> np.ndarray:
    """Flat indices of the cells a place covers: a polygon's cells by centre (the cell under its
    representative point when it holds no centre), the cell of a point or of any other shape's
    representative point.

    Parameters
    ----------
    geometry
        The place, in the grid CRS.
    grid
        The grid.

    Returns
    -------
    numpy.ndarray
        int64 flat indices; empty when the place lies outside the grid.
    """
    if geometry.geom_type.endswith("Polygon"):
        cells = np.flatnonzero(rasterize_mask(gpd.GeoDataFrame(geometry=[geometry], crs=grid.crs), grid))
        if cells.size:
            return cells
    point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
    row, col, inside = grid.cell_of(np.array([point.x]), np.array([point.y]))
    return np.array([row[0] * grid.width + col[0]]) if inside[0] else np.array([], dtype=np.int64)


#: Bytes of the band of rows GDAL's rasterizer burns at a time: by default its whole block
#: cache, a fresh copy of the output on every call; a small band is reused from call to call.
RASTERIZE_BUFFER_BYTES = 16 * 2**20
#: Held around rasterio calls: two threads in rasterio at once may show spurious warnings, as
#: the warning filters it sets around its in-memory datasets are the whole process's.
GDAL_LOCK = threading.Lock()


def burn(shapes: Iterable[tuple[BaseGeometry, float]], grid: Grid, out: np.ndarray, *,
         all_touched: bool = False) -> np.ndarray:
    """Burn ``(geometry, value)`` pairs into ``out``, later pairs over earlier ones.

    Parameters
    ----------
    shapes
        Geometries in the grid CRS, each with the value it burns.
    grid
        The grid of ``out``.
    out
        The array to burn into; cells no geometry burns keep their values.
    all_touched
        Burn every cell a geometry touches, not only those whose centres it covers.

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    with GDAL_LOCK, rasterio.Env(GDAL_CACHEMAX=RASTERIZE_BUFFER_BYTES):
        features.rasterize(shapes, out=out, transform=grid.transform, all_touched=all_touched)
    return out


def rasterize_mask(frame: gpd.GeoDataFrame, grid: Grid, *, all_touched: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the cells ``frame``'s geometries cover (lines and points: every cell touched).

    Parameters
    ----------
    frame
        Features in the grid CRS.
    grid
        The grid.
    all_touched
        Burn every cell a polygon touches, not only those whose centres it contains.
    out
        A uint8 array of ``grid.shape`` to burn into (cleared first); None: a new one.

    Returns
    -------
    numpy.ndarray
        Boolean array of ``grid.shape`` (a view of ``out`` when given).
    """
    if out is None:
        out = np.zeros(grid.shape, dtype=np.uint8)
    else:
        out.fill(0)
    if len(frame):
        burn(((g, 1) for g in frame.geometry), grid, out, all_touched=all_touched or burns_touched_cells(frame))
    return out.view(bool)


def values_at(raster: np.ndarray, cells: np.ndarray | None, dtype: npt.DTypeLike) -> np.ndarray:
    """A copy of ``raster``'s values at flat ``cells``, as ``dtype``, gathered in blocks that stay in cache.

    Parameters
    ----------
    raster
        A raster of the grid.
    cells
        Flat indices of the cells wanted; None: every cell (the copy keeps the raster's shape).
    dtype
        The copy's dtype.

    Returns
    -------
    numpy.ndarray
        One value per cell of ``cells``, or the whole raster.
    """
    if cells is None:
        return raster.astype(dtype)
    flat = raster.ravel()
    out = np.empty(cells.shape, dtype=dtype)

    def gather(block: slice) -> None:
        out[block] = flat[cells[block]]

    for_each_block(cells.size, gather)
    return out


def burns_touched_cells(frame: gpd.GeoDataFrame) -> bool:
    """Whether ``frame`` burns every cell it touches (lines, points) or the cells whose centres it covers (polygons).

    Parameters
    ----------
    frame
        Features in the grid CRS.

    Returns
    -------
    bool
        False when every geometry is a polygon.
    """
    return not frame.geom_type.str.contains("Polygon").all()


def rasterize_values(frame: gpd.GeoDataFrame, column: str, grid: Grid, *, fill: float = np.nan,
                     dtype: str = "float32", out: np.ndarray | None = None) -> np.ndarray:
    """Raster of ``frame[column]`` burnt in by cell centre; cells with no feature get ``fill``.

    Where features overlap, the later row wins.

    Parameters
    ----------
    frame
        Features in the grid CRS.
    column
        The numeric column to burn (missing values are skipped).
    grid
        The grid.
    fill
        Value of cells no feature covers.
    dtype
        The raster's dtype.
    out
        An array of ``grid.shape`` to burn into instead, whose cells no feature covers keep
        their values (``fill`` and ``dtype`` are then not used).

    Returns
    -------
    numpy.ndarray
        Array of ``grid.shape`` (``out`` when given).
    """
    values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    keep = ~np.isnan(values)
    if out is None:
        out = np.full(grid.shape, fill, dtype=dtype)
    if keep.any():
        burn(zip(frame.geometry[keep], values[keep], strict=True), grid, out)
    return out


def slope_degrees(elevation_path: Path, grid: Grid) -> np.ndarray:
    """Slope (degrees, float16) on the grid from an elevation raster.

    The elevation is resampled bilinearly onto the grid (:func:`resample_aligned`) first:
    slope is only meaningful where the source is at least as fine as the grid.

    Parameters
    ----------
    elevation_path
        The elevation raster (metres).
    grid
        The grid.

    Returns
    -------
    numpy.ndarray
        float16 slope in degrees, NaN where the elevation has no data.
    """
    elevation = resample_aligned(elevation_path, grid, Resampling.bilinear)
    dz_dy, dz_dx = np.gradient(elevation, grid.resolution)
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy))).astype(np.float16)
    return slope


#: Edge (cells) of the blocks :func:`resample_aligned` warps one at a time.
RESAMPLE_BLOCK = 512


def resample_aligned(source: Path | np.ndarray, grid: Grid, resampling: Resampling, *,
                     src_transform: Affine | None = None, src_crs: str | None = None,
                     cells: np.ndarray | None = None, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """A raster resampled onto ``grid`` (float32 or ``dtype``, NaN where it has no data).

    Parameters
    ----------
    source
        A raster file (its first band is read), or an array with ``src_transform`` and
        ``src_crs`` (NaN as no data).
    grid
        The destination grid.
    resampling
        How source cells are combined.
    src_transform, src_crs
        The transform and CRS of an array ``source`` (ignored for a file).
    cells
        Flat indices of the only cells wanted: blocks holding none of them are not warped.
        None: every cell.
    dtype
        float32, or a narrower type the float32 values are rounded to.

    Returns
    -------
    numpy.ndarray
        Array of ``grid.shape``, or one value per cell of ``cells``.

    Notes
    -----
    GDAL's warper gives a cell a value that depends slightly on the window it warps
    (its chunks and its approximate transformer), so the raster is warped in blocks of
    :data:`RESAMPLE_BLOCK` cells aligned to whole multiples of the block size in the
    grid's CRS: any window of the same grid, a tile of the chunked analysis or the whole
    grid, then gets the same value in every cell.
    """
    size = RESAMPLE_BLOCK * grid.resolution
    minx, miny, maxx, maxy = grid.bounds
    first_col, first_row = (int(round(v)) for v in ~grid.transform @ (np.floor(minx / size) * size,
                                                                     np.ceil(maxy / size) * size))
    if isinstance(source, np.ndarray) and samples_directly(src_transform, src_crs, grid.crs, resampling):
        assert src_transform is not None
        xs, ys = block_centres(grid.transform, grid.width, grid.height, RESAMPLE_BLOCK)
        return sample_bilinear(source, src_transform, xs, ys, cells, dtype)
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    wanted = None
    if cells is not None:  # which blocks hold a wanted cell
        cell_rows, cell_cols = np.divmod(cells, grid.width)
        wanted = np.zeros(((grid.height - first_row) // RESAMPLE_BLOCK + 1,
                           (grid.width - first_col) // RESAMPLE_BLOCK + 1), dtype=bool)
        wanted[(cell_rows - first_row) // RESAMPLE_BLOCK, (cell_cols - first_col) // RESAMPLE_BLOCK] = True
        del cell_rows, cell_cols
    with GDAL_LOCK, contextlib.ExitStack() as stack:
        if isinstance(source, np.ndarray):
            src_args = {"source": source, "src_transform": src_transform, "src_crs": src_crs, "src_nodata": np.nan}
        else:
            src_args = {"source": rasterio.band(stack.enter_context(rasterio.open(source)), 1)}
        for top in np.arange(np.ceil(maxy / size) * size, miny, -size):
            for left in np.arange(np.floor(minx / size) * size, maxx, size):
                col0, row0 = (int(round(v)) for v in ~grid.transform @ (left, top))
                if wanted is not None and not wanted[(row0 - first_row) // RESAMPLE_BLOCK,
                                                     (col0 - first_col) // RESAMPLE_BLOCK]:
                    continue
                block = np.full((RESAMPLE_BLOCK, RESAMPLE_BLOCK), np.nan, dtype=np.float32)
                transform = Affine(grid.resolution, 0, left, 0, -grid.resolution, top)
                reproject(destination=block, dst_transform=transform, dst_crs=grid.crs, dst_nodata=np.nan,
                          resampling=resampling, **src_args)
                rows = slice(max(0, row0), min(grid.height, row0 + RESAMPLE_BLOCK))
                cols = slice(max(0, col0), min(grid.width, col0 + RESAMPLE_BLOCK))
                out[rows, cols] = block[rows.start - row0:rows.stop - row0, cols.start - col0:cols.stop - col0]
    return (out if cells is None else out.ravel()[cells]).astype(dtype, copy=False)


def raster_cell_m(path: Path) -> float:
    """Approximate cell size of a raster in metres, whatever its CRS.

    Parameters
    ----------
    path
        A raster file.

    Returns
    -------
    float
        The cell width in metres (at the raster's centre latitude for a geographic CRS).
    """
    with GDAL_LOCK, rasterio.open(path) as src:
        res = abs(src.transform.a)
        if src.crs is not None and src.crs.is_geographic:
            lat = (src.bounds.top + src.bounds.bottom) / 2
            return res * 111_320 * float(np.cos(np.radians(lat)))
    return res
