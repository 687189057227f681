"""Steps every vector normaliser shares: matching publisher fields, making points, finishing.

A normaliser maps a publisher's fields onto its layer's columns, then hands the frame
to :func:`finish`, which reprojects, repairs, clips, de-duplicates and validates it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import EmptyLayerError, LayerSchemaError
from geo.schema import SENTINEL_NUMBERS, schema_for, validate_layer
from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.spec import SourceSpec
from geo.types import ANALYSIS_CRS, STORE_CRS

log = logging.getLogger(__name__)

#: Simplification tolerance of a partial layer's coverage outline, in metres (EPSG:5070).
COVERAGE_TOLERANCE_M = 1000.0
#: Grid (degrees) that a coverage outline is snapped to before it is written as WKT.
COVERAGE_GRID_DEG = 1e-5


def as_frame(raw: Any, source_id: str, fields: tuple[str, ...]) -> pd.DataFrame:
    """``raw`` as a (Geo)DataFrame that has ``fields``, matched case-insensitively.

    Parameters
    ----------
    raw
        What the publisher distributes.
    source_id
        The source, for error messages.
    fields
        Publisher fields the normaliser needs; a differently cased column is renamed.

    Returns
    -------
    DataFrame
        ``raw`` with ``fields`` under their expected names.

    Raises
    ------
    LayerSchemaError
        When ``raw`` is not a table or a field is missing, listing those present.
    """
    if not isinstance(raw, pd.DataFrame):
        raise LayerSchemaError(
            f"source {source_id!r}: expected a table or GeoDataFrame, got {type(raw).__name__}"
        )
    by_lower = {str(c).strip().lower(): c for c in raw.columns}
    renames: dict[Any, str] = {}
    for name in fields:
        if name in raw.columns:
            continue
        match = by_lower.get(name.lower())
        if match is None:
            raise LayerSchemaError(
                f"source {source_id!r}: missing field {name!r} "
                f"(fields present: {', '.join(map(str, raw.columns))})"
            )
        renames[match] = name
    return raw.rename(columns=renames) if renames else raw


def as_geoframe(raw: Any, source_id: str, fields: tuple[str, ...]) -> gpd.GeoDataFrame:
    """``raw`` as a GeoDataFrame that has ``fields``.

    Parameters
    ----------
    raw, source_id, fields
        As for :func:`as_frame`.

    Returns
    -------
    GeoDataFrame
        ``raw`` with ``fields`` under their expected names.
    """
    frame = as_frame(raw, source_id, fields)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerSchemaError(
            f"source {source_id!r}: expected a GeoDataFrame with geometries, got a plain table"
        )
    return frame


def points_from_columns(table: pd.DataFrame, lon: str, lat: str, source_id: str) -> gpd.GeoDataFrame:
    """Points from longitude/latitude columns (WGS84); rows without coordinates are dropped.

    Parameters
    ----------
    table
        Rows with coordinate columns.
    lon, lat
        Names of the longitude and latitude columns.
    source_id
        The source, for messages.

    Returns
    -------
    GeoDataFrame
        The rows with coordinates, as points in EPSG:4326.
    """
    x = pd.to_numeric(table[lon], errors="coerce")
    y = pd.to_numeric(table[lat], errors="coerce")
    ok = x.notna() & y.notna() & ~x.isin(SENTINEL_NUMBERS) & ~y.isin(SENTINEL_NUMBERS)
    if not ok.any():
        raise LayerSchemaError(f"source {source_id!r}: no row has numeric {lon!r}/{lat!r}")
    if (~ok).any():
        log.warning("source %s: %d rows without coordinates dropped", source_id, int((~ok).sum()))
    return gpd.GeoDataFrame(table.loc[ok], geometry=gpd.points_from_xy(x[ok], y[ok]), crs=STORE_CRS)


def finish(
    spec: SourceSpec,
    frame: gpd.GeoDataFrame,
    ctx: NormalizeContext,
    *,
    clip: bool = True,
    notes: list[str] | None = None,
    coverage: Callable[[gpd.GeoDataFrame, BaseGeometry | None], BaseGeometry] | None = None,
) -> NormalizedLayer:
    """The generic steps after a source's fields are mapped to the layer's columns.

    Reproject, repair and drop empty geometries, clip to the requested states, drop
    exact duplicates and rows missing a required value, and validate. The provenance
    holds what the data says (notes, covered area, states); what the spec says is added
    by :func:`geo.sources.catalog.normalize`. ``coverage`` computes the area a partial
    layer covers.

    Parameters
    ----------
    spec
        The source the frame comes from.
    frame
        The source's features with the layer's columns already mapped.
    ctx
        The request: states and their boundaries.
    clip
        Clip to the requested states grown by the margin.
    notes
        What the normaliser found, for the provenance.
    coverage
        Computes the area a partial layer covers from the final frame and the clip region.

    Returns
    -------
    NormalizedLayer
        The validated layer.

    Raises
    ------
    EmptyLayerError
        When no usable feature is left.
    """
    schema = schema_for(spec.layer)
    assert schema.geometry is not None, "raster layers do not pass through finish"
    where = f"source {spec.id!r}"
    columns = [c.name for c in schema.columns if c.name in frame.columns]
    out = gpd.GeoDataFrame(frame[columns], geometry=frame.geometry.to_numpy(), crs=frame.crs)
    out = clean.to_store_crs(out, where=where)
    out, repaired = clean.repair_geometries(out, schema.geometry)
    out, empty = clean.drop_empty(out)
    region = clean.clip_region(ctx) if clip else None
    outside = 0
    if region is not None:
        out, outside = clean.clip_to_region(out, region, schema.geometry)
    out, duplicates = clean.drop_duplicates(out)
    required = [c.name for c in schema.columns if not c.nullable and c.name in out.columns]
    incomplete = out[required].isna().any(axis=1) if required else pd.Series(False, index=out.index)
    out = out.loc[~incomplete]
    if out.empty:
        raise EmptyLayerError(
            f"{where}: no usable feature inside {', '.join(ctx.states)} "
            f"({outside} outside, {int(incomplete.sum())} without required values)"
        )
    frame_ok = validate_layer(spec.layer, out, where=where)

    processing = []
    if repaired:
        processing.append(f"{repaired} invalid geometries repaired with make_valid")
    if empty:
        processing.append(f"{empty} features without geometry dropped")
    if duplicates:
        processing.append(f"{duplicates} exact duplicate features dropped")
    if int(incomplete.sum()):
        processing.append(
            f"{int(incomplete.sum())} features without {'/'.join(required)} dropped"
        )
    if clip and region is None:
        processing.append("not clipped: state boundaries were not available")
    for line in processing:
        log.info("%s: %s", where, line)
    provenance: dict[str, Any] = {"coverage_wkt": None, "notes": [*(notes or []), *processing],
                                  "states": list(ctx.states)}
    if coverage is not None:
        # snapping to a 1e-5 degree grid (about 1 m) keeps the outline valid once written as text
        outline = shapely.set_precision(coverage(frame_ok, region), COVERAGE_GRID_DEG)
        provenance["coverage_wkt"] = shapely.to_wkt(outline, rounding_precision=6)
    return NormalizedLayer(
        layer=spec.layer,
        provenance=provenance,
        frame=frame_ok,
        repaired_geometries=repaired,
        dropped_duplicates=duplicates,
        dropped_outside=outside,
        notes=processing,
    )


def covered_area(frame: gpd.GeoDataFrame, region: BaseGeometry | None) -> BaseGeometry:
    """Union of all polygons of ``frame``, simplified to ~1 km, within ``region`` (EPSG:4326).

    Parameters
    ----------
    frame
        A partial layer's polygons.
    region
        The requested states grown by the clip margin, if known.

    Returns
    -------
    BaseGeometry
        The area the layer covers.
    """
    albers = frame.geometry.to_crs(ANALYSIS_CRS)
    rough = shapely.simplify(albers.to_numpy(), COVERAGE_TOLERANCE_M / 4)
    union = shapely.union_all(shapely.make_valid(rough))
    # close the slivers that simplification opens between neighbouring managers
    closed = shapely.buffer(shapely.buffer(union, COVERAGE_TOLERANCE_M / 2), -COVERAGE_TOLERANCE_M / 2)
    outline = shapely.make_valid(shapely.simplify(closed, COVERAGE_TOLERANCE_M))
    area = gpd.GeoSeries([outline], crs=ANALYSIS_CRS).to_crs(STORE_CRS).iloc[0]
    if region is not None:
        area = shapely.intersection(area, region)
    kept = clean.keep_family(shapely.make_valid(area), "Polygon")
    if kept is None:
        raise EmptyLayerError("the covered area of a partial layer is empty")
    return kept
