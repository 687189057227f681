"""Generic normalisation steps that every source goes through on its way to a canonical layer.

Each step takes a frame and returns a new one, plus a count where something was
changed or dropped, so that the normalisers can report what they did:

* :func:`to_store_crs` reprojects to EPSG:4326;
* :func:`repair_geometries` runs :func:`shapely.make_valid` on invalid geometries and
  keeps only the geometry family of the layer;
* :func:`drop_empty` and :func:`drop_duplicates` remove unusable and repeated rows;
* :func:`null_sentinels` turns "unknown" codes such as ``-999999`` and ``'NOT AVAILABLE'``
  into missing values;
* :func:`clip_region` and :func:`clip_to_region` cut a layer to the requested states grown
  by :data:`~geo.sources.base.CLIP_MARGIN_KM` (buffered in EPSG:5070);
* :func:`max_kv_from_volts` converts OpenStreetMap-style voltages (volts,
  ``;``-separated) to the highest voltage in kV.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import LayerSchemaError
from geo.schema import SENTINEL_NUMBERS, SENTINEL_TEXT
from geo.sources.base import CLIP_MARGIN_KM, NormalizeContext
from geo.types import ANALYSIS_CRS, STORE_CRS, GeometryKind

log = logging.getLogger(__name__)

_FAMILY: dict[GeometryKind, tuple[str, str]] = {
    "Point": ("Point", "MultiPoint"),
    "Line": ("LineString", "MultiLineString"),
    "Polygon": ("Polygon", "MultiPolygon"),
}
_SENTINEL_TEXT = frozenset(s.upper() for s in SENTINEL_TEXT)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def to_store_crs(frame: gpd.GeoDataFrame, *, where: str) -> gpd.GeoDataFrame:
    """``frame`` in EPSG:4326.

    Parameters
    ----------
    frame
        Features in any CRS.
    where
        The source or file named in the error message.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` itself when already in EPSG:4326, otherwise reprojected.

    Raises
    ------
    LayerSchemaError
        When the frame has no CRS: guessing one would silently misplace every feature.
    """
    if frame.crs is None:
        raise LayerSchemaError(f"{where}: the data has no coordinate reference system")
    if pyproj.CRS(frame.crs) == pyproj.CRS(STORE_CRS):
        return frame
    return frame.to_crs(STORE_CRS)


def keep_family(geom: BaseGeometry | None, kind: GeometryKind) -> BaseGeometry | None:
    """The parts of ``geom`` of the geometry family ``kind`` (e.g. the polygons of a collection).

    Parameters
    ----------
    geom
        Any geometry, or None.
    kind
        The family to keep: ``"Point"``, ``"Line"`` or ``"Polygon"``.

    Returns
    -------
    shapely.Geometry or None
        The single part, a multi-part geometry when there are several, or None when
        ``geom`` has no part of that family.
    """
    if geom is None or geom.is_empty:
        return None
    single, multi = _FAMILY[kind]
    if geom.geom_type in (single, multi):
        return geom
    parts = [p for p in shapely.get_parts(geom) if not p.is_empty]
    kept = [p for p in parts if p.geom_type == single]
    kept += [q for p in parts if p.geom_type == multi for q in shapely.get_parts(p)]
    nested = [p for p in parts if p.geom_type == "GeometryCollection"]
    for collection in nested:
        inner = keep_family(collection, kind)
        if inner is not None:
            kept.extend(shapely.get_parts(inner))
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return getattr(shapely, multi)(kept)


def _keep_family_all(geoms: gpd.GeoSeries, kind: GeometryKind) -> gpd.GeoSeries:
    """Apply :func:`keep_family` only to the rows whose type is outside the family."""
    allowed = set(_FAMILY[kind])
    off = ~geoms.geom_type.isin(allowed) & ~shapely.is_missing(geoms.to_numpy())
    if not off.any():
        return geoms
    out = geoms.copy()
    out[off] = [keep_family(g, kind) for g in geoms[off]]
    return out


def repair_geometries(frame: gpd.GeoDataFrame, kind: GeometryKind) -> tuple[gpd.GeoDataFrame, int]:
    """Repair invalid geometries with :func:`shapely.make_valid`, keeping the family ``kind``.

    Parameters
    ----------
    frame
        Features whose geometries may be invalid.
    kind
        The geometry family the layer holds; other parts made by the repair are dropped.

    Returns
    -------
    tuple[geopandas.GeoDataFrame, int]
        The repaired copy, and the number of geometries that were invalid.
    """
    geoms = frame.geometry
    values = geoms.to_numpy()
    invalid = ~shapely.is_missing(values) & ~shapely.is_empty(values) & ~shapely.is_valid(values)
    count = int(invalid.sum())
    out = frame.copy()
    if count:
        fixed = geoms.copy()
        fixed[invalid] = shapely.make_valid(values[invalid])
        out[frame.geometry.name] = fixed
    out[frame.geometry.name] = _keep_family_all(out.geometry, kind)
    return out, count


def drop_empty(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Remove rows whose geometry is missing or empty.

    Parameters
    ----------
    frame
        Features, some perhaps without geometry.

    Returns
    -------
    tuple[geopandas.GeoDataFrame, int]
        The rows with a geometry, and how many went.
    """
    values = frame.geometry.to_numpy()
    bad = shapely.is_missing(values) | shapely.is_empty(values)
    return frame.loc[~bad].copy(), int(bad.sum())


def drop_duplicates(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Remove exact duplicates: same geometry (byte for byte) and same attribute values.

    Parameters
    ----------
    frame
        Features, some perhaps repeated (as when tiles or states overlap).

    Returns
    -------
    tuple[geopandas.GeoDataFrame, int]
        The first of each set of duplicates, and how many were dropped.
    """
    if frame.empty:
        return frame, 0
    key = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype("string")
    key["__wkb"] = shapely.to_wkb(frame.geometry.to_numpy(), hex=True)
    dup = key.duplicated().to_numpy()
    return frame.loc[~dup].copy(), int(dup.sum())


def null_sentinels(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Turn the sentinel codes of ``columns`` into missing values.

    Numeric columns lose :data:`geo.schema.SENTINEL_NUMBERS`; text columns lose
    :data:`geo.schema.SENTINEL_TEXT` (compared case-insensitively, after stripping).

    Parameters
    ----------
    frame
        The table to clean.
    columns
        Names of the columns to clean; those the frame does not have are ignored.

    Returns
    -------
    pandas.DataFrame
        A copy with the sentinels missing (numeric columns as float64, text as string).
    """
    out = frame.copy()
    for name in columns:
        if name not in out.columns:
            continue
        values = out[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[name] = values.astype("float64").mask(values.isin(SENTINEL_NUMBERS))
        else:
            text = values.astype("string").str.strip()
            out[name] = text.mask(text.str.upper().isin(_SENTINEL_TEXT))
    return out


def max_kv_from_volts(values: pd.Series) -> pd.Series:
    """Highest voltage in kV from OpenStreetMap-style values in volts.

    ``'500000;230000'`` gives 500.0; parts that are not numbers (``'medium'``) are
    ignored; a value with no number, or only zero or sentinel parts, is missing.

    Parameters
    ----------
    values
        Voltage tags in volts, several separated by ``;``.

    Returns
    -------
    pandas.Series
        float64 kilovolts on the same index, NaN where unknown.
    """

    def highest(value: object) -> float:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return np.nan
        numbers = [float(n) for n in _NUMBER.findall(str(value))]
        numbers = [n for n in numbers if n > 0 and n not in SENTINEL_NUMBERS]
        return max(numbers) / 1000.0 if numbers else np.nan

    return pd.Series([highest(v) for v in values], index=values.index, dtype="float64")


def clip_region(ctx: NormalizeContext) -> BaseGeometry | None:
    """The requested states grown by ``CLIP_MARGIN_KM`` (EPSG:4326), or ``None`` when unknown.

    The buffer is computed in EPSG:5070 so that the margin is in true kilometres.

    Parameters
    ----------
    ctx
        The request: its states, and their boundaries when known.

    Returns
    -------
    shapely.Geometry or None
        The clip area in EPSG:4326, or None before the state boundaries are known.

    Raises
    ------
    LayerSchemaError
        When a requested state is not in ``ctx.state_boundaries``.
    """
    if ctx.state_boundaries is None:
        return None
    states = ctx.state_boundaries
    missing = sorted(set(ctx.states) - set(states["state"]))
    if missing:
        raise LayerSchemaError(
            f"state boundaries lack the requested state(s) {', '.join(missing)}; "
            "refresh the states layer first"
        )
    chosen = states.loc[states["state"].isin(ctx.states)].to_crs(ANALYSIS_CRS)
    grown = shapely.buffer(chosen.geometry.union_all(), CLIP_MARGIN_KM * 1000.0)
    grown = shapely.simplify(grown, 250.0)
    return gpd.GeoSeries([grown], crs=ANALYSIS_CRS).to_crs(STORE_CRS).iloc[0]


def area_bbox(ctx: NormalizeContext) -> tuple[float, float, float, float] | None:
    """The bounds of the requested states grown by ``CLIP_MARGIN_KM``, in EPSG:4326.

    Parameters
    ----------
    ctx
        The request, with the states' boundaries when known.

    Returns
    -------
    tuple of float or None
        ``(west, south, east, north)``, or None before the states are known.
    """
    if ctx.state_boundaries is None or ctx.state_boundaries.empty:
        return None
    grown = ctx.state_boundaries.to_crs(ANALYSIS_CRS).buffer(CLIP_MARGIN_KM * 1000).to_crs(STORE_CRS)
    xmin, ymin, xmax, ymax = grown.total_bounds
    return (float(xmin), float(ymin), float(xmax), float(ymax))


def clip_to_region(
    frame: gpd.GeoDataFrame, region: BaseGeometry, kind: GeometryKind
) -> tuple[gpd.GeoDataFrame, int]:
    """Cut ``frame`` to ``region``: drop what lies outside, trim what crosses its edge.

    Parameters
    ----------
    frame
        Features in EPSG:4326.
    region
        The clip area in EPSG:4326 (see :func:`clip_region`).
    kind
        The layer's geometry family; trimmed parts of other families are dropped.

    Returns
    -------
    tuple[geopandas.GeoDataFrame, int]
        The features inside, and how many lay wholly outside (or were emptied by the trim).
    """
    if frame.empty:
        return frame, 0
    shapely.prepare(region)
    geoms = frame.geometry.to_numpy()
    inside = shapely.intersects(region, geoms)
    kept = frame.loc[inside].copy()
    outside = int((~inside).sum())
    if kind == "Point" or kept.empty:
        return kept, outside
    kept_geoms = kept.geometry.to_numpy()
    crossing = ~shapely.within(kept_geoms, region)
    if crossing.any():
        trimmed = shapely.intersection(kept_geoms[crossing], region)
        kept_geoms = kept_geoms.copy()
        kept_geoms[crossing] = [keep_family(g, kind) for g in trimmed]
        kept[kept.geometry.name] = gpd.GeoSeries(kept_geoms, index=kept.index, crs=kept.crs)
    kept, emptied = drop_empty(kept)
    return kept, outside + emptied
