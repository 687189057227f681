"""The map's data layers, one function per group, each drawing its layers and legend from the style catalogue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.map import Layer

from geo.gridstrength import effective_voltage_kv
from geo.maps import legend
from geo.maps.display import collection, esc, exclusion_shapes, fmt, for_display, geojson, leaflet_style
from geo.provenance import Provenance
from geo.style import (
    DC_OR_UNKNOWN,
    LAYERS,
    NO_DATA_FILL,
    NON_FEDERAL_COLOUR,
    VOLTAGE_CLASSES,
    WATER_STRESS_RAMP,
    agency_colour,
    cause_colour,
    voltage_class,
)
from geo.types import STORE_CRS

if TYPE_CHECKING:
    from geo.analysis import Analysis

#: Exclusion causes whose layers start hidden: they cover most of the map.
HIDDEN_CAUSES = ("not_federal", "ownership_unknown")


@dataclass
class Canvas:
    """A map being built: its layers (named for the layer control), legend sections and display tolerance."""

    map: folium.Map
    tolerance: float
    legend: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)

    def add(self, layer: Layer, title: str) -> None:
        """Add ``layer`` to the map under ``title``.

        Parameters
        ----------
        layer
            A folium layer (a GeoJSON or tile layer).
        title
            Its name in the layer control, as shown.
        """
        layer.add_to(self.map)
        self.layers.append(title)


def add_ownership(canvas: Canvas, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Federal land coloured by managing agency, and land no federal agency manages.

    Parameters
    ----------
    canvas
        The map being built.
    layers
        The run's vector layers; nothing is drawn without ``federal_land``.
    """
    if "federal_land" not in layers:
        return
    style = LAYERS["federal_land"]
    land = for_display(layers["federal_land"], canvas.tolerance)
    federal = land["is_federal"].fillna(False).to_numpy(dtype=bool)
    colours = [agency_colour(a) if f else NON_FEDERAL_COLOUR for a, f in zip(land["agency"], federal, strict=True)]
    tips = [f"{esc(a)}: {esc(n) or esc(u) or 'unnamed unit'}"
            for a, n, u in zip(land["agency"], land["agency_name"], land["unit_name"], strict=True)]
    data = collection(land, {"fill": colours, "tip": tips})
    canvas.add(geojson(data, style.title, lambda f: leaflet_style(
        style, color=f["properties"]["fill"], fillColor=f["properties"]["fill"])), style.title)
    present = sorted(set(land.loc[federal, "agency"]))
    canvas.legend.append(legend.section("Federal land by agency", [
        legend.swatch(agency_colour(a), a) for a in present]
        + ([legend.swatch(NON_FEDERAL_COLOUR, "not federal")] if (~federal).any() else [])))


def add_exclusions(canvas: Canvas, analysis: Analysis) -> None:
    """Excluded land, one layer per cause; protected and tribal land as their own layers.

    Parameters
    ----------
    canvas
        The map being built.
    analysis
        The run's analysis: its exclusion bitmask, causes, grid and layers.
    """
    rows = []
    base = LAYERS["excluded"]
    for i, (cause, frame) in enumerate(exclusion_shapes(analysis.exclusions, analysis.grid).items()):
        colour = cause_colour(i)
        description = analysis.exclusions.descriptions.get(cause, cause)
        shown = for_display(frame, canvas.tolerance)
        if len(shown) == 0:
            continue
        popup = f'<div class="geo-popup"><b>Excluded: {esc(cause)}</b><br>{esc(description)}</div>'
        data = collection(shown, {"popup": [popup], "tip": [f"excluded: {esc(description)}"]})
        name = f"Excluded: {cause.replace('_', ' ')}"
        options = leaflet_style(base, color=colour, fillColor=colour, fillOpacity=0.35)
        canvas.add(geojson(data, name, _same_style(options), show=cause not in HIDDEN_CAUSES), name)
        rows.append(legend.swatch(colour, f"{cause.replace('_', ' ')}: {description}"))
    if rows:
        canvas.legend.append(legend.section("Excluded land (click for the reason)", rows))
    layers = analysis.layers
    if "protected" in layers:
        style = LAYERS["protected"]
        protected = for_display(layers["protected"], canvas.tolerance)
        pairs = list(zip(protected["designation"], protected["name"], strict=True))
        popups = [f'<div class="geo-popup"><b>Protected: {esc(d)}</b><br>{esc(n)}</div>' for d, n in pairs]
        tips = [f"{esc(d)}: {esc(n)}" for d, n in pairs]
        canvas.add(geojson(collection(protected, {"popup": popups, "tip": tips}), style.title,
                           lambda f: leaflet_style(style)), style.title)
        kinds = sorted(set(protected["designation"].dropna().astype(str)))
        label = protected_legend(kinds, analysis.provenance.get("protected"))
        canvas.legend.append(legend.section(style.title, [legend.style_swatch(style, label)]))
    if "tribal_land" in layers:
        style = LAYERS["tribal_land"]
        tribal = for_display(layers["tribal_land"], canvas.tolerance)
        canvas.add(geojson(collection(tribal, {"tip": [esc(n) for n in tribal["name"]]}), style.title,
                           lambda f: leaflet_style(style), show=False), style.title)
        canvas.legend.append(legend.section(style.title, [legend.style_swatch(style)]))


