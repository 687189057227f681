"""A one-page report of a run, in HTML and Markdown, to forward to the people an analyst briefs.

:func:`write_report` writes ``report.html`` (self-contained: its images are embedded),
``report.md`` and the two figures it shows as PNG files: ``overview.png``, a static
map of the sites against the grid and the land (matplotlib), and
``contributions.png``, how each criterion adds to the top sites' scores.
"""

from __future__ import annotations

import base64
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape

from geo.config import config_yaml
from geo.gridstrength import effective_voltage_kv
from geo.exclusions import OWNERSHIP_UNKNOWN
from geo.maps import AGENCY_COLOURS, VOLTAGE_STYLES, voltage_style
from geo.query import explain_site
from geo.sensitivity import ROBUSTNESS_COLUMNS
from geo.atomic import atomic_write_bytes, atomic_write_text
from geo.types import ANALYSIS_CRS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)
from matplotlib.colors import ListedColormap, Normalize  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

if TYPE_CHECKING:
    from geo.runmodel import RunRecord, RunResult

log = logging.getLogger(__name__)

DEFAULT_REPORTS_DIR = Path("reports")
REPORT_HTML = "report.html"
REPORT_MD = "report.md"
OVERVIEW_PNG = "overview.png"
CONTRIBUTIONS_PNG = "contributions.png"
#: Sites the report breaks down (the configuration's top_n, capped here to keep one page).
MAX_REPORTED_SITES = 15
DPI = 120
#: The exclusion raster is thinned to at most this many cells along its longer side for the overview.
OVERVIEW_RASTER_CELLS = 1200


@dataclass(frozen=True)
class Figures:
    """The report's figures as PNG bytes."""

    overview: bytes
    contributions: bytes


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


#: Land whose ownership no layer covers: unknown, drawn apart from land known to be excluded.
UNKNOWN_COLOUR = "#bcbddc"


