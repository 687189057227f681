"""The report's page templates: HTML (autoescaped) and Markdown (every value from data or configuration
passed through the ``md`` filter, which escapes HTML and Markdown link and table syntax)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape

HTML = """<!DOCTYPE html>
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
<p>Sites per state: {{ state_sentence }}.</p>
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

MARKDOWN = """# {{ title|md }}

Run {{ run_id|md }} started {{ started_at|md }}, geo-siting {{ version|md }}.
{% if synthetic %}
**SYNTHETIC DEMO DATA: these sites are made up to show how the tool works.**
{% endif %}
{{ description|md }}. States {{ states|md }}; {{ n_sites }} candidate sites covering {{ total_acres }} acres of \
{{ eligible_km2 }} km² of eligible land; grid {{ resolution }} m; aggregation {{ method|md }}.

Sites per state: {{ state_sentence|md }}.

Terrain: {{ terrain|md }}

## Sites per state

| state | sites | eligible km² | ownership unknown km² | no sites because / most land removed by |
|---|---|---|---|---|
{% for r in per_state %}| {{ r.state|md }} | {{ r.sites }} | {{ r.eligible_km2 }} | {{ r.unknown_km2 }} | {{ r.why|md }} |
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
{% for c in criteria %}| {{ c.name|md }} | {{ c.weight }} | {{ c.unit|md }} | {{ c.function|md }} | {{ c.layers|md }} | \
{{ c.description|md }} |
{% endfor %}
Sites: cells scoring at least {{ rules.min_cell_score|md }}, {{ rules.min_area_acres|md }} to {{ rules.max_area_acres|md }} acres.

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


def md_text(value: Any) -> str:
    """Text safe to place in Markdown, table cells included.

    HTML is escaped (many Markdown viewers render raw HTML), as are the brackets and
    backticks of links, images and code; pipes are escaped and line breaks become
    spaces so a value stays in its table cell.

    Parameters
    ----------
    value
        Any value; None becomes an empty string.

    Returns
    -------
    str
        The escaped text.
    """
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "|[]`":
        text = text.replace(char, "\\" + char)
    return text.replace("\r", " ").replace("\n", " ")


HTML_ENV = Environment(autoescape=select_autoescape(default_for_string=True), keep_trailing_newline=True)
MD_ENV = Environment(autoescape=False, keep_trailing_newline=True)
MD_ENV.filters["md"] = md_text
