"""Interactive maps of a run: the ranked sites against the grid, water, fiber and land.

:func:`build_map` turns a :class:`~geo.runmodel.RunResult` into a Folium map and
:func:`write_map` saves it as one self-contained HTML file. The map works with no
network: Leaflet, the Fullscreen and Measure plugins and their CSS are embedded from
the pinned ``folium-offline`` package instead of being linked from a CDN, and the
state and county outlines are vector layers, so they show when basemap tiles cannot
load. Geometries are simplified for display only; the full-resolution data stays in
the run's GeoParquet outputs.

Every text that comes from a dataset or a configuration (names, agencies, owners,
cause descriptions) is HTML-escaped before it reaches a popup, tooltip, legend or
layer name, so a hostile attribute value shows as text and runs no script.
"""

from __future__ import annotations

import functools
import html
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from branca.element import Element, MacroElement
from folium import plugins
from folium.template import Template
from folium.utilities import JsCode
from jinja2.utils import htmlsafe_json_dumps
from rasterio import features
from shapely.geometry import shape
from shapely.ops import unary_union

from geo.gridstrength import effective_voltage_kv
from geo.errors import GeoError
from geo.exclusions import OUTSIDE_STUDY_AREA, ExclusionMap
from geo.grid import Grid
from geo.provenance import Provenance
from geo.sameland import match_sites
from geo.sensitivity import NOT_SENSITIVE
from geo.atomic import atomic_write_text
from geo.types import ANALYSIS_CRS, STORE_CRS

if TYPE_CHECKING:
    from geo.runmodel import RunResult

log = logging.getLogger(__name__)

DEFAULT_MAPS_DIR = Path("maps")
LATEST_MAP = "latest.html"
#: Display tolerance as a share of the longer side of the mapped extent (about 650 m for three states).
SIMPLIFY_SHARE = 1 / 2000
#: Exclusions are traced on a grid coarsened to at most this many cells along its longer side.
EXCLUSION_DISPLAY_CELLS = 900
#: Coordinates are rounded to this many degrees (about 1 m), well below the display tolerance.
COORDINATE_GRID_DEG = 1e-5
SITES_PANE = "sites"

AGENCY_COLOURS = {
    "BLM": "#e6c56b", "USFS": "#5aa05a", "NPS": "#9b6fb0", "FWS": "#4f9fbf", "BOR": "#7f8fa6",
    "DOD": "#c0504d", "DOE": "#d9822b", "OTHER_FEDERAL": "#b0a080",
}
NON_FEDERAL_COLOUR = "#cccccc"
#: Transmission styling by the voltage (kV) a line carries: (label, lowest kV, colour, weight).
VOLTAGE_STYLES = (
    ("500 kV and above", 500.0, "#7a0177", 4.0),
    ("345 kV", 345.0, "#c51b8a", 3.2),
    ("230-287 kV", 220.0, "#f768a1", 2.6),
    ("100-161 kV", 100.0, "#fa9fb5", 1.8),
    ("under 100 kV", 0.0, "#fcc5c0", 1.2),
)
DC_OR_UNKNOWN_STYLE = ("DC or voltage unknown", "#888888", 1.2)
CAUSE_COLOURS = ("#8c8c8c", "#b2182b", "#2166ac", "#e08214", "#542788", "#1b7837", "#8c510a", "#01665e",
                 "#c51b7d", "#4d9221", "#d6604d", "#4393c3", "#fdb863")
WATER_STRESS_COLOURS = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
SITE_COLOURS = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")

#: Folium's default Map assets that serve Markers with icons and Bootstrap, neither of which this map uses.
UNUSED_MAP_ASSETS = frozenset({
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css", "awesome_markers_font_css",
    "awesome_markers_css", "awesome_rotate_css",
})

#: Binds the escaped popup, tooltip and label a feature carries in its properties.
_BIND_FEATURE = JsCode("""
function(feature, layer) {
    var p = feature.properties || {};
    if (p.popup) {
        layer.bindPopup(function() { return p.popup + (p.sources ? window.GEO_SOURCES : ""); },
                        {maxWidth: 480, minWidth: 300, maxHeight: 520});
    }
    if (p.label) {
        layer.bindTooltip(p.label, {permanent: true, direction: "center", className: "geo-rank-label"});
    } else if (p.tip) {
        layer.bindTooltip(p.tip, {sticky: true});
    }
}
""")

