"""Candidate sites on the map: polygons coloured by score, popups, and rank labels that declutter by zoom."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import branca.colormap as cm
import geopandas as gpd
import numpy as np

from geo.config import Criterion
from geo.maps.display import collection, esc, for_display, geojson, leaflet_style
from geo.maps.layers import Canvas
from geo.maps.popup import site_popup
from geo.style import LAYERS, SCORE_RAMP

SITES_PANE = "sites"


def score_colormap(scores: Sequence[float] | np.ndarray) -> cm.LinearColormap:
    """The catalogue's score ramp stretched over the scores shown.

    Parameters
    ----------
    scores
        Site scores (at least one).

    Returns
    -------
    branca.colormap.LinearColormap
        The ramp from the lowest to the highest score.
    """
    vmin, vmax = float(np.min(scores)), float(np.max(scores))
    return cm.LinearColormap(SCORE_RAMP, vmin=vmin, vmax=max(vmax, vmin + 1e-6), caption="Site score")


def add_sites(canvas: Canvas, sites: gpd.GeoDataFrame, name: str, score_map: cm.LinearColormap, *,
              criteria: Sequence[Criterion], weights: Mapping[str, float], min_kv: float | None,
              tolerance: float, standings: Mapping[str, list[str]], labelled: bool, show: bool) -> str:
    """Draw one site table as a layer in the sites pane; returns the layer's JavaScript name.

    Sites are drawn from the last rank to the first, so a better site lies on top of a
    worse neighbour and takes the click. Every site of a ``labelled`` table carries its
    rank as a label; the view script (:mod:`geo.maps.view`) opens only the labels that
    fit at the current zoom.

    Parameters
    ----------
    canvas
        The map being built.
    sites
        A ranked site table.
    name
        The layer's name in the layer control.
    score_map
        Colours each site by its score.
    criteria
        The run's active criteria, for the popup's breakdown.
    weights
        Normalised weight by criterion name.
    min_kv
        The transmission criterion's lowest voltage in kV, named in the nearest-line fact; None: none.
    tolerance
        Simplification tolerance of the site polygons, in metres.
    standings
        By scenario name, one line per site in the order of ``sites``: its standing there
        (see :func:`geo.maps.standing.scenario_standing`).
    labelled
        Whether the sites carry rank labels.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    str
        The layer's JavaScript name.
    """
    shown = for_display(sites.assign(_row=np.arange(len(sites))).iloc[::-1], tolerance)
    table = sites.iloc[shown["_row"].to_numpy()]
    popups = [
        site_popup(site, criteria, weights, len(sites), min_line_kv=min_kv,
                   scenario_ranks={k: v[row] for k, v in standings.items()})
        for row, (_, site) in zip(shown["_row"], table.iterrows(), strict=True)
    ]
    ranks = table["rank"].astype(int).to_numpy()
    labels = [str(r) if labelled else None for r in ranks]
    tips = [f"{esc(name)}: rank {r}, score {s:.3f}" for r, s in zip(ranks, table["score"], strict=True)]
    colours = [score_map(float(s)) for s in table["score"]]
    data = collection(shown, {"rank": ranks, "popup": popups, "label": labels, "tip": tips,
                              "sources": [True] * len(shown), "fill": colours})
    style = LAYERS["sites"]
    layer = geojson(data, name, lambda f: leaflet_style(
        style, fillColor=f["properties"]["fill"], className=f"geo-site geo-site-rank-{f['properties']['rank']}"),
        show=show, pane=SITES_PANE)
    canvas.add(layer, name)
    return layer.get_name()
