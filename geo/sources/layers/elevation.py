"""Elevation: USGS 3DEP tiles, or pvlib's coarse 5 arc-minute altitude grid."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.warp
import rasterio.windows

from geo.errors import EmptyLayerError, LayerSchemaError
from geo.grid import raster_cell_m
from geo.schema import SENTINEL_NUMBERS
from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.spec import PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec
from geo.terrain import MAX_ELEVATION_CELL_FOR_SLOPE_M
from geo.types import STORE_CRS


def _elevation(path: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """Band 1 of ``path`` in metres (float32, NaN nodata), cropped to the requested states."""
    if not isinstance(path, (str, os.PathLike)):
        raise LayerSchemaError(f"source {spec.id!r}: expected a GeoTIFF path, got {type(path).__name__}")
    path = Path(path)
    region = clean.clip_region(ctx)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise LayerSchemaError(f"source {spec.id!r}: {path} has no CRS")
            window = None
            if region is not None:
                west, south, east, north = rasterio.warp.transform_bounds(STORE_CRS, src.crs, *region.bounds)
                exact = rasterio.windows.from_bounds(west, south, east, north, src.transform)
                col0, row0 = math.floor(exact.col_off), math.floor(exact.row_off)
                col1 = math.ceil(exact.col_off + exact.width)
                row1 = math.ceil(exact.row_off + exact.height)
                window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0).intersection(
                    rasterio.windows.Window(0, 0, src.width, src.height)
                )
            data = src.read(1, window=window, masked=True)
            scale, offset = src.scales[0], src.offsets[0]
            transform = src.window_transform(window) if window is not None else src.transform
            crs = src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise LayerSchemaError(f"source {spec.id!r}: {path} is not a readable GeoTIFF: {exc}") from exc
    except rasterio.errors.WindowError as exc:
        raise EmptyLayerError(f"source {spec.id!r}: {path} does not reach the requested states") from exc
    metres = data.astype("float32") * np.float32(scale) + np.float32(offset)
    values = metres.filled(np.nan)
    values[np.isin(values, SENTINEL_NUMBERS)] = np.nan
    if np.isnan(values).all():
        raise EmptyLayerError(f"source {spec.id!r}: {path} has no data inside the requested states")
    fd, out_name = tempfile.mkstemp(prefix="geo-elevation-", suffix=".tif")
    os.close(fd)
    profile = {
        "driver": "GTiff", "width": values.shape[1], "height": values.shape[0], "count": 1,
        "dtype": "float32", "crs": crs, "transform": transform, "nodata": np.nan,
        "compress": "deflate", "predictor": 3, "tiled": False,
    }
    try:
        with rasterio.open(out_name, "w", **profile) as dst:
            dst.write(values, 1)
            dst.update_tags(1, units="metre")
    except BaseException:
        Path(out_name).unlink(missing_ok=True)
        raise
    extra = [f"{values.shape[1]} x {values.shape[0]} cells, {int(np.isnan(values).sum())} without data"]
    if scale != 1 or offset != 0:
        extra.append(f"decoded as value * {scale:g} + {offset:g}")
    cell_m = raster_cell_m(Path(out_name))
    coarse = (f"cells of about {cell_m / 1000:.1f} km: too coarse for slope"
              if cell_m > MAX_ELEVATION_CELL_FOR_SLOPE_M else None)
    return NormalizedLayer(
        layer=spec.layer,
        provenance={"coverage_wkt": None, "notes": extra, "states": list(ctx.states), "coarse": coarse},
        raster_path=Path(out_name),
        notes=extra,
    )


USGS_3DEP = SourceSpec(
    id="usgs_3dep", layer="elevation", title="USGS 3D Elevation Program (3DEP) 1 arc-second DEM",
    license=PUBLIC_DOMAIN, url="https://prd-tnm.s3.amazonaws.com/StagedProducts/Elevation/1/TIFF/",
    endpoint=Endpoint(
        protocol="bulk", format="GeoTIFF tiles", resolution_deg=0.0025,
        url_template="https://prd-tnm.s3.amazonaws.com/StagedProducts/Elevation/1/TIFF/"
                     "n{lat:02d}w{lon:03d}/USGS_1_n{lat:02d}w{lon:03d}.tif",
        notes=["About 150 tiles of tens of MB each cover Arizona, Nevada and Utah; "
               "they are mosaicked at 0.0025 degrees."],
    ),
    files=OfflineFiles(FileKind("usgs_3dep", "USGS 3DEP DEM GeoTIFF tiles", ("usgs_1_*.tif", "usgs_13_*.tif"),
                                read_as="raster")),
    normalize=_elevation,
)

PVLIB_ALTITUDE = SourceSpec(
    id="pvlib_altitude", layer="elevation",
    title="pvlib-python low-resolution altitude map (Mapzen terrain tiles from USGS 3DEP, "
          "SRTM, GMTED2010 and ETOPO1, aggregated to 5 arc-minutes)",
    license="BSD-3-Clause (pvlib-python)", url="https://pypi.org/project/pvlib/",
    vintage="Mapzen terrain tiles, aggregated in pvlib 0.16",
    coarse="5 arc-minute cells (about 9 km), 28 m steps: no slope, only broad relief",
    notes=(
        "coarse fallback: cells of 5 arc-minutes (about 9 km) and elevations in 28 m steps; "
        "peaks are flattened",
        "not usable for slope; refresh from USGS 3DEP for slope screening",
    ),
    files=OfflineFiles(FileKind("pvlib_altitude", "pvlib 5 arc-minute altitude GeoTIFF", ("pvlib_altitude*.tif",),
                                read_as="raster")),
    normalize=_elevation,
)

LAYER = LayerSources("elevation", (USGS_3DEP, PVLIB_ALTITUDE), default=False)
