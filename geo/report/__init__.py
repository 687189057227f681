"""A one-page report of a run, in HTML and Markdown, to forward to the people an analyst briefs.

:func:`write_report` writes ``report.html`` (self-contained: its images are embedded),
``report.md`` and the two figures it shows as PNG files: ``overview.png``, a static
map of the sites against the grid and the land, and ``contributions.png``, how each
criterion adds to the top sites' scores (:mod:`geo.report.figures`). Every text from
the configuration or the data is escaped in both formats (:mod:`geo.report.templates`).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo.atomic import atomic_write_bytes, atomic_write_text
from geo.config import config_yaml
from geo.exclusions import OWNERSHIP_UNKNOWN
from geo.query import explain_site
from geo.report.figures import contributions_png, overview_png
from geo.report.templates import HTML, HTML_ENV, MARKDOWN, MD_ENV
from geo.sensitivity import ROBUSTNESS_COLUMNS
from geo.style import voltage_class

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


@dataclass(frozen=True)
class Figures:
    """The report's figures as PNG bytes."""

    overview: bytes
    contributions: bytes


def _value(value: Any, pattern: str = "{:,.2f}") -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return pattern.format(value) if not isinstance(value, str) else value


def _voltage(kv: Any) -> str:
    return "voltage unknown" if kv is None or pd.isna(kv) else voltage_class(float(kv)).label


def report_context(result: RunResult, top: int) -> dict[str, Any]:
    """Everything the report templates show, as plain values (the templates escape them).

    Parameters
    ----------
    result
        A finished run.
    top
        How many of the best sites the report breaks down.

    Returns
    -------
    dict
        Template values by name.
    """
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
            "line": f"{_voltage(site['nearest_line_kv'])} at {_value(site['nearest_line_km'], '{:.1f}')} km",
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
        "criteria": criteria_rows, "exclusions": exclusion_rows, "skipped": analysis.skipped,
        "warnings": analysis.warnings,
        "provenance": provenance_rows, "config_yaml": config_yaml(config),
        "terrain": analysis.terrain, "per_state": _state_rows(record),
        "state_sentence": state_sentence(record, config.states),
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


def state_sentence(record: RunRecord, states: Sequence[str]) -> str:
    """How many sites each requested state holds, and why a state holds none, in one line.

    Parameters
    ----------
    record
        The run record; its ``states`` block is written by :mod:`geo.statesummary`.
    states
        The state codes the configuration asked for.

    Returns
    -------
    str
        E.g. "AZ 0 (no federal land is eligible ...); NV 12; UT 3". A requested state the
        record has no entry for is said to have no data.
    """
    summary = record.states
    parts = []
    for code in states:
        entry = summary.get(code)
        if entry is None:
            parts.append(f"{code}: no summary (the state's outline is not in the store, or the run predates "
                         "per-state summaries)")
        elif entry.sites:
            parts.append(f"{code} {entry.sites:,}")
        else:
            parts.append(f"{code} 0 ({entry.why or 'no land met the site rules'})")
    return "; ".join(parts)


def render_figures(result: RunResult, top: int) -> Figures:
    """The overview map and the contribution chart for the ``top`` sites.

    Parameters
    ----------
    result
        A finished run.
    top
        How many of the best sites to label and chart.

    Returns
    -------
    Figures
        Both figures as PNG bytes.
    """
    criteria = [c.name for c in result.analysis.criteria]
    return Figures(overview_png(result, top), contributions_png(result.sites.head(top), criteria))


def write_report(result: RunResult, folder: Path | None = None) -> Path:
    """Write ``report.html``, ``report.md``, ``overview.png`` and ``contributions.png``.

    Each file is replaced atomically.

    Parameters
    ----------
    result
        A finished run.
    folder
        Where to write; by default the run's output folder, or ``reports/<run_id>`` for a
        run that wrote none.

    Returns
    -------
    pathlib.Path
        The HTML report's path.
    """
    target = Path(folder) if folder is not None else (
        result.output_dir or DEFAULT_REPORTS_DIR / result.record.run_id)
    target.mkdir(parents=True, exist_ok=True)
    top = min(result.analysis.config.sites.top_n, MAX_REPORTED_SITES)
    context = report_context(result, top)
    figures = render_figures(result, top)
    atomic_write_bytes(target / OVERVIEW_PNG, figures.overview)
    atomic_write_bytes(target / CONTRIBUTIONS_PNG, figures.contributions)
    html_text = HTML_ENV.from_string(HTML).render(
        **context, overview_b64=base64.b64encode(figures.overview).decode(),
        contributions_b64=base64.b64encode(figures.contributions).decode())
    atomic_write_text(target / REPORT_MD, MD_ENV.from_string(MARKDOWN).render(**context))
    atomic_write_text(target / REPORT_HTML, html_text)
    log.info("wrote report %s", target / REPORT_HTML)
    return target / REPORT_HTML


__all__ = ["CONTRIBUTIONS_PNG", "DEFAULT_REPORTS_DIR", "OVERVIEW_PNG", "REPORT_HTML", "REPORT_MD", "Figures",
           "contributions_png", "overview_png", "render_figures", "report_context", "state_sentence",
           "write_report"]
