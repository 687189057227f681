"""The popup that explains a site, grouped in the sections its criteria name, and the layer sources table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from geo.config import Criterion
from geo.maps.display import esc, fmt
from geo.provenance import Provenance
from geo.sensitivity import NOT_SENSITIVE
from geo.style import voltage_class

#: Sections in the order a popup shows them; sections not listed follow in the criteria's order.
SECTION_ORDER = ("Grid", "Water", "Access", "Terrain", "People")
EDGE_HINT = '<span class="hint">(from the site&#x27;s nearest edge)</span>'


def _voltage(kv: Any) -> str:
    return "voltage unknown" if kv is None or pd.isna(kv) else esc(voltage_class(float(kv)).label)


def _line_fact(site: pd.Series, min_line_kv: float | None) -> str:
    line = f"Nearest line &ge; {min_line_kv:g} kV" if min_line_kv else "Nearest line"
    return (f"{line}: {_voltage(site.get('nearest_line_kv'))} at "
            f"{fmt(site.get('nearest_line_km'), '{:.1f}', 'km')} {EDGE_HINT}")


def _substation_fact(site: pd.Series, _: float | None) -> str:
    return (f"Nearest substation: {esc(site.get('nearest_substation')) or 'unnamed'} "
            f"({_voltage(site.get('nearest_substation_kv'))}) at "
            f"{fmt(site.get('nearest_substation_km'), '{:.1f}', 'km')} {EDGE_HINT}")


def _town_fact(site: pd.Series, _: float | None) -> str:
    return (f"Nearest town: {esc(site.get('nearest_town')) or 'unknown'} "
            f"(pop. {fmt(site.get('nearest_town_population'), '{:,.0f}')}) at "
            f"{fmt(site.get('nearest_town_km'), '{:.1f}', 'km')} {EDGE_HINT}")


#: Nearest real features a site's description measures on the vector layers, by the section they explain.
SITE_FACTS: Mapping[str, Sequence[tuple[str, Callable[[pd.Series, float | None], str]]]] = {
    "Grid": (("nearest_line_km", _line_fact), ("nearest_substation_km", _substation_fact)),
    "People": (("nearest_town_km", _town_fact),),
}


def popup_sections(criteria: Sequence[Criterion]) -> list[str]:
    """The sections a popup shows: those the criteria name, in :data:`SECTION_ORDER` first.

    Parameters
    ----------
    criteria
        The run's active criteria.

    Returns
    -------
    list of str
        Section names, each once.
    """
    named = list(dict.fromkeys(c.section for c in criteria))
    return [s for s in SECTION_ORDER if s in named] + [s for s in named if s not in SECTION_ORDER]


def _sensitivity_phrase(criterion: Any) -> str:
    if criterion is None or pd.isna(criterion):
        return "sensitivity to single weights not measured"
    if criterion == NOT_SENSITIVE:
        return "no single weight change moves its rank"
    return f"most sensitive to the weight of {esc(str(criterion).replace('_', ' '))}"


def _header(site: pd.Series, n_sites: int) -> list[str]:
    parts = [
        f"<h4>Rank {int(site['rank'])} of {n_sites} &middot; site {esc(site['site_id'])}</h4>",
        f"<b>Score {site['score']:.3f}</b> &middot; {site['area_acres']:,.0f} acres<br>",
        f"Managed by <b>{esc(site.get('agency'))}</b>"
        + (f" ({esc(site.get('unit_name'))})" if esc(site.get("unit_name")) else "")
        + (f" per {esc(site.get('ownership_source'))}" if esc(site.get("ownership_source")) else "")
        + f"<br>{esc(site.get('county')) or 'county unknown'}, {esc(site.get('state'))} "
          f"&middot; {site['lat']:.4f}, {site['lon']:.4f}",
        f"<br>Compactness {fmt(site.get('compactness'), '{:.2f}')} (1 = disk, 0.79 = square)",
    ]
    if esc(site.get("terrain")):
        parts.append(f"<br><span class='small'>Terrain: {esc(site.get('terrain'))}</span>")
    if "top_n_share" in site.index:
        parts.append(
            "<h5>Robustness</h5>"
            f"In the top sites in {fmt(site.get('top_n_share'), '{:.0%}')} of weight samples; "
            f"median rank {fmt(site.get('rank_median'), '{:.0f}')} "
            f"(5-95%: {fmt(site.get('rank_p05'), '{:.0f}')}-{fmt(site.get('rank_p95'), '{:.0f}')}); "
            + _sensitivity_phrase(site.get("most_sensitive_to"))
        )
    return parts


def _breakdown(site: pd.Series, criteria: Sequence[Criterion], weights: Mapping[str, float],
               min_line_kv: float | None) -> str:
    """The score breakdown table, one block per section, each ending with its nearest features."""
    rows = []
    for name in popup_sections(criteria) + [s for s in SITE_FACTS if s not in popup_sections(criteria)]:
        rows.append(f'<tr><th colspan="5">{esc(name)}</th></tr>')
        for c in (c for c in criteria if c.section == name):
            rows.append(
                f"<tr><td>{esc(c.name.replace('_', ' '))}</td><td class='num'>{weights[c.name]:.2f}</td>"
                f"<td class='num'>{fmt(site.get(f'{c.name}_value'), unit=c.unit)}</td>"
                f"<td class='num'>{fmt(site.get(f'{c.name}_score'), '{:.2f}')}</td>"
                f"<td class='num'>{fmt(site.get(f'{c.name}_contribution'), '{:.3f}')}</td></tr>")
        rows += [f'<tr><td colspan="5">{fact(site, min_line_kv)}</td></tr>'
                 for column, fact in SITE_FACTS.get(name, ()) if column in site.index]
    return ("<h5>Score breakdown</h5><table><tr><th>criterion</th><th>weight</th>"
            "<th>raw value<br><span class='hint'>mean over site</span></th>"
            f"<th>sub-score</th><th>contribution</th></tr>{''.join(rows)}</table>")


def site_popup(site: pd.Series, criteria: Sequence[Criterion], weights: Mapping[str, float], n_sites: int, *,
               min_line_kv: float | None = None, scenario_ranks: Mapping[str, str] | None = None) -> str:
    """Escaped popup HTML explaining one site: rank, score, land, breakdown by section, robustness.

    Parameters
    ----------
    site
        One row of the site table.
    criteria
        The active criteria; each one's ``section`` groups it in the breakdown.
    weights
        Normalised weight of each criterion by name.
    n_sites
        How many sites the run found.
    min_line_kv
        The transmission criterion's minimum voltage, shown beside the nearest line.
    scenario_ranks
        The site's standing in other scenarios by scenario name, already phrased.

    Returns
    -------
    str
        The popup's HTML, with every text from data or configuration escaped.
    """
    parts = _header(site, n_sites)
    parts.append(_breakdown(site, criteria, weights, min_line_kv))
    if scenario_ranks:
        parts.append("<h5>In other scenarios</h5>" + "<br>".join(
            f"{esc(name)}: {text}" for name, text in scenario_ranks.items()))
    return f'<div class="geo-popup">{"".join(parts)}</div>'


def sources_html(provenance: Mapping[str, Provenance]) -> str:
    """The date, source and caveat of every layer used, as an escaped HTML table.

    Parameters
    ----------
    provenance
        Provenance of each layer by name.

    Returns
    -------
    str
        The table's HTML.
    """
    rows = []
    for name, record in sorted(provenance.items()):
        caveat = f'<span class="caveat">{esc(record.caveat)}</span>' if record.caveat else ""
        rows.append(f"<tr><td>{esc(name)}</td><td>{esc(record.source)}</td>"
                    f"<td>{record.retrieved_at:%Y-%m-%d}</td><td>{caveat}</td></tr>")
    return ('<div class="geo-popup"><h5>Layers used</h5><table><tr><th>layer</th><th>source</th>'
            f'<th>retrieved</th><th></th></tr>{"".join(rows)}</table></div>')
