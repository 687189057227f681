"""Per state: how many sites it holds and, with the numbers, why its land is or is not candidate land."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from geo.exclusions import OUTSIDE_STUDY_AREA, OWNERSHIP_UNKNOWN
from geo.grid import burn

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.analysis import Analysis


def state_summary(analysis: Analysis, sites: gpd.GeoDataFrame, labels: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per state code: ``sites``, ``area_km2``, ``eligible_km2``, ``in_sites_km2``, ``below_cut_km2``
    (eligible land in no site: scored below the cut, or in pieces too small or too narrow),
    ``excluded_km2`` by cause (a cell with several causes counts for each) and ``why``, one
    plain sentence naming what removed most of the state's land when it holds no site.

    Parameters
    ----------
    analysis
        The prepared analysis (grid, exclusions, eligible cells and the ``states`` layer).
    sites
        The ranked site table.
    labels
        The site labels on the grid (0 outside every site).

    Returns
    -------
    dict[str, dict[str, Any]]
        The summary of each configured state whose outline is in the store.
    """
    grid, bits = analysis.grid, analysis.exclusions.bits
    states = analysis.layers["states"]
    states = states[states["state"].isin(analysis.config.states)].reset_index(drop=True)
    state_of = burn(zip(states.geometry, range(1, len(states) + 1), strict=True), grid,
                    np.zeros(grid.shape, dtype=np.uint8))
    n = len(states) + 1
    cell_km2 = grid.resolution**2 / 1e6
    area = np.bincount(state_of.ravel(), minlength=n) * cell_km2
    flat_states = state_of.ravel()
    eligible = np.bincount(flat_states[analysis.eligible], minlength=n) * cell_km2
    in_site = np.bincount(flat_states[labels.ravel() > 0], minlength=n) * cell_km2
    excluded = {}
    for i, cause in enumerate(analysis.exclusions.causes):
        if cause == OUTSIDE_STUDY_AREA:
            continue
        excluded[cause] = np.bincount(flat_states[(bits.ravel() & (1 << i)) != 0], minlength=n) * cell_km2
    counts = sites["state"].value_counts() if len(sites) else {}
    summary = {}
    for index, code in enumerate(states["state"], start=1):
        causes = {cause: round(float(km2[index]), 1) for cause, km2 in excluded.items() if km2[index] > 0}
        entry = {
            "sites": int(counts.get(code, 0)),
            "area_km2": round(float(area[index]), 1),
            "eligible_km2": round(float(eligible[index]), 1),
            "in_sites_km2": round(float(in_site[index]), 1),
            "below_cut_km2": round(float(eligible[index] - in_site[index]), 1),
            "excluded_km2": dict(sorted(causes.items(), key=lambda kv: -kv[1])),
        }
        entry["why"] = _why(entry, analysis) if entry["sites"] == 0 else ""
        summary[code] = entry
    return summary


def _why(entry: dict[str, Any], analysis: Analysis) -> str:
    """Why a state holds no site, in one sentence with its numbers."""
    area = entry["area_km2"] or 1.0
    parts = []
    unknown = entry["excluded_km2"].get(OWNERSHIP_UNKNOWN, 0.0)
    if unknown:
        parts.append(f"ownership unknown on {unknown:,.0f} km2 ({unknown / area:.0%})")
    for cause, km2 in list(entry["excluded_km2"].items())[:4]:
        if cause != OWNERSHIP_UNKNOWN:
            parts.append(f"{cause.replace('_', ' ')} {km2:,.0f} km2 ({km2 / area:.0%})")
    eligible = entry["eligible_km2"]
    cut = analysis.config.sites.min_cell_score
    parts.append(f"{eligible:,.0f} km2 eligible, none of it in a suitable piece of park size scoring at least {cut:g}"
                 if eligible else "no eligible land left")
    return "no sites: " + "; ".join(parts)
