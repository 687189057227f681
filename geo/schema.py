"""Canonical layer schemas: the contract between sources, the store and the analysis.

Every vector layer is a GeoDataFrame in EPSG:4326 whose columns follow one
:class:`LayerSchema` below; the only raster layer, ``elevation``, is a
single-band GeoTIFF in metres. Sources normalise *to* these schemas, the store
validates *against* them on every write and read, and the analysis reads
nothing else. ``docs/DESIGN.md`` renders the same table for readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo.errors import LayerSchemaError
from geo.types import STORE_CRS, GeometryKind

ColumnKind = Literal["str", "float", "int", "bool"]

#: Values that public datasets use for "unknown" and that must never reach the store.
SENTINEL_NUMBERS = (-999999, -99999, -9999, 9999, -999)
SENTINEL_TEXT = ("NOT AVAILABLE", "N/A", "NA", "-999999", "UNKNOWN", "")


@dataclass(frozen=True)
class Column:
    """One attribute of a layer: its type, unit, and the values it may take."""

    name: str
    kind: ColumnKind
    description: str
    unit: str | None = None
    nullable: bool = True
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LayerSchema:
    """The canonical form of one layer; ``without`` says what the analysis does when it is missing."""

    name: str
    geometry: GeometryKind | None
    description: str
    columns: tuple[Column, ...] = field(default_factory=tuple)
    required: bool = True
    without: str = ""

    def column(self, name: str) -> Column:
        """The column called ``name``.

        Parameters
        ----------
        name
            A column of the layer.

        Returns
        -------
        Column
            Its kind, unit, allowed values and whether it may be missing.

        Raises
        ------
        KeyError
            When the layer has no such column.
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"layer {self.name!r} has no column {name!r}")


AGENCIES = (
    "BLM", "USFS", "NPS", "FWS", "BOR", "DOD", "DOE", "OTHER_FEDERAL",
    "STATE", "LOCAL", "TRIBAL", "PRIVATE", "NGO", "UNKNOWN",
)
FEDERAL_AGENCIES = ("BLM", "USFS", "NPS", "FWS", "BOR", "DOD", "DOE", "OTHER_FEDERAL")
VOLTAGE_CLASSES = ("UNDER 100", "100-161", "220-287", "345", "500", "735 AND ABOVE", "DC")
WATER_STRESS_LABELS = (
    "Low (<10%)", "Low - Medium (10-20%)", "Medium - High (20-40%)",
    "High (40-80%)", "Extremely High (>80%)", "Arid and Low Water Use",
)