_CSS = """
<style>
.leaflet-container { background: #f4f1ea; }
.geo-popup { font: 12px/1.4 system-ui, sans-serif; }
.geo-popup h4 { margin: 0 0 4px; font-size: 14px; }
.geo-popup table { border-collapse: collapse; margin: 4px 0; }
.geo-popup th, .geo-popup td { padding: 1px 6px 1px 0; text-align: left; vertical-align: top; }
.geo-popup td.num { text-align: right; }
.geo-popup .caveat { color: #a33; }
.geo-popup h5 { margin: 6px 0 2px; font-size: 12px; }
.geo-rank-label { background: rgba(255,255,255,0.85); border: 1px solid #333; border-radius: 3px;
                  padding: 0 3px; font: bold 11px system-ui, sans-serif; box-shadow: none; }
.geo-legend { background: rgba(255,255,255,0.92); padding: 6px 8px; border-radius: 4px;
              font: 11px/1.3 system-ui, sans-serif; max-height: 60vh; overflow-y: auto; max-width: 300px; }
.geo-legend h6 { margin: 6px 0 2px; font-size: 11px; }
.geo-legend .sw { display: inline-block; width: 14px; height: 10px; margin-right: 4px;
                  vertical-align: middle; border: 1px solid #666; }
.geo-legend .ln { display: inline-block; width: 18px; margin-right: 4px; vertical-align: middle; }
.geo-legend .banner { color: #a33; font-weight: bold; }
.geo-legend svg { display: block; }
</style>
"""


class _Legend(MacroElement):
    """A collapsible Leaflet control holding ready-made (already escaped) legend HTML."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "geo-legend");
                div.innerHTML = "<details open><summary><b>Legend</b></summary>" + {{ this.content_json }} + "</details>";
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.content_json = htmlsafe_json_dumps(content)


class _Globals(MacroElement):
    """Values the map's scripts share: the provenance table every site popup ends with, and counts for checks."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.GEO_SOURCES = {{ this.sources_json }};
        window.GEO_MAP = {{ this.counts_json }};
        window.GEO_MAP.map = {{ this._parent.get_name() }};
        {% endmacro %}
    """)

    def __init__(self, sources_html: str, counts: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "Globals"
        self.sources_json = htmlsafe_json_dumps(sources_html)
        self.counts_json = htmlsafe_json_dumps(dict(counts))


def esc(value: Any) -> str:
    """Text of a value for HTML, escaped; missing values become an empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def display_tolerance(bounds: tuple[float, float, float, float]) -> float:
    """Simplification tolerance (metres) that suits showing ``bounds`` (EPSG:5070) in one browser window."""
    minx, miny, maxx, maxy = bounds
    return max(maxx - minx, maxy - miny) * SIMPLIFY_SHARE


def for_display(frame: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """``frame`` simplified (topology preserved) and in EPSG:4326 with coordinates rounded to about 1 m.

    Polygons smaller than a tolerance square vanish at the zoom the tolerance suits and
    are dropped, as are geometries that simplification empties.
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
    """
    factor = max(1, math.ceil(max(grid.shape) / max_cells))
    height, width = math.ceil(grid.height / factor), math.ceil(grid.width / factor)
    bits = np.zeros((height * factor, width * factor), dtype=np.uint16)
    bits[:grid.height, :grid.width] = exclusions.bits
    inside = (bits & (1 << exclusions.causes.index(OUTSIDE_STUDY_AREA))) == 0 \
        if OUTSIDE_STUDY_AREA in exclusions.causes else np.ones(bits.shape, dtype=bool)
    inside[grid.height:, :] = False
    inside[:, grid.width:] = False
    transform = grid.transform * Affine.scale(factor)
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
                                                            transform=transform, connectivity=4)]
        out[cause] = gpd.GeoDataFrame({"cause": [cause]}, geometry=[unary_union(parts)], crs=grid.crs)
    return out


