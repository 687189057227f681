"""The opening view: controls fitted to the window, sites clear of them, rank labels that fit the zoom."""

from __future__ import annotations

from branca.element import MacroElement
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps

from geo.maps.legend import SMALL_SCREEN_PX

#: Gap (CSS pixels) kept between the sites and the map's edge or its controls.
MARGIN_PX = 12


class View(MacroElement):
    """Fits the opening view to ``bounds`` clear of the controls, and declutters rank labels by zoom.

    On a small window the layer list starts collapsed (the legend collapses itself). The
    bounds are then fitted with padding measured from the controls actually drawn: the
    layer list on the right, the legend and the zoom buttons on the left, so no control
    covers a site at the opening view; popups pan clear of the same controls. Rank labels
    show for the ``top_n`` best sites at the opening zoom, twice as many per zoom level in, and never over one another:
    labels are placed in rank order and one that would overlap a placed label stays closed.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var control = {{ this.control }};
            var sites = {{ this.sites }};
            var topN = {{ this.top_n }}, margin = {{ this.margin }}, openingZoom = null;
            if (window.innerWidth < {{ this.small[0] }} || window.innerHeight < {{ this.small[1] }}) {
                control.collapse();
                map.on("click", function() { control.collapse(); });
            }
            function width(selector) {
                var widest = 0;
                document.querySelectorAll(selector).forEach(function(el) {
                    var box = el.getBoundingClientRect();
                    if (box.width > 0) { widest = Math.max(widest, box.width); }
                });
                return widest;
            }
            function fit() {
                var left = Math.max(width(".leaflet-left .leaflet-control"), 0) + margin;
                var right = width(".leaflet-right .leaflet-control") + margin;
                map.fitBounds({{ this.bounds }}, {paddingTopLeft: [left, margin],
                                                  paddingBottomRight: [right, margin], animate: false});
                // popups bound later or earlier inherit these: a popup opened on a site pans clear of the controls
                L.Popup.prototype.options.autoPanPaddingTopLeft = L.point(left, margin);
                L.Popup.prototype.options.autoPanPaddingBottomRight = L.point(right, margin);
                openingZoom = map.getZoom();
            }
            function showLabel(layer, on) {
                // a site carries either its permanent rank label or, when that is hidden, a hover tip
                var p = layer.feature.properties, tip = layer.getTooltip();
                var isLabel = Boolean(tip && tip.options.permanent);
                if (on === isLabel && tip) { return; }
                layer.unbindTooltip();
                if (on) {
                    layer.bindTooltip(p.label, {permanent: true, direction: "center", className: "geo-rank-label",
                                                interactive: false});
                } else {
                    layer.bindTooltip(p.tip, {sticky: true});
                }
            }
            function declutter() {
                if (!sites || !map.hasLayer(sites) || openingZoom === null) { return; }
                var limit = Math.max(topN, Math.round(topN * Math.pow(2, map.getZoom() - openingZoom)));
                var labelled = [];
                sites.eachLayer(function(layer) { if (layer.feature.properties.label) { labelled.push(layer); } });
                labelled.sort(function(a, b) { return a.feature.properties.rank - b.feature.properties.rank; });
                var placed = [], view = map.getBounds(), shown = 0;
                labelled.forEach(function(layer) {
                    var rank = layer.feature.properties.rank, centre = layer.getCenter();
                    if (rank > limit || !view.contains(centre)) { showLabel(layer, false); return; }
                    showLabel(layer, true);
                    layer.openTooltip(centre);
                    var el = layer.getTooltip().getElement(), box = el && el.getBoundingClientRect();
                    var free = box && placed.every(function(q) {
                        return box.right + 2 <= q.left || box.left >= q.right + 2
                            || box.bottom + 2 <= q.top || box.top >= q.bottom + 2;
                    });
                    if (free) { placed.push(box); shown++; } else { showLabel(layer, false); }
                });
                window.GEO_MAP.labels_shown = shown;
            }
            fit();
            declutter();
            map.on("zoomend moveend overlayadd", declutter);
            window.GEO_MAP.refit = function() { fit(); declutter(); };
        })();
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]], control: str, sites: str | None, top_n: int) -> None:
        super().__init__()
        self._name = "View"
        self.bounds = htmlsafe_json_dumps(bounds)
        self.control = control
        self.sites = sites or "null"
        self.top_n = int(top_n)
        self.margin = MARGIN_PX
        self.small = SMALL_SCREEN_PX