SCHEMAS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        LayerSchema(
            "states", "Polygon", "State boundaries; fix the analysis extent.",
            (
                Column("state", "str", "Two-letter postal code", nullable=False),
                Column("name", "str", "State name", nullable=False),
            ),
            without="no run: the states fix the study area",
        ),
        LayerSchema(
            "counties", "Polygon", "County boundaries; name the county of each site.",
            (
                Column("geoid", "str", "Five-digit county FIPS code", nullable=False),
                Column("name", "str", "County name", nullable=False),
                Column("state", "str", "Two-letter postal code", nullable=False),
            ),
            without="no run: sites are described by county",
        ),
        LayerSchema(
            "federal_land", "Polygon",
            "Land ownership by managing agency (BLM surface management, PAD-US). "
            "Where it has no polygon inside its coverage the land is not federal; "
            "outside its coverage ownership is unknown.",
            (
                Column("agency", "str", "Managing agency code", nullable=False, choices=AGENCIES),
                Column("agency_name", "str", "Managing agency as the source names it"),
                Column("unit_name", "str", "Administrative unit, e.g. a field office"),
                Column("is_federal", "bool", "Managed by a federal agency", nullable=False),
                Column("source", "str", "Dataset this polygon comes from, where a layer combines several"),
            ),
            without="no run while land.federal_only is on (the default); with it off, land is ranked whoever owns it",
        ),
        LayerSchema(
            "tribal_land", "Polygon",
            "American Indian reservations and off-reservation trust land: never open to a park.",
            (
                Column("name", "str", "Area name", nullable=False),
                Column("geoid", "str", "Census AIANNH code"),
            ),
            required=False,
            without="tribal land is excluded only where the ownership layer marks it",
        ),
        LayerSchema(
            "protected", "Polygon", "Protected land that excludes development.",
            (
                Column("designation", "str", "e.g. National Park, Wilderness, WSA, ACEC", nullable=False),
                Column("name", "str", "Unit name"),
            ),
            without="no run with the default protected-land exclusion; drop it to rank without it",
        ),
        LayerSchema(
            "transmission", "Line", "Electric transmission lines.",
            (
                Column("voltage_kv", "float", "Operating voltage (highest circuit)", "kV",
                       min_value=0, max_value=1500),
                Column("voltage_class", "str", "HIFLD voltage class", choices=VOLTAGE_CLASSES),
                Column("status", "str", "IN SERVICE, PROPOSED, UNDER CONST, INACTIVE"),
                Column("owner", "str", "Owner or operator"),
            ),
            without="no run with the default transmission criterion; sites are described without their nearest line",
        ),
        LayerSchema(
            "substations", "Point", "Electric substations.",
            (
                Column("name", "str", "Substation name"),
                Column("max_voltage_kv", "float", "Highest voltage", "kV", min_value=0, max_value=1500),
            ),
            without="no run with the default substation criterion; grid strength is not scored",
        ),
        LayerSchema(
            "water_stress", "Polygon",
            "Baseline water stress as WRI Aqueduct defines it (bws_score 0-5), or a documented proxy.",
            (
                Column("score", "float", "Water stress score, 0 (low) to 5 (extremely high)",
                       "score 0-5", nullable=False, min_value=0, max_value=5),
                Column("category", "str", "Aqueduct label", choices=WATER_STRESS_LABELS),
            ),
            without="no run with the default water-stress criterion",
        ),
        LayerSchema(
            "county_stats", "Polygon",
            "County figures: population (the labour pool) and where fresh water is drawn from.",
            (
                Column("geoid", "str", "Five-digit county FIPS code", nullable=False),
                Column("population", "float", "Resident population", "people", min_value=0),
                Column("groundwater_share", "float", "Share of fresh-water withdrawals drawn from groundwater",
                       "share 0-1", min_value=0, max_value=1),
                Column("fresh_withdrawal_mgd", "float", "Fresh-water withdrawals, all uses", "Mgal/d", min_value=0),
            ),
            required=False,
            without="the labour pool and groundwater criteria are not applied; the weights renormalise",
        ),
        LayerSchema(
            "water_service_areas", "Polygon", "Areas served by a public-supply water system.",
            (Column("name", "str", "Water system name"),), required=False,
            without="the water-access criterion is not applied; the weights renormalise",
        ),
        LayerSchema(
            "fiber", "Line", "Long-haul fiber routes, or a documented proxy for them.",
            (
                Column("name", "str", "Route or operator name"),
                Column("kind", "str", "What the line is: fiber, or the proxy it stands for", nullable=False),
            ),
            without="the fiber criterion uses backbone points of presence, if stored",
        ),
        LayerSchema(
            "backbone_pops", "Point",
            "Backbone network points of presence: the cities where long-haul fiber can be joined.",
            (
                Column("name", "str", "City of the point of presence", nullable=False),
                Column("network", "str", "Network operator or map"),
            ),
            required=False,
            without="the fiber criterion uses fiber routes, if stored; else it is not applied",
        ),
        LayerSchema(
            "roads", "Line", "Major roads (interstates and primary highways).", (
                Column("name", "str", "Route name, e.g. I-15"),
                Column("road_class", "str", "interstate, primary or secondary", nullable=False),
            ), required=False,
            without="the highway/rail criterion uses rail alone, if stored",
        ),
        LayerSchema(
            "rail", "Line", "Railroads.", (Column("name", "str", "Line or owner name"),), required=False,
            without="the highway/rail criterion uses roads alone, if stored",
        ),
        LayerSchema(
            "places", "Point", "Towns and cities, the workforce a park draws on.",
            (
                Column("name", "str", "Place name", nullable=False),
                Column("population", "int", "Population", "people", nullable=False, min_value=0),
            ),
            required=False,
            without="towns are not excluded and sites are described without their nearest town",
        ),
        LayerSchema(
            "urban", "Polygon", "Built-up urban areas, excluded from siting.",
            (Column("name", "str", "Urban area name"),), required=False,
            without="urban areas are not excluded",
        ),
        LayerSchema(
            "water_bodies", "Polygon", "Lakes and reservoirs, excluded from siting.",
            (Column("name", "str", "Water body name"),), required=False,
            without="water bodies are not excluded",
        ),
        LayerSchema(
            "power_plants", "Point", "Power plants with their capacity.",
            (
                Column("name", "str", "Plant name"),
                Column("capacity_mw", "float", "Nameplate capacity", "MW", min_value=0, max_value=20000),
                Column("fuel", "str", "Primary energy source"),
            ),
            required=False,
            without="generation nearby is not scored; the weights renormalise",
        ),
        LayerSchema(
            "elevation", None, "Elevation raster in metres (GeoTIFF).", required=False,
            without="no slope, relief or high-ground screening; the weights renormalise",
        ),
    )
}