def _collection(frame: gpd.GeoDataFrame, properties: Mapping[str, Iterable[Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame``'s geometries carrying only the given properties."""
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


def _geojson(data: dict[str, Any], name: str, style: Callable[[dict[str, Any]], dict[str, Any]], *,
             show: bool = True, control: bool = True, marker: folium.CircleMarker | None = None,
             pane: str | None = None) -> folium.GeoJson:
    kwargs: dict[str, Any] = {"pane": pane} if pane else {}
    return folium.GeoJson(data, name=esc(name), style_function=style, show=show, control=control,
                          marker=marker, on_each_feature=_BIND_FEATURE, smooth_factor=0.5, **kwargs)


def _fmt(value: Any, pattern: str = "{:,.2f}", unit: str = "", missing: str = "unknown") -> str:
    if value is None or pd.isna(value):
        return missing
    text = pattern.format(value)
    return f"{text} {esc(unit)}".strip()


def _sensitivity_phrase(criterion: Any) -> str:
    if criterion is None or pd.isna(criterion):
        return "sensitivity to single weights not measured"
    if criterion == NOT_SENSITIVE:
        return "no single weight change moves its rank"
    return f"most sensitive to the weight of {esc(str(criterion).replace('_', ' '))}"


def voltage_style(kv: float) -> tuple[str, str, float]:
    """Legend label, colour and line weight for a line of ``kv`` kilovolts (NaN: DC or unknown)."""
    if np.isnan(kv):
        return DC_OR_UNKNOWN_STYLE
    return next((label, colour, weight) for label, low, colour, weight in VOLTAGE_STYLES if kv >= low)


def sources_html(provenance: Mapping[str, Provenance]) -> str:
    """The date, source and caveat of every layer used, as an escaped HTML table."""
    rows = []
    for name, record in sorted(provenance.items()):
        caveat = f'<span class="caveat">{esc(record.caveat)}</span>' if record.caveat else ""
        rows.append(f"<tr><td>{esc(name)}</td><td>{esc(record.source)}</td>"
                    f"<td>{record.retrieved_at:%Y-%m-%d}</td><td>{caveat}</td></tr>")
    return ('<div class="geo-popup"><h5>Layers used</h5><table><tr><th>layer</th><th>source</th>'
            f'<th>retrieved</th><th></th></tr>{"".join(rows)}</table></div>')


def site_popup(site: pd.Series, criteria: list[tuple[str, str, float]], n_sites: int, *,
               min_line_kv: float | None = None, scenario_ranks: Mapping[str, str] | None = None) -> str:
    """Escaped popup HTML explaining one site: rank, score, land, breakdown, nearest features, robustness.

    ``criteria`` lists ``(name, unit, weight)`` of the active criteria; ``scenario_ranks``
    maps a scenario name to the site's standing there, already phrased.
    """
    parts = [
        f"<h4>Rank {int(site['rank'])} of {n_sites} &middot; site {esc(site['site_id'])}</h4>",
        f"<b>Score {site['score']:.3f}</b> &middot; {site['area_acres']:,.0f} acres<br>",
        f"Managed by <b>{esc(site.get('agency'))}</b>"
        + (f" ({esc(site.get('unit_name'))})" if esc(site.get("unit_name")) else "")
        + (f" per {esc(site.get('ownership_source'))}" if esc(site.get("ownership_source")) else "")
        + f"<br>{esc(site.get('county')) or 'county unknown'}, {esc(site.get('state'))} "
          f"&middot; {site['lat']:.4f}, {site['lon']:.4f}",
        f"<br>Compactness {_fmt(site.get('compactness'), '{:.2f}')} (1 = disk, 0.79 = square)",
    ]
    if esc(site.get("terrain")):
        parts.append(f"<br><span class='small'>Terrain: {esc(site.get('terrain'))}</span>")
    if "top_n_share" in site.index:
        parts.append(
            "<h5>Robustness</h5>"
            f"In the top sites in {_fmt(site.get('top_n_share'), '{:.0%}')} of weight samples; "
            f"median rank {_fmt(site.get('rank_median'), '{:.0f}')} "
            f"(5-95%: {_fmt(site.get('rank_p05'), '{:.0f}')}-{_fmt(site.get('rank_p95'), '{:.0f}')}); "
            + _sensitivity_phrase(site.get("most_sensitive_to"))
        )
    rows = "".join(
        f"<tr><td>{esc(name.replace('_', ' '))}</td><td class='num'>{weight:.2f}</td>"
        f"<td class='num'>{_fmt(site.get(f'{name}_value'), unit=unit)}</td>"
        f"<td class='num'>{_fmt(site.get(f'{name}_score'), '{:.2f}')}</td>"
        f"<td class='num'>{_fmt(site.get(f'{name}_contribution'), '{:.3f}')}</td></tr>"
        for name, unit, weight in criteria
    )
    parts.append("<h5>Score breakdown</h5><table><tr><th>criterion</th><th>weight</th><th>raw value</th>"
                 f"<th>sub-score</th><th>contribution</th></tr>{rows}</table>")
    line = f"Nearest line &ge; {min_line_kv:g} kV" if min_line_kv else "Nearest line"
    substation = esc(site.get("nearest_substation")) or "unnamed"
    nearest = [
        f"{line}: {_fmt(site.get('nearest_line_kv'), '{:.0f}', 'kV')} at "
        f"{_fmt(site.get('nearest_line_km'), '{:.1f}', 'km')}",
        f"Nearest substation: {substation} "
        f"({_fmt(site.get('nearest_substation_kv'), '{:.0f}', 'kV', missing='voltage unknown')}) at "
        f"{_fmt(site.get('nearest_substation_km'), '{:.1f}', 'km')}",
    ]
    if "water_stress_value" in site.index:
        nearest.append(f"Water stress: {_fmt(site.get('water_stress_value'), '{:.2f}')} on 0-5")
    if "fiber_value" in site.index:
        nearest.append(f"Distance to the backbone (point of presence or route): "
                       f"{_fmt(site.get('fiber_value'), '{:.1f}', 'km')}")
    nearest.append(f"Nearest town: {esc(site.get('nearest_town')) or 'unknown'} "
                   f"(pop. {_fmt(site.get('nearest_town_population'), '{:,.0f}')}) at "
                   f"{_fmt(site.get('nearest_town_km'), '{:.1f}', 'km')}")
    parts.append("<h5>Nearest</h5>" + "<br>".join(nearest))
    if scenario_ranks:
        parts.append("<h5>In other scenarios</h5>" + "<br>".join(
            f"{esc(name)}: {text}" for name, text in scenario_ranks.items()))
    return f'<div class="geo-popup">{"".join(parts)}</div>'


def scenario_standing(sites: gpd.GeoDataFrame, other: gpd.GeoDataFrame) -> list[str]:
    """For each site, its standing in another site table: the rank of the same land there (:mod:`geo.sameland`)."""
    partner = match_sites(sites, other)
    ranks, scores = other["rank"].to_numpy(), other["score"].to_numpy()
    return [f"rank {int(ranks[k])} (score {scores[k]:.3f})" if k >= 0 else "not a site" for k in partner]


@functools.cache
def _offline_assets() -> Mapping[str, str]:
    """The contents of Folium's web assets, keyed by the CDN address Folium would link to."""
    from offlinefolium.elements import _res  # the pinned folium-offline package embeds them

    return _res


def inline_assets(m: folium.Map) -> None:
    """Embed every script and stylesheet the map's elements would load from a CDN into the page.

    Raises
    ------
    GeoError
        An element needs an asset that the installed folium-offline does not carry.
    """
    assets = _offline_assets()
    header = m.get_root().header
    seen: set[str] = set()
    stack: list[Element] = [m]
    while stack:
        element = stack.pop(0)
        stack.extend(element._children.values())
        js, css = getattr(element, "default_js", None), getattr(element, "default_css", None)
        if js is None and css is None:
            continue
        for kind, links in (("script", js or []), ("style", css or [])):
            for name, url in links:
                if name in seen or (element is m and name in UNUSED_MAP_ASSETS):
                    continue
                if url not in assets:
                    raise GeoError(f"no offline copy of {url} (needed by {type(element).__name__}); "
                                   "install the folium-offline release that matches folium")
                header.add_child(Element(f"<{kind}>{assets[url]}</{kind}>"), name=name)
                seen.add(name)
        element.default_js, element.default_css = [], []


def _legend_section(title: str, rows: Iterable[str]) -> str:
    return f"<h6>{esc(title)}</h6>" + "<br>".join(rows)


def gradient(colormap: cm.LinearColormap, low: str, high: str) -> str:
    """A colour ramp for the legend, drawn with CSS, with its two ends labelled."""
    stops = ", ".join(colormap.rgb_hex_str(v) for v in np.linspace(colormap.vmin, colormap.vmax, 7))
    return (f'<div style="height:10px;width:200px;border:1px solid #666;background:linear-gradient(to right, '
            f'{stops})"></div><div style="width:202px;display:flex;justify-content:space-between">'
            f"<span>{esc(low)}</span><span>{esc(high)}</span></div>")


def _point_layer(points: gpd.GeoDataFrame, tips: list[str], name: str, colour: str, fill: str,
                 radius: float) -> tuple[folium.GeoJson, str]:
    """A layer of circle markers with tooltips, and its name for the layer control."""
    style = {"radius": radius, "color": colour, "fillColor": fill, "fillOpacity": 1, "weight": 2}
    return _geojson(_collection(points, {"tip": tips}), name, lambda f: style, marker=folium.CircleMarker()), name


def _point_swatch(colour: str, fill: str, label: str) -> str:
    """Legend entry for a circle marker."""
    return f'<span class="sw" style="background:{fill};border:2px solid {colour};border-radius:50%"></span>{label}'


def _swatch(colour: str, label: str, *, line: float | None = None, dash: bool = False) -> str:
    if line is not None:
        style = f"border-top: {max(line, 1.5):.1f}px {'dashed' if dash else 'solid'} {colour}"
        return f'<span class="ln" style="{style}"></span>{esc(label)}'
    return f'<span class="sw" style="background:{colour}"></span>{esc(label)}'


def build_map(result: RunResult, *, scenarios: Mapping[str, gpd.GeoDataFrame] | None = None) -> folium.Map:
    """An interactive map of a run, with every layer the analysis used and one popup per site.

    Parameters
    ----------
    result
        A finished run (its analysis layers, exclusions, site table and provenance).
    scenarios
        Extra site tables by scenario name, each drawn as its own toggleable layer; every
        site's popup gives its rank in each of them (by greatest overlap).
    """
    analysis = result.analysis
    grid = analysis.grid
    layers = analysis.layers
    sites = result.sites
    tolerance = display_tolerance(grid.bounds)
    scenarios = dict(scenarios or {})
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_snap=0.25)
    m.get_root().header.add_child(Element(_CSS), name="geo_css")
    legend: list[str] = []
    if analysis.synthetic:
        legend.append('<div class="banner">SYNTHETIC DEMO DATA: these sites are made up.</div>')

    folium.FeatureGroup(name="No basemap (works offline)", overlay=False, show=True).add_to(m)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap (needs a network)", overlay=False, show=False).add_to(m)
    folium.TileLayer("OpenTopoMap", name="Topographic (needs a network)", overlay=False, show=False).add_to(m)

    counts: dict[str, Any] = {"layers": [], "sites": int(len(sites))}

    def add(layer: folium.GeoJson, label: str) -> None:
        layer.add_to(m)
        counts["layers"].append(label)

    if "federal_land" in layers:
        land = for_display(layers["federal_land"], tolerance)
        federal = land["is_federal"].fillna(False).to_numpy(dtype=bool)
        colours = [AGENCY_COLOURS.get(a, AGENCY_COLOURS["OTHER_FEDERAL"]) if f else NON_FEDERAL_COLOUR
                   for a, f in zip(land["agency"], federal)]
        tips = [f"{esc(a)}: {esc(n) or esc(u) or 'unnamed unit'}"
                for a, n, u in zip(land["agency"], land["agency_name"], land["unit_name"])]
        data = _collection(land, {"fill": colours, "tip": tips})
        add(_geojson(data, "Federal land by managing agency", lambda f: {
            "fillColor": f["properties"]["fill"], "color": f["properties"]["fill"], "weight": 0.5,
            "fillOpacity": 0.45}), "Federal land by managing agency")
        present = sorted(set(land.loc[federal, "agency"]))
        legend.append(_legend_section("Federal land by agency", [
            _swatch(AGENCY_COLOURS.get(a, AGENCY_COLOURS["OTHER_FEDERAL"]), a) for a in present]
            + ([_swatch(NON_FEDERAL_COLOUR, "not federal")] if (~federal).any() else [])))

    cause_rows = []
    for i, (cause, frame) in enumerate(exclusion_shapes(analysis.exclusions, grid).items()):
        colour = CAUSE_COLOURS[i % len(CAUSE_COLOURS)]
        description = analysis.exclusions.descriptions.get(cause, cause)
        shown = for_display(frame, tolerance)
        if len(shown) == 0:
            continue
        popup = f'<div class="geo-popup"><b>Excluded: {esc(cause)}</b><br>{esc(description)}</div>'
        data = _collection(shown, {"popup": [popup], "tip": [f"excluded: {esc(description)}"]})
        name = f"Excluded: {cause.replace('_', ' ')}"
        add(_geojson(data, name, lambda f, c=colour: {
            "fillColor": c, "color": c, "weight": 0.6, "fillOpacity": 0.35, "dashArray": "3"},
            show=cause not in ("not_federal", "ownership_unknown")), name)
        cause_rows.append(_swatch(colour, f"{cause.replace('_', ' ')}: {description}"))
    if cause_rows:
        legend.append(_legend_section("Excluded land (click for the reason)", cause_rows))

    if "protected" in layers:
        protected = for_display(layers["protected"], tolerance)
        popups = [f'<div class="geo-popup"><b>Protected: {esc(d)}</b><br>{esc(n)}</div>'
                  for d, n in zip(protected["designation"], protected["name"])]
        tips = [f"{esc(d)}: {esc(n)}" for d, n in zip(protected["designation"], protected["name"])]
        add(_geojson(_collection(protected, {"popup": popups, "tip": tips}), "Protected land", lambda f: {
            "fillColor": "#1b7837", "color": "#1b7837", "weight": 1, "fillOpacity": 0.3}), "Protected land")
        kinds = sorted(set(protected["designation"].dropna().astype(str)))
        label = f"protected: {', '.join(kinds[:5])}{', ...' if len(kinds) > 5 else ''}" if kinds else "protected area"
        caveat = analysis.provenance["protected"].caveat if "protected" in analysis.provenance else None
        legend.append(_legend_section("Protected land", [
            _swatch("#1b7837", esc(label + (f" ({caveat})" if caveat else "")))]))

    if "tribal_land" in layers:
        tribal = for_display(layers["tribal_land"], tolerance)
        add(_geojson(_collection(tribal, {"tip": [esc(n) for n in tribal["name"]]}), "Tribal land", lambda f: {
            "fillColor": "#8c510a", "color": "#8c510a", "weight": 1, "fillOpacity": 0.2}, show=False),
            "Tribal land")
        legend.append(_legend_section("Tribal land", [_swatch("#8c510a", "reservation or trust land")]))

    if "water_stress" in layers:
        water = for_display(layers["water_stress"], tolerance)
        colormap = cm.LinearColormap(WATER_STRESS_COLOURS, vmin=0, vmax=5, caption="Water stress (0-5)")
        fills = [colormap(float(s)) if not pd.isna(s) else "#ffffff" for s in water["score"]]
        tips = [f"water stress {_fmt(s, '{:.2f}')} on 0-5: {esc(c) or 'no category'}"
                for s, c in zip(water["score"], water["category"])]
        add(_geojson(_collection(water, {"fill": fills, "tip": tips}), "Water stress", lambda f: {
            "fillColor": f["properties"]["fill"], "color": "#999999", "weight": 0.3, "fillOpacity": 0.5},
            show=False), "Water stress")
        legend.append(_legend_section("Water stress", [gradient(colormap, "0 low", "5 extremely high")]))

    if "transmission" in layers:
        lines = for_display(layers["transmission"], tolerance)
        kv = effective_voltage_kv(lines)
        styles = [voltage_style(v) for v in kv]
        tips = [f"{_fmt(v, '{:.0f}', 'kV')} line, {esc(s) or 'status unknown'}; owner {esc(o) or 'unknown'}"
                for v, s, o in zip(kv, lines["status"], lines["owner"])]
        data = _collection(lines, {"colour": [s[1] for s in styles], "weight": [s[2] for s in styles],
                                   "tip": tips})
        add(_geojson(data, "Transmission lines by voltage", lambda f: {
            "color": f["properties"]["colour"], "weight": f["properties"]["weight"], "opacity": 0.9}),
            "Transmission lines by voltage")
        legend.append(_legend_section("Transmission lines", [
            _swatch(colour, label, line=weight) for label, _, colour, weight in VOLTAGE_STYLES]
            + [_swatch(DC_OR_UNKNOWN_STYLE[1], DC_OR_UNKNOWN_STYLE[0], line=DC_OR_UNKNOWN_STYLE[2])]))

    if "substations" in layers:
        subs = layers["substations"].to_crs(STORE_CRS)
        tips = [f"substation {esc(n) or 'unnamed'} ({_fmt(v, '{:.0f}', 'kV')})"
                for n, v in zip(subs["name"], subs["max_voltage_kv"])]
        add(*_point_layer(subs, tips, "Substations", "#4a1486", "#ffffff", 4))
        legend.append(_legend_section("Substations", [_point_swatch("#4a1486", "#fff", "substation")]))

    if "fiber" in layers:
        fiber = for_display(layers["fiber"], tolerance)
        tips = [f"{esc(k)}: {esc(n) or 'unnamed route'}" for k, n in zip(fiber["kind"], fiber["name"])]
        add(_geojson(_collection(fiber, {"tip": tips}), "Fiber", lambda f: {
            "color": "#00838f", "weight": 2, "dashArray": "6 4"}), "Fiber")
        caveat = analysis.provenance["fiber"].caveat if "fiber" in analysis.provenance else None
        legend.append(_legend_section("Fiber", [
            _swatch("#00838f", f"fiber route{f' ({caveat})' if caveat else ''}", line=2, dash=True)]))

    if "backbone_pops" in layers:
        pops = layers["backbone_pops"].to_crs(STORE_CRS)
        tips = [f"backbone point of presence: {esc(n)} ({esc(w)})" for n, w in zip(pops["name"], pops["network"])]
        add(*_point_layer(pops, tips, "Backbone points of presence", "#00838f", "#e0f7fa", 5))
        legend.append(_legend_section("Backbone", [
            _point_swatch("#00838f", "#e0f7fa", "point of presence (city level)")]))

    for layer_name, label, colour in (("roads", "Major roads", "#8d6e63"), ("rail", "Railroads", "#424242")):
        if layer_name in layers:
            frame = for_display(layers[layer_name], tolerance)
            tips = [esc(n) or label.lower()[:-1] for n in frame["name"]]
            add(_geojson(_collection(frame, {"tip": tips}), label, lambda f, c=colour: {
                "color": c, "weight": 1.2, "opacity": 0.8}, show=False), label)
            legend.append(_legend_section(label, [_swatch(colour, label.lower(), line=1.2)]))

    if "places" in layers:
        places = layers["places"].to_crs(STORE_CRS)
        population = places["population"].to_numpy(dtype="float64", na_value=0.0)
        radius = np.clip(2 + np.log10(np.maximum(population, 1)), 2, 9).round(1)
        tips = [f"{esc(n)} (pop. {_fmt(p, '{:,.0f}')})" for n, p in zip(places["name"], population)]
        add(_geojson(_collection(places, {"tip": tips, "r": radius}), "Towns", lambda f: {
            "radius": f["properties"]["r"], "color": "#333333", "fillColor": "#ffb300", "fillOpacity": 0.9,
            "weight": 1}, marker=folium.CircleMarker()), "Towns")
        legend.append(_legend_section("Towns", [
            '<span class="sw" style="background:#ffb300;border-radius:50%"></span>town (size by population)']))

    outline_tol = tolerance / 2
    if "counties" in layers:
        counties = for_display(layers["counties"], outline_tol)
        tips = [f"{esc(n)} County, {esc(s)}" for n, s in zip(counties["name"], counties["state"])]
        add(_geojson(_collection(counties, {"tip": tips}), "County outlines", lambda f: {
            "color": "#666666", "weight": 0.8, "fill": False, "className": "geo-county"}), "County outlines")
    states = for_display(layers["states"], outline_tol)
    add(_geojson(_collection(states, {}), "State outlines", lambda f: {
        "color": "#222222", "weight": 2.2, "fill": False, "interactive": False, "className": "geo-state"}),
        "State outlines")
    legend.append(_legend_section("Boundaries", [_swatch("#222222", "state", line=2.2),
                                                 _swatch("#666666", "county", line=0.8)]))

    folium.map.CustomPane(SITES_PANE, z_index=450, pointer_events=True).add_to(m)
    criteria = [(c.name, c.unit, analysis.weights[c.name]) for c in analysis.criteria]
    transmission_rule = next((c for c in analysis.criteria if c.layers == ["transmission"]), None)
    min_kv = transmission_rule.min_voltage_kv if transmission_rule is not None else None
    standings = {name: scenario_standing(sites, table) for name, table in scenarios.items()}
    if len(sites):
        vmin, vmax = float(sites["score"].min()), float(sites["score"].max())
        score_map = cm.LinearColormap(SITE_COLOURS, vmin=vmin, vmax=max(vmax, vmin + 1e-6), caption="Site score")
        site_tolerance = min(tolerance, grid.resolution / 2)
        _add_sites(m, sites, "Candidate sites (ranked)", score_map, criteria, min_kv, site_tolerance,
                   top_n=analysis.config.sites.top_n, standings=standings, show=True)
        counts["layers"].insert(0, "Candidate sites (ranked)")
        legend.append(_legend_section("Candidate sites by score (top ranks labelled)",
                                      [gradient(score_map, f"{vmin:.2f}", f"{vmax:.2f}")]))
        for name, table in scenarios.items():
            if len(table):
                _add_sites(m, table, f"Scenario: {name}", score_map, criteria, min_kv, site_tolerance, top_n=0,
                           standings={}, show=False)
            counts["layers"].append(f"Scenario: {name}")
        bounds = sites.total_bounds
    else:
        bounds = states.total_bounds
    legend.append("<h6>Basemap</h6>Tiles need a network; outlines and layers work offline.")
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(20, 20))

    _Legend("".join(legend)).add_to(m)
    _Globals(sources_html(analysis.provenance), counts).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    plugins.Fullscreen(position="topleft").add_to(m)
    plugins.MeasureControl(position="topleft", primary_length_unit="kilometers",
                           secondary_length_unit="miles", primary_area_unit="acres").add_to(m)
    inline_assets(m)
    return m


def _add_sites(m: folium.Map, sites: gpd.GeoDataFrame, name: str, score_map: cm.LinearColormap,
               criteria: list[tuple[str, str, float]], min_kv: float | None, tolerance: float, *, top_n: int,
               standings: Mapping[str, list[str]], show: bool) -> None:
    shown = for_display(sites.assign(_row=np.arange(len(sites))), tolerance)
    table = sites.iloc[shown["_row"].to_numpy()]
    popups = [
        site_popup(site, criteria, len(sites), min_line_kv=min_kv,
                   scenario_ranks={k: v[row] for k, v in standings.items()})
        for row, (_, site) in zip(shown["_row"], table.iterrows())
    ]
    ranks = table["rank"].astype(int).to_numpy()
    labels = [f"{r}" if r <= top_n else None for r in ranks]
    tips = [f"{esc(name)}: rank {r}, score {s:.3f}" for r, s in zip(ranks, table["score"])]
    colours = [score_map(float(s)) for s in table["score"]]
    data = _collection(shown, {"rank": ranks, "popup": popups, "label": labels, "tip": tips,
                               "sources": [True] * len(shown), "fill": colours})
    _geojson(data, name, lambda f: {
        "fillColor": f["properties"]["fill"], "color": "#222222", "weight": 1.2, "fillOpacity": 0.75,
        "className": f"geo-site geo-site-rank-{f['properties']['rank']}"},
        show=show, pane=SITES_PANE).add_to(m)


def write_map(result: RunResult, path: Path | None = None, *,
              scenarios: Mapping[str, gpd.GeoDataFrame] | None = None) -> Path:
    """Write the run's interactive map as one self-contained HTML file, atomically.

    The default path is ``maps/<run_id>.html``; a copy is also written to
    ``maps/latest.html`` beside it. Returns the path written.
    """
    run_id = result.record.run_id
    target = Path(path) if path is not None else DEFAULT_MAPS_DIR / f"{run_id}.html"
    page = build_map(result, scenarios=scenarios)
    text = page.get_root().render()
    atomic_write_text(target, text)
    if path is None:
        atomic_write_text(target.with_name(LATEST_MAP), text)
    log.info("wrote map %s (%.1f MB, %d sites)", target, len(text.encode()) / 1e6, len(result.sites))
    return target


__all__ = ["build_map", "write_map", "site_popup", "sources_html", "exclusion_shapes", "for_display",
           "display_tolerance", "inline_assets", "scenario_standing"]