def protected_legend(designations: list[str], provenance: Provenance | None) -> str:
    """The protected layer's legend line: the designations the data holds and the source it came from.

    Parameters
    ----------
    designations
        Distinct designations present in the layer.
    provenance
        The layer's provenance, if known.

    Returns
    -------
    str
        Plain (unescaped) text naming only what the data holds, e.g. "National Park, from
        Natural Earth parks (partial coverage)".
    """
    kinds = f"{', '.join(designations[:5])}{', ...' if len(designations) > 5 else ''}" if designations else (
        LAYERS["protected"].legend)
    if provenance is None:
        return kinds
    caveat = f" ({provenance.caveat})" if provenance.caveat else ""
    return f"{kinds}, from {provenance.source}{caveat}"


def add_water(canvas: Canvas, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Water stress by basin, on the catalogue's ramp.

    Parameters
    ----------
    canvas
        The map being built.
    layers
        The run's vector layers; nothing is drawn without ``water_stress``.
    """
    if "water_stress" not in layers:
        return
    style = LAYERS["water_stress"]
    water = for_display(layers["water_stress"], canvas.tolerance)
    colormap = cm.LinearColormap(WATER_STRESS_RAMP, vmin=0, vmax=5, caption="Water stress (0-5)")
    fills = [colormap(float(s)) if not pd.isna(s) else NO_DATA_FILL for s in water["score"]]
    tips = [f"water stress {fmt(s, '{:.2f}')} on 0-5: {esc(c) or 'no category'}"
            for s, c in zip(water["score"], water["category"], strict=True)]
    canvas.add(geojson(collection(water, {"fill": fills, "tip": tips}), style.title, lambda f: leaflet_style(
        style, fillColor=f["properties"]["fill"]), show=False), style.title)
    canvas.legend.append(legend.section(style.title, [legend.gradient(colormap, "0 low", "5 extremely high")]))


def add_grid(canvas: Canvas, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Transmission lines by voltage class, and substations.

    Parameters
    ----------
    canvas
        The map being built.
    layers
        The run's vector layers (``transmission`` and ``substations``, either optional).
    """
    if "transmission" in layers:
        style = LAYERS["transmission"]
        lines = for_display(layers["transmission"], canvas.tolerance)
        classes = [voltage_class(v) for v in effective_voltage_kv(lines)]
        tips = [f"{esc(c.label)} line, {esc(s) or 'status unknown'}; owner {esc(o) or 'unknown'}"
                for c, s, o in zip(classes, lines["status"], lines["owner"], strict=True)]
        data = collection(lines, {"colour": [c.colour for c in classes], "weight": [c.weight for c in classes],
                                  "tip": tips})
        canvas.add(geojson(data, style.title, lambda f: leaflet_style(
            style, color=f["properties"]["colour"], weight=f["properties"]["weight"])), style.title)
        canvas.legend.append(legend.section("Transmission lines", [
            legend.swatch(c.colour, c.label, line=c.weight) for c in (*VOLTAGE_CLASSES, DC_OR_UNKNOWN)]))
    if "substations" in layers:
        style = LAYERS["substations"]
        subs = layers["substations"].to_crs(STORE_CRS)
        tips = [f"substation {esc(n) or 'unnamed'} ({esc(voltage_class(v).label)})"
                for n, v in zip(subs["name"], effective_voltage_kv(subs), strict=True)]
        _add_points(canvas, subs, tips, "substations")
        canvas.legend.append(legend.section(style.title, [legend.style_swatch(style)]))


def add_network(canvas: Canvas, analysis: Analysis) -> None:
    """Fiber routes and backbone points of presence, with the fiber layer's caveat.

    Parameters
    ----------
    canvas
        The map being built.
    analysis
        The run's analysis: its ``fiber`` and ``backbone_pops`` layers (either optional)
        and their provenance.
    """
    layers = analysis.layers
    if "fiber" in layers:
        style = LAYERS["fiber"]
        fiber = for_display(layers["fiber"], canvas.tolerance)
        tips = [f"{esc(k)}: {esc(n) or 'unnamed route'}" for k, n in zip(fiber["kind"], fiber["name"], strict=True)]
        canvas.add(geojson(collection(fiber, {"tip": tips}), style.title, lambda f: leaflet_style(style)), style.title)
        caveat = analysis.provenance["fiber"].caveat if "fiber" in analysis.provenance else None
        canvas.legend.append(legend.section(style.title, [
            legend.style_swatch(style, f"{style.legend}{f' ({caveat})' if caveat else ''}")]))
    if "backbone_pops" in layers:
        pops = layers["backbone_pops"].to_crs(STORE_CRS)
        tips = [f"backbone point of presence: {esc(n)} ({esc(w)})"
                for n, w in zip(pops["name"], pops["network"], strict=True)]
        _add_points(canvas, pops, tips, "backbone_pops")
        canvas.legend.append(legend.section("Backbone", [legend.style_swatch(LAYERS["backbone_pops"])]))


def add_transport(canvas: Canvas, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Major roads and railroads, hidden at first.

    Parameters
    ----------
    canvas
        The map being built.
    layers
        The run's vector layers (``roads`` and ``rail``, either optional).
    """
    for name in ("roads", "rail"):
        if name not in layers:
            continue
        style = LAYERS[name]
        frame = for_display(layers[name], canvas.tolerance)
        tips = [esc(n) or style.legend for n in frame["name"]]
        canvas.add(geojson(collection(frame, {"tip": tips}), style.title, _same_style(leaflet_style(style)),
                           show=False), style.title)
        canvas.legend.append(legend.section(style.title, [legend.style_swatch(style)]))


def add_towns(canvas: Canvas, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Towns as circles sized by population.

    Parameters
    ----------
    canvas
        The map being built.
    layers
        The run's vector layers; nothing is drawn without ``places``.
    """
    if "places" not in layers:
        return
    style = LAYERS["places"]
    places = layers["places"].to_crs(STORE_CRS)
    population = places["population"].to_numpy(dtype="float64", na_value=0.0)
    radius = np.clip(2 + np.log10(np.maximum(population, 1)), 2, 9).round(1)
    tips = [f"{esc(n)} (pop. {fmt(p, '{:,.0f}')})" for n, p in zip(places["name"], population, strict=True)]
    canvas.add(geojson(collection(places, {"tip": tips, "r": radius}), style.title, lambda f: leaflet_style(
        style, radius=f["properties"]["r"]), marker=folium.CircleMarker()), style.title)
    canvas.legend.append(legend.section(style.title, [legend.style_swatch(style)]))


def add_boundaries(canvas: Canvas, layers: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """County and state outlines (vector, so they show with no basemap); returns the states as shown.

    Parameters
    ----------
    canvas
        The map being built.
    layers
        The run's vector layers (``states`` required, ``counties`` optional).

    Returns
    -------
    geopandas.GeoDataFrame
        The state outlines, simplified and in EPSG:4326.
    """
    tolerance = canvas.tolerance / 2
    counties, states = LAYERS["counties"], LAYERS["states"]
    if "counties" in layers:
        shown = for_display(layers["counties"], tolerance)
        tips = [f"{esc(n)} County, {esc(s)}" for n, s in zip(shown["name"], shown["state"], strict=True)]
        canvas.add(geojson(collection(shown, {"tip": tips}), counties.title, lambda f: leaflet_style(
            counties, className="geo-county")), counties.title)
    outlines = for_display(layers["states"], tolerance)
    canvas.add(geojson(collection(outlines, {}), states.title, lambda f: leaflet_style(
        states, interactive=False, className="geo-state")), states.title)
    canvas.legend.append(legend.section("Boundaries", [legend.style_swatch(states), legend.style_swatch(counties)]))
    return outlines


def _add_points(canvas: Canvas, points: gpd.GeoDataFrame, tips: list[str], layer: str) -> None:
    """A layer of circle markers with tooltips, styled as the catalogue says."""
    style = LAYERS[layer]
    canvas.add(geojson(collection(points, {"tip": tips}), style.title, _same_style(leaflet_style(style)),
                       marker=folium.CircleMarker()), style.title)


def _same_style(options: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A style function that gives every feature the same Leaflet ``options``."""
    return lambda feature: options