VECTOR_LAYERS = tuple(name for name, s in SCHEMAS.items() if s.geometry is not None)
RASTER_LAYERS = tuple(name for name, s in SCHEMAS.items() if s.geometry is None)

_GEOMETRY_TYPES: dict[GeometryKind, set[str]] = {
    "Point": {"Point", "MultiPoint"},
    "Line": {"LineString", "MultiLineString"},
    "Polygon": {"Polygon", "MultiPolygon"},
}


def schema_for(layer: str) -> LayerSchema:
    """The schema of ``layer``; a clear error for a name that is not a layer.

    Parameters
    ----------
    layer
        A canonical layer name.

    Returns
    -------
    LayerSchema
        Its columns and geometry type (None for a raster).

    Raises
    ------
    LayerSchemaError
        Naming the layers there are.
    """
    try:
        return SCHEMAS[layer]
    except KeyError:
        raise LayerSchemaError(
            f"unknown layer {layer!r}; the layers are: {', '.join(SCHEMAS)}"
        ) from None


def validate_layer(layer: str, frame: gpd.GeoDataFrame, *, where: str = "") -> gpd.GeoDataFrame:
    """Check ``frame`` against the schema of ``layer`` and return it with canonical dtypes.

    Parameters
    ----------
    layer
        A canonical vector layer name.
    frame
        Its features.
    where
        Where the frame comes from (a file, "new version"), named in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        Only the schema's columns, in order and with their dtypes, plus the geometry.

    Raises
    ------
    LayerSchemaError
        Naming the layer, the column or geometry at fault and what was expected.
    """
    schema = schema_for(layer)
    origin = f"layer {layer!r}" + (f" ({where})" if where else "")
    if schema.geometry is None:
        raise LayerSchemaError(f"{origin} is a raster layer; validate it with validate_raster")
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise LayerSchemaError(f"{origin}: expected a GeoDataFrame with a geometry column")
    if len(frame) == 0:
        raise LayerSchemaError(f"{origin} is empty: expected at least one feature")
    if frame.crs is None:
        raise LayerSchemaError(f"{origin} has no CRS: expected {STORE_CRS}")
    if pyproj.CRS(frame.crs) != pyproj.CRS(STORE_CRS):
        raise LayerSchemaError(
            f"{origin} has CRS {pyproj.CRS(frame.crs).to_string()}: expected {STORE_CRS}"
        )
    geoms = frame.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        bad = int((geoms.isna() | geoms.is_empty).sum())
        raise LayerSchemaError(f"{origin} has {bad} missing or empty geometries")
    types = set(geoms.geom_type.unique())
    allowed = _GEOMETRY_TYPES[schema.geometry]
    if not types <= allowed:
        raise LayerSchemaError(
            f"{origin} has geometry types {sorted(types - allowed)}: expected {schema.geometry}"
        )
    invalid = ~geoms.is_valid
    if invalid.any():
        raise LayerSchemaError(
            f"{origin} has {int(invalid.sum())} invalid geometries (first at row "
            f"{int(np.flatnonzero(invalid.to_numpy())[0])}); repair them with shapely.make_valid"
        )
    out = frame.copy()
    for col in schema.columns:
        out[col.name] = _validate_column(origin, col, out)
    keep = [c.name for c in schema.columns] + [out.geometry.name]
    return out[keep].reset_index(drop=True)


