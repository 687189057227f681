"""Interactive maps of a run: the ranked sites against the grid, water, fiber, land and terrain.

:func:`build_map` turns a :class:`~geo.runmodel.RunResult` into a Folium map and
:func:`write_map` saves it as one self-contained HTML file. The map works with no
network: Leaflet, the Fullscreen and Measure plugins and their CSS are embedded from
the pinned ``folium-offline`` package instead of being linked from a CDN, the state and
county outlines are vector layers and the shaded relief is an embedded image, so they
show when basemap tiles cannot load. Geometries are simplified for display only; the
full-resolution data stays in the run's GeoParquet outputs.

Every text that comes from a dataset or a configuration (names, agencies, owners,
cause descriptions) is HTML-escaped before it reaches a popup, tooltip, legend or
layer name, so a hostile attribute value shows as text and runs no script.

The package is split by idea: :mod:`~geo.maps.display` (geometries and escaping),
:mod:`~geo.maps.layers` (one function per layer group), :mod:`~geo.maps.sites`,
:mod:`~geo.maps.relief`, :mod:`~geo.maps.popup`, :mod:`~geo.maps.legend`,
:mod:`~geo.maps.view` (the opening view and rank labels) and
:mod:`~geo.maps.assemble` (the whole map). Colours and weights come from
:mod:`geo.style`.
"""

from geo.maps.assemble import DEFAULT_MAPS_DIR, LATEST_MAP, build_map, inline_assets, write_map
from geo.maps.display import display_tolerance, esc, exclusion_shapes, for_display
from geo.maps.popup import site_popup, sources_html
from geo.maps.standing import scenario_standing

__all__ = ["DEFAULT_MAPS_DIR", "LATEST_MAP", "build_map", "write_map", "site_popup", "sources_html",
           "exclusion_shapes", "for_display", "display_tolerance", "inline_assets", "scenario_standing", "esc"]