def overview_png(result: RunResult, top: int) -> bytes:
    """A static overview map (EPSG:5070): land, exclusions, grid, fiber, towns and sites by score."""
    analysis = result.analysis
    layers = analysis.layers
    fig, ax = plt.subplots(figsize=(9, 7))
    handles: list[Any] = []
    if "federal_land" in layers:
        land = layers["federal_land"]
        federal = land[land["is_federal"].fillna(False).to_numpy(dtype=bool)]
        for agency, part in federal.groupby("agency"):
            colour = AGENCY_COLOURS.get(str(agency), AGENCY_COLOURS["OTHER_FEDERAL"])
            part.plot(ax=ax, color=colour, alpha=0.35, linewidth=0)
            handles.append(Patch(facecolor=colour, alpha=0.35, label=f"{agency} land"))
    grid = analysis.grid
    minx, miny, maxx, maxy = grid.bounds
    handles.append(Patch(facecolor="#9a9a9a", alpha=0.45, label="excluded"))
    handles.append(Patch(facecolor=UNKNOWN_COLOUR, alpha=0.6, label="ownership unknown (no data)"))
    if "water_bodies" in layers:
        layers["water_bodies"].plot(ax=ax, color="#9ecae1", linewidth=0, zorder=3)
    if "transmission" in layers:
        lines = layers["transmission"]
        styles = pd.Series([voltage_style(kv) for kv in effective_voltage_kv(lines)], index=lines.index)
        for (_, colour, weight), part in lines.groupby(styles):
            part.plot(ax=ax, color=colour, linewidth=weight * 0.6, zorder=4)
        handles += [Line2D([], [], color=c, linewidth=w * 0.6, label=label) for label, _, c, w in VOLTAGE_STYLES]
    if "fiber" in layers:
        layers["fiber"].plot(ax=ax, color="#00838f", linewidth=1.2, linestyle="--", zorder=4)
        handles.append(Line2D([], [], color="#00838f", linestyle="--", label="fiber"))
    if "substations" in layers:
        layers["substations"].plot(ax=ax, marker="o", markersize=7, facecolor="white", edgecolor="#4a1486",
                                   zorder=5)
        handles.append(Line2D([], [], marker="o", color="#4a1486", markerfacecolor="white", linestyle="",
                              label="substation"))
    if "places" in layers:
        layers["places"].plot(ax=ax, marker="s", markersize=10, color="#ff8f00", zorder=5)
        handles.append(Line2D([], [], marker="s", color="#ff8f00", linestyle="", label="town"))
    if "counties" in layers:
        layers["counties"].boundary.plot(ax=ax, color="#777777", linewidth=0.4, zorder=6)
    states = layers["states"]
    states[states["state"].isin(analysis.config.states)].boundary.plot(ax=ax, color="#222222", linewidth=1.2,
                                                                         zorder=6)
    sites = result.sites.to_crs(ANALYSIS_CRS)
    if len(sites):
        norm = Normalize(float(sites["score"].min()), float(sites["score"].max()) + 1e-9)
        sites.plot(ax=ax, column="score", cmap="RdYlGn", norm=norm, edgecolor="#222222", linewidth=0.4,
                   zorder=7)
        for _, site in sites.head(top).iterrows():
            point = site.geometry.representative_point()
            ax.annotate(str(int(site["rank"])), (point.x, point.y), ha="center", va="center", fontsize=7,
                        fontweight="bold", zorder=8,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#333333", "lw": 0.5})
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="RdYlGn"), ax=ax, shrink=0.6, pad=0.01)
        bar.set_label("site score")
    # the exclusion raster goes in last, thinned to the figure's resolution: each vector plot redraws images
    step = max(1, math.ceil(max(grid.shape) / OVERVIEW_RASTER_CELLS))
    bits = analysis.exclusions.bits[::step, ::step]
    inside = _inside_study_area(result)[::step, ::step]
    unknown = np.zeros(bits.shape, dtype=bool)
    if OWNERSHIP_UNKNOWN in analysis.exclusions.causes:
        unknown = (bits & (1 << analysis.exclusions.causes.index(OWNERSHIP_UNKNOWN))).astype(bool) & inside
    excluded = (bits != 0) & inside & ~unknown
    extent = (minx, maxx, miny, maxy)
    ax.imshow(np.ma.masked_where(~excluded, np.ones(excluded.shape)), extent=extent,
              cmap="Greys", vmin=0, vmax=2.5, alpha=0.45, interpolation="nearest", zorder=2)
    ax.imshow(np.ma.masked_where(~unknown, np.ones(unknown.shape)), extent=extent,
              cmap=ListedColormap([UNKNOWN_COLOUR]), alpha=0.6, interpolation="nearest", zorder=2)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=5, fontsize=7, frameon=False)
    title = f"Candidate sites: {analysis.config.name} ({', '.join(analysis.config.states)})"
    if result.synthetic:
        title += " - SYNTHETIC DEMO DATA"
    ax.set_title(title, fontsize=11)
    return _png(fig)


def _inside_study_area(result: RunResult) -> np.ndarray:
    exclusions = result.analysis.exclusions
    if "outside_study_area" not in exclusions.causes:
        return np.ones(exclusions.bits.shape, dtype=bool)
    return (exclusions.bits & (1 << exclusions.causes.index("outside_study_area"))) == 0


def contributions_png(sites: pd.DataFrame, criteria: Sequence[str]) -> bytes:
    """A stacked horizontal bar per top site: each criterion's contribution to its score."""
    shown = sites.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(shown) + 1.2)))
    left = np.zeros(len(shown))
    colours = plt.get_cmap("tab10")
    labels = [f"#{int(r)} {s}" for r, s in zip(shown["rank"], shown["site_id"])]
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


def _value(value: Any, pattern: str = "{:,.2f}") -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return pattern.format(value) if not isinstance(value, str) else value


