"""Shaded relief from the stored elevation, as an image overlay that needs no network."""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import folium
import numpy as np
import rasterio
from PIL import Image
from pyproj import Transformer
from rasterio.warp import Resampling, reproject

from geo.grid import raster_cell_m
from geo.maps import legend
from geo.maps.display import esc
from geo.maps.layers import Canvas
from geo.style import LAYERS
from geo.terrain import describe_elevation
from geo.types import STORE_CRS

#: The relief image has at most this many pixels along its longer side.
RELIEF_MAX_PX = 900
WEB_MERCATOR = "EPSG:3857"


def hillshade(elevation: np.ndarray, cell_m: float, *, azimuth_deg: float = 315.0,
              altitude_deg: float = 45.0) -> np.ndarray:
    """Lambertian hillshade of an elevation grid, 0 (facing away from the light) to 1 (facing it).

    Parameters
    ----------
    elevation
        Heights in metres, rows from north to south; NaN where unknown.
    cell_m
        Ground size of a cell in metres.
    azimuth_deg, altitude_deg
        Direction (clockwise from north) and height above the horizon of the light.

    Returns
    -------
    numpy.ndarray
        float32 shade of each cell; NaN where the elevation or a neighbour is unknown. Flat
        ground shades to ``sin(altitude)``.
    """
    dz_dy, dz_dx = np.gradient(elevation.astype(np.float64), cell_m)
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    # rows run south, so the northward gradient is -dz_dy; aspect is the downhill direction from north
    aspect = np.arctan2(-dz_dx, dz_dy)
    azimuth, altitude = math.radians(azimuth_deg), math.radians(altitude_deg)
    shade = np.sin(altitude) * np.cos(slope) + np.cos(altitude) * np.sin(slope) * np.cos(azimuth - aspect)
    return np.clip(shade, 0, 1).astype(np.float32)


def relief_png(shade: np.ndarray, flat: float = math.sin(math.radians(45.0))) -> bytes:
    """A PNG of shadows only: black, more opaque where ground faces away from the light; clear where flat or unknown.

    Parameters
    ----------
    shade
        Hillshade values 0-1 (NaN: unknown).
    flat
        The shade of flat ground, drawn fully transparent.

    Returns
    -------
    bytes
        An RGBA PNG.
    """
    darkness = np.clip((flat - np.nan_to_num(shade, nan=flat)) / flat, 0, 1)
    lightness = np.clip((np.nan_to_num(shade, nan=flat) - flat) / (1 - flat), 0, 1)
    rgba = np.zeros((*shade.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.where(lightness[..., None] > 0, 255, 0)
    rgba[..., 3] = np.round(np.maximum(darkness * 200, lightness * 90)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def add_relief(canvas: Canvas, elevation_path: Path, bounds_deg: tuple[float, float, float, float]) -> None:
    """Add shaded relief of ``bounds_deg`` (lon/lat) from the elevation raster, labelled with its cell size.

    The elevation is resampled (averaged) onto a Web Mercator grid of at most
    :data:`RELIEF_MAX_PX` pixels a side, so the image lies exactly on the map's
    projection, and shaded with the ground size of a pixel at the middle latitude.

    Parameters
    ----------
    canvas
        The map being built.
    elevation_path
        The store's elevation GeoTIFF.
    bounds_deg
        ``(west, south, east, north)`` to cover.
    """
    west, south, east, north = bounds_deg
    to_merc = Transformer.from_crs(STORE_CRS, WEB_MERCATOR, always_xy=True)
    (x0, x1), (y0, y1) = to_merc.transform([west, east], [south, north])
    source_cell = raster_cell_m(elevation_path)
    scale = math.cos(math.radians((south + north) / 2))
    pixel = max(max(x1 - x0, y1 - y0) / RELIEF_MAX_PX, source_cell / scale)
    width, height = max(2, math.ceil((x1 - x0) / pixel)), max(2, math.ceil((y1 - y0) / pixel))
    elevation = np.full((height, width), np.nan, dtype=np.float32)
    transform = rasterio.transform.from_origin(x0, y1, pixel, pixel)
    with rasterio.open(elevation_path) as src:
        reproject(source=rasterio.band(src, 1), destination=elevation, dst_transform=transform,
                  dst_crs=WEB_MERCATOR, dst_nodata=np.nan, resampling=Resampling.average)
    png = relief_png(hillshade(elevation, pixel * scale))
    to_deg = Transformer.from_crs(WEB_MERCATOR, STORE_CRS, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_deg.transform([x0, x0 + width * pixel], [y1 - height * pixel, y1])
    style, source = LAYERS["relief"], describe_elevation(elevation_path)
    title = f"{style.title} ({source})"
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    canvas.add(folium.raster_layers.ImageOverlay(url, bounds=[[lat0, lon0], [lat1, lon1]], name=title,
                                                 interactive=False, zindex=1, show=True), title)
    canvas.legend.append(legend.section("Terrain", [
        f'<span class="sw" style="background:linear-gradient(to right,#555,#fff)"></span>'
        f"{esc(style.legend)} ({esc(source)}; shadows where ground faces away from a light in the north-west)"]))
