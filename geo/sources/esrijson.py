"""Answers of an ArcGIS layer query, in Esri JSON or GeoJSON, as GeoDataFrames in EPSG:4326.

Esri JSON geometries are converted to shapely here rather than by GDAL: GDAL's ESRIJSON
driver follows ``exceededTransferLimit`` on its own, over its own HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import pandas as pd
import pyproj
import shapely
from shapely.geometry import LinearRing, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo.errors import FetchError
from geo.types import STORE_CRS


def exceeded_transfer_limit(payload: dict[str, Any], fmt: str) -> bool:
    """Whether a query page says more results remain (the flag's place depends on ``f``).

    Parameters
    ----------
    payload
        One decoded query answer.
    fmt
        The format asked for: ``"geojson"`` or ``"json"`` (Esri JSON).

    Returns
    -------
    bool
        True when ``exceededTransferLimit`` is set.
    """
    if fmt == "geojson":
        flag = (payload.get("properties") or {}).get("exceededTransferLimit")
        # some servers put it at the top level of a FeatureCollection too
        flag = flag if flag is not None else payload.get("exceededTransferLimit")
    else:
        flag = payload.get("exceededTransferLimit")
    return bool(flag)


def parse_features(payload: dict[str, Any], fmt: str, *, where: str = "") -> gpd.GeoDataFrame:
    """One query page (GeoJSON or Esri JSON) as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    payload
        One decoded query answer.
    fmt
        Its format: ``"geojson"`` or ``"json"`` (Esri JSON).
    where
        The request, named in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The features' attributes and geometries, reprojected from the answer's CRS.

    Raises
    ------
    FetchError
        When the answer has no feature list, or an unreadable geometry or CRS.
    """
    features = payload.get("features")
    if not isinstance(features, list):
        raise FetchError(f"{where}: the response has no 'features' list")
    if fmt == "geojson":
        crs = _geojson_crs(payload, where)
        rows = [f.get("properties") or {} for f in features]
        geoms = [_geojson_geometry(f.get("geometry"), where) for f in features]
    else:
        crs = _esri_crs(payload.get("spatialReference"), where)
        rows = [f.get("attributes") or {} for f in features]
        geoms = [esri_geometry(f.get("geometry")) for f in features]
    frame = gpd.GeoDataFrame(pd.DataFrame.from_records(rows), geometry=geoms, crs=crs)
    if crs is not None and pyproj.CRS(crs) != pyproj.CRS(STORE_CRS):
        frame = frame.to_crs(STORE_CRS)
    return frame


def _geojson_geometry(geometry: dict[str, Any] | None, where: str) -> BaseGeometry | None:
    if not geometry:
        return None
    try:
        return shape(geometry)
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise FetchError(f"{where}: unreadable GeoJSON geometry: {exc}") from exc


def _geojson_crs(payload: dict[str, Any], where: str) -> str:
    member = payload.get("crs")
    if not member:
        return STORE_CRS
    name = (member.get("properties") or {}).get("name")
    try:
        return pyproj.CRS.from_user_input(name).to_string()
    except pyproj.exceptions.CRSError as exc:
        raise FetchError(f"{where}: unknown crs member {member!r}") from exc


def _esri_crs(spatial_reference: dict[str, Any] | None, where: str) -> str:
    if not spatial_reference:
        return STORE_CRS
    code = spatial_reference.get("latestWkid") or spatial_reference.get("wkid")
    if code == 102100:  # Esri's old code for Web Mercator
        code = 3857
    try:
        if code:
            return pyproj.CRS.from_epsg(int(code)).to_string()
        return pyproj.CRS.from_wkt(spatial_reference["wkt"]).to_string()
    except (KeyError, pyproj.exceptions.CRSError) as exc:
        raise FetchError(f"{where}: unknown spatialReference {spatial_reference!r}") from exc


def esri_geometry(geometry: dict[str, Any] | None) -> BaseGeometry | None:
    """Convert an Esri JSON geometry (point, multipoint, paths, rings) to shapely.

    Rings follow Esri's convention: clockwise rings are shells, counter-clockwise rings
    are holes and belong to the shell that contains them.

    Parameters
    ----------
    geometry
        An Esri JSON geometry object, or None.

    Returns
    -------
    shapely.Geometry or None
        The geometry in the answer's CRS; None when missing or without coordinates.

    Raises
    ------
    FetchError
        For a geometry type it does not know (e.g. curves).
    """
    if not geometry:
        return None
    if "x" in geometry:
        if geometry["x"] is None or geometry.get("y") is None:
            return None
        return Point(geometry["x"], geometry["y"])
    if "points" in geometry:
        return MultiPoint([p[:2] for p in geometry["points"]]) if geometry["points"] else None
    if "paths" in geometry:
        lines = [LineString([p[:2] for p in path]) for path in geometry["paths"] if len(path) >= 2]
        if not lines:
            return None
        return lines[0] if len(lines) == 1 else MultiLineString(lines)
    if "rings" in geometry:
        return _rings_to_polygons(geometry["rings"])
    raise FetchError(f"unknown Esri geometry with keys {sorted(geometry)}")


def _rings_to_polygons(rings: Iterable[list[list[float]]]) -> BaseGeometry | None:
    shells: list[LinearRing] = []
    holes: list[LinearRing] = []
    for ring in rings:
        if len(ring) < 3:
            continue
        linear = LinearRing([p[:2] for p in ring])
        (holes if linear.is_ccw else shells).append(linear)
    if not shells:  # orientation ignored by the writer: every ring is a shell
        shells, holes = holes, []
    parts: list[tuple[LinearRing, list[LinearRing]]] = [(shell, []) for shell in shells]
    outlines = [Polygon(shell) for shell in shells]
    for hole in holes:
        probe = Point(hole.coords[0])
        owner = next((i for i, poly in enumerate(outlines) if poly.covers(probe)), None)
        if owner is None:
            parts.append((hole, []))
            outlines.append(Polygon(hole))
        else:
            parts[owner][1].append(hole)
    polygons = [Polygon(shell, inner) for shell, inner in parts]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
