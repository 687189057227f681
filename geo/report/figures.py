"""The report's figures: a static overview map and the criterion contributions, drawn on matplotlib Figures.

Figures are made with :class:`matplotlib.figure.Figure` and rendered by the Agg canvas
directly, so importing or using this module never changes matplotlib's global backend.
Colours and weights come from :mod:`geo.style`, as on the interactive map.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.exclusions import OUTSIDE_STUDY_AREA, OWNERSHIP_UNKNOWN
from geo.gridstrength import effective_voltage_kv
from geo.style import LABEL_EDGE, LAYERS, SCORE_RAMP, VOLTAGE_CLASSES, LayerStyle, agency_colour, voltage_class
from geo.types import ANALYSIS_CRS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from geo.runmodel import RunResult

DPI = 120
#: The exclusion raster is thinned to at most this many cells along its longer side for the overview.
OVERVIEW_RASTER_CELLS = 1200
#: Lines are drawn this much thinner than on the interactive map (points against screen pixels).
LINE_SCALE = 0.6
#: Rank labels: font size (points), and the distances (points) at which a crowded label is moved aside.
LABEL_FONT_PT = 7
LABEL_RINGS_PT = (0.0, 16.0, 28.0, 40.0, 54.0)
SCORE_CMAP = LinearSegmentedColormap.from_list("site score", SCORE_RAMP)


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def label_offsets(points: np.ndarray, sizes: np.ndarray) -> list[tuple[float, float] | None]:
    """Offsets that keep labels apart: each label at its point, else moved aside in the first free place.

    Labels are placed in the given order (best rank first). A label that overlaps one
    already placed is tried at eight directions on rings of growing distance
    (:data:`LABEL_RINGS_PT`); one that finds no free place gets None (left unlabelled).

    Parameters
    ----------
    points
        ``(n, 2)`` label anchors in points (x right, y up).
    sizes
        ``(n, 2)`` label widths and heights in points.

    Returns
    -------
    list
        Per label its ``(dx, dy)`` offset in points, or None.
    """
    placed: list[tuple[float, float, float, float]] = []
    out: list[tuple[float, float] | None] = []
    directions = [(math.cos(a), math.sin(a)) for a in np.radians([90, 30, -30, -90, -150, 150, 0, 180])]
    for (x, y), (w, h) in zip(points, sizes, strict=True):
        choice = None
        for ring in LABEL_RINGS_PT:
            for dx, dy in ([(0.0, 0.0)] if ring == 0 else [(c * ring, s * ring) for c, s in directions]):
                box = (x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
                if all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed):
                    choice = (dx, dy)
                    placed.append(box)
                    break
            if choice is not None:
                break
        out.append(choice)
    return out


def _label_sites(fig: Figure, ax: Axes, sites: pd.DataFrame) -> list[int]:
    """Rank labels for ``sites`` (best first), moved aside with a leader line where crowded; returns ranks left out."""
    ax.apply_aspect()
    anchors = [site.geometry.representative_point() for _, site in sites.iterrows()]
    pixels = ax.transData.transform([(p.x, p.y) for p in anchors]) if anchors else np.zeros((0, 2))
    points = pixels * 72.0 / fig.dpi
    ranks = sites["rank"].astype(int).to_list()
    sizes = np.array([(LABEL_FONT_PT * 0.65 * len(str(r)) + 5, LABEL_FONT_PT + 5) for r in ranks]).reshape(-1, 2)
    left_out = []
    for rank, anchor, offset in zip(ranks, anchors, label_offsets(points, sizes), strict=True):
        if offset is None:
            left_out.append(rank)
            continue
        moved = offset != (0.0, 0.0)
        ax.annotate(str(rank), (anchor.x, anchor.y), xytext=offset, textcoords="offset points", ha="center",
                    va="center", fontsize=LABEL_FONT_PT, fontweight="bold", zorder=8,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": LABEL_EDGE, "lw": 0.5},
                    arrowprops={"arrowstyle": "-", "color": LABEL_EDGE, "lw": 0.6} if moved else None)
    return left_out


def _line(style: LayerStyle, **kwargs: Any) -> Line2D:
    return Line2D([], [], color=style.colour, linewidth=style.weight * LINE_SCALE,
                  linestyle="--" if style.dash else "-", label=style.legend, **kwargs)


def _draw_layers(ax: Axes, result: RunResult, handles: list[Any]) -> None:
    """Land by agency, water, the grid, fiber, substations, towns and outlines, with their legend handles."""
    analysis = result.analysis
    layers = analysis.layers
    if "federal_land" in layers:
        land = layers["federal_land"]
        federal = land[land["is_federal"].fillna(False).to_numpy(dtype=bool)]
        alpha = LAYERS["federal_land"].fill_opacity * 0.8
        for agency, part in federal.groupby("agency"):
            part.plot(ax=ax, color=agency_colour(agency), alpha=alpha, linewidth=0)
            handles.append(Patch(facecolor=agency_colour(agency), alpha=alpha, label=f"{agency} land"))
    for name in ("excluded", "ownership_unknown"):
        style = LAYERS[name]
        handles.append(Patch(facecolor=style.fill, alpha=style.fill_opacity, label=style.legend))
    if "water_bodies" in layers:
        layers["water_bodies"].plot(ax=ax, color=LAYERS["water_bodies"].fill, linewidth=0, zorder=3)
    if "transmission" in layers:
        lines = layers["transmission"]
        classes = pd.Series([voltage_class(kv).label for kv in effective_voltage_kv(lines)], index=lines.index)
        by_label = {c.label: c for c in VOLTAGE_CLASSES}
        for label, part in lines.groupby(classes):
            c = by_label.get(str(label), voltage_class(math.nan))
            part.plot(ax=ax, color=c.colour, linewidth=c.weight * LINE_SCALE, zorder=4)
        handles += [Line2D([], [], color=c.colour, linewidth=c.weight * LINE_SCALE, label=c.label)
                    for c in VOLTAGE_CLASSES]
    if "fiber" in layers:
        style = LAYERS["fiber"]
        layers["fiber"].plot(ax=ax, color=style.colour, linewidth=style.weight * LINE_SCALE,
                             linestyle="--", zorder=4)
        handles.append(_line(style))
    for name, size in (("substations", 7), ("places", 10)):
        if name in layers:
            style = LAYERS[name]
            layers[name].plot(ax=ax, marker="o", markersize=size, facecolor=style.fill, edgecolor=style.colour,
                              linewidth=0.6, zorder=5)
            handles.append(Line2D([], [], marker="o", color=style.colour, markerfacecolor=style.fill,
                                  linestyle="", label=style.legend))
    if "counties" in layers:
        layers["counties"].boundary.plot(ax=ax, color=LAYERS["counties"].colour,
                                         linewidth=LAYERS["counties"].weight * 0.5, zorder=6)
    states = layers["states"]
    style = LAYERS["states"]
    states[states["state"].isin(analysis.config.states)].boundary.plot(
        ax=ax, color=style.colour, linewidth=style.weight * LINE_SCALE, zorder=6)


def _draw_exclusions(ax: Axes, result: RunResult) -> None:
    """Excluded land and land of unknown ownership, from the exclusion raster thinned to the figure."""
    analysis = result.analysis
    grid, exclusions = analysis.grid, analysis.exclusions
    step = max(1, math.ceil(max(grid.shape) / OVERVIEW_RASTER_CELLS))
    bits = exclusions.bits[::step, ::step]
    inside = np.ones(bits.shape, dtype=bool)
    if OUTSIDE_STUDY_AREA in exclusions.causes:
        inside = (bits & (1 << exclusions.causes.index(OUTSIDE_STUDY_AREA))) == 0
    unknown = np.zeros(bits.shape, dtype=bool)
    if OWNERSHIP_UNKNOWN in exclusions.causes:
        unknown = (bits & (1 << exclusions.causes.index(OWNERSHIP_UNKNOWN))).astype(bool) & inside
    excluded = (bits != 0) & inside & ~unknown
    minx, miny, maxx, maxy = grid.bounds
    for mask, name in ((excluded, "excluded"), (unknown, "ownership_unknown")):
        style = LAYERS[name]
        ax.imshow(np.ma.masked_where(~mask, np.ones(mask.shape)), extent=(minx, maxx, miny, maxy),
                  cmap=ListedColormap([style.fill or style.colour]), alpha=style.fill_opacity,
                  interpolation="nearest", zorder=2)


def overview_png(result: RunResult, top: int) -> bytes:
    """A static overview map (EPSG:5070): land, exclusions, grid, fiber, towns and sites by score.

    Parameters
    ----------
    result
        A finished run.
    top
        How many of the best sites get a rank label; crowded labels are moved aside with a
        leader line, and ranks that find no room are named under the map.

    Returns
    -------
    bytes
        The PNG.
    """
    analysis = result.analysis
    fig = Figure(figsize=(9, 7), dpi=DPI)
    ax = fig.add_subplot()
    handles: list[Any] = []
    _draw_layers(ax, result, handles)
    sites = result.sites.to_crs(ANALYSIS_CRS)
    minx, miny, maxx, maxy = analysis.grid.bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_axis_off()
    left_out: list[int] = []
    if len(sites):
        norm = Normalize(float(sites["score"].min()), float(sites["score"].max()) + 1e-9)
        sites.plot(ax=ax, column="score", cmap=SCORE_CMAP, norm=norm, edgecolor=LAYERS["sites"].colour,
                   linewidth=0.4, zorder=7)
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=SCORE_CMAP), ax=ax, shrink=0.6, pad=0.01)
        bar.set_label("site score")
        left_out = _label_sites(fig, ax, sites.head(top))
    # the exclusion raster goes in last: each vector plot would redraw images
    _draw_exclusions(ax, result)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=5, fontsize=7, frameon=False)
    title = f"Candidate sites: {analysis.config.name} ({', '.join(analysis.config.states)})"
    if result.synthetic:
        title += " - SYNTHETIC DEMO DATA"
    if left_out:
        title += f"\nnot labelled for lack of room: ranks {', '.join(map(str, left_out))}"
    ax.set_title(title, fontsize=11)
    return _png(fig)


def contributions_png(sites: pd.DataFrame, criteria: Sequence[str]) -> bytes:
    """A stacked horizontal bar per top site: each criterion's contribution to its score.

    Parameters
    ----------
    sites
        The top sites, best first.
    criteria
        Names of the active criteria.

    Returns
    -------
    bytes
        The PNG.
    """
    shown = sites.iloc[::-1]
    fig = Figure(figsize=(8, max(2.5, 0.35 * len(shown) + 1.2)), dpi=DPI)
    ax = fig.add_subplot()
    left = np.zeros(len(shown))
    colours = colormaps["tab10"]
    labels = [f"#{int(r)} {s}" for r, s in zip(shown["rank"], shown["site_id"], strict=True)]
    for i, name in enumerate(criteria):
        values = shown[f"{name}_contribution"].fillna(0).to_numpy(dtype=float)
        ax.barh(labels, values, left=left, color=colours(i % 10), label=name.replace("_", " "))
        left += values
    ax.set_xlabel("contribution to the score (weight x sub-score)")
    ax.set_xlim(0, max(1.0, float(left.max()) * 1.02) if len(left) else 1.0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / max(len(shown), 1)), ncol=4, fontsize=8,
              frameon=False)
    ax.set_title("How each criterion contributes to the top sites' scores", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)
