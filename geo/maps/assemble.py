"""The whole map of a run, put together from its layer groups, and written as one offline HTML file."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
from branca.element import Element, MacroElement
from folium import plugins
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps

from geo.atomic import atomic_write_text
from geo.errors import GeoError
from geo.maps import layers as groups
from geo.maps import legend
from geo.maps.display import display_tolerance
from geo.maps.popup import sources_html
from geo.maps.relief import add_relief
from geo.maps.sites import SITES_PANE, add_sites, score_colormap
from geo.maps.standing import scenario_standing
from geo.maps.view import View
from geo.store import LayerStore

if TYPE_CHECKING:
    from geo.runmodel import RunResult

log = logging.getLogger(__name__)

DEFAULT_MAPS_DIR = Path("maps")
LATEST_MAP = "latest.html"
RANKED_SITES = "Candidate sites (ranked)"

#: Folium's default Map assets that serve Markers with icons and Bootstrap, neither of which this map uses.
UNUSED_MAP_ASSETS = frozenset({
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css", "awesome_markers_font_css",
    "awesome_markers_css", "awesome_rotate_css",
})


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


def _elevation_path(result: RunResult) -> Path | None:
    """The elevation raster in the run's store, when the store has one."""
    root = result.record.store
    if not root or not Path(root).is_dir():
        return None
    store = LayerStore(root)
    return store.data_path("elevation") if store.has("elevation") else None


def build_map(result: RunResult, *, scenarios: Mapping[str, gpd.GeoDataFrame] | None = None) -> folium.Map:
    """An interactive map of a run, with every layer the analysis used and one popup per site.

    Parameters
    ----------
    result
        A finished run (its analysis layers, exclusions, site table and provenance).
    scenarios
        Extra site tables by scenario name, each drawn as its own toggleable layer; every
        site's popup gives its rank in each of them (by greatest overlap).

    Returns
    -------
    folium.Map
        The map, with its web assets embedded so it opens with no network.
    """
    analysis = result.analysis
    sites = result.sites
    scenarios = dict(scenarios or {})
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_snap=0.25)
    m.get_root().header.add_child(Element(legend.CSS), name="geo_css")  # type: ignore[attr-defined]
    canvas = groups.Canvas(m, display_tolerance(analysis.grid.bounds))
    if analysis.synthetic:
        canvas.legend.append('<div class="banner">SYNTHETIC DEMO DATA: these sites are made up.</div>')
    folium.FeatureGroup(name="No basemap (works offline)", overlay=False, show=True).add_to(m)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap (needs a network)", overlay=False, show=False).add_to(m)
    folium.TileLayer("OpenTopoMap", name="Topographic (needs a network)", overlay=False, show=False).add_to(m)

    elevation = _elevation_path(result)
    if elevation is not None:
        add_relief(canvas, elevation, tuple(analysis.layers["states"].to_crs("EPSG:4326").total_bounds))
    groups.add_ownership(canvas, analysis.layers)
    groups.add_exclusions(canvas, analysis)
    groups.add_water(canvas, analysis.layers)
    groups.add_grid(canvas, analysis.layers)
    groups.add_network(canvas, analysis)
    groups.add_transport(canvas, analysis.layers)
    groups.add_towns(canvas, analysis.layers)
    states = groups.add_boundaries(canvas, analysis.layers)

    labelled = _add_site_layers(canvas, result, scenarios)
    canvas.legend.append("<h6>Basemap</h6>Tiles need a network; outlines and layers work offline.")
    bounds = sites.to_crs("EPSG:4326").total_bounds if len(sites) else states.total_bounds
    fitted = [[bounds[1], bounds[0]], [bounds[3], bounds[2]]]
    m.fit_bounds(fitted, padding=(20, 20))

    legend.Legend("".join(canvas.legend)).add_to(m)
    _Globals(sources_html(analysis.provenance), {"layers": canvas.layers, "sites": int(len(sites))}).add_to(m)
    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(m)
    plugins.Fullscreen(position="topleft").add_to(m)
    plugins.MeasureControl(position="topleft", primary_length_unit="kilometers",
                           secondary_length_unit="miles", primary_area_unit="acres").add_to(m)
    View(fitted, control.get_name(), labelled, analysis.config.sites.top_n).add_to(m)
    inline_assets(m)
    return m


def _add_site_layers(canvas: groups.Canvas, result: RunResult, scenarios: Mapping[str, gpd.GeoDataFrame]) -> str | None:
    """The ranked sites (first in the layer list) and each scenario's; returns the ranked layer's name."""
    analysis, sites = result.analysis, result.sites
    if not len(sites):
        return None
    folium.map.CustomPane(SITES_PANE, z_index=450, pointer_events=True).add_to(canvas.map)
    transmission = next((c for c in analysis.criteria if c.layers == ["transmission"]), None)
    draw = functools.partial(
        add_sites, canvas, criteria=analysis.criteria, weights=analysis.weights,
        min_kv=transmission.min_voltage_kv if transmission is not None else None,
        tolerance=min(canvas.tolerance, analysis.grid.resolution / 2),
    )
    score_map = score_colormap(sites["score"].to_numpy())
    standings = {name: scenario_standing(sites, table) for name, table in scenarios.items()}
    labelled = draw(sites, RANKED_SITES, score_map, standings=standings, labelled=True, show=True)
    canvas.layers.insert(0, canvas.layers.pop())
    canvas.legend.append(legend.section("Candidate sites by score (labels: best ranks, more as you zoom in)",
                                        [legend.gradient(score_map, f"{score_map.vmin:.2f}",
                                                         f"{score_map.vmax:.2f}")]))
    for name, table in scenarios.items():
        if len(table):
            draw(table, f"Scenario: {name}", score_map, standings={}, labelled=False, show=False)
        else:
            canvas.layers.append(f"Scenario: {name}")
    return labelled


@functools.cache
def _offline_assets() -> Mapping[str, str]:
    """The contents of Folium's web assets, keyed by the CDN address Folium would link to."""
    from offlinefolium.elements import _res  # the pinned folium-offline package embeds them

    return _res


def inline_assets(m: folium.Map) -> None:
    """Embed every script and stylesheet the map's elements would load from a CDN into the page.

    Parameters
    ----------
    m
        The finished map; its elements' CDN links are replaced by inline copies.

    Raises
    ------
    GeoError
        An element needs an asset that the installed folium-offline does not carry.
    """
    assets = _offline_assets()
    header = m.get_root().header  # type: ignore[attr-defined]
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
        element.default_js, element.default_css = [], []  # type: ignore[attr-defined]


def write_map(result: RunResult, path: Path | None = None, *,
              scenarios: Mapping[str, gpd.GeoDataFrame] | None = None) -> Path:
    """Write the run's interactive map as one self-contained HTML file, atomically.

    Parameters
    ----------
    result
        A finished run.
    path
        Where to write; by default ``maps/<run_id>.html``, with a copy at ``maps/latest.html``.
    scenarios
        Extra site tables by scenario name (see :func:`build_map`).

    Returns
    -------
    pathlib.Path
        The path written.
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
