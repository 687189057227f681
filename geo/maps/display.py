"""Geometries and text made ready for a browser: simplified, in degrees, escaped, as GeoJSON layers."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode
from rasterio import features
from shapely.geometry import shape
from shapely.ops import unary_union

from geo.exclusions import OUTSIDE_STUDY_AREA, ExclusionMap
from geo.grid import Grid
from geo.style import LayerStyle
from geo.types import ANALYSIS_CRS, STORE_CRS

#: Display tolerance as a share of the longer side of the mapped extent (about 650 m for three states).
SIMPLIFY_SHARE = 1 / 2000
#: Exclusions are traced on a grid coarsened to at most this many cells along its longer side.
EXCLUSION_DISPLAY_CELLS = 900
#: Coordinates are rounded to this many degrees (about 1 m), well below the display tolerance.
COORDINATE_GRID_DEG = 1e-5

#: Binds the escaped popup (sized to fit a small window), tooltip and label a feature carries in its
#: properties. The map's view script closes the rank labels that do not fit at the current zoom.
BIND_FEATURE = JsCode("""
function(feature, layer) {
    var p = feature.properties || {};
    if (p.popup) {
        var room = Math.max(200, window.innerWidth - 150);  // clear of the controls on either side
        layer.bindPopup(function() { return p.popup + (p.sources ? window.GEO_SOURCES : ""); },
                        {maxWidth: Math.min(480, room), minWidth: Math.min(300, room),
                         maxHeight: Math.min(520, Math.max(200, window.innerHeight - 140))});
    }
    if (p.label) {
        layer.bindTooltip(p.label, {permanent: true, direction: "center", className: "geo-rank-label",
                                    interactive: false});
    } else if (p.tip) {
        layer.bindTooltip(p.tip, {sticky: true});
    }
}
""")


def esc(value: Any) -> str:
    """Text of a value for HTML, escaped; missing values become an empty string.

    Parameters
    ----------
    value
        Any value; None, NaN and pandas' NA count as missing.

    Returns
    -------
    str
        The escaped text.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def fmt(value: Any, pattern: str = "{:,.2f}", unit: str = "", missing: str = "unknown") -> str:
    """A number formatted with its unit (escaped), or ``missing``.

    Parameters
    ----------
    value
        A number, or None/NaN/NA when unknown.
    pattern
        A ``str.format`` pattern for the number.
    unit
        Unit written after the number (escaped).
    missing
        Text for an unknown value.

    Returns
    -------
    str
        The formatted text.
    """
    if value is None or pd.isna(value):
        return missing
    text = pattern.format(value)
    return f"{text} {esc(unit)}".strip()


def display_tolerance(bounds: tuple[float, float, float, float]) -> float:
    """Simplification tolerance (metres) that suits showing ``bounds`` (EPSG:5070) in one browser window.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in metres.

    Returns
    -------
    float
        The tolerance in metres.
    """
    minx, miny, maxx, maxy = bounds
    return max(maxx - minx, maxy - miny) * SIMPLIFY_SHARE


