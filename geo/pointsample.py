"""Values at arbitrary points, read from vector layers and small rasters without building the analysis grid.

The helpers here answer one question each for arrays of points in the analysis CRS
(EPSG:5070 metres): the exact distance to the nearest of some features, the attribute
of the polygon under a point, whether a point lies within a distance of some features,
and a bilinear sample of a raster. :mod:`geo.pointquery` combines them into scores.
"""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from scipy import ndimage

#: Lines and polygon rings are cut into pieces of at most this many vertices, so that a nearest
#: query measures a few short pieces rather than whole long lines.
PIECE_VERTICES = 16


class NearestFeature:
    """Exact distances (km) from points to the nearest of a set of geometries, capped.

    Parameters
    ----------
    geometries
        Geometries in the points' CRS (metres); points inside a polygon are 0 km from it.
    cap_km
        Distances beyond this are reported as ``cap_km`` (as the raster path caps them).

    Notes
    -----
    Lines and polygon boundaries are indexed as short pieces (:data:`PIECE_VERTICES`), so
    the cost of a query does not grow with the length of the features; the polygons
    themselves are kept for the test of whether a point lies inside one.
    """

    def __init__(self, geometries: np.ndarray, cap_km: float) -> None:
        geometries = np.asarray(geometries, dtype=object)
        polygonal = np.isin(shapely.get_type_id(geometries),
                            [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
        self.inside = Within(geometries[polygonal]) if polygonal.any() else None
        outlines = np.where(polygonal, shapely.boundary(geometries), geometries) if len(geometries) else geometries
        self.tree = shapely.STRtree(_pieces(outlines))
        self.cap_km = cap_km

    def distance_km(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance (km, float32) from each point to the nearest geometry, at most ``cap_km``.

        Parameters
        ----------
        x, y
            Coordinates (metres) of the points.

        Returns
        -------
        numpy.ndarray
            float32 distances; ``cap_km`` where nothing lies within it, 0 inside a polygon.
        """
        out = np.full(len(x), self.cap_km, dtype=np.float32)
        if len(self.tree) == 0 or len(x) == 0:
            return out
        points = shapely.points(x, y)
        (found, _), distance = self.tree.query_nearest(points, max_distance=self.cap_km * 1000.0,
                                                        return_distance=True, all_matches=False)
        out[found] = np.minimum(distance / 1000.0, self.cap_km)
        if self.inside is not None:
            out[self.inside.any(x, y)] = 0.0
        return out


def _pieces(geometries: np.ndarray) -> np.ndarray:
    """Points as they are; lines and rings cut into pieces of at most :data:`PIECE_VERTICES` vertices."""
    parts = shapely.get_parts(geometries[~shapely.is_empty(geometries)]) if len(geometries) else geometries
    points = parts[shapely.get_type_id(parts) == shapely.GeometryType.POINT]
    lines = parts[shapely.get_type_id(parts) != shapely.GeometryType.POINT]
    if not len(lines):
        return points
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    starts = np.r_[0, np.cumsum(np.bincount(owner, minlength=len(lines)))[:-1]]
    position = np.arange(len(coords)) - starts[owner]
    step = PIECE_VERTICES - 1
    k = position // step
    # a vertex where one piece ends and the next begins belongs to both
    shared = (position % step == 0) & (position > 0)
    span = int(k.max()) + 2
    key = np.concatenate([owner * span + k, owner[shared] * span + k[shared] - 1])
    order = np.lexsort((np.concatenate([position, position[shared]]), key))
    coords, key = np.concatenate([coords, coords[shared]])[order], key[order]
    _, piece = np.unique(key, return_inverse=True)
    keep = np.bincount(piece)[piece] >= 2
    _, piece = np.unique(piece[keep], return_inverse=True)
    return np.concatenate([points, shapely.linestrings(coords[keep], indices=piece)])


class Within:
    """Which points lie within a distance of any of a set of geometries (inside a polygon counts).

    Parameters
    ----------
    geometries
        Geometries in the points' CRS (metres).
    distance_m
        The buffer: the geometries are grown by it once, as the raster path grows them,
        and prepared, so that each test is a fast point-in-polygon test.
    """

    def __init__(self, geometries: np.ndarray, distance_m: float = 0.0) -> None:
        grown = shapely.buffer(geometries, distance_m) if distance_m > 0 else np.array(geometries, dtype=object)
        shapely.prepare(grown)
        self.geometries = grown
        self.tree = shapely.STRtree(grown)

    def hits(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (point index, geometry index) of each point and every geometry within reach.

        Parameters
        ----------
        x, y
            Point coordinates in the geometries' CRS (metres).

        Returns
        -------
        tuple[numpy.ndarray, numpy.ndarray]
            int64 point indices and the matching geometry indices.
        """
        if len(self.tree) == 0 or len(x) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        points = shapely.points(x, y)
        point, geometry = self.tree.query(points)  # bounding boxes first, then the prepared test
        inside = shapely.intersects(self.geometries[geometry], points[point])
        return point[inside], geometry[inside]

    def any(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point lies within reach of at least one geometry.

        Parameters
        ----------
        x, y
            Point coordinates in the geometries' CRS (metres).

        Returns
        -------
        numpy.ndarray
            bool per point.
        """
        out = np.zeros(len(x), dtype=bool)
        out[self.hits(x, y)[0]] = True
        return out

    def largest(self, x: np.ndarray, y: np.ndarray, values: np.ndarray, fill: float) -> np.ndarray:
        """Per point, the largest of ``values`` (one per geometry) among the geometries within reach; else ``fill``.

        Parameters
        ----------
        x, y
            Point coordinates in the geometries' CRS (metres).
        values
            One value per geometry, in the order given to the index.
        fill
            The value of a point no geometry reaches.

        Returns
        -------
        numpy.ndarray
            float64 per point.
        """
        out = np.full(len(x), fill, dtype=np.float64)
        point, geometry = self.hits(x, y)
        if point.size:
            reached = np.full(len(x), -np.inf)
            np.maximum.at(reached, point, values[geometry])
            hit = np.isfinite(reached)
            out[hit] = reached[hit]
        return out


class RasterSampler:
    """Bilinear samples of a raster held in memory, at points given in another CRS.

    Parameters
    ----------
    values
        The raster (NaN where it has no data).
    transform, crs
        Its affine transform and CRS.
    points_crs
        The CRS the points are given in.

    Notes
    -----
    Cell values stand at cell centres, as rasterio's bilinear resampling assumes;
    within the outer half of the edge cells the edge value holds, and points off the
    raster get NaN.
    """

    def __init__(self, values: np.ndarray, transform: Affine, crs: str, points_crs: str) -> None:
        self.values = values.astype(np.float32, copy=False)
        self.inverse = ~transform
        self.to_raster = None if str(crs) == str(points_crs) else Transformer.from_crs(
            points_crs, crs, always_xy=True)

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The raster's value at each point (float32, NaN off the raster).

        Parameters
        ----------
        x, y
            Point coordinates in ``points_crs``.

        Returns
        -------
        numpy.ndarray
            Bilinear float32 samples, one per point.
        """
        if self.to_raster is not None:
            x, y = self.to_raster.transform(x, y)
        col, row = self.inverse * (np.asarray(x, float), np.asarray(y, float))
        col, row = np.asarray(col), np.asarray(row)
        height, width = self.values.shape
        with np.errstate(invalid="ignore"):
            on_raster = (col >= 0) & (col <= width) & (row >= 0) & (row <= height)
        out = np.full(col.shape, np.nan, dtype=np.float32)
        out[on_raster] = ndimage.map_coordinates(self.values, [row[on_raster] - 0.5, col[on_raster] - 0.5], order=1,
                                                 mode="nearest", prefilter=False)
        return out

    def slope_degrees(self, x: np.ndarray, y: np.ndarray, spacing_m: float) -> np.ndarray:
        """Slope (degrees) from central differences ``spacing_m`` apart, as :func:`numpy.gradient` takes it on a grid.

        Parameters
        ----------
        x, y
            Points in the points' CRS (metres).
        spacing_m
            The analysis grid's cell size: the slope is the one a cell centred there would get.

        Returns
        -------
        numpy.ndarray
            float32 degrees, NaN where the raster has no data nearby.
        """
        east, west = self.sample(x + spacing_m, y), self.sample(x - spacing_m, y)
        north, south = self.sample(x, y + spacing_m), self.sample(x, y - spacing_m)
        with np.errstate(invalid="ignore"):
            gradient = np.hypot((east - west) / (2 * spacing_m), (north - south) / (2 * spacing_m))
            return np.degrees(np.arctan(gradient)).astype(np.float32)