def report_context(result: RunResult, top: int) -> dict[str, Any]:
    """Everything the report templates show, as plain values (the templates escape them)."""
    analysis = result.analysis
    record = result.record
    sites = result.sites
    top_sites = sites.head(top)
    criteria = [c.name for c in analysis.criteria]
    units = {c.name: c.unit for c in analysis.criteria}
    robust = [c for c in ROBUSTNESS_COLUMNS if c in sites.columns]
    table = []
    for _, site in top_sites.iterrows():
        row = {
            "rank": int(site["rank"]), "site_id": site["site_id"], "score": f"{site['score']:.3f}",
            "acres": f"{site['area_acres']:,.0f}", "state": _value(site["state"]), "county": _value(site["county"]),
            "agency": _value(site["agency"]), "unit_name": _value(site.get("unit_name")),
            "line": f"{_value(site['nearest_line_kv'], '{:.0f}')} kV at {_value(site['nearest_line_km'], '{:.1f}')} km",
            "substation": f"{_value(site['nearest_substation']) or 'unnamed'} at "
                          f"{_value(site['nearest_substation_km'], '{:.1f}')} km",
            "town": f"{_value(site['nearest_town'])} at {_value(site['nearest_town_km'], '{:.1f}')} km",
            "summary": explain_site(site, record, len(sites))["summary"],
            "breakdown": [
                {"criterion": name, "value": f"{_value(site.get(f'{name}_value'))} {units[name]}".strip(),
                 "score": _value(site.get(f"{name}_score")),
                 "contribution": _value(site.get(f"{name}_contribution"), "{:.3f}")}
                for name in criteria
            ],
            "robustness": {
                "top_n_share": _value(site.get("top_n_share"), "{:.0%}"),
                "rank_median": _value(site.get("rank_median"), "{:.0f}"),
                "rank_range": f"{_value(site.get('rank_p05'), '{:.0f}')}-{_value(site.get('rank_p95'), '{:.0f}')}",
                "most_sensitive_to": _value(site.get("most_sensitive_to")),
            } if robust else None,
        }
        table.append(row)
    config = analysis.config
    criteria_rows = [
        {"name": c.name, "weight": f"{analysis.weights[c.name]:.3f}", "unit": c.unit, "description": c.description,
         "layers": ", ".join(c.layers), "function": type(c.value_function).__name__}
        for c in analysis.criteria
    ]
    area = record.exclusions.area_km2
    exclusion_rows = [
        {"cause": cause, "description": analysis.exclusions.descriptions.get(cause, ""),
         "area_km2": _value(area.get(cause), "{:,.1f}")}
        for cause in analysis.exclusions.causes
    ]
    provenance_rows = [
        {"layer": name, "source": p.source, "url": p.url, "license": p.license,
         "retrieved": f"{p.retrieved_at:%Y-%m-%d}", "features": f"{p.feature_count:,}", "sha256": p.sha256[:12],
         "caveat": p.caveat or "", "notes": "; ".join(p.notes)}
        for name, p in sorted(analysis.provenance.items())
    ]
    return {
        "title": f"Candidate sites for {config.name}",
        "run_id": record.run_id, "started_at": record.started_at.isoformat(),
        "version": record.version, "synthetic": result.synthetic,
        "description": config.description, "states": ", ".join(config.states),
        "n_sites": len(sites), "total_acres": f"{sites['area_acres'].sum():,.0f}" if len(sites) else "0",
        "resolution": f"{config.resolution_m:g}", "method": config.aggregation.method,
        "eligible_km2": _value(record.exclusions.eligible_km2, "{:,.1f}"),
        "rules": config.sites, "top": len(top_sites), "sites": table, "robust": bool(robust),
        "criteria": criteria_rows, "exclusions": exclusion_rows, "skipped": analysis.skipped, "warnings": analysis.warnings,
        "provenance": provenance_rows, "config_yaml": config_yaml(config),
        "terrain": analysis.terrain, "per_state": _state_rows(record),
    }


