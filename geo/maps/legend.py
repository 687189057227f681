"""The map's legend and page style: swatches drawn from the style catalogue, in a collapsible control."""

from __future__ import annotations

from collections.abc import Iterable

import branca.colormap as cm
import numpy as np
from branca.element import MacroElement
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps

from geo.maps.display import esc
from geo.style import LayerStyle

#: Below this window width or height (CSS pixels) the legend and the layer list start collapsed.
SMALL_SCREEN_PX = (800, 560)

CSS = """
<style>
.leaflet-container { background: #f4f1ea; }
.geo-popup { font: 12px/1.4 system-ui, sans-serif; overflow-wrap: break-word; }
.geo-popup h4 { margin: 0 0 4px; font-size: 14px; }
.geo-popup table { border-collapse: collapse; margin: 4px 0; display: block; overflow-x: auto; max-width: 100%; }
.geo-popup th, .geo-popup td { padding: 1px 6px 1px 0; text-align: left; vertical-align: top; }
.geo-popup td.num { text-align: right; }
.geo-popup .caveat { color: #a33; }
.geo-popup .hint { color: #666; font-weight: normal; }
.geo-popup h5 { margin: 6px 0 2px; font-size: 12px; }
.geo-rank-label { background: rgba(255,255,255,0.85); border: 1px solid #333; border-radius: 3px;
                  padding: 0 3px; font: bold 11px system-ui, sans-serif; box-shadow: none; }
.geo-legend { background: rgba(255,255,255,0.92); padding: 4px 8px; border-radius: 4px;
              font: 11px/1.3 system-ui, sans-serif; max-height: 55vh; overflow-y: auto; max-width: 280px; }
.geo-legend summary { cursor: pointer; }
.geo-legend h6 { margin: 6px 0 2px; font-size: 11px; }
.geo-legend .sw { display: inline-block; width: 14px; height: 10px; margin-right: 4px;
                  vertical-align: middle; border: 1px solid #666; }
.geo-legend .ln { display: inline-block; width: 18px; margin-right: 4px; vertical-align: middle; }
.geo-legend .banner { color: #a33; font-weight: bold; }
.geo-legend svg { display: block; }
</style>
"""


class Legend(MacroElement):
    """A collapsible Leaflet control holding ready-made (already escaped) legend HTML.

    It opens on a large window and starts collapsed (a one-line "Legend" button) on a
    small one.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "geo-legend");
                var large = window.innerWidth >= {{ this.small[0] }} && window.innerHeight >= {{ this.small[1] }};
                div.innerHTML = "<details" + (large ? " open" : "") + "><summary><b>Legend</b></summary>"
                    + {{ this.content_json }} + "</details>";
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
        self.small = SMALL_SCREEN_PX
        self.content_json = htmlsafe_json_dumps(content)


def section(title: str, rows: Iterable[str]) -> str:
    """A legend section: an escaped title over ready-made rows.

    Parameters
    ----------
    title
        The section's heading (plain text).
    rows
        Legend entries as HTML, e.g. from :func:`swatch`.

    Returns
    -------
    str
        Legend HTML.
    """
    return f"<h6>{esc(title)}</h6>" + "<br>".join(rows)


def gradient(colormap: cm.LinearColormap, low: str, high: str) -> str:
    """A colour ramp for the legend, drawn with CSS, with its two ends labelled.

    Parameters
    ----------
    colormap
        The ramp, with its value range.
    low, high
        Labels of the two ends (escaped here).

    Returns
    -------
    str
        Legend HTML.
    """
    stops = ", ".join(colormap.rgb_hex_str(v) for v in np.linspace(colormap.vmin, colormap.vmax, 7))
    return (f'<div style="height:10px;width:200px;border:1px solid #666;background:linear-gradient(to right, '
            f'{stops})"></div><div style="width:202px;display:flex;justify-content:space-between">'
            f"<span>{esc(low)}</span><span>{esc(high)}</span></div>")


def swatch(colour: str, label: str, *, line: float | None = None, dash: bool = False) -> str:
    """A legend entry: a filled box, or a line of width ``line`` pixels; ``label`` is escaped.

    Parameters
    ----------
    colour
        A CSS colour.
    label
        The entry's text (plain text).
    line
        Line width in pixels (at least 1.5 is drawn); None: a filled box.
    dash
        Whether the line is dashed.

    Returns
    -------
    str
        Legend HTML.
    """
    if line is not None:
        style = f"border-top: {max(line, 1.5):.1f}px {'dashed' if dash else 'solid'} {colour}"
        return f'<span class="ln" style="{style}"></span>{esc(label)}'
    return f'<span class="sw" style="background:{colour}"></span>{esc(label)}'


def style_swatch(style: LayerStyle, label: str | None = None) -> str:
    """The legend entry of a catalogue style: a circle, a line or a box, as the layer is drawn.

    Parameters
    ----------
    style
        The layer's style from :mod:`geo.style`.
    label
        The entry's text (plain text); None: the style's own legend label.

    Returns
    -------
    str
        Legend HTML.
    """
    text = style.legend if label is None else label
    if style.radius is not None:
        return (f'<span class="sw" style="background:{style.fill};border:2px solid {style.colour};'
                f'border-radius:50%"></span>{esc(text)}')
    if style.fill is None and style.fill_opacity == 0:
        return swatch(style.colour, text, line=style.weight, dash=style.dash)
    return swatch(style.fill or style.colour, text)