def _validate_column(origin: str, col: Column, frame: pd.DataFrame) -> pd.Series:
    if col.name not in frame.columns:
        if col.nullable:
            return pd.Series(pd.NA if col.kind != "float" else np.nan, index=frame.index,
                             dtype=_DTYPES[col.kind])
        raise LayerSchemaError(
            f"{origin} is missing column {col.name!r}: expected {col.kind} ({col.description})"
        )
    values = frame[col.name]
    where = f"{origin}, column {col.name!r}"
    if col.kind in ("float", "int"):
        numeric = pd.to_numeric(values, errors="coerce")
        unparsable = numeric.isna() & values.notna()
        if unparsable.any():
            raise LayerSchemaError(
                f"{where}: expected numbers, found {values[unparsable].iloc[0]!r}"
            )
        sentinel = numeric.isin(SENTINEL_NUMBERS)
        if sentinel.any():
            raise LayerSchemaError(
                f"{where}: sentinel value {numeric[sentinel].iloc[0]:g} must be stored as missing (NaN)"
            )
        if np.isinf(numeric.astype(float)).any():
            raise LayerSchemaError(f"{where}: infinite values are not allowed")
        lo, hi = col.min_value, col.max_value
        out_of_range = pd.Series(False, index=numeric.index)
        if lo is not None:
            out_of_range |= numeric < lo
        if hi is not None:
            out_of_range |= numeric > hi
        if out_of_range.any():
            raise LayerSchemaError(
                f"{where}: value {numeric[out_of_range].iloc[0]:g} is outside "
                f"[{lo}, {hi}] {col.unit or ''}".rstrip()
            )
        values = numeric.astype(_DTYPES[col.kind])
    elif col.kind == "bool":
        if values.isna().any() and not col.nullable:
            raise LayerSchemaError(f"{where}: expected true/false, found missing values")
        values = values.astype("boolean")
    else:
        values = values.astype("string")
        if col.choices is not None:
            bad = values.notna() & ~values.isin(col.choices)
            if bad.any():
                raise LayerSchemaError(
                    f"{where}: value {values[bad].iloc[0]!r} is not one of {', '.join(col.choices)}"
                )
    if not col.nullable and values.isna().any():
        raise LayerSchemaError(f"{where}: {int(values.isna().sum())} missing values, expected none")
    return values


_DTYPES = {"str": "string", "float": "float64", "int": "Int64", "bool": "boolean"}


def validate_raster(layer: str, path: str, *, where: str = "") -> None:
    """Check that ``path`` is a single-band georeferenced raster for ``layer``.

    Parameters
    ----------
    layer
        A canonical raster layer name.
    path
        The GeoTIFF.
    where
        Where it comes from, named in messages.

    Raises
    ------
    LayerSchemaError
        When the layer is a vector one, or the raster is unreadable, has no CRS or more than one band.
    """
    import rasterio

    origin = f"layer {layer!r}" + (f" ({where})" if where else "")
    if schema_for(layer).geometry is not None:
        raise LayerSchemaError(f"{origin} is a vector layer, not a raster")
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise LayerSchemaError(f"{origin} has no CRS")
            if src.count != 1:
                raise LayerSchemaError(f"{origin} has {src.count} bands: expected 1 (metres)")
    except rasterio.errors.RasterioIOError as exc:
        raise LayerSchemaError(f"{origin}: not a readable raster: {exc}") from exc