def _state_rows(record: RunRecord) -> list[dict[str, str]]:
    """Per state: its site count, eligible land, and why it has no site when it has none."""
    return [
        {"state": code, "sites": str(entry.sites), "eligible_km2": _value(entry.eligible_km2, "{:,.0f}"),
         "unknown_km2": _value(entry.excluded_km2.get(OWNERSHIP_UNKNOWN, 0.0), "{:,.0f}"),
         "why": entry.why or ", ".join(f"{c.replace('_', ' ')} {km2:,.0f} km2"
                                     for c, km2 in list(entry.excluded_km2.items())[:3])}
        for code, entry in record.states.items()
    ]


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font: 13px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #222; }
h1 { font-size: 20px; margin-bottom: 0.2em; } h2 { font-size: 16px; border-bottom: 1px solid #ccc; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.4em 0; } th, td { border-bottom: 1px solid #e3e3e3; padding: 2px 8px;
text-align: left; vertical-align: top; } td.num { text-align: right; } .banner { background: #fde2e1; color: #8a1c1c;
padding: 6px 10px; font-weight: bold; } .caveat { color: #a33; } img { max-width: 100%; }
.figs { display: flex; gap: 1em; flex-wrap: wrap; align-items: flex-start; } .figs img { flex: 1 1 480px; }
pre { background: #f6f6f6; padding: 8px; font-size: 11px; max-height: 320px; overflow: auto; }
.small { font-size: 11px; color: #555; }
</style></head><body>
<h1 id="summary">{{ title }}</h1>
<p class="small">Run {{ run_id }} started {{ started_at }}, geo-siting {{ version }}</p>
{% if synthetic %}<p class="banner">SYNTHETIC DEMO DATA: these sites are made up to show how the tool works.</p>{% endif %}
<p>{{ description }}. States {{ states }}; {{ n_sites }} candidate sites covering {{ total_acres }} acres
of {{ eligible_km2 }} km&sup2; of eligible land; grid {{ resolution }} m; aggregation {{ method }}.</p>
<p class="small">Terrain: {{ terrain }}</p>
<h2 id="states">Sites per state</h2>
<table><tr><th>state</th><th>sites</th><th>eligible km&sup2;</th><th>ownership unknown km&sup2;</th>
<th>no sites because / most land removed by</th></tr>
{% for r in per_state %}<tr><td>{{ r.state }}</td><td class="num">{{ r.sites }}</td><td class="num">{{ r.eligible_km2 }}</td>
<td class="num">{{ r.unknown_km2 }}</td><td>{{ r.why }}</td></tr>{% endfor %}</table>
<h2 id="overview">Overview map and score contributions</h2>
<div class="figs"><img alt="Overview map of the candidate sites" src="data:image/png;base64,{{ overview_b64 }}">
<img alt="Criterion contributions to the top sites' scores" src="data:image/png;base64,{{ contributions_b64 }}"></div>
<h2 id="top-sites">Top {{ top }} sites</h2>
<table><tr><th>rank</th><th>site</th><th>score</th><th>acres</th><th>state</th><th>county</th><th>agency</th>
<th>nearest line</th><th>nearest substation</th><th>nearest town</th>{% if robust %}<th>in top-N share</th>
<th>median rank (5-95%)</th><th>most sensitive to</th>{% endif %}</tr>
{% for s in sites %}<tr><td class="num">{{ s.rank }}</td><td>{{ s.site_id }}</td><td class="num">{{ s.score }}</td>
<td class="num">{{ s.acres }}</td><td>{{ s.state }}</td><td>{{ s.county }}</td><td>{{ s.agency }}{% if s.unit_name %}
({{ s.unit_name }}){% endif %}</td><td>{{ s.line }}</td><td>{{ s.substation }}</td><td>{{ s.town }}</td>
{% if robust %}<td class="num">{{ s.robustness.top_n_share }}</td>
<td class="num">{{ s.robustness.rank_median }} ({{ s.robustness.rank_range }})</td>
<td>{{ s.robustness.most_sensitive_to }}</td>{% endif %}</tr>
{% endfor %}</table>
<h2 id="breakdowns">Breakdowns</h2>
<table><tr><th>site</th>{% for c in criteria %}<th>{{ c.name }}<br><span class="small">raw / sub-score</span></th>
{% endfor %}</tr>
{% for s in sites %}<tr><td>#{{ s.rank }} {{ s.site_id }}</td>{% for b in s.breakdown %}<td class="num">{{ b.value }}<br>
{{ b.score }}</td>{% endfor %}</tr>{% endfor %}</table>
<ul class="small">{% for s in sites[:5] %}<li>{{ s.summary }}</li>{% endfor %}</ul>
<h2 id="configuration">Configuration</h2>
<table><tr><th>criterion</th><th>weight</th><th>unit</th><th>value function</th><th>layers</th><th>description</th></tr>
{% for c in criteria %}<tr><td>{{ c.name }}</td><td class="num">{{ c.weight }}</td><td>{{ c.unit }}</td>
<td>{{ c.function }}</td><td>{{ c.layers }}</td><td>{{ c.description }}</td></tr>{% endfor %}</table>
<p>Sites: cells scoring at least {{ rules.min_cell_score }}, {{ rules.min_area_acres }} to {{ rules.max_area_acres }} acres.</p>
<table><tr><th>exclusion</th><th>what it removes</th><th>km&sup2;</th></tr>
{% for e in exclusions %}<tr><td>{{ e.cause }}</td><td>{{ e.description }}</td><td class="num">{{ e.area_km2 }}</td></tr>
{% endfor %}</table>
{% if skipped %}<p>Not applied:</p><ul>{% for s in skipped %}<li>{{ s }}</li>{% endfor %}</ul>{% endif %}
{% if warnings %}<p>Warnings:</p><ul>{% for s in warnings %}<li>{{ s }}</li>{% endfor %}</ul>{% endif %}
<details><summary>Full configuration (YAML)</summary><pre>{{ config_yaml }}</pre></details>
<h2 id="provenance">Provenance of every layer</h2>
<table><tr><th>layer</th><th>source</th><th>retrieved</th><th>features</th><th>license</th><th>sha256</th><th>caveat</th></tr>
{% for p in provenance %}<tr><td>{{ p.layer }}</td><td>{{ p.source }}<br><span class="small">{{ p.url }}</span></td>
<td>{{ p.retrieved }}</td><td class="num">{{ p.features }}</td><td>{{ p.license }}</td><td>{{ p.sha256 }}</td>
<td class="caveat">{{ p.caveat }}{% if p.notes %}<br><span class="small">{{ p.notes }}</span>{% endif %}</td></tr>
{% endfor %}</table>
</body></html>
"""

_MD = """# {{ title }}

Run {{ run_id }} started {{ started_at }}, geo-siting {{ version }}.
{% if synthetic %}
**SYNTHETIC DEMO DATA: these sites are made up to show how the tool works.**
{% endif %}
{{ description }}. States {{ states }}; {{ n_sites }} candidate sites covering {{ total_acres }} acres of \
{{ eligible_km2 }} km² of eligible land; grid {{ resolution }} m; aggregation {{ method }}.

Terrain: {{ terrain|md }}

## Sites per state

| state | sites | eligible km² | ownership unknown km² | no sites because / most land removed by |
|---|---|---|---|---|
{% for r in per_state %}| {{ r.state }} | {{ r.sites }} | {{ r.eligible_km2 }} | {{ r.unknown_km2 }} | {{ r.why|md }} |
{% endfor %}
## Overview map and score contributions

![Overview map of the candidate sites](overview.png)

![Criterion contributions to the top sites' scores](contributions.png)

## Top {{ top }} sites

| rank | site | score | acres | state | county | agency | nearest line | nearest substation | nearest town |\
{% if robust %} in top-N share | median rank (5-95%) | most sensitive to |{% endif %}
|---:|---|---:|---:|---|---|---|---|---|---|{% if robust %}---:|---:|---|{% endif %}
{% for s in sites %}| {{ s.rank }} | {{ s.site_id|md }} | {{ s.score }} | {{ s.acres }} | {{ s.state|md }} | \
{{ s.county|md }} | {{ s.agency|md }} | {{ s.line }} | {{ s.substation|md }} | {{ s.town|md }} |\
{% if robust %} {{ s.robustness.top_n_share }} | {{ s.robustness.rank_median }} ({{ s.robustness.rank_range }}) | \
{{ s.robustness.most_sensitive_to|md }} |{% endif %}
{% endfor %}
## Breakdowns

| site |{% for c in criteria %} {{ c.name|md }} (raw / sub-score) |{% endfor %}
|---|{% for c in criteria %}---:|{% endfor %}
{% for s in sites %}| #{{ s.rank }} {{ s.site_id|md }} |{% for b in s.breakdown %} {{ b.value|md }} / {{ b.score }} |\
{% endfor %}
{% endfor %}
{% for s in sites[:5] %}- {{ s.summary|md }}
{% endfor %}
## Configuration

| criterion | weight | unit | value function | layers | description |
|---|---:|---|---|---|---|
{% for c in criteria %}| {{ c.name|md }} | {{ c.weight }} | {{ c.unit|md }} | {{ c.function }} | {{ c.layers|md }} | \
{{ c.description|md }} |
{% endfor %}
Sites: cells scoring at least {{ rules.min_cell_score }}, {{ rules.min_area_acres }} to {{ rules.max_area_acres }} acres.

| exclusion | what it removes | km² |
|---|---|---:|
{% for e in exclusions %}| {{ e.cause|md }} | {{ e.description|md }} | {{ e.area_km2 }} |
{% endfor %}{% if skipped %}
Not applied:
{% for s in skipped %}
- {{ s|md }}{% endfor %}
{% endif %}{% if warnings %}
Warnings:
{% for s in warnings %}
- {{ s|md }}{% endfor %}
{% endif %}
## Provenance of every layer

| layer | source | retrieved | features | license | sha256 | caveat |
|---|---|---|---:|---|---|---|
{% for p in provenance %}| {{ p.layer|md }} | {{ p.source|md }} ({{ p.url|md }}) | {{ p.retrieved }} | {{ p.features }} | \
{{ p.license|md }} | {{ p.sha256 }} | {{ p.caveat|md }} |
{% endfor %}"""


def _md_cell(value: Any) -> str:
    """Text for a Markdown table cell: HTML-escaped, pipes and line breaks neutralised."""
    text = "" if value is None else str(value)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


_ENV = Environment(autoescape=select_autoescape(default_for_string=True), keep_trailing_newline=True)
_MD_ENV = Environment(autoescape=False, keep_trailing_newline=True)
_MD_ENV.filters["md"] = _md_cell


def render_figures(result: RunResult, top: int) -> Figures:
    """The overview map and the contribution chart for the ``top`` sites."""
    criteria = [c.name for c in result.analysis.criteria]
    return Figures(overview_png(result, top), contributions_png(result.sites.head(top), criteria))


def write_report(result: RunResult, folder: Path | None = None) -> Path:
    """Write ``report.html``, ``report.md``, ``overview.png`` and ``contributions.png``; returns the HTML path.

    The default folder is the run's output folder, or ``reports/<run_id>`` for a run
    that wrote none. Each file is replaced atomically.
    """
    target = Path(folder) if folder is not None else (
        result.output_dir or DEFAULT_REPORTS_DIR / result.record.run_id)
    target.mkdir(parents=True, exist_ok=True)
    top = min(result.analysis.config.sites.top_n, MAX_REPORTED_SITES)
    context = report_context(result, top)
    figures = render_figures(result, top)
    atomic_write_bytes(target / OVERVIEW_PNG, figures.overview)
    atomic_write_bytes(target / CONTRIBUTIONS_PNG, figures.contributions)
    html_text = _ENV.from_string(_HTML).render(
        **context, overview_b64=base64.b64encode(figures.overview).decode(),
        contributions_b64=base64.b64encode(figures.contributions).decode())
    atomic_write_text(target / REPORT_MD, _MD_ENV.from_string(_MD).render(**context))
    atomic_write_text(target / REPORT_HTML, html_text)
    log.info("wrote report %s", target / REPORT_HTML)
    return target / REPORT_HTML
