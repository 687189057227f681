"""The look of every layer, in one catalogue that the interactive map and the report's overview share.

A layer's colours, line weight, legend label and layer-control title are written
here once; :mod:`geo.maps` turns them into Leaflet styles and :mod:`geo.report`
into matplotlib arguments. Transmission lines are styled by voltage class (the
classes HIFLD publishes, so a 230 kV line shows as "220-287 kV"), and candidate
sites by one score colour ramp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn.

    ``colour`` is the line or outline colour, ``fill`` the fill (None: not filled);
    ``radius`` makes a point layer draw circle markers of that many pixels.
    """

    title: str
    legend: str
    colour: str
    fill: str | None = None
    weight: float = 1.0
    fill_opacity: float = 0.0
    opacity: float = 1.0
    dash: bool = False
    radius: float | None = None


@dataclass(frozen=True)
class VoltageClass:
    """A transmission voltage class: its label, the lowest kV it holds, and how its lines are drawn."""

    label: str
    low_kv: float
    colour: str
    weight: float


LAYERS: dict[str, LayerStyle] = {
    "federal_land": LayerStyle("Federal land by managing agency", "federal land by agency", "#b0a080",
                               fill="#b0a080", weight=0.5, fill_opacity=0.45),
    "protected": LayerStyle("Protected land", "protected area", "#1b7837", fill="#1b7837", fill_opacity=0.3),
    "tribal_land": LayerStyle("Tribal land", "reservation or trust land", "#8c510a", fill="#8c510a",
                              fill_opacity=0.2),
    "water_stress": LayerStyle("Water stress", "water stress (0-5)", "#999999", weight=0.3, fill_opacity=0.5),
    "water_bodies": LayerStyle("Water bodies", "water body", "#9ecae1", fill="#9ecae1", weight=0, fill_opacity=1),
    "transmission": LayerStyle("Transmission lines by voltage", "transmission line", "#888888", opacity=0.9),
    "substations": LayerStyle("Substations", "substation", "#4a1486", fill="#ffffff", weight=2, fill_opacity=1,
                              radius=4),
    "fiber": LayerStyle("Fiber", "fiber route", "#00838f", weight=2, dash=True),
    "backbone_pops": LayerStyle("Backbone points of presence", "point of presence (city level)", "#00838f",
                                fill="#e0f7fa", weight=2, fill_opacity=1, radius=5),
    "roads": LayerStyle("Major roads", "major road", "#8d6e63", weight=1.2, opacity=0.8),
    "rail": LayerStyle("Railroads", "railroad", "#424242", weight=1.2, opacity=0.8),
    "places": LayerStyle("Towns", "town (size by population)", "#333333", fill="#ffb300", fill_opacity=0.9,
                         radius=4),
    "counties": LayerStyle("County outlines", "county", "#666666", weight=0.8),
    "states": LayerStyle("State outlines", "state", "#222222", weight=2.2),
    "sites": LayerStyle("Candidate sites (ranked)", "candidate site", "#222222", weight=1.2, fill_opacity=0.75),
    "excluded": LayerStyle("Excluded land", "excluded", "#9a9a9a", fill="#9a9a9a", weight=0.6, fill_opacity=0.45,
                           dash=True),
    "ownership_unknown": LayerStyle("Ownership unknown", "ownership unknown (no data)", "#bcbddc",
                                    fill="#bcbddc", fill_opacity=0.6),
    "relief": LayerStyle("Shaded relief", "shaded relief", "#000000"),
}

AGENCY_COLOURS = {
    "BLM": "#e6c56b", "USFS": "#5aa05a", "NPS": "#9b6fb0", "FWS": "#4f9fbf", "BOR": "#7f8fa6",
    "DOD": "#c0504d", "DOE": "#d9822b", "OTHER_FEDERAL": LAYERS["federal_land"].colour,
}
NON_FEDERAL_COLOUR = "#cccccc"
#: One colour per exclusion cause, in the order the run lists its causes (repeating past the end).
CAUSE_COLOURS = ("#8c8c8c", "#b2182b", "#2166ac", "#e08214", "#542788", "#1b7837", "#8c510a", "#01665e",
                 "#c51b7d", "#4d9221", "#d6604d", "#4393c3", "#fdb863")
WATER_STRESS_RAMP = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
#: Fill of a polygon whose value is unknown.
NO_DATA_FILL = "#ffffff"
#: Outline and leader lines of the rank labels in the report's overview.
LABEL_EDGE = "#333333"
#: Site scores from lowest (red) to highest (green), on the map and in the overview.
SCORE_RAMP = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")

VOLTAGE_CLASSES = (
    VoltageClass("500 kV and above", 500.0, "#7a0177", 4.0),
    VoltageClass("345 kV", 345.0, "#c51b8a", 3.2),
    VoltageClass("220-287 kV", 220.0, "#f768a1", 2.6),
    VoltageClass("100-161 kV", 100.0, "#fa9fb5", 1.8),
    VoltageClass("under 100 kV", 0.0, "#fcc5c0", 1.2),
)
DC_OR_UNKNOWN = VoltageClass("DC or voltage unknown", math.nan, LAYERS["transmission"].colour, 1.2)


def agency_colour(agency: object) -> str:
    """Fill colour of a federal agency's land.

    Parameters
    ----------
    agency
        The agency code (BLM, USFS, ...); codes without a colour of their own share OTHER_FEDERAL's.

    Returns
    -------
    str
        A hex colour.
    """
    return AGENCY_COLOURS.get(str(agency), AGENCY_COLOURS["OTHER_FEDERAL"])


def voltage_class(kv: float) -> VoltageClass:
    """The class of a line or substation of ``kv`` kilovolts.

    Parameters
    ----------
    kv
        Voltage in kV; NaN for DC or unknown.

    Returns
    -------
    VoltageClass
        The highest class whose lowest voltage ``kv`` reaches, or :data:`DC_OR_UNKNOWN`.
    """
    if kv is None or math.isnan(kv):
        return DC_OR_UNKNOWN
    return next(c for c in VOLTAGE_CLASSES if kv >= c.low_kv)


def cause_colour(index: int) -> str:
    """Colour of the ``index``-th exclusion cause a run lists.

    Parameters
    ----------
    index
        Position of the cause in the run's list of causes.

    Returns
    -------
    str
        A hex colour.
    """
    return CAUSE_COLOURS[index % len(CAUSE_COLOURS)]