def for_display(frame: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """``frame`` simplified (topology preserved) and in EPSG:4326 with coordinates rounded to about 1 m.

    Polygons smaller than a tolerance square vanish at the zoom the tolerance suits and
    are dropped, as are geometries that simplification empties.

    Parameters
    ----------
    frame
        Features in any CRS.
    tolerance
        Simplification tolerance in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        The shown features, in EPSG:4326.
    """
    projected = frame.to_crs(ANALYSIS_CRS)
    geoms = shapely.simplify(projected.geometry.to_numpy(), tolerance, preserve_topology=True)
    keep = ~shapely.is_empty(geoms) & ~pd.isna(geoms)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    keep &= ~polygonal | (shapely.area(geoms) >= tolerance**2)
    out = gpd.GeoDataFrame(projected.drop(columns=projected.geometry.name)[keep],
                           geometry=geoms[keep], crs=ANALYSIS_CRS).to_crs(STORE_CRS)
    out.geometry = shapely.set_precision(out.geometry.to_numpy(), COORDINATE_GRID_DEG, mode="pointwise")
    return out[~out.geometry.is_empty]


def exclusion_shapes(exclusions: ExclusionMap, grid: Grid,
                     max_cells: int = EXCLUSION_DISPLAY_CELLS) -> dict[str, gpd.GeoDataFrame]:
    """One (multi)polygon per exclusion cause, traced on a coarsened grid (EPSG:5070).

    The grid is coarsened by a whole factor so its longer side has at most ``max_cells``
    cells; a coarse cell belongs to a cause when at least half its cells do. Land outside
    the study area is left out, since it is not analysed at all.

    Parameters
    ----------
    exclusions
        The run's exclusion bitmask and causes.
    grid
        The grid the bitmask lies on.
    max_cells
        Most cells along the coarsened grid's longer side.

    Returns
    -------
    dict
        Cause name to a one-row GeoDataFrame, for each cause that covers any coarse cell.
    """
    factor = max(1, math.ceil(max(grid.shape) / max_cells))
    coarse_grid = grid.coarsened(factor)
    height, width = coarse_grid.shape
    bits = np.zeros((height * factor, width * factor), dtype=np.uint16)
    bits[:grid.height, :grid.width] = exclusions.bits
    inside = (bits & (1 << exclusions.causes.index(OUTSIDE_STUDY_AREA))) == 0 \
        if OUTSIDE_STUDY_AREA in exclusions.causes else np.ones(bits.shape, dtype=bool)
    inside[grid.height:, :] = False
    inside[:, grid.width:] = False
    out: dict[str, gpd.GeoDataFrame] = {}
    for i, cause in enumerate(exclusions.causes):
        if cause == OUTSIDE_STUDY_AREA:
            continue
        mask = ((bits & (1 << i)) != 0) & inside
        share = mask.reshape(height, factor, width, factor).mean(axis=(1, 3))
        coarse = share >= 0.5
        if not coarse.any():
            continue
        parts = [shape(geom) for geom, _ in features.shapes(coarse.astype(np.uint8), mask=coarse,
                                                            transform=coarse_grid.transform, connectivity=4)]
        out[cause] = gpd.GeoDataFrame({"cause": [cause]}, geometry=[unary_union(parts)], crs=grid.crs)
    return out


def collection(frame: gpd.GeoDataFrame, properties: Mapping[str, Iterable[Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame``'s geometries carrying only the given properties.

    Parameters
    ----------
    frame
        Features, already in EPSG:4326 (see :func:`for_display`).
    properties
        Property name to one value per row of ``frame``; NumPy numbers become JSON numbers, NaN null.

    Returns
    -------
    dict[str, Any]
        The GeoJSON FeatureCollection; feature ids are the row positions.
    """
    columns = {key: list(values) for key, values in properties.items()}
    feats = []
    for i, geom in enumerate(frame.geometry.to_numpy()):
        props = {key: _json_value(values[i]) for key, values in columns.items()}
        feats.append({"type": "Feature", "id": str(i), "properties": props, "geometry": geom.__geo_interface__})
    return {"type": "FeatureCollection", "features": feats}


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    return value


def leaflet_style(style: LayerStyle, **overrides: Any) -> dict[str, Any]:
    """Leaflet path options for a catalogue style, with per-feature ``overrides``.

    Parameters
    ----------
    style
        The layer's style from :mod:`geo.style`.
    **overrides
        Leaflet options that replace the catalogue's (e.g. a per-feature ``fillColor``).

    Returns
    -------
    dict
        Options for a Leaflet path or circle marker.
    """
    out: dict[str, Any] = {"color": style.colour, "weight": style.weight, "opacity": style.opacity}
    if style.fill is None and style.fill_opacity == 0:
        out["fill"] = False
    else:
        out.update(fillColor=style.fill or style.colour, fillOpacity=style.fill_opacity)
    if style.dash:
        out["dashArray"] = "6 4" if style.fill is None else "3"
    if style.radius is not None:
        out["radius"] = style.radius
    out.update(overrides)
    return out


def geojson(data: dict[str, Any], name: str, style: Callable[[dict[str, Any]], dict[str, Any]], *,
            show: bool = True, control: bool = True, marker: folium.CircleMarker | None = None,
            pane: str | None = None) -> folium.GeoJson:
    """A GeoJSON layer whose features bind their own popups, tooltips and labels; ``name`` is escaped.

    Parameters
    ----------
    data
        A GeoJSON FeatureCollection, e.g. from :func:`collection`.
    name
        The layer's name in the layer control.
    style
        Leaflet path options for each feature.
    show
        Whether the layer is on when the map opens.
    control
        Whether the layer appears in the layer control.
    marker
        Draws point features as circle markers; None: Leaflet's default markers.
    pane
        The map pane to draw into; None: the default overlay pane.

    Returns
    -------
    folium.GeoJson
        The layer, not yet added to a map.
    """
    kwargs: dict[str, Any] = {"pane": pane} if pane else {}
    return folium.GeoJson(data, name=esc(name), style_function=style, show=show, control=control,
                          marker=marker, on_each_feature=BIND_FEATURE, smooth_factor=0.5, **kwargs)
